package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// nv is a HAR name/value pair: a header, a query or form parameter.
type nv struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// entry is the part of a HAR entry read. Fields of another type than the
// HAR's are left empty (see decode).
type entry struct {
	Started  string    `json:"startedDateTime"`
	PageRef  string    `json:"pageref"`
	ServerIP string    `json:"serverIPAddress"`
	Request  *request  `json:"request"`
	Response *response `json:"response"`
}

type request struct {
	Method      string    `json:"method"`
	URL         string    `json:"url"`
	Headers     []nv      `json:"headers"`
	QueryString []nv      `json:"queryString"`
	PostData    *postData `json:"postData"`
}

type postData struct {
	MimeType string `json:"mimeType"`
	Text     string `json:"text"`
	Params   []nv   `json:"params"`
}

type response struct {
	Status status `json:"status"`
}

// status is response.status: a number, or a numeric string; anything else
// is 0 (unknown).
type status int

func (s *status) UnmarshalJSON(b []byte) error {
	t := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if f, err := strconv.ParseFloat(t, 64); err == nil && f >= 0 && f < 1000 {
		*s = status(f)
	}
	return nil
}

// SAML message parameters of record.SAMLParams this reader tells apart.
const (
	paramWResult = "wresult"
	paramRequest = "SAMLRequest"
)

// samlFound is the SAML message parameter of a request.
type samlFound struct {
	param, value string
	relay        string // RelayState (wctx for a wresult), decoded
	where        string // where it was found, for reasons
}

// entry reads one entry into one Sink call.
func (p *parser) entry(n int, pos record.Position, el element) {
	where := fmt.Sprintf("entry %d", n)
	if el.over {
		p.reject(pos, fmt.Sprintf("%s larger than %s (strings over %d MiB not counted)", where, size(p.bound), MaxStringBytes>>20), excerpt(el.raw))
		return
	}
	if len(el.raw) == 0 || el.raw[0] != '{' {
		p.reject(pos, where+" is not a JSON object", excerpt(el.raw))
		return
	}
	var e entry
	if err := json.Unmarshal(el.raw, &e); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			p.reject(pos, where+" is not valid JSON: "+jsonReason(err), excerpt(el.raw))
			return
		}
		// a field of another type: left empty, the rest is read
	}
	if e.Request == nil {
		p.reject(pos, where+" has no request object", excerpt(el.raw))
		return
	}
	rq := e.Request
	s := record.Sighting{Source: record.SourceAuth, Pos: pos}
	p.common(&s, &e)
	kv := map[string]string{"captured": "har", "entry": strconv.Itoa(n), "creator": p.creator,
		"page": record.Excerpt(e.PageRef, 64), "server_ip": record.Excerpt(record.ClientIP(e.ServerIP), 64)}

	found, request := findSAML(rq)
	if found.param != "" {
		xml, binding, err := record.DecodeSAMLMessage(found.value)
		if err != nil {
			why := fmt.Sprintf("%s: %s in %s does not decode: %s", where, found.param, found.where, err)
			if strings.TrimSpace(found.value) == "" && el.elided > 0 {
				why = fmt.Sprintf("%s: %s in %s is empty or longer than %d MiB", where, found.param, found.where, MaxStringBytes>>20)
			}
			p.reject(pos, why, []byte(record.Excerpt(found.value, 64)))
			return
		}
		kv["binding"], kv["param"] = binding, found.param
		relayKey := "relay_state"
		if found.param == paramWResult {
			relayKey = "wctx"
		}
		kv[relayKey] = record.Excerpt(found.relay, 128)
		s.Kind, s.Raw, s.Attrs = record.KindSAML, string(xml), record.AttrsJSON(kv)
		p.sink.Sighting(&s)
		return
	}
	notJWT := false
	for _, h := range rq.Headers {
		if !strings.EqualFold(h.Name, "authorization") {
			continue
		}
		tok, key, why, seen := p.in.BearerCache().LookupString(h.Value)
		if tok == "" {
			notJWT = notJWT || why != ""
			continue
		}
		s.Kind, s.Raw, s.RawKey, s.RawKeySeen = record.KindJWT, tok, key, seen
		s.Attrs = record.AttrsJSON(kv)
		p.sink.Sighting(&s)
		return
	}
	switch {
	case request:
		p.sink.Ignore(pos, record.IgnoreSAMLRequest)
	case notJWT:
		p.sink.Ignore(pos, IgnoreNotBearer)
	default:
		p.sink.Ignore(pos, record.IgnoreNoToken)
	}
}

