package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
)

const worklistHelp = `Usage: forgehunt worklist --case FILE [--format table|csv|json|jsonl] [--out FILE]

What must be invalidated, where, once the exposed key is revoked, from a
hunted case (forgehunt hunt --case FILE first; give --revoked-at there):

  artifact  every artifact the exposed key signed that was still valid at
            its revocation, forged or legitimately issued: the key's every
            artifact is void (revoke the token, the certificate serial, the
            signature)
  derived   every credential derived from a forgery: tokens an agent or
            service obtained by exchanging it, AWS STS sessions (revoke,
            rotate, and review what they did)
  verifier  every verifier that still accepted the exposed key's artifacts
            after its revocation (rotate its JWKS cache, pinned key or
            trust anchor)

Each line says what to do and why, with its evidence.
`

func cmdWorklist(ctx context.Context, env *env, args []string) (int, error) {
	fs := newFlagSet(env, "worklist", worklistHelp)
	casePath := fs.String("case", "", "")
	format := fs.String("format", "table", "")
	out := fs.String("out", "", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return exitError, handleFlagErr(env, err, worklistHelp)
	}
	if len(rest) > 0 {
		return exitError, usagef("unexpected argument %q", rest[0])
	}
	if *casePath == "" {
		return exitError, usagef("no case: give --case FILE (a case saved by 'forgehunt hunt --case FILE')")
	}
	if err := checkFormat(*format, "table", "csv", "json", "jsonl"); err != nil {
		return exitError, err
	}
	cs, err := analyzer.OpenCaseReadOnly(ctx, *casePath)
	if err != nil {
		return exitError, err
	}
	defer cs.Close()
	items, err := cs.Worklist(ctx)
	if err != nil {
		if strings.Contains(err.Error(), "derived") && strings.Contains(err.Error(), "does not exist") {
			return exitError, fmt.Errorf("the case has not been hunted by this forgehunt: run 'forgehunt hunt --case %s --key ...' first", *casePath)
		}
		return exitError, err
	}
	var b bytes.Buffer
	w := io.Writer(&b)
	switch *format {
	case "json":
		if items == nil {
			items = []analyzer.WorkItem{}
		}
		err = writeJSON(w, items)
	case "jsonl":
		enc := json.NewEncoder(terminalSafeJSON{w})
		enc.SetEscapeHTML(false)
		for _, it := range items {
			if err = enc.Encode(it); err != nil {
				break
			}
		}
	case "csv":
		err = writeWorklistCSV(w, items)
	default:
		err = writeWorklistTable(w, items)
	}
	if err != nil {
		return exitError, err
	}
	if *out != "" {
		return exitOK, os.WriteFile(*out, b.Bytes(), 0o600)
	}
	_, err = env.stdout.Write(b.Bytes())
	return exitOK, err
}

func worklistTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

var worklistColumns = []string{"item", "kind", "id", "status", "subject", "valid_until", "uses", "first", "last", "action", "why", "evidence"}

func worklistRow(it analyzer.WorkItem) []string {
	return []string{it.Item, it.Kind, it.ID, it.Status, it.Subject, worklistTime(it.Until), fmt.Sprint(it.Uses),
		worklistTime(it.First), worklistTime(it.Last), it.Action, it.Why, it.Evidence}
}

func writeWorklistCSV(w io.Writer, items []analyzer.WorkItem) error {
	return writeCSVRows(w, worklistColumns, len(items), func(i int) []string { return worklistRow(items[i]) })
}

func writeWorklistTable(w io.Writer, items []analyzer.WorkItem) error {
	if len(items) == 0 {
		_, err := fmt.Fprintln(w, "nothing to invalidate: no artifact of an exposed key was valid at its revocation, none derived, no stale trust")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tKIND\tID\tSTATUS\tSUBJECT\tVALID UNTIL\tUSES\tACTION")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", it.Item, it.Kind, cell(it.ID, 40), it.Status, cell(it.Subject, 24),
			worklistTime(it.Until), it.Uses, cell(it.Action, 120))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	counts := map[string]int{}
	for _, it := range items {
		counts[it.Item]++
	}
	_, err := fmt.Fprintf(w, "\n%d to invalidate: %d artifact(s), %d derived credential(s), %d verifier(s) with stale trust; each line's reason and evidence: --format json\n",
		len(items), counts["artifact"], counts["derived"], counts["verifier"])
	return err
}
