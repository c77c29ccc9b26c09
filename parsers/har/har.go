// Package har reads HAR 1.2 captures (HTTP Archive files, as the DevTools
// of Chrome, Edge, Firefox and Safari export them, and proxies such as
// mitmproxy, Charles and Fiddler) for what the browser sent: SAML
// responses and WS-Federation token responses posted to or redirected at
// a service provider, and bearer tokens.
//
// # Reading
//
// A HAR is one JSON document, {"log":{"version","creator","browser",
// "pages","entries":[…]}}, pretty-printed or not, often tens of megabytes.
// It is streamed: encoding/json's Decoder reads the tokens down to
// log.entries (log.creator is read on the way, when it comes first, as
// every exporter writes it; pages and the rest are skipped), and the
// entries array is then read one element at a time, each decoded on its
// own. An entry is bounded: a string in it longer than MaxStringBytes (a
// response body kept in the capture, an upload) is dropped as null, and
// what is left must fit in MaxEntryBytes (or Options.MaxLineBytes, when
// larger), else the entry is rejected and reading goes on with the next.
// A UTF-8 byte order mark is skipped.
//
// # Records and positions
//
// One entry is one record. Position.Line is the line of the file the
// entry's object starts on (its "{"), so that an analyst can open
// file:line; when several entries start on one line (a HAR written
// without line breaks) each takes one past the previous one's, so that
// every record has its own (record.EntryPositions); the attribute entry
// is always the entry's ordinal (1-based). A document that is not a HAR
// (not an object, no log.entries array) is one rejected record. A file
// that ends inside an entry (truncated) rejects that entry and Parse
// returns a record.RecordError: the entries before it stand; a syntax
// error between entries stops the file the same way, since the array
// cannot be resynchronised; an entry that is not valid JSON on its own,
// is not an object, or has no request object, is rejected and reading
// goes on.
//
// # Sightings
//
// An entry gives at most one sighting. The request is searched for a SAML
// message parameter (SAMLResponse; WS-Federation's wresult; SAMLRequest)
// in request.postData.params (Chrome leaves the values URL-encoded,
// Firefox decodes them), in postData.text when it is a form body, in
// request.queryString and in the query of request.url (HTTP-Redirect:
// DEFLATE), in that order. A response is decoded with
// record.DecodeSAMLMessage into a sighting of kind saml whose Raw is the
// message's XML; one that does not decode is rejected, with an excerpt of
// the value. Else a bearer JWT in an Authorization request header (names
// in any case: HTTP/2 captures lower-case them) is a sighting of kind jwt.
// Else the entry is ignored: as a SAML request (no assertion) when it
// carries a SAMLRequest, as a bearer token that is not a JWT (an opaque
// access token, normal in a browser, not a malformed record), or as
// record.IgnoreNoToken.
//
// Observer is the request URL's host (Options.Observer overrides),
// ObservedAt startedDateTime (zero when it does not parse), Action the
// method and path, Outcome from response.status (0, which browsers write
// for a blocked or aborted request, is unknown), UserAgent the User-Agent
// header. ClientIP is empty: a HAR is the client's own view. Attrs:
// captured "har", entry, creator (log.creator.name), page (pageref),
// server_ip (serverIPAddress) and, for SAML, binding, param and
// relay_state (RelayState, or wctx for a wresult). Recent Chrome DevTools
// export a sanitized HAR by default, without Authorization and Cookie
// headers but with form bodies: bearer tokens are only in an export "with
// sensitive data".
package har

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads HAR 1.2 captures. See the package documentation.
var Format record.Format = format{}

type format struct{}

// Bounds.
const (
	// MaxEntryBytes bounds one entry, once its long strings are dropped.
	MaxEntryBytes = 8 << 20
	// MaxStringBytes bounds one string of an entry: a longer one (a
	// response body, an upload) is read as null. It is above the largest
	// SAML message record.DecodeSAMLMessage takes.
	MaxStringBytes = 4 << 20
	// MaxHeadBytes bounds what comes before log.entries (version, creator,
	// pages).
	MaxHeadBytes = 16 << 20
)

// Ignore and reject reasons.
const (
	IgnoreNotBearer = "bearer token is not a JWT"
	ReasonNotHAR    = "not a HAR"
)

func (format) Name() string { return "har" }

func (format) Description() string {
	return "HAR 1.2 browser or proxy captures: SAML responses posted or redirected, bearer tokens sent"
}

// EntryPositions: a record is an entry at the line it starts on (see the
// package documentation).
func (format) EntryPositions() bool { return true }

var (
	bomUTF8 = []byte("\xef\xbb\xbf")
	// the HAR root: an object whose first key is log, an object
	harRootRe = regexp.MustCompile(`^\{\s*"log"\s*:\s*\{`)
	entriesRe = regexp.MustCompile(`"entries"\s*:\s*\[`)
	creatorRe = regexp.MustCompile(`"creator"\s*:\s*\{`)
	versionRe = regexp.MustCompile(`"version"\s*:\s*"`)
)

