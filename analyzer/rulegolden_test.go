package analyzer

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/rules"
)

// The -update flag may already be defined by recordtest when both are linked
// into one test binary; define it only when it is not.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// goldenFinding is what a golden file shows of a finding.
type goldenFinding struct {
	RuleID      string  `json:"rule_id"`
	Level       string  `json:"level"`
	ArtifactKey string  `json:"artifact_key"`
	Reason      *string `json:"reason"`
	Coverage    *string `json:"coverage"`
	Sightings   int64   `json:"sightings"`
	Accepted    int64   `json:"accepted"`
	FirstSeen   *string `json:"first_seen"`
	LastSeen    *string `json:"last_seen"`
}

// policyCase runs a rule test's tables with a policy, for the rules that read
// the policy tables (a rule test itself cannot fill them).
type policyCase struct {
	name       string
	rule, test string // the rule and its test whose tables are used
	policy     *Policy
	expect     string // hit or miss
	artifact   string // "" means any
	golden     string // golden file name (without .golden) for the findings, "" for none
}

var policyCases = []policyCase{
	{
		name: "outside-alice-and-everyone", rule: "jwt-unusual-network", test: "no policy: no networks are listed for anybody",
		policy: &Policy{Principals: []PrincipalNets{
			{Principal: "alice", Networks: []string{"10.20.0.0/16", "2001:db8:1::/48"}},
			{Principal: "*", Networks: []string{"192.0.2.0/24"}},
		}},
		expect: "hit", artifact: "sha256:stolen", golden: "jwt-unusual-network.policy",
	},
	{
		name: "inside-everyone", rule: "jwt-unusual-network", test: "no policy: no networks are listed for anybody",
		policy: &Policy{Principals: []PrincipalNets{
			{Principal: "alice", Networks: []string{"10.20.0.0/16", "2001:db8:1::/48"}},
			{Principal: "*", Networks: []string{"203.0.113.0/24"}},
		}},
		expect: "miss",
	},
	{
		name: "trusted-key-token", rule: "jwt-unusual-network", test: "no policy: no networks are listed for anybody",
		policy: &Policy{Principals: []PrincipalNets{
			{Principal: "alice", Networks: []string{"10.20.0.0/16"}},
		}},
		expect: "miss", artifact: "sha256:trusted",
	},
	{
		name: "principal-not-listed", rule: "jwt-unusual-network", test: "no policy: no networks are listed for anybody",
		policy: &Policy{Principals: []PrincipalNets{
			{Principal: "bob", Networks: []string{"10.20.0.0/16"}},
		}},
		expect: "miss",
	},
	{
		name: "audience-outside-policy", rule: "jwt-scope-anomaly", test: "no policy and no legitimately issued token of the key, nothing to compare with",
		policy: &Policy{Keys: []KeyScope{
			{KID: "k1", Issuers: []string{"https://idp.acme.example"}, Audiences: []string{"account", "billing-api"}},
		}},
		expect: "hit", artifact: "sha256:outlook", golden: "jwt-scope-anomaly.policy",
	},
	{
		name: "inside-policy-by-fp", rule: "jwt-scope-anomaly", test: "no policy and no legitimately issued token of the key, nothing to compare with",
		policy: &Policy{Keys: []KeyScope{
			{FP: "fp-exposed", Issuers: []string{"https://idp.acme.example"}, Audiences: []string{"account", "mail-api"}},
		}},
		expect: "miss",
	},
}

// buildTestCase fills an empty in-memory case with a rule test's rows and
// runs matching and the rule, as runRuleTest does.
func buildTestCase(ctx context.Context, t *testing.T, r *rules.Rule, rt rules.Test, st Settings) *Case {
	t.Helper()
	c, err := RuleTestCase(ctx, r, rt, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readGoldenFindings(ctx context.Context, t *testing.T, c *Case) []goldenFinding {
	t.Helper()
	rows, err := c.DB.QueryContext(ctx, `SELECT rule_id, level, artifact_key, reason, coverage, sightings, accepted,
		first_seen, last_seen FROM findings ORDER BY rule_id, artifact_key, reason`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []goldenFinding{}
	for rows.Next() {
		var f goldenFinding
		var reason, coverage sql.NullString
		var first, last sql.NullTime
		if err := rows.Scan(&f.RuleID, &f.Level, &f.ArtifactKey, &reason, &coverage, &f.Sightings, &f.Accepted, &first, &last); err != nil {
			t.Fatal(err)
		}
		f.Reason, f.Coverage = nullString(reason), nullString(coverage)
		f.FirstSeen, f.LastSeen = nullRFC3339(first), nullRFC3339(last)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func nullString(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func nullRFC3339(t sql.NullTime) *string {
	if !t.Valid {
		return nil
	}
	s := t.Time.UTC().Format(time.RFC3339Nano)
	return &s
}

// compareGolden compares findings as indented JSON with
// testdata/rules/NAME.golden, or rewrites it with -update.
func compareGolden(t *testing.T, name string, findings []goldenFinding) {
	t.Helper()
	got, err := json.MarshalIndent(findings, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "rules", name+".golden")
	if updateGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("findings differ from %s (run with -update to accept)\n--- got\n%s", path, got)
	}
}

// TestRuleGolden pins the findings of every built-in rule's first must-hit
// test (and of the policy cases): level, reason, coverage and counts.
func TestRuleGolden(t *testing.T) {
	rs, errs := rules.Builtin()
	for _, e := range errs {
		t.Fatalf("%s: %v", e.Source, e.Err)
	}
	ctx := context.Background()
	byID := map[string]*rules.Rule{}
	goldens := map[string]bool{}
	for _, r := range rs {
		byID[r.ID] = r
		for _, rt := range r.Tests {
			if rt.Expect != "hit" {
				continue
			}
			t.Run(r.ID, func(t *testing.T) {
				c := buildTestCase(ctx, t, r, rt, Settings{})
				found := readGoldenFindings(ctx, t, c)
				if len(found) == 0 {
					t.Fatalf("test %q: no findings", rt.Name)
				}
				compareGolden(t, r.ID, found)
			})
			goldens[r.ID] = true
			break
		}
	}
	for _, pc := range policyCases {
		r := byID[pc.rule]
		if r == nil {
			t.Errorf("policy case for unknown rule %s", pc.rule)
			continue
		}
		var rt *rules.Test
		for i := range r.Tests {
			if r.Tests[i].Name == pc.test {
				rt = &r.Tests[i]
			}
		}
		if rt == nil {
			t.Errorf("rule %s has no test %q", pc.rule, pc.test)
			continue
		}
		name := pc.rule + "/policy-" + pc.name
		if pc.golden != "" {
			goldens[pc.golden] = true
		}
		t.Run(name, func(t *testing.T) {
			c := buildTestCase(ctx, t, r, *rt, Settings{Policy: pc.policy})
			found := readGoldenFindings(ctx, t, c)
			var hits []string
			for _, f := range found {
				hits = append(hits, f.ArtifactKey)
			}
			if err := checkExpectation(rules.Test{Expect: pc.expect, Artifact: pc.artifact}, hits); err != nil {
				t.Fatal(err)
			}
			if pc.golden != "" {
				compareGolden(t, pc.golden, found)
			}
		})
	}
	// A golden file no rule produces any more is stale.
	files, _ := filepath.Glob(filepath.Join("testdata", "rules", "*.golden"))
	for _, f := range files {
		name := filepath.Base(f)
		name = name[:len(name)-len(".golden")]
		if !goldens[name] {
			t.Errorf("%s: no rule test produces it; delete it", f)
		}
	}
}
