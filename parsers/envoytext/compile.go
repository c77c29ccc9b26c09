package envoytext

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The default formats, as Envoy and Istio configure them, without the final
// newline.
const (
	// EnvoyDefault is Envoy's default access-log format string.
	EnvoyDefault = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
		`%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
		`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ` +
		`"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"`

	// IstioDefault is Istio's default TEXT access-log format (meshConfig
	// accessLogEncoding: TEXT, no accessLogFormat), Istio 1.9 onwards.
	// Releases before %UPSTREAM_CLUSTER_RAW% existed log %UPSTREAM_CLUSTER%
	// in its place, which reads the same.
	IstioDefault = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
		`%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% ` +
		`"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
		`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ` +
		`"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% ` +
		`%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% ` +
		`%REQUESTED_SERVER_NAME% %ROUTE_NAME%`

	// istio13Default is Istio's default TEXT format of releases 1.3 to 1.8,
	// which logged Mixer's status where later ones log the response code
	// details.
	istio13Default = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
		`%RESPONSE_CODE% %RESPONSE_FLAGS% "%DYNAMIC_METADATA(istio.mixer:status)%" ` +
		`"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
		`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ` +
		`"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% ` +
		`%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% ` +
		`%REQUESTED_SERVER_NAME% %ROUTE_NAME%`
)

// defaultLayouts are tried in order when no format string is given: a line
// is read with the first that matches. Each may be followed by any number of
// quoted fields, the credential among them.
var defaultLayouts = []*layout{
	mustCompile(IstioDefault, "Istio's default format"),
	mustCompile(istio13Default, "Istio 1.3's default format"),
	mustCompile(EnvoyDefault, "Envoy's default format"),
}

func mustCompile(format, name string) *layout {
	l, err := compile(format, name, false)
	if err != nil {
		panic(err)
	}
	l.trailing = true
	return l
}

// role is what a sighting makes of an operator's value.
type role uint8

const (
	roleAttr role = iota // kept in attrs under the operator's attr name, if it has one
	roleTime
	roleMethod
	rolePath
	roleProtocol
	roleStatus
	roleFlags
	roleDetails
	roleXFF
	roleUserAgent
	roleRequestID
	roleAuthority
	roleUpstreamHost
	roleUpstreamCluster
	roleRemoteAddr
	roleDirectRemoteAddr
	rolePeerURISAN
	rolePeerSubject
	roleSNI
	roleRoute
	roleAuthorization // the Authorization header: a credential
	roleTokenHeader   // another request header that may hold a bare JWT: a credential
	numRoles
)

// roleAttrs are the attrs names of the roles that are also kept in attrs:
// parsers/envoy's names, so that a text line and its JSON twin give the same
// sighting.
var roleAttrs = map[role]string{
	roleAuthority:        "authority",
	roleRemoteAddr:       "downstream_remote_address",
	roleDirectRemoteAddr: "downstream_direct_remote_address",
	roleProtocol:         "protocol",
	roleRequestID:        "request_id",
	roleSNI:              "requested_server_name",
	roleDetails:          "response_code_details",
	roleFlags:            "response_flags",
	roleRoute:            "route_name",
	roleStatus:           "status",
	roleUpstreamCluster:  "upstream_cluster",
	roleUpstreamHost:     "upstream_host",
	roleXFF:              "x_forwarded_for",
}

// class is what an operator's value may hold; it is how a line is split
// where the text between two operators also occurs inside a value.
type class uint8

const (
	classText    class = iota // anything: request headers, the path
	classToken                // no space, no quote: Envoy's own values (flags, cluster, details)
	classNoQuote              // no quote: a START_TIME format with spaces
	classNumber               // digits, or "-"
	classAddress              // a token with ":", "/" or "@" (ip:port, a URL, a pipe), or "-"
)

// operator is one %COMMAND(ARG):N% of a format string.
type operator struct {
	text    string // as written, for messages
	command string
	arg     string
	maxLen  int // the :N limit, 0 without
	role    role
	class   class
	attr    string      // attrs name for roleAttr; "" drops the value
	time    *timeLayout // START_TIME's own format; nil for Envoy's default
	local   bool        // START_TIME_LOCAL: the proxy's zone, not UTC
	// greedy: among the ways to split a line, prefer the longest value (the
	// user agent, the path); short ones are for values that never hold the
	// separators (X-Forwarded-For) or must not swallow them (the credential).
	greedy bool
}

func (op *operator) credential() bool {
	return op.role == roleAuthorization || op.role == roleTokenHeader
}

