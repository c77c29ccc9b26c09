package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"html"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/rules"
)

const reportHelp = `Usage: forgehunt report --case FILE [--format markdown|html] [--out FILE]

Write the report of a hunted case for the people who act on it: the exposed
keys and their window, the forged artifacts by kind, the blast radius (the
verifiers and principals that accepted them, first and last use), a
timeline of forged against other use per verifier, the triage state, and
every finding with its evidence. HTML is one self-contained file (inline
SVG, no scripts, nothing fetched); markdown suits a ticket.

Findings at medium or above count as forged in the blast radius and the
timeline.
`

func cmdReport(ctx context.Context, env *env, args []string) (int, error) {
	fs := newFlagSet(env, "report", reportHelp)
	casePath := fs.String("case", "", "")
	format := fs.String("format", "markdown", "")
	out := fs.String("out", "", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return exitError, handleFlagErr(env, err, reportHelp)
	}
	if len(rest) > 0 {
		return exitError, usagef("unexpected argument %q", rest[0])
	}
	if *casePath == "" {
		return exitError, usagef("no case: give --case FILE (a case saved by 'forgehunt hunt --case FILE')")
	}
	if err := checkFormat(*format, "markdown", "html"); err != nil {
		return exitError, err
	}
	cs, err := analyzer.OpenCaseReadOnly(ctx, *casePath)
	if err != nil {
		return exitError, err
	}
	defer cs.Close()
	rep, err := loadReport(ctx, cs)
	if err != nil {
		return exitError, err
	}
	var w io.Writer = env.stdout
	if *out != "" {
		var b bytes.Buffer
		defer func() {
			if err == nil {
				err = os.WriteFile(*out, b.Bytes(), 0o600)
			}
		}()
		w = &b
	}
	if *format == "html" {
		err = rep.writeHTML(w)
	} else {
		err = rep.writeMarkdown(terminalSafeJSON{w})
	}
	if err != nil {
		return exitError, err
	}
	return exitOK, nil
}

// report is what a case says for people.
type report struct {
	keys     []reportKey
	findings []analyzer.Finding
	byKind   map[string]int // forged artifacts by kind
	radius   []radiusRow
	timeline []timelineRow
	triage   map[string]int
	from, to time.Time
	worklist []analyzer.WorkItem
	// frameworks of the rules that hit, by rule id
	frameworks map[string][]string
}

type reportKey struct {
	fp, kid, typ, role string
	from, revoked      sql.NullTime
}

type radiusRow struct {
	observer, principal string
	artifacts, uses     int64
	first, last         time.Time
}

type timelineRow struct {
	observer      string
	hour          time.Time
	forged, other int64
}

// forgedLevels are the levels that count as forged in the report.
var forgedLevels = "('medium','high','critical')"

