// Package nginx reads nginx access logs in the "combined" format with the
// Authorization header appended, and emits one JWT sighting per bearer token:
//
//	log_format hunt '$remote_addr - $remote_user [$time_local] "$request" '
//	                '$status $body_bytes_sent "$http_referer" "$http_user_agent" '
//	                '"$http_authorization"';
//
// Fields after the user agent may come in any number and order: quoted ones
// ("$http_x_forwarded_for", "$http_authorization") and bare ones
// ($request_time). The first trailing quoted field that holds a bearer token
// (or a bare JWT) is the credential; the first trailing quoted field that is a
// list of IP addresses is X-Forwarded-For, whose first entry is the client.
// Quoted values are decoded from nginx's escaping (\xHH, and \" and \\ of
// escape=json).
package nginx

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format is the nginx format.
var Format = Parser{}

// Parser reads nginx combined access logs with the Authorization header
// appended. The zero value is ready to use and safe for concurrent Parse calls.
type Parser struct{}

// Name returns "nginx".
func (Parser) Name() string { return "nginx" }

// Description says what the format reads.
func (Parser) Description() string {
	return `nginx "combined" access log with "$http_authorization" appended (bearer JWTs)`
}

// Reject reasons that tests and users may match on.
const (
	ReasonControl = "control character in line" // nginx escapes them, so the line was not written by nginx
)

// entry is one scanned line. Quoted fields are kept escaped, without quotes.
type entry struct {
	remoteAddr, remoteUser, timeLocal, request, status, bodyBytes []byte
	fields                                                        []field // after body_bytes_sent
}

type field struct {
	val    []byte
	quoted bool
}

// scan splits a combined line. It returns a reason when the line does not
// have the combined shape; line must have no control characters.
func scan(line []byte, e *entry) string {
	e.fields = e.fields[:0]
	rest := line
	i := bytes.IndexByte(rest, ' ')
	if i <= 0 {
		return "missing remote address"
	}
	e.remoteAddr, rest = rest[:i], rest[i+1:]
	if !bytes.HasPrefix(rest, []byte("- ")) {
		return `missing "-" after remote address`
	}
	rest = rest[2:]
	if i = bytes.Index(rest, []byte(" [")); i <= 0 {
		return "missing remote user or [time]"
	}
	e.remoteUser, rest = rest[:i], rest[i+2:]
	if i = bytes.IndexByte(rest, ']'); i < 0 {
		return "unterminated [time]"
	}
	e.timeLocal, rest = rest[:i], rest[i+1:]
	var ok bool
	if e.request, rest, ok = quoted(rest); !ok {
		return "missing or unterminated quoted request"
	}
	if e.status, rest = word(rest); !digits(e.status) {
		return "status is not a number"
	}
	if e.bodyBytes, rest = word(rest); !digits(e.bodyBytes) {
		return "body_bytes_sent is not a number"
	}
	for len(rest) > 0 {
		if rest[0] != ' ' {
			return "missing space between fields"
		}
		if len(rest) > 1 && rest[1] == '"' {
			v, r, ok := quoted(rest)
			if !ok {
				return "unterminated quoted field"
			}
			e.fields = append(e.fields, field{v, true})
			rest = r
			continue
		}
		var v []byte
		if v, rest = word(rest); len(v) > 0 {
			e.fields = append(e.fields, field{v, false})
		}
	}
	if len(e.fields) < 2 || !e.fields[0].quoted || !e.fields[1].quoted {
		return "missing quoted referer and user agent"
	}
	return ""
}

// quoted reads ` "value"` (one space, then a quoted field in which a backslash
// escapes the next byte) and returns the value without quotes.
func quoted(s []byte) (val, rest []byte, ok bool) {
	if len(s) < 3 || s[0] != ' ' || s[1] != '"' {
		return nil, s, false
	}
	for i := 2; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return s[2:i], s[i+1:], true
		}
	}
	return nil, s, false
}

// word reads ` value` up to the next space or the end.
func word(s []byte) (val, rest []byte) {
	if len(s) == 0 || s[0] != ' ' {
		return nil, s
	}
	s = s[1:]
	if i := bytes.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i:]
	}
	return s, nil
}

