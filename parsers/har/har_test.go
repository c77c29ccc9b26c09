package har

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata/golden", record.Options{})
}

func TestSniff(t *testing.T) {
	for _, tt := range []struct {
		head string
		want bool
	}{
		{`{"log":{"version":"1.2","creator":{"name":"WebInspector"},"entries":[`, true},
		{"{\n  \"log\": {\n    \"version\": \"1.2\",\n    \"creator\": {", true},
		{`{"level":"info","log":"x"}`, false},
		{`{"eventType":"user.session.start"}`, false},
		{`127.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200`, false},
	} {
		if got := Format.Sniff(bytes.Split([]byte(tt.head), []byte("\n"))); got != tt.want {
			t.Errorf("Sniff(%.30q) = %v", tt.head, got)
		}
	}
	if !Format.SniffFile("capture.HAR", []byte("{\n")) || Format.SniffFile("x.json", []byte("[]")) {
		t.Error("SniffFile")
	}
}

// A large HAR is read entry by entry, each at its line.
func TestLarge(t *testing.T) {
	var b strings.Builder
	b.WriteString("{\n\"log\": {\"version\": \"1.2\", \"entries\": [\n")
	pad := strings.Repeat("x", 4000)
	n := 600
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"startedDateTime":"2026-03-04T10:00:00Z","request":{"method":"GET","url":"https://a.example/%d","headers":[{"name":"x-pad","value":"%s"}]},"response":{"status":200}}`, i, pad)
	}
	b.WriteString("\n]}}\n")
	c, err := recordtest.Parse(Format, "big.har", []byte(b.String()), record.Options{})
	if err != nil || len(c.Ignores) != n || c.Stats.Records != int64(n) {
		t.Fatalf("err %v, %d ignores of %d", err, len(c.Ignores), n)
	}
	if c.Ignores[0].Pos.Line != 3 || c.Ignores[n-1].Pos.Line != int64(n+2) {
		t.Errorf("lines %d, %d", c.Ignores[0].Pos.Line, c.Ignores[n-1].Pos.Line)
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata/golden")
	f.Fuzz(func(t *testing.T, data []byte) { recordtest.CheckInvariants(t, Format, data) })
}
