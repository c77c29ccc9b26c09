package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/internal/ciincident"
)

// The CI signing incident end to end, from each form the log is saved in
// (Rekor API entries; Sigstore bundles and the attestation APIs' wrappers):
// the hunt flags exactly the signatures the leaked key made over what no
// build produced, none of the builds' own (the one logged twice is one
// artifact), and no other project's; a foreign signer of a built digest is
// informational only.
func TestCIIncidentEndToEnd(t *testing.T) {
	ctx := context.Background()
	for _, form := range []string{ciincident.FormRekor, ciincident.FormBundle} {
		t.Run(form, func(t *testing.T) {
			dir := t.TempDir()
			truth, err := ciincident.Generate(dir, ciincident.Config{Form: form})
			if err != nil {
				t.Fatal(err)
			}
			forged := truth.Forged()
			if len(forged) == 0 {
				t.Fatal("the incident has no forgery")
			}
			logDir := ciincident.RekorDir
			if form == ciincident.FormBundle {
				logDir = ciincident.BundleDir
			}
			casePath := filepath.Join(t.TempDir(), "case.duckdb")
			args := []string{"hunt", "--case", casePath, "--format", "jsonl", "--min-level", "informational",
				"--quiet", "--fail-on", "none",
				"--key", filepath.Join(dir, filepath.FromSlash(ciincident.ExposedKeyFile)),
				"--exposed-from", truth.ExposedFrom.Format(time.RFC3339),
				filepath.Join(dir, logDir),
				filepath.Join(dir, ciincident.ProvenanceDir),
				filepath.Join(dir, filepath.FromSlash(ciincident.LedgerFile)),
			}
			var stdout, stderr bytes.Buffer
			if code := run(ctx, args, nil, &stdout, &stderr); code != exitOK {
				t.Fatalf("hunt: exit %d; stderr:\n%s", code, stderr.String())
			}
			flagged := map[string]bool{}
			byRule := map[string][]string{}
			for _, f := range jsonlFindings(t, stdout.Bytes()) {
				byRule[f.RuleID] = append(byRule[f.RuleID], f.ArtifactKey)
				s := truth.Signature(f.ArtifactKey)
				if s == nil {
					t.Errorf("finding on an artifact not in the truth: %s %s: %s", f.RuleID, f.ArtifactKey, f.Reason)
					continue
				}
				if f.Level == "informational" {
					continue
				}
				flagged[f.ArtifactKey] = true
				if s.Class != ciincident.ClassForged {
					t.Errorf("%s on a %s signature (%s, %s, %v): %s", f.RuleID, s.Class, s.Signer, s.Reason, s.Digests, f.Reason)
				}
				if f.Kind != "signature" || !slices.Contains(s.Digests, f.ArtifactID) {
					t.Errorf("finding %s names %s %s, want a signature over one of %v", f.RuleID, f.Kind, f.ArtifactID, s.Digests)
				}
				if !hasDetail(f, "digest") || !hasDetail(f, "logged") {
					t.Errorf("finding %s lacks the signature's details: %+v", f.RuleID, f.Details)
				}
			}
			var got []string
			for k := range flagged {
				got = append(got, k)
			}
			slices.Sort(got)
			if !slices.Equal(got, forged) {
				for _, k := range forged {
					if !flagged[k] {
						s := truth.Signature(k)
						t.Errorf("forged signature not flagged: %s %s %v (%s)", k, s.Type, s.Digests, s.Reason)
					}
				}
			}
			for _, s := range truth.Signatures {
				if s.Class == ciincident.ClassForeign && s.Reason == ciincident.ReasonSameDigest &&
					!slices.Contains(byRule["sig-digest-other-signer"], s.Key) {
					t.Errorf("foreign signer of built digest %v not reported by sig-digest-other-signer", s.Digests)
				}
			}
			// the signature logged twice is one artifact with two sightings
			c, err := analyzer.OpenCaseReadOnly(ctx, casePath)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var artifacts, sightings int
			if err := c.DB.QueryRowContext(ctx, `SELECT count(DISTINCT a.artifact_key), count(*) FROM artifacts a JOIN sightings s USING (artifact_key) WHERE a.artifact_key = ?`,
				truth.Duplicate).Scan(&artifacts, &sightings); err != nil {
				t.Fatal(err)
			}
			if artifacts != 1 || sightings < 2 {
				t.Errorf("the duplicate signature: %d artifact(s), %d sighting(s)", artifacts, sightings)
			}
			var rejects int
			if err := c.DB.QueryRowContext(ctx, `SELECT count(*) FROM rejects`).Scan(&rejects); err != nil {
				t.Fatal(err)
			}
			if rejects != 0 {
				rows, _ := c.DB.QueryContext(ctx, `SELECT src_file, src_line, reason FROM rejects LIMIT 5`)
				for rows != nil && rows.Next() {
					var f, r string
					var l int64
					rows.Scan(&f, &l, &r)
					t.Errorf("reject %s:%d: %s", filepath.Base(f), l, r)
				}
			}
			if strings.Contains(stderr.String(), "panic") {
				t.Errorf("stderr: %s", stderr.String())
			}
		})
	}
}

func hasDetail(f analyzer.Finding, label string) bool {
	for _, d := range f.Details {
		if strings.HasPrefix(d.Label, label) && d.Value != "" {
			return true
		}
	}
	return false
}
