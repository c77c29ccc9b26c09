// Package envoy reads Envoy, Istio and Envoy Gateway access logs written as
// JSON lines (Istio's meshConfig accessLogEncoding: JSON, Envoy Gateway's
// default JSON access log) that carry the request's Authorization header, and
// emits one JWT sighting per bearer token.
//
// The default keys are Istio's JSON access-log keys (start_time, method, path,
// response_code, response_code_details, x_forwarded_for, user_agent,
// request_id, authority, upstream_cluster, downstream_remote_address, ...) and
// Envoy Gateway's spellings of some of them (x-envoy-origin-path,
// x-forwarded-for, user-agent, x-request-id, :authority), Istio's first when a
// line has both; the token is read from an "authorization" key in any case
// ("authorization", "Authorization"). Keys may come in any order; numbers may
// be JSON numbers or strings; a missing value may be null or "-". A line that
// gives a key it reads twice (the authorization key in two cases counts) is
// rejected. Envoy's plain-text default format is not read here.
package envoy

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
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
	ReasonNotObject = record.ReasonNotObject
	ReasonNUL       = record.ReasonNUL
	// ReasonDuplicateKey starts the reason of a line that gives a key it
	// reads twice (two authorization values: which one did the verifier
	// see?); both are salvaged, marked ambiguous.
	ReasonDuplicateKey = record.ReasonDuplicateKey
)

// defaultKeys are the JSON keys of the logical fields that
// record.Options.FieldMap may override, tried in order: Istio's spelling,
// then Envoy Gateway's. A key FieldMap gives replaces the list.
var defaultKeys = map[string][]string{
	"token":      {tokenKey}, // in any case, see fields.fill
	"time":       {"start_time"},
	"user_agent": {"user_agent", "user-agent"},
	"status":     {"response_code"},
	"method":     {"method"},
	"path":       {"path", "x-envoy-origin-path"},
	// The client is the first forwarded-for entry, else the downstream peer;
	// the observer is the authority's host, else the upstream cluster.
	"client_ip": {"x_forwarded_for", "x-forwarded-for", "downstream_remote_address"},
	"observer":  {"authority", ":authority", "upstream_cluster"},
	"principal": nil, // Istio logs no principal
}

// tokenKey is the default token key, matched in any case.
const tokenKey = "authorization"

// attrKeys are the keys copied into a sighting's attrs, sorted by attrs name
// (the Istio spelling): each attr takes the first of its keys with a value.
// The status (response_code or its mapped key) is added as "status".
var attrKeys = []struct {
	name string
	keys []string
}{
	{"authority", []string{"authority", ":authority"}},
	{"downstream_remote_address", []string{"downstream_remote_address"}},
	{"protocol", []string{"protocol"}},
	{"request_id", []string{"request_id", "x-request-id"}},
	{"requested_server_name", []string{"requested_server_name"}},
	{"response_code_details", []string{"response_code_details"}},
	{"response_flags", []string{"response_flags"}},
	{"route_name", []string{"route_name"}},
	{"status", nil},
	{"upstream_cluster", []string{"upstream_cluster"}},
	{"upstream_host", []string{"upstream_host"}},
	{"x_forwarded_for", []string{"x_forwarded_for", "x-forwarded-for"}},
}

// Sniff reports whether most sample lines are JSON objects with start_time,
// response_code and at least one of authority, :authority, upstream_cluster
// or downstream_remote_address. Sniff sees no options, so it uses the default
// keys.
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
			(v.Exists("authority") || v.Exists(":authority") ||
				v.Exists("upstream_cluster") || v.Exists("downstream_remote_address")) {
			hits++
		}
	}
	return hits > 0 && 2*hits >= lines
}

// fields is the per-Parse key table: every JSON key read is given a slot, and
// one pass over a line's object fills the slots.
type fields struct {
	slot  map[string]int
	index slotIndex // slot, for the per-key lookups of the hot path
	vals  []jval
	// dup is the first key read twice in the line being filled.
	dup string
	// slow holds the numbers of a line read with fastjson.
	slow []byte

	token, time, userAgent, status, method, path []int // slots, first with a value wins
	clientIP, observer, principal                []int
	authority, details                           []int
	attrs                                        [][]int // parallel to attrKeys

	// anyCaseToken: the token key is the default, read in any case.
	anyCaseToken bool
	num          []byte // scratch for numbers

	// strs interns the values that repeat on most lines of a log (hosts,
	// user agents, actions): one string each instead of one per line.
	strs    map[string]string
	scratch []byte
}