// layout is a compiled format string: prefix, then each operator followed by
// its literal.
type layout struct {
	name   string // in reject reasons
	prefix string
	ops    []operator
	lits   []string // lits[i] follows ops[i]; only the last may be ""
	// litIDs numbers the distinct literals (trailingSep included) for the
	// matcher's per-line occurrence tables.
	litIDs   []int
	numLits  int
	trailing bool // quoted fields may follow the last literal
	roles    [numRoles][]int
	creds    []int // credential operators, Authorization first
	attrs    []attrEntry
}

// attrEntry is one attrs key and the operators it is read from, the first
// with a value winning.
type attrEntry struct {
	name string
	ops  []int
}

// trailingSep starts a quoted field after the last one of a default layout.
const trailingSep = ` "`

// ErrNoCredential is returned by a format string that logs no credential.
var ErrNoCredential = errors.New(`no credential operator: add "%REQ(AUTHORIZATION)%" (or the request header that carries the token) to the format`)

// CheckFormat reports why an Envoy format string given with --envoy-format
// cannot be read with (as Parse would), so that a command can say so
// before reading any file; nil when it compiles.
func CheckFormat(format string) error {
	_, err := compile(format, "--envoy-format", true)
	return err
}

// compile turns an Envoy format string into a layout. Literal text must
// match as written ("%%" is a percent sign); every operator is
// %NAME%, %NAME(ARG)% or either with :N, as Envoy parses them, and two
// operators must have text between them. With needCredential the format must
// log a credential (see ErrNoCredential). A final newline is dropped, written
// or as the two characters \n.
func compile(format, name string, needCredential bool) (*layout, error) {
	format = strings.TrimRight(format, "\r\n")
	for strings.HasSuffix(format, `\n`) {
		format = strings.TrimRight(format[:len(format)-2], "\r\n")
	}
	if strings.TrimSpace(format) == "" {
		return nil, errors.New("empty format string")
	}
	l := &layout{name: name}
	var lit strings.Builder
	for pos := 0; pos < len(format); {
		c := format[pos]
		if c != '%' {
			lit.WriteByte(c)
			pos++
			continue
		}
		if pos+1 < len(format) && format[pos+1] == '%' {
			lit.WriteByte('%')
			pos += 2
			continue
		}
		op, n, err := parseOperator(format[pos:])
		if err != nil {
			return nil, fmt.Errorf("at byte %d: %w", pos, err)
		}
		if len(l.ops) == 0 {
			l.prefix = lit.String()
		} else {
			if lit.Len() == 0 {
				return nil, fmt.Errorf("%s and %s have no text between them, so their values cannot be told apart",
					l.ops[len(l.ops)-1].text, op.text)
			}
			l.lits = append(l.lits, lit.String())
		}
		lit.Reset()
		l.ops = append(l.ops, op)
		pos += n
	}
	if len(l.ops) == 0 {
		return nil, errors.New("no operator in the format string (operators look like %START_TIME%)")
	}
	l.lits = append(l.lits, lit.String())
	l.index()
	if needCredential && len(l.creds) == 0 {
		return nil, ErrNoCredential
	}
	return l, nil
}

// index fills the role, credential, attrs and literal tables.
func (l *layout) index() {
	byName := map[string]int{}
	addAttr := func(name string, i int) {
		k, ok := byName[name]
		if !ok {
			k = len(l.attrs)
			byName[name] = k
			l.attrs = append(l.attrs, attrEntry{name: name})
		}
		l.attrs[k].ops = append(l.attrs[k].ops, i)
	}
	var headerCreds []int
	for i := range l.ops {
		op := &l.ops[i]
		l.roles[op.role] = append(l.roles[op.role], i)
		switch {
		case op.role == roleAuthorization:
			l.creds = append(l.creds, i)
		case op.role == roleTokenHeader:
			headerCreds = append(headerCreds, i)
			if op.attr != "" {
				addAttr(op.attr, i)
			}
		case op.role == roleAttr:
			if op.attr != "" {
				addAttr(op.attr, i)
			}
		default:
			if name := roleAttrs[op.role]; name != "" {
				addAttr(name, i)
			}
		}
	}
	l.creds = append(l.creds, headerCreds...)
	sort.SliceStable(l.attrs, func(a, b int) bool { return l.attrs[a].name < l.attrs[b].name })

	ids := map[string]int{trailingSep: 0}
	for _, lit := range l.lits {
		if _, ok := ids[lit]; !ok {
			ids[lit] = len(ids)
		}
	}
	l.litIDs = make([]int, len(l.lits))
	for i, lit := range l.lits {
		l.litIDs[i] = ids[lit]
	}
	l.numLits = len(ids)
}

