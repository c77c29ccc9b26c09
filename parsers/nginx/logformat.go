package nginx

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// LogFormat is a compiled nginx log_format string: the literal text, the
// variables between it, and what each variable gives a sighting. It is
// immutable and safe for concurrent use.
type LogFormat struct {
	escape      escaping
	prefix      []byte // literal text before the first variable
	items       []item
	roles       [numRoles]int // the item that plays each role, -1 for none
	observers   []int         // the items that may name the observer, best first
	credentials []int         // the items that may carry the token, $http_authorization first
	attrItems   []int         // the items copied into attrs, in format order
	controls    uint32        // control bytes below 0x20 that the literal text holds
}

// item is one variable and the literal text after it.
type item struct {
	name string // without "$", lower case
	lit  []byte // up to the next variable or the end
	varInfo
}

type escaping uint8

const (
	escapeDefault escaping = iota // \xHH for ", \ and bytes < 0x20 or > 0x7e
	escapeJSON                    // \" \\ \n ... \u00XX
	escapeNone                    // as is
)

type role uint8

const (
	roleNone role = iota
	roleTime
	roleAddr
	roleXFF
	roleUser
	roleRequest
	roleMethod
	roleTarget
	roleProtocol
	roleStatus
	roleAgent
	roleObserver
	roleBody // $request_body: a SAML response posted to an ACS
	numRoles
)

// varInfo is what a variable gives a sighting.
type varInfo struct {
	role  role
	rank  int // of two variables in one role, the lower rank is read
	shape shape
	attr  string // attrs key; "" keeps the value out of attrs
	kind  attrKind
}

// variables are the nginx (and ingress-nginx) variables the format reads.
// Others are matched and dropped; credential variables are found by name
// (see isCredential). Query strings ($args, $request_uri as is) and
// credentials never reach attrs.
var variables = map[string]varInfo{
	"msec":                {role: roleTime, shape: shapeNumber},
	"time_iso8601":        {role: roleTime, rank: 1, shape: shapeWord},
	"time_local":          {role: roleTime, rank: 2},
	"remote_addr":         {role: roleAddr, shape: shapeWord, attr: "remote_addr"},
	"proxy_protocol_addr": {role: roleAddr, rank: 1, shape: shapeWord, attr: "proxy_protocol_addr"},
	"realip_remote_addr":  {role: roleAddr, rank: 2, shape: shapeWord, attr: "realip_remote_addr"},
	// X-Forwarded-For is client-supplied: its shape is not checked.
	"http_x_forwarded_for":      {role: roleXFF, attr: "x_forwarded_for"},
	"proxy_add_x_forwarded_for": {role: roleXFF, rank: 1, attr: "x_forwarded_for"},
	"remote_user":               {role: roleUser},
	"request":                   {role: roleRequest},
	"request_method":            {role: roleMethod, shape: shapeWord},
	"request_uri":               {role: roleTarget, shape: shapeTarget},
	"uri":                       {role: roleTarget, rank: 1, shape: shapeTarget},
	"document_uri":              {role: roleTarget, rank: 2, shape: shapeTarget},
	"server_protocol":           {role: roleProtocol, shape: shapeWord},
	"status":                    {role: roleStatus, shape: shapeDigits, attr: "status"},
	"http_user_agent":           {role: roleAgent},
	// The request body nginx buffered ("-" when it did not): a form posted
	// to a SAML assertion consumer service carries the SAMLResponse.
	"request_body": {role: roleBody},
	// The observer: the ingress-nginx upstream ("namespace-service-port")
	// names the service, else the virtual host.
	"proxy_upstream_name": {role: roleObserver, shape: shapeWord, attr: "upstream"},
	"host":                {role: roleObserver, rank: 1, attr: "host"},
	"server_name":         {role: roleObserver, rank: 2, shape: shapeWord, attr: "server_name"},
	"http_host":           {role: roleObserver, rank: 3, attr: "host"},

	"body_bytes_sent":                 {shape: shapeDigits, attr: "body_bytes_sent"},
	"bytes_sent":                      {shape: shapeDigits, attr: "bytes_sent"},
	"request_length":                  {shape: shapeDigits, attr: "request_length"},
	"request_time":                    {shape: shapeNumber, attr: "request_time"},
	"http_referer":                    {attr: "referer", kind: attrURL},
	"http_x_real_ip":                  {attr: "x_real_ip"},
	"request_id":                      {shape: shapeWord, attr: "request_id"},
	"req_id":                          {shape: shapeWord, attr: "request_id"},
	"http_x_request_id":               {attr: "request_id"},
	"proxy_alternative_upstream_name": {shape: shapeWord, attr: "alternative_upstream"},
	"upstream_addr":                   {shape: shapeList, attr: "upstream_addr"},
	"upstream_status":                 {shape: shapeList, attr: "upstream_status"},
	"upstream_response_time":          {shape: shapeList, attr: "upstream_response_time"},
	"upstream_response_length":        {shape: shapeList, attr: "upstream_response_length"},
	"upstream_connect_time":           {shape: shapeList, attr: "upstream_connect_time"},
	"upstream_header_time":            {shape: shapeList, attr: "upstream_header_time"},
	"upstream_cache_status":           {shape: shapeWord, attr: "upstream_cache_status"},
	"scheme":                          {shape: shapeWord, attr: "scheme"},
	"server_addr":                     {shape: shapeWord, attr: "server_addr"},
	"server_port":                     {shape: shapeDigits, attr: "server_port"},
	"remote_port":                     {shape: shapeDigits, attr: "remote_port"},
	"connection":                      {shape: shapeDigits, attr: "connection"},
	"connection_requests":             {shape: shapeDigits, attr: "connection_requests"},
	"ssl_protocol":                    {shape: shapeWord, attr: "ssl_protocol"},
	"ssl_cipher":                      {shape: shapeWord, attr: "ssl_cipher"},
	"namespace":                       {shape: shapeWord, attr: "namespace"},
	"ingress_name":                    {shape: shapeWord, attr: "ingress_name"},
	"service_name":                    {shape: shapeWord, attr: "service_name"},
	"service_port":                    {shape: shapeWord, attr: "service_port"},
}

