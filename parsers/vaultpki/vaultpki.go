// Package vaultpki reads HashiCorp Vault's audit log as the record of the
// X.509 certificates Vault's PKI secrets engine issued.
//
// The file audit device writes one JSON object per line, a request entry
// when a request arrives and a response entry when it is answered
// (audit/types.go, audit/entry_formatter.go):
//
//	{"time":"2026-03-04T10:00:00.123456Z","type":"response","auth":{"client_token":"hmac-sha256:…","display_name":"approle",…},"request":{"id":"4f0c…","operation":"update","mount_point":"pki/","mount_type":"pki","path":"pki/issue/web","remote_address":"10.0.0.5",…},"response":{"mount_point":"pki/","mount_type":"pki","data":{"certificate":"hmac-sha256:…","expiration":1772704800,"issuing_ca":"hmac-sha256:…","private_key":"hmac-sha256:…","serial_number":"hmac-sha256:…"}}}
//
// Keys may come in any order (older Vaults put type first, an entry with
// exclusions configured is written with its keys sorted), and the device's
// prefix option may put text before the object; the syslog and socket
// devices' lines are the same objects inside an envelope, unwrapped by the
// caller (record.Options.Envelope). The JSONx format is not read.
//
// # Issuances
//
// Only response entries are read (a request entry holds no certificate):
// a successful response (no error, no data.error) to a PKI mount's
// issuing path (mount_type "pki", or, when the entry does not name the
// mount's type, a path of that shape whose response carries serial_number
// or certificate) is an issuance. The issuing paths, relative to the
// mount, are issue/<role>, sign/<role>, sign-verbatim[/<role>], their
// issuer/<ref>/ forms, root/generate/<type>, root/rotate/<type>,
// issuers/generate/root/<type>, root/sign-intermediate and
// root/sign-self-issued (and their issuer/<ref>/ forms). Their response
// data holds serial_number (colon-separated hex), expiration (Unix
// seconds), certificate (PEM, or base64 DER with format=der; with
// pem_bundle the private key may come first), issuing_ca and ca_chain
// (builtin/logical/pki path_issue_sign.go, path_root.go).
//
// Vault HMACs every string of an audit entry unless the mount lists it in
// audit_non_hmac_response_keys (or the device is log_raw): strings then
// read "hmac-sha256:<hex>" and numbers stay as they are. When neither
// serial_number nor certificate is in clear the entry cannot name the
// certificate: it is ignored as IgnoreSerialHMAC, a reason of its own so
// that the run's summary counts such issuances and says how to log them.
// Other entries are ignored with a reason: request entries (IgnoreRequest),
// entries of other mounts (IgnoreNotPKI), PKI requests that issue nothing
// (reads, CRLs, roles, intermediate/generate, which returns a CSR:
// IgnoreNoIssuance), the enrolment protocols ACME, EST, SCEP and CMPv2,
// whose entries carry a raw HTTP body (IgnoreProtocol), and failed
// requests (IgnoreFailed); an issuing response that carries neither
// serial_number nor certificate (excluded from the entry) is
// IgnoreNoSerial. A line that is not JSON at all (a server log
// line among syslog output) is record.IgnoreNotEvent; a line that starts
// as an audit entry and cannot be read is rejected with the reason, as is
// an issuing response whose clear serial_number is not hex, whose
// certificate does not parse, or whose certificate's serial is not the
// logged one.
//
// # Mapping
//
// With the certificate in clear: ArtifactID = its serial (hex, canonical),
// Issuer = its issuer name (record.CanonicalDNAttrs, as the x509 kind reads
// it), Subject = its common name (else its canonical name), Names = its
// SANs, IssuedAt = not_before, ExpiresAt = not_after, RawSHA256 = the
// sha256 of its DER. With only serial_number in clear: ArtifactID =
// record.CanonicalSerial of it, ExpiresAt = expiration, IssuedAt = the
// entry's time (Vault backdates not_before 30 s by default, within the
// matcher's tolerance), Issuer = the subject of issuing_ca when that is in
// clear, else empty; Subject and Names are empty (a request's common_name
// is not the certificate's when the role takes it from the CSR). Attrs
// holds display_name and entity_id (auth), issuer_id and issuer_name (root
// generation, when in clear), the issuer_ref and role of the path,
// mount_point, namespace, operation, path, remote_address and request_id.
// Private keys are never read.
package vaultpki

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/certinfo"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads Vault audit logs for PKI issuances. See the package
// documentation.
var Format record.Format = format{}

