package record

import (
	"bytes"
	"context"
	"fmt"
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

// eachLineBoth reads data through R and in place (Data) and returns what
// each gave, as text.
func eachLineBoth(t testing.TB, data []byte, opts Options) (fromReader, inPlace string) {
	run := func(in *Input) string {
		in.Name, in.Options, in.Stats = "x.log", opts, &Stats{}
		sink := &countingSink{}
		var b strings.Builder
		err := EachLine(context.Background(), in, "test", sink, func(n int64, line []byte) {
			fmt.Fprintf(&b, "%d:%q:%v\n", n, line, in.LineTime())
		})
		for _, r := range sink.rejects {
			fmt.Fprintf(&b, "reject %v %q %q\n", r.Pos, r.Reason, r.Excerpt)
		}
		fmt.Fprintf(&b, "records %d err %v\n", in.Stats.Records, err)
		return b.String()
	}
	return run(&Input{R: bytes.NewReader(data), FirstLine: 7}), run(&Input{R: bytes.NewReader(data), Data: data, FirstLine: 7})
}

// Reading the lines of an input held in memory in place gives what reading
// it through R gives: lines, numbers, rejects, counts.
func TestEachLineInPlace(t *testing.T) {
	cri := Envelopes[1]
	long := strings.Repeat("y", 300)
	for _, tc := range []struct {
		data string
		opts Options
	}{
		{"a\nb\r\n\n  \nc", Options{}},
		{"", Options{}},
		{"\n\n", Options{}},
		{"a\n" + long + "\nb\n" + long, Options{MaxLineBytes: 100}},
		{"x\n" + strings.Repeat("z", 102) + "\n", Options{MaxLineBytes: 100}},
		{"2026-03-04T10:00:00.1Z stdout P {\"a\":\n2026-03-04T10:00:00.2Z stdout F 1}\nlast\n", Options{Envelope: cri}},
	} {
		r, p := eachLineBoth(t, []byte(tc.data), tc.opts)
		if r != p {
			t.Errorf("%.40q: through R\n%s\nin place\n%s", tc.data, r, p)
		}
	}
}

func FuzzEachLineInPlace(f *testing.F) {
	f.Add([]byte("a\nb\r\n\nc"), 0)
	f.Add([]byte("2026-03-04T10:00:00.1Z stdout P x\n2026-03-04T10:00:00.2Z stdout F y\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, mode int) {
		opts := Options{MaxLineBytes: 64}
		if mode%2 == 1 {
			opts.Envelope = Envelopes[1]
		}
		if r, p := eachLineBoth(t, data, opts); r != p {
			t.Errorf("through R\n%s\nin place\n%s", r, p)
		}
	})
}
