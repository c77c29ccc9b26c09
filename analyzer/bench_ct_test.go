package analyzer

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds/x509kind"
	"github.com/forgehunt/forgehunt/internal/ctincident"
	"github.com/forgehunt/forgehunt/rules"
)

var (
	ctBenchOnce  sync.Once
	ctBenchDir   string
	ctBenchTruth *ctincident.Truth
	ctBenchErr   error
)

// ctBenchTiles generates one static-ct tile set of 100k entries, 1% of them
// signed with the exposed CA key, for all benchmarks of the run.
func ctBenchTiles(b *testing.B) (string, *ctincident.Truth) {
	ctBenchOnce.Do(func() {
		dir, err := filepathTemp()
		if err != nil {
			ctBenchErr = err
			return
		}
		ctBenchTruth, ctBenchErr = ctincident.Generate(dir, ctincident.Config{Seed: 3, Entries: 100_000, Form: ctincident.FormTiles})
		ctBenchDir = dir
	})
	if ctBenchErr != nil {
		b.Fatal(ctBenchErr)
	}
	return ctBenchDir, ctBenchTruth
}

// BenchmarkCTTiles hunts a 100k-entry tile set where the exposed CA signed
// 1% of the entries, and reports entries per second and the signature
// checks run per entry: the issuer pre-check keeps another CA's entries
// from costing a signature check.
func BenchmarkCTTiles(b *testing.B) {
	dir, truth := ctBenchTiles(b)
	set, err := keys.LoadFile(filepath.Join(dir, filepath.FromSlash(ctincident.ExposedKeyFile)), keys.RoleExposed)
	if err != nil {
		b.Fatal(err)
	}
	ruleSet, _ := rules.Builtin()
	ctx := context.Background()
	inputs := []string{filepath.Join(dir, filepath.FromSlash(ctincident.TilesDir)), filepath.Join(dir, filepath.FromSlash(ctincident.LedgerFile))}
	var elapsed time.Duration
	checks := int64(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := x509kind.Checks.Load()
		start := time.Now()
		c, err := OpenCase(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		if err := c.SetKeys(ctx, set, KeyWindow{}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Ingest(ctx, inputs, set, IngestOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Analyze(ctx, ruleSet, Settings{}); err != nil {
			b.Fatal(err)
		}
		c.Close()
		elapsed += time.Since(start)
		checks += x509kind.Checks.Load() - before
	}
	entries := float64(truth.Entries) * float64(b.N)
	b.ReportMetric(entries/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(checks)/float64(b.N), "sig-checks/op")
	b.ReportMetric(float64(checks)/entries, "sig-checks/entry")
}