func digits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// unescape decodes nginx's escaping of a logged value: \xHH, and \" \\ as
// escape=json writes them. Other backslashes are kept. If the decoded bytes are
// not valid UTF-8 the value is returned as logged (escaped), so that every
// emitted string is valid UTF-8. "-" (nginx's empty value) gives "".
func unescape(b []byte) string {
	if len(b) == 1 && b[0] == '-' {
		return ""
	}
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 == len(b) {
			out = append(out, c)
			continue
		}
		switch n := b[i+1]; {
		case n == '"' || n == '\\':
			out = append(out, n)
			i++
		case n == 'x' && i+3 < len(b) && isHex(b[i+2]) && isHex(b[i+3]):
			out = append(out, unhex(b[i+2])<<4|unhex(b[i+3]))
			i += 3
		default:
			out = append(out, c)
		}
	}
	if !utf8.Valid(out) {
		return string(b)
	}
	return string(out)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// hasControl reports whether line has a C0 control character or DEL.
func hasControl(line []byte) bool {
	for _, c := range line {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// Sniff reports whether most sample lines have the combined shape with a
// readable $time_local. The Authorization field is not required.
func (Parser) Sniff(sample [][]byte) bool {
	var e entry
	hits, lines := 0, 0
	for _, line := range sample {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lines++
		if hasControl(line) || scan(line, &e) != "" {
			continue
		}
		if _, err := record.ParseTime(string(e.timeLocal), nil); err == nil {
			hits++
		}
	}
	return hits > 0 && 2*hits >= lines
}

// Parse streams one sighting per line whose trailing fields carry a bearer
// JWT. Lines without one ("-", another scheme, no trailing field) are valid
// and ignored ("no bearer token"). Lines that do not have the combined shape,
// carry control characters or invalid UTF-8, hold a bearer value that is not
// JWT-shaped, or have an unreadable $time_local are rejected. Each line ends
// in exactly one sighting, reject or ignore: only the first bearer token of a
// line is read.
//
// Options: Observer names the service; without it the observer is derived
// from the file name (see ObserverFromName).
func (p Parser) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	name := p.Name()
	observer := in.Options.Observer
	if observer == "" {
		observer = ObserverFromName(in.Name)
	}
	var (
		e     entry
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
		if hasControl(line) {
			reject(ReasonControl)
			return
		}
		if why := scan(line, &e); why != "" {
			reject("not nginx combined: " + why)
			return
		}
		var raw string
		auth := -1
		// The credential is looked for in every field after the request, the
		// referer and user agent included: formats that put
		// "$http_authorization" before "$http_user_agent" exist.
		for i := 0; i < len(e.fields); i++ {
			value := unescape(e.fields[i].val)
			if !e.fields[i].quoted {
				// $http_authorization logged without quotes: "Bearer" and
				// the credential are two words.
				if !strings.EqualFold(value, "bearer") || i+1 >= len(e.fields) || e.fields[i+1].quoted {
					continue
				}
				value = "Bearer " + unescape(e.fields[i+1].val)
			}
			tok, why := record.BearerJWT(value)
			if why != "" {
				reject(why)
				return
			}
			if tok != "" {
				raw, auth = tok, i
				break
			}
		}
		if raw == "" {
			sink.Ignore(pos, record.IgnoreNoToken)
			return
		}
		t, ok := timeLocal(e.timeLocal)
		if !ok {
			var err error
			if t, err = record.ParseTime(string(e.timeLocal), in.Options.Loc()); err != nil {
				reject(fmt.Sprintf("bad time_local: %v", err))
				return
			}
		}
		s = record.Sighting{
			Kind: record.KindJWT, Raw: raw, Source: record.SourceAuth, ObservedAt: t,
			Observer: observer, Principal: unescape(e.remoteUser), UserAgent: userAgent(&e, auth),
			Pos: pos,
		}
		var xff string
		for i := 2; i < len(e.fields); i++ {
			if i != auth && i != uaField(&e, auth) && e.fields[i].quoted && isIPList(e.fields[i].val) {
				xff = string(e.fields[i].val)
				break
			}
		}
		if s.ClientIP = record.ClientIP(xff); s.ClientIP == "" {
			if addr, err := netip.ParseAddr(string(e.remoteAddr)); err == nil { // not "unix:"
				s.ClientIP = addr.String()
			}
		}
		request := unescape(e.request)
		var proto string
		s.Action, proto = action(request)
		s.Outcome = record.OutcomeFromStatus(atoi(e.status))
		attrs.Reset()
		attrs.AddBytes("body_bytes_sent", e.bodyBytes)
		attrs.Add("protocol", proto)
		attrs.Add("referer", stripQuery(unescape(e.fields[0].val)))
		attrs.AddBytes("remote_addr", e.remoteAddr)
		attrs.AddBytes("status", e.status)
		attrs.Add("x_forwarded_for", xff)
		s.Attrs = attrs.String()
		sink.Sighting(&s)
	})
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// timeLocal reads $time_local ("04/Mar/2026:10:00:00 +0000") without
// time.Parse's cost; ok is false for anything else, which the caller hands to
// record.ParseTime for its reason.
func timeLocal(b []byte) (t time.Time, ok bool) {
	if len(b) != 26 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' ||
		b[20] != ' ' || b[21] != '+' && b[21] != '-' {
		return time.Time{}, false
	}
	num := func(s []byte) int {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	day, year, hour, minute, sec := num(b[0:2]), num(b[7:11]), num(b[12:14]), num(b[15:17]), num(b[18:20])
	zh, zm := num(b[22:24]), num(b[24:26])
	month := 0
	for i, m := range months {
		if string(b[3:6]) == m {
			month = i + 1
		}
	}
	if month == 0 || day < 1 || day > 31 || year < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
		sec < 0 || sec > 59 || zh < 0 || zh > 23 || zm < 0 || zm > 59 {
		return time.Time{}, false
	}
	if day > 28 && time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Day() != day {
		return time.Time{}, false // 31/Apr: let ParseTime say why
	}
	offset := (zh*60 + zm) * 60
	if b[21] == '-' {
		offset = -offset
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC).Add(-time.Duration(offset) * time.Second), true
}

// action turns "GET /path?q HTTP/1.1" into "GET /path" and "HTTP/1.1". A
// request that is not "METHOD TARGET [PROTOCOL]" (a TLS handshake sent to a
// plain port, "-") gives "", "".
func action(request string) (act, proto string) {
	method, rest, ok := strings.Cut(request, " ")
	if !ok || method == "" || rest == "" {
		return "", ""
	}
	target, proto, _ := strings.Cut(rest, " ")
	if target == "" || strings.Contains(proto, " ") {
		return "", ""
	}
	return method + " " + stripQuery(target), proto
}

// stripQuery drops a URL's query and fragment, which may hold credentials.
func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// isIPList reports whether v is a comma-separated list of IP addresses, as in
// X-Forwarded-For.
func isIPList(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for len(v) > 0 {
		item := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
			if len(v) == 0 {
				return false // trailing comma
			}
		} else {
			v = nil
		}
		if _, err := netip.ParseAddr(string(bytes.TrimSpace(item))); err != nil {
			return false
		}
	}
	return true
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		if n > 1e6 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// ObserverFromName derives an observer from a log file's name: its base name
// without, repeatedly, compression extensions (.gz .zst .bz2 .xz .lz4),
// numeric rotation suffixes (.1), logrotate date suffixes (-20260304,
// -2026-03-04, -1772618400) and .log. "payments-access.log.1.gz" gives
// "payments-access", "access.log-20260304.gz" gives "access". A name that
// would become empty is kept whole.
func ObserverFromName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	base := name
	for {
		before := name
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			switch ext := name[i+1:]; {
			case ext == "gz" || ext == "zst" || ext == "bz2" || ext == "xz" || ext == "lz4" || ext == "log" ||
				ext != "" && allDigits(ext):
				name = name[:i]
			}
		}
		if i := strings.LastIndexAny(name, "-_"); i > 0 {
			if suffix := name[i+1:]; len(suffix) == 8 && allDigits(suffix) || len(suffix) == 10 && allDigits(suffix) {
				name = name[:i]
			}
		}
		if n := len(name); n > 11 && name[n-11] == '-' && isDate(name[n-10:]) {
			name = name[:n-11]
		}
		if name == before {
			break
		}
	}
	if name == "" {
		return base
	}
	return name
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDate reports whether s is "YYYY-MM-DD".
func isDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' && allDigits(s[:4]) && allDigits(s[5:7]) && allDigits(s[8:])
}

// LineIndependent reports that lines carry no state from one to the next,
// so a large input may be read in parts in parallel.
func (Parser) LineIndependent() bool { return true }

// uaField is the index of the user agent field: the second quoted field of
// combined, or the first quoted field after the credential when the
// credential took its place.
func uaField(e *entry, auth int) int {
	if auth != 1 {
		return 1
	}
	for i := auth + 1; i < len(e.fields); i++ {
		if e.fields[i].quoted && !isIPList(e.fields[i].val) {
			return i
		}
	}
	return -1
}

func userAgent(e *entry, auth int) string {
	if i := uaField(e, auth); i >= 0 && i < len(e.fields) {
		return unescape(e.fields[i].val)
	}
	return ""
}
