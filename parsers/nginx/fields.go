package nginx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// fields are the parts of one access-log line that a sighting is made of, as
// the built-in scan or a compiled log_format found them. Values point into the
// line and are as logged: escaped, "-" for none; nil when the line (or the
// part of it that was read) has no such field.
type fields struct {
	raw      bool   // escape=none: values are taken as they are
	time     []byte // $time_local, $time_iso8601 or $msec
	timeName string // which of them; "" when the layout has no time
	addr     []byte // $remote_addr or what stands in its place
	xff      []byte // an X-Forwarded-For list, whose first entry is the client
	user     []byte
	request  []byte // "$request"; nil when method and target are logged apart
	method   []byte
	target   []byte // $request_uri or $uri
	protocol []byte // $server_protocol
	status   []byte
	agent    []byte
	observer []byte // the upstream or virtual host the line names
	body     []byte // $request_body; nil when the format does not log it
	token    string // the bearer JWT, "" when none
	tokenWhy string // why the credential is rejected, "" when it is not
	attrs    []attr

	// bearers, if set, remembers the credentials met (kept by reset);
	// tokenKey and tokenSeen are its artifact key and flag for token.
	bearers   *record.BearerCache
	tokenKey  string
	tokenSeen *atomic.Bool
}

// attr is one format-specific field for a sighting's attrs.
type attr struct {
	key  string
	val  []byte // in the line
	str  string // attrString: a value derived from the line
	kind attrKind
}

type attrKind uint8

const (
	attrText   attrKind = iota // unescaped
	attrURL                    // unescaped, query and fragment dropped
	attrString                 // str, as it is
)

// reset empties f, keeping its attrs buffer.
func (f *fields) reset() { *f = fields{attrs: f.attrs[:0], bearers: f.bearers} }

// addAttr adds an attr whose value is in the line.
func (f *fields) addAttr(key string, val []byte, kind attrKind) {
	if val != nil {
		f.attrs = append(f.attrs, attr{key: key, val: val, kind: kind})
	}
}

// text decodes a logged value; "-" (nginx's empty value) gives "".
func (f *fields) text(b []byte) string {
	if f.raw {
		if len(b) == 1 && b[0] == '-' {
			return ""
		}
		return string(b)
	}
	return unescape(b)
}

