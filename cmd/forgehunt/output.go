package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/parsers"
	"github.com/forgehunt/forgehunt/parsers/nginx"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/vaultpki"
	"github.com/forgehunt/forgehunt/rules"
)

// writeFindings prints findings in the chosen format.
// ruleSet gives the rules' metadata to formats that carry it (SARIF).
func writeFindings(w io.Writer, format string, fs []analyzer.Finding, color bool, fields []string, ruleSet []*rules.Rule) error {
	if format != "table" {
		// (C1 controls and bidi overrides as \u escapes: harmless in CSV
		// and markdown too)
		w = terminalSafeJSON{w}
	}
	switch format {
	case "csv":
		return writeCSV(w, fs)
	case "sarif":
		return writeSARIF(w, fs, ruleSet)
	case "markdown":
		return writeMarkdown(w, fs)
	case "jsonl":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i := range fs {
			if err := enc.Encode(&fs[i]); err != nil {
				return err
			}
		}
		return nil
	case "json":
		if fs == nil {
			fs = []analyzer.Finding{}
		}
		return writeJSON(w, fs)
	default:
		return writeTable(w, fs, color, fields)
	}
}

// terminalSafeJSON writes JSON with the characters a terminal may act on
// that encoding/json leaves raw (C1 controls such as U+009B, the 8-bit CSI;
// bidi overrides and isolates) as \u escapes: the same JSON values, safe to
// cat. Each Write must hold whole UTF-8 characters (an Encoder writes one
// whole value per call). In JSON text they can only occur inside strings,
// so escaping them there is exact.
type terminalSafeJSON struct{ w io.Writer }

