package analyzer

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/rules"
)

//go:embed sql/match.sql
var matchSQL string

// Settings are the tunables rules read from the settings table.
type Settings struct {
	MatchTolerance   time.Duration // weak match and expiry consistency; default 2s
	IDTimeTolerance  time.Duration // issue-time consistency of an id match; default 60s
	LedgerGap        time.Duration // minimum ledger silence called a gap; default 30m
	MaxTokenLifetime time.Duration // policy; default 24h
	ReplayWindow     time.Duration // replay: one artifact from many networks within; default 10m
	ReplayNetworks   int           // replay: that many distinct networks; default 3
	// Policy, when set, fills the policy tables rules read (key scopes,
	// normal networks); nil leaves them empty.
	Policy *Policy
	// GapExpected is how many issuances the issuer must have been expected
	// to log in a silence for it to count as a gap in the ledger; default 20.
	GapExpected float64
}

// DefaultSettings are used for zero fields.
var DefaultSettings = Settings{
	MatchTolerance:   2 * time.Second,
	IDTimeTolerance:  60 * time.Second,
	LedgerGap:        30 * time.Minute,
	MaxTokenLifetime: 24 * time.Hour,
	GapExpected:      20,
	ReplayWindow:     10 * time.Minute,
	ReplayNetworks:   3,
}

func (s Settings) withDefaults() Settings {
	d := DefaultSettings
	if s.MatchTolerance > 0 {
		d.MatchTolerance = s.MatchTolerance
	}
	if s.IDTimeTolerance > 0 {
		d.IDTimeTolerance = s.IDTimeTolerance
	}
	if s.LedgerGap > 0 {
		d.LedgerGap = s.LedgerGap
	}
	if s.MaxTokenLifetime > 0 {
		d.MaxTokenLifetime = s.MaxTokenLifetime
	}
	if s.GapExpected > 0 {
		d.GapExpected = s.GapExpected
	}
	if s.ReplayWindow > 0 {
		d.ReplayWindow = s.ReplayWindow
	}
	if s.ReplayNetworks > 0 {
		d.ReplayNetworks = s.ReplayNetworks
	}
	d.Policy = s.Policy
	return d
}

// KeyWindow is the exposure window applied to exposed keys.
type KeyWindow struct {
	ExposedFrom time.Time // zero: unknown (exposed since forever)
	RevokedAt   time.Time // zero: not revoked
}