type format struct{}

func (format) Name() string { return "vault-pki" }

func (format) Description() string {
	return "HashiCorp Vault audit log (file device, JSON): certificates issued by PKI mounts"
}

// IssuerLog reports that Vault's audit log is the CA's own record.
func (format) IssuerLog() bool { return true }

// LineIndependent reports that lines are read each on its own.
func (format) LineIndependent() bool { return true }

// Ignore reasons of audit entries that yield no issuance. The run's
// summary counts entries by reason and shows at most 80 bytes of one.
const (
	IgnoreRequest    = "audit request entry (issuances are read from responses)"
	IgnoreNotPKI     = "not a PKI request"
	IgnoreNoIssuance = "PKI request that issues no certificate"
	IgnoreProtocol   = "PKI enrolment protocol request (ACME, EST, SCEP, CMPv2: not read)"
	IgnoreFailed     = "failed request"
	// IgnoreSerialHMAC: Vault's default. The certificate was issued, but
	// the entry cannot say which one.
	IgnoreSerialHMAC = "serial HMAC'd in audit log (add serial_number to audit_non_hmac_response_keys)"
	IgnoreNoSerial   = "issuing response without serial_number or certificate"
)

// hmacPrefix starts every value the audit device HMACs.
const hmacPrefix = "hmac-sha256:"

// maxPrefix bounds the audit device's prefix option before the object.
const maxPrefix = 256

// maxSerial bounds a clear serial_number (20 octets are 59 characters in
// colon-separated hex).
const maxSerial = 128

// maxAttr bounds one attribute value taken from an entry.
const maxAttr = 1024

// Sniff accepts a sample with a Vault audit entry: a JSON object (after
// an optional prefix) whose type is request or response and whose request
// is an object with an operation.
func (format) Sniff(sample [][]byte) bool {
	var p fastjson.Parser
	for _, line := range sample {
		obj, ok := entryJSON(&p, bytes.TrimSpace(line))
		if !ok {
			continue
		}
		typ := string(obj.GetStringBytes("type"))
		if typ != "request" && typ != "response" {
			continue
		}
		req := obj.Get("request")
		if req != nil && req.Type() == fastjson.TypeObject && req.Get("operation") != nil && req.Get("operation").Type() == fastjson.TypeString {
			return true
		}
	}
	return false
}

// entryJSON parses line as a JSON object, past a prefix (the device's
// prefix option) of at most maxPrefix bytes.
func entryJSON(p *fastjson.Parser, line []byte) (*fastjson.Value, bool) {
	i := bytes.IndexByte(line, '{')
	if i < 0 || i > maxPrefix {
		return nil, false
	}
	v, err := p.ParseBytes(line[i:])
	if err != nil || v.Type() != fastjson.TypeObject {
		return nil, false
	}
	return v, true
}

// Parse streams the issuances of a Vault audit log into sink.
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
	attrs record.Attrs
}

func (p *parser) line(lineNo int64, line []byte) {
	pos := record.Position{File: p.in.Name, Line: lineNo, Format: p.name}
	reject := func(reason string) {
		p.sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(line)})
	}
	trimmed := bytes.TrimSpace(line)
	i := bytes.IndexByte(trimmed, '{')
	if i < 0 || i > maxPrefix {
		p.sink.Ignore(pos, record.IgnoreNotEvent)
		return
	}
	if i > 0 {
		if _, ok := entryJSON(&p.json, trimmed); !ok {
			// text with a brace in it, not a prefixed entry
			p.sink.Ignore(pos, record.IgnoreNotEvent)
			return
		}
	}
	o, ok := record.JSONObject(&p.json, trimmed[i:], pos, p.sink)
	if !ok {
		return
	}
	ignore, err := p.entry(pos, o)
	switch {
	case err != nil:
		reject(err.Error())
	case ignore != "":
		p.sink.Ignore(pos, ignore)
	}
}

