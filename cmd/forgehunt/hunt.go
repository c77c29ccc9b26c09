package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/parsers"
	"github.com/forgehunt/forgehunt/parsers/envoytext"
	"github.com/forgehunt/forgehunt/parsers/nginx"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/rules"
)

const huntHelp = `Usage: forgehunt hunt --key FILE [flags] PATH...

Ingest logs (files, directories, globs; .gz and .zst too), verify every
distinct token once against the given keys, match tokens against the issuer's
own issuance log, run the detection rules and print the findings.

Keys:
  --key FILE            exposed key: PEM public key, certificate, private key
                        (only its public half is used), JWK or JWKS; repeatable
  --trusted-key FILE    key legitimately in use and not exposed; repeatable
  --hmac-secret FILE    an exposed HMAC secret (the file's bytes); repeatable
  --exposed-from TIME   when the exposure began (RFC 3339)
  --revoked-at TIME     when the exposed key was revoked (RFC 3339)

Input:
  --input-format NAME   read every file as NAME instead of detecting it
                        (see 'forgehunt formats')
  --ledger PATH         read PATH (file, directory or glob) as the issuer's
                        issuance ledger whatever its column names; repeatable
  --observer NAME       name of the service whose logs these are
  --field-map K=V       read logical field K from JSON key V (token, time,
                        client_ip, user_agent, observer, principal, status,
                        method, path, issuer_base; for a SAML service
                        provider's log: authn_request_id, client_request_id,
                        in_response_to, assertion_id, name_id, ...); repeatable
  --nginx-format FMT    read nginx logs with this log_format string (the
                        quoted parts of the nginx.conf directive, joined)
  --envoy-format FMT    read Envoy text access logs with this format string
                        (default: Envoy's and Istio's default text format)
  --tz ZONE             time zone of timestamps that carry none (default UTC)

Case and rules:
  --case FILE           keep the case in FILE (DuckDB) to triage or re-run;
                        default: in memory, spilling to a temporary
                        directory, removed afterwards
  --memory-limit SIZE   the case database's memory bound; past it, it spills
                        to disk (default 512MB; e.g. 4GB on a large machine
                        makes big hunts faster)
  --verify WHICH        'needed': every token against the exposed keys, and
                        against the trusted keys only where a built-in rule's
                        finding may depend on it (the others get sig_status
                        not-checked); 'all': every token against every key;
                        'auto' (default): needed, or all when --rules adds
                        rules (their needs are not known)
  --rules DIR           add the rules in DIR (*.yml); repeatable
  --rule ID             run only this rule; repeatable
  --exclude-rule ID     do not run this rule; repeatable
  --policy FILE         what rules should know about the estate (YAML): key
                        scopes, normal networks, lifetimes, tolerances
  --match-tolerance D   issue-time tolerance of a weak match (default 2s)
  --ledger-gap D        shortest ledger silence that may be a gap (default 30m)

Output:
  --format FMT          table (one line per artifact), jsonl, json, csv, sarif
                        (SARIF 2.1.0 for code scanning) or markdown (default table)
  --out FILE            write findings to FILE instead of standard output
  --min-level LEVEL     show findings at or above LEVEL (default low; the
                        informational ones, such as ledger gaps, are counted
                        in the summary and shown with --min-level informational)
  --fail-on LEVEL       exit 1 when a finding is at or above LEVEL
                        (default low; 'none' never fails)
  --quiet               no progress and no summary on standard error
  --verbose             each file as it is read, and the rules that did
                        not run (no artifacts of their kind)
  --tui                 open the findings in the triage screen afterwards
                        (with --case, or in a case file in a temp directory)

Config:
  --config FILE         read keys, inputs, ledgers, case, rules, policy and
                        output from FILE (YAML; default: forgehunt.yaml in
                        the working directory, when there is one); flags
                        given win, lists add to the file's
                        (docs/forgehunt.example.yaml is a complete example)

Exit status: 0 no finding at or above --fail-on, 1 findings, 2 error.

Example:
  forgehunt hunt --key leaked.pem --trusted-key jwks.json \
      --exposed-from 2026-03-03T00:00:00Z --revoked-at 2026-03-06T12:00:00Z \
      --case incident.duckdb --format jsonl logs/
`

