package adfs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads AD FS audit events exported as JSON (Winlogbeat and Elastic
// Agent ECS, Sentinel SecurityEvent rows, PowerShell, NXLog). See the
// package documentation.
var Format record.Format = jsonFormat{}

type jsonFormat struct{}

func (jsonFormat) Name() string { return "adfs-audit" }

func (jsonFormat) Description() string {
	return "AD FS audit events 1200/299 as JSON (Winlogbeat/Elastic Agent ECS, Sentinel SecurityEvent, Get-WinEvent, NXLog): issued SAML tokens by activity id, user and relying party"
}

// IssuerLog reports that AD FS's audits are the issuer's own records.
func (jsonFormat) IssuerLog() bool { return true }

// EntryPositions reports that several records may start on one line (a
// JSON array); see the package documentation.
func (jsonFormat) EntryPositions() bool { return true }

// MaxFileBytes bounds a JSON array or pretty-printed file, which is read
// whole (JSON lines are read a line at a time).
const MaxFileBytes = 256 << 20

// jsonShapeKeys name the exporters' provider fields.
var jsonShapeKeys = [][]byte{[]byte(`"winlog`), []byte(`"provider_name"`), []byte(`"EventSourceName"`),
	[]byte(`"ProviderName"`), []byte(`"SourceName"`)}

// Sniff accepts JSON whose sample names the AD FS Auditing provider in one
// of the exporters' provider fields.
func (jsonFormat) Sniff(sample [][]byte) bool {
	sample = decodedSample(sample)
	if len(sample) == 0 {
		return false
	}
	first := bytes.TrimSpace(sample[0])
	if len(first) == 0 || first[0] != '{' && first[0] != '[' {
		return false
	}
	joined := bytes.Join(sample, []byte("\n"))
	if !bytes.Contains(joined, []byte(`"`+ProviderName+`"`)) {
		return false
	}
	for _, k := range jsonShapeKeys {
		if bytes.Contains(joined, k) {
			return true
		}
	}
	return false
}

type jsonParser struct {
	in   *record.Input
	sink record.Sink
	p    fastjson.Parser
	pos  positions
}

// Parse reads JSON lines, or, when the file starts with an array or a
// document that spans lines, a sequence of JSON arrays and documents.
func (f jsonFormat) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	br := bufio.NewReaderSize(decoded(in.R), 256<<10)
	jp := &jsonParser{in: in, sink: sink}
	if in.Options.Envelope == nil && !jsonLines(br) {
		return jp.documents(ctx, br)
	}
	lin := *in
	lin.R, lin.Data, lin.FirstLine = br, nil, 0
	return record.EachLine(ctx, &lin, f.Name(), sink, func(n int64, line []byte) {
		pos := record.Position{File: in.Name, Line: n, Format: f.Name()}
		o, ok := record.JSONObject(&jp.p, line, pos, sink)
		if !ok {
			return
		}
		jp.object(o, pos, line)
	})
}

// jsonLines reports whether the stream is JSON lines rather than arrays
// or pretty-printed documents: it does not start with "[", and its first
// line ends an object or its second line starts one (a line cut off or
// malformed is then one rejected line, not the end of the file).
func jsonLines(br *bufio.Reader) bool {
	head, _ := br.Peek(br.Size())
	rest := bytes.TrimLeft(head, " \t\r\n")
	if len(rest) == 0 || rest[0] != '[' && rest[0] != '{' {
		return true
	}
	if rest[0] == '[' {
		return false
	}
	first, next, found := bytes.Cut(rest, []byte("\n"))
	if !found {
		return true // one line, or longer than can be told
	}
	if bytes.HasSuffix(bytes.TrimSpace(first), []byte("}")) {
		return true
	}
	next = bytes.TrimLeft(next, " \t\r\n")
	return len(next) > 0 && next[0] == '{'
}

// documents reads a file of JSON arrays and documents, read whole. An
// element that cannot be parsed stops the file: an array cannot be
// resynchronised reliably.
func (jp *jsonParser) documents(ctx context.Context, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return err
	}
	lines := lineCounter{data: data}
	if len(data) > MaxFileBytes {
		jp.stop(lines.at(0), fmt.Sprintf("JSON file over %d bytes (read it as JSON lines, one event a line)", MaxFileBytes), nil)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	for n := 0; ; n++ {
		if n&0x3ff == 0x3ff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		start := skipJSONSpace(data, int(dec.InputOffset()))
		if start >= len(data) {
			return nil
		}
		if data[start] != '[' {
			raw = raw[:0]
			if err := dec.Decode(&raw); err != nil {
				jp.stop(lines.at(start), jsonStopReason(err), data[start:])
				return nil
			}
			jp.element(lines.at(start), raw)
			continue
		}
		if _, err := dec.Token(); err != nil {
			jp.stop(lines.at(start), jsonStopReason(err), data[start:])
			return nil
		}
		for dec.More() {
			if n++; n&0x3ff == 0x3ff {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			el := skipJSONSpace(data, int(dec.InputOffset()))
			raw = raw[:0]
			if err := dec.Decode(&raw); err != nil {
				jp.stop(lines.at(el), jsonStopReason(err), data[el:])
				return nil
			}
			jp.element(lines.at(el), raw)
		}
		end := skipJSONSpace(data, int(dec.InputOffset()))
		if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
			reason := "JSON array not closed (truncated file?)"
			if err == nil {
				reason = "malformed JSON array: expected , or ]"
			}
			jp.stop(lines.at(end), reason, data[end:])
			return nil
		}
	}
}

