package stepca

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata", record.Options{})
}

// step-ca under systemd, read from journalctl's default output: the
// envelope is unwrapped by record.EachLine.
func TestGoldenJournald(t *testing.T) {
	var env *record.Envelope
	for _, e := range record.Envelopes {
		if e.Name == "syslog" {
			env = e
		}
	}
	if env == nil {
		t.Fatal("no syslog envelope")
	}
	recordtest.Golden(t, Format, "testdata/envelope/journald", record.Options{Envelope: env})
}

func TestParseText(t *testing.T) {
	tests := []struct {
		line string
		want map[int]string
		err  bool
	}{
		{`time="2026-03-04T10:00:00Z" level=info path=/1.0/sign status=201`,
			map[int]string{kTime: "2026-03-04T10:00:00Z", kLevel: "info", kPath: "/1.0/sign", kStatus: "201"}, false},
		{`level=info referer= user-id= serial=1`, map[int]string{kLevel: "info", kSerial: "1"}, false},
		{`subject="a \"quoted\" name\tx" serial=2`, map[int]string{kSubject: "a \"quoted\" name\tx", kSerial: "2"}, false},
		{`subject="\x1b[31mred\u00e9"`, map[int]string{kSubject: "\x1b[31mredé"}, false},
		{`unknown="ignored value" serial=3`, map[int]string{kSerial: "3"}, false},
		{`subject="unterminated`, nil, true},
		{`subject="a"b serial=1`, nil, true},
		{`no-equals-here`, nil, true},
		{`=value`, nil, true},
		{`serial=1 serial=2`, nil, true},
	}
	for _, tt := range tests {
		var r request
		err := parseText(&r, tt.line)
		if (err != nil) != tt.err {
			t.Errorf("parseText(%q) error = %v, want error %v", tt.line, err, tt.err)
			continue
		}
		for k, v := range tt.want {
			if r.get(k) != v || !r.has(k) {
				t.Errorf("parseText(%q): key %d = %q, want %q", tt.line, k, r.get(k), v)
			}
		}
	}
}