// notCredentials are request headers that never carry a bearer token.
var notCredentials = map[string]bool{
	"accept": true, "accept_encoding": true, "accept_language": true, "cache_control": true,
	"connection": true, "content_length": true, "content_type": true, "cookie": true, "dnt": true,
	"forwarded": true, "if_modified_since": true, "if_none_match": true, "origin": true, "pragma": true,
	"range": true, "referrer": true, "te": true, "traceparent": true, "tracestate": true, "upgrade": true,
	"via": true, "x_amzn_trace_id": true, "x_forwarded_host": true, "x_forwarded_port": true,
	"x_forwarded_proto": true, "x_forwarded_scheme": true,
}

// isCredential reports whether a variable may carry the token:
// $http_authorization, and any other request header ($http_x_jwt_assertion,
// $http_x_amzn_oidc_data) or cookie that is not known to hold something else.
func isCredential(name string) bool {
	if _, known := variables[name]; known {
		return false
	}
	if h, ok := strings.CutPrefix(name, "http_"); ok {
		return h != "" && !notCredentials[h]
	}
	c, ok := strings.CutPrefix(name, "cookie_")
	return ok && c != ""
}

// maxVariables bounds a log_format; nginx's own are a few dozen.
const maxVariables = 256

// ErrNoCredential is the compile error of a log_format that logs no
// variable that may carry the token.
var ErrNoCredential = errors.New(`no variable that carries the token: log "$http_authorization" (or the $http_ header that holds the JWT), or "$request_body" for SAML responses, in the log_format`)