// element reads one array element or document.
func (jp *jsonParser) element(line int64, raw []byte) {
	jp.in.CountRecord()
	pos := record.Position{File: jp.in.Name, Line: jp.pos.at(line), Format: Format.Name()}
	if !record.ValidUTF8(raw, pos, jp.sink) {
		return
	}
	v, err := jp.p.ParseBytes(raw)
	if err != nil {
		jp.sink.Reject(&record.Reject{Pos: pos, Reason: record.JSONErrorReason(err), Excerpt: string(raw)})
		return
	}
	o, err := v.Object()
	if err != nil {
		jp.sink.Reject(&record.Reject{Pos: pos, Reason: record.ReasonNotObject, Excerpt: string(raw)})
		return
	}
	jp.object(o, pos, raw)
}

// stop rejects the part of the file that cannot be read as one record.
func (jp *jsonParser) stop(line int64, reason string, rest []byte) {
	jp.in.CountRecord()
	pos := record.Position{File: jp.in.Name, Line: jp.pos.at(line), Format: Format.Name()}
	jp.sink.Reject(&record.Reject{Pos: pos, Reason: reason + "; the rest of the file is not read", Excerpt: string(rest[:min(len(rest), 512)])})
}

func jsonStopReason(err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return "malformed JSON: " + syn.Error()
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "JSON cut off (truncated file?)"
	}
	return "malformed JSON: " + err.Error()
}

func skipJSONSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n', ',':
			i++
		default:
			return i
		}
	}
	return i
}

// lineCounter returns the 1-based line of byte offsets that do not
// decrease.
type lineCounter struct {
	data  []byte
	off   int
	lines int64
}

func (c *lineCounter) at(off int) int64 {
	off = min(max(off, c.off), len(c.data))
	c.lines += int64(bytes.Count(c.data[c.off:off], []byte{'\n'}))
	c.off = off
	return c.lines + 1
}

// object reads one exported event in whichever shape it has.
func (jp *jsonParser) object(o *fastjson.Object, pos record.Position, raw []byte) {
	if src := o.Get("_source"); src != nil && src.Type() == fastjson.TypeObject {
		o, _ = src.Object()
	}
	var (
		e   event
		err error
	)
	switch {
	case o.Get("winlog") != nil || o.Get("winlog.event_id") != nil || o.Get("winlog.provider_name") != nil:
		err = ecsEvent(o, &e)
	case o.Get("EventSourceName") != nil:
		err = sentinelEvent(o, &e)
	case o.Get("ProviderName") != nil && o.Get("Id") != nil:
		err = powershellEvent(o, &e)
	case o.Get("SourceName") != nil:
		err = nxlogEvent(o, &e)
	default:
		err = errors.New("not a Windows event record (no winlog, EventSourceName, ProviderName or SourceName)")
	}
	if err != nil {
		jp.sink.Reject(&record.Reject{Pos: pos, Reason: err.Error(), Excerpt: string(raw)})
		return
	}
	emit(jp.sink, pos, &e, jp.in.Options.Loc(), string(raw))
}

// fields reads string fields into their destinations.
type fields struct {
	o   *fastjson.Object
	err error
}

// lookup returns the value at path, nested or as one dotted key.
func lookup(o *fastjson.Object, path ...string) *fastjson.Value {
	if v := o.Get(path[0]); v != nil {
		if len(path) == 1 {
			return v
		}
		if w := v.Get(path[1:]...); w != nil {
			return w
		}
	}
	if len(path) > 1 {
		return o.Get(strings.Join(path, "."))
	}
	return nil
}

// str sets *dst to the first of the paths present, a string or a number;
// another type is an error.
func (f *fields) str(dst *string, paths ...[]string) {
	for _, p := range paths {
		v := lookup(f.o, p...)
		if v == nil || v.Type() == fastjson.TypeNull {
			continue
		}
		s, ok := jsonString(v)
		if !ok {
			if f.err == nil {
				f.err = fmt.Errorf("%s: not a string or number", strings.Join(p, "."))
			}
			return
		}
		*dst = s
		return
	}
}