// SetKeys records the run's keys in the case. When the case already holds
// artifacts verified against another key set, they are verified again from
// the stored raw artifacts, so that findings always reflect the given keys.
func (c *Case) SetKeys(ctx context.Context, set []*keys.Key, win KeyWindow) error {
	prev, err := c.keyFingerprints(ctx)
	if err != nil {
		return err
	}
	tx, err := c.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM keys`); err != nil {
		return err
	}
	for _, k := range set {
		var from, revoked any
		if k.Role == keys.RoleExposed {
			from, revoked = nullTime(win.ExposedFrom), nullTime(win.RevokedAt)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.FP, nullStr(k.KID), k.Type, k.Bits, k.Role, from, revoked, nullStr(k.Label), k.Source); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if prev != "" && prev != fingerprintSet(set) {
		return c.reverify(ctx, set)
	}
	return nil
}

func fingerprintSet(set []*keys.Key) string {
	fps := make([]string, len(set))
	for i, k := range set {
		fps[i] = k.FP
	}
	sort.Strings(fps)
	return strings.Join(fps, ",")
}

func (c *Case) keyFingerprints(ctx context.Context) (string, error) {
	var s sql.NullString
	err := c.DB.QueryRowContext(ctx, `SELECT string_agg(key_fp, ',' ORDER BY key_fp) FROM keys`).Scan(&s)
	return s.String, err
}

// reverify verifies every stored raw artifact again with set.
func (c *Case) reverify(ctx context.Context, set []*keys.Key) error {
	rows, err := c.DB.QueryContext(ctx, `SELECT r.artifact_key, a.kind, r.raw FROM artifact_raw r JOIN artifacts a USING (artifact_key)`)
	if err != nil {
		return err
	}
	pool := newVerifierPool(set, 0)
	coll := &artifactCollector{}
	for rows.Next() {
		var key, kind, raw string
		if err := rows.Scan(&key, &kind, &raw); err != nil {
			rows.Close()
			pool.close()
			return err
		}
		pool.submit(verifyJob{key: key, kind: kind, raw: raw, out: coll})
	}
	rows.Close()
	done := coll.wait()
	pool.close()
	if err := rows.Err(); err != nil {
		return err
	}
	ld, err := c.newLoader(ctx)
	if err != nil {
		return err
	}
	if err := ld.exec(ctx, `DELETE FROM artifacts WHERE artifact_key IN (SELECT artifact_key FROM artifact_raw)`); err != nil {
		ld.rollback()
		return err
	}
	if err := ld.exec(ctx, `DELETE FROM artifact_raw`); err != nil {
		ld.rollback()
		return err
	}
	if len(done) > 0 {
		arts, raws := artifactBatches(done)
		if err := ld.insert(ctx, "artifacts", arts); err != nil {
			raws.Release()
			ld.rollback()
			return err
		}
		if err := ld.insert(ctx, "artifact_raw", raws); err != nil {
			ld.rollback()
			return err
		}
	}
	return ld.commit(ctx)
}

// RuleRun is the outcome of one rule.
type RuleRun struct {
	Rule     *rules.Rule
	Hits     int
	Skipped  string // why the rule did not run (no artifacts of its kind); "" when it ran
	Err      error  // the database's error when the rule could not run
	Duration time.Duration
}

// Analyze matches artifacts against the ledger, runs the rules and rebuilds
// the findings table, keeping analysts' triage marks. A rule that fails is
// reported in its RuleRun and the others still run; the returned error is for
// failures of the case itself.
func (c *Case) Analyze(ctx context.Context, ruleSet []*rules.Rule, st Settings) ([]RuleRun, error) {
	st = st.withDefaults()
	if _, err := c.DB.ExecContext(ctx, `CREATE OR REPLACE TABLE settings AS SELECT
		?::DOUBLE AS match_tolerance_s, ?::DOUBLE AS id_time_tolerance_s,
		?::DOUBLE AS ledger_gap_s, ?::DOUBLE AS max_lifetime_s, ?::DOUBLE AS gap_expected,
		?::DOUBLE AS replay_window_s, ?::INTEGER AS replay_networks`,
		st.MatchTolerance.Seconds(), st.IDTimeTolerance.Seconds(), st.LedgerGap.Seconds(), st.MaxTokenLifetime.Seconds(),
		st.GapExpected, st.ReplayWindow.Seconds(), st.ReplayNetworks); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	conn, err := c.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := writePolicyTables(ctx, conn, st.Policy); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	start := time.Now()
	if _, err := conn.ExecContext(ctx, matchSQL); err != nil {
		return nil, fmt.Errorf("matching artifacts to issuances: %w", err)
	}
	c.trace("match", start)
	start = time.Now()
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE rule_hits (
		rule_id VARCHAR, title VARCHAR, default_level VARCHAR, artifact_key VARCHAR,
		reason VARCHAR, level VARCHAR, coverage VARCHAR, evidence STRUCT(file VARCHAR, line BIGINT)[])`); err != nil {
		return nil, err
	}
	kinds := map[string]bool{}
	krows, err := conn.QueryContext(ctx, `SELECT DISTINCT kind FROM artifacts WHERE kind IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	for krows.Next() {
		var k string
		if err := krows.Scan(&k); err != nil {
			krows.Close()
			return nil, err
		}
		kinds[k] = true
	}
	krows.Close()
	if err := krows.Err(); err != nil {
		return nil, err
	}
	runs := make([]RuleRun, 0, len(ruleSet))
	for _, r := range ruleSet {
		if r.Kind != "" && r.Kind != "any" && !kinds[r.Kind] && len(kinds) > 0 {
			runs = append(runs, RuleRun{Rule: r, Skipped: "no " + r.Kind + " artifacts in the case"})
			continue
		}
		runs = append(runs, c.runRule(ctx, conn, r))
	}
	c.trace("rules", start)
	start = time.Now()
	if _, err := conn.ExecContext(ctx, `DELETE FROM rule_runs`); err != nil {
		return runs, err
	}
	for _, run := range runs {
		status, errText := "ok", ""
		switch {
		case run.Err != nil:
			status, errText = "error", run.Err.Error()
		case run.Skipped != "":
			status, errText = "skipped", run.Skipped
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO rule_runs VALUES (?, ?, ?, ?, ?, ?)`,
			run.Rule.ID, run.Rule.Source, status, run.Hits, nullStr(errText), run.Duration.Milliseconds()); err != nil {
			return runs, err
		}
	}
	if _, err := conn.ExecContext(ctx, findingsSQL); err != nil {
		return runs, fmt.Errorf("building findings: %w", err)
	}
	c.trace("findings", start)
	return runs, nil
}