func TestTextSans(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"map[]", nil, false},
		{"map[dns:[a.example.com B.Example.com.]]", []string{"a.example.com", "b.example.com"}, false},
		{"map[dns:[a.example.com] email:[Ops@Example.com] ip:[10.0.0.1 2001:db8:0:0::1] uri:[https://[::1]/x spiffe://e/w]]",
			[]string{"a.example.com", "ops@example.com", "10.0.0.1", "2001:db8::1", "https://[::1]/x", "spiffe://e/w"}, false},
		{"dns:[a]", nil, true},
		{"map[dns:[a]", nil, true},
		{"map[dns:a]", nil, true},
	}
	for _, tt := range tests {
		got, err := appendTextSans(nil, tt.in)
		if (err != nil) != tt.err || !tt.err && !slices.Equal(got, tt.want) {
			t.Errorf("appendTextSans(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseSerial(t *testing.T) {
	tests := []struct{ in, want string }{
		{"255", "ff"},
		{"0", "0"},
		{"0x00FF", "ff"},
		{"7f:00:ab", "7f00ab"},
		{"12ab", ""},
		{"", ""},
		{strings.Repeat("9", 81), ""},
	}
	for _, tt := range tests {
		got, err := parseSerial(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("parseSerial(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestStripEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\x1b[36mINFO\x1b[0m[0042] x", "INFO[0042] x"},
		{"plain", "plain"},
		{"a\x1b[1;31mb\x1bc", "ab"},
		{"trailing\x1b", "trailing"},
		{"\x1b[12;", ""},
	}
	for _, tt := range tests {
		if got := string(stripEscapes([]byte(tt.in))); got != tt.want {
			t.Errorf("stripEscapes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A line over the bound is rejected without being buffered, and the next
// line is read.
func TestLineTooLong(t *testing.T) {
	line := `{"level":"info","msg":"","time":"2026-03-04T10:00:00Z","path":"/1.0/sign","status":201,"serial":"1","referer":"` + strings.Repeat("x", 5000) + `"}` + "\n" +
		`{"level":"info","msg":"","time":"2026-03-04T10:00:00Z","path":"/1.0/sign","status":201,"serial":"2"}` + "\n"
	c, err := recordtest.Parse(Format, "big.log", []byte(line), record.Options{MaxLineBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rejects) != 1 || !strings.HasPrefix(c.Rejects[0].Reason, record.ReasonLineTooLong) || len(c.Issuances) != 1 || c.Issuances[0].ArtifactID != "2" {
		t.Errorf("got %+v", c)
	}
}

// Every issuance of a logged certificate takes its issuer's whole name
// from the certificate (the log holds only its common name) and the hash
// of its DER.
func TestCertificateMapping(t *testing.T) {
	data, err := os.ReadFile("testdata/json.log")
	if err != nil {
		t.Fatal(err)
	}
	c, err := recordtest.Parse(Format, "json.log", data, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Issuances) != 5 {
		t.Fatalf("%d issuances, want 5 (sign, ACME, SCEP, renew, rekey)", len(c.Issuances))
	}
	for _, iss := range c.Issuances {
		if iss.Kind != record.KindX509 || iss.Issuer != "c=us,cn=acme intermediate ca,o=acme corp" || len(iss.RawSHA256) != 64 || iss.ArtifactID == "" {
			t.Errorf("issuance %+v", iss)
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		sample string
		want   bool
	}{
		{`{"duration-ns":1,"level":"info","msg":"","path":"/health","remote-address":"10.0.0.1","request-id":"x","status":200,"time":"2026-03-04T10:00:00Z"}`, true},
		{`time="2026-03-04T10:00:00Z" level=info duration-ns=1 path=/health remote-address=10.0.0.1 request-id=x status=200`, true},
		{"\x1b[36mINFO\x1b[0m[0000]                                               \x1b[36mduration-ns\x1b[0m=1 \x1b[36mpath\x1b[0m=/health \x1b[36mremote-address\x1b[0m=10.0.0.1 \x1b[36mrequest-id\x1b[0m=x \x1b[36mstatus\x1b[0m=200", true},
		{"2026/03/04 09:58:10 Starting Smallstep CA/0.28.1 (linux/amd64)", true},
		{"2026/03/04 09:58:10 Serving HTTPS on :9000 ...", false},
		// other formats' lines
		{`{"time":"2026-03-04T10:00:00Z","type":"response","auth":{"client_token":"hmac-sha256:ab"},"request":{"id":"x","operation":"update","path":"pki/issue/web","remote_address":"10.0.0.1"}}`, false},
		{`{"time":"2026-03-04T10:00:00Z","remote_addr":"10.0.0.1","path":"/api","status":200,"authorization":"Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln","request_id":"x"}`, false},
		{`2026-03-04 10:00:00,123 DEBUG [org.keycloak.events] (executor-thread-1) type=CODE_TO_TOKEN, realmId=acme, ipAddress=10.1.2.3`, false},
		{`10.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "POST /1.0/sign HTTP/1.1" 201 2417 "-" "Smallstep CLI/0.28.1"`, false},
		{`d6kq3f2sr1bs73c1u000 10.0.0.5 ca - 2026-03-04T10:00:00Z 2 "POST /1.0/sign HTTP/2.0" 201 2417`, false}, // step-ca's "common" format: no certificate fields
		{`time="2026-03-04T10:00:00Z" level=info msg="remote-address= duration-ns= request-id= status="`, false},
		{"", false},
	}
	for _, tt := range tests {
		if got := Format.Sniff(bytes.Split([]byte(tt.sample), []byte("\n"))); got != tt.want {
			t.Errorf("Sniff(%q) = %v, want %v", tt.sample, got, tt.want)
		}
	}
}

// The other formats' test inputs are never taken for step-ca logs.
func TestSniffOtherFormats(t *testing.T) {
	files, err := filepath.Glob("../*/testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("../*/testdata/*/*")
	n := 0
	for _, path := range append(files, more...) {
		if strings.HasPrefix(path, "../stepca/") || strings.HasSuffix(path, ".golden") {
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
	recordtest.Seeds(f, "testdata/envelope/journald")
	f.Fuzz(func(t *testing.T, data []byte) {
		recordtest.CheckInvariants(t, Format, data)
	})
}

// The run's summary shows 80 bytes of an ignore reason.
func TestIgnoreReasonsFit(t *testing.T) {
	for _, r := range []string{IgnoreNoCertificate, IgnoreFailed, IgnoreSSH, IgnoreRevocation} {
		if len(r) > 80 {
			t.Errorf("ignore reason %q is %d bytes, over 80", r, len(r))
		}
	}
}
