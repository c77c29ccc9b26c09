package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/valyala/fastjson"
)

// Reject reasons shared by the JSON-lines formats.
const (
	ReasonNotObject = "not a JSON object"
	ReasonNUL       = "NUL byte in line"
)

// JSONObject reads one JSON-lines record with p. A line that is not valid
// UTF-8, holds a NUL byte, is not JSON or is not an object is rejected to
// sink with its reason (never quoting the line, which may hold a
// credential) and ok is false. The object is valid until p parses again.
func JSONObject(p *fastjson.Parser, line []byte, pos Position, sink Sink) (o *fastjson.Object, ok bool) {
	reject := func(reason string) {
		sink.Reject(&Reject{Pos: pos, Reason: reason, Excerpt: string(line)})
	}
	if !ValidUTF8(line, pos, sink) {
		return nil, false
	}
	if bytes.IndexByte(line, 0) >= 0 {
		reject(ReasonNUL)
		return nil, false
	}
	v, err := p.ParseBytes(line)
	if err != nil {
		reject(jsonSyntaxReason(line))
		return nil, false
	}
	if o, err = v.Object(); err != nil {
		reject(ReasonNotObject)
		return nil, false
	}
	return o, true
}

// jsonSyntaxReason explains why line is not valid JSON, with the byte offset
// encoding/json finds, without quoting the line. It runs only for lines
// fastjson refused, so its cost does not matter.
func jsonSyntaxReason(line []byte) string {
	var raw json.RawMessage
	err := json.Unmarshal(line, &raw)
	var syn *json.SyntaxError
	switch {
	case err == nil:
		return "invalid JSON: nested too deep or malformed"
	case errors.As(err, &syn) && syn.Error() == "unexpected end of JSON input":
		return "invalid JSON: truncated line"
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syn.Offset, syn.Error())
	}
	return "invalid JSON: " + err.Error()
}

// SalvagedObject parses a rejected line's sanitized copy (see Salvager) as a
// JSON object with p, duplicate keys tolerated; ok is false when it is not
// one. The object is valid until p parses again.
func SalvagedObject(p *fastjson.Parser, line []byte) (o *fastjson.Object, ok bool) {
	v, err := p.ParseBytes(line)
	if err != nil {
		return nil, false
	}
	if o, err = v.Object(); err != nil {
		return nil, false
	}
	return o, true
}
