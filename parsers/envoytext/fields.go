package envoytext

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// split is one line split along a layout: the value of each operator, and
// where the trailing quoted fields of a default layout start.
type split struct {
	l     *layout
	line  []byte
	spans []span
	tail  int // -1 for none
}

func (sp *split) reset(l *layout, line []byte) {
	sp.l, sp.line, sp.tail = l, line, -1
	if cap(sp.spans) < len(l.ops) {
		sp.spans = make([]span, len(l.ops))
	}
	sp.spans = sp.spans[:len(l.ops)]
}

// raw is operator i's value; nil when it was not matched or is "-" (Envoy's
// empty value). It aliases the line.
func (sp *split) raw(i int) []byte {
	s := sp.spans[i]
	if s.start < 0 {
		return nil
	}
	b := sp.line[s.start:s.end]
	if len(b) == 1 && b[0] == '-' {
		return nil
	}
	return b
}

// first is the first operator of role r with a value, or -1.
func (sp *split) first(r role) int {
	for _, i := range sp.l.roles[r] {
		if len(sp.raw(i)) > 0 {
			return i
		}
	}
	return -1
}

// value is the value of the first operator of role r that has one, or nil.
func (sp *split) value(r role) []byte {
	if i := sp.first(r); i >= 0 {
		return sp.raw(i)
	}
	return nil
}

// get is value as a string.
func (sp *split) get(r role) string { return string(sp.value(r)) }

// credential returns the JWT the line carries: from the credential
// operators, Authorization first, then from the trailing quoted fields in
// order; the first value that holds a bearer JWT or is a bare JWT counts.
// why is set when a bearer value is not JWT-shaped or may have been cut by
// the operator's :N limit.
func (sp *split) credential() (raw, why string) {
	raw, _, _, why = sp.credentialCached(nil)
	return raw, why
}

// credentialCached is credential with the verdicts remembered in c (nil:
// none), and the token's artifact key and registration flag from it.
func (sp *split) credentialCached(c *record.BearerCache) (raw, key string, seen *atomic.Bool, why string) {
	bearer := func(v []byte) (tok, key, why string, seen *atomic.Bool) {
		if c == nil {
			tok, why = record.BearerJWT(string(v))
			return tok, "", why, nil
		}
		return c.Lookup(v)
	}
	for _, i := range sp.l.creds {
		v := sp.raw(i)
		tok, key, why, seen := bearer(v)
		if why != "" {
			return "", "", nil, why
		}
		if tok != "" {
			if n := sp.l.ops[i].maxLen; n > 0 && len(v) >= n {
				return "", "", nil, ReasonCut
			}
			return tok, key, seen, ""
		}
	}
	if sp.tail < 0 {
		return "", "", nil, ""
	}
	fields := sp.line[sp.tail+2 : len(sp.line)-1] // validTail: ` "` ... `"`
	for len(fields) > 0 {
		field := fields
		if k := bytes.Index(fields, []byte(`" "`)); k >= 0 {
			field, fields = fields[:k], fields[k+3:]
		} else {
			fields = nil
		}
		tok, key, why, seen := bearer(field)
		if why != "" || tok != "" {
			return tok, key, seen, why
		}
	}
	return "", "", nil, ""
}

// decisive are the roles of the values Envoy writes itself and a sighting
// reads: two splits of a line that disagree on one of them (or on the
// credential) make the line ambiguous. The client's own headers (authority,
// path, user agent) may come out differently: the client chose them all
// anyway. The upstream host is left out: "-", as Envoy writes a missing one,
// is also what a trailing field holds when the header it logs is missing.
var decisive = []role{roleTime, roleStatus, roleFlags, roleDetails, roleUpstreamCluster, roleRemoteAddr,
	roleDirectRemoteAddr}

// sameReading reports whether two splits of one line read the decisive
// fields and the credential alike.
func sameReading(a, b *split) bool {
	for _, r := range decisive {
		if !bytes.Equal(a.value(r), b.value(r)) {
			return false
		}
	}
	ra, wa := a.credential()
	rb, wb := b.credential()
	return ra == rb && wa == wb
}

// fill sets the fields of s that the split holds, leaving the others as they
// are: ObservedAt, ClientIP, Observer (o.Observer overriding), Principal,
// UserAgent, Action, Outcome and Attrs. It reports whether the status was
// readable, and returns the error of a time it could not read.
func (sp *split) fill(o *record.Options, s *record.Sighting, attrs *record.Attrs) (statusOK bool, timeErr error) {
	if i := sp.first(roleTime); i >= 0 {
		op := &sp.l.ops[i]
		v := string(sp.raw(i))
		loc := time.UTC // Envoy writes START_TIME in UTC
		if op.local {
			loc = o.Loc()
		}
		var t time.Time
		var err error
		if op.time != nil {
			t, err = op.time.parse(v, loc)
		} else {
			t, err = record.ParseTime(v, loc)
		}
		if err != nil {
			timeErr = fmt.Errorf("bad %s: %v", op.text, err)
		} else {
			s.ObservedAt = t
		}
	}
	for _, r := range []role{roleXFF, roleRemoteAddr, roleDirectRemoteAddr} {
		if ip := record.ClientIP(sp.get(r)); ip != "" {
			s.ClientIP = ip
			break
		}
	}
	observer := o.Observer
	if observer == "" {
		if observer = hostOnly(sp.get(roleAuthority)); observer == "" {
			observer = sp.get(roleUpstreamCluster)
		}
	}
	if observer != "" {
		s.Observer = observer
	}
	for _, r := range []role{rolePeerURISAN, rolePeerSubject} {
		if p := sp.get(r); p != "" {
			s.Principal = p
			break
		}
	}
	if ua := sp.get(roleUserAgent); ua != "" {
		s.UserAgent = ua
	}
	if act := record.Action(sp.get(roleMethod), sp.get(rolePath)); act != "" {
		s.Action = act
	}
	code, err := strconv.Atoi(sp.get(roleStatus))
	statusOK = err == nil
	s.Outcome = record.OutcomeFromStatus(code)
	if details := sp.get(roleDetails); strings.Contains(details, "jwt_authn_access_denied") ||
		strings.Contains(details, "rbac_access_denied") {
		s.Outcome = record.OutcomeRejected
	}
	attrs.Reset()
	for _, a := range sp.l.attrs {
		for _, i := range a.ops {
			v := sp.raw(i)
			if len(v) == 0 || sp.l.ops[i].role == roleTokenHeader && holdsToken(v) {
				continue
			}
			if a.name == "referer" { // as nginx keeps it: queries may hold credentials
				if k := bytes.IndexAny(v, "?#"); k >= 0 {
					v = v[:k]
				}
			}
			attrs.AddBytes(a.name, v)
			break
		}
	}
	if js := attrs.String(); js != "" {
		s.Attrs = js
	}
	return statusOK, timeErr
}

// holdsToken reports whether a header value is, or may be, a credential:
// such a value is never copied to attrs.
func holdsToken(v []byte) bool {
	tok, why := record.BearerJWT(string(v))
	_, bearer := record.BearerToken(string(v))
	return tok != "" || why != "" || bearer
}

// hostOnly strips the port from an authority ("api.example.com:443",
// "[2001:db8::1]:8443").
func hostOnly(authority string) string {
	if host, _, err := net.SplitHostPort(authority); err == nil {
		return host
	}
	return strings.Trim(authority, "[]")
}
