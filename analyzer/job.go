package analyzer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/parsers"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/rules"
)

// A Job is one run of the pipeline every front end shares: open the case,
// take in shares or logs (ingest and verify), and unless it only ingests,
// match and run the rules, and read the findings back. The command line's
// hunt, ingest and the sharded jobs are Jobs configured differently; they
// only parse flags and print.
type Job struct {
	Keys   []*keys.Key
	Window KeyWindow
	// CasePath is the case file; "" keeps the case in memory, bounded by
	// Case.MemoryLimit and spilling to a temporary directory removed
	// afterwards.
	CasePath string
	Case     CaseOptions
	Verify   VerifyMode
	// Ledgers are read as the issuer's ledger, first; then Inputs, each
	// with its own options. With Shard set (N > 1), only the share's files
	// of each input are read.
	Ledgers, Inputs []Input
	Shard           Shard
	// FromParquet: the shares to take in before anything else;
	// ParquetOut: where to write the case's tables as Shard's share after
	// the ingest.
	FromParquet, ParquetOut string
	Rules                   []*rules.Rule
	Settings                Settings
	// IngestOnly stops after the ingest (and ParquetOut): no rules run.
	IngestOnly bool

	// Live is counted as the ingest runs; OnFile is told each file done.
	Live   *Progress
	OnFile func(SourceResult)
	// Trace is told how long each stage took (forgehunt bench).
	Trace func(stage string, d time.Duration)
}

// Input is paths read with one set of format options.
type Input struct {
	Paths  []string
	Format string // "" detects per file
	Record record.Options
}

// JobResult is what a job did.
type JobResult struct {
	Ingest   *IngestSummary
	Imported *ImportResult // FromParquet
	// Prior is how many files the case held when the job read no logs
	// (the rules run again over them).
	Prior int
	// EmptyShare: Shard holds none of the inputs' files (the job wrote an
	// empty share).
	EmptyShare bool
	Runs       []RuleRun
	Findings   []Finding // every finding, at every level
	Warnings   []string
	Elapsed    time.Duration
}

// InterruptedError is a job stopped by its context: what the case kept.
type InterruptedError struct {
	Stage    string // "ingest" or "rules"
	Ingest   *IngestSummary
	CasePath string
}

func (e *InterruptedError) Error() string { return "interrupted during the " + e.Stage }

// Unwrap: an interrupted job is context.Canceled.
func (e *InterruptedError) Unwrap() error { return context.Canceled }

// InputError is a problem with the inputs found before anything was read
// (a path that does not exist, a format name no reader has).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// ErrEmptyCase: a job given no logs over a case that holds none.
var ErrEmptyCase = errors.New("the case holds no logs yet: give files or directories")

