package envoy

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

const testJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2ln"

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata", record.Options{})
}

func TestGoldenFieldMap(t *testing.T) {
	recordtest.Golden(t, Format, "testdata/fieldmap", record.Options{FieldMap: map[string]string{
		"token": "x-auth-header", "time": "ts", "client_ip": "client", "user_agent": "ua",
		"observer": "svc", "principal": "peer_principal", "status": "code", "method": "verb", "path": "uri",
	}})
}

func TestObserverOption(t *testing.T) {
	line := `{"start_time":"2026-03-04T10:00:00Z","response_code":200,"authority":"a.example.com","authorization":"Bearer ` + testJWT + `"}`
	c, err := recordtest.Parse(Format, "x.log", []byte(line), record.Options{Observer: "edge-gw"})
	if err != nil || len(c.Sightings) != 1 {
		t.Fatalf("got %+v, %v", c, err)
	}
	if got := c.Sightings[0].Observer; got != "edge-gw" {
		t.Errorf("observer = %q, want edge-gw", got)
	}
}

// Istio's and Envoy Gateway's spellings are both read, Istio's first; a
// FieldMap key replaces both.
func TestKeySpellings(t *testing.T) {
	const jwt = `"Bearer ` + testJWT + `"`
	tests := []struct {
		name     string
		line     string
		fieldMap map[string]string
		want     record.Sighting // ClientIP, UserAgent, Observer, Action
	}{
		{"istio", `{"x_forwarded_for":"203.0.113.1","downstream_remote_address":"10.0.0.1:1","user_agent":"ua-i","authority":"i.example.com:443","path":"/i","method":"GET","authorization":` + jwt + `}`,
			nil, record.Sighting{ClientIP: "203.0.113.1", UserAgent: "ua-i", Observer: "i.example.com", Action: "GET /i"}},
		{"envoy gateway", `{"x-forwarded-for":"203.0.113.2, 10.0.0.9","downstream_remote_address":"10.0.0.1:1","user-agent":"ua-g",":authority":"g.example.com","x-envoy-origin-path":"/g?q=1","method":"GET","Authorization":` + jwt + `}`,
			nil, record.Sighting{ClientIP: "203.0.113.2", UserAgent: "ua-g", Observer: "g.example.com", Action: "GET /g"}},
		{"both, istio first", `{"x-forwarded-for":"203.0.113.2","x_forwarded_for":"203.0.113.1","user-agent":"ua-g","user_agent":"ua-i",":authority":"g.example.com","authority":"i.example.com","x-envoy-origin-path":"/g","path":"/i","authorization":` + jwt + `}`,
			nil, record.Sighting{ClientIP: "203.0.113.1", UserAgent: "ua-i", Observer: "i.example.com", Action: "/i"}},
		{"empty istio value falls back", `{"x_forwarded_for":"-","x-forwarded-for":"203.0.113.2","user_agent":null,"user-agent":"ua-g","authority":"-",":authority":"g.example.com","authorization":` + jwt + `}`,
			nil, record.Sighting{ClientIP: "203.0.113.2", UserAgent: "ua-g", Observer: "g.example.com"}},
		{"no forwarded-for: downstream peer, cluster", `{"downstream_remote_address":"10.0.0.1:1","upstream_cluster":"c1","AuThOrIzAtIoN":` + jwt + `}`,
			nil, record.Sighting{ClientIP: "10.0.0.1", Observer: "c1"}},
		{"field map replaces both spellings", `{"x-forwarded-for":"203.0.113.2","user-agent":"ua-g",":authority":"g.example.com","x-envoy-origin-path":"/g","authorization":` + jwt + `,"tok":` + jwt + `}`,
			map[string]string{"client_ip": "peer", "user_agent": "agent", "observer": "svc", "path": "uri", "token": "tok"},
			record.Sighting{}},
	}
	for _, tt := range tests {
		c, err := recordtest.Parse(Format, "x.log", []byte(tt.line), record.Options{FieldMap: tt.fieldMap})
		if err != nil || len(c.Sightings) != 1 {
			t.Errorf("%s: got %+v, %v", tt.name, c, err)
			continue
		}
		s := c.Sightings[0]
		got := record.Sighting{ClientIP: s.ClientIP, UserAgent: s.UserAgent, Observer: s.Observer, Action: s.Action}
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// Two authorization keys that differ in case are two headers: rejected, as
// a mapped token key is read only as written.
func TestAuthorizationCase(t *testing.T) {
	line := `{"authorization":"Bearer ` + testJWT + `","Authorization":"Bearer ` + testJWT + `x"}`
	c, err := recordtest.Parse(Format, "x.log", []byte(line), record.Options{})
	if err != nil || len(c.Rejects) != 1 || c.Rejects[0].Reason != ReasonDuplicateKey+` "Authorization"` {
		t.Errorf("default key: got %+v, %v", c, err)
	}
	c, err = recordtest.Parse(Format, "x.log", []byte(line), record.Options{FieldMap: map[string]string{"token": "Authorization"}})
	if err != nil || len(c.Sightings) != 1 || c.Sightings[0].Raw != testJWT+"x" {
		t.Errorf("mapped key: got %+v, %v", c, err)
	}
}

func TestLineTooLong(t *testing.T) {
	long := `{"start_time":"2026-03-04T10:00:00Z","response_code":200,"authority":"a","user_agent":"` +
		strings.Repeat("x", 200) + `","authorization":"Bearer ` + testJWT + `"}`
	c, err := recordtest.Parse(Format, "x.log", []byte(long+"\n"+long[:90]+`"}`+"\n"), record.Options{MaxLineBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rejects) != 1 || !strings.HasPrefix(c.Rejects[0].Reason, record.ReasonLineTooLong) || c.Rejects[0].Pos.Line != 1 {
		t.Fatalf("rejects = %+v", c.Rejects)
	}
}

func TestSniff(t *testing.T) {
	istio := []byte(`{"start_time":"2026-03-04T10:00:00.123Z","method":"GET","response_code":200,"authority":"a.example.com","authorization":null}`)
	tests := []struct {
		name   string
		sample []string
		want   bool
	}{
		{"istio", []string{string(istio)}, true},
		{"istio with a truncated last line", []string{string(istio), string(istio), string(istio[:40])}, true},
		{"envoy gateway", []string{`{"start_time":"2026-03-04T10:00:00.123Z","method":"GET","x-envoy-origin-path":"/","response_code":"200",":authority":"a.example.com","user-agent":"curl"}`}, true},
		{"cluster only", []string{`{"start_time":"x","response_code":"200","upstream_cluster":"c"}`}, true},
		{"no response_code", []string{`{"start_time":"x","authority":"a"}`}, false},
		{"no peer key", []string{`{"start_time":"x","response_code":200}`}, false},
		{"generic json", []string{`{"time":"2026-03-04T10:00:00Z","authorization":"Bearer ` + testJWT + `"}`}, false},
		{"nginx", []string{`203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" "-"`}, false},
		{"mostly garbage", []string{string(istio), "garbage", "more garbage", "{"}, false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		var sample [][]byte
		for _, s := range tt.sample {
			sample = append(sample, []byte(s))
		}
		if got := Format.Sniff(sample); got != tt.want {
			t.Errorf("%s: Sniff = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAction(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"GET", "/a?token=secret", "GET /a"},
		{"POST", "/a#frag", "POST /a"},
		{"", "/a", "/a"},
		{"GET", "", "GET"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := record.Action(tt.method, tt.path); got != tt.want {
			t.Errorf("action(%q, %q) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestHostOnly(t *testing.T) {
	tests := []struct{ in, want string }{
		{"api.example.com:443", "api.example.com"},
		{"api.example.com", "api.example.com"},
		{"[2001:db8::1]:8443", "2001:db8::1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := hostOnly(tt.in); got != tt.want {
			t.Errorf("hostOnly(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	f.Fuzz(func(t *testing.T, data []byte) {
		recordtest.CheckInvariants(t, Format, data)
	})
}

// discard is a sink that keeps nothing.
type discard struct{ n int }

func (d *discard) Sighting(*record.Sighting)      { d.n++ }
func (d *discard) Issuance(*record.Issuance)      {}
func (d *discard) Reject(*record.Reject)          { d.n++ }
func (d *discard) Ignore(record.Position, string) {}

func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 4<<20; i++ {
		fmt.Fprintf(&buf, `{"start_time":"2026-03-04T10:%02d:%02d.%03dZ","method":"GET","path":"/api/payments/%d","protocol":"HTTP/1.1","response_code":%d,"response_flags":"-","response_code_details":"via_upstream","connection_termination_details":null,"upstream_transport_failure_reason":null,"bytes_received":0,"bytes_sent":512,"duration":12,"upstream_service_time":"10","x_forwarded_for":"203.0.113.%d","user_agent":"payments-client/2.3","request_id":"7f1c9a2e-0b1d-4d7e-9a55-%012d","authority":"payments.example.com","upstream_host":"10.0.3.14:8080","upstream_cluster":"outbound|8080||payments.prod.svc.cluster.local","upstream_local_address":"10.0.1.5:45678","downstream_local_address":"10.0.1.5:8080","downstream_remote_address":"10.0.9.9:51234","requested_server_name":null,"route_name":"default","authorization":"Bearer %s%d"}`+"\n",
			i/60%60, i%60, i%1000, i, []int{200, 200, 200, 401}[i%4], i%250, i, testJWT, i%100)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var sink discard
		if err := Format.Parse(context.Background(), &record.Input{Name: "bench.log", R: bytes.NewReader(data)}, &sink); err != nil {
			b.Fatal(err)
		}
	}
}

func TestStatusCode(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{{"200", 200}, {"200.0", 200}, {"401", 401}, {"", 0}, {"-", 0}, {"2e2", 200}, {"200.5", 0}, {"NaN", 0}, {"1e300", 0}}
	for _, tt := range tests {
		if got := statusCode(tt.in); got != tt.want {
			t.Errorf("statusCode(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// Interned values are the text a line gives, made valid UTF-8, and the
// table stops growing at its bound.
func TestIntern(t *testing.T) {
	f := newFields(nil)
	if got := f.intern([]byte("curl/8.5")); got != "curl/8.5" {
		t.Errorf("intern = %q", got)
	}
	if got := f.intern([]byte("bad \xff agent")); got != "bad \uFFFD agent" {
		t.Errorf("intern of invalid UTF-8 = %q", got)
	}
	for i := range 2 * maxInterned {
		if got, want := f.intern([]byte(strconv.Itoa(i))), strconv.Itoa(i); got != want {
			t.Fatalf("intern = %q, want %q", got, want)
		}
	}
	if len(f.strs) > maxInterned {
		t.Errorf("the table holds %d values, over %d", len(f.strs), maxInterned)
	}
	for _, tt := range []struct{ method, path, want string }{
		{"GET", "/a?b=c", "GET /a"}, {"", "/a#x", "/a"}, {"POST", "", "POST"}, {"", "", ""},
	} {
		if got, want := f.action([]byte(tt.method), []byte(tt.path)), record.Action(tt.method, tt.path); got != tt.want || got != want {
			t.Errorf("action(%q, %q) = %q, want %q (record.Action %q)", tt.method, tt.path, got, tt.want, want)
		}
	}
}