func (t terminalSafeJSON) Write(p []byte) (int, error) {
	clean := true
	for _, r := range string(p) {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return t.w.Write(p)
	}
	var b strings.Builder
	for _, r := range string(p) {
		if unsafeRune(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	if _, err := io.WriteString(t.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

func unsafeRune(r rune) bool {
	return r >= 0x80 && r < 0xa0 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// levelColor codes all have the same byte length, so that tabwriter's
// alignment is not thrown off by them.
var levelColor = map[string]string{
	"critical": "\033[91m", "high": "\033[31m", "medium": "\033[33m", "low": "\033[36m", "informational": "\033[90m",
}

// column is one column of the findings table.
type column struct {
	title string
	value func(f *analyzer.Finding) string
}

// tableColumns are the columns a rule's `fields` may name (the JSON names of
// a finding); defaultFields is what the table shows otherwise.
var tableColumns = map[string]column{
	"rule_id":      {"RULE", func(f *analyzer.Finding) string { return f.RuleID }},
	"title":        {"TITLE", func(f *analyzer.Finding) string { return cell(f.Title, 48) }},
	"kind":         {"KIND", func(f *analyzer.Finding) string { return f.Kind }},
	"artifact_key": {"ARTIFACT", func(f *analyzer.Finding) string { return cell(f.ArtifactKey, 20) }},
	"artifact_id":  {"ID", func(f *analyzer.Finding) string { return cell(f.ArtifactID, 13) }},
	"issuer":       {"ISSUER", func(f *analyzer.Finding) string { return cell(f.Issuer, 40) }},
	"subject": {"SUBJECT", func(f *analyzer.Finding) string {
		if f.SubjectName != "" {
			return cell(f.SubjectName, 24)
		}
		return cell(f.Subject, 24)
	}},
	"subject_name": {"NAME", func(f *analyzer.Finding) string { return cell(f.SubjectName, 24) }},
	"signer_fp":    {"SIGNER", func(f *analyzer.Finding) string { return cell(f.SignerFP, 12) }},
	"first_seen":   {"FIRST SEEN", func(f *analyzer.Finding) string { return timeCell(f.FirstSeen) }},
	"last_seen":    {"LAST SEEN", func(f *analyzer.Finding) string { return timeCell(f.LastSeen) }},
	"sightings":    {"SEEN", func(f *analyzer.Finding) string { return fmt.Sprint(f.Sightings) }},
	"accepted":     {"ACCEPTED", func(f *analyzer.Finding) string { return fmt.Sprint(f.Accepted) }},
	"observers":    {"OBSERVERS", func(f *analyzer.Finding) string { return cell(strings.Join(f.Observers, ","), 32) }},
	"principals":   {"PRINCIPALS", func(f *analyzer.Finding) string { return cell(strings.Join(f.Principals, ","), 32) }},
	"client_ips":   {"CLIENT IPS", func(f *analyzer.Finding) string { return cell(strings.Join(f.ClientIPs, ","), 32) }},
	"reason":       {"REASON", func(f *analyzer.Finding) string { return cell(f.Reason, 100) }},
	"coverage":     {"COVERAGE", func(f *analyzer.Finding) string { return cell(f.Coverage, 8) }},
	"status":       {"STATUS", func(f *analyzer.Finding) string { return f.Status }},
	"names":        {"NAMES", func(f *analyzer.Finding) string { return cell(strings.Join(f.Names, " "), 40) }},
}

var defaultFields = []string{"rule_id", "subject", "artifact_id", "first_seen", "sightings", "accepted", "observers", "coverage"}

func writeTable(w io.Writer, fs []analyzer.Finding, color bool, fields []string) error {
	if len(fs) == 0 {
		_, err := fmt.Fprintln(w, "No findings.")
		return err
	}
	if len(fields) == 0 {
		fields = defaultFields
		// findings of several kinds say which each is
		for i := range fs {
			if fs[i].Kind != fs[0].Kind {
				fields = append([]string{"kind"}, fields...)
				break
			}
		}
	}
	cols := make([]column, 0, len(fields))
	titles := []string{"LEVEL"}
	var names []string // parallel to cols
	for _, name := range fields {
		if c, ok := tableColumns[name]; ok {
			cols = append(cols, c)
			names = append(names, name)
			titles = append(titles, c.title)
		}
	}
	// A finding that rests on salvaged evidence (a token found in a line
	// the format rejected) says so in a column of its own.
	salvaged := false
	for i := range fs {
		salvaged = salvaged || fs[i].Salvaged > 0
	}
	if salvaged {
		titles = append(titles, "EVIDENCE")
	}
	// One line per artifact: one forged token with three rule hits is one
	// incident, at its most severe finding's level, its rules listed.
	incs := byArtifact(fs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(titles, "\t"))
	for _, in := range incs {
		f := in.findings[0]
		level := in.level
		if color {
			level = levelColor[level] + level + "\033[0m"
		}
		cells := []string{level}
		for j, c := range cols {
			if names[j] == "rule_id" && len(in.findings) > 1 {
				cells = append(cells, cell(strings.Join(ruleIDs(in), ","), 48))
				continue
			}
			cells = append(cells, c.value(f))
		}
		if salvaged {
			cells = append(cells, salvageCell(f))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if salvaged {
		fmt.Fprintln(w, "\nsalvaged: the token was found in log lines the format rejected (kept in rejects); ambiguous: such a line carried several tokens or a duplicated key.")
	}
	onArtifacts := ""
	if len(incs) != len(fs) {
		onArtifacts = fmt.Sprintf(" on %d artifact(s)", len(incs))
	}
	_, err := fmt.Fprintf(w, "\n%d finding(s)%s. Each finding's reason and evidence: --format jsonl; triage: forgehunt tui --case FILE\n", len(fs), onArtifacts)
	return err
}

// salvageCell says whether a finding rests on salvaged lines, and how many.
func salvageCell(f *analyzer.Finding) string {
	switch {
	case f.Salvaged == 0:
		return "parsed"
	case f.Ambiguous:
		return fmt.Sprintf("salvaged %d, ambiguous", f.Salvaged)
	case f.Salvaged == f.Sightings:
		return fmt.Sprintf("salvaged %d (only)", f.Salvaged)
	}
	return fmt.Sprintf("salvaged %d", f.Salvaged)
}

// cell escapes untrusted text for the terminal and bounds its width.
func cell(s string, n int) string {
	if s == "" {
		return "-"
	}
	s = record.Escape(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func timeCell(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// writeSummary prints what the run did: sources, rejects, artifacts, rules.
func writeSummary(w io.Writer, res *huntResult, casePath string) {
	var read, skipped, partial int
	var sightings, issuances, rejects, artifacts, salvaged, salvagedLines int64
	formats := map[string]int{}
	for _, s := range res.ingest.Sources {
		switch {
		case s.Skipped != "":
			skipped++
		default:
			read++
			formats[s.Format]++
		}
		if s.ReadErr != nil {
			partial++
		}
		sightings += s.Sightings
		issuances += s.Issuances
		rejects += s.Rejects
		artifacts += s.Artifacts
		salvaged += s.Salvaged
		salvagedLines += s.SalvagedLines
	}
	names := make([]string, 0, len(formats))
	for f, n := range formats {
		names = append(names, fmt.Sprintf("%s %d", f, n))
	}
	sort.Strings(names)
	if res.prior > 0 && read == 0 && skipped == 0 {
		fmt.Fprintf(w, "\nforgehunt: %d key(s); ran the rules again over the %d file(s) the case holds, in %s\n", len(res.keys), res.prior, res.elapsed.Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "\nforgehunt: %d key(s); read %d file(s) (%s) in %s\n", len(res.keys), read, strings.Join(names, ", "), res.elapsed.Round(time.Millisecond))
	}
	if read > 0 || res.prior == 0 {
		fmt.Fprintf(w, "  records: %d sightings, %d issuances, %d rejects; %d new distinct artifact(s)\n", sightings, issuances, rejects, artifacts)
	}
	if salvaged > 0 {
		fmt.Fprintf(w, "  %d token(s) salvaged from %d of %d rejected line(s): hunted like any other, marked salvaged in the findings\n",
			salvaged, salvagedLines, rejects)
	}
	for _, s := range res.ingest.Sources {
		if s.Skipped == "" && s.ReadErr == nil {
			format := s.Format
			if s.Envelope != "" {
				format += " in " + s.Envelope
			}
			salvage := ""
			if s.Salvaged > 0 {
				salvage = fmt.Sprintf(", %d salvaged", s.Salvaged)
			}
			if s.Links > 0 {
				salvage += fmt.Sprintf(", %d links", s.Links)
			}
			if n := s.IgnoredReasons[nginx.IgnoreBodyNotLogged]; n > 0 {
				salvage += fmt.Sprintf(", %d POST bodies not logged", n)
			}
			fmt.Fprintf(w, "  %-18s %s: %d sightings, %d issuances, %d rejects%s (%s)\n", format, record.Escape(s.Path),
				s.Sightings, s.Issuances, s.Rejects, salvage, s.Duration.Round(time.Millisecond))
		}
		if s.Skipped != "" {
			fmt.Fprintf(w, "  skipped %s: %s\n", record.Escape(s.Path), record.Escape(s.Skipped))
		} else if s.ReadErr != nil {
			fmt.Fprintf(w, "  partial %s: %s (the %d records before it are kept)\n", record.Escape(s.Path), record.Escape(s.ReadErr.Error()), s.Records())
		}
		if s.Mismatch != "" {
			fmt.Fprintf(w, "  %s %s: records were lost or counted twice; this is a forgehunt bug, please report it\n", s.Mismatch, record.Escape(s.Path))
		}
	}
	if rejects > 0 {
		hint := "forgehunt query --case FILE 'SELECT * FROM rejects'"
		if casePath != "" {
			hint = fmt.Sprintf("forgehunt query --case %s 'SELECT * FROM rejects'", record.Escape(casePath))
		}
		fmt.Fprintf(w, "  %d record(s) could not be parsed; see them with: %s\n", rejects, hint)
	}
	if res.ingestOnly {
		if res.parquetOut != "" {
			fmt.Fprintf(w, "  wrote share %d/%d to %s; when every share is written, hunt them with: forgehunt hunt --key ... --from-parquet %s\n",
				res.shard.I, max(res.shard.N, 1), record.Escape(res.parquetOut), record.Escape(res.parquetOut))
		}
		if casePath != "" {
			fmt.Fprintf(w, "  case %s; run the rules with: forgehunt hunt --case %s --key ...\n", record.Escape(casePath), record.Escape(casePath))
		}
		return
	}
	byLevel := map[string]int{}
	for _, f := range res.findings {
		byLevel[f.Level]++
	}
	var lv []string
	for i := len(rules.Levels) - 1; i >= 0; i-- {
		if n := byLevel[rules.Levels[i]]; n > 0 {
			lv = append(lv, fmt.Sprintf("%d %s", n, rules.Levels[i]))
		}
	}
	ran, failed, skipped := 0, 0, 0
	var hits, quiet []string
	for _, r := range res.runs {
		switch {
		case r.Err != nil:
			failed++
			fmt.Fprintf(w, "  rule %s failed: %s\n", r.Rule.ID, record.Escape(r.Err.Error()))
		case r.Skipped != "":
			skipped++
			if res.verbose {
				fmt.Fprintf(w, "  rule %s skipped: %s\n", r.Rule.ID, r.Skipped)
			}
		default:
			ran++
			if r.Hits > 0 {
				hits = append(hits, fmt.Sprintf("%s %d", r.Rule.ID, r.Hits))
			} else {
				quiet = append(quiet, r.Rule.ID)
			}
		}
	}
	for _, e := range res.loadErrs {
		fmt.Fprintf(w, "  rule file %s not loaded: %s\n", e.Source, record.Escape(e.Err.Error()))
	}
	if len(hits) > 0 {
		fmt.Fprintf(w, "  hits: %s\n", strings.Join(hits, ", "))
	}
	if len(quiet) > 0 {
		fmt.Fprintf(w, "  no hits: %s\n", strings.Join(quiet, ", "))
	}
	fmt.Fprintf(w, "  rules: %d ran, %d skipped, %d failed, %d not loaded; findings: %s\n", ran, skipped, failed, len(res.loadErrs), orNone(strings.Join(lv, ", ")))
	if res.hidden > 0 {
		fmt.Fprintf(w, "  %d finding(s) below %s not shown (ledger gaps, stale trust in legitimately issued tokens): --min-level informational\n", res.hidden, res.minLevel)
	}
	for _, src := range res.ingest.Sources {
		if src.Skipped == "" && src.Sightings == 0 && src.Salvaged == 0 && src.Issuances == 0 && src.IgnoredReasons[record.IgnoreNoToken] > 0 && !issuerLog(src.Format) {
			fmt.Fprintf(w, "  warning: %s: none of its %d record(s) carried a bearer token; if it logs the token under another key, name it with --field-map token=KEY\n",
				record.Escape(src.Path), src.Ignored)
		}
		if n := src.IgnoredReasons[vaultpki.IgnoreSerialHMAC]; n > 0 {
			fmt.Fprintf(w, "  warning: %s: the audit device HMAC'd the serial of %d issuance(s), which therefore cannot clear a certificate; "+
				"add serial_number to the PKI mount's audit_non_hmac_response_keys (or give the CA's ledger)\n", record.Escape(src.Path), n)
		}
	}
	for _, warn := range res.warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	if casePath != "" {
		fmt.Fprintf(w, "  case saved to %s (triage: forgehunt tui --case %s)\n", record.Escape(casePath), record.Escape(casePath))
	}
}

// issuerLog reports whether the format reads an issuer's own records (see
// record.IssuerLog).
func issuerLog(format string) bool {
	f, err := parsers.Lookup(format)
	if err != nil {
		return false
	}
	il, ok := f.(record.IssuerLog)
	return ok && il.IssuerLog()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
