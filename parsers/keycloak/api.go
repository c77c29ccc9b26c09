package keycloak

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Keycloak's Admin REST API returns the stored events
// (GET /admin/realms/{realm}/events) as a JSON array of EventRepresentation:
//
//	[{"id":"…","time":1672831989826,"type":"CLIENT_LOGIN","realmId":"acme","clientId":"batch",
//	  "userId":"…","sessionId":"…","ipAddress":"10.1.5.5","error":null,
//	  "details":{"token_id":"…","grant_type":"client_credentials","scope":"profile"}}]
//
// saved as it came (one line), pretty-printed (curl | jq), several pages
// one after the other, or one object per line (jq -c '.[]'). The top-level
// fields and the details are the fields of a log line's event, time is in
// Unix milliseconds, and the issuance rules are the same.

// sniffAPI reports whether sample is the start of an events export: a JSON
// array whose objects have two of EventRepresentation's keys (a
// pretty-printed element with sorted keys, jq -S, shows clientId and
// details first; no other format reads JSON arrays), or JSON lines with
// "type", "realmId" and "time" keys (stricter, since other JSON logs have a
// type and a time).
func sniffAPI(sample [][]byte) bool {
	if len(sample) == 0 {
		return false
	}
	first := bytes.TrimSpace(bytes.TrimPrefix(sample[0], bom))
	if len(first) == 0 {
		return false
	}
	if first[0] == '[' {
		text := bytes.Join(sample, []byte("\n"))
		n := 0
		for _, k := range eventKeys {
			if hasKey(text, k) {
				n++
			}
		}
		return n >= 2
	}
	for _, line := range sample {
		line = bytes.TrimSpace(bytes.TrimPrefix(line, bom))
		if len(line) > 0 && line[0] == '{' && hasKey(line, "type") && hasKey(line, "realmId") && hasKey(line, "time") {
			return true
		}
	}
	return false
}

var bom = []byte("\xef\xbb\xbf")

// eventKeys are EventRepresentation's keys that sniffing looks for.
var eventKeys = []string{"time", "type", "realmId", "clientId", "userId", "sessionId", "ipAddress", "details"}

// hasKey reports whether text holds "key" followed by a colon.
func hasKey(text []byte, key string) bool {
	quoted := []byte(`"` + key + `"`)
	for {
		i := bytes.Index(text, quoted)
		if i < 0 {
			return false
		}
		text = bytes.TrimLeft(text[i+len(quoted):], " \t\r\n")
		if len(text) > 0 && text[0] == ':' {
			return true
		}
	}
}

// isAPIEvent reports whether a JSON object without a logger is an
// EventRepresentation: a string type and a time or realmId.
func isAPIEvent(v *fastjson.Value) bool {
	typ := v.Get("type")
	return typ != nil && typ.Type() == fastjson.TypeString && (v.Get("time") != nil || v.Get("realmId") != nil)
}

// apiEvent takes an EventRepresentation apart into p.fields: its top-level
// fields in order, then its details.
func (p *parser) apiEvent(v *fastjson.Value) (ev event, err error) {
	ev.structured = true
	p.fields = p.fields[:0]
	obj, err := v.Object()
	if err != nil {
		return ev, fmt.Errorf("event is a JSON %s", v.Type())
	}
	var details *fastjson.Value
	hasTime := false
	obj.Visit(func(k []byte, x *fastjson.Value) {
		if err != nil {
			return
		}
		switch key := string(k); key {
		case "time":
			if !hasTime {
				hasTime = true
				ev.time, err = p.apiTime(x)
			}
		case "details":
			if details == nil && x.Type() != fastjson.TypeNull {
				details = x
			}
		default:
			value, ok := scalar(x)
			if !ok {
				switch key {
				case "type", "realmId", "clientId", "userId", "sessionId", "ipAddress", "error":
					err = fmt.Errorf("%s is a JSON %s", key, x.Type())
				}
				return // a field of a later version, not a string: not ours to read
			}
			p.fields = append(p.fields, field{key, value})
		}
	})
	if err != nil {
		return ev, err
	}
	if !hasTime {
		return ev, errors.New("missing time")
	}
	if details != nil {
		dobj, derr := details.Object()
		if derr != nil {
			return ev, fmt.Errorf("details is a JSON %s", details.Type())
		}
		dobj.Visit(func(k []byte, x *fastjson.Value) {
			if err != nil {
				return
			}
			value, ok := scalar(x)
			if !ok {
				err = fmt.Errorf("detail %s is a JSON %s", record.Excerpt(string(k), maxKey), x.Type())
				return
			}
			p.fields = append(p.fields, field{string(k), value})
		})
	}
	return ev, err
}