// Run runs the job.
func (j *Job) Run(ctx context.Context) (res *JobResult, err error) {
	start := time.Now()
	last := start
	mark := func(stage string) {
		if j.Trace != nil {
			now := time.Now()
			j.Trace(stage, now.Sub(last))
			last = now
		}
	}
	copts := j.Case
	if j.CasePath == "" && copts.TempDir == "" {
		dir, err := os.MkdirTemp("", "forgehunt-spill-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		copts.TempDir = dir
	}
	mark("setup")
	cs, err := OpenCaseWith(ctx, j.CasePath, copts)
	if err != nil {
		return nil, err
	}
	defer func() {
		cs.Close()
		mark("close case")
	}()
	cs.Trace = j.Trace
	cs.Verify = j.Verify
	mark("open case")
	res = &JobResult{}
	if j.FromParquet != "" {
		if res.Imported, err = cs.ImportParquet(ctx, j.FromParquet); err != nil {
			return nil, err
		}
		mark("import parquet")
	}
	if err := cs.SetKeys(ctx, j.Keys, j.Window); err != nil {
		return nil, fmt.Errorf("recording keys: %w", err)
	}
	if err := j.ingest(ctx, cs, res); err != nil {
		return nil, err
	}
	mark("ingest")
	if res.Ingest == nil {
		// no logs given: the rules run again over what the case holds
		if err := cs.DB.QueryRowContext(ctx, `SELECT count(*) FROM sources`).Scan(&res.Prior); err != nil {
			return nil, err
		}
		if res.Prior == 0 {
			return nil, ErrEmptyCase
		}
		res.Ingest = &IngestSummary{}
	}
	if j.ParquetOut != "" {
		if err := cs.ExportParquet(ctx, j.ParquetOut, j.Shard); err != nil {
			return nil, err
		}
		mark("export parquet")
	}
	if j.IngestOnly {
		res.Elapsed = time.Since(start)
		return res, nil
	}
	if res.Runs, err = cs.Analyze(ctx, j.Rules, j.Settings); err != nil {
		if ctx.Err() != nil {
			return nil, &InterruptedError{Stage: "rules", Ingest: res.Ingest, CasePath: j.CasePath}
		}
		return nil, err
	}
	last = time.Now()
	if res.Findings, err = cs.Findings(ctx, ""); err != nil {
		return nil, err
	}
	mark("read findings")
	if res.Warnings, err = cs.Diagnose(ctx); err != nil {
		return nil, err
	}
	mark("diagnose")
	res.Elapsed = time.Since(start)
	return res, nil
}

// ingest reads the ledgers, then each input, into cs.
func (j *Job) ingest(ctx context.Context, cs *Case, res *JobResult) error {
	type batch struct {
		paths []string
		opts  IngestOptions
	}
	var batches []batch
	for _, in := range j.Ledgers {
		batches = append(batches, batch{in.Paths, IngestOptions{Format: "ledger", Record: in.Record, Progress: j.OnFile, Live: j.Live}})
	}
	for _, in := range j.Inputs {
		paths := in.Paths
		if j.Shard.N > 1 {
			var err error
			if paths, err = ShareFiles(paths, j.Shard); err != nil {
				return &InputError{err}
			}
		}
		if len(paths) > 0 {
			batches = append(batches, batch{paths, IngestOptions{Format: in.Format, Record: in.Record, Progress: j.OnFile, Live: j.Live}})
		}
	}
	if j.Shard.N > 1 && len(j.Inputs) > 0 && len(batches) == len(j.Ledgers) {
		res.EmptyShare = true
		if res.Ingest == nil {
			res.Ingest = &IngestSummary{}
		}
	}
	for _, b := range batches {
		more, err := cs.Ingest(ctx, b.paths, j.Keys, b.opts)
		res.Ingest = mergeSummary(res.Ingest, more)
		if err != nil {
			if ctx.Err() != nil {
				return &InterruptedError{Stage: "ingest", Ingest: res.Ingest, CasePath: j.CasePath}
			}
			if more == nil {
				return &InputError{err}
			}
			return err
		}
	}
	return nil
}

// mergeSummary adds more to sum; a file met again (a ledger file under a
// logs directory) is not news.
func mergeSummary(sum, more *IngestSummary) *IngestSummary {
	if more == nil {
		return sum
	}
	if sum == nil {
		return more
	}
	seen := map[string]bool{}
	for _, src := range sum.Sources {
		seen[src.SHA256] = true
	}
	for _, src := range more.Sources {
		if !(src.Duplicate && seen[src.SHA256]) {
			sum.Sources = append(sum.Sources, src)
		}
	}
	sum.Duration += more.Duration
	return sum
}

// ShareFiles expands paths and keeps the files of share s, each known by
// its path below the argument it was found under.
func ShareFiles(paths []string, s Shard) ([]string, error) {
	var out []string
	for _, p := range paths {
		files, err := parsers.Expand([]string{p})
		if err != nil {
			return nil, err
		}
		base := p
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			base = filepath.Dir(p)
		}
		for _, f := range files {
			rel, err := filepath.Rel(base, f)
			if err != nil {
				rel = f
			}
			if s.Owns(rel) {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// KeyFiles are the key files of a job.
type KeyFiles struct {
	Exposed, Trusted, HMAC []string
	// Windows are exposed key files' own exposure windows.
	Windows map[string]KeyWindow
}

// Load reads every key file; the windows it returns are by key
// fingerprint (KeyWindow.ByKey).
func (kf KeyFiles) Load() ([]*keys.Key, map[string]KeyWindow, error) {
	var set []*keys.Key
	var byKey map[string]KeyWindow
	for _, path := range kf.Exposed {
		ks, err := keys.LoadFile(path, keys.RoleExposed)
		if err != nil {
			return nil, nil, err
		}
		if w, ok := kf.Windows[path]; ok {
			if byKey == nil {
				byKey = map[string]KeyWindow{}
			}
			for _, k := range ks {
				byKey[k.FP] = w
			}
		}
		set = append(set, ks...)
	}
	for _, path := range kf.HMAC {
		k, err := keys.LoadHMACSecret(path, keys.RoleExposed)
		if err != nil {
			return nil, nil, err
		}
		set = append(set, k)
	}
	for _, path := range kf.Trusted {
		ks, err := keys.LoadFile(path, keys.RoleTrusted)
		if err != nil {
			return nil, nil, err
		}
		set = append(set, ks...)
	}
	return keys.Dedupe(set), byKey, nil
}

// RuleSelection says which rules a job runs: the built-in ones and those
// of Dirs, then Only (if any) less Exclude.
type RuleSelection struct{ Dirs, Only, Exclude []string }

// Load returns the selected rules, and the load errors of broken rule
// files (the others still run); the error is a selection naming no rule.
func (sel RuleSelection) Load() ([]*rules.Rule, []*rules.LoadError, error) {
	builtin, errs := rules.Builtin()
	var user []*rules.Rule
	for _, dir := range sel.Dirs {
		rs, es := rules.LoadDir(dir)
		user = append(user, rs...)
		errs = append(errs, es...)
	}
	selected, err := rules.Select(rules.Merge(builtin, user), sel.Only, sel.Exclude)
	return selected, errs, err
}

// VerifyModeFor is the verification for a --verify value ("all", "needed",
// "auto") and the rules a job runs: the deferred trusted-key checks of
// VerifyNeeded are settled for what the built-in rules may depend on; a
// rule from a file may judge any artifact's signer, so auto verifies
// everything when one runs.
func VerifyModeFor(flag string, ruleSet []*rules.Rule) VerifyMode {
	switch flag {
	case "all":
		return VerifyAll
	case "needed":
		return VerifyNeeded
	}
	for _, r := range ruleSet {
		if !strings.HasPrefix(r.Source, "builtin:") {
			return VerifyAll
		}
	}
	return VerifyNeeded
}
