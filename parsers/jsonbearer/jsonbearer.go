// Package jsonbearer reads generic JSON-lines logs in which a field holds a
// bearer token ("Bearer eyJ..." or a bare JWT), and emits one JWT sighting per
// token. Some gateways log the decoded token's claims instead of the token: a
// line with no token but a token id (jti, token_id, uti, jwt_id) gives an
// id-only JWT sighting, its ArtifactID the id and its Issuer the line's
// iss or issuer, so the verifier's acceptance is the evidence (the artifact's
// signature cannot be checked). A line with both a token and an id gives the
// token's sighting; every line gives at most one sighting. It is the fallback for application and gateway logs that no specific
// format claims, so it guesses field names from common spellings; the
// record.Options.FieldMap names the fields of a log it guesses wrong.
//
// A field is named by a key or a dotted path into nested objects
// ("request.headers.authorization"); a dotted name is first tried as a literal
// top-level key. A line that gives a top-level key it reads twice is
// rejected (JSON readers disagree on which occurrence counts); inside nested
// objects the last occurrence wins. For each logical field the first name present with a non-empty value
// ("-" and null are empty) is used; the names tried, after the one FieldMap
// gives, are:
//
//	token       authorization, Authorization, bearer_token, token, access_token, jwt,
//	            http_authorization, headers.authorization, request.headers.authorization
//	time        time, timestamp, ts, @timestamp, start_time, observed_at
//	observer    service, observer, app, host, service.name
//	principal   user, principal, username, sub, user.name
//	client_ip   client_ip, src_ip, remote_addr, ip, x_forwarded_for, client.ip, source.ip
//	user_agent  user_agent, ua, http_user_agent, user_agent.original
//	status      status, status_code, response_code, http.response.status_code
//	method      method, http.request.method
//	path        path, uri, url, url.path
//	outcome     outcome, decision (allow / deny and their synonyms)
//	request_id  request_id, requestId, req_id
//	trace_id    trace_id, traceId
//	token_id    jti, token_id, uti, jwt_id (read only when the line has no token)
//	issuer      iss, issuer (read only with token_id)
//
// The token's value may be "Bearer <jwt>" or a bare JWT; other schemes and
// opaque values are ignored. Times may be strings in any record.ParseTime
// form or epoch numbers.
package jsonbearer

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format is the json-bearer format.
var Format = Parser{}

// Parser reads JSON lines with a bearer-token field. The zero value is ready
// to use and safe for concurrent Parse calls.
type Parser struct{}

// Name returns "json-bearer".
func (Parser) Name() string { return "json-bearer" }

// Description says what the format reads.
func (Parser) Description() string {
	return "generic JSON lines with an authorization / token field (bearer JWTs); names set with a field map"
}

// Reject reasons that tests and users may match on.
const (
	ReasonNotObject = record.ReasonNotObject
	ReasonNUL       = record.ReasonNUL
	// ReasonDuplicateKey starts the reason of a line that gives a key it
	// reads twice (two token values: which one did the verifier see?).
	ReasonDuplicateKey = record.ReasonDuplicateKey
)

// Logical fields, in the order of defaultNames.
const (
	fToken = iota
	fTime
	fObserver
	fPrincipal
	fClientIP
	fUserAgent
	fStatus
	fMethod
	fPath
	fOutcome
	fRequestID
	fTraceID
	fTokenID
	fIssuer
	nFields
)

// logicalNames are the record.Options.FieldMap keys of the logical fields.
var logicalNames = [nFields]string{
	"token", "time", "observer", "principal", "client_ip", "user_agent", "status",
	"method", "path", "outcome", "request_id", "trace_id", "token_id", "issuer",
}