func jsonString(v *fastjson.Value) (string, bool) {
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes()), true
	case fastjson.TypeNumber:
		return v.String(), true
	}
	return "", false
}

func path(p ...string) []string { return p }

// ecsEvent reads Winlogbeat's and Elastic Agent's ECS documents.
func ecsEvent(o *fastjson.Object, e *event) error {
	f := fields{o: o}
	f.str(&e.provider, path("winlog", "provider_name"), path("event", "provider"))
	f.str(&e.eventID, path("winlog", "event_id"), path("event", "code"))
	f.str(&e.time, path("@timestamp"), path("winlog", "time_created"), path("timestamp"))
	f.str(&e.computer, path("winlog", "computer_name"), path("host", "name"), path("host", "hostname"))
	f.str(&e.recordID, path("winlog", "record_id"))
	f.str(&e.correlation, path("winlog", "activity_id"))
	f.str(&e.message, path("message"))
	if f.err != nil {
		return f.err
	}
	if ed := lookup(o, "winlog", "event_data"); ed != nil && ed.Type() != fastjson.TypeObject && ed.Type() != fastjson.TypeNull {
		return errors.New("winlog.event_data: not an object")
	}
	for n := 1; n <= 64; n++ {
		key := "param" + strconv.Itoa(n)
		v := lookup(o, "winlog", "event_data", key)
		if v == nil {
			break
		}
		s, ok := jsonString(v)
		if !ok {
			return fmt.Errorf("winlog.event_data.%s: not a string", key)
		}
		e.data = append(e.data, s)
	}
	e.hasData = len(e.data) > 0
	return nil
}

// sentinelEvent reads a Log Analytics SecurityEvent row.
func sentinelEvent(o *fastjson.Object, e *event) error {
	f := fields{o: o}
	var eventData string
	f.str(&e.provider, path("EventSourceName"))
	f.str(&e.eventID, path("EventID"))
	f.str(&e.time, path("TimeGenerated"), path("TimeCreated"))
	f.str(&e.computer, path("Computer"))
	f.str(&e.recordID, path("EventRecordId"), path("EventRecordID"))
	f.str(&e.correlation, path("ActivityId"), path("ActivityID"))
	f.str(&eventData, path("EventData"))
	if f.err != nil {
		return f.err
	}
	return e.setEventData(eventData)
}

// setEventData reads the EventData XML of a SecurityEvent row (for an
// AD FS event only: another provider's need not be parsed to be ignored).
func (e *event) setEventData(s string) error {
	if strings.TrimSpace(s) == "" || !strings.EqualFold(strings.TrimSpace(e.provider), ProviderName) {
		return nil
	}
	data, err := parseEventData(s)
	if err != nil {
		return err
	}
	e.data, e.hasData = data, true
	return nil
}

// powershellEvent reads Get-WinEvent | ConvertTo-Json (EventLogRecord).
func powershellEvent(o *fastjson.Object, e *event) error {
	f := fields{o: o}
	f.str(&e.provider, path("ProviderName"))
	f.str(&e.eventID, path("Id"))
	f.str(&e.time, path("TimeCreated"))
	f.str(&e.computer, path("MachineName"))
	f.str(&e.recordID, path("RecordId"))
	f.str(&e.correlation, path("ActivityId", "Guid"), path("ActivityId"))
	f.str(&e.message, path("Message"))
	if f.err != nil {
		return f.err
	}
	props := o.Get("Properties")
	if props == nil || props.Type() == fastjson.TypeNull {
		return nil
	}
	arr, err := props.Array()
	if err != nil {
		return errors.New("Properties: not an array")
	}
	for i, p := range arr {
		v := p
		if p.Type() == fastjson.TypeObject {
			v = p.Get("Value")
		}
		if v == nil || v.Type() == fastjson.TypeNull {
			e.data = append(e.data, "")
			continue
		}
		s, ok := jsonString(v)
		if !ok {
			return fmt.Errorf("Properties[%d].Value: not a string or number", i)
		}
		e.data = append(e.data, s)
	}
	e.hasData = len(e.data) > 0
	return nil
}

// nxlogEvent reads NXLog's im_msvistalog JSON (to_json()).
func nxlogEvent(o *fastjson.Object, e *event) error {
	f := fields{o: o}
	f.str(&e.provider, path("SourceName"))
	f.str(&e.eventID, path("EventID"))
	f.str(&e.time, path("EventTime"))
	f.str(&e.computer, path("Hostname"))
	f.str(&e.recordID, path("RecordNumber"))
	f.str(&e.correlation, path("ActivityID"))
	f.str(&e.message, path("Message"))
	return f.err
}
