package har

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	if *rewriteInputs {
		writeInputs(t, "testdata/golden")
	}
	recordtest.Golden(t, Format, "testdata/golden", record.Options{})
}

// The Redirect input's SAMLResponse values are the raw DEFLATE of the
// responses writeInputs made, as the binding has them.
func TestRedirectInputIsDeflate(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/redirect.har")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"_r4": samlResponse("_r4", "portal.example.org", "dave@example.org"),
		"_r5": samlResponse("_r5", "portal.example.org", "erin@example.org"),
	}
	n := 0
	for _, part := range strings.Split(string(data), "SAMLResponse=")[1:] {
		v, _, _ := strings.Cut(part, "&")
		v, _, _ = strings.Cut(v, `"`)
		v, err := url.QueryUnescape(v)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatal(err)
		}
		xml, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("not DEFLATE: %v", err)
		}
		id := string(xml[bytes.Index(xml, []byte(`ID="`))+4:][:3])
		if string(xml) != want[id] {
			t.Errorf("%s inflates to %s", id, xml)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d SAMLResponse values in the URLs", n)
	}
}

// Every record of a pretty-printed golden input is at the line its
// entry's "{" is on.
func TestPositionsAreEntryLines(t *testing.T) {
	for _, name := range []string{"chrome-h2.har", "firefox-form.har", "redirect.har"} {
		data, err := os.ReadFile("testdata/golden/" + name)
		if err != nil {
			t.Fatal(err)
		}
		c, err := recordtest.Parse(Format, name, data, record.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := positions(c)
		want := entryLines(t, data)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: records at lines %v, entries start at %v", name, got, want)
		}
	}
}

// positions are the lines of c's records, in order.
func positions(c *recordtest.Collector) []int64 {
	var lines []int64
	for _, s := range c.Sightings {
		lines = append(lines, s.Pos.Line)
	}
	for _, r := range c.Rejects {
		lines = append(lines, r.Pos.Line)
	}
	for _, ig := range c.Ignores {
		lines = append(lines, ig.Pos.Line)
	}
	sortInts(lines)
	return lines
}

func sortInts(a []int64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// entryLines finds the lines of a pretty-printed HAR's entries: the line
// of "entries": [ has the indent of the entries' braces, one level in.
func entryLines(t *testing.T, data []byte) []int64 {
	lines := strings.Split(string(data), "\n")
	indent := ""
	var out []int64
	end := ""
	for i, l := range lines {
		if end != "" && (l == end || l == end+",") {
			break
		}
		trimmed := strings.TrimLeft(l, " ")
		if strings.HasPrefix(trimmed, `"entries": [`) {
			in := l[:len(l)-len(trimmed)]
			step := in[:len(in)/2] // "log" is at one level, entries at two
			indent, end = in+step, in+"]"
			continue
		}
		if indent != "" && l == indent+"{" {
			out = append(out, int64(i+1))
		}
	}
	if len(out) == 0 {
		t.Fatal("no entries found in the input")
	}
	return out
}

func TestSniff(t *testing.T) {
	for _, tt := range []struct {
		head string
		want bool
	}{
		{`{"log":{"version":"1.2","creator":{"name":"WebInspector"},"entries":[`, true},
		{"{\n  \"log\": {\n    \"version\": \"1.2\",\n    \"creator\": {\n      \"name\": \"WebInspector\",", true},
		{"\xef\xbb\xbf{\"log\": {\"entries\": [", true},
		{`{"log": {"creator": {"name": "mitmproxy"}, "version": "1.2", "pages": []`, true},
		{`{"log": {"pages": [], "entries": []}}`, true},
		// other JSON logs with a log key
		{`{"log":"GET / 200\n","stream":"stdout","time":"2026-03-04T10:00:00Z"}`, false},
		{`{"@timestamp":"2026-03-04T10:00:00Z","log":{"level":"info","logger":"app"},"ecs":{"version":"8.11"},"message":"entries"}`, false},
		{`{"log":{"level":"info","logger":"app"},"ecs":{"version":"8.11"}}`, false},
		{`{"log": {"version": "1.2"}}`, false},
		{`{"level":"info","log":"x","entries":[]}`, false},
		{`{"eventType":"user.session.start","version":"0"}`, false},
		{`[{"log":{"entries":[]}}]`, false},
		{`127.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200`, false},
		{``, false},
		{"{", false},
	} {
		if got := Format.Sniff(bytes.Split([]byte(tt.head), []byte("\n"))); got != tt.want {
			t.Errorf("Sniff(%.50q) = %v", tt.head, got)
		}
	}
	fs := Format.(record.FileSniffer)
	for _, tt := range []struct {
		name, head string
		want       bool
	}{
		{"capture.HAR", "{\n", true},
		{"capture.har", "\xef\xbb\xbf  {", true},
		{"capture.har", "not json", false},
		{"x.json", "{\n  \"log\": {\n    \"version\": \"1.2\",\n    \"creator\": {}", true},
		{"x.json", "[]", false},
		{"x.json", `{"log":"line"}`, false},
	} {
		if got := fs.SniffFile(tt.name, []byte(tt.head)); got != tt.want {
			t.Errorf("SniffFile(%s, %.40q) = %v", tt.name, tt.head, got)
		}
	}
}

// bigHAR is a pretty-printed HAR of n entries, each with a response body
// of pad bytes; every tenth carries a bearer JWT.
func bigHAR(n, pad int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"log\": {\n    \"version\": \"1.2\",\n    \"creator\": {\"name\": \"WebInspector\", \"version\": \"537.36\"},\n    \"entries\": [\n")
	body := strings.Repeat("x", pad)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		auth := ""
		if i%10 == 0 {
			auth = `{"name": "authorization", "value": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"}`
		}
		fmt.Fprintf(&b, "      {\n        \"startedDateTime\": \"2026-03-04T10:00:00Z\",\n        \"request\": {\"method\": \"GET\", \"url\": \"https://a.example/%d\", \"headers\": [%s]},\n        \"response\": {\"status\": 200, \"content\": {\"text\": %q}}\n      }", i, auth, body)
	}
	b.WriteString("\n    ]\n  }\n}\n")
	return b.Bytes()
}