// entry turns one audit entry into an issuance, or says why it yields
// none (ignore) or cannot be read (err).
func (p *parser) entry(pos record.Position, o *fastjson.Object) (ignore string, err error) {
	if err := duplicates(o, "type", "request", "response", "error", "time"); err != nil {
		return "", err
	}
	typ := o.Get("type")
	req := o.Get("request")
	switch {
	case typ == nil && req == nil:
		return record.IgnoreNotEvent, nil // another JSON log's line (the server's log_format=json)
	case typ == nil || typ.Type() != fastjson.TypeString:
		return "", errors.New("audit entry without a type")
	case string(typ.GetStringBytes()) == "request":
		return IgnoreRequest, nil
	case string(typ.GetStringBytes()) != "response":
		return record.IgnoreNotEvent, nil
	case req == nil || req.Type() != fastjson.TypeObject:
		return "", errors.New("response entry without a request object")
	}
	resp := o.Get("response")
	if resp != nil && resp.Type() != fastjson.TypeObject {
		return "", fmt.Errorf("response is a JSON %s, want an object", resp.Type())
	}
	path := str(req, "path")
	mountType := str(req, "mount_type")
	if mountType == "" {
		mountType = str(resp, "mount_type")
	}
	mountPoint := str(req, "mount_point")
	if mountPoint == "" {
		mountPoint = str(resp, "mount_point")
	}
	data := resp.Get("data")
	if data != nil && data.Type() != fastjson.TypeObject {
		data = nil
	}
	if err := duplicates(objectOf(data), "serial_number", "certificate", "issuing_ca", "expiration", "error"); err != nil {
		return "", fmt.Errorf("response data: %w", err)
	}
	pp, located := locate(path, mountPoint)
	issuing := located && pp.issues
	failed := len(o.Get("error").GetStringBytes()) > 0 || data.Get("error") != nil
	certData := data.Get("serial_number") != nil || data.Get("certificate") != nil
	switch {
	case mountType != "" && mountType != "pki":
		return IgnoreNotPKI, nil
	case mountType == "" && !(issuing && (certData || failed)):
		// an entry that does not name its mount's type is taken for
		// PKI only by its path and its data
		return IgnoreNotPKI, nil
	case protocolPath(strings.TrimPrefix(path, mountPoint)):
		return IgnoreProtocol, nil
	case !issuing:
		return IgnoreNoIssuance, nil
	case failed:
		return IgnoreFailed, nil
	}

	iss := record.Issuance{Kind: record.KindX509, Pos: pos}
	serialText, certText := str(data, "serial_number"), str(data, "certificate")
	serialClear := serialText != "" && !strings.HasPrefix(serialText, hmacPrefix)
	certClear := certText != "" && !strings.HasPrefix(certText, hmacPrefix)
	var serial string
	if serialClear {
		if len(serialText) > maxSerial {
			return "", fmt.Errorf("serial_number of %d characters is too long", len(serialText))
		}
		if serial, err = record.CanonicalSerial(serialText); err != nil {
			return "", fmt.Errorf("bad serial_number %q: %w", record.Excerpt(serialText, 40), err)
		}
	}
	switch {
	case certClear:
		der, err := certificateDER(certText)
		if err != nil {
			return "", err
		}
		c, err := certinfo.Read(der)
		if err != nil {
			return "", fmt.Errorf("certificate does not parse: %s", record.Excerpt(err.Error(), 120))
		}
		if serialClear && serial != c.Serial {
			return "", fmt.Errorf("serial_number %s is not the certificate's (%s)", serial, c.Serial)
		}
		iss.ArtifactID, iss.Issuer, iss.Subject = c.Serial, c.Issuer, c.Subject
		iss.Names, iss.IssuedAt, iss.ExpiresAt, iss.RawSHA256 = c.Names, c.NotBefore, c.NotAfter, c.SHA256
	case serialClear:
		iss.ArtifactID = serial
		if iss.ExpiresAt, err = expiration(data.Get("expiration")); err != nil {
			return "", err
		}
		if iss.IssuedAt, err = p.entryTime(o); err != nil {
			return "", err
		}
		if ca := str(data, "issuing_ca"); ca != "" && !strings.HasPrefix(ca, hmacPrefix) && !pp.selfIssued {
			// the issuer of what it signs is the issuing CA's subject
			if der, err := certificateDER(ca); err == nil {
				if c, err := certinfo.Read(der); err == nil {
					iss.Issuer = c.SubjectDN
				}
			}
		}
	case strings.HasPrefix(serialText, hmacPrefix) || strings.HasPrefix(certText, hmacPrefix):
		return IgnoreSerialHMAC, nil
	default:
		return IgnoreNoSerial, nil
	}
	iss.Attrs = p.attrsJSON(o, req, data, mountPoint, pp)
	p.sink.Issuance(&iss)
	return "", nil
}

