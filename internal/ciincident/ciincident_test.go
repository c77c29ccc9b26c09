package ciincident

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestGenerateDeterministic(t *testing.T) {
	for _, form := range []string{FormRekor, FormBundle} {
		a, b := t.TempDir(), t.TempDir()
		ta, err := Generate(a, Config{Form: form})
		if err != nil {
			t.Fatal(err)
		}
		tb, err := Generate(b, Config{Form: form})
		if err != nil {
			t.Fatal(err)
		}
		if len(ta.Files) != len(tb.Files) {
			t.Fatalf("%s: %d files, then %d", form, len(ta.Files), len(tb.Files))
		}
		for _, f := range append(ta.Files, TruthFile) {
			x, _ := os.ReadFile(filepath.Join(a, filepath.FromSlash(f)))
			y, _ := os.ReadFile(filepath.Join(b, filepath.FromSlash(f)))
			if !bytes.Equal(x, y) || len(x) == 0 {
				t.Errorf("%s: %s differs between two runs (or is empty)", form, f)
			}
		}
		if len(ta.Forged()) != 5 || len(ta.Foreign()) != 30 {
			t.Errorf("%s: %d forged, %d foreign", form, len(ta.Forged()), len(ta.Foreign()))
		}
		other, err := Generate(t.TempDir(), Config{Form: form, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		if other.ExposedPublicKey == ta.ExposedPublicKey || other.Forged()[0] == ta.Forged()[0] {
			t.Errorf("%s: seed 2 gives the same key or signatures", form)
		}
	}
}
