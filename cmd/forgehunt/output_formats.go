package main

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/rules"
)

// findingFormats are the --format values of hunt and demo.
var findingFormats = []string{"table", "jsonl", "json", "csv", "sarif", "markdown"}

// csvColumns are the columns of --format csv, one line per finding.
var csvColumns = []string{"level", "rule_id", "title", "kind", "artifact_key", "artifact_id", "issuer", "subject",
	"subject_name", "first_seen", "last_seen", "sightings", "accepted", "observers", "principals", "client_ips",
	"coverage", "status", "reason", "evidence"}

// writeCSV writes one RFC 4180 line per finding that spreadsheets open:
// line breaks in values become spaces, and a value a spreadsheet would
// take for a formula (=, +, -, @, a tab or a carriage return first: the
// values are log data an attacker wrote) gets a leading quote, as OWASP's
// advice on CSV injection has it.
func writeCSV(w io.Writer, fs []analyzer.Finding) error {
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	return writeCSVRows(w, csvColumns, len(fs), func(i int) []string {
		f := &fs[i]
		ev := make([]string, len(f.Evidence))
		for j, e := range f.Evidence {
			ev[j] = fmt.Sprintf("%s:%d", e.File, e.Line)
		}
		return []string{f.Level, f.RuleID, f.Title, f.Kind, f.ArtifactKey, f.ArtifactID, f.Issuer, f.Subject,
			f.SubjectName, ts(f.FirstSeen), ts(f.LastSeen), fmt.Sprint(f.Sightings), fmt.Sprint(f.Accepted),
			strings.Join(f.Observers, "; "), strings.Join(f.Principals, "; "), strings.Join(f.ClientIPs, "; "),
			f.Coverage, f.Status, f.Reason, strings.Join(ev, "; ")}
	})
}

// writeCSVRows writes header and n rows, each cell made safe for a
// spreadsheet (csvCell).
func writeCSVRows(w io.Writer, header []string, n int, row func(i int) []string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for i := range n {
		r := row(i)
		for j, v := range r {
			r[j] = csvCell(v)
		}
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvCell(v string) string {
	v = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(v)
	if v != "" && strings.ContainsRune("=+-@\t", rune(v[0])) {
		// a negative count is not log data; everything else is
		if _, err := fmt.Sscan(v, new(float64)); err != nil {
			v = "'" + v
		}
	}
	return v
}

// SARIF 2.1.0, the parts code-scanning tools read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	HelpURI              string         `json:"helpUri,omitempty"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation struct {
		ArtifactLocation struct {
			URI string `json:"uri"`
		} `json:"artifactLocation"`
		Region struct {
			StartLine int64 `json:"startLine"`
		} `json:"region"`
	} `json:"physicalLocation"`
}

// sarifLevel maps forgehunt's levels to SARIF's, and to the
// security-severity score code scanning ranks alerts by.
func sarifLevel(level string) (string, float64) {
	switch level {
	case "critical":
		return "error", 9.5
	case "high":
		return "error", 8.0
	case "medium":
		return "warning", 5.5
	case "low":
		return "note", 3.0
	}
	return "note", 1.0
}

// maxSARIFLocations bounds the evidence lines a result lists.
const maxSARIFLocations = 10

