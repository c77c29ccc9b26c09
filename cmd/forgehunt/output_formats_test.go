package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
)

// demoOutput runs the tokens demo with --format format and returns its
// standard output and its findings as JSON lines say them.
func demoOutput(t *testing.T, format string) ([]byte, []analyzer.Finding) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"demo", "--dir", dir, "--format", format}, nil, &out, &errb); code != exitOK {
		t.Fatalf("demo --format %s: exit %d\n%s", format, code, errb.String())
	}
	var jl, e2 bytes.Buffer
	if code := run(ctx, []string{"demo", "--dir", t.TempDir(), "--format", "jsonl"}, nil, &jl, &e2); code != exitOK {
		t.Fatalf("demo --format jsonl: exit %d", code)
	}
	var fs []analyzer.Finding
	for _, l := range bytes.Split(bytes.TrimSpace(jl.Bytes()), []byte("\n")) {
		var f analyzer.Finding
		if err := json.Unmarshal(l, &f); err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return out.Bytes(), fs
}

// The CSV is what a spreadsheet or DuckDB reads back: a header, one row per
// finding, every row as wide as the header.
func TestCSVReadsBack(t *testing.T) {
	out, fs := demoOutput(t, "csv")
	path := filepath.Join(t.TempDir(), "findings.csv")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := analyzer.OpenCase(context.Background(), filepath.Join(t.TempDir(), "x.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var rows, rules int
	if err := c.DB.QueryRow(`SELECT count(*), count(DISTINCT rule_id) FROM read_csv(?, header = true, strict_mode = true)`, path).
		Scan(&rows, &rules); err != nil {
		t.Fatal(err)
	}
	if rows != len(fs) || rules == 0 {
		t.Errorf("DuckDB read %d rows (%d rules), want %d findings", rows, rules, len(fs))
	}
	if bytes.Count(out, []byte("\n")) != len(fs)+1 {
		t.Errorf("%d lines for %d findings and a header: a value kept a line break", bytes.Count(out, []byte("\n")), len(fs))
	}
}

// A value a spreadsheet would run as a formula is defused; a line break
// is a space.
func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "@SUM(1)": "'@SUM(1)", "+cmd": "'+cmd", "-1": "-1",
		"a\nb\r\nc": "a b c", "plain": "plain",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// The SARIF log has what SARIF 2.1.0 requires and code scanning reads: a
// version, a driver with the rules, results with a message and a rule that
// the driver lists, locations with a URI and a line.
func TestSARIFRequiredFields(t *testing.T) {
	out, fs := demoOutput(t, "sarif")
	var log struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID         string         `json:"id"`
						Short      map[string]any `json:"shortDescription"`
						Help       map[string]any `json:"help"`
						Properties struct {
							Tags []string `json:"tags"`
						} `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string         `json:"ruleId"`
				RuleIndex int            `json:"ruleIndex"`
				Level     string         `json:"level"`
				Message   map[string]any `json:"message"`
				Locations []struct {
					Physical struct {
						Artifact struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int64 `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				Fingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || log.Schema == "" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "forgehunt" {
		t.Fatalf("log header: version %q, %d runs", log.Version, len(log.Runs))
	}
	r := log.Runs[0]
	if len(r.Results) != len(fs) {
		t.Errorf("%d results for %d findings", len(r.Results), len(fs))
	}
	mitre := false
	for _, rule := range r.Tool.Driver.Rules {
		if rule.ID == "" || rule.Short["text"] == "" || rule.Help["text"] == "" {
			t.Errorf("rule %+v lacks an id, short description or help", rule)
		}
		for _, tag := range rule.Properties.Tags {
			mitre = mitre || strings.HasPrefix(tag, "external/mitre/t")
		}
	}
	if !mitre {
		t.Error("no rule is tagged with its MITRE technique")
	}
	seen := map[string]bool{}
	for _, res := range r.Results {
		if res.RuleIndex < 0 || res.RuleIndex >= len(r.Tool.Driver.Rules) || r.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result of %s points at rule %d", res.RuleID, res.RuleIndex)
		}
		if s, _ := res.Message["text"].(string); s == "" {
			t.Errorf("result of %s has no message", res.RuleID)
		}
		if res.Level != "error" && res.Level != "warning" && res.Level != "note" {
			t.Errorf("result level %q", res.Level)
		}
		for _, l := range res.Locations {
			if l.Physical.Artifact.URI == "" || l.Physical.Region.StartLine < 1 {
				t.Errorf("location %+v", l)
			}
		}
		fp := res.Fingerprints["forgehunt/v1"]
		if fp == "" || seen[fp] {
			t.Errorf("fingerprint %q missing or repeated", fp)
		}
		seen[fp] = true
	}
}

// Markdown groups the findings by artifact, and log data cannot add links,
// images or HTML to it.
func TestMarkdownEscapesLogData(t *testing.T) {
	out, fs := demoOutput(t, "markdown")
	arts := map[string]bool{}
	for _, f := range fs {
		arts[f.ArtifactKey] = true
	}
	if got := bytes.Count(out, []byte("\n## ")); got != len(arts) {
		t.Errorf("%d sections for %d artifacts", got, len(arts))
	}
	now := time.Now()
	f := analyzer.Finding{RuleID: "r", Level: "high", Kind: "jwt", ArtifactKey: "k", ArtifactID: "x",
		Subject: `<img src=x onerror=alert(1)>`, Reason: "see [here](https://evil.example) ![p](https://evil.example/p.png) |a|b|",
		Evidence: []analyzer.Evidence{{File: "a`b.log", Line: 3}}, FirstSeen: &now}
	var b bytes.Buffer
	if err := writeMarkdown(&b, []analyzer.Finding{f}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, bad := range []string{"<img", "](https://evil", "![p]", "|a|"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown holds %q raw:\n%s", bad, md)
		}
	}
	if !strings.Contains(md, "`a'b.log:3`") {
		t.Errorf("evidence not as a code span:\n%s", md)
	}
}
