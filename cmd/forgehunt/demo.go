package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/forgehunt/forgehunt/internal/incident"
	"github.com/forgehunt/forgehunt/rules"
)

const demoHelp = `Usage: forgehunt demo [--dir DIR] [--seed N] [--format FMT]

Generate a sample incident and hunt it, so you can see the whole job in one
command: an issuer (Keycloak) with two signing keys, one of them leaked;
access logs of an Istio gateway, an nginx service and an application audit
log; forged tokens minted with the leaked key among the legitimate ones; and
the ground truth, to compare with what forgehunt found.

Flags:
  --dir DIR      where to write the incident and its case file
                 (default: forgehunt-demo in the system's temp directory)
  --seed N       random seed of the incident (default 1)
  --format FMT   findings as table, jsonl or json (default table)

Afterwards, triage the case:
  forgehunt tui --case DIR/case.duckdb
`

func cmdDemo(ctx context.Context, env *env, args []string) (int, error) {
	fs := newFlagSet(env, "demo", demoHelp)
	dir := fs.String("dir", filepath.Join(os.TempDir(), "forgehunt-demo"), "")
	seed := fs.Int64("seed", 1, "")
	format := fs.String("format", "table", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return exitError, handleFlagErr(env, err, demoHelp)
	}
	if len(rest) > 0 {
		return exitError, usagef("unexpected argument %q", rest[0])
	}
	if err := checkFormat(*format, "table", "jsonl", "json"); err != nil {
		return exitError, err
	}
	cfg := incident.DefaultConfig()
	cfg.Seed = *seed
	truth, err := incident.Generate(*dir, cfg)
	if err != nil {
		return exitError, err
	}
	casePath := filepath.Join(*dir, "case.duckdb")
	os.Remove(casePath)
	os.Remove(casePath + ".wal")
	fmt.Fprintf(env.stderr, "forgehunt demo: generated an incident in %s (%d log files, %d distinct tokens)\n",
		*dir, len(truth.Files), len(truth.Tokens))
	c := &huntConfig{
		exposed:     stringList{filepath.Join(*dir, "keys", "exposed.pem")},
		trusted:     stringList{filepath.Join(*dir, "keys", "trusted-jwks.json")},
		exposedFrom: truth.ExposedFrom,
		revokedAt:   truth.RevokedAt,
		casePath:    casePath,
		format:      *format,
		minLevel:    "informational",
		failOn:      "none",
		paths:       []string{filepath.Join(*dir, "logs")},
	}
	fmt.Fprintf(env.stderr, "forgehunt demo: the same as\n  forgehunt hunt --key %s --trusted-key %s --exposed-from %s --revoked-at %s --case %s %s\n\n",
		c.exposed[0], c.trusted[0], strconv.Quote(truth.ExposedFrom.Format("2006-01-02T15:04:05Z")),
		strconv.Quote(truth.RevokedAt.Format("2006-01-02T15:04:05Z")), casePath, c.paths[0])
	res, err := hunt(ctx, env, c)
	if err != nil {
		return exitError, err
	}
	if err := writeFindings(env.stdout, *format, res.findings, isTerminal(env.stdout), nil); err != nil {
		return exitError, err
	}
	writeSummary(env.stderr, res, casePath)

	// Score against the ground truth: forged = a finding at high or above.
	found := map[string]bool{}
	for _, f := range res.findings {
		if rules.LevelRank(f.Level) >= rules.LevelRank("high") {
			found[f.ArtifactKey] = true
		}
	}
	forged := truth.Forged()
	tp := 0
	for _, k := range forged {
		if found[k] {
			tp++
		}
	}
	precision, recall := 1.0, 1.0
	if len(found) > 0 {
		precision = float64(tp) / float64(len(found))
	}
	if len(forged) > 0 {
		recall = float64(tp) / float64(len(forged))
	}
	fmt.Fprintf(env.stderr, "\nground truth (%s): %d forged token(s); forgehunt flagged %d at high or above: precision %.2f, recall %.2f\n",
		filepath.Join(*dir, "truth.json"), len(forged), len(found), precision, recall)
	return exitOK, nil
}
