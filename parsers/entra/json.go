package entra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// parser reads the records of one input.
type parser struct {
	in      *record.Input
	sink    record.Sink
	format  string
	json    fastjson.Parser
	sub     fastjson.Parser // for the JSON text of dynamic columns
	s       signIn
	attrs   record.Attrs
	ordinal int64 // records met, in value mode
}

func newParser(in *record.Input, sink record.Sink, format string) *parser {
	return &parser{in: in, sink: sink, format: format}
}

func (p *parser) pos(line int64) record.Position {
	return record.Position{File: p.in.Name, Line: line, Format: p.format}
}

func (p *parser) reject(pos record.Position, reason string, excerpt []byte) {
	p.sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(excerpt)})
}

// Kinds of a top-level JSON value.
const (
	topRecord = iota
	topBatch  // an array, or an object with a "value" or "records" array
)

// topLevel tells a record from a batch; ok is false when line is not JSON.
func topLevel(line []byte) (int, bool) {
	var p fastjson.Parser
	v, err := p.ParseBytes(line)
	if err != nil {
		return 0, false
	}
	switch v.Type() {
	case fastjson.TypeArray:
		return topBatch, true
	case fastjson.TypeObject:
		if isBatch(v.GetObject()) {
			return topBatch, true
		}
		return topRecord, true
	}
	return 0, false
}

// isBatch reports whether o is a Graph page or an Event Hub batch.
func isBatch(o *fastjson.Object) bool {
	batch := false
	o.Visit(func(key []byte, v *fastjson.Value) {
		if batchKey(string(key)) && v.Type() == fastjson.TypeArray {
			batch = true
		}
	})
	return batch
}

func batchKey(k string) bool { return strings.EqualFold(k, "value") || strings.EqualFold(k, "records") }

// line reads one record of a one-record-per-line file.
func (p *parser) line(lineNo int64, line []byte) {
	pos := p.pos(lineNo)
	if lineNo == 1 {
		line = bytes.TrimPrefix(line, bom)
	}
	o, ok := record.JSONObject(&p.json, line, pos, p.sink)
	if !ok {
		return
	}
	if isBatch(o) {
		p.reject(pos, "a batch of records on one line of a one-record-per-line file (read the batches as a file of their own)", line)
		return
	}
	p.record(o, pos, line)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// values reads a file as a sequence of JSON values: records, arrays of
// them, pages and batches.
func (p *parser) values(ctx context.Context, r io.Reader) error {
	cr := &countingReader{r: io.LimitReader(r, MaxFileBytes+1)}
	dec := json.NewDecoder(cr)
	dec.UseNumber()
	stop := func(err error) {
		reason := fmt.Sprintf("invalid JSON after record %d: %v (the rest of the file cannot be read)", p.ordinal, err)
		if cr.n > MaxFileBytes {
			reason = fmt.Sprintf("file over %d bytes: the rest is not read", MaxFileBytes)
		}
		p.ordinal++
		p.in.CountRecord()
		p.reject(p.pos(p.ordinal), reason, nil)
	}
	// skip the byte-order mark that PowerShell's Out-File writes
	if br, ok := r.(interface{ Peek(int) ([]byte, error) }); ok {
		if b, _ := br.Peek(3); bytes.Equal(b, bom) {
			_, _ = io.CopyN(io.Discard, cr, 3)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			stop(err)
			return nil
		}
		var ok bool
		switch t {
		case json.Delim('['):
			ok = p.elements(ctx, dec, stop)
		case json.Delim('{'):
			ok = p.object(ctx, dec, stop)
		default:
			p.ordinal++
			p.in.CountRecord()
			p.reject(p.pos(p.ordinal), record.ReasonNotObject, []byte(fmt.Sprint(t)))
			ok = true
		}
		if !ok {
			return ctx.Err()
		}
	}
}

// elements reads the elements of an array whose "[" was read, and its "]".
func (p *parser) elements(ctx context.Context, dec *json.Decoder, stop func(error)) bool {
	for dec.More() {
		if err := ctx.Err(); err != nil {
			return false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			stop(err)
			return false
		}
		p.element(raw)
	}
	if _, err := dec.Token(); err != nil {
		stop(err)
		return false
	}
	return true
}

// element reads one record of an array or a batch.
func (p *parser) element(raw []byte) {
	p.ordinal++
	p.in.CountRecord()
	pos := p.pos(p.ordinal)
	o, ok := record.JSONObject(&p.json, raw, pos, p.sink)
	if !ok {
		return
	}
	p.record(o, pos, raw)
}

// member is one member of a top-level object.
type member struct {
	key string
	raw json.RawMessage
}

// object reads a top-level object whose "{" was read: a page or a batch,
// whose array is read element by element, or a record, rebuilt from its
// members.
func (p *parser) object(ctx context.Context, dec *json.Decoder, stop func(error)) bool {
	var (
		members []member
		batch   bool
		bad     string
	)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			stop(err)
			return false
		}
		key, _ := t.(string)
		if batchKey(key) && !batch {
			t, err := dec.Token()
			if err != nil {
				stop(err)
				return false
			}
			if t == json.Delim('[') {
				batch = true
				if !p.elements(ctx, dec, stop) {
					return false
				}
				continue
			}
			if err := skip(dec, t); err != nil {
				stop(err)
				return false
			}
			bad = key + " is not an array"
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			stop(err)
			return false
		}
		if !batch {
			members = append(members, member{key, raw})
		}
	}
	if _, err := dec.Token(); err != nil {
		stop(err)
		return false
	}
	if batch {
		return true // the page's other members (@odata.context, @odata.nextLink) are not records
	}
	raw := rebuild(members)
	if bad != "" {
		p.ordinal++
		p.in.CountRecord()
		p.reject(p.pos(p.ordinal), bad, raw)
		return true
	}
	p.element(raw)
	return true
}

// skip reads the rest of a value whose first token is t.
func skip(dec *json.Decoder, t json.Token) error {
	depth := 0
	for {
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
		var err error
		if t, err = dec.Token(); err != nil {
			return err
		}
	}
}

// rebuild writes members back as one object.
func rebuild(members []member) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.raw)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// record reads one record's fields and emits it.
func (p *parser) record(o *fastjson.Object, pos record.Position, raw []byte) {
	s := &p.s
	s.reset()
	if err := p.fill(o); err != nil {
		p.reject(pos, err.Error(), raw)
		return
	}
	p.emit(pos, raw)
}

// fill reads o in its form.
func (p *parser) fill(o *fastjson.Object) error {
	s := &p.s
	props := o.Get("properties")
	if props != nil && (o.Get("category") != nil || o.Get("operationName") != nil || o.Get("time") != nil) {
		s.form = formDiagnostic
		if err := s.fillEnvelope(o); err != nil {
			return err
		}
		po, err := props.Object()
		if err != nil {
			return fmt.Errorf("properties: a JSON %s, want an object", props.Type())
		}
		return s.fillObject(po, &p.sub)
	}
	if err := s.fillObject(o, &p.sub); err != nil {
		return err
	}
	if s.has[fTimeGenerated] || s.has[fSourceSystem] || s.has[fAADTenantID] {
		s.form = formLogAnalytics
	}
	return nil
}

var errNotSignIn = errors.New("not a sign-in record (no createdDateTime, time, correlationId or id)")
