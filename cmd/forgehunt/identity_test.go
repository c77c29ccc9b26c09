package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/internal/idincident"
)

// The platforms' own logs end to end: Kubernetes audit logs of three API
// servers, CloudTrail, Entra sign-ins with a two-server AD FS farm's audit
// events, an Okta org's System Log and an API gateway's log. The hunt flags
// exactly the credentials the attacker minted (service-account token ids no
// TokenRequest issued, a web identity session no token explains, Golden
// SAML sign-ins no farm server issued, Okta access tokens no grant
// issued), each at high or above, and nothing of the legitimate traffic:
// the pods' tokens, the federated and cloud-only sign-ins, the sessions.
func TestIdentityIncidentEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := idincident.Generate(dir, idincident.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	casePath := filepath.Join(t.TempDir(), "case.duckdb")
	args := []string{"hunt", "--case", casePath, "--format", "jsonl",
		"--min-level", "informational", "--quiet", "--fail-on", "none",
		"--exposed-from", truth.ExposedFrom.Format(time.RFC3339)}
	for _, k := range truth.KeyFiles {
		args = append(args, "--key", p(k))
	}
	args = append(args, p(idincident.K8sDir), p(idincident.CloudTrail), p(idincident.EntraDir), p(idincident.ADFSDir),
		p(idincident.OktaDir), p(idincident.GatewayLog))
	var stdout, stderr bytes.Buffer
	if code := run(ctx, args, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("hunt: exit %d; stderr:\n%s", code, stderr.String())
	}
	forged := map[string]idincident.Forged{}
	for _, f := range truth.Forged {
		forged[f.Key] = f
	}
	// the tokens Entra issued on the forged sign-ins: derived credentials
	for _, k := range truth.Derived {
		forged[k] = idincident.Forged{Key: k, Platform: "derived from " + idincident.PlatformEntra}
	}
	flagged := map[string]bool{}
	for _, f := range jsonlFindings(t, stdout.Bytes()) {
		fo, ok := forged[f.ArtifactKey]
		if !ok {
			t.Errorf("%s (%s) on a legitimate credential %s: %s", f.RuleID, f.Level, f.ArtifactKey, f.Reason)
			continue
		}
		if f.Level != "high" && f.Level != "critical" {
			t.Errorf("%s on the forged %s credential %s is only %s: %s", f.RuleID, fo.Platform, f.ArtifactKey, f.Level, f.Reason)
		}
		flagged[f.ArtifactKey] = true
	}
	for _, k := range truth.FlaggedKeys() {
		if !flagged[k] {
			t.Errorf("the forged %s credential %s (%s) was not flagged", forged[k].Platform, k, forged[k].Subject)
		}
	}
	platforms := map[string]bool{}
	for _, f := range truth.Forged {
		platforms[f.Platform] = true
	}
	for _, pl := range []string{idincident.PlatformK8s, idincident.PlatformAWS, idincident.PlatformEntra, idincident.PlatformOkta} {
		if !platforms[pl] || truth.Legit[pl] == 0 {
			t.Errorf("the incident lacks %s forgeries or legitimate use: %v %v", pl, platforms, truth.Legit)
		}
	}
	// every platform's records were read, by the reader meant for them,
	// and none rejected
	c, err := analyzer.OpenCaseReadOnly(ctx, casePath)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var formats string
	if err := c.DB.QueryRowContext(ctx, `SELECT string_agg(DISTINCT format, ',' ORDER BY format) FROM sources`).Scan(&formats); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"k8s-audit", "cloudtrail", "entra-signin", "adfs", "okta", "json"} {
		if !strings.Contains(formats, want) {
			t.Errorf("no input read as %s (formats: %s)", want, formats)
		}
	}
	rows, err := c.DB.QueryContext(ctx, `SELECT src_file, src_line, reason FROM rejects ORDER BY ALL LIMIT 5`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var f, r string
		var l int64
		if err := rows.Scan(&f, &l, &r); err != nil {
			t.Fatal(err)
		}
		t.Errorf("reject %s:%d: %s", filepath.Base(f), l, r)
	}
}
