package stepca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var gen = flag.Bool("gen", false, "regenerate the testdata logs that hold certificates (new random keys and serials)")

// TestGenerateTestdata writes the testdata logs that carry certificates,
// as step-ca's logging handler and LogCertificate write them through
// logrus' JSON and text formatters. It runs only with -gen; the files are
// committed so tests are deterministic (then run -update for the goldens).
func TestGenerateTestdata(t *testing.T) {
	if !*gen {
		t.Skip("run with -gen to regenerate testdata")
	}
	ca := newCA(t)
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	web := ca.leaf(t, "web.example.com", []string{"web.example.com", "www.example.com"}, []string{"10.0.0.7"}, nil, nil, t0)
	renewed := ca.leaf(t, "web.example.com", []string{"web.example.com", "www.example.com"}, []string{"10.0.0.7"}, nil, nil, t0.Add(20*time.Hour))
	rekeyed := ca.leaf(t, "api.example.com", []string{"api.example.com"}, nil, nil, nil, t0.Add(21*time.Hour))
	acme := ca.leaf(t, "", []string{"Shop.Example.com"}, nil, nil, nil, t0.Add(2*time.Minute))
	scep := ca.leaf(t, "device-42", nil, nil, []string{"ops@example.com"}, []string{"spiffe://example.com/device/42"}, t0.Add(3*time.Minute))
	other := ca.leaf(t, "other.example.com", []string{"other.example.com"}, nil, nil, nil, t0)

	banner := []string{
		"2026/03/04 09:58:10 Starting Smallstep CA/0.28.1 (linux/amd64)",
		"2026/03/04 09:58:10 Documentation: https://u.step.sm/docs/ca",
		"2026/03/04 09:58:10 Config file: /home/step/config/ca.json",
		"2026/03/04 09:58:10 The primary server URL is https://ca.example.com:9000",
		"2026/03/04 09:58:10 Root certificates are available at https://ca.example.com:9000/roots.pem",
		"2026/03/04 09:58:10 X.509 Root Fingerprint: 4c3b2a19e8f7d6c5b4a392817f6e5d4c3b2a19e8f7d6c5b4a392817f6e5d4c3b",
		"2026/03/04 09:58:10 Serving HTTPS on :9000 ...",
	}
	type entry struct {
		level  string
		at     time.Time
		fields map[string]any
	}
	req := func(at time.Time, method, path string, status int, extra map[string]any) entry {
		f := map[string]any{
			"request-id": fmt.Sprintf("d6kq3f2sr1bs73c1u%03d", at.Second()+at.Minute()*60%997), "remote-address": "10.0.0.5", "name": "ca",
			"user-id": "", "fields.time": at.Format(time.RFC3339), "duration-ns": 2104411, "duration": "2.104411ms",
			"method": method, "path": path, "protocol": "HTTP/2.0", "status": status, "size": 2417, "referer": "",
			"user-agent": "Smallstep CLI/0.28.1 (linux/amd64)",
		}
		for k, v := range extra {
			f[k] = v
		}
		level := "info"
		switch {
		case status >= 500:
			level = "error"
		case status >= 400:
			level = "warning"
		}
		return entry{level, at.Add(2 * time.Millisecond), f}
	}
	const ott = "eyJhbGciOiJFUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJ3ZWIuZXhhbXBsZS5jb20ifQ.c2lnbmF0dXJl"
	entries := []entry{
		req(t0.Add(-time.Minute), "GET", "/health", 200, nil),
		req(t0.Add(-50*time.Second), "GET", "/roots", 200, nil),
		req(t0, "POST", "/1.0/sign", 201, merge(logCertificate(web, "admin@example.com (4Rs9yQ3eXh0)"), map[string]any{"ott": ott})),
		req(t0.Add(time.Second), "POST", "/1.0/sign", 401, map[string]any{"ott": ott, "error": "authority.Authorize; error validating token: token already used"}),
		req(t0.Add(time.Minute), "POST", "/1.0/ssh/sign", 201, map[string]any{
			"ott": ott, "serial": uint64(8612232055386440238), "principals": []string{"alice", "alice@example.com"},
			"valid-from": t0.Add(time.Minute).Format(time.RFC3339), "valid-to": t0.Add(17 * time.Hour).Format(time.RFC3339),
			"certificate":      "AAAAKGVjZHNhLXNoYTItbmlzdHAyNTYtY2VydC12MDFAb3BlbnNzaC5jb20AAAAg",
			"certificate-type": "ecdsa-sha2-nistp256-cert-v01@openssh.com user certificate",
			"public-key":       "256 SHA256:vgL0C7eN7RtGK0b2r7Ptpoig8fokQqUwLcONsZ/m/ao (ECDSA-CERT)",
		}),
		req(t0.Add(2*time.Minute), "POST", "/acme/acme/certificate/Vx8pQ2rS4tU6", 200, logCertificate(acme, "acme")),
		req(t0.Add(3*time.Minute), "GET", "/scep/scepprov?operation=PKIOperation&message=MIIKGwYJKoZIhvcNAQcCoIIKDDCCCggCAQExDzAN", 200, logCertificate(scep, "scepprov")),
		req(t0.Add(20*time.Hour), "POST", "/1.0/renew", 201, logCertificate(renewed, "admin@example.com (4Rs9yQ3eXh0)")),
		req(t0.Add(21*time.Hour), "POST", "/1.0/rekey", 201, logCertificate(rekeyed, "admin@example.com (4Rs9yQ3eXh0)")),
		req(t0.Add(22*time.Hour), "POST", "/1.0/revoke", 200, merge(logCertificate(web, "admin@example.com (4Rs9yQ3eXh0)"), map[string]any{
			"reasonCode": 4, "reason": "superseded", "passiveOnly": false, "mTLS": true,
		})),
		req(t0.Add(22*time.Hour+time.Minute), "GET", "/provisioners", 200, nil),
	}

	var js, text, colored []string
	js = append(js, banner...)
	text = append(text, banner...)
	colored = append(colored, banner...)
	for _, e := range entries {
		js = append(js, jsonLine(e.level, e.at, e.fields))
		text = append(text, textLine(e.level, e.at, e.fields))
		colored = append(colored, coloredLine(e.level, e.at, e.fields))
	}
	text = append(text, "2026/03/05 08:03:12 http: TLS handshake error from 10.0.0.9:51234: EOF")
	write(t, "json.log", js)
	write(t, "text.log", text)
	write(t, "colored.log", colored)

	// A huge line: a request with a 64 KiB referer.
	huge := logCertificate(other, "admin@example.com (4Rs9yQ3eXh0)")
	huge["referer"] = "https://portal.example.com/?q=" + strings.Repeat("a", 64<<10)
	write(t, "huge-line.log", []string{jsonLine("info", t0, req(t0, "POST", "/1.0/sign", 201, huge).fields)})

	// Lines of step-ca's shape that cannot be read.
	mismatch := logCertificate(other, "admin@example.com (4Rs9yQ3eXh0)")
	mismatch["serial"] = "1234567890"
	garbage := logCertificate(other, "")
	garbage["certificate"] = base64.StdEncoding.EncodeToString([]byte("not a certificate"))
	notB64 := logCertificate(other, "")
	notB64["certificate"] = "MII%%%"
	dup := jsonLine("info", t0, req(t0, "POST", "/1.0/sign", 201, logCertificate(other, "")).fields)
	dup = strings.Replace(dup, `"serial":`, `"serial":"1","serial":`, 1)
	write(t, "rejects-cert.log", []string{
		jsonLine("info", t0, req(t0, "POST", "/1.0/sign", 201, mismatch).fields),
		jsonLine("info", t0, req(t0, "POST", "/1.0/sign", 201, garbage).fields),
		textLine("info", t0, req(t0, "POST", "/1.0/sign", 201, notB64).fields),
		dup,
	})
}

