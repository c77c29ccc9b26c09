// Package recordtest helps format packages test themselves: a sink that
// collects records, golden-file comparison, and fuzz invariants.
package recordtest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Update rewrites golden files instead of comparing: go test ./parsers/... -update
var Update = flag.Bool("update", false, "rewrite golden files")

// Collector is a record.Sink that keeps copies of everything it receives.
type Collector struct {
	Sightings []record.Sighting
	Issuances []record.Issuance
	Rejects   []record.Reject
	Links     []record.Link
	Ignores   []Ignored
	// Stats is what the reader counted (filled by Parse).
	Stats record.Stats
}

// Ignored is one record.Sink.Ignore call.
type Ignored struct {
	Pos    record.Position
	Reason string
}

// Sighting implements record.Sink. A RawKey the format set must be the
// raw artifact's key (else the collector panics: a format bug); it and
// RawKeySeen are cleared, so that formats that set it and formats that do not compare
// equal.
func (c *Collector) Sighting(s *record.Sighting) {
	cp := *s
	if cp.RawKey != "" && cp.RawKey != record.RawArtifactKey(cp.Kind, cp.Raw) {
		panic(fmt.Sprintf("%s: RawKey %s is not the key of Raw", cp.Pos, cp.RawKey))
	}
	if cp.RawKeySeen != nil && cp.RawKey == "" {
		panic(fmt.Sprintf("%s: RawKeySeen without RawKey", cp.Pos))
	}
	cp.RawKey, cp.RawKeySeen = "", nil
	c.Sightings = append(c.Sightings, cp)
}
func (c *Collector) Issuance(i *record.Issuance) { c.Issuances = append(c.Issuances, *i) }
func (c *Collector) Reject(r *record.Reject)     { c.Rejects = append(c.Rejects, *r) }

// Link implements record.LinkSink.
func (c *Collector) Link(l *record.Link) { c.Links = append(c.Links, *l) }
func (c *Collector) Ignore(pos record.Position, reason string) {
	c.Ignores = append(c.Ignores, Ignored{pos, reason})
}

// Count is the number of records received (rows and rejects; not ignores).
func (c *Collector) Count() int {
	return len(c.Sightings) + len(c.Issuances) + len(c.Rejects) + len(c.Links)
}

// Accounted is the number of Sink calls: rows, rejects and ignores. For a
// correct format it equals Stats.Records.
func (c *Collector) Accounted() int64 {
	n := int64(c.Count() + len(c.Ignores))
	for _, s := range c.Sightings {
		if s.Salvaged != "" {
			n-- // salvaged from a rejected record: its Reject accounts for it
		}
	}
	return n
}

// Parse runs f over data as file name and collects what it emits.
func Parse(f record.Format, name string, data []byte, opts record.Options) (*Collector, error) {
	c := &Collector{}
	in := &record.Input{Name: name, R: bytes.NewReader(data), Options: opts, Stats: &c.Stats}
	err := f.Parse(context.Background(), in, c)
	return c, err
}

// Golden parses every file in dir that does not end in .golden with f and
// compares the records, as indented JSON, with the file's ".golden" twin.
// With -update it writes the golden files instead. It fails if dir has no input.
func Golden(t *testing.T, f record.Format, dir string, opts record.Options) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".golden") {
			continue
		}
		n++
		path := filepath.Join(dir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, perr := Parse(f, e.Name(), data, opts)
			got := Render(c, perr)
			golden := path + ".golden"
			if *Update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: output differs from %s (run with -update to accept)\n--- got\n%s", path, golden, got)
			}
		})
	}
	if n == 0 {
		t.Fatalf("no golden inputs in %s", dir)
	}
}

// Render is the stable JSON form of what a parse produced.
func Render(c *Collector, parseErr error) []byte {
	type ignored struct {
		Line   int64
		Reason string
	}
	type out struct {
		RecordsRead int64
		Sightings   []record.Sighting `json:",omitempty"`
		Issuances   []record.Issuance `json:",omitempty"`
		Rejects     []record.Reject   `json:",omitempty"`
		Links       []record.Link     `json:",omitempty"`
		Ignored     []ignored         `json:",omitempty"`
		// The holes in the log's own numbering, for formats that track it.
		SeqGaps        []record.SeqGap `json:",omitempty"`
		SeqGapsDropped int64           `json:",omitempty"`
		SeqRuns        []record.SeqRun `json:",omitempty"`
		Err            string          `json:",omitempty"`
	}
	o := out{RecordsRead: c.Stats.Records, Sightings: c.Sightings, Issuances: c.Issuances, Rejects: c.Rejects, Links: c.Links,
		SeqGaps: c.Stats.SeqGaps, SeqGapsDropped: c.Stats.SeqGapsDropped, SeqRuns: c.Stats.SeqRuns}
	for _, ig := range c.Ignores {
		o.Ignored = append(o.Ignored, ignored{ig.Pos.Line, ig.Reason})
	}
	if parseErr != nil {
		o.Err = parseErr.Error()
	}
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// Seeds adds every non-golden file in dir to the fuzz corpus and fails the
// test when there is none, so a fuzz target can never run unseeded.
func Seeds(f *testing.F, dir string) {
	f.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".golden") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		n++
	}
	if n == 0 {
		f.Fatalf("no fuzz seeds in %s", dir)
	}
}

