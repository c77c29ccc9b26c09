package record

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strings"
	"testing"
)

// hugeLineReader yields "a\nb\n", then n bytes of 'x', then "\nc\n", without
// holding the long line in memory.
type hugeLineReader struct {
	head, tail io.Reader
	left       int64
}

func (h *hugeLineReader) Read(p []byte) (int, error) {
	if n, err := h.head.Read(p); n > 0 || err != io.EOF {
		return n, err
	}
	if h.left > 0 {
		n := int(min(int64(len(p)), h.left))
		for i := range p[:n] {
			p[i] = 'x'
		}
		h.left -= int64(n)
		return n, nil
	}
	return h.tail.Read(p)
}

// A 100 MB line is rejected with a bounded excerpt and costs memory bounded
// by DefaultMaxLineBytes (what is buffered before the line is known to be
// too long), not by its size; the lines around it are read; every line is
// counted.
func TestEachLineBoundsHugeLine(t *testing.T) {
	const huge = 100 << 20
	in := &Input{
		Name:  "huge.log",
		R:     &hugeLineReader{head: strings.NewReader("a\nb\n"), tail: strings.NewReader("\nc\n"), left: huge},
		Stats: &Stats{},
	}
	var got []string
	sink := &countingSink{}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := EachLine(context.Background(), in, "test", sink, func(lineNo int64, line []byte) {
		got = append(got, string(line))
	})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Errorf("lines = %q, want a, b, c", got)
	}
	if len(sink.rejects) != 1 {
		t.Fatalf("rejects = %d, want 1", len(sink.rejects))
	}
	r := sink.rejects[0]
	if r.Pos.Line != 3 || !strings.HasPrefix(r.Reason, ReasonLineTooLong) || len(r.Excerpt) > 256 {
		t.Errorf("reject = line %d, %q, excerpt of %d bytes; want line 3, %q, at most 256 bytes",
			r.Pos.Line, r.Reason, len(r.Excerpt), ReasonLineTooLong)
	}
	if in.Stats.Records != 4 {
		t.Errorf("records read = %d, want 4", in.Stats.Records)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB while reading a %d MiB line", allocated>>10, huge>>20)
	if allocated > 8*DefaultMaxLineBytes {
		t.Errorf("allocated %d bytes for a %d-byte line: the line was buffered", allocated, huge)
	}
}

// Blank lines are neither passed on nor counted; everything else is counted
// once.
func TestEachLineCounts(t *testing.T) {
	in := &Input{Name: "x", R: bytes.NewReader([]byte("one\n\n  \r\ntwo\r\nthree")), Stats: &Stats{}}
	n := 0
	if err := EachLine(context.Background(), in, "test", &countingSink{}, func(int64, []byte) { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != 3 || in.Stats.Records != 3 {
		t.Errorf("passed %d lines, counted %d; want 3 and 3", n, in.Stats.Records)
	}
}

type countingSink struct{ rejects []Reject }

func (s *countingSink) Sighting(*Sighting)      {}
func (s *countingSink) Issuance(*Issuance)      {}
func (s *countingSink) Reject(r *Reject)        { s.rejects = append(s.rejects, *r) }
func (s *countingSink) Ignore(Position, string) {}