// apiTime reads an event's time: Unix milliseconds, or a timestamp string.
func (p *parser) apiTime(x *fastjson.Value) (t time.Time, err error) {
	switch x.Type() {
	case fastjson.TypeNumber:
		if t, err = record.ParseTime(x.String(), p.loc); err != nil {
			return t, fmt.Errorf("bad time: %w", err)
		}
		return t, nil
	case fastjson.TypeString:
		return p.parseTime(string(x.GetStringBytes()))
	default:
		return t, fmt.Errorf("time is a JSON %s", x.Type())
	}
}

// scalar is a JSON value as an event field's text: strings as they are,
// numbers and booleans as written, null as "" (Keycloak's missing value).
func scalar(x *fastjson.Value) (string, bool) {
	switch x.Type() {
	case fastjson.TypeString:
		return string(x.GetStringBytes()), true
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		return x.String(), true
	case fastjson.TypeNull:
		return "", true
	}
	return "", false
}

// startsArray reports whether the stream (past a UTF-8 byte order mark,
// which it then discards) starts as a JSON array of objects: "[" and "{" or
// "]", white space around them. A text line that happens to start with a
// bracket does not. It peeks at most the reader's buffer.
func startsArray(br *bufio.Reader) bool {
	head, _ := br.Peek(br.Size())
	rest := bytes.TrimPrefix(head, bom)
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) == 0 || rest[0] != '[' {
		return false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '{' && rest[0] != ']' {
		return false
	}
	if bytes.HasPrefix(head, bom) {
		br.Discard(len(bom))
	}
	return true
}

// errArraySyntax is an array's structure gone wrong outside its elements.
var errArraySyntax = errors.New("malformed JSON array")

// errElementTooLong stops the reading of an array element past the bound.
var errElementTooLong = errors.New("element too long")

// arrayReader feeds the JSON decoder. It refuses to read more than limit
// bytes in all (so one element can never be buffered whole past the
// bound), and keeps what it read until lineAt has counted its newlines.
type arrayReader struct {
	r       io.Reader
	max     int   // bound of one element
	read    int64 // bytes handed to the decoder
	limit   int64
	pending []byte // bytes from offset base on, not yet counted
	skip    int    // pending[:skip] is counted already
	base    int64  // offset of pending[skip]
	lines   int64  // newlines before base
}

func (a *arrayReader) Read(b []byte) (int, error) {
	if a.read >= a.limit {
		return 0, errElementTooLong
	}
	if room := a.limit - a.read; int64(len(b)) > room {
		b = b[:room]
	}
	n, err := a.r.Read(b)
	if a.skip > 0 && a.skip >= len(a.pending)/2 {
		a.pending = append(a.pending[:0], a.pending[a.skip:]...)
		a.skip = 0
	}
	a.pending = append(a.pending, b[:n]...)
	a.read += int64(n)
	return n, err
}

// lineAt returns the 1-based line of byte offset off; offsets must not
// decrease from one call to the next.
func (a *arrayReader) lineAt(off int64) int64 {
	k := int(min(max(off-a.base, 0), int64(len(a.pending)-a.skip)))
	a.lines += int64(bytes.Count(a.pending[a.skip:a.skip+k], []byte{'\n'}))
	a.skip += k
	a.base += int64(k)
	return a.lines + 1
}

// nextValue returns the offset of the first non-space byte at or after off
// among the bytes read (off itself when none is read yet).
func (a *arrayReader) nextValue(off int64) int64 {
	i := int(min(max(off-a.base, 0), int64(len(a.pending)-a.skip)))
	rest := a.pending[a.skip+i:]
	trimmed := bytes.TrimLeft(rest, " \t\r\n,")
	if len(trimmed) == 0 {
		return off
	}
	return off + int64(len(rest)-len(trimmed))
}