// credentialText is text(b) for credential: without a copy when b needs
// no unescaping and the bearer cache, which copies what it keeps, reads
// it (the value is used for the lookup only). A line's referer, agent and
// forwarded-for are offered before its Authorization header, and a string
// each was most of the format's allocations.
func (f *fields) credentialText(b []byte) string {
	if f.bearers == nil || len(b) == 0 || bytes.IndexByte(b, '\\') >= 0 {
		return f.text(b)
	}
	if len(b) == 1 && b[0] == '-' {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// credential reads value as a credential: a bearer JWT (or a bare one)
// becomes f.token; a Bearer value that is not a JWT sets f.tokenWhy unless an
// earlier value did. Callers offer values in order and stop at the first
// found.
func (f *fields) credential(value string) (found bool) {
	var tok, key, why string
	var seen *atomic.Bool
	if f.bearers != nil {
		tok, key, why, seen = f.bearers.LookupString(value)
	} else {
		tok, why = record.BearerJWT(value)
	}
	if tok != "" {
		f.token, f.tokenKey, f.tokenSeen, f.tokenWhy = tok, key, seen, ""
		return true
	}
	if why != "" && f.tokenWhy == "" {
		f.tokenWhy = why
	}
	return false
}

// samlFound is what a line says of a SAML message.
type samlFound struct {
	xml       []byte // the message's XML; nil when none
	binding   string
	where     string // "request body" or "query"
	why       string // why a message found does not decode
	request   bool   // a SAMLRequest (no assertion)
	notLogged bool   // a POST whose body the format logs but nginx did not buffer ("-")
}

// saml finds a SAML response in the line: posted in the logged request
// body, or in the request target's query (the HTTP-Redirect binding).
func (f *fields) saml() samlFound {
	try := func(form, where string) (samlFound, bool) {
		name, v, ok := record.SAMLParam(form)
		if !ok {
			return samlFound{}, false
		}
		if name == "SAMLRequest" {
			return samlFound{request: true}, true
		}
		xml, binding, err := record.DecodeSAMLMessage(v)
		if err != nil {
			return samlFound{why: name + " in the " + where + ": " + err.Error()}, true
		}
		return samlFound{xml: xml, binding: binding, where: where}, true
	}
	body := f.text(f.body)
	if body != "" {
		if r, ok := try(body, "request body"); ok {
			return r
		}
	}
	var target string
	if f.request != nil {
		req := f.text(f.request)
		if _, rest, ok := strings.Cut(req, " "); ok {
			target, _, _ = strings.Cut(rest, " ")
		}
	} else {
		target = f.text(f.target)
	}
	if _, q, ok := strings.Cut(target, "?"); ok {
		if r, ok := try(q, "query"); ok {
			return r
		}
	}
	method := f.text(f.method)
	if method == "" && f.request != nil {
		method, _, _ = strings.Cut(f.text(f.request), " ")
	}
	return samlFound{notLogged: f.body != nil && body == "" && method == "POST"}
}

// fill sets on s what f holds: the time, client, observer (defaultObserver
// when o names none and the line names none), principal, user agent, action,
// outcome (when the status is a number) and attrs. What f lacks is left as it
// is in s. An unreadable time is returned as an error, after the rest is set.
func (f *fields) fill(s *record.Sighting, o *record.Options, defaultObserver string, attrs *record.Attrs) error {
	var timeErr error
	if f.timeName != "" && f.time != nil {
		if t, err := f.parseTime(o.Loc()); err != nil {
			timeErr = fmt.Errorf("bad %s: %v", f.timeName, err)
		} else {
			s.ObservedAt = t
		}
	}
	switch observer := f.text(f.observer); {
	case o.Observer != "":
		s.Observer = o.Observer
	case observer != "":
		s.Observer = observer
	case defaultObserver != "":
		s.Observer = defaultObserver
	}
	if user := f.text(f.user); user != "" {
		s.Principal = user
	}
	if ip := f.clientIP(); ip != "" {
		s.ClientIP = ip
	}
	if agent := f.text(f.agent); agent != "" {
		s.UserAgent = agent
	}
	var act, proto string
	if f.request != nil {
		act, proto = action(f.text(f.request))
	} else if method, target := f.text(f.method), f.text(f.target); method != "" && target != "" {
		act, proto = method+" "+stripQuery(target), f.text(f.protocol)
	}
	if act != "" {
		s.Action = act
	}
	if digits(f.status) {
		s.Outcome = record.OutcomeFromStatus(atoi(f.status))
	}

	// Sorted, as AttrsJSON writes them; of two variables with one key the
	// first in the line wins ($host before $http_host).
	byKey := func(a, b attr) int { return strings.Compare(a.key, b.key) }
	if !slices.IsSortedFunc(f.attrs, byKey) {
		slices.SortStableFunc(f.attrs, byKey)
	}
	if proto != "" {
		p := attr{key: "protocol", str: proto, kind: attrString}
		i, _ := slices.BinarySearchFunc(f.attrs, p, byKey)
		f.attrs = slices.Insert(f.attrs, i, p)
	}
	attrs.Reset()
	last := ""
	for _, a := range f.attrs {
		v := a.val
		switch {
		case a.kind == attrString:
			v = []byte(a.str)
		case f.raw || bytes.IndexByte(v, '\\') < 0:
			// as logged: no copy
		default:
			v = []byte(f.text(v))
		}
		if a.kind == attrURL {
			if i := bytes.IndexAny(v, "?#"); i >= 0 {
				v = v[:i] // the query may hold credentials
			}
		}
		if a.key == last || len(v) == 0 || len(v) == 1 && v[0] == '-' {
			continue
		}
		attrs.AddBytes(a.key, v)
		last = a.key
	}
	if a := attrs.String(); a != "" {
		s.Attrs = a
	}
	return timeErr
}

func (f *fields) parseTime(loc *time.Location) (time.Time, error) {
	switch f.timeName {
	case "time_local":
		if t, ok := timeLocal(f.time); ok {
			return t, nil
		}
	case "msec":
		// "1772640600.123", read exactly: as a float the milliseconds drift.
		if sec, ms, ok := bytes.Cut(f.time, []byte(".")); ok && digits(sec) && len(sec) <= 11 && len(ms) == 3 && digits(ms) {
			return time.Unix(atoi64(sec), atoi64(ms)*1e6).UTC(), nil
		}
	}
	return record.ParseTime(f.text(f.time), loc)
}

// clientIP is the first X-Forwarded-For entry when it is an address, else
// the remote address when it is one ("unix:" is not).
func (f *fields) clientIP() string {
	if f.xff != nil {
		if c := record.ClientIP(f.text(f.xff)); c != "" {
			if _, err := netip.ParseAddr(c); err == nil {
				return c
			}
		}
	}
	if a, err := netip.ParseAddr(f.text(f.addr)); err == nil {
		return a.String()
	}
	return ""
}

// hostOnly drops the port of "host:port" or "[v6]:port".
func hostOnly(b []byte) []byte {
	if host, _, err := net.SplitHostPort(string(b)); err == nil {
		return []byte(host)
	}
	return b
}

// namesService reports whether a logged host or upstream name can be an
// observer: not empty, "-", or nginx's catch-all server name "_".
func namesService(b []byte) bool {
	return len(b) > 0 && string(b) != "-" && string(b) != "_"
}

// unescape decodes nginx's escaping of a logged value: \xHH (the default
// escaping), and the \" \\ \n \r \t \b \f \uXXXX of escape=json. Other
// backslashes are kept. If the decoded bytes are not valid UTF-8 the value is
// returned as logged (escaped), so that every emitted string is valid UTF-8.
// "-" (nginx's empty value) gives "".
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
		case n == 'n' || n == 'r' || n == 't' || n == 'b' || n == 'f':
			out = append(out, jsonControl[n])
			i++
		case n == 'x' && i+3 < len(b) && isHex(b[i+2]) && isHex(b[i+3]):
			out = append(out, unhex(b[i+2])<<4|unhex(b[i+3]))
			i += 3
		case n == 'u' && i+5 < len(b) && isHex(b[i+2]) && isHex(b[i+3]) && isHex(b[i+4]) && isHex(b[i+5]):
			r := rune(unhex(b[i+2]))<<12 | rune(unhex(b[i+3]))<<8 | rune(unhex(b[i+4]))<<4 | rune(unhex(b[i+5]))
			if utf16.IsSurrogate(r) {
				out = append(out, c) // a lone half: kept as logged
				continue
			}
			out = utf8.AppendRune(out, r)
			i += 5
		default:
			out = append(out, c)
		}
	}
	if !utf8.Valid(out) {
		return string(b)
	}
	return string(out)
}

var jsonControl = [256]byte{'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f'}

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

// hasControl reports whether line has a C0 control character or DEL other
// than those allowed (a bit per byte below 0x20: a tab in a log_format).
func hasControl(line []byte, allowed uint32) bool {
	// eight bytes at a time while none is below 0x20 or 0x7f
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(line) >= 8 {
		x := binary.LittleEndian.Uint64(line)
		y := x ^ 0x7f*ones
		if (x-0x20*ones)&^x&highs|(y-ones)&^y&highs != 0 {
			break
		}
		line = line[8:]
	}
	for _, c := range line {
		if c < 0x20 || c == 0x7f {
			if c == 0x7f || allowed&(1<<c) == 0 {
				return true
			}
		}
	}
	return false
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

// atoi64 reads up to 18 digits.
func atoi64(b []byte) int64 {
	var n int64
	for _, c := range b {
		n = n*10 + int64(c-'0')
	}
	return n
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