func loadReport(ctx context.Context, cs *analyzer.Case) (*report, error) {
	r := &report{byKind: map[string]int{}, triage: map[string]int{}}
	rows, err := cs.DB.QueryContext(ctx, `SELECT key_fp, coalesce(kid, ''), key_type, role, exposed_from, revoked_at FROM keys ORDER BY role, key_fp`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k reportKey
		if err := rows.Scan(&k.fp, &k.kid, &k.typ, &k.role, &k.from, &k.revoked); err != nil {
			rows.Close()
			return nil, err
		}
		r.keys = append(r.keys, k)
	}
	rows.Close()
	if r.findings, err = cs.Findings(ctx, "low"); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, f := range r.findings {
		r.triage[f.Status]++
		if rules.LevelRank(f.Level) >= rules.LevelRank("medium") && !seen[f.ArtifactKey] {
			seen[f.ArtifactKey] = true
			r.byKind[f.Kind]++
		}
	}
	// the forged artifacts' keys, and every accepted, timed sighting with
	// whether it was of one
	uses := `WITH forged AS (SELECT DISTINCT artifact_key FROM findings WHERE level IN ` + forgedLevels + `),
		uses AS (SELECT coalesce(s.observer, s.src_file) AS observer, coalesce(s.principal, '') AS principal, s.artifact_key,
		                s.observed_at, f.artifact_key IS NOT NULL AS forged
		         FROM sightings s LEFT JOIN forged f USING (artifact_key)
		         WHERE s.outcome = 'accepted' AND s.observed_at IS NOT NULL)`
	rows, err = cs.DB.QueryContext(ctx, uses+`
		SELECT observer, principal, count(DISTINCT artifact_key), count(*), min(observed_at), max(observed_at)
		FROM uses WHERE forged GROUP BY ALL ORDER BY 4 DESC, 1, 2 LIMIT 200`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var x radiusRow
		if err := rows.Scan(&x.observer, &x.principal, &x.artifacts, &x.uses, &x.first, &x.last); err != nil {
			rows.Close()
			return nil, err
		}
		r.radius = append(r.radius, x)
	}
	rows.Close()
	rows, err = cs.DB.QueryContext(ctx, uses+`
		SELECT observer, date_trunc('hour', observed_at), count(*) FILTER (WHERE forged), count(*) FILTER (WHERE NOT forged)
		FROM uses WHERE observer IN (SELECT coalesce(observer, src_file) FROM sightings JOIN forged USING (artifact_key))
		GROUP BY ALL ORDER BY 1, 2`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var x timelineRow
		if err := rows.Scan(&x.observer, &x.hour, &x.forged, &x.other); err != nil {
			rows.Close()
			return nil, err
		}
		x.hour = x.hour.UTC()
		if r.from.IsZero() || x.hour.Before(r.from) {
			r.from = x.hour
		}
		if x.hour.After(r.to) {
			r.to = x.hour
		}
		r.timeline = append(r.timeline, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// the worklist, when the case was hunted by a forgehunt that derives
	if wl, err := cs.Worklist(ctx); err == nil {
		r.worklist = wl
	}
	builtin, _ := rules.Builtin()
	byID := map[string]*rules.Rule{}
	for _, ru := range builtin {
		byID[ru.ID] = ru
	}
	r.frameworks = map[string][]string{}
	for _, f := range r.findings {
		if ru, ok := byID[f.RuleID]; ok {
			r.frameworks[f.RuleID] = ru.FrameworkRefs()
		} else {
			r.frameworks[f.RuleID] = rules.DefaultFrameworks
		}
	}
	return r, nil
}

func (r *report) forgedCount() int {
	n := 0
	for _, c := range r.byKind {
		n += c
	}
	return n
}

func (r *report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# forgehunt report\n\n## Exposed keys\n\n| role | key | kid | type | exposed from | revoked at |\n|---|---|---|---|---|---|\n")
	for _, k := range r.keys {
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s |\n", k.role, mdCode(shortFP(k.fp)), mdEscape(orNone(k.kid)), k.typ, nullTimeText(k.from), nullTimeText(k.revoked))
	}
	fmt.Fprintf(&b, "\n## Forged artifacts\n\n%d artifact(s) with findings at medium or above", r.forgedCount())
	for _, kind := range sortedKeys(r.byKind) {
		fmt.Fprintf(&b, "; %s %d", mdEscape(kind), r.byKind[kind])
	}
	b.WriteString(".\n\n## Blast radius\n\n")
	if len(r.radius) == 0 {
		b.WriteString("No verifier accepted a forged artifact.\n")
	} else {
		b.WriteString("| verifier | principal | artifacts | uses | first use | last use |\n|---|---|---|---|---|---|\n")
		for _, x := range r.radius {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s |\n", mdEscape(x.observer), mdEscape(orNone(x.principal)), x.artifacts, x.uses,
				x.first.UTC().Format(time.RFC3339), x.last.UTC().Format(time.RFC3339))
		}
	}
	b.WriteString("\n## Timeline\n\nAccepted uses per hour at the verifiers that accepted a forgery (forged / other):\n\n")
	for _, x := range r.timeline {
		if x.forged > 0 {
			fmt.Fprintf(&b, "- %s %s: %d / %d\n", x.hour.Format("2006-01-02 15:04"), mdEscape(x.observer), x.forged, x.other)
		}
	}
	b.WriteString("\n## Triage\n\n")
	for _, s := range sortedKeys(r.triage) {
		fmt.Fprintf(&b, "- %s: %d\n", mdEscape(s), r.triage[s])
	}
	b.WriteString("\n## Invalidation worklist\n\n")
	if len(r.worklist) == 0 {
		b.WriteString("Nothing to invalidate (or no revocation time was given: `--revoked-at`).\n")
	} else {
		b.WriteString("| item | kind | id | status | valid until | uses | action |\n|---|---|---|---|---|---|---|\n")
		for _, it := range r.worklist {
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s | %d | %s |\n", it.Item, mdEscape(orNone(it.Kind)), mdCode(it.ID), it.Status,
				worklistTime(it.Until), it.Uses, mdEscape(it.Action))
		}
		fmt.Fprintf(&b, "\nReferences: %s.\n", mdEscape(strings.Join(rules.InvalidationFrameworks, "; ")))
	}
	b.WriteString("\n## Framework references\n\n")
	for _, id := range sortedKeys(r.frameworks) {
		fmt.Fprintf(&b, "- %s: %s\n", mdEscape(id), mdEscape(strings.Join(r.frameworks[id], "; ")))
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	var fb bytes.Buffer
	if err := writeMarkdown(&fb, r.findings); err != nil {
		return err
	}
	// the findings document, its title demoted under the report's
	_, err := io.WriteString(w, "## Findings\n"+strings.TrimPrefix(strings.ReplaceAll(fb.String(), "\n## ", "\n### "), "# forgehunt findings\n"))
	return err
}

func (r *report) writeHTML(w io.Writer) error {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>forgehunt report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}.critical,.high{color:#b00020}.medium{color:#a35a00}.low{color:#0b6e99}code{font-size:.9em}
.legend span{display:inline-block;width:1em;height:1em;margin:0 .3em 0 1em;vertical-align:middle}
</style></head><body>
<h1>forgehunt report</h1>
<h2 id="keys">Exposed keys</h2>
<table><tr><th>role</th><th>key</th><th>kid</th><th>type</th><th>exposed from</th><th>revoked at</th></tr>
`)
	for _, k := range r.keys {
		fmt.Fprintf(&b, "<tr><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			e(k.role), e(shortFP(k.fp)), e(orNone(k.kid)), e(k.typ), nullTimeText(k.from), nullTimeText(k.revoked))
	}
	fmt.Fprintf(&b, "</table>\n<h2 id=\"forged\">Forged artifacts</h2>\n<p>%d artifact(s) with findings at medium or above.</p>\n<table><tr><th>kind</th><th>artifacts</th></tr>\n", r.forgedCount())
	for _, kind := range sortedKeys(r.byKind) {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td></tr>\n", e(kind), r.byKind[kind])
	}
	b.WriteString("</table>\n<h2 id=\"radius\">Blast radius</h2>\n")
	if len(r.radius) == 0 {
		b.WriteString("<p>No verifier accepted a forged artifact.</p>\n")
	} else {
		b.WriteString("<table><tr><th>verifier</th><th>principal</th><th>artifacts</th><th>uses</th><th>first use</th><th>last use</th></tr>\n")
		for _, x := range r.radius {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td></tr>\n", e(x.observer), e(orNone(x.principal)),
				x.artifacts, x.uses, x.first.UTC().Format(time.RFC3339), x.last.UTC().Format(time.RFC3339))
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("<h2 id=\"timeline\">Timeline</h2>\n")
	b.WriteString(r.timelineSVG())
	b.WriteString("<h2 id=\"triage\">Triage</h2>\n<ul>\n")
	for _, s := range sortedKeys(r.triage) {
		fmt.Fprintf(&b, "<li>%s: %d</li>\n", e(s), r.triage[s])
	}
	b.WriteString("</ul>\n<h2 id=\"worklist\">Invalidation worklist</h2>\n")
	if len(r.worklist) == 0 {
		b.WriteString("<p>Nothing to invalidate (or no revocation time was given: <code>--revoked-at</code>).</p>\n")
	} else {
		b.WriteString("<table><tr><th>item</th><th>kind</th><th>id</th><th>status</th><th>valid until</th><th>uses</th><th>action</th><th>why</th><th>evidence</th></tr>\n")
		for _, it := range r.worklist {
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td><code>%s</code></td></tr>\n",
				e(it.Item), e(orNone(it.Kind)), e(it.ID), e(it.Status), e(worklistTime(it.Until)), it.Uses, e(it.Action), e(it.Why), e(it.Evidence))
		}
		fmt.Fprintf(&b, "</table>\n<p>References: %s.</p>\n", e(strings.Join(rules.InvalidationFrameworks, "; ")))
	}
	b.WriteString("<h2 id=\"frameworks\">Framework references</h2>\n<ul>\n")
	for _, id := range sortedKeys(r.frameworks) {
		fmt.Fprintf(&b, "<li><b>%s</b>: %s</li>\n", e(id), e(strings.Join(r.frameworks[id], "; ")))
	}
	b.WriteString("</ul>\n<h2 id=\"findings\">Findings</h2>\n")
	for _, in := range byArtifact(r.findings) {
		f := in.findings[0]
		fmt.Fprintf(&b, "<section class=\"artifact\"><h3 class=\"%s\">%s %s %s</h3>\n<p><code>%s</code>", e(in.level), e(in.level), e(f.Kind), e(orNone(f.ArtifactID)), e(f.ArtifactKey))
		if s := subjectCell(f); s != "" {
			fmt.Fprintf(&b, " — %s", e(s))
		}
		fmt.Fprintf(&b, "; seen %d time(s), %d accepted, %s to %s; observers %s; coverage %s</p>\n<ul>\n", f.Sightings, f.Accepted,
			timeCell(f.FirstSeen), timeCell(f.LastSeen), e(orNone(strings.Join(f.Observers, ", "))), e(orNone(f.Coverage)))
		for _, g := range in.findings {
			fmt.Fprintf(&b, "<li><b class=\"%s\">%s</b> (%s): %s<br>%s", e(g.Level), e(g.RuleID), e(g.Level), e(g.Title), e(g.Reason))
			for i, ev := range g.Evidence {
				if i == maxSARIFLocations {
					fmt.Fprintf(&b, " and %d more", len(g.Evidence)-i)
					break
				}
				fmt.Fprintf(&b, " <code>%s:%d</code>", e(ev.File), ev.Line)
			}
			b.WriteString("</li>\n")
		}
		b.WriteString("</ul></section>\n")
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// timelineSVG draws, per verifier that accepted a forgery, the accepted
// uses per hour: forged in red above, the others in grey, on one time axis.
func (r *report) timelineSVG() string {
	if len(r.timeline) == 0 {
		return "<p>No timed uses.</p>\n"
	}
	hours := int(r.to.Sub(r.from)/time.Hour) + 1
	var observers []string
	peak := map[string]int64{}
	for _, x := range r.timeline {
		if _, ok := peak[x.observer]; !ok {
			observers = append(observers, x.observer)
		}
		peak[x.observer] = max(peak[x.observer], x.forged+x.other)
	}
	const left, rowH, width = 220, 48, 760
	barW := float64(width) / float64(hours)
	var b strings.Builder
	fmt.Fprintf(&b, "<p class=\"legend\"><span style=\"background:#c62828\"></span>forged<span style=\"background:#9e9e9e\"></span>other accepted uses, per hour from %s to %s</p>\n",
		r.from.Format(time.RFC3339), r.to.Add(time.Hour).Format(time.RFC3339))
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"forged and other uses per verifier\" width=\"%d\" height=\"%d\">\n",
		left+width+10, rowH*len(observers)+24)
	for i, o := range observers {
		y := i*rowH + 4
		fmt.Fprintf(&b, "<text x=\"0\" y=\"%d\" font-size=\"12\">%s</text>\n", y+rowH/2, html.EscapeString(cell(o, 30)))
		fmt.Fprintf(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n", left, y+rowH-4, left+width, y+rowH-4)
		for _, x := range r.timeline {
			if x.observer != o {
				continue
			}
			h := float64(rowH-8) / float64(peak[o])
			bx := float64(left) + float64(int(x.hour.Sub(r.from)/time.Hour))*barW
			base := float64(y + rowH - 4)
			oh := float64(x.other) * h
			fh := float64(x.forged) * h
			fmt.Fprintf(&b, "<rect class=\"other\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#9e9e9e\"><title>%s: %d other</title></rect>\n",
				bx, base-oh, max(barW-1, 1), oh, x.hour.Format("2006-01-02 15:04"), x.other)
			if x.forged > 0 {
				fmt.Fprintf(&b, "<rect class=\"forged\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#c62828\"><title>%s: %d forged</title></rect>\n",
					bx, base-oh-fh, max(barW-1, 1), fh, x.hour.Format("2006-01-02 15:04"), x.forged)
			}
		}
	}
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text><text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">%s</text>\n</svg>\n",
		left, rowH*len(observers)+18, r.from.Format("2006-01-02 15:04"), left+width, rowH*len(observers)+18, r.to.Add(time.Hour).Format("2006-01-02 15:04"))
	return b.String()
}

func shortFP(fp string) string {
	if len(fp) > 16 {
		return fp[:16] + "…"
	}
	return fp
}

func nullTimeText(t sql.NullTime) string {
	if !t.Valid {
		return "-"
	}
	return t.Time.UTC().Format(time.RFC3339)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