// looksHAR claims the start of a HAR: the log object, with its entries
// array or its creator object and version.
func looksHAR(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, bomUTF8), " \t\r\n")
	m := harRootRe.FindIndex(b)
	if m == nil {
		return false
	}
	rest := b[m[1]:]
	return entriesRe.Match(rest) || creatorRe.Match(rest) && versionRe.Match(rest)
}

// Sniff claims lines that start a HAR document.
func (format) Sniff(sample [][]byte) bool { return looksHAR(bytes.Join(sample, []byte("\n"))) }

// SniffFile claims a .har file that starts with a JSON object, or a head
// that starts a HAR document.
func (format) SniffFile(name string, head []byte) bool {
	if strings.HasSuffix(strings.ToLower(name), ".har") {
		t := bytes.TrimLeft(bytes.TrimPrefix(head, bomUTF8), " \t\r\n")
		return len(t) > 0 && t[0] == '{'
	}
	return looksHAR(head)
}

// headReader counts the bytes and newlines the decoder reads, and bounds
// them.
type headReader struct {
	r     io.Reader
	n, nl int64
	limit int64 // 0: none, and no counting
}

var errHeadTooLarge = fmt.Errorf("log.entries does not start in the first %d MiB", MaxHeadBytes>>20)

func (h *headReader) Read(p []byte) (int, error) {
	if h.limit == 0 {
		return h.r.Read(p)
	}
	if h.n >= h.limit {
		return 0, errHeadTooLarge
	}
	if rest := h.limit - h.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := h.r.Read(p)
	h.n += int64(n)
	h.nl += int64(bytes.Count(p[:n], []byte{'\n'}))
	return n, err
}

// parser is the state of one Parse.
type parser struct {
	in      *record.Input
	sink    record.Sink
	name    string
	creator string
	last    int64 // the line of the last record
	bound   int   // of one entry
}

func (p *parser) pos(line int64) record.Position {
	if line <= p.last {
		line = p.last + 1
	}
	p.last = line
	return record.Position{File: p.in.Name, Line: line, Format: p.name}
}

func (p *parser) reject(pos record.Position, reason string, excerpt []byte) {
	p.sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(excerpt)})
}

// headError is a document that is not a HAR (notHAR) or could not be
// read to its entries.
type headError struct {
	reason string
	stop   error // non-nil: reading stops with it
}

func notHAR(why string) *headError { return &headError{reason: ReasonNotHAR + ": " + why} }

// Parse implements record.Format.
func (f format) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	p := &parser{in: in, sink: sink, name: f.Name()}
	br := bufio.NewReaderSize(in.R, 64<<10)
	if bom, _ := br.Peek(3); bytes.HasPrefix(bom, bomUTF8) {
		br.Discard(3)
	} else if bytes.HasPrefix(bom, []byte{0xff, 0xfe}) || bytes.HasPrefix(bom, []byte{0xfe, 0xff}) {
		in.CountRecord()
		p.reject(p.pos(1), ReasonNotHAR+": UTF-16 text (a HAR is UTF-8: save it as UTF-8)", nil)
		return nil
	}
	h := &headReader{r: br, limit: MaxHeadBytes}
	dec := json.NewDecoder(h)
	if herr := p.head(dec); herr != nil {
		if herr.reason == "" {
			return nil // an empty file
		}
		in.CountRecord()
		pos := p.pos(decLine(dec, h))
		p.reject(pos, herr.reason, nil)
		if herr.stop != nil {
			return &record.RecordError{File: in.Name, Line: pos.Line, Err: herr.stop}
		}
		return nil
	}
	// entries: from the byte after "["
	buffered, _ := io.ReadAll(dec.Buffered())
	line := decLine(dec, h)
	h.limit = 0
	p.bound = max(MaxEntryBytes, in.Options.MaxLineBytes)
	s := newScanner(io.MultiReader(bytes.NewReader(buffered), h), dec.InputOffset(), line, p.bound, MaxStringBytes)
	return p.entries(ctx, s)
}

// decLine is the line of the decoder's offset.
func decLine(dec *json.Decoder, h *headReader) int64 {
	rest := int64(0)
	if b, ok := dec.Buffered().(*bytes.Reader); ok {
		buf := make([]byte, b.Len())
		b.Read(buf)
		rest = int64(bytes.Count(buf, []byte{'\n'}))
	}
	return 1 + h.nl - rest
}

// head reads down to the "[" of log.entries, and log.creator on the way.
func (p *parser) head(dec *json.Decoder) *headError {
	t, err := dec.Token()
	if err == io.EOF {
		return &headError{}
	}
	if err != nil {
		return readFailed(err)
	}
	if t != json.Delim('{') {
		return notHAR("the document is not a JSON object")
	}
	for {
		more, err := next(dec)
		if err != nil {
			return readFailed(err)
		}
		if !more {
			return notHAR("no log object")
		}
		k, err := dec.Token()
		if err != nil {
			return readFailed(err)
		}
		if k != "log" {
			if err := skipValue(dec); err != nil {
				return readFailed(err)
			}
			continue
		}
		if t, err = dec.Token(); err != nil {
			return readFailed(err)
		}
		if t != json.Delim('{') {
			return notHAR("log is not an object")
		}
		return p.log(dec)
	}
}