// watchSink records how much of the input had been read when the first
// record arrived.
type watchSink struct {
	recordtest.Collector
	read       *int64
	firstAfter int64
}

func (w *watchSink) first() {
	if w.firstAfter == 0 {
		w.firstAfter = *w.read
	}
}
func (w *watchSink) Sighting(s *record.Sighting)          { w.first(); w.Collector.Sighting(s) }
func (w *watchSink) Reject(r *record.Reject)              { w.first(); w.Collector.Reject(r) }
func (w *watchSink) Ignore(p record.Position, why string) { w.first(); w.Collector.Ignore(p, why) }
func (w *watchSink) Issuance(i *record.Issuance)          { w.first(); w.Collector.Issuance(i) }
func (w *watchSink) Link(l *record.Link)                  { w.first(); w.Collector.Link(l) }

type countingReader struct {
	r io.Reader
	n int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	return n, err
}

// A HAR of several megabytes is read entry by entry: the first record
// comes before the input is read much past it, and every entry is at its
// line.
func TestLargeStreamed(t *testing.T) {
	const n = 600
	data := bigHAR(n, 5000)
	if len(data) < 2<<20 {
		t.Fatalf("input of only %d bytes", len(data))
	}
	cr := &countingReader{r: bytes.NewReader(data)}
	w := &watchSink{read: &cr.n}
	in := &record.Input{Name: "big.har", R: cr, Stats: &w.Stats}
	if err := Format.Parse(context.Background(), in, w); err != nil {
		t.Fatal(err)
	}
	if w.Stats.Records != n || len(w.Sightings) != n/10 || len(w.Ignores) != n-n/10 || len(w.Rejects) != 0 {
		t.Fatalf("%d records: %d sightings, %d ignored, %d rejects", w.Stats.Records, len(w.Sightings), len(w.Ignores), len(w.Rejects))
	}
	if w.firstAfter > 256<<10 {
		t.Errorf("first record after %d bytes of %d were read", w.firstAfter, len(data))
	}
	// entry i starts on line 6 + 5i
	for _, s := range w.Sightings {
		var i int
		fmt.Sscanf(s.Action, "GET /%d", &i)
		if s.Pos.Line != int64(6+5*i) {
			t.Fatalf("entry %d at line %d, want %d", i, s.Pos.Line, 6+5*i)
		}
	}
}

// An entry past MaxEntryBytes is rejected and the next one read; a
// response body past MaxStringBytes is dropped and its entry read.
func TestBounds(t *testing.T) {
	big := strings.Repeat("A", MaxStringBytes+10)
	manyHeaders := strings.Repeat(`{"name":"x-pad","value":"`+strings.Repeat("p", 1<<20)+`"},`, MaxEntryBytes>>20+1)
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"
	doc := `{"log":{"version":"1.2","entries":[` + "\n" +
		`{"request":{"method":"GET","url":"https://a.example/1","headers":[` + manyHeaders + `{"name":"Authorization","value":"Bearer ` + jwt + `"}]}},` + "\n" +
		`{"request":{"method":"GET","url":"https://a.example/2","headers":[{"name":"Authorization","value":"Bearer ` + jwt + `"}]},"response":{"status":200,"content":{"text":"` + big + `"}}},` + "\n" +
		`{"request":{"method":"POST","url":"https://a.example/acs","postData":{"params":[{"name":"SAMLResponse","value":"` + big + `"}]}}}` + "\n" +
		`]}}`
	c, err := recordtest.Parse(Format, "bounds.har", []byte(doc), record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rejects) != 2 || len(c.Sightings) != 1 || c.Stats.Records != 3 {
		t.Fatalf("%+v", c)
	}
	if r := c.Rejects[0]; r.Pos.Line != 2 || !strings.Contains(r.Reason, "entry 1 larger than 8 MiB") || len(r.Excerpt) > 256 {
		t.Errorf("reject %d %q (%d bytes of excerpt)", r.Pos.Line, r.Reason, len(r.Excerpt))
	}
	if s := c.Sightings[0]; s.Pos.Line != 3 || s.Raw != jwt || s.Outcome != record.OutcomeAccepted {
		t.Errorf("sighting %+v", s)
	}
	if r := c.Rejects[1]; r.Pos.Line != 4 || !strings.Contains(r.Reason, "empty or longer than 4 MiB") {
		t.Errorf("reject %d %q", r.Pos.Line, r.Reason)
	}
}

