// Package stepca reads the request log of Smallstep's step-ca as the CA's
// own record of the X.509 certificates it issued.
//
// step-ca logs one line per HTTP request with logrus (logging/handler.go:
// request-id, remote-address, name, user-id, time, duration-ns, duration,
// method, path, protocol, status, size, referer, user-agent), and a request
// that returns a certificate adds the certificate's fields (api.LogCertificate
// in api/api.go: serial in decimal, subject and issuer common names, sans,
// valid-from, valid-to, public-key, certificate as the base64 of its DER, and
// provisioner, "name (credential id)", when the certificate carries step's
// provisioner extension). The handler's own "time" field clashes with
// logrus' and is logged as "fields.time". Three line styles are read, mixed
// freely in one file:
//
//	{"certificate":"MIIB…","duration":"2.1ms","duration-ns":2100000,"fields.time":"2026-03-04T10:00:00Z","issuer":"Acme Intermediate CA","level":"info","method":"POST","msg":"","path":"/1.0/sign","provisioner":"admin (4Rs…)","remote-address":"10.0.0.5","request-id":"d6k…","sans":{"dns":["web.example.com"]},"serial":"1234…","status":201,"subject":"web.example.com","time":"2026-03-04T10:00:00Z","valid-from":"2026-03-04T09:59:00Z","valid-to":"2026-03-05T10:00:00Z",…}
//	time="2026-03-04T10:00:00Z" level=info certificate="MIIB…" … path=/1.0/sign … sans="map[dns:[web.example.com]]" serial=1234… status=201 subject=web.example.com …
//	INFO[0042] certificate="MIIB…" … fields.time="2026-03-04T10:00:00Z" … path=/1.0/sign … status=201 …
//
// The first is logger.format "json" (logrus' JSON formatter), the second the
// default "text" formatter without a terminal (keys sorted after time,
// level and msg; values with bytes outside [A-Za-z0-9-._/@^+] Go-quoted),
// the third the same formatter on a terminal (a docker -t container): its
// colour escapes are removed, its time is seconds since start, so the line
// is placed by fields.time. logger.format "common" (a CLF line) carries no
// certificate fields and is not read. journalctl -o cat output is the
// lines as they are; the envelopes of record.Options.Envelope are
// unwrapped by the caller.
//
// # Issuances
//
// A successful request (status below 400) that logs a serial or a
// certificate is an issuance: POST /sign, /renew, /rekey (and their /1.0/
// forms), an ACME certificate download (/acme/<provisioner>/certificate/<id>,
// step-ca's only log of an ACME certificate, repeated at each download) and a
// SCEP PKIOperation. Not issuances, ignored with a stable reason: requests
// that log no certificate (health, roots, provisioners, ACME orders:
// IgnoreNoCertificate), failed requests (IgnoreFailed), SSH certificates
// (certificate-type or principals logged, or an /ssh/ path: IgnoreSSH), and
// revocations, which log the certificate presented to be revoked
// (IgnoreRevocation). Lines that are not request lines (step-ca's start-up
// messages, TLS handshake errors, another logger's lines) are
// record.IgnoreNotEvent. A request line that cannot be read (broken JSON or
// quoting, a serial that is not a number, a certificate that does not parse
// or whose serial is not the logged one, no time) is rejected with the
// reason. Each line ends in exactly one issuance, reject or ignore.
//
// # Mapping
//
// When the certificate is logged (every step-ca since 2019 logs it) the
// issuance is taken from it, in the forms the x509 kind reads certificates
// in: ArtifactID = its serial (hex, canonical), Issuer = its issuer name
// (record.CanonicalDNAttrs), Subject = its common name (else its canonical
// name), Names = its SANs, IssuedAt = not_before, ExpiresAt = not_after,
// RawSHA256 = the sha256 of its DER. Otherwise the logged fields are used:
// serial (decimal; hex when written with colons or 0x), subject, sans
// (record.CanonicalName for DNS names and e-mail addresses), valid-from
// (else the line's time, else fields.time, else the envelope's time) and
// valid-to; Issuer stays empty, since step-ca logs only the issuer's common
// name and an issuer of other attributes would not compare equal. KeyRef is
// the provisioner that authorised the certificate (step-ca does not log the
// signing key). Attrs holds, under their logged names, issuer (the common
// name), method, path (without its query), provisioner, public-key,
// remote-address, request-id, status, user-agent and user-id; the one-time
// token (ott) is a credential and is never kept.
package stepca

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/certinfo"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads step-ca request logs. See the package documentation.
var Format record.Format = format{}

