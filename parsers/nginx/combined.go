package nginx

import (
	"bytes"
	"net/netip"
	"strings"
	"unsafe"
)

// entry is one line in a built-in layout, scanned. Quoted fields are kept
// escaped, without quotes; a field the scan did not reach is nil.
type entry struct {
	vhost      []byte // $host, or $server_name:$server_port, before the address
	remoteAddr []byte // one address, or an X-Forwarded-For list (addrList)
	addrList   bool
	realIP     []byte // old ingress-nginx: "- [$the_real_ip] -" after the address

	remoteUser, timeLocal, request, status, bodyBytes []byte
	fields                                            []field // after body_bytes_sent
}

type field struct {
	val    []byte
	quoted bool
}

// scan splits a line in one of the built-in layouts: combined, optionally
// after a virtual host, with one address or an X-Forwarded-For list in the
// address position, followed by any number of quoted and bare fields. It
// returns a reason when the line does not have that shape; what it read
// before is in e. line must have no control characters.
func scan(line []byte, e *entry) string {
	*e = entry{fields: e.fields[:0]}
	if len(line) == 0 || line[0] == ' ' {
		return "missing remote address"
	}
	// "- " follows the address; before the address there may be a host,
	// and the address may be a list that nginx joins with ", ".
	i := bytes.Index(line, []byte(" - "))
	if i < 0 {
		return `missing "-" after remote address`
	}
	head, rest := line[:i], line[i+3:]
	var vhost []byte
	if sp := bytes.IndexByte(head, ' '); sp > 0 && head[sp-1] != ',' {
		vhost, head = head[:sp], head[sp+1:]
	}
	if !addressList(head) {
		return `missing "-" after remote address`
	}
	e.vhost, e.remoteAddr, e.addrList = vhost, head, bytes.IndexByte(head, ',') >= 0
	if len(rest) > 0 && rest[0] == '[' {
		// ingress-nginx before 0.20: "$remote_addr - [$the_real_ip] - $remote_user".
		if j := bytes.Index(rest, []byte("] - ")); j > 1 && addressList(rest[1:j]) {
			e.realIP, rest = rest[1:j], rest[j+4:]
		}
	}
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
	adjacent := false // the last field is a bare word one space before this one
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
			rest, adjacent = r, false
			continue
		}
		var v []byte
		if v, rest = word(rest); len(v) == 0 {
			adjacent = false
			continue
		}
		// nginx joins the entries of $upstream_addr and the like with ", ",
		// and the groups of an internal redirect with " : ".
		if n := len(e.fields); adjacent {
			if prev := e.fields[n-1].val; prev[len(prev)-1] == ',' || string(prev) == ":" ||
				string(v) == ":" || bytes.HasSuffix(prev, []byte(" :")) {
				e.fields[n-1].val = prev[:len(prev)+1+len(v)] // contiguous in line
				continue
			}
		}
		e.fields = append(e.fields, field{v, false})
		adjacent = true
	}
	if len(e.fields) < 2 || !e.fields[0].quoted || !e.fields[1].quoted {
		return "missing quoted referer and user agent"
	}
	return ""
}

// addressList reports whether b is an address or a list of them as nginx
// joins them ("10.1.2.3, 10.0.0.1"): no empty entry, and every space after a
// comma.
func addressList(b []byte) bool {
	if len(b) == 0 || b[len(b)-1] == ' ' {
		return false
	}
	for i, c := range b {
		if c == ' ' && (i == 0 || b[i-1] != ',' || b[i+1] == ' ') {
			return false
		}
	}
	return true
}