// parseOperator reads the operator at the start of s (which starts with
// "%"), as Envoy's %COMMAND(SUBCOMMAND):LENGTH% syntax has it: the command
// is A-Z, 0-9 and _; the argument ends at the first ")" that the optional
// length and the closing "%" follow. It returns the operator and its length
// in s.
func parseOperator(s string) (operator, int, error) {
	j := 1
	for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9' || s[j] == '_') {
		j++
	}
	if j == 1 {
		return operator{}, 0, errors.New(`"%" starts no operator (operators are upper case, like %REQ(AUTHORIZATION)%; write %% for a percent sign)`)
	}
	op := operator{command: s[1:j]}
	end, maxLen, ok := -1, 0, false
	if j < len(s) && s[j] == '(' {
		for k := j + 1; k < len(s); k++ {
			if s[k] != ')' {
				continue
			}
			if end, maxLen, ok = closeOperator(s, k+1); ok {
				op.arg = s[j+1 : k]
				break
			}
		}
	} else {
		end, maxLen, ok = closeOperator(s, j)
	}
	if !ok {
		return operator{}, 0, fmt.Errorf("unterminated operator %%%s (an operator ends with %%, after its (argument) and :length)", op.command)
	}
	op.text = s[:end]
	op.maxLen = maxLen
	if err := op.classify(); err != nil {
		return operator{}, 0, fmt.Errorf("%s: %w", op.text, err)
	}
	return op, end, nil
}

// closeOperator reads an optional ":N" and the closing "%" at s[k:].
func closeOperator(s string, k int) (end, maxLen int, ok bool) {
	if k < len(s) && s[k] == ':' {
		d := k + 1
		for d < len(s) && s[d] >= '0' && s[d] <= '9' {
			d++
		}
		if d == k+1 || d >= len(s) || s[d] != '%' {
			return 0, 0, false
		}
		n, err := strconv.Atoi(s[k+1 : d])
		if err != nil || n > 1<<30 {
			return 0, 0, false
		}
		return d + 1, n, true
	}
	if k < len(s) && s[k] == '%' {
		return k + 1, 0, true
	}
	return 0, 0, false
}

// commands are the operators read by name, with the role and class of their
// value. Operators of the default formats that a sighting does not use
// (byte counts, durations, local addresses) have roleAttr without an attrs
// name, as parsers/envoy drops them.
var commands = map[string]struct {
	role  role
	class class
}{
	"START_TIME":                                    {roleTime, classToken},
	"START_TIME_LOCAL":                              {roleTime, classToken},
	"PROTOCOL":                                      {roleProtocol, classToken},
	"RESPONSE_CODE":                                 {roleStatus, classNumber},
	"RESPONSE_FLAGS":                                {roleFlags, classToken},
	"RESPONSE_FLAGS_LONG":                           {roleFlags, classToken},
	"RESPONSE_CODE_DETAILS":                         {roleDetails, classToken},
	"UPSTREAM_HOST":                                 {roleUpstreamHost, classAddress},
	"UPSTREAM_CLUSTER":                              {roleUpstreamCluster, classToken},
	"UPSTREAM_CLUSTER_RAW":                          {roleUpstreamCluster, classToken},
	"DOWNSTREAM_REMOTE_ADDRESS":                     {roleRemoteAddr, classAddress},
	"DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":        {roleRemoteAddr, classToken},
	"DOWNSTREAM_DIRECT_REMOTE_ADDRESS":              {roleDirectRemoteAddr, classAddress},
	"DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT": {roleDirectRemoteAddr, classToken},
	"DOWNSTREAM_PEER_URI_SAN":                       {rolePeerURISAN, classText},
	"DOWNSTREAM_PEER_SUBJECT":                       {rolePeerSubject, classText},
	"REQUESTED_SERVER_NAME":                         {roleSNI, classToken},
	"ROUTE_NAME":                                    {roleRoute, classToken},
	"BYTES_RECEIVED":                                {roleAttr, classNumber},
	"BYTES_SENT":                                    {roleAttr, classNumber},
	"DURATION":                                      {roleAttr, classNumber},
	"CONNECTION_TERMINATION_DETAILS":                {roleAttr, classToken},
	"UPSTREAM_TRANSPORT_FAILURE_REASON":             {roleAttr, classText},
	"UPSTREAM_LOCAL_ADDRESS":                        {roleAttr, classAddress},
	"DOWNSTREAM_LOCAL_ADDRESS":                      {roleAttr, classAddress},
}