type format struct{}

func (format) Name() string { return "stepca" }

func (format) Description() string {
	return "Smallstep step-ca request log (logrus JSON or text): issued X.509 certificates"
}

// IssuerLog reports that step-ca's log is the CA's own record.
func (format) IssuerLog() bool { return true }

// LineIndependent reports that lines are read each on its own.
func (format) LineIndependent() bool { return true }

// Ignore reasons of request lines that issue nothing. The run's summary
// counts lines by reason and shows at most 80 bytes of one.
const (
	IgnoreNoCertificate = "request issued no certificate"
	IgnoreFailed        = "failed request"
	IgnoreSSH           = "SSH certificate (not X.509)"
	IgnoreRevocation    = "revocation (names a certificate, issues none)"
)

// maxSerial bounds a logged serial: RFC 5280 allows 20 octets, 49 decimal
// digits; a longer one is not read (a huge decimal costs quadratic time).
const maxSerial = 80

// maxAttr bounds one attribute value taken from a line.
const maxAttr = 1024

// Sniff accepts a sample with a step-ca request line (JSON or text, the
// handler's remote-address, duration-ns and request-id keys together are
// step-ca's) or step-ca's start-up banner.
func (format) Sniff(sample [][]byte) bool {
	var p fastjson.Parser
	for _, line := range sample {
		line = bytes.TrimSpace(line)
		if bytes.Contains(line, []byte("Starting Smallstep CA/")) {
			return true
		}
		if len(line) > 0 && line[0] == '{' {
			v, err := p.ParseBytes(line)
			if err != nil || v.Type() != fastjson.TypeObject {
				continue
			}
			if v.Get("remote-address") != nil && v.Get("duration-ns") != nil && v.Get("request-id") != nil &&
				v.Get("path") != nil && v.Get("status") != nil {
				return true
			}
			continue
		}
		s := string(stripEscapes(line))
		if !strings.HasPrefix(s, "time=") && !strings.HasPrefix(s, "level=") && coloredPrefix(s) == 0 {
			continue
		}
		if strings.Contains(s, " remote-address=") && strings.Contains(s, " duration-ns=") &&
			strings.Contains(s, " request-id=") && strings.Contains(s, " status=") {
			return true
		}
	}
	return false
}

// Parse streams the issuances of a step-ca log into sink.
func (f format) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	p := &parser{in: in, sink: sink, name: f.Name(), loc: in.Options.Loc()}
	return record.EachLine(ctx, in, p.name, sink, p.line)
}

type parser struct {
	in    *record.Input
	sink  record.Sink
	name  string
	loc   *time.Location
	json  fastjson.Parser
	req   request
	names []string
	attrs record.Attrs
}

func (p *parser) line(lineNo int64, line []byte) {
	pos := record.Position{File: p.in.Name, Line: lineNo, Format: p.name}
	reject := func(reason string) {
		p.sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(line)})
	}
	p.req.reset(p.names)
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		o, ok := record.JSONObject(&p.json, trimmed, pos, p.sink)
		if !ok {
			return
		}
		if err := p.jsonFields(o); err != nil {
			reject(err.Error())
			return
		}
	} else {
		if !record.ValidUTF8(line, pos, p.sink) {
			return
		}
		s := string(stripEscapes(trimmed))
		switch n := coloredPrefix(s); {
		case strings.HasPrefix(s, "time=") || strings.HasPrefix(s, "level="):
		case n > 0:
			s = s[n:]
		default:
			p.sink.Ignore(pos, record.IgnoreNotEvent)
			return
		}
		if err := parseText(&p.req, s); err != nil {
			if !strings.Contains(s, "remote-address=") && !strings.Contains(s, "serial=") {
				// a message of another logger, not a request line
				p.sink.Ignore(pos, record.IgnoreNotEvent)
				return
			}
			reject("bad fields: " + err.Error())
			return
		}
	}
	p.names = p.req.names
	ignore, err := p.request(pos)
	switch {
	case err != nil:
		reject(err.Error())
	case ignore != "":
		p.sink.Ignore(pos, ignore)
	}
}