// huntConfig is a parsed hunt command line.
type huntConfig struct {
	exposed, trusted, hmac    stringList
	exposedFrom, revokedAt    time.Time
	inputFormat, observer, tz string
	nginxFormat, envoyFormat  string
	ledgers                   stringList
	fieldMap                  stringList
	casePath, policyPath      string
	memoryLimit, verify       string
	ruleDirs, only, exclude   stringList
	settings                  analyzer.Settings
	format, out               string
	minLevel, failOn          string
	quiet, verbose, tui       bool
	paths                     []string
	// ingestOnly: the ingest command, which adds logs to a case and runs
	// no rules.
	ingestOnly bool
	// parquetOut (ingest): write the case's tables as Parquet there, as
	// share shard; fromParquet (hunt): the shares to hunt over.
	parquetOut, shardFlag, fromParquet string
	shard                              analyzer.Shard
	// From the config file: inputs with their own options, exposed keys'
	// own windows (by key file), an inline policy.
	configPath string
	inputs     []inputSpec
	keyWindows map[string]analyzer.KeyWindow
	policy     *analyzer.Policy
}

func parseHunt(env *env, args []string) (*huntConfig, error) {
	c := &huntConfig{}
	fs := newFlagSet(env, "hunt", huntHelp)
	fs.Var(&c.exposed, "key", "")
	fs.Var(&c.trusted, "trusted-key", "")
	fs.Var(&c.hmac, "hmac-secret", "")
	exposedFrom := fs.String("exposed-from", "", "")
	revokedAt := fs.String("revoked-at", "", "")
	fs.StringVar(&c.inputFormat, "input-format", "", "")
	fs.Var(&c.ledgers, "ledger", "")
	fs.StringVar(&c.observer, "observer", "", "")
	fs.Var(&c.fieldMap, "field-map", "")
	fs.StringVar(&c.nginxFormat, "nginx-format", "", "")
	fs.StringVar(&c.envoyFormat, "envoy-format", "", "")
	fs.StringVar(&c.tz, "tz", "", "")
	fs.StringVar(&c.casePath, "case", "", "")
	fs.StringVar(&c.memoryLimit, "memory-limit", "", "")
	fs.StringVar(&c.verify, "verify", "auto", "")
	fs.StringVar(&c.policyPath, "policy", "", "")
	fs.Var(&c.ruleDirs, "rules", "")
	fs.Var(&c.only, "rule", "")
	fs.Var(&c.exclude, "exclude-rule", "")
	fs.DurationVar(&c.settings.MatchTolerance, "match-tolerance", 0, "")
	fs.DurationVar(&c.settings.LedgerGap, "ledger-gap", 0, "")
	fs.StringVar(&c.format, "format", "table", "")
	fs.StringVar(&c.out, "out", "", "")
	fs.StringVar(&c.minLevel, "min-level", "low", "")
	fs.StringVar(&c.failOn, "fail-on", "low", "")
	fs.BoolVar(&c.quiet, "quiet", false, "")
	fs.BoolVar(&c.verbose, "verbose", false, "")
	fs.BoolVar(&c.tui, "tui", false, "")
	fs.StringVar(&c.parquetOut, "parquet-out", "", "")
	fs.StringVar(&c.shardFlag, "shard", "", "")
	fs.StringVar(&c.fromParquet, "from-parquet", "", "")
	fs.StringVar(&c.configPath, "config", "", "")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return nil, handleFlagErr(env, err, huntHelp)
	}
	c.paths = paths
	setFlags := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { setFlags[f.Name] = true })
	fc, cfgPath, err := loadConfig(c.configPath)
	if err != nil {
		return nil, err
	}
	if fc != nil {
		if err := c.applyConfig(fc, cfgPath, setFlags); err != nil {
			return nil, err
		}
	}
	if len(c.exposed) == 0 && len(c.hmac) == 0 {
		return nil, usagef("no exposed key: give one with --key FILE (or --hmac-secret FILE, or keys.exposed in %s)", ConfigFile)
	}
	c.shard = analyzer.Shard{I: 0, N: 1}
	if c.shardFlag != "" {
		if c.shard, err = analyzer.ParseShard(c.shardFlag); err != nil {
			return nil, usageError{"--shard: " + err.Error()}
		}
	}
	if c.fromParquet != "" && (len(c.paths) > 0 || len(c.ledgers) > 0 || len(c.inputs) > 0) {
		return nil, usagef("--from-parquet hunts over the shares ingested before: give no paths with it")
	}
	if len(c.paths) == 0 && len(c.ledgers) == 0 && len(c.inputs) == 0 && c.casePath == "" && c.fromParquet == "" {
		return nil, usagef("no logs to hunt in: give files or directories after the flags (or --case FILE to hunt again over a case's logs)")
	}
	for _, t := range []struct {
		name string
		in   string
		out  *time.Time
	}{{"--exposed-from", *exposedFrom, &c.exposedFrom}, {"--revoked-at", *revokedAt, &c.revokedAt}} {
		if t.in == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.in)
		if err != nil {
			return nil, usagef("%s %q is not an RFC 3339 time such as 2026-03-06T12:00:00Z", t.name, t.in)
		}
		*t.out = v.UTC()
	}
	if err := checkFormat(c.format, findingFormats...); err != nil {
		return nil, err
	}
	if c.inputFormat != "" {
		if _, err := parsers.Lookup(c.inputFormat); err != nil {
			return nil, usageError{err.Error()}
		}
	}
	if c.nginxFormat != "" {
		if _, err := nginx.CompileFormat(c.nginxFormat); err != nil {
			return nil, usagef("--nginx-format: %v", err)
		}
	}
	if c.envoyFormat != "" {
		if err := envoytext.CheckFormat(c.envoyFormat); err != nil {
			return nil, usagef("--envoy-format: %v", err)
		}
	}
	if rules.LevelRank(c.minLevel) < 0 {
		return nil, usagef("--min-level %q is not one of %s", c.minLevel, strings.Join(rules.Levels, ", "))
	}
	if c.failOn != "none" && rules.LevelRank(c.failOn) < 0 {
		return nil, usagef("--fail-on %q is not one of %s or none", c.failOn, strings.Join(rules.Levels, ", "))
	}
	if c.verify != "auto" && c.verify != "needed" && c.verify != "all" {
		return nil, usagef("--verify %q is not auto, needed or all", c.verify)
	}
	return c, nil
}

