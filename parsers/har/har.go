// Package har reads HAR 1.2 captures (HTTP Archive, as the DevTools of
// Chrome, Edge, Firefox and Safari export them, and proxies such as
// mitmproxy, Charles and Fiddler) for what a browser sent: SAML responses
// posted to or redirected at a service provider, and bearer tokens.
//
// # Entries
//
// A HAR is one JSON document, {"log":{"version","creator","pages",
// "entries":[…]}}, pretty-printed or not, often tens of megabytes: it is
// streamed, one entry at a time (bounded by MaxEntryBytes). One entry is one
// record, at the line its object starts on. An entry gives at most one
// sighting:
//
//   - a SAMLResponse, looked for in request.postData.params (Chrome leaves
//     the values URL-encoded, Firefox decodes them), in postData.text when
//     it is a form body, in request.queryString and in the query of
//     request.url (HTTP-Redirect: DEFLATE); decoded with
//     record.DecodeSAMLMessage into a sighting of kind saml whose Raw is
//     the message's XML;
//   - else a bearer JWT in the Authorization request header (names in any
//     case: HTTP/2 captures lower-case them), a sighting of kind jwt.
//
// Observer is the request URL's host (Options.Observer overrides), time
// startedDateTime, action the method and path, outcome from
// response.status (0, a blocked or aborted request, is unknown), user
// agent the User-Agent header; the client address is not in a HAR (it is
// the client's own view). Attrs: captured "har", binding, param,
// server_ip (serverIPAddress), creator (log.creator.name), page
// (pageref). A SAMLRequest (no assertion) is ignored, as are entries
// with neither; a SAMLResponse that does not decode is rejected.
package har

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format is the har format.
var Format = Parser{}

// Parser reads HAR files. The zero value is ready.
type Parser struct{}

func (Parser) Name() string { return "har" }
func (Parser) Description() string {
	return "HAR 1.2 browser or proxy captures: SAML responses posted or redirected, bearer tokens sent"
}

// MaxEntryBytes bounds one entry (a response body kept in the capture
// counts too).
const MaxEntryBytes = 16 << 20

// Ignore and reject reasons.
const (
	IgnoreSAMLRequest = "SAML request (no assertion)"
	IgnoreNotBearer   = "bearer token is not a JWT"
	ReasonNoRequest   = "HAR entry without a request"
)

// Sniff claims a JSON document whose start names a HAR log.
func (Parser) Sniff(sample [][]byte) bool { return looksHAR(bytes.Join(sample, []byte("\n"))) }

// SniffFile claims a .har file, or a head that looks like one.
func (Parser) SniffFile(name string, head []byte) bool {
	if strings.HasSuffix(strings.ToLower(name), ".har") && bytes.HasPrefix(bytes.TrimSpace(head), []byte("{")) {
		return true
	}
	return looksHAR(head)
}

func looksHAR(b []byte) bool {
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	i := bytes.Index(b, []byte(`"log"`))
	if i < 0 || i > 64 {
		return false
	}
	rest := b[i:]
	return bytes.Contains(rest, []byte(`"entries"`)) ||
		bytes.Contains(rest, []byte(`"creator"`)) && bytes.Contains(rest, []byte(`"version"`))
}

// EntryPositions: a record is an entry at the line it starts on; entries
// on one line (a compact HAR) take one past the previous one's.
func (Parser) EntryPositions() bool { return true }

type nv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type entry struct {
	Started string `json:"startedDateTime"`
	PageRef string `json:"pageref"`
	Request *struct {
		Method      string `json:"method"`
		URL         string `json:"url"`
		Headers     []nv   `json:"headers"`
		QueryString []nv   `json:"queryString"`
		PostData    *struct {
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
			Params   []nv   `json:"params"`
		} `json:"postData"`
	} `json:"request"`
	Response *struct {
		Status int `json:"status"`
	} `json:"response"`
	ServerIP string `json:"serverIPAddress"`
}

// lineCounter counts the newlines of what was read through it. Offsets
// are asked in increasing order, so the newlines before the last one asked
// are only counted (dropped).
type lineCounter struct {
	r       io.Reader
	lines   []int64 // offsets of the newlines not yet passed
	dropped int64   // newlines passed
	off     int64
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			c.lines = append(c.lines, c.off+int64(i))
		}
	}
	c.off += int64(n)
	return n, err
}

// lineAt is the 1-based line of byte offset off, at or after the last
// offset asked.
func (c *lineCounter) lineAt(off int64) int64 {
	i := 0
	for i < len(c.lines) && c.lines[i] < off {
		i++
	}
	c.dropped += int64(i)
	c.lines = c.lines[:copy(c.lines, c.lines[i:])]
	return c.dropped + 1
}

