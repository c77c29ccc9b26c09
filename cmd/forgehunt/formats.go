package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/forgehunt/forgehunt/parsers"
	"github.com/forgehunt/forgehunt/parsers/record"
)

const formatsHelp = `Usage: forgehunt formats [--format table|json]

List the log formats forgehunt reads, in the order detection tries them.
Force one for every input with 'forgehunt hunt --input-format NAME'.
`

func cmdFormats(env *env, args []string) (int, error) {
	fs := newFlagSet(env, "formats", formatsHelp)
	format := fs.String("format", "table", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return exitError, handleFlagErr(env, err, formatsHelp)
	}
	if len(rest) > 0 {
		return exitError, usagef("unexpected argument %q", rest[0])
	}
	if err := checkFormat(*format, "table", "json"); err != nil {
		return exitError, err
	}
	if *format == "json" {
		type formatJSON struct {
			Name        string `json:"name"`
			Description string `json:"description"`
			IssuerLog   bool   `json:"issuer_log"` // it reads an issuer's own issuances
		}
		type envelopeJSON struct {
			Name string `json:"name"`
		}
		out := struct {
			Formats   []formatJSON   `json:"formats"`
			Envelopes []envelopeJSON `json:"envelopes"`
		}{}
		for _, f := range parsers.Formats {
			il, _ := f.(record.IssuerLog)
			out.Formats = append(out.Formats, formatJSON{f.Name(), f.Description(), il != nil && il.IssuerLog()})
		}
		for _, e := range record.Envelopes {
			out.Envelopes = append(out.Envelopes, envelopeJSON{e.Name})
		}
		return exitOK, writeJSON(env.stdout, out)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDESCRIPTION")
	for _, f := range parsers.Formats {
		fmt.Fprintf(tw, "%s\t%s\n", f.Name(), f.Description())
	}
	if err := tw.Flush(); err != nil {
		return exitError, err
	}
	names := make([]string, len(record.Envelopes))
	for i, e := range record.Envelopes {
		names[i] = e.Name
	}
	fmt.Fprintf(env.stdout, "\nLines wrapped by a shipper are unwrapped first: %s\n"+
		"(journald and syslog, the container runtime's CRI files, Docker json-file, kubectl --timestamps).\n"+
		"gzip and zstd files are read by their magic bytes.\n", strings.Join(names, ", "))
	return exitOK, nil
}
