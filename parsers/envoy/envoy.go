// Package envoy reads Envoy and Istio access logs written as JSON lines (Istio's
// meshConfig accessLogEncoding: JSON) that carry the request's Authorization
// header, and emits one JWT sighting per bearer token.
//
// The default keys are Istio's JSON access-log keys (start_time, method, path,
// response_code, response_code_details, x_forwarded_for, user_agent,
// request_id, authority, upstream_cluster, downstream_remote_address, ...) plus
// "authorization". Keys may come in any order; numbers may be JSON numbers or
// strings; a missing value may be null or "-". When a key occurs twice in one
// line the last occurrence wins (as in encoding/json). Envoy's plain-text
// default format is not read here.
package envoy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format is the envoy-json format.
var Format = Parser{}

// Parser reads Envoy / Istio JSON access logs. The zero value is ready to use
// and safe for concurrent Parse calls.
type Parser struct{}

// Name returns "envoy-json".
func (Parser) Name() string { return "envoy-json" }

// Description says what the format reads.
func (Parser) Description() string {
	return "Envoy / Istio JSON access log with an authorization key (bearer JWTs)"
}

// Reject reasons that tests and users may match on.
const (
	ReasonNotObject = "not a JSON object"
	ReasonNUL       = "NUL byte in line"
	// ReasonDuplicateKey starts the reason of a line that gives a key it
	// reads twice (two authorization values: which one did the verifier see?).
	ReasonDuplicateKey = "duplicate key"
)

// Default JSON keys of the logical fields that record.Options.FieldMap may
// override.
var defaultKeys = map[string]string{
	"token":      "authorization",
	"time":       "start_time",
	"user_agent": "user_agent",
	"status":     "response_code",
	"method":     "method",
	"path":       "path",
	// client_ip, observer and principal have no single default key: the client
	// is the first x_forwarded_for entry, else downstream_remote_address; the
	// observer is authority, else upstream_cluster; Istio logs no principal.
	"client_ip": "",
	"observer":  "",
	"principal": "",
}

// attrKeys are the Istio keys copied into a sighting's attrs, sorted; the
// status (response_code or its mapped key) is added as "status" in order.
var attrKeys = []string{
	"authority", "downstream_remote_address", "protocol", "request_id",
	"requested_server_name", "response_code_details", "response_flags", "route_name",
	// "status" goes here
	"upstream_cluster", "upstream_host", "x_forwarded_for",
}

// attrStatusAt is the index in attrKeys before which "status" is written.
const attrStatusAt = 8

// Sniff reports whether most sample lines are JSON objects with start_time,
// response_code and at least one of authority, upstream_cluster or
// downstream_remote_address. Sniff sees no options, so it uses the default keys.
func (Parser) Sniff(sample [][]byte) bool {
	var p fastjson.Parser
	hits, lines := 0, 0
	for _, line := range sample {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		lines++
		if line[0] != '{' {
			continue
		}
		v, err := p.ParseBytes(line)
		if err != nil {
			continue
		}
		if v.Exists("start_time") && v.Exists("response_code") &&
			(v.Exists("authority") || v.Exists("upstream_cluster") || v.Exists("downstream_remote_address")) {
			hits++
		}
	}
	return hits > 0 && 2*hits >= lines
}

// fields is the per-Parse key table: every JSON key read is given a slot, and
// one pass over a line's object fills the slots (so the last duplicate wins).
type fields struct {
	slot map[string]int
	vals []*fastjson.Value

	token, time, userAgent, status, method, path int
	clientIP, observer, principal                int // -1 when not mapped
	xff, downstream, authority, cluster, details int
	attrs                                        []int // parallel to attrKeys

	num []byte // scratch for numbers
}

func newFields(fieldMap map[string]string) *fields {
	f := &fields{slot: map[string]int{}}
	key := func(logical string) int {
		k, ok := fieldMap[logical]
		if !ok || k == "" {
			k = defaultKeys[logical]
		}
		if k == "" {
			return -1
		}
		return f.add(k)
	}
	f.token, f.time, f.userAgent = key("token"), key("time"), key("user_agent")
	f.status, f.method, f.path = key("status"), key("method"), key("path")
	f.clientIP, f.observer, f.principal = key("client_ip"), key("observer"), key("principal")
	f.xff, f.downstream = f.add("x_forwarded_for"), f.add("downstream_remote_address")
	f.authority, f.cluster = f.add("authority"), f.add("upstream_cluster")
	f.details = f.add("response_code_details")
	for _, k := range attrKeys {
		f.attrs = append(f.attrs, f.add(k))
	}
	f.vals = make([]*fastjson.Value, len(f.slot))
	return f
}

func (f *fields) add(key string) int {
	if i, ok := f.slot[key]; ok {
		return i
	}
	i := len(f.slot)
	f.slot[key] = i
	return i
}

// fill records the values of o's keys. It returns the first key it reads
// that o holds twice, or "": JSON readers disagree on which duplicate counts.
func (f *fields) fill(o *fastjson.Object) (dup string) {
	clear(f.vals)
	o.Visit(func(key []byte, v *fastjson.Value) {
		if i, ok := f.slot[string(key)]; ok {
			if f.vals[i] != nil && dup == "" {
				dup = string(key)
			}
			f.vals[i] = v
		}
	})
	return dup
}

