package analyzer

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/rules"
)

// TestResult is the outcome of one rule test.
type TestResult struct {
	Rule *rules.Rule
	Test rules.Test
	Hits []string // artifact keys the rule hit, each as "key (level)"
	Err  error    // setup or query failure, or the expectation not met
}

// Passed reports whether the test passed.
func (r TestResult) Passed() bool { return r.Err == nil }

// fillable are the tables a rule test may fill.
var fillable = map[string]bool{
	"keys": true, "artifacts": true, "sightings": true, "issuances": true, "sources": true, "rejects": true, "sequence_gaps": true, "sequence_runs": true,
	"links":            true,
	"policy_key_scope": true, "policy_networks": true, "policy_cert_names": true, "policy_federation_servers": true, // become the run's Policy
}

// TestRule runs each of r's tests in its own empty in-memory case: the test's
// rows are inserted, matching and the rule run, and the hits compared with
// the expectation.
func TestRule(ctx context.Context, r *rules.Rule, st Settings) []TestResult {
	out := make([]TestResult, 0, len(r.Tests))
	for _, t := range r.Tests {
		res := TestResult{Rule: r, Test: t}
		res.Hits, res.Err = runRuleTest(ctx, r, t, st)
		if res.Err == nil {
			res.Err = checkExpectation(t, res.Hits)
		}
		out = append(out, res)
	}
	return out
}

func checkExpectation(t rules.Test, hits []string) error {
	hit, levelOK := false, t.Level == ""
	for _, h := range hits {
		key, level, _ := strings.Cut(h, " (")
		level = strings.TrimSuffix(level, ")")
		if t.Artifact == "" || key == t.Artifact {
			hit = true
			if level == t.Level {
				levelOK = true
			}
		}
	}
	what := "any artifact"
	if t.Artifact != "" {
		what = t.Artifact
	}
	switch {
	case t.Expect == "hit" && !hit:
		return fmt.Errorf("expected a hit on %s, got %s", what, hitList(hits))
	case t.Expect == "miss" && hit:
		return fmt.Errorf("expected no hit on %s, got %s", what, hitList(hits))
	case t.Expect == "hit" && !levelOK:
		return fmt.Errorf("expected a %s hit on %s, got %s", t.Level, what, hitList(hits))
	}
	return nil
}

func hitList(hits []string) string {
	if len(hits) == 0 {
		return "no hits"
	}
	return "hits on " + strings.Join(hits, ", ")
}

func runRuleTest(ctx context.Context, r *rules.Rule, t rules.Test, st Settings) ([]string, error) {
	c, err := RuleTestCase(ctx, r, t, st)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	rows, err := c.DB.QueryContext(ctx, `SELECT DISTINCT artifact_key || ' (' || level || ')' FROM findings WHERE rule_id = ? ORDER BY 1`, r.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hits []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		hits = append(hits, k)
	}
	return hits, rows.Err()
}

// RuleTestCase builds the in-memory case of one rule test: the test's rows
// inserted (policy rows become the run's Policy unless st has one), then
// matching and the rule run. The caller closes the case.
func RuleTestCase(ctx context.Context, r *rules.Rule, t rules.Test, st Settings) (*Case, error) {
	c, err := OpenCase(ctx, "")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Case, error) {
		c.Close()
		return nil, err
	}
	tables := make([]string, 0, len(t.Tables))
	for name := range t.Tables {
		tables = append(tables, name)
	}
	sort.Strings(tables)
	pol, err := testPolicy(t)
	if err != nil {
		return fail(fmt.Errorf("test %q: %w", t.Name, err))
	}
	if pol != nil && st.Policy == nil {
		st.Policy = pol
	}
	for _, table := range tables {
		if !fillable[table] {
			return fail(fmt.Errorf("test %q: table %q cannot be filled (use keys, artifacts, sightings, issuances, sources, rejects, sequence_gaps, sequence_runs, links, policy_key_scope, policy_networks, policy_cert_names, policy_federation_servers)", t.Name, table))
		}
		if strings.HasPrefix(table, "policy_") {
			continue
		}
		cols, err := c.columns(ctx, table)
		if err != nil {
			return fail(err)
		}
		for i, row := range t.Tables[table] {
			if err := c.insertRow(ctx, table, cols, row); err != nil {
				return fail(fmt.Errorf("test %q: %s row %d: %w", t.Name, table, i+1, err))
			}
		}
	}
	// An issuance row that does not say whether its audience is a client
	// gets what its format means, as an upgraded case's rows do.
	if _, err := c.DB.ExecContext(ctx, `UPDATE issuances SET audience_client = (src_format = 'keycloak') WHERE audience_client IS NULL`); err != nil {
		return fail(err)
	}
	runs, err := c.Analyze(ctx, []*rules.Rule{r}, st)
	if err != nil {
		return fail(err)
	}
	if len(runs) == 1 && runs[0].Err != nil {
		return fail(runs[0].Err)
	}
	return c, nil
}