// CheckInvariants is what every parser fuzz target asserts: Sniff and Parse do
// not panic; every emitted record carries the file name, the format name and a
// line inside the input; rejects and ignores have a reason; and the
// accounting holds: every record read (Stats.Records) ends in exactly one
// row, reject or ignore, at a position no other record has.
func CheckInvariants(t *testing.T, f record.Format, data []byte) {
	t.Helper()
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > record.SniffLines {
		lines = lines[:record.SniffLines]
	}
	f.Sniff(lines)
	c, _ := Parse(f, "fuzz.log", data, record.Options{})
	maxLine := int64(bytes.Count(data, []byte("\n")) + 1)
	if e, ok := f.(record.EntryPositions); ok && e.EntryPositions() {
		maxLine = int64(len(data)) + 1
	}
	CheckRecords(t, c, "fuzz.log", f.Name(), maxLine)
	for _, g := range c.Stats.SeqGaps {
		if g.Line < 1 || g.Line > maxLine || g.Missing < 1 || g.Missing != g.Before-g.After-1 || g.Process == "" {
			t.Fatalf("bad sequence gap %+v (input has %d lines)", g, maxLine)
		}
	}
	for _, r := range c.Stats.SeqRuns {
		if r.FirstLine < 1 || r.LastLine > maxLine || r.Process == "" {
			t.Fatalf("bad sequence run %+v (input has %d lines)", r, maxLine)
		}
	}
	if got := c.Accounted(); got != c.Stats.Records {
		t.Fatalf("accounting: read %d records, accounted %d (%d sightings, %d issuances, %d rejects, %d ignored)",
			c.Stats.Records, got, len(c.Sightings), len(c.Issuances), len(c.Rejects), len(c.Ignores))
	}
	seen := make(map[int64]string, c.Accounted())
	once := func(kind string, p record.Position) {
		if prev, dup := seen[p.Line]; dup {
			t.Fatalf("line %d ends in both %s and %s", p.Line, prev, kind)
		}
		seen[p.Line] = kind
	}
	for _, s := range c.Sightings {
		if s.Salvaged == "" {
			once("sighting", s.Pos)
		}
	}
	for _, i := range c.Issuances {
		once("issuance", i.Pos)
	}
	for _, r := range c.Rejects {
		once("reject", r.Pos)
	}
	for _, l := range c.Links {
		once("link", l.Pos)
	}
	for _, ig := range c.Ignores {
		once("ignore", ig.Pos)
	}
}

// CheckRecords asserts what holds for every record a parse of file in
// format emitted: a position inside the input's maxLine lines, a reason on
// every reject and ignore, an artifact on every sighting.
func CheckRecords(t *testing.T, c *Collector, file, format string, maxLine int64) {
	t.Helper()
	check := func(kind string, p record.Position) {
		if p.File != file || p.Format != format || p.Line < 1 || p.Line > maxLine {
			t.Fatalf("%s with bad position %+v (input has %d lines)", kind, p, maxLine)
		}
	}
	for _, l := range c.Links {
		check("link", l.Pos)
		if l.Relation == "" || l.FromID == "" {
			t.Fatalf("link without its ids at %v", l.Pos)
		}
	}
	for _, s := range c.Sightings {
		check("sighting", s.Pos)
		if s.Raw == "" && s.ArtifactID == "" {
			t.Fatalf("sighting without artifact at %v", s.Pos)
		}
	}
	for _, i := range c.Issuances {
		check("issuance", i.Pos)
	}
	for _, r := range c.Rejects {
		check("reject", r.Pos)
		if r.Reason == "" {
			t.Fatalf("reject without reason at %v", r.Pos)
		}
	}
	for _, ig := range c.Ignores {
		check("ignore", ig.Pos)
		if ig.Reason == "" {
			t.Fatalf("ignore without reason at %v", ig.Pos)
		}
	}
}

// MustTime parses an RFC 3339 time or panics; for tests.
func MustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}
