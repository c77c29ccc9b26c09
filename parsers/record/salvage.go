package record

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// A record that cannot be parsed as its format is still evidence: an
// attacker who puts a NUL byte in a user agent, or a second Authorization
// key in a JSON line, must not hide the token the line carries. Salvage
// keeps the line in rejects and also hunts every JWT-shaped value in it, as
// a sighting marked salvaged.

// Salvager is implemented by formats that can still locate the fields of a
// line they rejected (a control character in the user agent, invalid UTF-8,
// a duplicated key): the time, the client address, the action, the status.
//
// SalvageFields gets a sanitized copy of the rejected line, in which control
// characters other than tab and invalid UTF-8 bytes are replaced by U+FFFD,
// and fills what it can find of s: ObservedAt, ClientIP, Observer,
// Principal, UserAgent, Action, Outcome (only when the status is readable)
// and Attrs. s.Pos is already set (its File names the input). Fields it
// cannot locate stay as they are; duplicated keys are tolerated (the first
// value is used). It must not set Raw, Kind or Source, must not keep line,
// and must never panic; it is called only for rejected lines, so its cost
// does not matter.
//
// Formats without it get the generic locator (LocateFields).
type Salvager interface {
	SalvageFields(line []byte, o *Options, s *Sighting)
}

// ReasonDuplicateKey starts the reject reason of a line that gives a key a
// format reads twice (two authorization values: which one did the verifier
// see?). Salvage marks the tokens of such a line ambiguous.
const ReasonDuplicateKey = "duplicate key"

// MaxSalvagedPerLine bounds the tokens salvaged from one rejected line; an
// attacker can fill a line with token-shaped values.
const MaxSalvagedPerLine = 16

// maxSalvageToken bounds one salvaged token (the analyzer refuses larger
// ones anyway).
const maxSalvageToken = 64 << 10

// SalvageSink returns a sink that passes every call on to sink and, for
// each Reject, also salvages the JWT-shaped values of the rejected text (the
// Excerpt, which formats set to the whole line; EachLine keeps only the
// first 256 bytes of an over-long line, so no more is scanned there): one
// Sighting per distinct token, with Salvaged set to the reject's reason,
// Ambiguous set when the line carries several distinct tokens or a
// duplicated key, the reject's position, and the fields f can still locate
// (f's Salvager, else LocateFields). Outcome is unknown unless a status was
// readable.
//
// Salvaged sightings are not records of their own: the rejected line is
// accounted for by its Reject, and sinks count salvaged sightings apart
// (see Sighting.Salvaged). The returned sink is used by one goroutine.
func SalvageSink(sink Sink, f Format, o Options) Sink {
	ss := &salvageSink{Sink: sink, opts: o}
	ss.locator, _ = f.(Salvager)
	return ss
}

type salvageSink struct {
	Sink
	opts    Options
	locator Salvager
	tokens  []string
	s       Sighting
}

// Link forwards a link to the wrapped sink, which may keep links.
func (ss *salvageSink) Link(l *Link) { EmitLink(ss.Sink, l) }

func (ss *salvageSink) Reject(r *Reject) {
	ss.Sink.Reject(r)
	ss.tokens = FindJWTs(ss.tokens[:0], r.Excerpt, MaxSalvagedPerLine)
	if len(ss.tokens) == 0 {
		return
	}
	ss.s = Sighting{Pos: r.Pos}
	ss.locate([]byte(r.Excerpt))
	ss.s.Kind, ss.s.Source, ss.s.Salvaged = KindJWT, SourceAuth, r.Reason
	if ss.s.Salvaged == "" {
		ss.s.Salvaged = "rejected"
	}
	ss.s.Ambiguous = len(ss.tokens) > 1 || strings.HasPrefix(r.Reason, ReasonDuplicateKey)
	if ss.s.Outcome == "" {
		ss.s.Outcome = OutcomeUnknown
	}
	for _, tok := range ss.tokens {
		ss.s.Raw = tok
		ss.Sink.Sighting(&ss.s)
	}
}

// locate fills the salvaged sighting's fields, never letting a locator's
// panic on hostile bytes cost more than the fields.
func (ss *salvageSink) locate(line []byte) {
	defer func() {
		if recover() != nil {
			ss.s = Sighting{Pos: ss.s.Pos}
		}
	}()
	clean := SanitizeLine(line)
	if ss.locator != nil {
		ss.locator.SalvageFields(clean, &ss.opts, &ss.s)
	} else {
		LocateFields(clean, &ss.opts, &ss.s)
	}
	ss.s.Raw, ss.s.Kind, ss.s.Source = "", "", ""
}