// Parse implements record.Format.
func (p Parser) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	lc := &lineCounter{r: bufio.NewReaderSize(in.R, 1<<16)}
	dec := json.NewDecoder(lc)
	name := p.Name()
	var last int64
	posAt := func(off int64) record.Position {
		l := lc.lineAt(off)
		if l <= last {
			l = last + 1
		}
		last = l
		return record.Position{File: in.Name, Line: l, Format: name}
	}
	fail := func(err error) error {
		in.CountRecord()
		sink.Reject(&record.Reject{Pos: posAt(dec.InputOffset()), Reason: "not a HAR: " + err.Error()})
		return nil
	}
	creator := ""
	// down to log.entries
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		if err == io.EOF {
			return nil
		}
		return fail(fmt.Errorf("the document is not a JSON object"))
	}
	found := false
	for dec.More() && !found {
		k, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		if k != "log" {
			if err := skip(dec); err != nil {
				return fail(err)
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return fail(errors.New("log is not an object"))
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return fail(err)
			}
			switch k {
			case "creator":
				var c struct {
					Name string `json:"name"`
				}
				if err := dec.Decode(&c); err != nil {
					return fail(err)
				}
				creator = record.Excerpt(c.Name, 64)
			case "entries":
				found = true
			default:
				if err := skip(dec); err != nil {
					return fail(err)
				}
			}
			if found {
				break
			}
		}
	}
	if !found {
		return nil
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return fail(errors.New("log.entries is not an array"))
	}
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		// the entry's object starts at the first '{' after the previous
		// value's end
		pos := posAt(start + 1)
		if err != nil {
			in.CountRecord()
			sink.Reject(&record.Reject{Pos: pos, Reason: "entry is not JSON: " + record.Escape(err.Error())})
			return &record.RecordError{File: pos.File, Line: pos.Line, Err: err}
		}
		in.CountRecord()
		if len(raw) > MaxEntryBytes {
			sink.Reject(&record.Reject{Pos: pos, Reason: fmt.Sprintf("entry of %d bytes is larger than %d", len(raw), MaxEntryBytes)})
			continue
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil || e.Request == nil {
			sink.Reject(&record.Reject{Pos: pos, Reason: ReasonNoRequest, Excerpt: record.Excerpt(string(raw), 128)})
			continue
		}
		p.entry(in, &e, creator, pos, sink)
	}
	return nil
}

// skip reads and drops one JSON value.
func skip(dec *json.Decoder) error {
	var v json.RawMessage
	return dec.Decode(&v)
}

func (Parser) entry(in *record.Input, e *entry, creator string, pos record.Position, sink record.Sink) {
	rq := e.Request
	u, _ := url.Parse(rq.URL)
	s := record.Sighting{Source: record.SourceAuth, Outcome: record.OutcomeUnknown, Pos: pos}
	if t, err := record.ParseTime(e.Started, in.Options.Loc()); err == nil {
		s.ObservedAt = t
	}
	if u != nil {
		s.Observer = u.Hostname()
		s.Action = record.Action(strings.ToUpper(rq.Method), u.EscapedPath())
	}
	if in.Options.Observer != "" {
		s.Observer = in.Options.Observer
	}
	if e.Response != nil && e.Response.Status > 0 {
		s.Outcome = record.OutcomeFromStatus(e.Response.Status)
	}
	var auth string
	for _, h := range rq.Headers {
		switch strings.ToLower(h.Name) {
		case "user-agent":
			s.UserAgent = h.Value
		case "authorization":
			auth = h.Value
		}
	}
	kv := map[string]string{"captured": "har", "server_ip": e.ServerIP, "creator": creator, "page": record.Excerpt(e.PageRef, 64)}

	param, value, relay := samlValue(rq.PostData, rq.QueryString, u)
	switch {
	case param == "SAMLRequest":
		sink.Ignore(pos, IgnoreSAMLRequest)
		return
	case param != "":
		xml, binding, err := record.DecodeSAMLMessage(value)
		if err != nil {
			sink.Reject(&record.Reject{Pos: pos, Reason: "SAMLResponse of the entry: " + err.Error(), Excerpt: record.Excerpt(value, 64)})
			return
		}
		kv["binding"], kv["param"], kv["relay_state"] = binding, param, record.Excerpt(relay, 128)
		s.Kind, s.Raw, s.Attrs = record.KindSAML, string(xml), record.AttrsJSON(kv)
		sink.Sighting(&s)
		return
	case auth != "":
		tok, why := record.BearerJWT(auth)
		if tok == "" {
			if why != "" {
				sink.Ignore(pos, IgnoreNotBearer)
			} else {
				sink.Ignore(pos, record.IgnoreNoToken)
			}
			return
		}
		s.Kind, s.Raw, s.Attrs = record.KindJWT, tok, record.AttrsJSON(kv)
		sink.Sighting(&s)
		return
	}
	sink.Ignore(pos, record.IgnoreNoToken)
}

// samlValue finds the SAML message parameter of a request: its form
// params, its form text, its query string, its URL's query, in that order.
func samlValue(pd *struct {
	MimeType string `json:"mimeType"`
	Text     string `json:"text"`
	Params   []nv   `json:"params"`
}, qs []nv, u *url.URL) (param, value, relay string) {
	find := func(vals []nv) (string, string, string) {
		var p, v, r string
		for _, x := range vals {
			switch x.Name {
			case "SAMLResponse", "wresult", "SAMLRequest":
				if p == "" || x.Name != "SAMLRequest" && p == "SAMLRequest" {
					p, v = x.Name, x.Value
				}
			case "RelayState":
				r = x.Value
			}
		}
		return p, v, r
	}
	if pd != nil {
		if p, v, r := find(pd.Params); p != "" {
			return p, v, unescapeLoose(r)
		}
		if strings.Contains(pd.Text, "SAMLResponse=") || strings.Contains(pd.Text, "wresult=") || strings.Contains(pd.Text, "SAMLRequest=") {
			if p, v, ok := record.SAMLParam(strings.TrimSpace(pd.Text)); ok {
				r, _ := record.FormValue(pd.Text, "RelayState")
				return p, v, unescapeLoose(r)
			}
		}
	}
	if p, v, r := find(qs); p != "" {
		return p, v, unescapeLoose(r)
	}
	if u != nil {
		if p, v, ok := record.SAMLParam(u.RawQuery); ok {
			r, _ := record.FormValue(u.RawQuery, "RelayState")
			return p, v, unescapeLoose(r)
		}
	}
	return "", "", ""
}

func unescapeLoose(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
