package jsonbearer

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/ledger"
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
		"outcome": "verdict", "request_id": "rid", "token_id": "claims.tid", "issuer": "claims.authority",
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
		{"id only", []string{`{"time":"2026-03-04T10:00:00Z","service":"api","jti":"j1","iss":"https://idp","sub":"alice","status":200}`}, true},
		{"id only, entra uti and decision", []string{`{"timestamp":"2026-03-04T10:00:00Z","uti":"AAAB","decision":"deny"}`}, true},
		{"id only, token_id and string status", []string{`{"ts":1772618400,"token_id":"t1","status_code":"401"}`}, true},
		{"id without time", []string{`{"jti":"j1","status":200}`}, false},
		{"id without outcome or status", []string{`{"time":"x","jti":"j1"}`}, false},
		{"id with a status that is no HTTP code", []string{`{"time":"x","jti":"j1","status":"issued"}`}, false},
		{"id with issued_at", []string{`{"time":"x","jti":"j1","status":200,"issued_at":"2026-03-04T10:00:00Z"}`}, false},
		{"id with artifact_id", []string{`{"time":"x","jti":"j1","status":200,"Artifact_ID":"j1"}`}, false},
		{"id with raw_sha256", []string{`{"time":"x","token_id":"j1","outcome":"allow","raw_sha256":"00"}`}, false},
	}
	for _, tt := range tests {
		if got := Format.Sniff(lines(tt.sample)); got != tt.want {
			t.Errorf("%s: Sniff = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A ledger is never claimed as an id-only access log, nor the reverse; a
// ledger of JWT claim names only is claimed by neither (it must be named).
func TestSniffLedgerOverlap(t *testing.T) {
	tests := []struct {
		name               string
		line               string
		ledgerWant, jbWant bool
	}{
		{"ledger", `{"artifact_id":"j1","issuer":"https://idp","subject":"alice","issued_at":"2026-03-04T10:00:00Z","time":"2026-03-04T10:00:01Z","status":200}`, true, false},
		{"ledger, canonical issued_at", `{"jti":"j1","iss":"https://idp","issued_at":1772618400,"timestamp":"2026-03-04T10:00:00Z","outcome":"ok"}`, true, false},
		{"ledger of claim names", `{"jti":"j1","iss":"https://idp","sub":"alice","aud":"api","iat":1772618400,"exp":1772618700}`, false, false},
		{"id-only access log", `{"time":"2026-03-04T10:00:00Z","service":"api","jti":"j1","iss":"https://idp","sub":"alice","client_ip":"203.0.113.7","status":200}`, false, true},
	}
	for _, tt := range tests {
		sample := lines([]string{tt.line, tt.line})
		if got := ledger.Format.Sniff(sample); got != tt.ledgerWant {
			t.Errorf("%s: ledger Sniff = %v, want %v", tt.name, got, tt.ledgerWant)
		}
		if got := Format.Sniff(sample); got != tt.jbWant {
			t.Errorf("%s: json-bearer Sniff = %v, want %v", tt.name, got, tt.jbWant)
		}
	}
}

// A line with both a token and an id gives the token's sighting only; a line
// with an id only gives an id-only sighting.
func TestIDOnly(t *testing.T) {
	tests := []struct {
		name, line          string
		raw, id, iss, attrs string
	}{
		{"token wins", `{"jti":"j1","iss":"https://idp","authorization":"Bearer ` + testJWT + `"}`, testJWT, "", "", `{"token_field":"authorization"}`},
		{"jti", `{"jti":" j1 ","iss":"https://idp"}`, "", "j1", "https://idp", `{"id_field":"jti"}`},
		{"jwt_id and issuer", `{"jwt_id":"j2","issuer":"https://idp2","token":"opaque-not-a-jwt"}`, "", "j2", "https://idp2", `{"id_field":"jwt_id"}`},
		{"uti without issuer", `{"uti":"u1"}`, "", "u1", "", `{"id_field":"uti"}`},
	}
	for _, tt := range tests {
		c, err := recordtest.Parse(Format, "x.log", []byte(tt.line), record.Options{})
		if err != nil || len(c.Sightings) != 1 || c.Accounted() != 1 {
			t.Errorf("%s: got %+v, %v", tt.name, c, err)
			continue
		}
		s := c.Sightings[0]
		if s.Raw != tt.raw || s.ArtifactID != tt.id || s.Issuer != tt.iss || s.Kind != record.KindJWT || s.Attrs != tt.attrs {
			t.Errorf("%s: got %+v", tt.name, s)
		}
	}
}

func lines(ss []string) [][]byte {
	var sample [][]byte
	for _, s := range ss {
		sample = append(sample, []byte(s))
	}
	return sample
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