// SanitizeLine returns a copy of line in which control characters other
// than tab, and bytes that are not valid UTF-8, are replaced by U+FFFD, so
// that a format's own reader can still find the line's structure.
func SanitizeLine(line []byte) []byte {
	out := make([]byte, 0, len(line)+16)
	for i := 0; i < len(line); {
		c := line[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' || c == 0x7f {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(line[i:])
		if r == utf8.RuneError && size <= 1 || r >= 0x80 && r < 0xa0 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, line[i:i+size]...)
		}
		i += size
	}
	return out
}

// FindJWTs appends to dst up to max distinct JWT-shaped values found in s,
// in order: compact serializations of three segments (a JWS; the signature
// may be empty) or five (a JWE) of base64url, each segment optionally
// padded with "=" (some verifiers accept padding, AWS ALB's
// x-amzn-oidc-data header uses it), whose first segment decodes to
// something that starts like a JSON object. Host names, file names and
// version numbers with two dots are not JSON headers, so they are not
// taken. Nothing else is decoded or judged: the analyzer verifies.
func FindJWTs(dst []string, s string, max int) []string {
	found := 0
	for i := 0; i < len(s) && found < max; {
		if !isB64URL(s[i]) || i > 0 && (isB64URL(s[i-1]) || s[i-1] == '.') {
			i++
			continue
		}
		end, ok := jwtAt(s, i)
		if !ok {
			i++
			continue
		}
		tok := s[i:end]
		i = end
		if len(tok) > maxSalvageToken || !jsonHeader(tok) {
			continue
		}
		dup := false
		for _, t := range dst[len(dst)-found:] {
			if t == tok {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, tok)
			found++
		}
	}
	return dst
}

// jwtAt reports whether a compact JWS or JWE starts at s[i] and where it
// ends: segments of base64url with up to two "=" of padding, separated by
// dots; three segments with non-empty header and payload, or five with
// non-empty header and ciphertext.
func jwtAt(s string, i int) (end int, ok bool) {
	var lens [5]int
	seg := 0
	j := i
	for {
		n := 0
		for j < len(s) && isB64URL(s[j]) {
			j++
			n++
		}
		for pad := 0; pad < 2 && j < len(s) && s[j] == '=' && n > 0; pad++ {
			j++
		}
		lens[seg] = n
		if j < len(s) && s[j] == '.' && seg < 4 {
			j++
			seg++
			continue
		}
		break
	}
	if j < len(s) && (isB64URL(s[j]) || s[j] == '=') {
		return 0, false // "=" in the middle of a run: a key=value pair, not a token
	}
	switch seg {
	case 2:
		return j, lens[0] > 0 && lens[1] > 0
	case 4:
		return j, lens[0] > 0 && lens[3] > 0
	}
	return 0, false
}