// maxInterned bounds strs, and maxInternLen the values it takes.
const (
	maxInterned  = 4096
	maxInternLen = 256
)

// interned is text(i) from the intern table.
func (f *fields) interned(i int) string {
	b := f.raw(i)
	if len(b) == 0 || len(b) > maxInternLen {
		return f.text(i)
	}
	return f.intern(b)
}

// intern returns b as a string made valid UTF-8 (see text), the same
// string each time while the table holds it.
func (f *fields) intern(b []byte) string {
	if s, ok := f.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if f.strs == nil {
		f.strs = make(map[string]string, 64)
	}
	if len(f.strs) < maxInterned {
		f.strs[string(b)] = s
	}
	return s
}

func newFields(fieldMap map[string]string) *fields {
	f := &fields{slot: map[string]int{}}
	key := func(logical string) []int {
		if k := fieldMap[logical]; k != "" {
			return f.add(k)
		}
		return f.add(defaultKeys[logical]...)
	}
	f.token, f.time, f.userAgent = key("token"), key("time"), key("user_agent")
	f.status, f.method, f.path = key("status"), key("method"), key("path")
	f.clientIP, f.observer, f.principal = key("client_ip"), key("observer"), key("principal")
	f.anyCaseToken = fieldMap["token"] == ""
	f.authority = f.add("authority", ":authority")
	f.details = f.add("response_code_details")
	for _, a := range attrKeys {
		f.attrs = append(f.attrs, f.add(a.keys...))
	}
	f.vals = make([]jval, len(f.slot))
	f.index = newSlotIndex(f.slot)
	return f
}

// slotIndex is an open-addressing table of the slot keys, hashed by their
// length and three of their bytes: a line's ~30 keys are looked up without
// hashing whole keys (a map lookup per key was a tenth of the parse).
type slotIndex struct {
	mask    uint32
	entries []slotEntry
}

type slotEntry struct {
	key  string
	slot int32 // -1: empty
}

func newSlotIndex(slots map[string]int) slotIndex {
	n := uint32(16)
	for n < 4*uint32(len(slots)) {
		n <<= 1
	}
	x := slotIndex{mask: n - 1, entries: make([]slotEntry, n)}
	for i := range x.entries {
		x.entries[i].slot = -1
	}
	for k, i := range slots {
		h := slotHash(k)
		for x.entries[h&x.mask].slot >= 0 {
			h++
		}
		x.entries[h&x.mask] = slotEntry{key: k, slot: int32(i)}
	}
	return x
}

func slotHash[T string | []byte](k T) uint32 {
	n := uint32(len(k))
	if n == 0 {
		return 0
	}
	return n*0x9e3779b1 ^ uint32(k[0])*0x85ebca6b ^ uint32(k[n-1])*0xc2b2ae35 ^ uint32(k[n/2])*0x27d4eb2f
}

// get is the slot of key.
func (x *slotIndex) get(key []byte) (int, bool) {
	h := slotHash(key)
	for {
		e := &x.entries[h&x.mask]
		if e.slot < 0 {
			return 0, false
		}
		if e.key == string(key) {
			return int(e.slot), true
		}
		h++
	}
}

// add returns the slots of keys, giving new keys a slot.
func (f *fields) add(keys ...string) []int {
	var slots []int
	for _, key := range keys {
		i, ok := f.slot[key]
		if !ok {
			i = len(f.slot)
			f.slot[key] = i
		}
		slots = append(slots, i)
	}
	return slots
}

// fill records the values of o's keys (a line the fast path left to
// fastjson). It returns the first key it reads that o holds twice, or "":
// JSON readers disagree on which duplicate counts.
func (f *fields) fill(o *fastjson.Object) (dup string) {
	f.reset()
	f.slow = f.slow[:0]
	o.Visit(func(key []byte, v *fastjson.Value) {
		jv := jval{t: v.Type(), set: true}
		switch jv.t {
		case fastjson.TypeString:
			jv.b = v.GetStringBytes()
		case fastjson.TypeNumber:
			n := len(f.slow)
			f.slow = v.MarshalTo(f.slow)
			jv.b = f.slow[n:len(f.slow):len(f.slow)]
		}
		f.member(key, jv)
	})
	return f.dup
}