// writeSARIF writes the findings as a SARIF 2.1.0 log: the rules that hit,
// with their help and MITRE tags, and one result per finding located at
// its evidence lines. A stable fingerprint (rule and artifact) lets
// code-scanning tools follow one finding across runs.
func writeSARIF(w io.Writer, fs []analyzer.Finding, ruleSet []*rules.Rule) error {
	byID := map[string]*rules.Rule{}
	for _, r := range ruleSet {
		byID[r.ID] = r
	}
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "forgehunt",
		InformationURI: "https://github.com/forgehunt/forgehunt", Version: version(), Rules: []sarifRule{}}},
		Results: []sarifResult{}}
	index := map[string]int{}
	for i := range fs {
		f := &fs[i]
		ri, ok := index[f.RuleID]
		if !ok {
			ri = len(run.Tool.Driver.Rules)
			index[f.RuleID] = ri
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRuleOf(f, byID[f.RuleID]))
		}
		level, score := sarifLevel(f.Level)
		sum := sha256.Sum256([]byte(f.RuleID + "\x00" + f.ArtifactKey))
		res := sarifResult{RuleID: f.RuleID, RuleIndex: ri, Level: level, Message: sarifText{Text: f.Reason},
			PartialFingerprints: map[string]string{"forgehunt/v1": hex.EncodeToString(sum[:16])},
			Properties: map[string]any{"artifact_key": f.ArtifactKey, "kind": f.Kind, "coverage": f.Coverage,
				"sightings": f.Sightings, "accepted": f.Accepted, "forgehunt-level": f.Level, "security-severity": fmt.Sprint(score)}}
		for _, e := range f.Evidence {
			if len(res.Locations) == maxSARIFLocations || e.Line < 1 || e.File == "" {
				continue
			}
			var loc sarifLocation
			loc.PhysicalLocation.ArtifactLocation.URI = fileURI(e.File)
			loc.PhysicalLocation.Region.StartLine = e.Line
			res.Locations = append(res.Locations, loc)
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

func sarifRuleOf(f *analyzer.Finding, r *rules.Rule) sarifRule {
	level, score := sarifLevel(f.Level)
	sr := sarifRule{ID: f.RuleID, Name: f.RuleID, ShortDescription: sarifText{Text: f.Title}, FullDescription: sarifText{Text: f.Title},
		Help: sarifText{Text: f.Title}, DefaultConfiguration: map[string]any{"level": level},
		Properties: map[string]any{"tags": []string{"security"}, "security-severity": fmt.Sprint(score)}}
	if r == nil {
		return sr
	}
	level, score = sarifLevel(r.Level)
	sr.DefaultConfiguration["level"] = level
	sr.Properties["security-severity"] = fmt.Sprint(score)
	desc := strings.TrimSpace(r.Description)
	if desc == "" {
		desc = r.Title
	}
	sr.FullDescription = sarifText{Text: desc}
	var text, md strings.Builder
	text.WriteString(desc)
	md.WriteString(desc)
	if len(r.FalsePositives) > 0 {
		text.WriteString("\n\nFalse positives:\n")
		md.WriteString("\n\n**False positives**\n\n")
		for _, fp := range r.FalsePositives {
			text.WriteString("- " + fp + "\n")
			md.WriteString("- " + fp + "\n")
		}
	}
	if len(r.References) > 0 {
		text.WriteString("\nReferences:\n")
		md.WriteString("\n**References**\n\n")
		for _, ref := range r.References {
			text.WriteString("- " + ref + "\n")
			md.WriteString("- <" + ref + ">\n")
		}
		sr.HelpURI = r.References[0]
	}
	sr.Help = sarifText{Text: strings.TrimSpace(text.String()), Markdown: strings.TrimSpace(md.String())}
	tags := []string{"security"}
	for _, m := range r.Mitre {
		tags = append(tags, "external/mitre/"+strings.ToLower(m))
	}
	sr.Properties["tags"] = tags
	return sr
}

// fileURI is a path as a SARIF artifact URI: relative paths stay relative
// (code-scanning tools resolve them against the checkout), absolute ones
// become file:// URIs; either is escaped.
func fileURI(p string) string {
	p = filepath.ToSlash(p)
	u := url.URL{Path: p}
	if strings.HasPrefix(p, "/") {
		u.Scheme = "file"
	}
	return u.String()
}

// artifactHits is the findings of one artifact: one forged token with three
// rule hits is one incident.
type artifactHits struct {
	findings []*analyzer.Finding
	level    string
}

// byArtifact groups findings by artifact, in the order of each artifact's
// most severe finding (findings come most severe first).
func byArtifact(fs []analyzer.Finding) []artifactHits {
	var out []artifactHits
	at := map[string]int{}
	for i := range fs {
		f := &fs[i]
		j, ok := at[f.ArtifactKey]
		if !ok {
			j = len(out)
			at[f.ArtifactKey] = j
			out = append(out, artifactHits{level: f.Level})
		}
		out[j].findings = append(out[j].findings, f)
		if rules.LevelRank(f.Level) > rules.LevelRank(out[j].level) {
			out[j].level = f.Level
		}
	}
	return out
}

// writeMarkdown writes the findings as a document for a ticket: a summary
// by level, then one section per artifact with its rules, reasons and
// evidence. Values are log data: markdown and HTML in them are escaped, so
// that a log line cannot add links, images or markup to the report.
func writeMarkdown(w io.Writer, fs []analyzer.Finding) error {
	var b strings.Builder
	b.WriteString("# forgehunt findings\n\n")
	if len(fs) == 0 {
		b.WriteString("No findings.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	incs := byArtifact(fs)
	counts := map[string]int{}
	for i := range fs {
		counts[fs[i].Level]++
	}
	fmt.Fprintf(&b, "%d finding(s) on %d artifact(s):", len(fs), len(incs))
	levels := slices.Clone(rules.Levels)
	slices.Reverse(levels)
	for _, l := range levels {
		if counts[l] > 0 {
			fmt.Fprintf(&b, " %d %s,", counts[l], l)
		}
	}
	s := strings.TrimSuffix(b.String(), ",") + ".\n\n"
	b.Reset()
	b.WriteString(s)
	b.WriteString("| level | kind | id | subject | rules | first seen | observers |\n|---|---|---|---|---|---|---|\n")
	for _, in := range incs {
		f := in.findings[0]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", in.level, mdEscape(f.Kind), mdEscape(cell(f.ArtifactID, 24)),
			mdEscape(cell(subjectCell(f), 32)), mdEscape(strings.Join(ruleIDs(in), ", ")), timeCell(f.FirstSeen),
			mdEscape(cell(strings.Join(f.Observers, ", "), 40)))
	}
	for n, in := range incs {
		f := in.findings[0]
		fmt.Fprintf(&b, "\n## %d. %s %s %s\n\n", n+1, in.level, mdEscape(f.Kind), mdEscape(orNone(f.ArtifactID)))
		fmt.Fprintf(&b, "- artifact: `%s`\n", mdCode(f.ArtifactKey))
		if sub := subjectCell(f); sub != "" {
			fmt.Fprintf(&b, "- subject: %s\n", mdEscape(sub))
		}
		if f.Issuer != "" {
			fmt.Fprintf(&b, "- issuer: %s\n", mdEscape(f.Issuer))
		}
		fmt.Fprintf(&b, "- seen %d time(s), %d accepted, from %s to %s\n", f.Sightings, f.Accepted, timeCell(f.FirstSeen), timeCell(f.LastSeen))
		if len(f.Observers) > 0 {
			fmt.Fprintf(&b, "- observers: %s\n", mdEscape(strings.Join(f.Observers, ", ")))
		}
		if len(f.ClientIPs) > 0 {
			fmt.Fprintf(&b, "- client addresses: %s\n", mdEscape(strings.Join(f.ClientIPs, ", ")))
		}
		fmt.Fprintf(&b, "- coverage: %s; triage: %s\n", mdEscape(orNone(f.Coverage)), mdEscape(orNone(f.Status)))
		for _, g := range in.findings {
			fmt.Fprintf(&b, "\n**%s** (%s): %s\n\n%s\n", mdEscape(g.RuleID), g.Level, mdEscape(g.Title), mdEscape(g.Reason))
			if len(g.Evidence) > 0 {
				b.WriteString("\nEvidence:")
				for i, e := range g.Evidence {
					if i == maxSARIFLocations {
						fmt.Fprintf(&b, " and %d more", len(g.Evidence)-i)
						break
					}
					fmt.Fprintf(&b, " `%s:%d`", mdCode(e.File), e.Line)
				}
				b.WriteString("\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func subjectCell(f *analyzer.Finding) string {
	if f.SubjectName != "" {
		return f.SubjectName
	}
	return f.Subject
}

func ruleIDs(in artifactHits) []string {
	ids := make([]string, 0, len(in.findings))
	for _, f := range in.findings {
		if !slices.Contains(ids, f.RuleID) {
			ids = append(ids, f.RuleID)
		}
	}
	return ids
}

// mdEscape makes a value plain text in markdown: every character markdown
// or HTML would act on is backslash-escaped or entity-encoded, and line
// breaks become spaces.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\n', '\r':
			b.WriteByte(' ')
		case '\\', '`', '*', '_', '[', ']', '(', ')', '#', '|', '!', '~', '{', '}':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode makes a value safe inside a one-backtick code span.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s)
}
