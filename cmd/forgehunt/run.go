package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Exit codes, part of the machine interface.
const (
	exitOK       = 0 // nothing at or above --fail-on
	exitFindings = 1 // findings at or above --fail-on
	exitError    = 2 // bad usage, unreadable input, a rule that failed
	// exitInterrupted: stopped by Ctrl-C or SIGTERM (128 + SIGINT, as
	// shells report it); what was committed is kept.
	exitInterrupted = 130
)

const usage = `forgehunt finds the tokens, certificates and code signatures an exposed signing
key made that were never legitimately issued.

Usage:
  forgehunt hunt --key EXPOSED.pem [flags] PATH...   ingest logs, verify, run rules, print findings
  forgehunt ingest --case FILE --key K PATH...       add logs to a case (then: hunt --case FILE)
  forgehunt demo [--scenario NAME] [--dir DIR]       generate a sample incident and hunt it
  forgehunt tui [--case FILE]                        triage a saved case in the terminal
  forgehunt rules list|show|test|lint                the detection rules and their tests
  forgehunt report --case FILE [--format html]       the case's report: keys, forgeries, blast radius, timeline
  forgehunt worklist --case FILE                     what to invalidate: artifacts, derived credentials, stale trust
  forgehunt query --case FILE SQL                    read-only SQL over a saved case
  forgehunt formats                                  the log formats forgehunt reads
  forgehunt bench [--lines N]                        measure a hunt against DuckDB's own scan (developers)
  forgehunt version                                  print the version

Run 'forgehunt COMMAND --help' for a command's flags.

Example:
  forgehunt hunt --key leaked.pem --trusted-key jwks.json \
      --revoked-at 2026-03-06T12:00:00Z --case incident.duckdb logs/
`

// run is the whole program; main only wires it to the process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "forgehunt: internal error: %v\n%s\nplease report this with the command line you ran\n", p, debug.Stack())
			code = exitError
		}
	}()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	env := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "ingest":
		code, err = cmdIngest(ctx, env, rest)
	case "hunt":
		code, err = cmdHunt(ctx, env, rest)
	case "demo":
		code, err = cmdDemo(ctx, env, rest)
	case "report":
		code, err = cmdReport(ctx, env, rest)
	case "worklist":
		code, err = cmdWorklist(ctx, env, rest)
	case "rules":
		code, err = cmdRules(ctx, env, rest)
	case "tui":
		code, err = cmdTUI(ctx, env, rest)
	case "query":
		code, err = cmdQuery(ctx, env, rest)
	case "formats":
		code, err = cmdFormats(env, rest)
	case "bench":
		code, err = cmdBench(ctx, env, rest)
	case "bench-scan": // the baseline child of bench
		code, err = cmdBenchScan(ctx, env, rest)
	case "version", "--version":
		fmt.Fprintln(stdout, "forgehunt", version())
		return exitOK
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "forgehunt: unknown command %q\n\n%s", cmd, usage)
		return exitError
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		var ue usageError
		var ie interruptedError
		if errors.As(err, &ie) {
			fmt.Fprintf(stderr, "forgehunt %s: %v\n", cmd, err)
			return exitInterrupted
		}
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "forgehunt %s: interrupted\n", cmd)
			return exitInterrupted
		}
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "forgehunt %s: %v\nRun 'forgehunt %s --help' for usage.\n", cmd, err, cmd)
			return exitError
		}
		fmt.Fprintf(stderr, "forgehunt %s: %v\n", cmd, err)
		return exitError
	}
	return code
}

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// isTerminal reports whether w is a terminal (for colour and progress).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// parseFlags parses flags and positional arguments in any order, as users
// type them ("hunt logs/ --format jsonl").
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlagSet(env *env, name, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	_ = help
	return fs
}

// handleFlagErr turns a flag error into help output or a usage error.
func handleFlagErr(env *env, err error, help string) error {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.stdout, help)
		return flag.ErrHelp
	}
	return usageError{err.Error()}
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}
