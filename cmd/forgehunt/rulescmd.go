package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/forgehunt/forgehunt/rules"
)

const rulesHelp = `Usage: forgehunt rules list [--rules DIR]
       forgehunt rules show ID [--rules DIR]

List the detection rules (built-in, plus those in --rules DIR), or show one
rule in full: its description, MITRE techniques, false positives and query.
`

func cmdRules(ctx context.Context, env *env, args []string) (int, error) {
	fs := newFlagSet(env, "rules", rulesHelp)
	var dirs stringList
	fs.Var(&dirs, "rules", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return exitError, handleFlagErr(env, err, rulesHelp)
	}
	if len(rest) == 0 {
		return exitError, usagef("give a subcommand: list or show ID")
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
