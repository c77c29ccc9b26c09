package nginx

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

const testJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2ln"

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata", record.Options{})
}

func TestObserverOption(t *testing.T) {
	line := `203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" "Bearer ` + testJWT + `"`
	vhost := `shop.example.com:443 ` + line
	ingress := `203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" 112 0.004 [default-payments-8080] [] 10.244.1.17:8080 1 0.004 200 5f2b "Bearer ` + testJWT + `"`
	for _, tt := range []struct{ line, name, observer, want string }{
		{line, "/var/log/nginx/payments-access.log.1.gz", "", "payments-access"},
		{line, "/var/log/nginx/payments-access.log.1.gz", "payments-edge", "payments-edge"},
		{vhost, "/var/log/nginx/payments-access.log.1.gz", "", "shop.example.com"},
		{vhost, "/var/log/nginx/payments-access.log.1.gz", "payments-edge", "payments-edge"},
		{ingress, "/var/log/nginx/payments-access.log.1.gz", "", "default-payments-8080"},
		{ingress, "/var/log/nginx/payments-access.log.1.gz", "payments-edge", "payments-edge"},
	} {
		c, err := recordtest.Parse(Format, tt.name, []byte(tt.line), record.Options{Observer: tt.observer})
		if err != nil || len(c.Sightings) != 1 {
			t.Fatalf("got %+v, %v", c, err)
		}
		if got := c.Sightings[0].Observer; got != tt.want {
			t.Errorf("%s, %q: observer = %q, want %q", tt.name, tt.observer, got, tt.want)
		}
	}
}

func TestObserverFromName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"payments-access.log.1.gz", "payments-access"},
		{"/var/log/nginx/access.log", "access"},
		{"access.log-20260304.gz", "access"},
		{"api_access.log-2026-03-04.zst", "api_access"},
		{"api.log-1772618400", "api"},
		{`C:\logs\edge.log.12`, "edge"},
		{"billing", "billing"},
		{"log", "log"},
		{".log", ".log"},
		{"20260304.log", "20260304"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ObserverFromName(tt.in); got != tt.want {
			t.Errorf("ObserverFromName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{`-`, ``},
		{`plain`, `plain`},
		{`a\x22b\x22`, `a"b"`},
		{`\x5Cpath`, `\path`},
		{`json \"q\" \\`, `json "q" \`},
		{`caf\xC3\xA9`, `café`},
		{`caf\xE9`, `caf\xE9`}, // not UTF-8 once decoded: kept as logged
		{`a\nb\tc\u001b[0m\u00e9`, "a\nb\tc\x1b[0m\u00e9"},
		{`\ud83d`, `\ud83d`}, // a lone surrogate: kept as logged
		{`\x1B[31m`, "\x1b[31m"},
		{`trailing\`, `trailing\`},
		{`\xZZ \q`, `\xZZ \q`},
	}
	for _, tt := range tests {
		if got := unescape([]byte(tt.in)); got != tt.want {
			t.Errorf("unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAction(t *testing.T) {
	tests := []struct{ in, act, proto string }{
		{"GET /a?token=x HTTP/1.1", "GET /a", "HTTP/1.1"},
		{"GET /health", "GET /health", ""},
		{"-", "", ""},
		{"\x16\x03\x01", "", ""},
		{"GET  HTTP/1.1", "", ""},
		{"A B C D", "", ""},
	}
	for _, tt := range tests {
		if act, proto := action(tt.in); act != tt.act || proto != tt.proto {
			t.Errorf("action(%q) = %q, %q, want %q, %q", tt.in, act, proto, tt.act, tt.proto)
		}
	}
}

func TestIsIPList(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"198.51.100.9", true},
		{"198.51.100.9, 10.0.0.1", true},
		{"2001:db8::1,10.0.0.1", true},
		{"-", false},
		{"", false},
		{"10.0.0.1,", false},
		{"0.012", false},
		{"unknown, 10.0.0.1", false},
	}
	for _, tt := range tests {
		if got := isIPList([]byte(tt.in)); got != tt.want {
			t.Errorf("isIPList(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSniff(t *testing.T) {
	good := `203.0.113.7 - alice [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8" "Bearer ` + testJWT + `"`
	plain := `203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8"`
	tests := []struct {
		name   string
		sample []string
		want   bool
	}{
		{"with authorization", []string{good, good}, true},
		{"virtual host first", []string{"shop.example.com " + good, "shop.example.com:443 " + good}, true},
		{"X-Forwarded-For list as address", []string{"198.51.100.9, " + good}, true},
		{"ingress-nginx", []string{plain + ` 112 0.004 [default-payments-8080] [] 10.244.1.17:8080, 10.244.2.9:8080 0, 1 0.001, 0.003 502, 200 5f2b9e3c`}, true},
		{"words before the address", []string{"a b " + good}, false},
		{"plain combined", []string{plain}, true},
		{"truncated last line", []string{good, good, good[:50]}, true},
		{"common log format", []string{`203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1`}, false},
		{"bad time", []string{`203.0.113.7 - - [yesterday] "GET / HTTP/1.1" 200 1 "-" "curl/8"`}, false},
		{"json", []string{`{"start_time":"2026-03-04T10:00:00Z","response_code":200,"authority":"a"}`}, false},
		{"mostly other", []string{good, "x", "y", "z"}, false},
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

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	f.Fuzz(func(t *testing.T, data []byte) {
		recordtest.CheckInvariants(t, Format, data)
	})
}

type discard struct{ n int }

func (d *discard) Sighting(*record.Sighting)      { d.n++ }
func (d *discard) Issuance(*record.Issuance)      {}
func (d *discard) Reject(*record.Reject)          { d.n++ }
func (d *discard) Ignore(record.Position, string) {}

func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 4<<20; i++ {
		fmt.Fprintf(&buf, `10.0.%d.%d - - [04/Mar/2026:10:%02d:%02d +0000] "GET /api/payments/%d?limit=10 HTTP/1.1" %d %d "https://shop.example.com/" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)" "198.51.100.%d, 10.0.0.1" "Bearer %s%d" 0.012`+"\n",
			i%256, i%200, i/60%60, i%60, i, []int{200, 200, 200, 401}[i%4], 100+i%900, i%250, testJWT, i%100)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var sink discard
		if err := Format.Parse(context.Background(), &record.Input{Name: "payments-access.log", R: bytes.NewReader(data)}, &sink); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTimeLocal(t *testing.T) {
	for _, in := range []string{
		"04/Mar/2026:10:00:00 +0000", "04/Mar/2026:10:00:01 +0100", "31/Dec/1999:23:59:59 -0930",
		"29/Feb/2024:00:00:00 +0000", "29/Feb/2026:00:00:00 +0000", "31/Apr/2026:00:00:00 +0000",
		"04/Mar/2026:25:00:04 +0000", "04/Xyz/2026:10:00:00 +0000", "4/Mar/2026:10:00:00 +0000",
		"04/Mar/2026:10:00:00 0000", "04/Mar/2026:10:00:60 +0000", "04/mar/2026:10:00:00 +0000",
	} {
		want, werr := time.Parse("02/Jan/2006:15:04:05 -0700", in)
		got, ok := timeLocal([]byte(in))
		// The fast path may decline odd spellings (lowercase month) that
		// record.ParseTime then reads; it must never accept a bad time.
		if ok && (werr != nil || !got.Equal(want)) || !ok && werr == nil && in[3] != 'm' {
			t.Errorf("timeLocal(%q) = %v, %v; time.Parse = %v, %v", in, got, ok, want, werr)
		}
	}
}