// ranRules are the rules of runs.
func ranRules(runs []analyzer.RuleRun) []*rules.Rule {
	out := make([]*rules.Rule, len(runs))
	for i, r := range runs {
		out[i] = r.Rule
	}
	return out
}

func checkFormat(f string, known ...string) error {
	for _, k := range known {
		if f == k {
			return nil
		}
	}
	return usagef("--format %q is not one of %s", f, strings.Join(known, ", "))
}

// inputOptions are the record options of a config input: its own over
// the run's.
func (c *huntConfig) inputOptions(in inputSpec, base record.Options) (record.Options, error) {
	o := base
	if in.observer != "" {
		o.Observer = in.observer
	}
	if in.nginxFormat != "" {
		o.NginxFormat = in.nginxFormat
	}
	if in.envoyFormat != "" {
		o.EnvoyFormat = in.envoyFormat
	}
	if in.tz != "" {
		loc, err := time.LoadLocation(in.tz)
		if err != nil {
			return o, usagef("config input %s: tz %q: %v", strings.Join(in.paths, " "), in.tz, err)
		}
		o.Location = loc
	}
	if len(in.fieldMap) > 0 {
		// the run's field map, with the input's names over it
		o.FieldMap = maps.Clone(o.FieldMap)
		if o.FieldMap == nil {
			o.FieldMap = map[string]string{}
		}
		maps.Copy(o.FieldMap, in.fieldMap)
	}
	return o, nil
}

func (c *huntConfig) recordOptions() (record.Options, error) {
	o := record.Options{Observer: c.observer, NginxFormat: c.nginxFormat, EnvoyFormat: c.envoyFormat}
	if c.tz != "" {
		loc, err := time.LoadLocation(c.tz)
		if err != nil {
			return o, usagef("--tz %q: %v", c.tz, err)
		}
		o.Location = loc
	}
	if len(c.fieldMap) > 0 {
		o.FieldMap = map[string]string{}
		for _, kv := range c.fieldMap {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" || v == "" {
				return o, usagef("--field-map %q is not KEY=JSON_KEY", kv)
			}
			o.FieldMap[k] = v
		}
	}
	return o, nil
}

// huntResult is what a hunt produced.
type huntResult struct {
	ingest   *analyzer.IngestSummary
	runs     []analyzer.RuleRun
	findings []analyzer.Finding
	hidden   int    // findings below --min-level, not shown
	minLevel string // the --min-level in force
	keys     []*keys.Key
	loadErrs []*rules.LoadError
	warnings []string
	elapsed  time.Duration
	// prior is how many files the case held when the hunt ran over it again
	// without new logs; ingestOnly says no rules ran (forgehunt ingest).
	prior      int
	ingestOnly bool
	verbose    bool // the summary lists the rules that did not run
	parquetOut string
	shard      analyzer.Shard
}

