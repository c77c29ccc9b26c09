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
	"github.com/forgehunt/forgehunt/analyzer/kinds/x509kind"
	"github.com/forgehunt/forgehunt/rules"
)

//go:embed sql/match.sql
var matchSQL string

//go:embed sql/derive.sql
var deriveSQL string

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
	// MaxCertValidity is the longest validity a CA may give a certificate;
	// default 398 days (the CA/Browser Forum's limit for TLS server
	// certificates).
	MaxCertValidity time.Duration
	// IDLifetime is how long before its first use a credential known only
	// by its id may have been issued (the platforms' tokens and sessions
	// live an hour by default): an issuance log that begins later than
	// that before the first use may not hold it. Default 1h.
	IDLifetime time.Duration
	// SAMLLifetime is the longest lifetime the IdP gives a SAML token
	// (AD FS's relying party trusts default to 60 minutes). Default 1h.
	SAMLLifetime time.Duration
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
	MaxCertValidity:  398 * 24 * time.Hour,
	IDLifetime:       time.Hour,
	SAMLLifetime:     time.Hour,
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
	if s.IDLifetime > 0 {
		d.IDLifetime = s.IDLifetime
	}
	if s.MaxCertValidity > 0 {
		d.MaxCertValidity = s.MaxCertValidity
	}
	if s.SAMLLifetime > 0 {
		d.SAMLLifetime = s.SAMLLifetime
	}
	d.Policy = s.Policy
	return d
}

// KeyWindow is the exposure window applied to exposed keys.
type KeyWindow struct {
	ExposedFrom time.Time // zero: unknown (exposed since forever)
	RevokedAt   time.Time // zero: not revoked
	// ByKey are exposed keys' own windows, by fingerprint, over this one
	// (a config file that names when each key leaked).
	ByKey map[string]KeyWindow
}

// SetKeys records the run's keys in the case. When the case already holds
// artifacts verified against another key set, they are verified again from
// the stored raw artifacts, so that findings always reflect the given keys.
func (c *Case) SetKeys(ctx context.Context, set []*keys.Key, win KeyWindow) error {
	c.keys = set
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
			w := win
			if kw, ok := win.ByKey[k.FP]; ok {
				w = kw
			}
			from, revoked = nullTime(w.ExposedFrom), nullTime(w.RevokedAt)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.FP, nullStr(k.KID), k.Type, k.Bits, k.Role, from, revoked, nullStr(k.Label), k.Source,
			nullStr(x509kind.SubjectDN(k))); err != nil {
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
	conn, err := c.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = c.verifyStored(ctx, conn, set, c.Verify,
		`SELECT r.artifact_key, a.kind, r.raw FROM artifact_raw r JOIN artifacts a USING (artifact_key)`)
	return err
}

// settle verifies against every key the artifacts whose checks
// VerifyNeeded deferred (sig_status not-checked) and that where selects (a
// condition on artifacts a and matches m), and writes their verdicts. It
// returns how many it settled.
// Without the keys (a case reopened, not given them again) nothing is
// settled: the artifacts stay not-checked, as stored.
func (c *Case) settle(ctx context.Context, conn *sql.Conn, where string) (int, error) {
	if len(c.keys) == 0 {
		return 0, nil
	}
	return c.verifyStored(ctx, conn, c.keys, VerifyAll, `SELECT a.artifact_key, a.kind, r.raw
		FROM artifacts a JOIN artifact_raw r USING (artifact_key) LEFT JOIN matches m USING (artifact_key)
		WHERE a.sig_status = '`+SigNotChecked+`' AND (`+where+`)`)
}

