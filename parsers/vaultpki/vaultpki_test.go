package vaultpki

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata", record.Options{})
}

// The syslog audit device's lines, read from the system log: the envelope
// is unwrapped by record.EachLine.
func TestGoldenSyslog(t *testing.T) {
	var env *record.Envelope
	for _, e := range record.Envelopes {
		if e.Name == "syslog" {
			env = e
		}
	}
	if env == nil {
		t.Fatal("no syslog envelope")
	}
	recordtest.Golden(t, Format, "testdata/envelope/syslog", record.Options{Envelope: env})
}

func TestLocate(t *testing.T) {
	tests := []struct {
		path, mount string
		issues      bool
		role, ref   string
	}{
		{"pki/issue/web", "pki/", true, "web", ""},
		{"pki/sign/web", "pki/", true, "web", ""},
		{"pki/sign-verbatim", "pki/", true, "", ""},
		{"pki/sign-verbatim/web", "pki/", true, "web", ""},
		{"pki/issuer/default/issue/web", "pki/", true, "web", "default"},
		{"pki/issuer/8f1c/sign-verbatim/web", "pki/", true, "web", "8f1c"},
		{"pki/issuer/8f1c/sign-intermediate", "pki/", true, "", "8f1c"},
		{"pki/root/generate/internal", "pki/", true, "", ""},
		{"pki/root/rotate/exported", "pki/", true, "", ""},
		{"pki/issuers/generate/root/internal", "pki/", true, "", ""},
		{"pki/root/sign-intermediate", "pki/", true, "", ""},
		{"pki/root/sign-self-issued", "pki/", true, "", ""},
		{"pki/int/issue/web", "pki/int/", true, "web", ""},
		{"pki/intermediate/generate/internal", "pki/", false, "", ""},
		{"pki/intermediate/set-signed", "pki/", false, "", ""},
		{"pki/cert/3a:8f", "pki/", false, "", ""},
		{"pki/issue/", "pki/", false, "", ""},
		{"pki/issue/web/extra", "pki/", false, "", ""},
		// no mount point logged: found by shape, after the mount
		{"pki/issue/web", "", true, "web", ""},
		{"team/pki/issuer/default/sign/web", "", true, "web", "default"},
		{"issue/web", "", false, "", ""},
		// a mount point the path does not start with is not trusted
		{"pki2/issue/web", "pki/", true, "web", ""},
	}
	for _, tt := range tests {
		p, ok := locate(tt.path, tt.mount)
		if ok && p.issues != tt.issues || !ok && tt.issues || p.role != tt.role || p.issuerRef != tt.ref {
			t.Errorf("locate(%q, %q) = %+v, %v; want issues %v role %q ref %q", tt.path, tt.mount, p, ok, tt.issues, tt.role, tt.ref)
		}
	}
}

func TestCertificateDER(t *testing.T) {
	for _, in := range []string{"", "MII@@@", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----", "-----BEGIN CERTIFICATE-----\nnot base64!\n"} {
		if _, err := certificateDER(in); err == nil {
			t.Errorf("certificateDER(%q) succeeded", in)
		}
	}
}

