package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/parsers/record"
)

const queryHelp = `Usage: forgehunt query --case FILE [--format table|csv|json|jsonl] SQL

Run read-only SQL over a saved case. The case cannot be changed this way.
Tables: keys, sources, sightings, issuances, rejects, artifacts, matches,
artifact_stats, artifact_lists, findings, triage, rule_runs.

Example:
  forgehunt query --case incident.duckdb \
      "SELECT observer, count(*) FROM sightings GROUP BY ALL ORDER BY 2 DESC"
`

func cmdQuery(ctx context.Context, env *env, args []string) (int, error) {
	fs := newFlagSet(env, "query", queryHelp)
	casePath := fs.String("case", "", "")
	format := fs.String("format", "table", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return exitError, handleFlagErr(env, err, queryHelp)
	}
	if *casePath == "" {
		return exitError, usagef("no case: give --case FILE (a case saved by 'forgehunt hunt --case FILE')")
	}
	if len(rest) != 1 {
		return exitError, usagef("give exactly one SQL statement (quote it)")
	}
	if err := checkFormat(*format, "table", "csv", "json", "jsonl"); err != nil {
		return exitError, err
	}
	cs, err := analyzer.OpenCaseReadOnly(ctx, *casePath)
	if err != nil {
		return exitError, err
	}
	defer cs.Close()
	rows, err := cs.DB.QueryContext(ctx, rest[0])
	if err != nil {
		return exitError, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return exitError, err
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	cw := csv.NewWriter(terminalSafeJSON{env.stdout})
	switch *format {
	case "table":
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
	case "csv":
		cw.Write(cols)
	case "json":
		io.WriteString(env.stdout, "[")
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return exitError, err
		}
		n++
		if *format == "csv" {
			cells := make([]string, len(cols))
			for i, v := range vals {
				cells[i] = csvCell(textValue(v))
			}
			if err := cw.Write(cells); err != nil {
				return exitError, err
			}
			continue
		}
		if *format == "jsonl" || *format == "json" {
			// Keys in the query's column order, as the user wrote them.
			var b bytes.Buffer
			if *format == "json" && n > 1 {
				b.WriteByte(',')
			}
			b.WriteByte('{')
			for i, c := range cols {
				if i > 0 {
					b.WriteByte(',')
				}
				k, _ := json.Marshal(c)
				v, err := json.Marshal(jsonValue(vals[i]))
				if err != nil {
					return exitError, err
				}
				b.Write(k)
				b.WriteByte(':')
				b.Write(v)
			}
			b.WriteString("}\n")
			if _, err := (terminalSafeJSON{env.stdout}).Write(b.Bytes()); err != nil {
				return exitError, err
			}
			continue
		}
		cells := make([]string, len(cols))
		for i, v := range vals {
			cells[i] = cell(textValue(v), 60)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := rows.Err(); err != nil {
		return exitError, err
	}
	switch *format {
	case "table":
		tw.Flush()
		fmt.Fprintf(env.stderr, "%d row(s)\n", n)
	case "csv":
		cw.Flush()
		if err := cw.Error(); err != nil {
			return exitError, err
		}
	case "json":
		io.WriteString(env.stdout, "]\n")
	}
	return exitOK, nil
}

func textValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []byte:
		return record.Escape(string(x))
	case string:
		return x
	case sql.NullString:
		return x.String
	default:
		if b, err := json.Marshal(jsonValue(v)); err == nil {
			s := string(b)
			if strings.HasPrefix(s, `"`) {
				return strings.Trim(s, `"`)
			}
			return s
		}
		return fmt.Sprint(v)
	}
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	default:
		return v
	}
}