// common fills the fields every sighting of e has.
func (p *parser) common(s *record.Sighting, e *entry) {
	rq := e.Request
	if t, err := record.ParseTime(e.Started, p.in.Options.Loc()); err == nil {
		s.ObservedAt = t
	}
	method := strings.ToUpper(record.Excerpt(rq.Method, 16))
	host, path := hostPath(rq.URL)
	s.Observer = record.Excerpt(host, 256)
	s.Action = record.Action(method, record.Excerpt(path, 1024))
	if o := p.in.Options.Observer; o != "" {
		s.Observer = o
	}
	status := 0
	if e.Response != nil {
		status = int(e.Response.Status)
	}
	s.Outcome = record.OutcomeFromStatus(status)
	for _, h := range rq.Headers {
		if strings.EqualFold(h.Name, "user-agent") {
			s.UserAgent = record.Excerpt(h.Value, 1024)
			break
		}
	}
}

// hostPath is the host and path of a request URL. One that does not
// parse (a bad escape) is cut by hand: the host between "://" and the
// next slash, the path up to the query; without "://" it has no host.
func hostPath(raw string) (host, path string) {
	if u, err := url.Parse(raw); err == nil {
		path = u.EscapedPath()
		if path == "" && u.Host != "" {
			path = "/"
		}
		return u.Hostname(), path
	}
	path = raw
	if _, after, ok := strings.Cut(raw, "://"); ok {
		host, path, _ = strings.Cut(after, "/")
		path = "/" + path
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = host[i+1:] // userinfo
		}
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	return host, path
}

// findSAML looks for a SAML message parameter in the request's form
// params, form text, query string and URL query, in that order, and
// returns the first response (SAMLResponse or wresult); request says
// whether a SAMLRequest was met instead.
func findSAML(rq *request) (found samlFound, request bool) {
	try := func(f samlFound, ok bool) bool {
		switch {
		case !ok:
			return false
		case f.param == paramRequest:
			request = true
			return false
		}
		found = f
		return true
	}
	if pd := rq.PostData; pd != nil {
		if try(fromPairs(pd.Params, "postData.params")) {
			return found, false
		}
		if isForm(pd) && try(fromForm(strings.TrimSpace(pd.Text), "postData.text")) {
			return found, false
		}
	}
	if try(fromPairs(rq.QueryString, "queryString")) {
		return found, false
	}
	query := rq.URL
	if _, q, ok := strings.Cut(query, "?"); ok {
		q, _, _ = strings.Cut(q, "#")
		if try(fromForm(q, "the URL query")) {
			return found, false
		}
	}
	return samlFound{}, request
}

// rank orders the SAML parameters as record.SAMLParams does: a response
// before a request.
func rank(name string) int {
	for i, p := range record.SAMLParams {
		if p == name {
			return i
		}
	}
	return -1
}

// fromPairs finds the SAML parameter of a HAR params or queryString list.
// Values may be URL-encoded (Chrome) or not (Firefox): DecodeSAMLMessage
// takes either, and a relay state is decoded when it holds an escape.
func fromPairs(list []nv, where string) (samlFound, bool) {
	best := -1
	var f samlFound
	relay := map[string]string{}
	for _, x := range list {
		switch r := rank(x.Name); {
		case r >= 0 && (best < 0 || r < best):
			best, f.param, f.value = r, x.Name, x.Value
		case x.Name == "RelayState" || x.Name == "wctx":
			if _, dup := relay[x.Name]; !dup {
				relay[x.Name] = x.Value
			}
		}
	}
	if best < 0 {
		return f, false
	}
	f.where, f.relay = where, relayOf(f.param, relay)
	if strings.Contains(f.relay, "%") {
		f.relay = unescape(f.relay)
	}
	return f, true
}

// fromForm finds the SAML parameter of a query string or form body.
func fromForm(form, where string) (samlFound, bool) {
	name, value, ok := record.SAMLParam(form)
	if !ok {
		return samlFound{}, false
	}
	relay := map[string]string{}
	for _, k := range []string{"RelayState", "wctx"} {
		if v, ok := record.FormValue(form, k); ok {
			relay[k] = v
		}
	}
	return samlFound{param: name, value: value, relay: unescape(relayOf(name, relay)), where: where}, true
}

func relayOf(param string, relay map[string]string) string {
	if param == paramWResult {
		return relay["wctx"]
	}
	return relay["RelayState"]
}

// isForm reports whether a request body is a form: its MIME type says so,
// or its text starts like one.
func isForm(pd *postData) bool {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(pd.MimeType)), "application/x-www-form-urlencoded") {
		return true
	}
	t := strings.TrimSpace(pd.Text)
	for _, p := range record.SAMLParams {
		if strings.HasPrefix(t, p+"=") || strings.Contains(t, "&"+p+"=") {
			return true
		}
	}
	return false
}

// unescape decodes a form value; one with a bad escape is kept as it is.
func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// size is n bytes in MiB, or bytes when not a whole number of MiB.
func size(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// jsonReason is why an entry is not valid JSON, without quoting it.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("at byte %d of the entry: %s", syn.Offset, record.Escape(syn.Error()))
	}
	return record.Excerpt(err.Error(), 120)
}