// runRule runs one rule into rule_hits in a single INSERT, so that a
// failing rule leaves no partial hits.
func (c *Case) runRule(ctx context.Context, conn *sql.Conn, r *rules.Rule) (run RuleRun) {
	start := time.Now()
	run = RuleRun{Rule: r}
	defer func() { run.Duration = time.Since(start) }()
	q := strings.TrimRight(strings.TrimSpace(r.Query), ";")
	// Planned once for its output columns; a query that does not plan fails
	// below with the database's error.
	cols, _ := queryColumns(ctx, conn, q)
	// The rule's query is code from a rule file, not log data; it is wrapped,
	// never interpolated with values.
	wrapped := `INSERT INTO rule_hits SELECT ?, ?, ?, artifact_key::VARCHAR, reason::VARCHAR,
		CASE WHEN lvl IN ('informational','low','medium','high','critical') THEN lvl ELSE ? END, cov::VARCHAR,
		ev::STRUCT(file VARCHAR, line BIGINT)[]
		FROM (SELECT *, ` + optionalColumn(cols, "level") + ` AS lvl, ` + optionalColumn(cols, "coverage") + ` AS cov, ` +
		optionalColumn(cols, "evidence") + ` AS ev FROM (` + q + "\n" + `) rule_query)`
	res, err := conn.ExecContext(ctx, wrapped, r.ID, r.Title, r.Level, r.Level)
	if err != nil {
		run.Err = fmt.Errorf("%s: %w", r.Source, err)
		return run
	}
	n, _ := res.RowsAffected()
	run.Hits = int(n)
	return run
}

// queryColumns plans a rule query and returns its output columns.
func queryColumns(ctx context.Context, conn *sql.Conn, q string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT * FROM ("+q+"\n) LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// optionalColumn returns the expression that reads an optional output
// column of a rule query: the column when the query has it, else NULL.
func optionalColumn(cols []string, col string) string {
	for _, c := range cols {
		if strings.EqualFold(c, col) {
			return "rule_query." + quoteIdent(c)
		}
	}
	return "NULL"
}

const findingsSQL = `
DELETE FROM findings;
INSERT INTO findings
SELECT h.rule_id, h.level, h.title, a.kind, h.artifact_key, a.artifact_id, a.issuer, a.subject, a.signer_fp,
       st.first_seen, st.last_seen, coalesce(st.sightings, 0), coalesce(st.accepted, 0),
       coalesce(st.observers, []), coalesce(st.principals, []), coalesce(st.client_ips, []),
       h.reason || CASE WHEN coalesce(st.salvaged, 0) = 0 THEN ''
                        ELSE '; salvaged from ' || st.salvaged || ' rejected line(s) ('
                             || array_to_string(list_slice(st.salvage_reasons, 1, 3), '; ')
                             || CASE WHEN len(st.salvage_reasons) > 3 THEN '; …' ELSE '' END || ')'
                             || CASE WHEN st.ambiguous
                                     THEN ': ambiguous, the line carried several tokens or a duplicated key, so which one the verifier checked is unknown'
                                     ELSE '' END END,
       coalesce(h.coverage, m.coverage), coalesce(h.evidence, st.evidence, []),
       coalesce(t.status, 'open'), t.note, n.subject_name, coalesce(st.salvaged, 0), coalesce(st.ambiguous, false)
FROM (SELECT DISTINCT ON (rule_id, artifact_key) * FROM rule_hits ORDER BY rule_id, artifact_key, reason) h
LEFT JOIN artifacts a ON a.artifact_key = h.artifact_key
LEFT JOIN artifact_stats st ON st.artifact_key = h.artifact_key
LEFT JOIN matches m ON m.artifact_key = h.artifact_key
LEFT JOIN triage t ON t.rule_id = h.rule_id AND t.artifact_key = h.artifact_key
LEFT JOIN artifact_names n ON n.artifact_key = h.artifact_key;
`