// raw returns the bytes of the value in slot i: strings unescaped, numbers
// and booleans as written; nil for a missing slot, null, "-", objects and
// arrays. The bytes alias the parser's buffer: valid until the next line.
func (f *fields) raw(i int) []byte {
	if i < 0 || f.vals[i] == nil {
		return nil
	}
	v := f.vals[i]
	switch v.Type() {
	case fastjson.TypeString:
		b := v.GetStringBytes()
		if len(b) == 1 && b[0] == '-' {
			return nil
		}
		return b
	case fastjson.TypeNumber:
		f.num = v.MarshalTo(f.num[:0])
		return f.num
	case fastjson.TypeTrue:
		return []byte("true")
	case fastjson.TypeFalse:
		return []byte("false")
	}
	return nil
}

// text is raw as a string of its own, made valid UTF-8 (a \u escape of a lone
// surrogate is not).
func (f *fields) text(i int) string {
	b := f.raw(i)
	if len(b) == 0 {
		return ""
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

// Parse streams one sighting per line whose authorization value is a bearer
// JWT (or a bare JWT, see record.BearerJWT). Lines without an authorization
// value, with "-", or with another scheme are valid and ignored ("no bearer
// token"; they are only checked for JSON syntax). Bad JSON, a NUL byte,
// invalid UTF-8, a top-level key that is read and given twice (JSON readers
// disagree on which one counts), a bearer value that is not JWT-shaped and an
// unreadable time are rejected. A line without a time gives a sighting with a
// zero ObservedAt. Each line ends in exactly one sighting, reject or ignore.
//
// Options: FieldMap overrides the key of token, time, client_ip, user_agent,
// observer, principal, status, method and path (top-level keys only); Observer
// overrides the observer of every sighting.
func (p Parser) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	var jp fastjson.Parser
	f := newFields(in.Options.FieldMap)
	name := p.Name()
	timeKey := in.Options.FieldMap["time"]
	if timeKey == "" {
		timeKey = defaultKeys["time"]
	}
	var (
		s     record.Sighting
		attrs record.Attrs
	)
	return record.EachLine(ctx, in, name, sink, func(lineNo int64, line []byte) {
		pos := record.Position{File: in.Name, Line: lineNo, Format: name}
		reject := func(reason string) {
			sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(line)})
		}
		if !record.ValidUTF8(line, pos, sink) {
			return
		}
		if bytes.IndexByte(line, 0) >= 0 {
			reject(ReasonNUL)
			return
		}
		v, err := jp.ParseBytes(line)
		if err != nil {
			reject(jsonError(line))
			return
		}
		o, err := v.Object()
		if err != nil {
			reject(ReasonNotObject)
			return
		}
		if dup := f.fill(o); dup != "" {
			reject(fmt.Sprintf("%s %q", ReasonDuplicateKey, dup))
			return
		}

		raw, why := record.BearerJWT(f.text(f.token))
		if why != "" {
			reject(why)
			return
		}
		if raw == "" {
			sink.Ignore(pos, record.IgnoreNoToken)
			return
		}
		s = record.Sighting{Kind: record.KindJWT, Raw: raw, Source: record.SourceAuth, Pos: pos}
		if ts := f.text(f.time); ts != "" {
			t, err := record.ParseTime(ts, in.Options.Loc())
			if err != nil {
				reject(fmt.Sprintf("bad %s: %v", timeKey, err))
				return
			}
			s.ObservedAt = t
		}
		if f.clientIP >= 0 {
			s.ClientIP = record.ClientIP(f.text(f.clientIP))
		} else if s.ClientIP = record.ClientIP(f.text(f.xff)); s.ClientIP == "" {
			s.ClientIP = record.ClientIP(f.text(f.downstream))
		}
		switch {
		case in.Options.Observer != "":
			s.Observer = in.Options.Observer
		case f.observer >= 0:
			s.Observer = f.text(f.observer)
		default:
			if s.Observer = hostOnly(f.text(f.authority)); s.Observer == "" {
				s.Observer = f.text(f.cluster)
			}
		}
		s.Principal = f.text(f.principal)
		s.UserAgent = f.text(f.userAgent)
		s.Action = action(f.text(f.method), f.text(f.path))
		status := f.text(f.status)
		s.Outcome = record.OutcomeFromStatus(statusCode(status))
		if details := f.text(f.details); strings.Contains(details, "jwt_authn_access_denied") ||
			strings.Contains(details, "rbac_access_denied") {
			s.Outcome = record.OutcomeRejected
		}
		attrs.Reset()
		for i, k := range attrKeys {
			if i == attrStatusAt {
				attrs.Add("status", status)
			}
			attrs.AddBytes(k, f.raw(f.attrs[i]))
		}
		s.Attrs = attrs.String()
		sink.Sighting(&s)
	})
}

// action is "METHOD /path" with the query string dropped (queries may hold
// credentials); just the method or the path when only one is known.
func action(method, path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	switch {
	case method == "":
		return path
	case path == "":
		return method
	}
	return method + " " + path
}

// statusCode reads an HTTP status written as "200" or 200.0; 0 when it is
// none.
func statusCode(s string) int {
	if code, err := strconv.Atoi(s); err == nil {
		return code
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 1000 && f == float64(int(f)) {
		return int(f)
	}
	return 0
}

// hostOnly strips the port from an authority ("api.example.com:443",
// "[2001:db8::1]:8443").
func hostOnly(authority string) string {
	if host, _, err := net.SplitHostPort(authority); err == nil {
		return host
	}
	return strings.Trim(authority, "[]")
}

// jsonError explains why line is not valid JSON, without quoting the line
// (which may hold a credential): encoding/json's syntax error and its byte
// offset. It is called only for lines fastjson refused, so its cost does not
// matter.
func jsonError(line []byte) string {
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

// LineIndependent reports that lines carry no state from one to the next,
// so a large input may be read in parts in parallel.
func (Parser) LineIndependent() bool { return true }
