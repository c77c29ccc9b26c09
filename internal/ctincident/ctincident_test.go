package ctincident

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/sunlight"
)

// The same Config gives byte-identical files, and the tiles hold every
// entry once (the stale partial tile repeats the first full tile's head).
func TestGenerateDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ta, err := Generate(a, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(b, DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(ta.Files, TruthFile) {
		x, _ := os.ReadFile(filepath.Join(a, filepath.FromSlash(f)))
		y, _ := os.ReadFile(filepath.Join(b, filepath.FromSlash(f)))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs", f)
		}
	}
	if len(ta.Forged()) == 0 || ta.Entries != 600 {
		t.Fatalf("%d forged, %d entries", len(ta.Forged()), ta.Entries)
	}
	full, _ := os.ReadFile(filepath.Join(a, filepath.FromSlash(TilesDir), "tile", "data", "000"))
	n := 0
	for len(full) > 0 {
		e, rest, err := sunlight.ReadTileLeaf(full)
		if err != nil {
			t.Fatal(err)
		}
		if e.LeafIndex != int64(n) {
			t.Fatalf("entry %d has leaf index %d", n, e.LeafIndex)
		}
		full, n = rest, n+1
	}
	if n != sunlight.TileWidth {
		t.Errorf("the first full tile holds %d entries", n)
	}
}