// defaultNames are the names tried for each logical field, in order, after the
// one record.Options.FieldMap gives (listed in the package documentation).
var defaultNames = map[string][]string{
	"token": {"authorization", "Authorization", "bearer_token", "token", "access_token", "jwt",
		"http_authorization", "headers.authorization", "headers.Authorization",
		"request.headers.authorization", "request.headers.Authorization"},
	"time":      {"time", "timestamp", "ts", "@timestamp", "start_time", "observed_at", "time_iso8601", "time_local", "msec"},
	"observer":  {"service", "observer", "app", "host", "service.name"},
	"principal": {"user", "principal", "username", "sub", "user.name"},
	"client_ip": {"client_ip", "src_ip", "remote_addr", "remote_ip", "ip", "x_forwarded_for", "client.ip", "source.ip",
		"request.remote_ip", "request.client_ip", "request.remote_addr", "http_x_forwarded_for"},
	"user_agent": {"user_agent", "ua", "http_user_agent", "user_agent.original",
		"request.headers.user-agent", "request.headers.User-Agent", "request.user_agent"},
	"status":     {"status", "status_code", "response_code", "http.response.status_code", "response.status", "response.status_code"},
	"method":     {"method", "http.request.method", "request.method", "request_method"},
	"path":       {"path", "uri", "url", "url.path", "request.path", "request.uri", "request.url", "request_uri"},
	"outcome":    {"outcome", "decision"},
	"request_id": {"request_id", "requestId", "req_id"},
	"trace_id":   {"trace_id", "traceId"},
	"token_id":   {"jti", "token_id", "uti", "jwt_id"},
	"issuer":     {"iss", "issuer"},
}

// fieldPath is one name of a field: its top-level slot, and the keys below it.
type fieldPath struct {
	name string
	slot int
	rest []string
}

// table resolves names against one line: a pass over the top-level object
// fills one slot per top-level key of interest (so the last duplicate wins);
// nested keys are looked up below the slot's value.
type table struct {
	slot   map[string]int
	vals   []*fastjson.Value
	fields [nFields][]fieldPath
	num    []byte
}

func newTable(fieldMap map[string]string) *table {
	t := &table{slot: map[string]int{}}
	add := func(key string) int {
		if i, ok := t.slot[key]; ok {
			return i
		}
		t.slot[key] = len(t.slot)
		return len(t.slot) - 1
	}
	for f, logical := range logicalNames {
		names := defaultNames[logical]
		if m := fieldMap[logical]; m != "" {
			names = append([]string{m}, names...)
		}
		for _, name := range names {
			t.fields[f] = append(t.fields[f], fieldPath{name: name, slot: add(name)})
			if parts := strings.Split(name, "."); len(parts) > 1 && parts[0] != "" {
				t.fields[f] = append(t.fields[f], fieldPath{name: name, slot: add(parts[0]), rest: parts[1:]})
			}
		}
	}
	t.vals = make([]*fastjson.Value, len(t.slot))
	return t
}

// fill records the values of o's keys. It returns the first key it reads
// that o holds twice, or "": JSON readers disagree on which duplicate counts.
func (t *table) fill(o *fastjson.Object) (dup string) {
	clear(t.vals)
	o.Visit(func(key []byte, v *fastjson.Value) {
		if i, ok := t.slot[string(key)]; ok {
			if t.vals[i] != nil && dup == "" {
				dup = string(key)
			}
			t.vals[i] = v
		}
	})
	return dup
}

// value returns the first non-empty scalar of field f and the name it was
// found under.
func (t *table) value(f int) (*fastjson.Value, string) {
	for _, p := range t.fields[f] {
		v := t.vals[p.slot]
		for _, k := range p.rest {
			v = child(v, k)
		}
		if v != nil && !empty(v) {
			return v, p.name
		}
	}
	return nil, ""
}

// child returns the last member key of object v, or nil.
func child(v *fastjson.Value, key string) *fastjson.Value {
	if v == nil || v.Type() != fastjson.TypeObject {
		return nil
	}
	var found *fastjson.Value
	o, _ := v.Object()
	o.Visit(func(k []byte, cv *fastjson.Value) {
		if string(k) == key {
			found = cv
		}
	})
	return found
}

func empty(v *fastjson.Value) bool {
	switch v.Type() {
	case fastjson.TypeString:
		b := v.GetStringBytes()
		return len(b) == 0 || len(b) == 1 && b[0] == '-'
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		return false
	}
	return true // null, object, array
}

