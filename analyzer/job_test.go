package analyzer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/forgehunt/forgehunt/analyzer/keys"
)

func TestJobErrors(t *testing.T) {
	ctx := context.Background()
	j := &Job{}
	if _, err := j.Run(ctx); !errors.Is(err, ErrEmptyCase) {
		t.Errorf("no logs over an empty case: %v", err)
	}
	j = &Job{Inputs: []Input{{Paths: []string{filepath.Join(t.TempDir(), "missing")}}}}
	var ie *InputError
	if _, err := j.Run(ctx); !errors.As(err, &ie) {
		t.Errorf("a missing path: %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.log"), []byte(`{"msg":"x"}`+"\n"), 0o644)
	j = &Job{Inputs: []Input{{Paths: []string{dir}}}, Keys: []*keys.Key{}}
	var intr *InterruptedError
	if _, err := j.Run(canceled); err == nil || !(errors.As(err, &intr) || errors.Is(err, context.Canceled)) {
		t.Errorf("a canceled job: %v", err)
	}
}

// A sharded job writes an empty share when its share holds none of the
// files, and says so.
func TestJobEmptyShare(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "only.log"), []byte("x\n"), 0o644)
	out := filepath.Join(t.TempDir(), "shares")
	var empty, full int
	for i := range 8 {
		j := &Job{Inputs: []Input{{Paths: []string{dir}}}, Shard: Shard{I: i, N: 8}, ParquetOut: out, IngestOnly: true}
		res, err := j.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.EmptyShare {
			empty++
		} else {
			full++
		}
	}
	if empty != 7 || full != 1 {
		t.Errorf("%d empty and %d full shares of one file", empty, full)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "sources", "*.parquet")); len(m) != 8 {
		t.Errorf("share files: %v", m)
	}
}
