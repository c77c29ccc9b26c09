package parsers

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// Chunks are whole lines, numbered right, and together the whole input;
// an over-long line is cut (not buffered) but still ends its chunk's line.
func TestSplitLines(t *testing.T) {
	var in strings.Builder
	for i := 0; i < 5000; i++ {
		in.WriteString(strings.Repeat("x", i%97))
		in.WriteString("\n")
	}
	in.WriteString(strings.Repeat("L", 5000)) // over-long line
	in.WriteString("\nafter\nno-newline-at-end")
	var chunks []Chunk
	err := SplitLines(iotest.HalfReader(strings.NewReader(in.String())), 4096, 1000, func(c Chunk) error {
		chunks = append(chunks, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var joined bytes.Buffer
	line := int64(1)
	for i, c := range chunks {
		if c.FirstLine != line {
			t.Fatalf("chunk %d starts at line %d, want %d", i, c.FirstLine, line)
		}
		if i < len(chunks)-1 && c.Data[len(c.Data)-1] != '\n' {
			t.Fatalf("chunk %d does not end with a newline", i)
		}
		line += int64(bytes.Count(c.Data, []byte{'\n'}))
		joined.Write(c.Data)
	}
	want := strings.Replace(in.String(), strings.Repeat("L", 5000), strings.Repeat("L", 1003), 1)
	if joined.String() != want {
		t.Fatalf("chunks do not add up to the input (%d vs %d bytes)", joined.Len(), len(want))
	}
	if len(chunks) < 10 {
		t.Fatalf("only %d chunks", len(chunks))
	}
}

func TestSplitLinesReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("a\nb\n"), iotest.ErrReader(boom))
	var got []string
	err := SplitLines(r, 1, 100, func(c Chunk) error { got = append(got, string(c.Data)); return nil })
	if !errors.Is(err, boom) || strings.Join(got, "") != "a\nb\n" {
		t.Fatalf("err %v, chunks %q", err, got)
	}
}

// A part never ends on a partial line: the record's rest stays with it.
func TestSplitLinesAtKeepsPartialLines(t *testing.T) {
	var in strings.Builder
	for i := 0; i < 2000; i++ {
		in.WriteString("2026-03-04T10:00:00Z stdout P first half\n2026-03-04T10:00:00Z stdout F second half\n")
	}
	partial := func(line []byte) bool { return !strings.Contains(string(line), " P ") }
	n := 0
	err := SplitLinesAt(strings.NewReader(in.String()), 1000, 1000, partial, func(c Chunk) error {
		n++
		lines := strings.Split(strings.TrimSuffix(string(c.Data), "\n"), "\n")
		if last := lines[len(lines)-1]; strings.Contains(last, " P ") {
			t.Fatalf("part %d ends on a partial line %q", n, last)
		}
		return nil
	})
	if err != nil || n < 10 {
		t.Fatalf("err %v, %d parts", err, n)
	}
}

// splitReference is what SplitLines must give, joined: each line longer
// than maxLine+2 bytes (line ending included) cut to maxLine+3 bytes, its
// newline kept.
func splitReference(in []byte, maxLine int) []byte {
	var out []byte
	for len(in) > 0 {
		i := bytes.IndexByte(in, '\n')
		line := in
		if i >= 0 {
			line = in[:i+1]
		}
		in = in[len(line):]
		if len(line) > maxLine+3 || (i < 0 && len(line) >= maxLine+3) {
			out = append(out, line[:maxLine+3]...)
			if i >= 0 {
				out = append(out, '\n')
			}
			continue
		}
		out = append(out, line...)
	}
	return out
}

func FuzzSplitLines(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), 4, 3, false)
	f.Add([]byte(strings.Repeat("x", 50)+"\ny\n"), 8, 5, true)
	f.Fuzz(func(t *testing.T, in []byte, size, maxLine int, oneByte bool) {
		size, maxLine = 1+abs(size)%64, 1+abs(maxLine)%32
		var r io.Reader = bytes.NewReader(in)
		if oneByte {
			r = iotest.OneByteReader(r)
		} else {
			r = iotest.HalfReader(r)
		}
		var joined []byte
		line := int64(1)
		err := SplitLines(r, size, maxLine, func(c Chunk) error {
			if c.FirstLine != line {
				t.Fatalf("chunk at line %d, want %d", c.FirstLine, line)
			}
			line += int64(bytes.Count(c.Data, []byte{'\n'}))
			joined = append(joined, c.Data...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := splitReference(in, maxLine); !bytes.Equal(joined, want) {
			t.Fatalf("size %d maxLine %d:\n got %q\nwant %q", size, maxLine, joined, want)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