// raw is v's bytes: strings unescaped, other scalars as written. They alias
// the parser's buffer.
func (t *table) raw(v *fastjson.Value) []byte {
	if v == nil {
		return nil
	}
	switch v.Type() {
	case fastjson.TypeString:
		return v.GetStringBytes()
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		t.num = v.MarshalTo(t.num[:0])
		return t.num
	}
	return nil
}

// text returns field f as a string of its own, valid UTF-8, "" when absent.
func (t *table) text(f int) string {
	v, _ := t.value(f)
	b := t.raw(v)
	if !utf8.Valid(b) { // a \u escape of a lone surrogate
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

// Sniff reports whether most sample lines are JSON objects and at least one
// has a token field (default names) with a Bearer or JWT-shaped value, or is
// an id-only line (see idOnlyLine).
func (Parser) Sniff(sample [][]byte) bool {
	var p fastjson.Parser
	t := newTable(nil)
	objects, tokens, lines := 0, 0, 0
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
		o, err := v.Object()
		if err != nil {
			continue
		}
		objects++
		t.fill(o)
		if tv, _ := t.value(fToken); tv != nil && tv.Type() == fastjson.TypeString {
			s := string(tv.GetStringBytes())
			if _, ok := record.BearerToken(s); ok || record.JWTShaped(strings.TrimSpace(s)) {
				tokens++
				continue
			}
		}
		if idOnlyLine(t, o) {
			tokens++
		}
	}
	return tokens > 0 && 2*objects >= lines
}

// idOnlyLine reports whether a filled line looks like an access log of
// decoded claims: a token id, a time, and an outcome or HTTP status, but none
// of the ledger's canonical names (issued_at, artifact_id, raw_sha256, in any
// case), so that an issuer's ledger is never taken for sightings.
func idOnlyLine(t *table, o *fastjson.Object) bool {
	if t.id() == "" {
		return false
	}
	if tv, _ := t.value(fTime); tv == nil {
		return false
	}
	if outcome(t.text(fOutcome)) == record.OutcomeUnknown {
		if code := statusCode(t.text(fStatus)); code < 100 || code > 599 {
			return false
		}
	}
	ledger := false
	o.Visit(func(key []byte, _ *fastjson.Value) {
		for _, name := range []string{"issued_at", "artifact_id", "raw_sha256"} {
			if len(key) == len(name) && strings.EqualFold(string(key), name) {
				ledger = true
			}
		}
	})
	return !ledger
}

// id is the line's token id, space trimmed; "" when it has none.
func (t *table) id() string { return strings.TrimSpace(t.text(fTokenID)) }

// Parse streams one sighting per line whose token field holds a JWT (see
// record.BearerJWT). Lines without one are valid and ignored ("no bearer
// token"; they are only checked for JSON syntax). Bad JSON, a NUL byte,
// invalid UTF-8, a top-level key that is read and given twice (JSON readers
// disagree on which one counts), a bearer value that is not JWT-shaped and an
// unreadable time are rejected. A line without a time gives a sighting with a
// zero ObservedAt. A line without a token but with a token id gives an
// id-only sighting (Raw empty, ArtifactID and Issuer set). Each line ends in
// exactly one sighting, reject or ignore.
//
// Options: FieldMap puts a name (key or dotted path) before the defaults of
// token, time, client_ip, user_agent, observer, principal, status, method,
// path, outcome, request_id, trace_id, token_id and issuer; Observer
// overrides the observer.
func (p Parser) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	var jp fastjson.Parser
	t := newTable(in.Options.FieldMap)
	name := p.Name()
	var (
		s     record.Sighting
		attrs record.Attrs
	)
	bearers := in.BearerCache()
	return record.EachLine(ctx, in, name, sink, func(lineNo int64, line []byte) {
		pos := record.Position{File: in.Name, Line: lineNo, Format: name}
		reject := func(reason string) {
			sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(line)})
		}
		o, ok := record.JSONObject(&jp, line, pos, sink)
		if !ok {
			return
		}
		if dup := t.fill(o); dup != "" {
			reject(fmt.Sprintf("%s %q", ReasonDuplicateKey, dup))
			return
		}

		var raw, rawKey string
		var seen *atomic.Bool
		tv, tokenField := t.value(fToken)
		if tv != nil && tv.Type() == fastjson.TypeString {
			var why string
			if raw, rawKey, why, seen = bearers.Lookup(tv.GetStringBytes()); why != "" {
				reject(why)
				return
			}
		}
		s = record.Sighting{Kind: record.KindJWT, Raw: raw, RawKey: rawKey, RawKeySeen: seen, Source: record.SourceAuth, Pos: pos}
		idField := ""
		if raw == "" {
			if s.ArtifactID = t.id(); s.ArtifactID == "" {
				sink.Ignore(pos, record.IgnoreNoToken)
				return
			}
			_, idField = t.value(fTokenID)
			tokenField = ""
			s.Issuer = strings.TrimSpace(t.text(fIssuer))
		}
		if why := t.sighting(&s, &in.Options); why != "" {
			reject(why)
			return
		}
		attrs.Reset()
		attrs.Add("id_field", idField)
		attrs.Add("request_id", t.text(fRequestID))
		attrs.Add("status", t.text(fStatus))
		attrs.Add("token_field", tokenField)
		attrs.Add("trace_id", t.text(fTraceID))
		s.Attrs = attrs.String()
		sink.Sighting(&s)
	})
}

