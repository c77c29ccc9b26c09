package derivincident

import (
	"os"
	"path/filepath"
	"testing"
)

func readFile(dir, rel string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	return string(b), err
}

// One seed gives the same files; the incident has its four forgeries and
// three derived credentials.
func TestGenerateDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ta, err := Generate(a, 1)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Generate(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ta.Files) != len(tb.Files) || len(ta.Forged) != 4 || len(ta.Derived) != 3 || ta.LegitExch == 0 || ta.LegitSTS == 0 {
		t.Fatalf("%+v", ta)
	}
	for _, f := range ta.Files {
		x, _ := readFile(a, f)
		y, _ := readFile(b, f)
		if x != y {
			t.Errorf("%s differs between runs of one seed", f)
		}
	}
}
