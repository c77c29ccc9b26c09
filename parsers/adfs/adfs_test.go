package adfs

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

var formats = map[string]record.Format{"json": Format, "xml": XML, "csv": CSV}

func TestGolden(t *testing.T) {
	for dir, f := range formats {
		t.Run(dir, func(t *testing.T) {
			recordtest.Golden(t, f, filepath.Join("testdata", dir), record.Options{})
		})
	}
}

// sample is what detection hands Sniff: the first non-empty lines.
func sample(data []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 && len(out) < record.SniffLines {
			out = append(out, l)
		}
	}
	return out
}

// prettyUnsniffed are pretty-printed exports whose first lines do not
// show the provider: detection cannot tell them from other Windows events,
// they are read when the format is named.
var prettyUnsniffed = map[string]bool{"json/elastic-hits.json": true, "json/powershell.json": true, "json/sentinel.json": true}

// Each format claims its own test files and no other's.
func TestSniff(t *testing.T) {
	for dir := range formats {
		entries, err := os.ReadDir(filepath.Join("testdata", dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".golden") {
				continue
			}
			data, err := os.ReadFile(filepath.Join("testdata", dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			s := sample(data)
			for other, g := range formats {
				want := other == dir && !prettyUnsniffed[dir+"/"+e.Name()]
				if strings.HasPrefix(e.Name(), "rejects") || strings.HasPrefix(e.Name(), "truncated") || strings.HasPrefix(e.Name(), "broken") {
					if !want {
						if g.Sniff(s) {
							t.Errorf("%s claims %s/%s", g.Name(), dir, e.Name())
						}
					}
					continue
				}
				if got := g.Sniff(s); got != want {
					t.Errorf("%s.Sniff(%s/%s) = %v, want %v", g.Name(), dir, e.Name(), got, want)
				}
			}
		}
	}
}

// Other vendors' JSON lines and other Windows events are never claimed.
func TestSniffOthers(t *testing.T) {
	others := []string{
		`{"@timestamp":"2026-03-04T10:00:00Z","winlog":{"provider_name":"Microsoft-Windows-Security-Auditing","event_id":4624,"channel":"Security"}}`,
		`{"TimeGenerated":"2026-03-04T10:00:00Z","EventSourceName":"Microsoft-Windows-Security-Auditing","EventID":4624,"EventData":"<EventData/>"}`,
		`{"level":"info","msg":"AD FS Auditing is great","time":"2026-03-04T10:00:00Z"}`,
		`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4624</EventID></System></Event>`,
		`{"log":"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><Provider Name='AD FS Auditing'/></Event>"}`,
		"TimeGenerated,Computer,EventSourceName,EventID,EventData\n2026-03-04,dc01,Microsoft-Windows-Security-Auditing,4624,<EventData/>",
		`10.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET /adfs/ls/?AD FS Auditing HTTP/1.1" 200 512`,
	}
	for _, o := range others {
		for _, f := range formats {
			if f.Sniff(sample([]byte(o))) {
				t.Errorf("%s claims %q", f.Name(), o)
			}
		}
	}
	for _, dir := range []string{"../keycloak/testdata", "../stepca/testdata", "../ct/testdata"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			for _, f := range formats {
				if f.Sniff(sample(data)) {
					t.Errorf("%s claims %s/%s", f.Name(), dir, e.Name())
				}
			}
		}
	}
}

func TestCanonicalGUID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"5b0f3b0b-e875-4307-ba98-0a2f0d5aa2ce", "5b0f3b0b-e875-4307-ba98-0a2f0d5aa2ce"},
		{"{5B0F3B0B-E875-4307-BA98-0A2F0D5AA2CE}", "5b0f3b0b-e875-4307-ba98-0a2f0d5aa2ce"},
		{" 5B0F3B0B-E875-4307-BA98-0A2F0D5AA2CE\r\n", "5b0f3b0b-e875-4307-ba98-0a2f0d5aa2ce"},
		{"{5b0f3b0b-e875-4307-ba98-0a2f0d5aa2ce", ""},
		{"5b0f3b0be8754307ba980a2f0d5aa2ce", ""},
		{"5b0f3b0b-e875-4307-ba98-0a2f0d5aa2cg", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := canonicalGUID(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("canonicalGUID(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestEventTime(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		in   string
		loc  *time.Location
		want string
	}{
		{"2026-03-04T10:00:00.1234567Z", time.UTC, "2026-03-04T10:00:00.1234567Z"},
		{"2026-03-04T11:00:00.1234567+01:00", time.UTC, "2026-03-04T10:00:00.1234567Z"},
		{"2026-03-04T10:00:00Z", time.UTC, "2026-03-04T10:00:00Z"},
		{"2026-03-04 11:00:00", cet, "2026-03-04T10:00:00Z"},
		{"3/4/2026, 10:00:00.123 AM", time.UTC, "2026-03-04T10:00:00.123Z"},
		{"3/4/2026, 1:02:03 PM", time.UTC, "2026-03-04T13:02:03Z"},
		{"3/4/2026 11:00:00 AM", cet, "2026-03-04T10:00:00Z"},
		{"/Date(1772618400123)/", time.UTC, "2026-03-04T10:00:00.123Z"},
		{"/Date(1772618400123+0100)/", time.UTC, "2026-03-04T10:00:00.123Z"},
		{"1772618400123", time.UTC, "2026-03-04T10:00:00.123Z"},
	}
	for _, tt := range tests {
		got, err := eventTime(tt.in, tt.loc)
		if err != nil || !got.Equal(recordtest.MustTime(tt.want)) {
			t.Errorf("eventTime(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"13/4/2026, 10:00:00 AM", "/Date(x)/", "yesterday"} {
		if _, err := eventTime(bad, time.UTC); err == nil {
			t.Errorf("eventTime(%q): no error", bad)
		}
	}
}

// A 1202 and a 1200 of one sign-in share the activity id; only the 1200
// is an issuance, keyed by that id in lower case whatever the form.
func TestOneSignIn(t *testing.T) {
	files := map[record.Format][]string{
		Format: {"json/winlogbeat.jsonl", "json/sentinel.json", "json/sentinel.jsonl", "json/powershell.json", "json/nxlog.jsonl", "json/elastic-hits.json"},
		XML:    {"xml/wevtutil.xml", "xml/events-pretty.xml", "xml/powershell-utf16.xml"},
		CSV:    {"csv/sentinel.csv", "csv/powershell.csv"},
	}
	const activity = "5b0f3b0b-e875-4307-ba98-0a2f0d5aa2ce"
	for f, names := range files {
		for _, name := range names {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			c, err := recordtest.Parse(f, name, data, record.Options{})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			n := 0
			for _, iss := range c.Issuances {
				if iss.ArtifactID != activity {
					continue
				}
				n++
				if iss.Kind != record.KindSAML || iss.Issuer != "" || iss.Subject != `CONTOSO\alice` ||
					iss.Audience != "urn:federation:MicrosoftOnline" || iss.IssuedAt.IsZero() {
					t.Errorf("%s: issuance %+v", name, iss)
				}
			}
			if n != 1 {
				t.Errorf("%s: %d issuances of activity %s, want 1", name, n, activity)
			}
			credential := 0
			for _, ig := range c.Ignores {
				if ig.Reason == IgnoreCredential {
					credential++
				}
			}
			if credential == 0 {
				t.Errorf("%s: the 1202 is not ignored as %q", name, IgnoreCredential)
			}
		}
	}
}

// Records past the bound are rejected and the next one is read.
func TestTooLong(t *testing.T) {
	data, err := os.ReadFile("testdata/xml/wevtutil.xml")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	huge := bytes.Replace(lines[1], []byte("<Data>"), []byte("<Data>"+strings.Repeat("x", 20000)), 1)
	in := bytes.Join([][]byte{huge, lines[1], huge, lines[3]}, []byte("\n"))
	c, err := recordtest.Parse(XML, "big.xml", in, record.Options{MaxLineBytes: 8000})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rejects) != 2 || len(c.Issuances) != 2 || c.Stats.Records != 4 {
		t.Fatalf("got %d rejects, %d issuances, %d records: %+v", len(c.Rejects), len(c.Issuances), c.Stats.Records, c.Rejects)
	}
	for _, r := range c.Rejects {
		if !strings.HasPrefix(r.Reason, record.ReasonLineTooLong) {
			t.Errorf("reject %q", r.Reason)
		}
	}
}

func FuzzParse(f *testing.F) {
	for dir := range formats {
		recordtest.Seeds(f, filepath.Join("testdata", dir))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, g := range formats {
			recordtest.CheckInvariants(t, g, data)
		}
	})
}

func TestUTF16(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte("\xff\xfea\x00=\xd8\x00\xdeb\x00"), "a😀b"},
		{[]byte("\xfe\xff\x00a\xd8=\xde\x00\x00b"), "a😀b"},
		{[]byte("\xff\xfea\x00=\xd8b\x00"), "a\ufffdb"}, // unpaired surrogate
		{[]byte("\xff\xfea\x00b"), "a\ufffd"},           // odd last byte
		{[]byte("\xef\xbb\xbfplain"), "plain"},
		{[]byte("plain"), "plain"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if _, err := b.ReadFrom(decoded(bytes.NewReader(tt.in))); err != nil || b.String() != tt.want {
			t.Errorf("decoded(%q) = %q, %v; want %q", tt.in, b.String(), err, tt.want)
		}
	}
}

// jq . output: pretty-printed documents one after the other, each a
// record at the line it starts on.
func TestConcatenatedDocuments(t *testing.T) {
	data, err := os.ReadFile("testdata/json/winlogbeat.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n"))[:3] {
		in.WriteString("{\n  ")
		in.Write(bytes.TrimSuffix(bytes.TrimPrefix(l, []byte("{")), []byte("}")))
		in.WriteString("\n}\n")
	}
	c, err := recordtest.Parse(Format, "jq.json", in.Bytes(), record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Stats.Records != 3 || len(c.Issuances) != 1 || c.Issuances[0].Pos.Line != 4 || len(c.Ignores) != 2 {
		t.Errorf("got %s", recordtest.Render(c, nil))
	}
}