// reset empties the slots for a new line.
func (f *fields) reset() {
	clear(f.vals)
	f.dup = ""
}

// member records one top-level member of the line. With the default token
// key, every case of "authorization" fills its slot (HTTP header names have
// no case: two of them are two headers).
func (f *fields) member(key []byte, v jval) {
	i, ok := f.index.get(key)
	if !ok && f.anyCaseToken && len(key) == len(tokenKey) && strings.EqualFold(string(key), tokenKey) {
		i, ok = f.token[0], true
	}
	if !ok && f.anyCaseToken && isAuthorizationAlias(key) {
		// "req_authorization", "http_authorization", "authorization_header":
		// the header under a name of the operator's choosing. An empty
		// alias never overrides, nor is overridden as a duplicate.
		if empty(v) {
			return
		}
		if cur := f.vals[f.token[0]]; cur.set && !empty(cur) && f.dup == "" {
			f.dup = string(key)
		}
		f.vals[f.token[0]] = v
		return
	}
	if ok {
		if f.vals[i].set && f.dup == "" {
			f.dup = string(key)
		}
		f.vals[i] = v
	}
}

// get is the text of the first of slots with a value.
func (f *fields) get(slots []int) string { return f.text(f.first(slots)) }

// first returns the slot of the first of slots with a value (see raw), or -1.
func (f *fields) first(slots []int) int {
	for _, i := range slots {
		if f.raw(i) != nil {
			return i
		}
	}
	return -1
}

// raw returns the bytes of the value in slot i: strings unescaped, numbers
// and booleans as written; nil for a missing slot, null, "-", objects and
// arrays. The bytes alias the parser's buffer: valid until the next line.
func (f *fields) raw(i int) []byte {
	if i < 0 || !f.vals[i].set {
		return nil
	}
	v := f.vals[i]
	switch v.t {
	case fastjson.TypeString:
		if len(v.b) == 1 && v.b[0] == '-' {
			return nil
		}
		return v.b
	case fastjson.TypeNumber:
		return v.b
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
// Options: FieldMap replaces the keys of token, time, client_ip, user_agent,
// observer, principal, status, method and path by one top-level key each (read
// as written, the token's too); Observer overrides the observer of every
// sighting.
func (p Parser) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	var jp fastjson.Parser
	f := newFields(in.Options.FieldMap)
	name := p.Name()
	var (
		s     record.Sighting
		attrs record.Attrs
	)
	bearers := in.BearerCache()
	var scan lineScanner
	member := f.member
	return record.EachLine(ctx, in, name, sink, func(lineNo int64, line []byte) {
		pos := record.Position{File: in.Name, Line: lineNo, Format: name}
		reject := func(reason string) {
			sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(line)})
		}
		var dup string
		f.reset()
		// (a NUL byte fails the scan, inside a string or out: fastjson's
		// path rejects it)
		if utf8.Valid(line) && scan.scan(line, member) {
			dup = f.dup
		} else {
			o, ok := record.JSONObject(&jp, line, pos, sink)
			if !ok {
				return
			}
			dup = f.fill(o)
		}
		if dup != "" {
			reject(fmt.Sprintf("%s %q", ReasonDuplicateKey, dup))
			return
		}

		raw, rawKey, why, seen := bearers.Lookup(f.raw(f.first(f.token)))
		if why != "" {
			reject(why)
			return
		}
		if raw == "" {
			sink.Ignore(pos, record.IgnoreNoToken)
			return
		}
		s = record.Sighting{Kind: record.KindJWT, Raw: raw, RawKey: rawKey, RawKeySeen: seen, Source: record.SourceAuth, Pos: pos}
		if why := f.sighting(&s, &in.Options, &attrs); why != "" {
			reject(why)
			return
		}
		sink.Sighting(&s)
	})
}