func merge(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// logCertificate is the fields api.LogCertificate adds for cert.
func logCertificate(cert *x509.Certificate, provisioner string) map[string]any {
	sans := map[string][]string{}
	if len(cert.DNSNames) > 0 {
		sans["dns"] = cert.DNSNames
	}
	if len(cert.EmailAddresses) > 0 {
		sans["email"] = cert.EmailAddresses
	}
	for _, ip := range cert.IPAddresses {
		sans["ip"] = append(sans["ip"], ip.String())
	}
	for _, u := range cert.URIs {
		sans["uri"] = append(sans["uri"], u.String())
	}
	m := map[string]any{
		"serial": cert.SerialNumber.String(), "subject": cert.Subject.CommonName, "issuer": cert.Issuer.CommonName,
		"sans": sans, "valid-from": cert.NotBefore.Format(time.RFC3339), "valid-to": cert.NotAfter.Format(time.RFC3339),
		"public-key": "ECDSA P-256", "certificate": base64.StdEncoding.EncodeToString(cert.Raw),
	}
	if provisioner != "" {
		m["provisioner"] = provisioner
	}
	return m
}

// jsonLine is logrus' JSONFormatter: the fields, time, level and msg, keys
// sorted (encoding/json sorts map keys), HTML characters escaped.
func jsonLine(level string, at time.Time, fields map[string]any) string {
	m := map[string]any{"level": level, "msg": "", "time": at.Format(time.RFC3339)}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// textLine is logrus' TextFormatter without colours: time, level, then
// the fields sorted (msg is left out when empty).
func textLine(level string, at time.Time, fields map[string]any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "time=%s level=%s", quoteValue(at.Format(time.RFC3339)), level)
	for _, k := range sortedKeys(fields) {
		fmt.Fprintf(&b, " %s=%s", k, quoteValue(fmt.Sprint(fields[k])))
	}
	return b.String()
}

// coloredLine is logrus' TextFormatter on a terminal.
func coloredLine(level string, at time.Time, fields map[string]any) string {
	color := map[string]int{"info": 36, "warning": 33, "error": 31}[level]
	var b strings.Builder
	fmt.Fprintf(&b, "\x1b[%dm%s\x1b[0m[%04d] %-44s ", color, strings.ToUpper(level)[:4], int(at.Sub(at.Truncate(time.Hour)).Seconds()), "")
	for _, k := range sortedKeys(fields) {
		fmt.Fprintf(&b, " \x1b[%dm%s\x1b[0m=%s", color, k, quoteValue(fmt.Sprint(fields[k])))
	}
	return b.String()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// quoteValue is logrus' quoting: %q unless every byte is in [A-Za-z0-9-._/@^+].
func quoteValue(s string) string {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._/@^+", c)) {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}

func write(t *testing.T, name string, lines []string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join("testdata", name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1001),
		Subject:               pkix.Name{CommonName: "Acme Intermediate CA", Organization: []string{"Acme Corp"}, Country: []string{"US"}},
		NotBefore:             time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert, key}
}

// leaf issues a certificate as step-ca does: a random 128-bit serial, not
// before backdated one minute, a day's validity.
func (ca testCA) leaf(t *testing.T, cn string, dns, ips, emails, uris []string, at time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: cn},
		NotBefore:      at.Add(-time.Minute),
		NotAfter:       at.Add(24 * time.Hour),
		DNSNames:       dns,
		EmailAddresses: emails,
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	for _, u := range uris {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, parsed)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