// jsonHeader reports whether the first segment of tok decodes (leniently)
// to text that starts with "{" after white space.
func jsonHeader(tok string) bool {
	h, _, _ := strings.Cut(tok, ".")
	h = strings.TrimRight(h, "=")
	// 8 characters (6 bytes) are enough to see the brace after white space.
	n := min(len(h), 8)
	if n >= 4 {
		n -= n % 4
	}
	b, _ := base64.RawURLEncoding.DecodeString(h[:n])
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func isB64URL(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// LocateFields is the generic locator of a rejected line's fields, for
// formats that do not implement Salvager: for a JSON object (duplicate keys
// tolerated), the common key spellings of time, client address, method,
// path, status, user agent and host; for text, a leading IP address, a
// bracketed or leading timestamp, a quoted "METHOD /path PROTO" request and
// the status number after it. It never panics.
func LocateFields(line []byte, o *Options, s *Sighting) {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		locateJSON(trimmed, o, s)
		return
	}
	locateText(trimmed, o, s)
}

var (
	jsonTimeKeys   = []string{"start_time", "time", "timestamp", "@timestamp", "ts", "time_iso8601", "time_local"}
	jsonClientKeys = []string{"x_forwarded_for", "x-forwarded-for", "client_ip", "remote_addr", "remote_ip", "src_ip",
		"downstream_remote_address", "ip"}
	jsonMethodKeys = []string{"method", "request_method"}
	jsonPathKeys   = []string{"path", "x-envoy-origin-path", "uri", "request_uri", "url"}
	jsonStatusKeys = []string{"response_code", "status", "status_code"}
	jsonUAKeys     = []string{"user_agent", "user-agent", "http_user_agent", "ua"}
	jsonHostKeys   = []string{"authority", ":authority", "host", "service", "upstream_cluster"}
)

func locateJSON(line []byte, o *Options, s *Sighting) {
	var p fastjson.Parser
	obj, ok := SalvagedObject(&p, line)
	if !ok {
		return
	}
	first := func(keys []string) string {
		for _, k := range keys {
			var found *fastjson.Value
			obj.Visit(func(key []byte, v *fastjson.Value) {
				if found == nil && strings.EqualFold(string(key), k) {
					found = v
				}
			})
			if found == nil {
				continue
			}
			switch found.Type() {
			case fastjson.TypeString:
				if b := found.GetStringBytes(); len(b) > 0 && string(b) != "-" {
					return strings.ToValidUTF8(string(b), "\uFFFD")
				}
			case fastjson.TypeNumber:
				return found.String()
			}
		}
		return ""
	}
	if t := first(jsonTimeKeys); t != "" {
		if ts, err := ParseTime(t, o.Loc()); err == nil {
			s.ObservedAt = ts
		}
	}
	s.ClientIP = ClientIP(first(jsonClientKeys))
	if s.Observer = o.Observer; s.Observer == "" {
		s.Observer = hostPart(first(jsonHostKeys))
	}
	s.UserAgent = first(jsonUAKeys)
	s.Action = Action(first(jsonMethodKeys), first(jsonPathKeys))
	if status := first(jsonStatusKeys); status != "" {
		if code, err := strconv.ParseFloat(status, 64); err == nil && code >= 100 && code < 600 {
			s.Outcome = OutcomeFromStatus(int(code))
			var a Attrs
			a.Add("status", strconv.Itoa(int(code)))
			s.Attrs = a.String()
		}
	}
}

func locateText(line []byte, o *Options, s *Sighting) {
	s.Observer = o.Observer
	rest := line
	if word, after, _ := bytes.Cut(rest, []byte(" ")); len(word) > 0 {
		if addr, err := netip.ParseAddr(strings.TrimSuffix(string(word), ",")); err == nil {
			s.ClientIP = addr.String()
			rest = after
		}
	}
	if i := bytes.IndexByte(rest, '['); i >= 0 {
		if j := bytes.IndexByte(rest[i:], ']'); j > 0 {
			if t, err := ParseTime(string(rest[i+1:i+j]), o.Loc()); err == nil {
				s.ObservedAt = t
			}
		}
	}
	if s.ObservedAt.IsZero() {
		if word, _, _ := bytes.Cut(line, []byte(" ")); len(word) > 0 {
			if t, err := ParseTime(string(word), o.Loc()); err == nil && bytes.ContainsAny(word, "-:") {
				s.ObservedAt = t
			}
		}
	}
	// The first quoted "METHOD /target PROTO", and the status after it.
	for q := rest; ; {
		i := bytes.IndexByte(q, '"')
		if i < 0 {
			break
		}
		j := bytes.IndexByte(q[i+1:], '"')
		if j < 0 {
			break
		}
		req := string(q[i+1 : i+1+j])
		q = q[i+1+j+1:]
		method, target, ok := strings.Cut(req, " ")
		if !ok || method == "" || strings.ToUpper(method) != method || !strings.HasPrefix(target, "/") {
			continue
		}
		target, _, _ = strings.Cut(target, " ")
		s.Action = Action(method, target)
		if status, _, _ := bytes.Cut(bytes.TrimLeft(q, " "), []byte(" ")); len(status) == 3 {
			if code, err := strconv.Atoi(string(status)); err == nil && code >= 100 && code < 600 {
				s.Outcome = OutcomeFromStatus(code)
				var a Attrs
				a.Add("status", string(status))
				s.Attrs = a.String()
			}
		}
		break
	}
}

// hostPart drops a port from a host[:port] authority.
func hostPart(authority string) string {
	if i := strings.LastIndexByte(authority, ':'); i > 0 && !strings.Contains(authority[:i], ":") {
		return authority[:i]
	}
	return strings.Trim(authority, "[]")
}