// verifyStored verifies again, with set and mode, the stored artifacts that
// query yields (artifact_key, kind, raw), and writes what a key set
// changes of them: status, signer, note and flags (what was decoded stays).
// It returns how many it verified.
func (c *Case) verifyStored(ctx context.Context, conn *sql.Conn, set []*keys.Key, mode VerifyMode, query string) (int, error) {
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return 0, err
	}
	pool := newVerifierPool(set, mode, 0)
	coll := &artifactCollector{}
	for rows.Next() {
		j := verifyJob{out: coll}
		if err = rows.Scan(&j.key, &j.kind, &j.raw); err != nil {
			break
		}
		pool.submit(j)
	}
	rows.Close()
	done := coll.all()
	pool.close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil || len(done) == 0 {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE verified AS SELECT * FROM artifacts LIMIT 0`); err != nil {
		return 0, err
	}
	if err := (&loader{conn: conn}).insert(ctx, "verified", artifactBatch(done)); err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, `UPDATE artifacts SET sig_status = v.sig_status, signer_fp = v.signer_fp,
		verify_note = v.verify_note, sig_flags = v.sig_flags
		FROM verified v WHERE artifacts.artifact_key = v.artifact_key`); err != nil {
		return 0, err
	}
	_, err = conn.ExecContext(ctx, `DROP TABLE verified`)
	return len(done), err
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
		?::DOUBLE AS replay_window_s, ?::INTEGER AS replay_networks, ?::DOUBLE AS max_cert_validity_s,
		?::DOUBLE AS id_lifetime_s, ?::DOUBLE AS saml_lifetime_s`,
		st.MatchTolerance.Seconds(), st.IDTimeTolerance.Seconds(), st.LedgerGap.Seconds(), st.MaxTokenLifetime.Seconds(),
		st.GapExpected, st.ReplayWindow.Seconds(), st.ReplayNetworks, st.MaxCertValidity.Seconds(),
		st.IDLifetime.Seconds(), st.SAMLLifetime.Seconds()); err != nil {
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
	if err := writeKindsTable(ctx, conn); err != nil {
		return nil, fmt.Errorf("artifact kinds: %w", err)
	}
	start := time.Now()
	if _, err := conn.ExecContext(ctx, matchAllSQL); err != nil {
		return nil, fmt.Errorf("matching artifacts to issuances: %w", err)
	}
	c.trace("match", start)
	start = time.Now()
	// The trusted-key checks deferred at ingest, where a finding may depend
	// on them: artifacts the ledger does not account for, and those that
	// share an id with an exposed-key artifact (a re-signed copy of a
	// legitimate token is told from its original by its signer).
	if _, err := c.settle(ctx, conn, `coalesce(m.match_type, 'none') NOT IN ('raw', 'id')
		OR EXISTS (SELECT 1 FROM artifacts e JOIN keys k ON k.key_fp = e.signer_fp AND k.role = 'exposed'
		           WHERE e.sig_status = 'valid' AND e.kind = a.kind AND e.artifact_id = a.artifact_id)`); err != nil {
		return nil, fmt.Errorf("verifying against the trusted keys: %w", err)
	}
	c.trace("verify deferred", start)
	start = time.Now()
	if _, err := conn.ExecContext(ctx, deriveSQL); err != nil {
		return nil, fmt.Errorf("following derived credentials: %w", err)
	}
	c.trace("derive", start)
	start = time.Now()
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
	runAll := func() ([]RuleRun, error) {
		if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE rule_hits (
			rule_id VARCHAR, title VARCHAR, default_level VARCHAR, artifact_key VARCHAR,
			reason VARCHAR, level VARCHAR, coverage VARCHAR, evidence STRUCT(file VARCHAR, line BIGINT)[])`); err != nil {
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
		return runs, nil
	}
	runs, err := runAll()
	if err != nil {
		return nil, err
	}
	// A rule that hit an artifact whose trusted-key checks were deferred
	// (a rule of the analyst's that does not ask for an exposed signer):
	// settle them and run the rules again, so that no rule ever judged a
	// status that was not final.
	for {
		n, err := c.settle(ctx, conn, `a.artifact_key IN (SELECT artifact_key FROM rule_hits)`)
		if err != nil {
			return nil, fmt.Errorf("verifying against the trusted keys: %w", err)
		}
		if n == 0 {
			break
		}
		if runs, err = runAll(); err != nil {
			return nil, err
		}
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

// runRule runs one rule: its query once, into a temporary table (so that
// it is planned once and its output columns are known), then into
// rule_hits in a single INSERT, so that a failing rule leaves no partial
// hits.
func (c *Case) runRule(ctx context.Context, conn *sql.Conn, r *rules.Rule) (run RuleRun) {
	start := time.Now()
	run = RuleRun{Rule: r}
	defer func() { run.Duration = time.Since(start) }()
	q := strings.TrimRight(strings.TrimSpace(r.Query), ";")
	// The rule's query is code from a rule file, not log data; it is wrapped,
	// never interpolated with values.
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE rule_out AS\n"+q+"\n"); err != nil {
		run.Err = fmt.Errorf("%s: %w", r.Source, err)
		return run
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS rule_out")
	cols, err := queryColumns(ctx, conn, "SELECT * FROM rule_out")
	if err != nil {
		run.Err = fmt.Errorf("%s: %w", r.Source, err)
		return run
	}
	wrapped := `INSERT INTO rule_hits SELECT ?, ?, ?, artifact_key::VARCHAR, reason::VARCHAR,
		CASE WHEN lvl IN ('informational','low','medium','high','critical') THEN lvl ELSE ? END, cov::VARCHAR,
		ev::STRUCT(file VARCHAR, line BIGINT)[]
		FROM (SELECT *, ` + optionalColumn(cols, "level") + ` AS lvl, ` + optionalColumn(cols, "coverage") + ` AS cov, ` +
		optionalColumn(cols, "evidence") + ` AS ev FROM rule_out rule_query)`
	res, err := conn.ExecContext(ctx, wrapped, r.ID, r.Title, r.Level, r.Level)
	if err != nil {
		run.Err = fmt.Errorf("%s: %w", r.Source, err)
		return run
	}
	n, _ := res.RowsAffected()
	run.Hits = int(n)
	return run
}

// queryColumns plans a query and returns its output columns.
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

// artifactListsSQL is the query of the lists behind an artifact's findings
// (who saw it, as whom, from where, its first 20 sightings in time) over
// the sightings that pass where. They are costly for every artifact of a
// large case (ordered distinct lists), so they are computed when read: the
// view artifact_lists for rules and people, and for the artifacts with hits
// only when findings are built (the filter is applied before grouping: the
// planner does not push it through the view).
func artifactListsSQL(where string) string {
	return `SELECT s.artifact_key,
       list(DISTINCT s.observer ORDER BY s.observer) FILTER (WHERE s.observer IS NOT NULL) AS observers,
       list(DISTINCT coalesce(s.principal, n.subject_name, a.subject) ORDER BY coalesce(s.principal, n.subject_name, a.subject))
           FILTER (WHERE coalesce(s.principal, n.subject_name, a.subject) IS NOT NULL) AS principals,
       list(DISTINCT s.client_ip ORDER BY s.client_ip) FILTER (WHERE s.client_ip IS NOT NULL) AS client_ips,
       -- min_by with n is much cheaper than sorting every sighting into a list
       min_by({'file': s.src_file, 'line': s.src_line},
              (coalesce(s.observed_at, '9999-12-31'::TIMESTAMP), s.src_file, s.src_line), 20) AS evidence
FROM sightings s LEFT JOIN artifacts a USING (artifact_key)
LEFT JOIN artifact_names n USING (artifact_key)
` + where + `
GROUP BY s.artifact_key`
}

// matchAllSQL is match.sql and the artifact_lists view.
var matchAllSQL = matchSQL + "\nCREATE OR REPLACE VIEW artifact_lists AS\n" + artifactListsSQL("") + ";\n"

// findingsSQL rebuilds the findings from rule_hits.
var findingsSQL = `
CREATE OR REPLACE TEMP TABLE hit_lists AS
` + artifactListsSQL("WHERE s.artifact_key IN (SELECT artifact_key FROM rule_hits)") + `;
DELETE FROM findings;
INSERT INTO findings
-- (a finding on a credential no log shows, a derived token never used, is
-- keyed <kind>::<id>: its kind and id are read from the key)
SELECT h.rule_id, h.level, h.title,
       coalesce(a.kind, CASE WHEN contains(h.artifact_key, '::') THEN split_part(h.artifact_key, '::', 1) END), h.artifact_key,
       coalesce(a.artifact_id, CASE WHEN contains(h.artifact_key, '::') THEN substr(h.artifact_key, strpos(h.artifact_key, '::') + 2) END),
       a.issuer, coalesce(a.subject, d.child_subject, d.subject), a.signer_fp,
       st.first_seen, st.last_seen, coalesce(st.sightings, 0), coalesce(st.accepted, 0),
       coalesce(hl.observers, []), coalesce(hl.principals, []), coalesce(hl.client_ips, []),
       h.reason || CASE WHEN coalesce(st.salvaged, 0) = 0 THEN ''
                        ELSE '; salvaged from ' || st.salvaged || ' rejected line(s) ('
                             || array_to_string(list_slice(st.salvage_reasons, 1, 3), '; ')
                             || CASE WHEN len(st.salvage_reasons) > 3 THEN '; …' ELSE '' END || ')'
                             || CASE WHEN st.ambiguous
                                     THEN ': ambiguous, the line carried several tokens or a duplicated key, so which one the verifier checked is unknown'
                                     ELSE '' END END,
       coalesce(h.coverage, m.coverage), coalesce(h.evidence, hl.evidence, []),
       coalesce(t.status, 'open'), t.note, n.subject_name, coalesce(st.salvaged, 0), coalesce(st.ambiguous, false),
       a.names
FROM (SELECT DISTINCT ON (rule_id, artifact_key) * FROM rule_hits ORDER BY rule_id, artifact_key, reason) h
LEFT JOIN artifacts a ON a.artifact_key = h.artifact_key
LEFT JOIN artifact_stats st ON st.artifact_key = h.artifact_key
LEFT JOIN hit_lists hl ON hl.artifact_key = h.artifact_key
LEFT JOIN matches m ON m.artifact_key = h.artifact_key
LEFT JOIN triage t ON t.rule_id = h.rule_id AND t.artifact_key = h.artifact_key
LEFT JOIN artifact_names n ON n.artifact_key = h.artifact_key
LEFT JOIN (SELECT DISTINCT ON (key) * FROM derived) d ON d.key = h.artifact_key AND a.artifact_key IS NULL;
`