// hunt runs the whole job for c (analyzer.Job), printing progress to
// env.stderr when it is a terminal.
func hunt(ctx context.Context, env *env, c *huntConfig) (res *huntResult, err error) {
	clock := newStageClock(os.Getenv("FORGEHUNT_STAGES"))
	defer func() { clock.write() }()
	job, loadErrs, err := c.job()
	if err != nil {
		return nil, err
	}
	job.Trace = clock.add
	job.Live = &analyzer.Progress{}
	var line *progressLine
	if isTerminal(env.stderr) && !c.quiet {
		line = startProgress(env.stderr, job.Live)
	}
	if c.verbose && !c.quiet {
		job.OnFile = func(r analyzer.SourceResult) {
			text := fileLine(r)
			if ctx.Err() != nil && r.Skipped == "" {
				text = "  stopped " + record.Escape(r.Path) + ": interrupted, not kept"
			}
			if line != nil {
				line.println(text)
			} else {
				fmt.Fprintln(env.stderr, text)
			}
		}
	}
	r, err := job.Run(ctx)
	line.end()
	var ie *analyzer.InterruptedError
	var inErr *analyzer.InputError
	switch {
	case errors.As(err, &ie) && ie.Stage == "ingest":
		return nil, interrupted(ie.Ingest, c.casePath)
	case errors.As(err, &ie):
		return nil, interruptedError{"interrupted while running the rules; every file ingested is kept" + inCase(c.casePath)}
	case errors.Is(err, analyzer.ErrEmptyCase):
		return nil, usagef("the case %s holds no logs yet: give files or directories after the flags", c.casePath)
	case errors.As(err, &inErr):
		return nil, usageError{inErr.Error()}
	case err != nil:
		return nil, err
	}
	if r.Imported != nil && !c.quiet {
		fmt.Fprintf(env.stderr, "forgehunt: read %d share(s) from %s: %d file(s), %d distinct artifact(s)\n",
			r.Imported.Shares, c.fromParquet, r.Imported.Sources, r.Imported.Artifacts)
	}
	if r.EmptyShare && !c.quiet {
		fmt.Fprintf(env.stderr, "forgehunt: share %d/%d holds none of the files given\n", c.shard.I, c.shard.N)
	}
	res = &huntResult{ingest: r.Ingest, runs: r.Runs, minLevel: c.minLevel, keys: job.Keys, loadErrs: loadErrs,
		warnings: r.Warnings, elapsed: r.Elapsed, prior: r.Prior, ingestOnly: c.ingestOnly, verbose: c.verbose,
		parquetOut: c.parquetOut, shard: c.shard}
	for _, f := range r.Findings {
		if rules.LevelRank(f.Level) >= rules.LevelRank(c.minLevel) {
			res.findings = append(res.findings, f)
		} else {
			res.hidden++
		}
	}
	return res, nil
}

// job is the analyzer job c's flags and config file describe.
func (c *huntConfig) job() (*analyzer.Job, []*rules.LoadError, error) {
	set, byKey, err := analyzer.KeyFiles{Exposed: c.exposed, Trusted: c.trusted, HMAC: c.hmac, Windows: c.keyWindows}.Load()
	if err != nil {
		return nil, nil, err
	}
	ropts, err := c.recordOptions()
	if err != nil {
		return nil, nil, err
	}
	ruleSet, loadErrs, err := analyzer.RuleSelection{Dirs: c.ruleDirs, Only: c.only, Exclude: c.exclude}.Load()
	if err != nil {
		return nil, nil, usageError{err.Error()}
	}
	if c.policyPath != "" {
		pol, err := analyzer.LoadPolicy(c.policyPath)
		if err != nil {
			return nil, nil, err
		}
		c.policy = pol
	}
	settings := c.settings
	if c.policy != nil {
		settings = c.policy.Settings(settings)
		settings.Policy = c.policy
	}
	j := &analyzer.Job{
		Keys:     set,
		Window:   analyzer.KeyWindow{ExposedFrom: c.exposedFrom, RevokedAt: c.revokedAt, ByKey: byKey},
		CasePath: c.casePath, Case: analyzer.CaseOptions{MemoryLimit: c.memoryLimit},
		Verify: analyzer.VerifyModeFor(c.verify, ruleSet), Rules: ruleSet, Settings: settings,
		Shard: c.shard, FromParquet: c.fromParquet, ParquetOut: c.parquetOut, IngestOnly: c.ingestOnly,
	}
	if len(c.ledgers) > 0 {
		j.Ledgers = []analyzer.Input{{Paths: c.ledgers, Record: ropts}}
	}
	if len(c.paths) > 0 {
		j.Inputs = append(j.Inputs, analyzer.Input{Paths: c.paths, Format: c.inputFormat, Record: ropts})
	}
	for _, in := range c.inputs {
		o, err := c.inputOptions(in, ropts)
		if err != nil {
			return nil, nil, err
		}
		format := c.inputFormat
		if in.format != "" {
			format = in.format
		}
		j.Inputs = append(j.Inputs, analyzer.Input{Paths: in.paths, Format: format, Record: o})
	}
	return j, loadErrs, nil
}

