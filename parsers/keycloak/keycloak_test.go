package keycloak

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata", record.Options{})
}

func TestGoldenIssuerBase(t *testing.T) {
	opts := record.Options{FieldMap: map[string]string{"issuer_base": "https://sso.acme.test/"}}
	recordtest.Golden(t, Format, "testdata/issuer", opts)
}

func TestLocation(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	line := "2026-03-04 10:00:00,123 DEBUG [org.keycloak.events] (t) type=CLIENT_LOGIN, clientId=c, userId=u, token_id=t1\n"
	c, err := recordtest.Parse(Format, "kc.log", []byte(line), record.Options{Location: loc})
	if err != nil || len(c.Issuances) != 1 {
		t.Fatalf("err %v, got %+v", err, c)
	}
	if want := recordtest.MustTime("2026-03-04T09:00:00.123Z"); !c.Issuances[0].IssuedAt.Equal(want) {
		t.Errorf("IssuedAt = %v, want %v", c.Issuances[0].IssuedAt, want)
	}
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		msg  string
		want []field
		err  bool
	}{
		{"type=LOGIN", []field{{"type", "LOGIN"}}, false},
		{"type=A, scope=openid profile email, x=1", []field{{"type", "A"}, {"scope", "openid profile email"}, {"x", "1"}}, false},
		{"type=A, redirect_uri=https://x/?a=1, b, c=2", []field{{"type", "A"}, {"redirect_uri", "https://x/?a=1, b"}, {"c", "2"}}, false},
		{"type=A, scope='openid profile', x=1", []field{{"type", "A"}, {"scope", "openid profile"}, {"x", "1"}}, false},
		{`type="A", note="a \"b\", c=\"d\"", x="1"`, []field{{"type", "A"}, {"note", `a "b", c="d"`}, {"x", "1"}}, false},
		{`type="A", path="C:\", x="1"`, []field{{"type", "A"}, {"path", `C:\`}, {"x", "1"}}, false},
		{`type="A", userId="null", e=""`, []field{{"type", "A"}, {"userId", ""}, {"e", ""}}, false},
		{`type="A", v="unterminated, x=1`, nil, true},
		{`type=A, v='unterminated, x=1`, []field{{"type", "A"}, {"v", `'unterminated`}, {"x", "1"}}, false},
		{"type=A, userId=null, x=", []field{{"type", "A"}, {"userId", ""}, {"x", ""}}, false},
		{"type=A, =b", []field{{"type", "A, =b"}}, false},
		{"=A", nil, true},
		{"no equals", nil, true},
	}
	for _, tt := range tests {
		got, err := parseFields(nil, tt.msg)
		if (err != nil) != tt.err {
			t.Errorf("parseFields(%q) error = %v, want error %v", tt.msg, err, tt.err)
			continue
		}
		if !tt.err && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseFields(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		sample string
		want   bool
	}{
		{"2026-03-04 10:00:00,123 DEBUG [org.keycloak.events] (executor-thread-1) type=LOGIN, realmId=acme", true},
		{"2026-03-04 09:59:58,001 INFO  [org.keycloak.quarkus.runtime.KeycloakMain] (main) Starting", true},
		{"2026-03-04T09:59:58.001 INFO  [org.keycloak.services] (main) KC-SERVICES0050: Initializing master realm", true},
		{`{"timestamp":"2026-03-04T12:00:00.001Z","loggerName":"org.keycloak.events","message":"type=\"LOGIN\""}`, true},
		{`{"@timestamp":"2026-03-04T12:00:00.001Z","log.logger":"org.keycloak.services","message":"x"}`, true},
		{"2026-03-04 09:59:58,001 INFO  [io.quarkus] (main) started\nnoise\n2026-03-04 10:00:00,123 DEBUG [org.keycloak.events] (t) type=LOGIN", true},
		{`10.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET /realms/acme/protocol/openid-connect/token HTTP/1.1" 200 1234`, false},
		{`{"time":"2026-03-04T12:00:00Z","msg":"org.keycloak.events mentioned"}`, false},
		{"2026-03-04 09:59:58,001 INFO  [io.quarkus] (main) started", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := Format.Sniff(bytes.Split([]byte(tt.sample), []byte("\n"))); got != tt.want {
			t.Errorf("Sniff(%q) = %v, want %v", tt.sample, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	recordtest.Seeds(f, "testdata/issuer")
	f.Fuzz(func(t *testing.T, data []byte) {
		recordtest.CheckInvariants(t, Format, data)
	})
}

type discard struct{ n int }

func (d *discard) Sighting(*record.Sighting)      {}
func (d *discard) Issuance(*record.Issuance)      { d.n++ }
func (d *discard) Reject(*record.Reject)          {}
func (d *discard) Ignore(record.Position, string) {}

// syntheticLog is about size bytes of mixed Keycloak event lines.
func syntheticLog(size int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		ts := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond).Format("2006-01-02 15:04:05,000")
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "%s DEBUG [org.keycloak.events] (executor-thread-%d) type=CODE_TO_TOKEN, realmId=acme, clientId=payments-web, userId=6f1c0a52-7e0b-4c38-9d51-%012d, ipAddress=10.1.2.3, token_id=2b1e5a8c-0c1d-4b9a-8e7f-%012d, grant_type=authorization_code, refresh_token_type=Refresh, scope=openid profile email, refresh_token_id=9d8c7b6a-5f4e-4d3c-2b1a-%012d, client_auth_method=client-secret\n", ts, i%16, i, i, i)
		case 1:
			fmt.Fprintf(&b, "%s DEBUG [org.keycloak.events] (executor-thread-%d) type=\"REFRESH_TOKEN\", realmId=\"1b2c\", realmName=\"acme\", clientId=\"payments-web\", userId=\"6f1c0a52-7e0b-4c38-9d51-%012d\", sessionId=\"ab12\", ipAddress=\"10.1.2.3\", token_id=\"c3d4e5f6-0000-4aaa-9bbb-%012d\", grant_type=\"refresh_token\", scope=\"openid profile email\"\n", ts, i%16, i, i)
		case 2:
			fmt.Fprintf(&b, `{"timestamp":"2026-03-04T10:00:00.123Z","sequence":%d,"loggerClassName":"org.jboss.logging.Logger","loggerName":"org.keycloak.events","level":"DEBUG","message":"type=\"CLIENT_LOGIN\", realmId=\"1b2c\", realmName=\"acme\", clientId=\"batch\", userId=\"u%d\", ipAddress=\"10.1.5.5\", token_id=\"t%d\", grant_type=\"client_credentials\"","threadName":"executor-thread-1","threadId":42,"mdc":{},"ndc":"","hostName":"kc-0","processName":"QuarkusEntryPoint","processId":1}`+"\n", i, i, i)
		case 3:
			fmt.Fprintf(&b, "%s INFO  [org.keycloak.services] (executor-thread-2) KC-SERVICES0013: Failed authentication\n", ts)
		}
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	data := syntheticLog(4 << 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var d discard
		if err := Format.Parse(context.Background(), &record.Input{Name: "bench.log", R: bytes.NewReader(data)}, &d); err != nil {
			b.Fatal(err)
		}
		if d.n == 0 {
			b.Fatal("no issuances")
		}
	}
}

// A line of many ", " and quotes must parse in linear time.
func TestPathologicalLine(t *testing.T) {
	for _, filler := range []string{", ", `", `, `\", a`, ", a=", `", a="`} {
		msg := `type="CODE_TO_TOKEN", v="` + strings.Repeat(filler, 200_000)
		line := "2026-03-04 10:00:00,123 DEBUG [org.keycloak.events] (t) " + msg + "\n"
		start := time.Now()
		if _, err := recordtest.Parse(Format, "big.log", []byte(line), record.Options{}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("filler %q: took %v", filler, d)
		}
	}
}

func TestQuarkusDefaultTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when the fast path must decline
	}{
		{"2026-03-04 10:00:00,123", "2026-03-04T10:00:00.123Z"},
		{"2024-02-29 23:59:59,999", "2024-02-29T23:59:59.999Z"},
		{"2026-02-29 10:00:00,000", ""},
		{"2026-04-31 10:00:00,000", ""},
		{"2026-13-01 10:00:00,000", ""},
		{"2026-03-04 24:00:00,000", ""},
		{"2026-03-04T10:00:00,123", ""},
		{"2026-03-04 10:00:00.123", ""},
		{"2026-03-04 10:00:0a,123", ""},
		{"2026-03-04 10:00:00,12", ""},
	}
	for _, tt := range tests {
		got, ok := quarkusDefaultTime(tt.in, time.UTC)
		if ok != (tt.want != "") || ok && !got.Equal(recordtest.MustTime(tt.want)) {
			t.Errorf("quarkusDefaultTime(%q) = %v, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}
