package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/internal/ctincident"
)

// The CT incident end to end, from each form a log is saved in: the hunt
// flags exactly the forged certificates and precertificates (at low and
// above), none of the CA's legitimate ones and none of another CA's; the
// reused serial and the certificate first logged after the revocation are
// named by their own rules.
func TestCTIncidentEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := ctincident.Generate(dir, ctincident.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	forged := truth.Forged()
	slices.Sort(forged)
	if len(forged) == 0 {
		t.Fatal("the incident has no forgery")
	}
	for _, form := range []struct{ name, path string }{
		{"get-entries", filepath.Join(dir, filepath.FromSlash(ctincident.GetEntriesDir))},
		{"tiles", filepath.Join(dir, filepath.FromSlash(ctincident.TilesDir))},
	} {
		t.Run(form.name, func(t *testing.T) {
			casePath := filepath.Join(t.TempDir(), "case.duckdb")
			args := []string{"hunt", "--case", casePath, "--format", "jsonl", "--min-level", "informational",
				"--quiet", "--fail-on", "none",
				"--key", filepath.Join(dir, filepath.FromSlash(ctincident.ExposedKeyFile)),
				"--exposed-from", truth.ExposedFrom.Format(time.RFC3339),
				"--revoked-at", truth.RevokedAt.Format(time.RFC3339),
				form.path,
				filepath.Join(dir, filepath.FromSlash(ctincident.LedgerFile)),
				filepath.Join(dir, filepath.FromSlash(ctincident.StepCAFile)),
			}
			var stdout, stderr bytes.Buffer
			if code := run(ctx, args, nil, &stdout, &stderr); code != exitOK {
				t.Fatalf("hunt: exit %d; stderr:\n%s", code, stderr.String())
			}
			byRule := map[string][]string{}
			flagged := map[string]bool{}
			pscFlagged := false
			for _, f := range jsonlFindings(t, stdout.Bytes()) {
				byRule[f.RuleID] = append(byRule[f.RuleID], f.ArtifactKey)
				if f.Kind != "x509" {
					t.Errorf("a finding of kind %s: %+v", f.Kind, f)
				}
				if f.Level != "informational" {
					flagged[f.ArtifactKey] = true
				}
				if cc := chainCert(truth, f.ArtifactKey); cc != nil {
					// a chain certificate, from the tile log's issuer/
					// directory: only the forged PSC may be flagged
					if !cc.Forged && f.Level != "informational" {
						t.Errorf("%s on chain certificate %s (%s)", f.RuleID, cc.Subject, cc.Role)
					}
					if cc.Forged {
						pscFlagged = true
					}
					continue
				}
				if a := truth.Artifact(f.ArtifactKey); a == nil {
					t.Errorf("finding on an artifact not in the truth: %+v", f)
				} else if !a.Forged && f.Level != "informational" {
					t.Errorf("%s on a legitimate or foreign artifact (%s, %s %v): %s", f.RuleID, a.CA, a.Subject, a.Names, f.Reason)
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
						a := truth.Artifact(k)
						t.Errorf("forged artifact not flagged: %s %s %v precert=%v psc=%v (%s)", k, a.Subject, a.Names, a.Precert, a.ViaPSC, a.Reason)
					}
				}
			}
			for _, a := range truth.Artifacts {
				switch a.Reason {
				case ctincident.ReasonReusedSerial:
					if !slices.Contains(byRule["x509-serial-reuse"], a.ArtifactKey) {
						t.Errorf("reused serial %s not found by x509-serial-reuse: %v", a.Serial, byRule)
					}
				case ctincident.ReasonAfterRevocation:
					if !slices.Contains(byRule["x509-logged-after-revocation"], a.ArtifactKey) {
						t.Errorf("%s not found by x509-logged-after-revocation", a.Subject)
					}
				}
			}
			// one sighting per log entry: a partial tile's entries that its
			// full tile holds too are not counted twice
			c, err := analyzer.OpenCaseReadOnly(ctx, casePath)
			if err != nil {
				t.Fatal(err)
			}
			var entries, rejects int
			if err := c.DB.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sightings WHERE source = 'ct'), (SELECT count(*) FROM rejects)`).Scan(&entries, &rejects); err != nil {
				t.Fatal(err)
			}
			c.Close()
			if entries != truth.Entries || rejects != 0 {
				t.Errorf("%d CT sightings and %d rejects, want one per log entry (%d) and none", entries, rejects, truth.Entries)
			}
			if form.name == "tiles" && !pscFlagged {
				t.Error("the forged Precertificate Signing Certificate in the log's issuer/ directory was not flagged")
			}
			if t.Failed() {
				t.Logf("findings by rule: %v", strings.ReplaceAll(stdout.String(), "\n", "\n  "))
			}
		})
	}
}

func chainCert(truth *ctincident.Truth, key string) *ctincident.ChainCert {
	for i := range truth.ChainCerts {
		if truth.ChainCerts[i].ArtifactKey == key {
			return &truth.ChainCerts[i]
		}
	}
	return nil
}

// A crt.sh export of the exposed CA's name: the serial the ledger lacks is
// listed (unverified, id only), the ones it holds are not.
func TestCTCrtShListing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := ctincident.Generate(dir, ctincident.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var forged, legit *ctincident.Artifact
	for i := range truth.Artifacts {
		a := &truth.Artifacts[i]
		switch {
		case a.CA == ctincident.CAExposed && a.Forged && a.Reason == ctincident.ReasonNoIssuance && !a.Precert && forged == nil:
			forged = a
		case a.CA == ctincident.CAExposed && !a.Forged && a.InLedger && !a.Precert && legit == nil:
			legit = a
		}
	}
	if forged == nil || legit == nil {
		t.Fatal("the incident lacks a forged or a legitimate certificate")
	}
	row := func(a *ctincident.Artifact, id int) map[string]any {
		return map[string]any{"issuer_ca_id": 7, "issuer_name": "C=US, O=Example Corp, CN=Example Issuing CA 1",
			"common_name": a.Subject, "name_value": strings.Join(a.Names, "\n"), "id": id,
			"entry_timestamp": a.LoggedAt.Format("2006-01-02T15:04:05.000"), "not_before": a.NotBefore.Format("2006-01-02T15:04:05"),
			"not_after": a.NotAfter.Format("2006-01-02T15:04:05"), "serial_number": a.Serial}
	}
	body, _ := json.Marshal([]any{row(forged, 1), row(legit, 2)})
	export := filepath.Join(dir, "crtsh.json")
	if err := os.WriteFile(export, body, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"hunt", "--format", "jsonl", "--quiet", "--fail-on", "none", "--min-level", "low",
		"--key", filepath.Join(dir, filepath.FromSlash(ctincident.ExposedKeyFile)),
		export, filepath.Join(dir, filepath.FromSlash(ctincident.LedgerFile))}
	if code := run(ctx, args, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("hunt: exit %d; stderr:\n%s", code, stderr.String())
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var f analyzer.Finding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		if f.RuleID == "x509-listed-no-issuance" {
			ids = append(ids, f.ArtifactID)
		}
	}
	if !slices.Equal(ids, []string{forged.Serial}) {
		t.Errorf("listed: %v, want only the forged serial %s; output:\n%s", ids, forged.Serial, stdout.String())
	}
}

// A Vault audit log on the default settings HMACs every serial: the summary
// says that its records cannot clear a certificate, and how to fix it.
func TestVaultHMACWarning(t *testing.T) {
	dir := t.TempDir()
	if _, err := ctincident.Generate(dir, ctincident.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"hunt", "--fail-on", "none", "--key", filepath.Join(dir, filepath.FromSlash(ctincident.ExposedKeyFile)),
		filepath.Join("..", "..", "parsers", "vaultpki", "testdata", "hmac-default.log")}
	if code := run(context.Background(), args, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("hunt: exit %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "HMAC'd the serial") || !strings.Contains(stderr.String(), "audit_non_hmac_response_keys") {
		t.Errorf("no HMAC warning:\n%s", stderr.String())
	}
}