// jsonFields reads the keys the format uses from one JSON line.
func (p *parser) jsonFields(o *fastjson.Object) error {
	var err error
	o.Visit(func(key []byte, v *fastjson.Value) {
		if err != nil {
			return
		}
		k := string(key)
		if _, ok := keyIndex[k]; !ok {
			return
		}
		var value string
		switch v.Type() {
		case fastjson.TypeString:
			value = string(v.GetStringBytes())
		case fastjson.TypeNull:
		default: // numbers (status, a 2019 step-ca's serial), objects, arrays as their JSON text
			value = v.String()
		}
		if k == "sans" && v.Type() != fastjson.TypeNull {
			if err = p.jsonSans(v); err != nil {
				return
			}
		}
		err = p.req.set(k, value)
	})
	return err
}

// jsonSans reads step-ca's "sans": {"dns":[...],"email":[...],"ip":[...],"uri":[...]}.
func (p *parser) jsonSans(v *fastjson.Value) error {
	o, err := v.Object()
	if err != nil {
		return fmt.Errorf("sans is a JSON %s, want an object", v.Type())
	}
	o.Visit(func(kind []byte, list *fastjson.Value) {
		if err != nil {
			return
		}
		items, e := list.Array()
		if e != nil {
			err = fmt.Errorf("sans.%s is a JSON %s, want an array", record.Excerpt(string(kind), 20), list.Type())
			return
		}
		for _, it := range items {
			s, e := it.StringBytes()
			if e != nil {
				err = fmt.Errorf("sans.%s holds a JSON %s, want strings", record.Excerpt(string(kind), 20), it.Type())
				return
			}
			p.req.names = append(p.req.names, canonicalSAN(string(kind), string(s)))
		}
	})
	return err
}

// request turns one request line's fields into an issuance, or says why it
// issues nothing (ignore) or cannot be read (err).
func (p *parser) request(pos record.Position) (ignore string, err error) {
	r := &p.req
	if !r.has(kPath) && !r.has(kStatus) {
		return record.IgnoreNotEvent, nil
	}
	hasCert := r.get(kSerial) != "" || r.get(kCertificate) != ""
	status, err := strconv.Atoi(strings.TrimSpace(r.get(kStatus)))
	switch {
	case !r.has(kStatus) && hasCert:
		return "", errors.New("request line without status: whether it succeeded cannot be told")
	case !r.has(kStatus):
		return IgnoreNoCertificate, nil
	case err != nil:
		return "", fmt.Errorf("status %q is not a number", record.Excerpt(r.get(kStatus), 20))
	case status >= 400:
		return IgnoreFailed, nil
	case !hasCert:
		return IgnoreNoCertificate, nil
	}
	path := r.get(kPath)
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i] // a SCEP query holds the whole request
	}
	switch {
	case r.has(kCertificateType) || r.has(kPrincipals) || strings.Contains(path, "/ssh/") || strings.HasSuffix(path, "/sign-ssh"):
		return IgnoreSSH, nil
	case isRevocation(path):
		return IgnoreRevocation, nil
	}

	iss := record.Issuance{Kind: record.KindX509, Pos: pos, KeyRef: r.get(kProvisioner)}
	var serial string
	if s := r.get(kSerial); s != "" {
		if serial, err = parseSerial(s); err != nil {
			return "", err
		}
	}
	if b64 := strings.TrimSpace(r.get(kCertificate)); b64 != "" {
		der, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return "", errors.New("certificate is not base64")
		}
		c, err := certinfo.Read(der)
		if err != nil {
			return "", fmt.Errorf("certificate does not parse: %s", record.Excerpt(err.Error(), 120))
		}
		if serial != "" && serial != c.Serial {
			return "", fmt.Errorf("serial %s is not the logged certificate's (%s)", serial, c.Serial)
		}
		iss.ArtifactID, iss.Issuer, iss.Subject = c.Serial, c.Issuer, c.Subject
		iss.Names, iss.IssuedAt, iss.ExpiresAt, iss.RawSHA256 = c.Names, c.NotBefore, c.NotAfter, c.SHA256
	} else {
		iss.ArtifactID, iss.Subject = serial, r.get(kSubject)
		if len(r.names) > 0 {
			iss.Names = canonicalNames(r.names)
		}
		if v := r.get(kValidFrom); v != "" {
			if iss.IssuedAt, err = record.ParseTime(v, p.loc); err != nil {
				return "", fmt.Errorf("bad valid-from: %w", err)
			}
		}
		if v := r.get(kValidTo); v != "" {
			if iss.ExpiresAt, err = record.ParseTime(v, p.loc); err != nil {
				return "", fmt.Errorf("bad valid-to: %w", err)
			}
		}
		if iss.IssuedAt.IsZero() {
			if iss.IssuedAt, err = p.lineTime(); err != nil {
				return "", err
			}
		}
	}
	iss.Attrs = p.attrsJSON(path, status)
	p.sink.Issuance(&iss)
	return "", nil
}