// headerRoles are the request headers read by name (lower case).
var headerRoles = map[string]role{
	":method":               roleMethod,
	":path":                 rolePath,
	"x-envoy-original-path": rolePath,
	"x-forwarded-for":       roleXFF,
	"user-agent":            roleUserAgent,
	"x-request-id":          roleRequestID,
	":authority":            roleAuthority,
	"host":                  roleAuthority,
	"authorization":         roleAuthorization,
	"proxy-authorization":   roleAuthorization,
}

// notTokenHeaders are X- request headers known to hold no token; every other
// X- header is a credential candidate (X-Jwt-Assertion, X-Amzn-Oidc-Data,
// X-Forwarded-Access-Token, ...).
var notTokenHeaders = map[string]bool{
	"x-forwarded-proto": true, "x-forwarded-host": true, "x-forwarded-port": true,
	"x-forwarded-client-cert": true, "x-real-ip": true, "x-ot-span-context": true,
	"x-amzn-trace-id": true, "x-cloud-trace-context": true, "x-client-trace-id": true,
	"x-original-forwarded-for": true, "x-correlation-id": true,
}

var notTokenHeaderPrefixes = []string{"x-envoy-", "x-b3-", "x-datadog-"}

// secretWords mark a header whose value is not copied to attrs: it may hold
// a credential that is not a JWT.
var secretWords = []string{"auth", "token", "jwt", "cookie", "secret", "key", "session", "pass", "assertion", "oidc", "credential", "signature"}

// classify sets the operator's role, class, attrs name and preference.
func (op *operator) classify() error {
	switch op.command {
	case "REQ", "REQ_WITHOUT_QUERY", "RESP", "TRAILER":
		if op.arg == "" {
			return fmt.Errorf("%%%s needs a header name, as in %%%s(USER-AGENT)%%", op.command, op.command)
		}
		op.classifyHeader()
	case "DYNAMIC_METADATA":
		op.class = classText
		if op.arg != "istio.mixer:status" { // Istio 1.3's default: dropped, as by parsers/envoy
			op.attr = attrName(op.command, op.arg)
		}
	default:
		c, known := commands[op.command]
		if !known {
			op.class, op.attr = classText, attrName(op.command, op.arg)
			break
		}
		op.role, op.class = c.role, c.class
		switch {
		case op.role == roleTime:
			op.local = op.command == "START_TIME_LOCAL"
			if op.arg != "" {
				tl, err := compileTime(op.arg)
				if err != nil {
					return err
				}
				op.time, op.class = tl, tl.class()
			}
		case op.role == roleDetails && strings.Contains(op.arg, "ALLOW_WHITESPACES"):
			op.class = classText
		}
	}
	op.greedy = op.class == classText && op.role != roleXFF && !op.credential()
	return nil
}

// classifyHeader classifies %REQ(A?B)% and the other header operators by the
// first of their header names that has a role.
func (op *operator) classifyHeader() {
	op.class = classText
	names := strings.Split(strings.ToLower(op.arg), "?")
	if op.command == "REQ" || op.command == "REQ_WITHOUT_QUERY" {
		for _, h := range names {
			if r, ok := headerRoles[h]; ok {
				op.role = r
				if r == roleMethod {
					op.class = classToken
				}
				return
			}
		}
		if h := names[0]; strings.HasPrefix(h, "x-") && !notTokenHeaders[h] && !hasAnyPrefix(h, notTokenHeaderPrefixes) {
			op.role = roleTokenHeader // and in attrs, below, on lines where it holds no token
		}
	}
	if op.command == "RESP" && names[0] == "x-envoy-upstream-service-time" {
		op.class = classToken // set by Envoy's router; parsers/envoy drops it
		return
	}
	for _, h := range names {
		for _, w := range secretWords {
			if strings.Contains(h, w) {
				return // not in attrs
			}
		}
	}
	name := strings.ReplaceAll(strings.TrimLeft(names[0], ":"), "-", "_")
	switch op.command {
	case "RESP":
		name = "resp_" + name
	case "TRAILER":
		name = "trailer_" + name
	}
	op.attr = name
}

// attrName is the attrs name of an operator read by no role: its command in
// lower case, and its argument with what is not [a-z0-9_.:] turned into "_".
func attrName(command, arg string) string {
	name := strings.ToLower(command)
	if arg == "" {
		return name
	}
	b := []byte(strings.ToLower(arg))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':') {
			b[i] = '_'
		}
	}
	return name + "_" + string(b)
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
