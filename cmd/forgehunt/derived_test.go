package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/analyzer"
	"github.com/forgehunt/forgehunt/internal/derivincident"
)

// Forged tokens followed downstream, end to end: an agent's token
// exchanges (Keycloak TOKEN_EXCHANGE events), AWS STS sessions, their uses.
// The hunt flags every credential derived from a forgery, with its uses,
// and none of the legitimate exchanges and sessions; the worklist is
// exactly the generator's: the exposed key's artifacts still valid at the
// revocation (forged and legitimate), the derived credentials, the
// verifier with stale trust.
func TestDerivedCredentialsEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := derivincident.Generate(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	casePath := filepath.Join(t.TempDir(), "case.duckdb")
	args := []string{"hunt", "--case", casePath, "--format", "jsonl", "--min-level", "informational", "--quiet", "--fail-on", "none",
		"--key", p(derivincident.KeyFile), "--trusted-key", p(derivincident.NewKeyFile),
		"--exposed-from", truth.ExposedFrom.Format(time.RFC3339), "--revoked-at", truth.RevokedAt.Format(time.RFC3339),
		p("keycloak"), p("agent"), p("orders"), p(derivincident.CloudTrailDir)}
	var stdout, stderr bytes.Buffer
	if code := run(ctx, args, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("hunt: exit %d\n%s", code, stderr.String())
	}
	derived := map[string]analyzer.Finding{}
	forged := map[string]bool{}
	for _, k := range truth.Forged {
		forged[k] = true
	}
	for _, f := range jsonlFindings(t, stdout.Bytes()) {
		if f.RuleID == "derived-credential-of-forgery" {
			derived[f.ArtifactID] = f
			continue
		}
		if !forged[f.ArtifactKey] && (f.Level == "high" || f.Level == "critical" || f.Level == "medium") {
			t.Errorf("%s (%s) on a legitimate credential %s: %s", f.RuleID, f.Level, f.ArtifactKey, f.Reason)
		}
	}
	for _, d := range truth.Derived {
		f, ok := derived[d.ID]
		if !ok {
			t.Errorf("the %s %s derived (%s) from forged %s was not reported", d.Kind, d.ID, d.Relation, d.Parent)
			continue
		}
		if int(f.Accepted) != d.Uses {
			t.Errorf("%s: %d uses reported, %d made", d.ID, f.Accepted, d.Uses)
		}
		want := "high"
		if d.Uses > 0 {
			want = "critical"
		}
		if f.Level != want {
			t.Errorf("%s is %s, want %s: %s", d.ID, f.Level, want, f.Reason)
		}
		delete(derived, d.ID)
	}
	for id, f := range derived {
		t.Errorf("a legitimate credential %s reported as derived from a forgery: %s", id, f.Reason)
	}

	// the worklist, exactly
	stdout.Reset()
	if code := run(ctx, []string{"worklist", "--case", casePath, "--format", "json"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("worklist: exit %d\n%s", code, stderr.String())
	}
	var items []analyzer.WorkItem
	if err := json.Unmarshal(stdout.Bytes(), &items); err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, it := range items {
		got = append(got, it.Item+" "+it.Kind+" "+it.ID)
		if it.Action == "" || it.Why == "" || len(it.Frameworks) == 0 {
			t.Errorf("worklist item without action, reason or framework: %+v", it)
		}
	}
	for _, w := range truth.Worklist {
		want = append(want, w.Item+" "+w.Kind+" "+w.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("worklist\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	// CSV and the table too
	for _, format := range []string{"csv", "table"} {
		stdout.Reset()
		if code := run(ctx, []string{"worklist", "--case", casePath, "--format", format}, nil, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "orders-api") {
			t.Errorf("worklist --format %s: exit %d\n%s", format, code, stdout.String())
		}
	}
}
