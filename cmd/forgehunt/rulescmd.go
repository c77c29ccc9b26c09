package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/rules"
)

const rulesHelp = `Usage: forgehunt rules list [--rules DIR] [--format table|json]
       forgehunt rules show ID [--rules DIR]
       forgehunt rules test [DIR]
       forgehunt rules lint [DIR]

list   the detection rules: built-in, plus those in --rules DIR (repeatable)
show   one rule in full: description, MITRE techniques, false positives, query
test   run the tests written in each rule (its must-hit and must-not-hit
       cases) against an empty case; DIR tests only the rules in DIR
lint   check rules without running their tests: metadata, and that each
       query plans against the case tables; DIR lints only the rules in DIR

Exit status: 0 all good, 1 a test failed, 2 a rule could not be loaded or run.
`

func cmdRules(ctx context.Context, env *env, args []string) (int, error) {
	fs := newFlagSet(env, "rules", rulesHelp)
	var dirs stringList
	fs.Var(&dirs, "rules", "")
	format := fs.String("format", "table", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return exitError, handleFlagErr(env, err, rulesHelp)
	}
	if len(rest) == 0 {
		return exitError, usagef("give a subcommand: list or show ID")
	}
	if rest[0] == "test" || rest[0] == "lint" {
		return rulesCheck(ctx, env, rest[0], rest[1:])
	}
	builtin, errs := rules.Builtin()
	var user []*rules.Rule
	for _, d := range dirs {
		rs, es := rules.LoadDir(d)
		user = append(user, rs...)
		errs = append(errs, es...)
	}
	all := rules.Merge(builtin, user)
	for _, e := range errs {
		fmt.Fprintf(env.stderr, "forgehunt rules: %s: %v\n", e.Source, e.Err)
	}
	code := exitOK
	if len(errs) > 0 {
		code = exitError
	}
	switch rest[0] {
	case "list":
		if err := checkFormat(*format, "table", "json"); err != nil {
			return exitError, err
		}
		if *format == "json" {
			return code, writeRulesJSON(env, all)
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLEVEL\tKIND\tMITRE\tTITLE")
		for _, r := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Level, r.Kind, strings.Join(r.Mitre, ","), r.Title)
		}
		return code, tw.Flush()
	case "show":
		if len(rest) != 2 {
			return exitError, usagef("give the rule id: forgehunt rules show ID")
		}
		for _, r := range all {
			if r.ID == rest[1] {
				printRule(env, r)
				return code, nil
			}
		}
		return exitError, fmt.Errorf("no rule with id %q (see 'forgehunt rules list')", rest[1])
	default:
		return exitError, usagef("unknown subcommand %q: use list or show ID", rest[0])
	}
}

func printRule(env *env, r *rules.Rule) {
	w := env.stdout
	fmt.Fprintf(w, "%s — %s\n", r.ID, r.Title)
	fmt.Fprintf(w, "level: %s   status: %s   kind: %s   source: %s\n", r.Level, r.Status, r.Kind, r.Source)
	if len(r.Mitre) > 0 {
		fmt.Fprintf(w, "mitre: %s\n", strings.Join(r.Mitre, ", "))
	}
	if r.Author != "" {
		fmt.Fprintf(w, "author: %s\n", r.Author)
	}
	if len(r.Fields) > 0 {
		fmt.Fprintf(w, "fields: %s\n", strings.Join(r.Fields, ", "))
	}
	fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(r.Description))
	if len(r.FalsePositives) > 0 {
		fmt.Fprintln(w, "\nfalse positives:")
		for _, fp := range r.FalsePositives {
			fmt.Fprintf(w, "  - %s\n", fp)
		}
	}
	if len(r.References) > 0 {
		fmt.Fprintln(w, "\nreferences:")
		for _, ref := range r.References {
			fmt.Fprintf(w, "  - %s\n", ref)
		}
	}
	fmt.Fprintf(w, "\nquery:\n%s\n", strings.TrimRight(r.Query, "\n"))
}

// rulesCheck runs `rules test` and `rules lint`.
func rulesCheck(ctx context.Context, env *env, what string, dirs []string) (int, error) {
	var all []*rules.Rule
	var errs []*rules.LoadError
	if len(dirs) == 0 {
		all, errs = rules.Builtin()
	}
	for _, d := range dirs {
		rs, es := rules.LoadDir(d)
		all = append(all, rs...)
		errs = append(errs, es...)
	}
	code := exitOK
	for _, e := range errs {
		fmt.Fprintf(env.stdout, "FAIL  %s: %v\n", e.Source, e.Err)
		code = exitError
	}
	passed, failed := 0, 0
	for _, r := range all {
		if what == "lint" {
			if err := analyzer.LintRule(ctx, r); err != nil {
				fmt.Fprintf(env.stdout, "FAIL  %s (%s): %v\n", r.ID, r.Source, err)
				failed++
				code = exitError
				continue
			}
			if len(r.Tests) == 0 {
				fmt.Fprintf(env.stdout, "warn  %s: no tests\n", r.ID)
			}
			fmt.Fprintf(env.stdout, "ok    %s\n", r.ID)
			passed++
			continue
		}
		if len(r.Tests) == 0 {
			fmt.Fprintf(env.stdout, "warn  %s: no tests\n", r.ID)
			continue
		}
		for _, tr := range analyzer.TestRule(ctx, r, analyzer.Settings{}) {
			if tr.Err != nil {
				fmt.Fprintf(env.stdout, "FAIL  %s / %s: %v\n", r.ID, tr.Test.Name, tr.Err)
				failed++
				if code == exitOK {
					code = exitFindings
				}
				continue
			}
			fmt.Fprintf(env.stdout, "ok    %s / %s\n", r.ID, tr.Test.Name)
			passed++
		}
	}
	fmt.Fprintf(env.stdout, "%d passed, %d failed\n", passed, failed+len(errs))
	return code, nil
}

// ruleJSON is a rule's metadata as `rules list --format json` prints it,
// for scripts.
type ruleJSON struct {
	ID             string   `json:"id"`
	Title          string   `json:"title"`
	Level          string   `json:"level"`
	Status         string   `json:"status"`
	Kind           string   `json:"kind"`
	Mitre          []string `json:"mitre"`
	Description    string   `json:"description"`
	References     []string `json:"references"`
	FalsePositives []string `json:"falsepositives"`
	Frameworks     []string `json:"frameworks"`
	Source         string   `json:"source"`
	Tests          int      `json:"tests"`
}

func writeRulesJSON(env *env, all []*rules.Rule) error {
	out := make([]ruleJSON, len(all))
	for i, r := range all {
		out[i] = ruleJSON{ID: r.ID, Title: r.Title, Level: r.Level, Status: r.Status, Kind: r.Kind, Mitre: orEmpty(r.Mitre),
			Description: strings.TrimSpace(r.Description), References: orEmpty(r.References),
			FalsePositives: orEmpty(r.FalsePositives), Frameworks: r.FrameworkRefs(), Source: r.Source, Tests: len(r.Tests)}
	}
	return writeJSON(env.stdout, out)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeJSON writes v as indented JSON, terminal-safe.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(terminalSafeJSON{w})
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
