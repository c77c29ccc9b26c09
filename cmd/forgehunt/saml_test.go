package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/internal/samlincident"
)

// Golden SAML with the assertions themselves, end to end: AD FS 1200
// events of a two-server farm, two service providers' logs, their
// proxies' access logs with the posted bodies, and a HAR. The hunt flags
// exactly the assertions forged with the stolen token-signing key, each at
// high or above (unsolicited, answering an AuthnRequest that never reached
// AD FS, long-lived, MFA claimed, by HTTP-Redirect, one only in the HAR);
// the signature-wrapping replay and the self-made key are reported, below
// high, as what they are; no legitimate login is flagged.
func TestSAMLIncidentEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := samlincident.Generate(dir, samlincident.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	args := []string{"hunt", "--case", filepath.Join(t.TempDir(), "case.duckdb"), "--format", "jsonl",
		"--min-level", "informational", "--quiet", "--fail-on", "none",
		"--exposed-from", truth.ExposedFrom.Format(time.RFC3339),
		"--key", p(samlincident.KeyFile), "--nginx-format", samlincident.NginxFormat,
		p(samlincident.ADFSDir), p(samlincident.SPDir), p(samlincident.ProxyDir), p(samlincident.HARFile)}
	var stdout, stderr bytes.Buffer
	if code := run(ctx, args, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("hunt: exit %d; stderr:\n%s", code, stderr.String())
	}
	forged := map[string]samlincident.Attempt{}
	for _, f := range truth.Forged {
		forged[f.Key] = f
	}
	other := map[string]samlincident.Attempt{}
	for _, f := range truth.Other {
		other[f.Key] = f
	}
	flagged := map[string]bool{}
	otherRules := map[string][]string{}
	for _, f := range jsonlFindings(t, stdout.Bytes()) {
		if o, ok := other[f.ArtifactKey]; ok {
			if f.Level == "high" || f.Level == "critical" {
				t.Errorf("%s at %s on the %s (not a forgery with the key): %s", f.RuleID, f.Level, o.What, f.Reason)
			}
			otherRules[f.ArtifactKey] = append(otherRules[f.ArtifactKey], f.RuleID)
			continue
		}
		fo, ok := forged[f.ArtifactKey]
		if !ok {
			t.Errorf("%s (%s) on a legitimate login %s: %s", f.RuleID, f.Level, f.ArtifactKey, f.Reason)
			continue
		}
		if f.Level == "high" || f.Level == "critical" {
			flagged[f.ArtifactKey] = true
		}
		t.Logf("%s %s %s: %s", fo.What, f.RuleID, f.Level, f.Reason)
	}
	for _, k := range truth.ForgedKeys() {
		if !flagged[k] {
			t.Errorf("the forged assertion %s (%s) was not flagged at high or above", k, forged[k].What)
		}
	}
	if len(truth.Forged) < 4 || truth.Legit < 10 {
		t.Fatalf("the incident is too small: %+v", truth)
	}
	want := map[string]string{"signature wrapping replay": "saml-signature-wrapping",
		"self-made key behind a copy of the AD FS certificate's subject": "saml-signer-copies-idp"}
	for k, o := range other {
		found := false
		for _, r := range otherRules[k] {
			found = found || r == want[o.What]
		}
		if !found {
			t.Errorf("the %s was not reported by %s (got %v)", o.What, want[o.What], otherRules[k])
		}
	}
}
