package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/tui"
)

const tuiHelp = `Usage: forgehunt tui [--case FILE]

Triage a saved case in the terminal: the findings (filter with /, sort with
s), one artifact's decoded claims, verification and why no issuance record
matched it, its sightings timeline, the blast radius per service and
principal, and a summary of keys, sources and rules. Mark findings forged (f),
benign (b) or needs-review (r) and add a note (n); marks are kept in the case
and survive re-runs of the hunt. Press ? for every key.

Flags:
  --case FILE   the case to open (default: the case 'make demo' keeps, in
                forgehunt-demo under the system's temp directory)

Example:
  forgehunt hunt --key leaked.pem --case incident.duckdb logs/
  forgehunt tui --case incident.duckdb
`

// defaultCase is where `forgehunt demo` keeps its case.
func defaultCase() string {
	return filepath.Join(os.TempDir(), "forgehunt-demo", "case.duckdb")
}

func cmdTUI(ctx context.Context, env *env, args []string) (int, error) {
	fs := newFlagSet(env, "tui", tuiHelp)
	casePath := fs.String("case", "", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return exitError, handleFlagErr(env, err, tuiHelp)
	}
	if len(rest) == 1 && *casePath == "" {
		*casePath = rest[0]
	} else if len(rest) > 0 {
		return exitError, usagef("unexpected argument %q", rest[0])
	}
	if *casePath == "" {
		*casePath = defaultCase()
		if _, err := os.Stat(*casePath); err != nil {
			return exitError, usagef("no case given and no demo case at %s: run 'make demo' or give --case FILE", *casePath)
		}
	}
	if _, err := os.Stat(*casePath); err != nil {
		return exitError, fmt.Errorf("case %s: %w (save one with 'forgehunt hunt --case FILE')", *casePath, err)
	}
	return runTUI(ctx, env, *casePath)
}

func runTUI(ctx context.Context, env *env, casePath string) (int, error) {
	cs, err := analyzer.OpenCase(ctx, casePath)
	if err != nil {
		return exitError, err
	}
	defer cs.Close()
	if err := tui.Run(ctx, cs, env.stdin, env.stdout); err != nil {
		return exitError, err
	}
	return exitOK, nil
}