// log reads the log object's keys up to entries.
func (p *parser) log(dec *json.Decoder) *headError {
	for {
		more, err := next(dec)
		if err != nil {
			return readFailed(err)
		}
		if !more {
			return notHAR("log has no entries")
		}
		k, err := dec.Token()
		if err != nil {
			return readFailed(err)
		}
		switch k {
		case "creator":
			var c struct {
				Name string `json:"name"`
			}
			if err := dec.Decode(&c); err != nil {
				var te *json.UnmarshalTypeError
				if !errors.As(err, &te) {
					return readFailed(err)
				}
			}
			p.creator = record.Excerpt(c.Name, 64)
		case "entries":
			t, err := dec.Token()
			if err != nil {
				return readFailed(err)
			}
			if t != json.Delim('[') {
				return notHAR("log.entries is not an array")
			}
			return nil
		default:
			if err := skipValue(dec); err != nil {
				return readFailed(err)
			}
		}
	}
}

// next says whether the object or array has another element; unlike
// Decoder.More, it reports the end of the input as an error.
func next(dec *json.Decoder) (bool, error) {
	if dec.More() {
		return true, nil
	}
	t, err := dec.Token()
	if err != nil {
		return false, err
	}
	if d, ok := t.(json.Delim); !ok || d != '}' && d != ']' {
		return false, errors.New("malformed JSON")
	}
	return false, nil
}

// maxHeadDepth bounds the nesting of what is skipped before log.entries
// (the decoder keeps a stack of it).
const maxHeadDepth = 10000

var errTooDeep = fmt.Errorf("JSON nested more than %d deep before log.entries", maxHeadDepth)

// skipValue reads one value token by token: nothing is held but one
// token, bounded by headReader.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		if depth > maxHeadDepth {
			return errTooDeep
		}
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

func readFailed(err error) *headError {
	var syn *json.SyntaxError
	switch {
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return &headError{reason: "HAR cut off before its entries (truncated file?)", stop: errors.New("HAR cut off before its entries (truncated file?)")}
	case errors.Is(err, errHeadTooLarge), errors.Is(err, errTooDeep):
		return &headError{reason: ReasonNotHAR + ": " + err.Error(), stop: err}
	case errors.As(err, &syn):
		why := "invalid JSON before its entries: " + record.Escape(syn.Error())
		return &headError{reason: why, stop: errors.New(why + "; the rest of the file is not read")}
	}
	return &headError{reason: "HAR not read: " + record.Escape(err.Error()), stop: err}
}

// entries reads the elements of log.entries, each a record.
func (p *parser) entries(ctx context.Context, s *scanner) error {
	n := 0
	stop := func(line int64, why string) error {
		return &record.RecordError{File: p.in.Name, Line: line,
			Err: fmt.Errorf("log.entries: %s after entry %d; the rest of the file is not read: a JSON array cannot be resynchronised", why, n)}
	}
	cutOff := func(line int64, where string) error {
		if err := s.readErr(); err != errCutOff {
			return &record.RecordError{File: p.in.Name, Line: line, Err: fmt.Errorf("%s: %w", where, err)}
		}
		return &record.RecordError{File: p.in.Name, Line: line, Err: fmt.Errorf("%w %s (truncated file?)", io.ErrUnexpectedEOF, where)}
	}
	for {
		if n&0xff == 0xff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		c, ok := s.skipSpace()
		if !ok {
			return cutOff(s.line, fmt.Sprintf("after entry %d", n))
		}
		if c == ']' {
			return s.drain()
		}
		if n > 0 {
			if c != ',' {
				return stop(s.line, "no comma")
			}
			s.skipByte()
			if c, ok = s.skipSpace(); !ok {
				return cutOff(s.line, fmt.Sprintf("after entry %d", n))
			}
			if c == ']' { // a trailing comma
				return s.drain()
			}
		}
		if c == ',' || c == '}' || c == ':' {
			return stop(s.line, "an entry missing")
		}
		n++
		pos := p.pos(s.line)
		el, err := s.element()
		p.in.CountRecord()
		if err != nil {
			why := fmt.Sprintf("entry %d cut off (truncated file?)", n)
			if err != errCutOff {
				why = fmt.Sprintf("entry %d not read: %s", n, record.Escape(err.Error()))
			}
			p.reject(pos, why, excerpt(el.raw))
			return cutOff(pos.Line, fmt.Sprintf("in entry %d", n))
		}
		p.entry(n, pos, el)
	}
}

// excerpt is the start of an entry's copy, for a reject.
func excerpt(b []byte) []byte { return b[:min(len(b), 256)] }
