package idincident

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One Config always gives the same files, and another seed other ones.
func TestGenerateDeterministic(t *testing.T) {
	read := func(dir string, tr *Truth) map[string][]byte {
		out := map[string][]byte{}
		for _, f := range append(tr.Files, TruthFile) {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
			if err != nil {
				t.Fatal(err)
			}
			out[f] = b
		}
		return out
	}
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	ta, err := Generate(a, Config{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := Generate(b, Config{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	fa, fb := read(a, ta), read(b, tb)
	if len(fa) != len(fb) {
		t.Fatalf("%d files, then %d", len(fa), len(fb))
	}
	for name, data := range fa {
		if !bytes.Equal(data, fb[name]) {
			t.Errorf("%s differs between two runs of one seed", name)
		}
	}
	tc, err := Generate(c, Config{Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tc.ForgedKeys(), " ") == strings.Join(ta.ForgedKeys(), " ") {
		t.Error("another seed forged the same credentials")
	}
}

// The incident holds what its tests rely on: forgeries on every platform,
// each used, and legitimate use besides.
func TestTruth(t *testing.T) {
	tr, err := Generate(t.TempDir(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, f := range tr.Forged {
		n[f.Platform]++
		if f.Uses == 0 || f.First.Before(tr.ExposedFrom) {
			t.Errorf("forged %s %s: %d uses from %s, exposed from %s", f.Platform, f.Key, f.Uses, f.First, tr.ExposedFrom)
		}
	}
	if n[PlatformK8s] != 3 || n[PlatformAWS] != 1 || n[PlatformEntra] != 3 || n[PlatformOkta] != 2 {
		t.Errorf("forged per platform: %v", n)
	}
	for _, p := range []string{PlatformK8s, PlatformAWS, PlatformEntra, PlatformOkta} {
		if tr.Legit[p] == 0 {
			t.Errorf("no legitimate %s use", p)
		}
	}
}