// lineTime is the line's time: logrus' time, else the handler's
// fields.time (a coloured line's only date), else the envelope's.
func (p *parser) lineTime() (time.Time, error) {
	for _, k := range []int{kTime, kFieldsTime} {
		v := p.req.get(k)
		if v == "" {
			continue
		}
		t, err := record.ParseTime(v, p.loc)
		if err != nil {
			return t, fmt.Errorf("bad time: %w", err)
		}
		return t, nil
	}
	if t := p.in.LineTime(); !t.IsZero() {
		return t, nil
	}
	return time.Time{}, errors.New("no time: neither valid-from nor the line's time is logged")
}

// attrsJSON is the issuance's attributes, keys added in sorted order.
func (p *parser) attrsJSON(path string, status int) string {
	r := &p.req
	a := &p.attrs
	a.Reset()
	a.Add("issuer", clip(r.get(kIssuer)))
	a.Add("method", clip(r.get(kMethod)))
	a.Add("path", clip(path))
	a.Add("provisioner", clip(r.get(kProvisioner)))
	a.Add("public-key", clip(r.get(kPublicKey)))
	a.Add("remote-address", clip(r.get(kRemoteAddress)))
	a.Add("request-id", clip(r.get(kRequestID)))
	a.Add("status", strconv.Itoa(status))
	a.Add("user-agent", clip(r.get(kUserAgent)))
	a.Add("user-id", clip(r.get(kUserID)))
	return a.String()
}

// clip bounds an attribute value, on a rune boundary.
func clip(s string) string {
	if len(s) <= maxAttr {
		return s
	}
	cut := maxAttr
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// isRevocation reports whether path is a revocation endpoint (/revoke,
// /1.0/revoke, ACME's /acme/<provisioner>/revoke-cert).
func isRevocation(path string) bool {
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "revoke" || seg == "revoke-cert" {
			return true
		}
	}
	return false
}

// parseSerial reads a logged serial: decimal as step-ca writes it, hex
// when it has colons or a 0x prefix.
func parseSerial(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxSerial {
		return "", fmt.Errorf("serial of %d characters is too long", len(s))
	}
	var (
		out string
		err error
	)
	if strings.ContainsRune(s, ':') || strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		out, err = record.CanonicalSerial(s)
	} else {
		out, err = record.SerialFromDecimal(s)
	}
	if err != nil {
		return "", fmt.Errorf("bad serial %q: %w", record.Excerpt(s, 40), err)
	}
	return out, nil
}

// canonicalNames sorts names and drops repeats, in a copy (the parser
// reuses its buffer).
func canonicalNames(names []string) []string {
	out := append([]string(nil), names...)
	slices.Sort(out)
	return slices.Compact(out)
}