// SalvageFields implements record.Salvager: the fields of a line Parse
// rejected (a NUL byte, invalid UTF-8, a duplicated authorization key),
// read from its sanitized copy as Parse reads them; for a duplicated key
// the last value is used, as for the token key (both tokens are salvaged).
func (Parser) SalvageFields(line []byte, o *record.Options, s *record.Sighting) {
	var jp fastjson.Parser
	obj, ok := record.SalvagedObject(&jp, line)
	if !ok {
		return
	}
	f := newFields(o.FieldMap)
	f.fill(obj)
	var attrs record.Attrs
	f.sighting(s, o, &attrs) // an unreadable time leaves ObservedAt zero
}

// sighting fills s from a filled line, all but the token: time, client,
// observer, principal, user agent, action, outcome and attrs. It returns
// the reject reason of an unreadable time.
func (f *fields) sighting(s *record.Sighting, o *record.Options, attrs *record.Attrs) (reason string) {
	if ts := f.get(f.time); ts != "" {
		t, err := record.ParseTime(ts, o.Loc())
		if err != nil {
			timeKey := o.FieldMap["time"]
			if timeKey == "" {
				timeKey = defaultKeys["time"][0]
			}
			reason = fmt.Sprintf("bad %s: %v", timeKey, err)
		}
		s.ObservedAt = t
	}
	for _, i := range f.clientIP {
		if s.ClientIP = record.ClientIP(f.text(i)); s.ClientIP != "" {
			break
		}
	}
	if s.Observer = o.Observer; s.Observer == "" {
		i := f.first(f.observer)
		if s.Observer = f.interned(i); slices.Contains(f.authority, i) && o.FieldMap["observer"] == "" {
			s.Observer = hostOnly(s.Observer)
		}
	}
	s.Principal = f.get(f.principal)
	s.UserAgent = f.interned(f.first(f.userAgent))
	s.Action = f.action(f.raw(f.first(f.method)), f.raw(f.first(f.path)))
	status := f.interned(f.first(f.status))
	s.Outcome = record.OutcomeFromStatus(statusCode(status))
	if details := f.raw(f.first(f.details)); bytes.Contains(details, []byte("jwt_authn_access_denied")) ||
		bytes.Contains(details, []byte("rbac_access_denied")) {
		s.Outcome = record.OutcomeRejected
	}
	attrs.Reset()
	for i, a := range attrKeys {
		if a.keys == nil {
			attrs.Add(a.name, status)
			continue
		}
		attrs.AddBytes(a.name, f.raw(f.first(f.attrs[i])))
	}
	s.Attrs = attrs.String()
	return reason
}

// action is record.Action of method and path, interned.
func (f *fields) action(method, path []byte) string {
	if i := bytes.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	f.scratch = append(f.scratch[:0], method...)
	if len(method) > 0 && len(path) > 0 {
		f.scratch = append(f.scratch, ' ')
	}
	f.scratch = append(f.scratch, path...)
	if len(f.scratch) > maxInternLen {
		return strings.ToValidUTF8(string(f.scratch), "\uFFFD")
	}
	return f.intern(f.scratch)
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
	if !strings.ContainsAny(authority, ":[]") {
		return authority // the usual case, without SplitHostPort's error
	}
	if host, _, err := net.SplitHostPort(authority); err == nil {
		return host
	}
	return strings.Trim(authority, "[]")
}

// LineIndependent reports that lines carry no state from one to the next,
// so a large input may be read in parts in parallel.
func (Parser) LineIndependent() bool { return true }

// isAuthorizationAlias reports whether a JSON key names the Authorization
// header under another spelling than "authorization" itself.
func isAuthorizationAlias(key []byte) bool {
	if len(key) <= len(tokenKey) || len(key) >= 64 {
		return false
	}
	// bytes.Contains(bytes.ToLower(key), tokenKey), without a copy: this
	// runs for every key of every line that is not read
	for i := 0; i+len(tokenKey) <= len(key); i++ {
		if key[i]|0x20 == tokenKey[0] && bytes.EqualFold(key[i:i+len(tokenKey)], []byte(tokenKey)) {
			return true
		}
	}
	return false
}

// empty reports whether v holds no value: null, "" or "-".
func empty(v jval) bool {
	switch v.t {
	case fastjson.TypeNull:
		return true
	case fastjson.TypeString:
		return len(v.b) == 0 || (len(v.b) == 1 && v.b[0] == '-')
	}
	return false
}
