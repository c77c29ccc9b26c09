package ledger

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

func parseJSONL(ctx context.Context, in *record.Input, format string, sink record.Sink) error {
	var (
		p   fastjson.Parser
		loc = in.Options.Loc()
	)
	return record.EachLine(ctx, in, format, sink, func(lineNo int64, line []byte) {
		pos := record.Position{File: in.Name, Line: lineNo, Format: format}
		if lineNo == 1 {
			line = bytes.TrimPrefix(line, bom)
		}
		if !record.ValidUTF8(line, pos, sink) {
			return
		}
		reject := func(reason string) {
			sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(line)})
		}
		v, err := p.ParseBytes(line)
		if err != nil {
			reject(record.JSONErrorReason(err))
			return
		}
		obj, err := v.Object()
		if err != nil {
			reject("not a JSON object")
			return
		}
		var (
			r   row
			bad error
		)
		obj.Visit(func(key []byte, v *fastjson.Value) {
			if bad != nil || v.Type() == fastjson.TypeNull {
				return
			}
			k := string(key)
			n, ok := lookup(k)
			if !ok {
				r.addAttr(k, jsonText(v))
				return
			}
			s, err := fieldText(n.field, v)
			if err != nil {
				bad = fmt.Errorf("%s: %w", truncate(k, 40), err)
				return
			}
			r.set(k, n, s)
		})
		if bad != nil {
			reject(bad.Error())
			return
		}
		var iss record.Issuance
		if err := r.issuance(&iss, loc); err != nil {
			reject(err.Error())
			return
		}
		iss.Pos = pos
		sink.Issuance(&iss)
	})
}

// fieldText reads a ledger field from JSON: a string, a number (times), or
// for audience an array of strings.
func fieldText(f field, v *fastjson.Value) (string, error) {
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes()), nil
	case fastjson.TypeNumber:
		return v.String(), nil
	case fastjson.TypeArray:
		if f != fAudience && f != fNames {
			break
		}
		var b strings.Builder
		for i, e := range v.GetArray() {
			if e.Type() != fastjson.TypeString {
				return "", fmt.Errorf("array holds a JSON %s, want strings", e.Type())
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(e.GetStringBytes())
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("want a string, got a JSON %s", v.Type())
}

// jsonText is an attribute's value: a string as is, anything else as JSON.
func jsonText(v *fastjson.Value) string {
	if v.Type() == fastjson.TypeString {
		return string(v.GetStringBytes())
	}
	return v.String()
}
