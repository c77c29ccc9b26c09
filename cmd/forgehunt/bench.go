package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/forgehunt/forgehunt/internal/benchcorpus"
)

const benchHelp = `Usage: forgehunt bench [flags]

Measure a whole hunt against DuckDB's own scan of the same log, side by side
in one run: a generated Istio JSON access log (bearer tokens from a pool of
distinct RS256 and ES256 tokens) with its issuer's ledger, an exposed RSA key
and a trusted EC key. Each run alternates the hunt (forgehunt hunt ... --format
jsonl, as a child process) and DuckDB's read_ndjson scan (also a child); the
medians are compared. For developers: 'make bench' runs it.

Flags:
  --lines N             access-log lines (default 1000000)
  --tokens N            distinct tokens (default 50000)
  --compression C       gz, zst or none (default gz)
  --runs N              runs of each, alternating (default 3)
  --dir DIR             where the corpus is kept between runs (default
                        $TMPDIR/forgehunt-bench-LINES-COMPRESSION)
  --json FILE           also write the figures as JSON to FILE

The corpus is generated once per configuration and reused.
`

func cmdBench(ctx context.Context, env *env, args []string) (int, error) {
	var cfg benchcorpus.Config
	fs := newFlagSet(env, "bench", benchHelp)
	fs.IntVar(&cfg.Lines, "lines", 1_000_000, "")
	fs.IntVar(&cfg.Tokens, "tokens", 50_000, "")
	fs.StringVar(&cfg.Compression, "compression", "gz", "")
	runs := fs.Int("runs", 3, "")
	dir := fs.String("dir", "", "")
	jsonOut := fs.String("json", "", "")
	if _, err := parseFlags(fs, args); err != nil {
		return exitError, handleFlagErr(env, err, benchHelp)
	}
	switch cfg.Compression {
	case "gz", "zst", "none":
	default:
		return exitError, usagef("--compression %q is not gz, zst or none", cfg.Compression)
	}
	if *runs < 1 {
		return exitError, usagef("--runs must be at least 1")
	}
	if *dir == "" {
		*dir = filepath.Join(os.TempDir(), fmt.Sprintf("forgehunt-bench-%d-%s", cfg.Lines, cfg.Compression))
	}
	start := time.Now()
	corpus, err := benchcorpus.Ensure(*dir, cfg, env.stderr)
	if err != nil {
		return exitError, fmt.Errorf("writing the corpus: %w", err)
	}
	if d := time.Since(start); d > time.Second {
		fmt.Fprintf(env.stderr, "corpus ready in %s\n", d.Round(time.Millisecond))
	}
	// The children are this program: by the name it was started with (so
	// that a test harness that maps the name to itself works), else by its
	// path.
	self := os.Args[0]
	if _, err := exec.LookPath(self); err != nil {
		if self, err = os.Executable(); err != nil {
			return exitError, err
		}
	}
	work, err := os.MkdirTemp("", "forgehunt-bench-run-")
	if err != nil {
		return exitError, err
	}
	defer os.RemoveAll(work)

	var hunts, scans []benchRun
	for i := range *runs {
		out := filepath.Join(work, fmt.Sprintf("findings-%d.jsonl", i))
		stages := filepath.Join(work, fmt.Sprintf("stages-%d.json", i))
		h, err := runChild(ctx, self, []string{"FORGEHUNT_STAGES=" + stages}, "hunt",
			"--key", corpus.ExposedKey, "--trusted-key", corpus.TrustedKey, "--ledger", corpus.Ledger,
			"--format", "jsonl", "--out", out, "--fail-on", "none", "--quiet", corpus.Log)
		if err != nil {
			return exitError, fmt.Errorf("hunt run %d: %w", i+1, err)
		}
		if b, err := os.ReadFile(stages); err == nil {
			json.Unmarshal(b, &h.Stages)
		}
		if h.Recall, err = benchRecall(out, corpus.Forged); err != nil {
			return exitError, err
		}
		hunts = append(hunts, h)
		s, err := runChild(ctx, self, nil, "bench-scan", corpus.Log)
		if err != nil {
			return exitError, fmt.Errorf("scan run %d: %w", i+1, err)
		}
		scans = append(scans, s)
		fmt.Fprintf(env.stderr, "run %d: hunt %s (CPU %.1f s, peak %d MiB), duckdb scan %s (CPU %.1f s): %.2fx\n", i+1,
			h.Wall.Round(time.Millisecond), h.CPU.Seconds(), h.MaxRSS>>20, s.Wall.Round(time.Millisecond), s.CPU.Seconds(),
			h.Wall.Seconds()/s.Wall.Seconds())
	}
	h, s := median(hunts), median(scans)
	ratio := h.Wall.Seconds() / s.Wall.Seconds()
	w := env.stdout
	fmt.Fprintf(w, "corpus      %d lines, %d distinct tokens, %s, %.0f MB on disk (%s)\n",
		corpus.Config.Lines, corpus.Config.Tokens, corpus.Config.Compression, float64(corpus.LogSize)/1e6, corpus.Dir)
	fmt.Fprintf(w, "machine     %d cores (GOMAXPROCS), %s/%s\n", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "hunt        median %s of %d, %.0f lines/s, %.1f MB/s on disk, CPU %.1f s (%.2f cores), peak RSS %d MiB\n",
		h.Wall.Round(time.Millisecond), len(hunts), float64(corpus.Config.Lines)/h.Wall.Seconds(),
		float64(corpus.LogSize)/1e6/h.Wall.Seconds(), h.CPU.Seconds(), h.CPU.Seconds()/h.Wall.Seconds(), maxRSS(hunts)>>20)
	fmt.Fprintf(w, "duckdb scan median %s of %d (read_ndjson, count(*)), CPU %.1f s, peak RSS %d MiB\n",
		s.Wall.Round(time.Millisecond), len(scans), s.CPU.Seconds(), maxRSS(scans)>>20)
	fmt.Fprintf(w, "ratio       %.2fx (hunt / scan)\n", ratio)
	fmt.Fprintf(w, "recall      %d of %d forged tokens reported at high or above\n", h.Recall, len(corpus.Forged))
	if len(h.Stages) > 0 {
		fmt.Fprintf(w, "stages      (median run)\n")
		for _, st := range h.Stages {
			fmt.Fprintf(w, "  %-28s %8s\n", st.Name, time.Duration(st.Nanos).Round(time.Millisecond))
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{
			"lines": corpus.Config.Lines, "tokens": corpus.Config.Tokens, "compression": corpus.Config.Compression,
			"log_bytes": corpus.LogSize, "hunt_s": h.Wall.Seconds(), "scan_s": s.Wall.Seconds(), "ratio": ratio,
			"hunt_cpu_s": h.CPU.Seconds(), "scan_cpu_s": s.CPU.Seconds(),
			"hunt_peak_rss": maxRSS(hunts), "scan_peak_rss": maxRSS(scans), "stages": h.Stages,
			"recall": h.Recall, "forged": len(corpus.Forged),
		}, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return exitError, err
		}
	}
	return exitOK, nil
}

