package jsonbearer

import (
	"bytes"
	"context"
	"fmt"
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
		"token": "ctx.http.hdr.x-jwt-assertion", "time": "evt.at", "principal": "evt.who", "observer": "svc",
		"client_ip": "peer", "user_agent": "agent", "status": "code", "method": "verb", "path": "target",
		"outcome": "verdict", "request_id": "rid",
	}})
}

func TestObserverOption(t *testing.T) {
	line := `{"service":"from-log","authorization":"Bearer ` + testJWT + `"}`
	c, err := recordtest.Parse(Format, "x.log", []byte(line), record.Options{Observer: "set"})
	if err != nil || len(c.Sightings) != 1 || c.Sightings[0].Observer != "set" {
		t.Fatalf("got %+v, %v", c, err)
	}
}

func TestOutcome(t *testing.T) {
	tests := []struct{ in, want string }{
		{"allow", record.OutcomeAccepted}, {"Accepted", record.OutcomeAccepted}, {"permit", record.OutcomeAccepted},
		{"DENY", record.OutcomeRejected}, {"rejected", record.OutcomeRejected}, {"forbidden", record.OutcomeRejected},
		{"", record.OutcomeUnknown}, {"maybe", record.OutcomeUnknown},
	}
	for _, tt := range tests {
		if got := outcome(tt.in); got != tt.want {
			t.Errorf("outcome(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name   string
		sample []string
		want   bool
	}{
		{"bearer", []string{`{"time":"x","authorization":"Bearer ` + testJWT + `"}`}, true},
		{"bare jwt", []string{`{"jwt":"` + testJWT + `"}`}, true},
		{"non-JWT bearer still claims", []string{`{"token":"Bearer opaque"}`}, true},
		{"nested", []string{`{"request":{"headers":{"authorization":"Bearer ` + testJWT + `"}}}`}, true},
		{"one token among plain lines", []string{`{"a":1}`, `{"a":2}`, `{"authorization":"Bearer ` + testJWT + `"}`}, true},
		{"json without tokens", []string{`{"time":"x","msg":"hello"}`, `{"authorization":"-"}`}, false},
		{"basic only", []string{`{"authorization":"Basic YWxpY2U6c2VjcmV0"}`}, false},
		{"opaque token", []string{`{"token":"gho_abc"}`}, false},
		{"mostly text", []string{`{"jwt":"` + testJWT + `"}`, "a", "b", "c"}, false},
		{"nginx", []string{`203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" "Bearer ` + testJWT + `"`}, false},
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
		fmt.Fprintf(&buf, `{"time":"2026-03-04T10:%02d:%02d.%03dZ","level":"info","msg":"request served","service":"payments-api","user":"user-%d","client_ip":"203.0.113.%d","user_agent":"payments-client/2.3","method":"GET","path":"/api/payments/%d","status":%d,"duration_ms":12.5,"request_id":"r-%d","authorization":"Bearer %s%d"}`+"\n",
			i/60%60, i%60, i%1000, i%50, i%250, i, []int{200, 200, 200, 401}[i%4], i, testJWT, i%100)
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