func cmdHunt(ctx context.Context, env *env, args []string) (int, error) {
	c, err := parseHunt(env, args)
	if err != nil {
		return exitError, err
	}
	if c.tui && c.casePath == "" {
		dir, err := os.MkdirTemp("", "forgehunt-case-")
		if err != nil {
			return exitError, err
		}
		c.casePath = filepath.Join(dir, "case.duckdb")
	}
	res, err := hunt(ctx, env, c)
	if err != nil {
		return exitError, err
	}
	if c.tui {
		if !c.quiet {
			writeSummary(env.stderr, res, c.casePath)
		}
		return runTUI(ctx, env, c.casePath)
	}
	read := 0
	for _, s := range res.ingest.Sources {
		if s.Skipped == "" || s.Duplicate {
			read++
		}
	}
	if read == 0 && res.prior == 0 {
		if !c.quiet {
			writeSummary(env.stderr, res, c.casePath)
		}
		return exitError, fmt.Errorf("none of the %d input file(s) could be read as a known log format: nothing was hunted; see 'forgehunt formats' and --input-format or --ledger", len(res.ingest.Sources))
	}
	var w io.Writer = env.stdout
	if c.out != "" {
		f, err := os.OpenFile(c.out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return exitError, err
		}
		defer f.Close()
		w = f
	}
	if err := writeFindings(w, c.format, res.findings, isTerminal(w) && c.out == "", tableFields(res.runs), ranRules(res.runs)); err != nil {
		return exitError, err
	}
	if !c.quiet {
		writeSummary(env.stderr, res, c.casePath)
	}
	failed := len(res.loadErrs) > 0
	for _, r := range res.runs {
		if r.Err != nil {
			failed = true
		}
	}
	if failed {
		return exitError, nil
	}
	if c.failOn != "none" {
		for _, f := range res.findings {
			if rules.LevelRank(f.Level) >= rules.LevelRank(c.failOn) {
				return exitFindings, nil
			}
		}
	}
	return exitOK, nil
}

// tableFields returns the `fields` of the only rule that ran, so that a hunt
// with --rule ID shows the columns its author chose; nil otherwise.
func tableFields(runs []analyzer.RuleRun) []string {
	if len(runs) == 1 {
		return runs[0].Rule.Fields
	}
	return nil
}

const ingestHelp = `Usage: forgehunt ingest --case FILE --key EXPOSED.pem [flags] PATH...

Add logs to a case without running the rules: a batch job can ingest an
archive a share at a time, and 'forgehunt hunt --case FILE' (no paths) then
runs the matching and every rule over everything the case holds. The same
file content is never ingested twice (files are known by their sha256), and
a file that could not be read to the end leaves the case as it was before it.
Triage marks in the case are kept.

Flags are hunt's (keys, input, case); see 'forgehunt hunt --help'. And:

  --parquet-out DIR     write the case's tables as Parquet under DIR
                        (DIR/<table>/shard-I-of-N.parquet), for
                        'forgehunt hunt --from-parquet DIR'
  --shard I/N           read only share I (0-based) of N of the files given:
                        a file belongs to the share its path below the
                        argument it was found under hashes to, whatever
                        the order of the listing or the mount point

A sharded hunt over an archive: N jobs each run
  forgehunt ingest --key K --shard I/N --parquet-out shares/ archive/
then one job runs
  forgehunt hunt --key K --from-parquet shares/
(see docs/DISTRIBUTED.md for a Kubernetes Indexed Job and GNU parallel).
`

func cmdIngest(ctx context.Context, env *env, args []string) (int, error) {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprint(env.stdout, ingestHelp)
			return exitOK, nil
		}
	}
	c, err := parseHunt(env, args)
	if err != nil {
		return exitError, err
	}
	if c.casePath == "" && c.parquetOut == "" {
		return exitError, usagef("ingest adds logs to a case: give --case FILE (or --parquet-out DIR for a share of a sharded hunt)")
	}
	if len(c.paths) == 0 && len(c.ledgers) == 0 {
		return exitError, usagef("no logs to ingest: give files or directories after the flags")
	}
	c.ingestOnly = true
	res, err := hunt(ctx, env, c)
	if err != nil {
		return exitError, err
	}
	if !c.quiet {
		writeSummary(env.stderr, res, c.casePath)
	}
	return exitOK, nil
}
