package record_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

const (
	jwtA = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2ln"
	jwtB = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnMg"
	// padded as AWS ALB writes x-amzn-oidc-data
	jwtPadded = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJib2IifQ==.c2lnMg=="
	jwe       = "eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn"
)

func TestFindJWTs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"bearer header", `"Bearer ` + jwtA + `"`, []string{jwtA}},
		{"two distinct and a repeat", jwtA + " " + jwtB + " " + jwtA, []string{jwtA, jwtB}},
		{"padded", "x-amzn-oidc-data: " + jwtPadded, []string{jwtPadded}},
		{"jwe", "tok=" + jwe + "&x=1", []string{jwe}},
		{"query parameter", "GET /cb?access_token=" + jwtA + "&state=1", []string{jwtA}},
		{"json value", `{"authorization":"Bearer ` + jwtA + `","a":1}`, []string{jwtA}},
		{"after a NUL", "ua\x00" + jwtA, []string{jwtA}},
		{"host name is not a token", "api.example.com www.payments.example", nil},
		{"version is not a token", "app-1.2.3 nginx/1.25.3", nil},
		{"header that is not JSON", "YWJj.ZGVm.Z2hp", nil},
		{"inside a longer run", "x" + jwtA, nil},
		{"glued to a dot run", "a." + jwtA, nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := record.FindJWTs(nil, tt.in, record.MaxSalvagedPerLine)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FindJWTs(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFindJWTsBounded(t *testing.T) {
	var b strings.Builder
	for i := range 40 {
		b.WriteString(jwtA[:len(jwtA)-1])
		b.WriteByte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"[i])
		b.WriteByte(' ')
	}
	if got := record.FindJWTs(nil, b.String(), record.MaxSalvagedPerLine); len(got) != record.MaxSalvagedPerLine {
		t.Fatalf("got %d tokens, want the bound %d", len(got), record.MaxSalvagedPerLine)
	}
}

// fakeFormat is a format without a Salvager: the generic locator finds fields.
type fakeFormat struct{}

func (fakeFormat) Name() string        { return "fake" }
func (fakeFormat) Description() string { return "" }
func (fakeFormat) Sniff([][]byte) bool { return false }
func (fakeFormat) Parse(context.Context, *record.Input, record.Sink) error {
	return nil
}

func TestSalvageSinkGenericText(t *testing.T) {
	c := &recordtest.Collector{}
	sink := record.SalvageSink(c, fakeFormat{}, record.Options{Observer: "edge"})
	line := "203.0.113.9 - - [04/Mar/2026:10:00:00 +0000] \"GET /api/pay?x=1 HTTP/1.1\" 200 12 \"-\" \"ua\x1b[31m\" \"Bearer " + jwtA + "\""
	pos := record.Position{File: "a.log", Line: 7, Format: "nginx"}
	sink.Reject(&record.Reject{Pos: pos, Reason: "control character in line", Excerpt: line})
	if len(c.Rejects) != 1 {
		t.Fatalf("the reject must pass through: %+v", c.Rejects)
	}
	if len(c.Sightings) != 1 {
		t.Fatalf("want one salvaged sighting, got %+v", c.Sightings)
	}
	s := c.Sightings[0]
	want := record.Sighting{
		Kind: record.KindJWT, Raw: jwtA, Source: record.SourceAuth, Pos: pos,
		ObservedAt: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), ClientIP: "203.0.113.9", Observer: "edge",
		Action: "GET /api/pay", Outcome: record.OutcomeAccepted, Attrs: `{"status":"200"}`,
		Salvaged: "control character in line",
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("salvaged\n got %+v\nwant %+v", s, want)
	}
}

func TestSalvageSinkDuplicateKeyIsAmbiguous(t *testing.T) {
	c := &recordtest.Collector{}
	sink := record.SalvageSink(c, fakeFormat{}, record.Options{})
	line := `{"start_time":"2026-03-04T10:00:00Z","authorization":"Bearer ` + jwtA + `","Authorization":"Bearer ` + jwtB +
		`","x_forwarded_for":"198.51.100.4","response_code":403,"method":"GET","path":"/x"}`
	sink.Reject(&record.Reject{Pos: record.Position{File: "e.log", Line: 1}, Reason: `duplicate key "Authorization"`, Excerpt: line})
	if len(c.Sightings) != 2 {
		t.Fatalf("both tokens of a duplicated key are sightings, got %d", len(c.Sightings))
	}
	for i, s := range c.Sightings {
		if !s.Ambiguous || s.Salvaged == "" || s.Outcome != record.OutcomeRejected || s.ClientIP != "198.51.100.4" ||
			s.Action != "GET /x" || s.ObservedAt.IsZero() {
			t.Errorf("sighting %d: %+v", i, s)
		}
	}
	if c.Sightings[0].Raw != jwtA || c.Sightings[1].Raw != jwtB {
		t.Errorf("tokens %q, %q", c.Sightings[0].Raw, c.Sightings[1].Raw)
	}
}

func TestSalvageSinkStatusUnreadableIsUnknown(t *testing.T) {
	c := &recordtest.Collector{}
	sink := record.SalvageSink(c, fakeFormat{}, record.Options{})
	sink.Reject(&record.Reject{Pos: record.Position{File: "t.log", Line: 3}, Reason: "invalid JSON: truncated line",
		Excerpt: `{"time":"2026-03-04T10:00:00Z","token":"` + jwtA + `","sta`})
	if len(c.Sightings) != 1 || c.Sightings[0].Outcome != record.OutcomeUnknown || c.Sightings[0].Ambiguous {
		t.Fatalf("got %+v", c.Sightings)
	}
	// Nothing token-shaped: the reject alone.
	sink.Reject(&record.Reject{Pos: record.Position{File: "t.log", Line: 4}, Reason: "x", Excerpt: "www.example.com"})
	if len(c.Sightings) != 1 || len(c.Rejects) != 2 {
		t.Fatalf("got %d sightings, %d rejects", len(c.Sightings), len(c.Rejects))
	}
}

// locating is a format with its own Salvager, which wins over the generic one.
type locating struct{ fakeFormat }

func (locating) SalvageFields(line []byte, o *record.Options, s *record.Sighting) {
	s.Observer = "from-format"
	s.Raw = "must be ignored"
	panic("a locator that panics costs its fields, not the token")
}

func TestSalvageSinkLocatorPanics(t *testing.T) {
	c := &recordtest.Collector{}
	sink := record.SalvageSink(c, locating{}, record.Options{})
	sink.Reject(&record.Reject{Pos: record.Position{File: "p.log", Line: 1}, Reason: "r", Excerpt: "x " + jwtA})
	if len(c.Sightings) != 1 || c.Sightings[0].Raw != jwtA || c.Sightings[0].Observer != "" {
		t.Fatalf("got %+v", c.Sightings)
	}
}

func TestSanitizeLine(t *testing.T) {
	got := string(record.SanitizeLine([]byte("a\x00b\tc\xffd\x1be\u0085f")))
	if want := "a\uFFFDb\tc\uFFFDd\uFFFDe\uFFFDf"; got != want {
		t.Errorf("SanitizeLine = %q, want %q", got, want)
	}
}

// Whatever a rejected line holds, salvage passes the reject on, never
// panics, and emits at most MaxSalvagedPerLine distinct JWT-shaped
// substrings of it, each marked salvaged at the reject's position.
func FuzzSalvageSink(f *testing.F) {
	for _, s := range []string{
		`"Bearer ` + jwtA + `" "` + jwtB + `"`,
		`{"authorization":"Bearer ` + jwtA + `","Authorization":"Bearer ` + jwtPadded + `","status":200}`,
		"203.0.113.9 - - [04/Mar/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"\x00\" \"Bearer " + jwtA + "\"",
		"tok=" + jwe, "www.example.com", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c := &recordtest.Collector{}
		pos := record.Position{File: "f.log", Line: 3, Format: "fake"}
		record.SalvageSink(c, fakeFormat{}, record.Options{}).Reject(&record.Reject{Pos: pos, Reason: "r", Excerpt: line})
		if len(c.Rejects) != 1 {
			t.Fatalf("%d rejects passed on", len(c.Rejects))
		}
		if len(c.Sightings) > record.MaxSalvagedPerLine {
			t.Fatalf("%d sightings from one line", len(c.Sightings))
		}
		seen := map[string]bool{}
		for _, s := range c.Sightings {
			if !strings.Contains(line, s.Raw) || !record.JWTShaped(s.Raw) || seen[s.Raw] {
				t.Fatalf("salvaged %q from %q", s.Raw, line)
			}
			seen[s.Raw] = true
			if s.Salvaged != "r" || s.Pos != pos || s.Kind != record.KindJWT || s.Outcome == "" ||
				s.Ambiguous != (len(c.Sightings) > 1) {
				t.Fatalf("sighting %+v", s)
			}
		}
	})
}