// Documents that are not HARs are one rejected record, never a panic;
// what cannot be read stops with a record.RecordError.
func TestNotHAR(t *testing.T) {
	deep := `{"log":{"entries":[` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `]}}`
	deepHead := `{"log":{"pages":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `,"entries":[]}}`
	for _, tt := range []struct {
		name, doc string
		records   int64
		reason    string // of the one reject, "" for none
		stops     bool
	}{
		{"empty", "  \n", 0, "", false},
		{"array", `[{"a":1}]`, 1, "not a HAR: the document is not a JSON object", false},
		{"no log", `{"level":"info","msg":"x"}`, 1, "not a HAR: no log object", false},
		{"log string", `{"log":"x"}`, 1, "not a HAR: log is not an object", false},
		{"no entries", `{"log":{"version":"1.2","pages":[]}}`, 1, "not a HAR: log has no entries", false},
		{"entries object", `{"log":{"entries":{}}}`, 1, "not a HAR: log.entries is not an array", false},
		{"empty entries", `{"log":{"entries":[]}}`, 0, "", false},
		{"garbage", "\x00\x01garbage", 1, "invalid JSON before its entries", true},
		{"cut in head", `{"log":{"version":"1.2","creator":{"name":"Fire`, 1, "HAR cut off before its entries", true},
		{"utf16", "\xff\xfe{\x00", 1, "UTF-16", false},
		{"cut after entry", `{"log":{"entries":[{"request":{}}`, 1, "", true},
		{"no comma", `{"log":{"entries":[{"request":{}} {"request":{}}]}}`, 1, "", true},
		{"deep entry", deep, 1, "entry 1 is not a JSON object", false},
		{"deep head", deepHead, 1, "nested more than 10000 deep", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := recordtest.Parse(Format, "x.har", []byte(tt.doc), record.Options{})
			if c.Stats.Records != tt.records || c.Accounted() != tt.records {
				t.Errorf("%d records, %d accounted", c.Stats.Records, c.Accounted())
			}
			var re *record.RecordError
			if tt.stops != (err != nil) || err != nil && !errors.As(err, &re) {
				t.Errorf("error %v", err)
			}
			if tt.reason != "" && (len(c.Rejects) != 1 || !strings.Contains(c.Rejects[0].Reason, tt.reason)) {
				t.Errorf("rejects %+v, want %q", c.Rejects, tt.reason)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata/golden")
	f.Fuzz(func(t *testing.T, data []byte) { recordtest.CheckInvariants(t, Format, data) })
}

// The scanner finds the same elements, and drops the same strings, at
// every buffer size: an element, a string, an escape split across reads.
func TestScannerChunks(t *testing.T) {
	in := "[\n" + `{"a":"0123456789AB","b":"short","c":"x\"yz0123456789","d":"0123456789"}` + ",\n" +
		`"str\\" , 12 ,{"e":[1,{"f":"}]"}]},` + "\n" + `[[["deep"]]]` + ",\n" + `{"g":"` + strings.Repeat("x", 40) + `","h":1}` + "]"
	want := []string{
		`{"a":null,"b":"short","c":null,"d":"0123456789"}`,
		`"str\\"`,
		`12`,
		`{"e":[1,{"f":"}]"}]}`,
		`[[["deep"]]]`,
		`{"g":null,"h":1}`,
	}
	wantLines := []int64{2, 3, 3, 3, 4, 5}
	for size := 1; size <= 9; size++ {
		s := newScanner(strings.NewReader(in[1:]), 1, 1, 60, 10)
		s.buf = make([]byte, size)
		var got []string
		var lines []int64
		for {
			c, ok := s.skipSpace()
			if !ok {
				t.Fatalf("size %d: cut off", size)
			}
			if c == ']' {
				break
			}
			if c == ',' {
				s.skipByte()
				continue
			}
			lines = append(lines, s.line)
			el, err := s.element()
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			if el.over {
				got = append(got, "over")
				continue
			}
			got = append(got, string(el.raw))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(lines) != fmt.Sprint(wantLines) {
			t.Errorf("size %d:\n got %q at %v\nwant %q at %v", size, got, lines, want, wantLines)
		}
	}
	// over the bound: rejected, and the next element still found
	s := newScanner(strings.NewReader(`{"a":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]},{"b":1}]`), 1, 1, 16, 10)
	el, err := s.element()
	if err != nil || !el.over || len(el.raw) > 256 {
		t.Fatalf("%v %+v", err, el)
	}
	s.skipSpace()
	s.skipByte()
	s.skipSpace()
	if el, err = s.element(); err != nil || el.over || string(el.raw) != `{"b":1}` {
		t.Fatalf("%v %+v", err, el)
	}
}