// quoted reads ` "value"` (one space, then a quoted field in which a backslash
// escapes the next byte) and returns the value without quotes.
func quoted(s []byte) (val, rest []byte, ok bool) {
	if len(s) < 3 || s[0] != ' ' || s[1] != '"' {
		return nil, s, false
	}
	for i := 2; i < len(s); {
		j := bytes.IndexByte(s[i:], '"')
		if j < 0 {
			break
		}
		j += i
		// the quote ends the value unless an odd run of backslashes
		// escapes it (each pair is one escaped backslash)
		k := j
		for k > 2 && s[k-1] == '\\' {
			k--
		}
		if (j-k)%2 == 0 {
			return s[2:j], s[j+1:], true
		}
		i = j + 1
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

// scanFields reads a line in a built-in layout into f and returns why it is
// not in one ("" when it is); what the scan read before it stopped is in f
// all the same, for salvage.
func scanFields(line []byte, e *entry, f *fields) string {
	why := scan(line, e)
	f.reset()
	f.user, f.request, f.status = e.remoteUser, e.request, e.status
	if e.timeLocal != nil {
		f.time, f.timeName = e.timeLocal, "time_local"
	}
	f.addAttr("body_bytes_sent", e.bodyBytes, attrText) // attrs in key order spare fill a sort
	if namesService(e.vhost) {
		f.observer = hostOnly(e.vhost)
		f.addAttr("host", e.vhost, attrText)
	}
	if len(e.fields) > 0 {
		f.addAttr("referer", e.fields[0].val, attrURL)
	}

	// The credential is looked for in every field after the request, the
	// referer and user agent included: formats that put
	// "$http_authorization" before "$http_user_agent" exist.
	auth := -1
	for i := 0; i < len(e.fields) && f.tokenWhy == ""; i++ {
		value := f.credentialText(e.fields[i].val)
		if !e.fields[i].quoted {
			// $http_authorization logged without quotes: "Bearer" and
			// the credential are two words.
			if !strings.EqualFold(value, "bearer") || i+1 >= len(e.fields) || e.fields[i+1].quoted {
				continue
			}
			value = "Bearer " + unescape(e.fields[i+1].val)
		}
		if f.credential(value) {
			auth = i
			break
		}
	}
	ua := uaField(e, auth)
	if ua >= 0 && ua < len(e.fields) {
		f.agent = e.fields[ua].val
	}
	// A quoted form body with a SAML message after the combined fields is
	// a logged "$request_body" (a "-" there cannot be told from any other
	// empty field: only a log_format says a body was not logged).
	if auth < 0 {
		for i := 2; i < len(e.fields); i++ {
			if i != ua && e.fields[i].quoted && (bytes.Contains(e.fields[i].val, []byte("SAMLResponse=")) || bytes.Contains(e.fields[i].val, []byte("wresult="))) {
				f.body = e.fields[i].val
				break
			}
		}
	}

	// The first quoted list of addresses after the user agent is
	// X-Forwarded-For; else the list in the address position is.
	for i := 2; i < len(e.fields); i++ {
		if i != auth && i != ua && e.fields[i].quoted && isIPList(e.fields[i].val) {
			f.xff = e.fields[i].val
			break
		}
	}
	switch {
	case f.xff == nil && e.realIP != nil:
		f.xff, f.addr = e.realIP, e.remoteAddr
	case f.xff == nil && e.addrList:
		f.xff = e.remoteAddr
	default:
		f.addr = e.remoteAddr
	}
	f.addAttr("remote_addr", f.addr, attrText)
	if digits(f.status) {
		f.addAttr("status", f.status, attrText)
	}
	f.addAttr("x_forwarded_for", f.xff, attrText)
	ingressFields(e, f)
	return why
}

// ingressKeys are the attrs of the bare fields ingress-nginx's default
// log_format writes after "[$proxy_upstream_name] [$proxy_alternative_upstream_name]".
var ingressKeys = [...]string{"upstream_addr", "upstream_response_length", "upstream_response_time", "upstream_status", "request_id"}

// ingressFields finds the fields of ingress-nginx's default log_format after
// the user agent,
//
//	$request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name]
//	$upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id
//
// (before 0.20, without the alternative upstream and $req_id): a bracketed
// bare field after two numbers, or two bracketed fields. The upstream
// ("namespace-service-port") names the service.
func ingressFields(e *entry, f *fields) {
	for i := 2; i < len(e.fields); i++ {
		name, ok := bracketed(e.fields[i])
		if !ok {
			continue
		}
		sized := i >= 4 && !e.fields[i-2].quoted && !e.fields[i-1].quoted &&
			digits(e.fields[i-2].val) && isNumber(e.fields[i-1].val)
		next := i + 1
		var alternative []byte
		paired := false
		if next < len(e.fields) {
			alternative, paired = bracketed(e.fields[next])
		}
		if !sized && !paired {
			continue
		}
		if namesService(name) {
			f.observer = name // the service, rather than the virtual host
		}
		f.addAttr("upstream", name, attrText)
		if paired {
			f.addAttr("alternative_upstream", alternative, attrText)
			next++
		}
		if sized {
			f.addAttr("request_length", e.fields[i-2].val, attrText)
			f.addAttr("request_time", e.fields[i-1].val, attrText)
		}
		for k, j := 0, next; k < len(ingressKeys) && j < len(e.fields) && !e.fields[j].quoted; k, j = k+1, j+1 {
			if bytes.EqualFold(e.fields[j].val, []byte("bearer")) {
				break // an unquoted "$http_authorization"
			}
			f.addAttr(ingressKeys[k], e.fields[j].val, attrText)
		}
		return
	}
}

// bracketed returns the inside of a bare "[value]" field.
func bracketed(fl field) ([]byte, bool) {
	v := fl.val
	if fl.quoted || len(v) < 2 || v[0] != '[' || v[len(v)-1] != ']' {
		return nil, false
	}
	return v[1 : len(v)-1], true
}

// isNumber reports whether b is a decimal number such as $request_time
// writes ("0.012").
func isNumber(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	dot := false
	for _, c := range b {
		switch {
		case c == '.' && !dot:
			dot = true
		case c < '0' || c > '9':
			return false
		}
	}
	return true
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
		item = bytes.TrimSpace(item)
		if _, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(item), len(item))); err != nil { // the address is not kept
			return false
		}
	}
	return true
}

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