// entryTime is the entry's time (RFC 3339, absent with the device's
// omit_time), else the envelope's.
func (p *parser) entryTime(o *fastjson.Object) (time.Time, error) {
	if v := o.Get("time"); v != nil {
		if v.Type() != fastjson.TypeString {
			return time.Time{}, fmt.Errorf("time is a JSON %s", v.Type())
		}
		t, err := record.ParseTime(string(v.GetStringBytes()), p.loc)
		if err != nil {
			return t, fmt.Errorf("bad time: %w", err)
		}
		return t, nil
	}
	return p.in.LineTime(), nil
}

// expiration reads the response's expiration, Unix seconds.
func expiration(v *fastjson.Value) (time.Time, error) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return time.Time{}, nil
	}
	var text string
	switch v.Type() {
	case fastjson.TypeNumber:
		text = v.String()
	case fastjson.TypeString:
		text = string(v.GetStringBytes())
		if strings.HasPrefix(text, hmacPrefix) {
			return time.Time{}, nil
		}
	default:
		return time.Time{}, fmt.Errorf("expiration is a JSON %s", v.Type())
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("expiration %q is not a number", record.Excerpt(text, 40))
	}
	t, err := record.EpochTime(f)
	if err != nil {
		return t, fmt.Errorf("bad expiration: %w", err)
	}
	return t, nil
}

// attrsJSON is the issuance's attributes, keys added in sorted order.
func (p *parser) attrsJSON(o *fastjson.Object, req, data *fastjson.Value, mountPoint string, pp pkiPath) string {
	auth := o.Get("auth")
	a := &p.attrs
	a.Reset()
	a.Add("display_name", clearValue(str(auth, "display_name")))
	a.Add("entity_id", clearValue(str(auth, "entity_id")))
	a.Add("issuer_id", clearValue(str(data, "issuer_id")))
	a.Add("issuer_name", clearValue(str(data, "issuer_name")))
	a.Add("issuer_ref", clip(pp.issuerRef))
	a.Add("mount_point", clip(mountPoint))
	a.Add("namespace", clearValue(str(req.Get("namespace"), "path")))
	a.Add("operation", clearValue(str(req, "operation")))
	a.Add("path", clip(str(req, "path")))
	a.Add("remote_address", clearValue(str(req, "remote_address")))
	a.Add("request_id", clearValue(str(req, "id")))
	a.Add("role", clip(pp.role))
	return a.String()
}

// str is v's string value at key, "" when v is nil or the value is not a
// string.
func str(v *fastjson.Value, key string) string {
	if v == nil {
		return ""
	}
	return string(v.GetStringBytes(key))
}

func objectOf(v *fastjson.Value) *fastjson.Object {
	if v == nil {
		return nil
	}
	o, _ := v.Object()
	return o
}

// duplicates is an error when o gives one of keys twice: JSON readers
// disagree on which one counts.
func duplicates(o *fastjson.Object, keys ...string) error {
	if o == nil {
		return nil
	}
	var seen uint32
	var err error
	o.Visit(func(k []byte, _ *fastjson.Value) {
		for i, key := range keys {
			if err == nil && string(k) == key {
				if seen&(1<<i) != 0 {
					err = fmt.Errorf("%s %s", record.ReasonDuplicateKey, key)
				}
				seen |= 1 << i
			}
		}
	})
	return err
}

// clearValue is a value for attrs: "" when the audit device HMAC'd it, else
// clipped.
func clearValue(s string) string {
	if strings.HasPrefix(s, hmacPrefix) {
		return ""
	}
	return clip(s)
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
