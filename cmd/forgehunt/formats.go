package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/forgehunt/forgehunt/parsers"
)

const formatsHelp = `Usage: forgehunt formats

List the log formats forgehunt reads, in the order detection tries them.
Force one for every input with 'forgehunt hunt --input-format NAME'.
`

func cmdFormats(env *env, args []string) (int, error) {
	fs := newFlagSet(env, "formats", formatsHelp)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return exitError, handleFlagErr(env, err, formatsHelp)
	}
	if len(rest) > 0 {
		return exitError, usagef("unexpected argument %q", rest[0])
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDESCRIPTION")
	for _, f := range parsers.Formats {
		fmt.Fprintf(tw, "%s\t%s\n", f.Name(), f.Description())
	}
	return exitOK, tw.Flush()
}