// columns lists a table's columns in order.
func (c *Case) columns(ctx context.Context, table string) ([]string, error) {
	rows, err := c.DB.QueryContext(ctx, `SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		cols = append(cols, n)
	}
	return cols, rows.Err()
}

// insertRow inserts one row given as column → value; values are bound, and
// strings in RFC 3339 form are bound as times.
func (c *Case) insertRow(ctx context.Context, table string, cols []string, row map[string]any) error {
	known := map[string]bool{}
	for _, col := range cols {
		known[col] = true
	}
	names := make([]string, 0, len(row))
	for k := range row {
		if !known[k] {
			return fmt.Errorf("table %s has no column %q (columns: %s)", table, k, strings.Join(cols, ", "))
		}
		names = append(names, k)
	}
	sort.Strings(names)
	args := make([]any, len(names))
	quoted := make([]string, len(names))
	marks := make([]string, len(names))
	for i, n := range names {
		quoted[i] = quoteIdent(n)
		marks[i] = "?"
		args[i] = row[n]
		if list, ok := row[n].([]any); ok { // a VARCHAR[] column (sig_flags)
			strs := make([]string, len(list))
			for j, v := range list {
				strs[j] = fmt.Sprint(v)
			}
			args[i] = strs
		}
		if s, ok := row[n].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				args[i] = t.UTC()
			}
		}
	}
	q := "INSERT INTO " + quoteIdent(table) + " (" + strings.Join(quoted, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
	_, err := c.DB.ExecContext(ctx, q, args...)
	return err
}

// LintRule checks that a rule's query plans against an empty case and
// returns the columns a rule must return (artifact_key, reason).
func LintRule(ctx context.Context, r *rules.Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Kind != "any" && LookupKind(r.Kind) == nil {
		return fmt.Errorf("kind %q is not an artifact kind forgehunt knows (%s, or any)", r.Kind, strings.Join(KindNames(), ", "))
	}
	c, err := OpenCase(ctx, "")
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Analyze(ctx, nil, Settings{}); err != nil {
		return err
	}
	conn, err := c.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	cols, err := queryColumns(ctx, conn, strings.TrimRight(strings.TrimSpace(r.Query), ";"))
	if err != nil {
		return fmt.Errorf("query does not run: %w", err)
	}
	have := map[string]bool{}
	for _, col := range cols {
		have[strings.ToLower(col)] = true
	}
	var missing []string
	for _, need := range []string{"artifact_key", "reason"} {
		if !have[need] {
			missing = append(missing, need)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("query must return the columns %s (it returns %s)", strings.Join(missing, " and "), strings.Join(cols, ", "))
	}
	return nil
}

// testPolicy turns a test's policy_key_scope rows (kid, key_fp, issuer,
// audience), policy_networks rows (principal, network) and
// policy_federation_servers rows (server) into a Policy, as
// if the hunt had been given a policy file; nil when the test has neither.
func testPolicy(t rules.Test) (*Policy, error) {
	scopes, nets, names := t.Tables["policy_key_scope"], t.Tables["policy_networks"], t.Tables["policy_cert_names"]
	servers := t.Tables["policy_federation_servers"]
	if len(scopes) == 0 && len(nets) == 0 && len(names) == 0 && len(servers) == 0 {
		return nil, nil
	}
	str := func(row map[string]any, k string) string {
		if v, ok := row[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	p := &Policy{}
	for _, row := range scopes {
		ks := KeyScope{KID: str(row, "kid"), FP: str(row, "key_fp")}
		if v := str(row, "issuer"); v != "" {
			ks.Issuers = []string{v}
		}
		if v := str(row, "audience"); v != "" {
			ks.Audiences = []string{v}
		}
		p.Keys = append(p.Keys, ks)
	}
	for _, row := range names {
		n := str(row, "name")
		if n == "" || str(row, "kid") == "" && str(row, "key_fp") == "" {
			return nil, fmt.Errorf("policy_cert_names rows need name and kid or key_fp")
		}
		p.Keys = append(p.Keys, KeyScope{KID: str(row, "kid"), FP: str(row, "key_fp"), Names: []string{n}})
	}
	for _, row := range servers {
		if str(row, "server") == "" {
			return nil, fmt.Errorf("policy_federation_servers rows need server")
		}
		p.FederationServers = append(p.FederationServers, str(row, "server"))
	}
	for _, row := range nets {
		pr, n := str(row, "principal"), str(row, "network")
		if pr == "" || n == "" {
			return nil, fmt.Errorf("policy_networks rows need principal and network")
		}
		p.Principals = append(p.Principals, PrincipalNets{Principal: pr, Networks: []string{n}})
	}
	return p, nil
}
