package analyzer

import (
	"context"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/internal/incident"
	"github.com/forgehunt/forgehunt/parsers"
	"github.com/forgehunt/forgehunt/rules"
)

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

// benchIncident generates one larger incident (~120k access-log lines) for
// all benchmarks of the run.
func benchIncident(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := filepathTemp()
		if err != nil {
			benchErr = err
			return
		}
		cfg := incident.DefaultConfig()
		cfg.Requests = 120000
		_, benchErr = incident.Generate(dir, cfg)
		benchDir = dir
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

func filepathTemp() (string, error) {
	return osMkdirTemp("", "forgehunt-bench-")
}

// readAll is the floor any hunt pays: open, decompress and read every byte.
func readAll(b *testing.B, dir string) int64 {
	files, err := parsers.Expand([]string{filepath.Join(dir, "logs")})
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, f := range files {
		o, err := parsers.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		m, err := io.Copy(io.Discard, o)
		o.Close()
		if err != nil {
			b.Fatal(err)
		}
		n += m
	}
	return n
}

func benchKeys(b *testing.B, dir string) []*keys.Key {
	exposed, err := keys.LoadFile(filepath.Join(dir, "keys", "exposed.pem"), keys.RoleExposed)
	if err != nil {
		b.Fatal(err)
	}
	trusted, err := keys.LoadFile(filepath.Join(dir, "keys", "trusted-jwks.json"), keys.RoleTrusted)
	if err != nil {
		b.Fatal(err)
	}
	return append(exposed, trusted...)
}

// BenchmarkHunt times a whole hunt (ingest, verify, match, rules) on an
// in-memory case, and reports it as a ratio of the time to merely read and
// decompress the same logs, measured in the same run ("x-read"): the figure
// to compare across machines.
func BenchmarkHunt(b *testing.B) {
	dir := benchIncident(b)
	set := benchKeys(b, dir)
	ruleSet, _ := rules.Builtin()
	ctx := context.Background()
	var huntTime, readTime time.Duration
	var bytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		bytes = readAll(b, dir)
		readTime += time.Since(start)

		start = time.Now()
		c, err := OpenCase(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		if err := c.SetKeys(ctx, set, KeyWindow{}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Ingest(ctx, []string{filepath.Join(dir, "logs")}, set, IngestOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Analyze(ctx, ruleSet, Settings{}); err != nil {
			b.Fatal(err)
		}
		c.Close()
		huntTime += time.Since(start)
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(huntTime)/float64(readTime), "x-read")
	b.ReportMetric(float64(bytes)/huntTime.Seconds()*float64(b.N)/1e6, "hunt-MB/s")
}

// BenchmarkVerifyOnce shows why verification is per distinct artifact: it
// reports how much faster verifying each distinct token once is than
// verifying every presentation ("x-faster"), on the incident's tokens.
func BenchmarkVerifyOnce(b *testing.B) {
	dir := benchIncident(b)
	set := benchKeys(b, dir)
	truth, err := incident.ReadTruth(filepath.Join(dir, "truth.json"))
	if err != nil {
		b.Fatal(err)
	}
	// Rebuild raw tokens is not possible from the truth; use the case.
	ctx := context.Background()
	c, err := OpenCase(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Ingest(ctx, []string{filepath.Join(dir, "logs")}, set, IngestOptions{}); err != nil {
		b.Fatal(err)
	}
	rows, err := c.DB.QueryContext(ctx, `SELECT r.raw, count(*) FROM artifact_raw r JOIN sightings s USING (artifact_key) GROUP BY r.raw`)
	if err != nil {
		b.Fatal(err)
	}
	type tok struct {
		raw string
		n   int
	}
	var toks []tok
	for rows.Next() {
		var t tok
		if err := rows.Scan(&t.raw, &t.n); err != nil {
			b.Fatal(err)
		}
		toks = append(toks, t)
	}
	rows.Close()
	_ = truth
	var once, each time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for _, t := range toks {
			VerifyArtifact("k", "jwt", t.raw, set)
		}
		once += time.Since(start)
		start = time.Now()
		for _, t := range toks {
			for j := 0; j < t.n; j++ {
				VerifyArtifact("k", "jwt", t.raw, set)
			}
		}
		each += time.Since(start)
	}
	b.ReportMetric(float64(each)/float64(once), "x-faster")
}