// array reads an events export: one or more JSON arrays of events. Each
// element is a record. A malformed array cannot be resynchronised reliably
// (a brace inside a string looks like the start of an element), so the
// first syntax error rejects the element it is in and stops the file.
func (p *parser) array(ctx context.Context, r io.Reader) error {
	max := p.in.Options.MaxLineBytes
	if max <= 0 {
		max = record.DefaultMaxLineBytes
	}
	ar := &arrayReader{r: r, max: max, limit: int64(max)}
	dec := json.NewDecoder(ar)
	var raw json.RawMessage
	var n int64
	for {
		// The opening bracket of an array (several pages may follow one another).
		ar.limit = dec.InputOffset() + int64(max)
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil || tok != json.Delim('[') {
			if err == nil {
				err = fmt.Errorf("%w: expected [ or the end of the file, found %s", errArraySyntax, tokenKind(tok))
			}
			return p.arrayStop(ar, dec.InputOffset(), err)
		}
		for dec.More() {
			if n++; n&0x3ff == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			ar.limit = dec.InputOffset() + int64(max) + 1
			start := ar.nextValue(dec.InputOffset())
			raw = raw[:0]
			if err := dec.Decode(&raw); err != nil {
				return p.arrayStop(ar, start, err)
			}
			end := dec.InputOffset()
			line := ar.lineAt(end - int64(len(raw)))
			p.in.CountRecord()
			p.element(line, raw)
		}
		ar.limit = dec.InputOffset() + int64(max)
		if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
			if err == nil {
				err = fmt.Errorf("%w: expected , or ] after an element, found %s", errArraySyntax, tokenKind(tok))
			}
			return p.arrayStop(ar, ar.nextValue(dec.InputOffset()), err)
		}
	}
}

// element turns one array element into an issuance, a reject or an ignore.
func (p *parser) element(lineNo int64, raw []byte) {
	pos := record.Position{File: p.in.Name, Line: lineNo, Format: p.name}
	if !record.ValidUTF8(raw, pos, p.sink) {
		return
	}
	v, err := p.json.ParseBytes(raw)
	if err != nil {
		p.sink.Reject(&record.Reject{Pos: pos, Reason: record.JSONErrorReason(err), Excerpt: string(raw)})
		return
	}
	if v.Type() == fastjson.TypeObject && v.Get("operationType") != nil {
		// An admin events export (GET /admin/realms/{realm}/admin-events).
		p.sink.Ignore(pos, IgnoreAdminEvent)
		return
	}
	if v.Type() != fastjson.TypeObject || !isAPIEvent(v) {
		p.sink.Reject(&record.Reject{Pos: pos, Reason: "array element is not a Keycloak event (no type and time)", Excerpt: string(raw)})
		return
	}
	ev, err := p.apiEvent(v)
	var ignore string
	if err == nil {
		ignore, err = p.event(pos, &ev)
	}
	switch {
	case err != nil:
		p.sink.Reject(&record.Reject{Pos: pos, Reason: err.Error(), Excerpt: string(raw)})
	case ignore != "":
		p.sink.Ignore(pos, ignore)
	}
}

// arrayStop rejects the malformed element (or array syntax) at offset off as
// one record and returns the error that stops the file. A failure of the
// underlying reader is returned as it is, for the caller to record.
func (p *parser) arrayStop(ar *arrayReader, off int64, err error) error {
	var syntax *json.SyntaxError
	var reason string
	switch {
	case errors.As(err, &syntax):
		reason = "malformed JSON array: " + syntax.Error()
	case errors.Is(err, errElementTooLong):
		reason = fmt.Sprintf("%s (array element over %d bytes)", record.ReasonLineTooLong, ar.max)
	case errors.Is(err, io.ErrUnexpectedEOF):
		reason = "JSON array cut off (truncated file?)"
	case errors.Is(err, io.EOF):
		reason = "JSON array not closed (truncated file?)"
	case errors.Is(err, errArraySyntax):
		reason = err.Error()
	default:
		return err
	}
	line := ar.lineAt(off)
	excerpt := ar.pending[ar.skip:min(len(ar.pending), ar.skip+256)]
	p.in.CountRecord()
	p.sink.Reject(&record.Reject{
		Pos:     record.Position{File: p.in.Name, Line: line, Format: p.name},
		Reason:  reason,
		Excerpt: string(excerpt),
	})
	return &record.RecordError{File: p.in.Name, Line: line,
		Err: fmt.Errorf("%s; the rest of the file is not read: a JSON array cannot be resynchronised reliably", reason)}
}

// tokenKind names a JSON token without quoting its text from the input.
func tokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return string(t)
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a value"
}
