package adversarial

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
)

// Every case names a file that exists, says what forgehunt must do, and
// checks something; names are unique; a case's line exists in its file.
func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	cases, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.Name] {
			t.Errorf("case name %q repeats", c.Name)
		}
		names[c.Name] = true
		if c.What == "" || c.Must == "" {
			t.Errorf("%s: What or Must is empty", c.Name)
		}
		if c.SigStatus != "" && c.Token == "" {
			t.Errorf("%s: SigStatus without Token", c.Name)
		}
		path := filepath.Join(dir, filepath.FromSlash(c.File))
		st, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if c.Line > 0 && filepath.Ext(c.File) == ".log" && st.Size() < 1<<20 {
			if n := countLines(t, path); c.Line > n {
				t.Errorf("%s: line %d, but %s has %d lines", c.Name, c.Line, c.File, n)
			}
		}
	}
	if len(cases) < 30 {
		t.Errorf("only %d cases", len(cases))
	}
}

func countLines(t *testing.T, path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var n int64
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