// A line over the bound is rejected without being buffered, and the next
// line is read.
func TestLineTooLong(t *testing.T) {
	entry := `{"time":"2026-03-04T10:00:00Z","type":"response","request":{"id":"a","operation":"update","mount_type":"pki","mount_point":"pki/","path":"pki/issue/web"},"response":{"data":{"serial_number":"0a"}}}`
	data := strings.Replace(entry, `"id":"a"`, `"id":"`+strings.Repeat("a", 5000)+`"`, 1) + "\n" + entry + "\n"
	c, err := recordtest.Parse(Format, "audit.log", []byte(data), record.Options{MaxLineBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rejects) != 1 || !strings.HasPrefix(c.Rejects[0].Reason, record.ReasonLineTooLong) || len(c.Issuances) != 1 || c.Issuances[0].ArtifactID != "a" {
		t.Errorf("got %+v", c)
	}
}

// Vault's default audit configuration: every issuance is counted under
// its own reason, which says how to make it readable.
func TestDefaultHMACIsCounted(t *testing.T) {
	data, err := os.ReadFile("testdata/hmac-default.log")
	if err != nil {
		t.Fatal(err)
	}
	c, err := recordtest.Parse(Format, "audit.log", data, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ig := range c.Ignores {
		if ig.Reason == IgnoreSerialHMAC {
			n++
		}
	}
	if n != 2 || len(c.Issuances) != 0 || len(c.Rejects) != 0 {
		t.Errorf("%d ignored as %q, %d issuances, %d rejects; want 2, 0, 0", n, IgnoreSerialHMAC, len(c.Issuances), len(c.Rejects))
	}
}

// A private key a raw audit log holds is never kept.
func TestPrivateKeyNotKept(t *testing.T) {
	data, err := os.ReadFile("testdata/clear-cert.log")
	if err != nil {
		t.Fatal(err)
	}
	c, err := recordtest.Parse(Format, "audit.log", data, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Issuances) == 0 {
		t.Fatal("no issuances")
	}
	if out := recordtest.Render(c, nil); bytes.Contains(out, []byte("PRIVATE KEY")) || bytes.Contains(out, []byte("MHcCAQEE")) {
		t.Error("a private key reached the records")
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		sample string
		want   bool
	}{
		{`{"time":"2026-03-04T10:00:00Z","type":"request","auth":{"token_type":"default"},"request":{"id":"x","operation":"update","path":"sys/audit/file"}}`, true},
		{`{"auth":{},"request":{"id":"x","operation":"read","path":"secret/data/a"},"response":{},"time":"2026-03-04T10:00:00Z","type":"response"}`, true},
		{`vault-audit: {"type":"response","request":{"operation":"update","path":"pki/issue/web"}}`, true},
		{`{"@level":"info","@message":"enabled audit backend","@module":"core","@timestamp":"2026-03-04T10:00:00.000123Z"}`, false},
		{`2026-03-04T10:00:00.000Z [INFO]  core: successful mount: namespace="" path=pki/ type=pki`, false},
		// other formats' lines
		{`{"time":"2026-03-04T10:00:00Z","type":"request","authorization":"Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}`, false},
		{`{"time":1672831989826,"type":"CLIENT_LOGIN","realmId":"acme","details":{"token_id":"t"}}`, false},
		{`{"type":"response","request":"pki/issue/web"}`, false},
		{`{"type":"response","request":{"path":"pki/issue/web"}}`, false},
		{`{"duration-ns":1,"level":"info","msg":"","path":"/1.0/sign","remote-address":"10.0.0.1","request-id":"x","status":201,"time":"2026-03-04T10:00:00Z"}`, false},
		{"", false},
	}
	for _, tt := range tests {
		if got := Format.Sniff(bytes.Split([]byte(tt.sample), []byte("\n"))); got != tt.want {
			t.Errorf("Sniff(%q) = %v, want %v", tt.sample, got, tt.want)
		}
	}
}

// The other formats' test inputs are never taken for Vault audit logs.
func TestSniffOtherFormats(t *testing.T) {
	files, err := filepath.Glob("../*/testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("../*/testdata/*/*")
	n := 0
	for _, path := range append(files, more...) {
		if strings.HasPrefix(path, "../vaultpki/") || strings.HasSuffix(path, ".golden") {
			continue
		}
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n++
		if Format.Sniff(sampleLines(data)) {
			t.Errorf("Sniff claims %s", path)
		}
	}
	if n == 0 {
		t.Fatal("no other formats' testdata found")
	}
}

// sampleLines is the first record.SniffLines non-empty lines, as detection
// offers them.
func sampleLines(data []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 && len(out) < record.SniffLines {
			out = append(out, l)
		}
	}
	return out
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	recordtest.Seeds(f, "testdata/envelope/syslog")
	f.Fuzz(func(t *testing.T, data []byte) {
		recordtest.CheckInvariants(t, Format, data)
	})
}

// The run's summary shows 80 bytes of an ignore reason: the hint must fit.
func TestIgnoreReasonsFit(t *testing.T) {
	for _, r := range []string{IgnoreRequest, IgnoreNotPKI, IgnoreNoIssuance, IgnoreProtocol, IgnoreFailed, IgnoreSerialHMAC, IgnoreNoSerial} {
		if len(r) > 80 {
			t.Errorf("ignore reason %q is %d bytes, over 80", r, len(r))
		}
	}
}