// benchRun is one child process: its wall time and peak resident memory.
type benchRun struct {
	Wall   time.Duration
	CPU    time.Duration // user + system
	MaxRSS int64         // bytes
	Stages []stageTime
	Recall int
}

// stageTime is one stage of a hunt (FORGEHUNT_STAGES).
type stageTime struct {
	Name  string `json:"name"`
	Nanos int64  `json:"nanos"`
}

func runChild(ctx context.Context, self string, extraEnv []string, args ...string) (benchRun, error) {
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	r := benchRun{Wall: time.Since(start)}
	if err != nil {
		return r, fmt.Errorf("%v: %s", err, stderr.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss << 10 // KiB on Linux
		r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return r, nil
}

func median(rs []benchRun) benchRun {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b benchRun) int { return int(a.Wall - b.Wall) })
	return s[len(s)/2]
}

func maxRSS(rs []benchRun) int64 {
	var m int64
	for _, r := range rs {
		m = max(m, r.MaxRSS)
	}
	return m
}

// benchRecall counts the forged tokens with a finding at high or above in
// a JSONL findings file.
func benchRecall(path string, forged []string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	want := map[string]bool{}
	for _, k := range forged {
		want[k] = true
	}
	found := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var fd struct {
			Level       string `json:"level"`
			ArtifactKey string `json:"artifact_key"`
		}
		if json.Unmarshal(sc.Bytes(), &fd) == nil && want[fd.ArtifactKey] && (fd.Level == "high" || fd.Level == "critical") {
			found[fd.ArtifactKey] = true
		}
	}
	return len(found), sc.Err()
}

// cmdBenchScan is the baseline: DuckDB's own scan of a JSON-lines file, in
// a fresh in-memory database.
func cmdBenchScan(ctx context.Context, env *env, args []string) (int, error) {
	if len(args) != 1 {
		return exitError, usagef("bench-scan FILE")
	}
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return exitError, err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM read_ndjson(?)`, args[0]).Scan(&n); err != nil {
		return exitError, err
	}
	fmt.Fprintln(env.stdout, n)
	return exitOK, nil
}

// stageClock records how long each stage of a hunt took, for `forgehunt
// bench`: FORGEHUNT_STAGES=FILE makes the hunt write them to FILE as JSON.
// With no file it records nothing.
type stageClock struct {
	path   string
	last   time.Time
	stages []stageTime
}

func newStageClock(path string) *stageClock { return &stageClock{path: path, last: time.Now()} }

// mark ends the stage running since the last mark (or reset).
func (c *stageClock) mark(name string) {
	now := time.Now()
	c.add(name, now.Sub(c.last))
	c.last = now
}

// reset starts timing anew (after stages that reported themselves).
func (c *stageClock) reset() { c.last = time.Now() }

// add records a stage timed elsewhere (the analyzer's own stages).
func (c *stageClock) add(name string, d time.Duration) {
	if c.path != "" {
		c.stages = append(c.stages, stageTime{Name: name, Nanos: int64(d)})
	}
}

func (c *stageClock) write() {
	if c.path == "" {
		return
	}
	b, _ := json.Marshal(c.stages)
	os.WriteFile(c.path, b, 0o600)
}