// SalvageFields implements record.Salvager: the fields of a line Parse
// rejected (a NUL byte, invalid UTF-8, a duplicated key), read from its
// sanitized copy as Parse reads them, duplicates tolerated.
func (Parser) SalvageFields(line []byte, o *record.Options, s *record.Sighting) {
	var jp fastjson.Parser
	obj, ok := record.SalvagedObject(&jp, line)
	if !ok {
		return
	}
	t := newTable(o.FieldMap)
	t.fill(obj)
	t.sighting(s, o) // an unreadable time leaves ObservedAt zero
	var attrs record.Attrs
	attrs.Add("request_id", t.text(fRequestID))
	attrs.Add("status", t.text(fStatus))
	attrs.Add("trace_id", t.text(fTraceID))
	s.Attrs = attrs.String()
}

// sighting fills s from a filled line, all but the token and attrs: time,
// observer, principal, client, user agent, action and outcome. It returns
// the reject reason of an unreadable time.
func (t *table) sighting(s *record.Sighting, o *record.Options) (reason string) {
	if tv, key := t.value(fTime); tv != nil {
		var err error
		if tv.Type() == fastjson.TypeNumber {
			s.ObservedAt, err = record.EpochTime(tv.GetFloat64())
		} else {
			s.ObservedAt, err = record.ParseTime(string(t.raw(tv)), o.Loc())
		}
		if err != nil {
			s.ObservedAt, reason = time.Time{}, fmt.Sprintf("bad %s: %v", key, err)
		}
	}
	if s.Observer = o.Observer; s.Observer == "" {
		s.Observer = t.text(fObserver)
	}
	s.Principal = t.text(fPrincipal)
	s.ClientIP = record.ClientIP(t.text(fClientIP))
	s.UserAgent = t.text(fUserAgent)
	s.Action = record.Action(t.text(fMethod), t.text(fPath))
	if s.Outcome = outcome(t.text(fOutcome)); s.Outcome == record.OutcomeUnknown {
		s.Outcome = record.OutcomeFromStatus(statusCode(t.text(fStatus)))
	}
	return reason
}

// outcome maps an explicit decision ("allow", "deny", ...) to a verifier
// outcome; anything else is unknown.
func outcome(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "allow", "allowed", "accept", "accepted", "permit", "permitted", "grant", "granted", "success", "succeeded", "ok", "pass":
		return record.OutcomeAccepted
	case "deny", "denied", "reject", "rejected", "forbid", "forbidden", "unauthorized", "unauthorised", "fail", "failed", "failure", "block", "blocked":
		return record.OutcomeRejected
	}
	return record.OutcomeUnknown
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

// LineIndependent reports that lines carry no state from one to the next,
// so a large input may be read in parts in parallel.
func (Parser) LineIndependent() bool { return true }