// CompileFormat compiles an nginx log_format string: the quoted parts of the
// directive joined, as nginx joins them, optionally after the directive's
// escape=default|json|none parameter (default when absent). Backslash escapes
// of nginx.conf strings (\" \' \\ \t \r \n) are decoded. Variables are $name
// or ${name}. It returns an error for an empty format, the whole directive, a
// "$" without a name, an unterminated "${", a newline in the text, and a
// format without a variable that may carry the token (ErrNoCredential).
func CompileFormat(format string) (*LogFormat, error) {
	lf := &LogFormat{}
	src := strings.TrimLeft(format, " \t\r\n")
	if strings.HasPrefix(src, "log_format ") {
		return nil, errors.New("give the quoted parts of the log_format directive, joined, not the directive")
	}
	if param, ok := strings.CutPrefix(src, "escape="); ok {
		value, rest, _ := strings.Cut(param, " ")
		switch value {
		case "default":
			lf.escape = escapeDefault
		case "json":
			lf.escape = escapeJSON
		case "none":
			lf.escape = escapeNone
		default:
			return nil, fmt.Errorf("unknown escape=%s (want default, json or none)", excerpt(value))
		}
		src = strings.TrimLeft(rest, " \t\r\n")
	}
	src = confUnescape(src)
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty log_format")
	}
	if strings.ContainsAny(src, "\n\r") {
		return nil, errors.New("the log_format writes a line break: forgehunt reads one record per line")
	}
	var lit []byte
	flush := func() {
		if n := len(lf.items); n > 0 {
			lf.items[n-1].lit = lit
		} else {
			lf.prefix = lit
		}
		lit = nil
	}
	for i := 0; i < len(src); {
		if src[i] != '$' {
			if c := src[i]; c < 0x20 {
				lf.controls |= 1 << c
			}
			lit = append(lit, src[i])
			i++
			continue
		}
		start := i
		var name string
		if i+1 < len(src) && src[i+1] == '{' {
			end := strings.IndexByte(src[i+2:], '}')
			if end < 0 {
				return nil, fmt.Errorf(`unterminated "${" at %s`, excerpt(src[start:]))
			}
			name, i = src[i+2:i+2+end], i+3+end
		} else {
			j := i + 1
			for j < len(src) && isNameByte(src[j]) {
				j++
			}
			name, i = src[i+1:j], j
		}
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return r >= 0x80 || !isNameByte(byte(r)) }) >= 0 {
			return nil, fmt.Errorf(`invalid variable name at %s (want $name or ${name})`, excerpt(src[start:]))
		}
		if len(lf.items) == maxVariables {
			return nil, fmt.Errorf("more than %d variables", maxVariables)
		}
		flush()
		name = strings.ToLower(name) // nginx's variable names are case-insensitive
		lf.items = append(lf.items, item{name: name, varInfo: variables[name]})
	}
	flush()

	for r := range lf.roles {
		lf.roles[r] = -1
	}
	var authorization []int
	for i, it := range lf.items {
		if it.role != roleNone && it.role != roleObserver {
			if best := lf.roles[it.role]; best < 0 || it.rank < lf.items[best].rank {
				lf.roles[it.role] = i
			}
		}
		if it.role == roleObserver {
			lf.observers = append(lf.observers, i)
		}
		if it.attr != "" {
			lf.attrItems = append(lf.attrItems, i)
		}
		switch {
		case it.name == "http_authorization":
			authorization = append(authorization, i)
		case isCredential(it.name):
			lf.credentials = append(lf.credentials, i)
		}
	}
	slices.SortStableFunc(lf.observers, func(a, b int) int { return lf.items[a].rank - lf.items[b].rank })
	lf.credentials = append(authorization, lf.credentials...)
	if len(lf.credentials) == 0 && lf.roles[roleBody] < 0 {
		return nil, ErrNoCredential
	}
	return lf, nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// confUnescape decodes the backslash escapes of an nginx.conf string.
func confUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch n := s[i+1]; n {
			case '"', '\'', '\\':
				b.WriteByte(n)
				i++
				continue
			case 't', 'r', 'n':
				b.WriteByte(jsonControl[n])
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// excerpt quotes the start of s for an error message.
func excerpt(s string) string {
	if len(s) > 24 {
		s = s[:24] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// shape is what a variable's value looks like, to find where it ends when
// the literal after it may also occur inside it. Only values nginx makes
// have a shape; those a client sends (headers, the request line) may hold
// anything. Empty and "-" (no value) fit every shape.
type shape uint8

const (
	shapeAny    shape = iota
	shapeWord         // no space
	shapeDigits       // $status, $body_bytes_sent
	shapeNumber       // $request_time, $msec
	shapeList         // words joined by ", " or " : " ($upstream_addr)
	shapeTarget       // a request target: "/path", "*" or an absolute URI
)

var shapeNames = [...]string{
	shapeAny: "a value", shapeWord: "one word", shapeDigits: "a number", shapeNumber: "a number",
	shapeList: "a list", shapeTarget: "a request target",
}

// check reports whether v fits the shape and, when it does not, whether a
// longer value with the same start still can.
func (sh shape) check(v []byte) (ok, longer bool) {
	if len(v) == 0 || len(v) == 1 && v[0] == '-' || sh == shapeAny {
		return true, true
	}
	switch sh {
	case shapeWord:
		return bytes.IndexByte(v, ' ') < 0, false
	case shapeDigits:
		return digits(v), false
	case shapeNumber:
		return isNumber(v), false
	case shapeList:
		if v[0] == ',' || v[0] == ':' && (len(v) == 1 || v[1] == ' ') {
			return false, false // a separator, not an entry
		}
		return isList(v), true
	case shapeTarget:
		if v[0] == '/' || v[0] == '*' || bytes.HasPrefix(v, []byte("http://")) || bytes.HasPrefix(v, []byte("https://")) {
			return true, true
		}
		return false, bytes.HasPrefix([]byte("https://"), v) || bytes.HasPrefix([]byte("http://"), v)
	}
	return true, true
}

// isList reports whether v is words joined by ", " or " : ", as nginx writes
// the upstream variables of a request tried on several servers.
func isList(v []byte) bool {
	if v[0] == ' ' || v[len(v)-1] == ' ' || v[len(v)-1] == ',' {
		return false
	}
	for i := 1; i < len(v)-1; i++ {
		if v[i] != ' ' {
			continue
		}
		if v[i-1] != ',' && !(v[i+1] == ':' && i+2 < len(v) && v[i+2] == ' ') && !(v[i-1] == ':' && i >= 2 && v[i-2] == ' ') {
			return false
		}
	}
	return !bytes.HasSuffix(v, []byte(" :"))
}

// matchBudget bounds the backtracking on one line: how many ends of a value
// the matcher tries in all. A line of an nginx-written log needs one per
// variable, a few more for lists and unquoted values with spaces.
const matchBudget = 1024

// matcher matches lines against a LogFormat; it keeps its buffers from one
// line to the next. The zero value is ready.
type matcher struct {
	lf     *LogFormat
	line   []byte
	caps   [][]byte // each item's value, nil when not reached
	budget int

	// The deepest failure, for the reject reason and for salvage.
	failAt   int
	failKind failKind
	keepBest bool
	best     [][]byte // caps when the deepest failure happened
}

type failKind uint8

const (
	failNone failKind = iota
	failMissing
	failShape
	failBudget
)

// match matches line against lf. It returns "" and the values in m.caps, or
// why the line does not match; then m.best holds the values read before the
// deepest failure when m.keepBest is set.
func (m *matcher) match(lf *LogFormat, line []byte) string {
	m.lf, m.line, m.budget, m.failAt, m.failKind = lf, line, matchBudget, -1, failNone
	m.caps = resize(m.caps, len(lf.items))
	m.best = resize(m.best, len(lf.items))
	if !bytes.HasPrefix(line, lf.prefix) {
		return fmt.Sprintf("missing %q at the start of the line", lf.prefix)
	}
	if m.at(0, len(lf.prefix)) {
		return ""
	}
	it := &lf.items[max(m.failAt, 0)]
	switch m.failKind {
	case failBudget:
		return "too many ways to split the line; give the variables separators"
	case failShape:
		return fmt.Sprintf("$%s is not %s", it.name, shapeNames[it.shape])
	}
	if len(it.lit) == 0 {
		return fmt.Sprintf("no end found for $%s", it.name)
	}
	return fmt.Sprintf("missing %q after $%s", it.lit, it.name)
}

func resize(s [][]byte, n int) [][]byte {
	s = slices.Grow(s[:0], n)[:n]
	clear(s)
	return s
}

// at matches items[i:] against line[pos:]: the value of item i ends at an
// occurrence of its literal (the first that lets the rest match, shortest
// first), and the last value runs to the end of the line less its literal.
func (m *matcher) at(i, pos int) bool {
	it := &m.lf.items[i]
	rest := m.line[pos:]
	if i == len(m.lf.items)-1 {
		if !bytes.HasSuffix(rest, it.lit) {
			m.fail(i, failMissing)
			return false
		}
		v := rest[:len(rest)-len(it.lit)]
		if ok, _ := it.shape.check(v); !ok {
			m.fail(i, failShape)
			return false
		}
		m.caps[i] = v
		return true
	}
	for from := 0; from <= len(rest); {
		if m.budget--; m.budget < 0 {
			m.fail(i, failBudget)
			return false
		}
		end := from
		if len(it.lit) > 0 {
			j := bytes.Index(rest[from:], it.lit)
			if j < 0 {
				break
			}
			end += j
		}
		v := rest[:end]
		if it.shape == shapeList && bytes.HasPrefix(rest[end:], []byte(" : ")) {
			from = end + 1 // the list goes on after an internal redirect
			continue
		}
		ok, longer := it.shape.check(v)
		if ok {
			m.caps[i] = v
			if m.at(i+1, pos+end+len(it.lit)) {
				return true
			}
		} else if m.fail(i, failShape); !longer {
			return false
		}
		from = end + 1
	}
	m.fail(i, failMissing)
	return false
}

// fail notes a failure at item i, if it is the deepest yet; running out of
// budget overrides all.
func (m *matcher) fail(i int, kind failKind) {
	if m.failKind == failBudget || kind != failBudget && i <= m.failAt {
		return
	}
	m.failAt, m.failKind = i, kind
	if m.keepBest {
		clear(m.best)
		copy(m.best, m.caps[:i])
	}
}

// fields sets f from the values of a matched line (or, for salvage, of the
// part of it that matched: nil values are missing).
func (lf *LogFormat) fields(vals [][]byte, f *fields) {
	f.reset()
	f.raw = lf.escape == escapeNone
	get := func(r role) []byte {
		if i := lf.roles[r]; i >= 0 {
			return vals[i]
		}
		return nil
	}
	if i := lf.roles[roleTime]; i >= 0 && vals[i] != nil {
		f.time, f.timeName = vals[i], lf.items[i].name
	}
	f.addr, f.xff, f.user = get(roleAddr), get(roleXFF), get(roleUser)
	f.request, f.method, f.target, f.protocol = get(roleRequest), get(roleMethod), get(roleTarget), get(roleProtocol)
	f.status, f.agent, f.body = get(roleStatus), get(roleAgent), get(roleBody)
	for _, i := range lf.observers {
		if v := vals[i]; namesService(v) {
			if lf.items[i].name != "proxy_upstream_name" {
				v = hostOnly(v)
			}
			f.observer = v
			break
		}
	}
	for _, i := range lf.credentials {
		if vals[i] != nil && f.credential(f.credentialText(vals[i])) {
			break
		}
	}
	for _, i := range lf.attrItems {
		f.addAttr(lf.items[i].attr, vals[i], lf.items[i].kind)
	}
}
