package tui

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/forgehunt/forgehunt/analyzer"
)

// Every query runs inside a tea.Cmd and comes back as one of these messages;
// Update never touches the database.

// findingID names one finding: a rule's hit on an artifact.
type findingID struct{ rule, key string }

func idOf(f analyzer.Finding) findingID { return findingID{f.RuleID, f.ArtifactKey} }

type findingsMsg struct {
	findings []analyzer.Finding
	err      error
}

type detailMsg struct {
	id     findingID
	detail *detailData
	err    error
}

type timelineMsg struct {
	key  string
	rows []sightingRow
	err  error
}

type blastMsg struct {
	blast *blastData
	err   error
}

type summaryMsg struct {
	summary *summaryData
	err     error
}

type triageMsg struct {
	id           findingID
	status, note string
	what         string // the status bar message on success
	err          error
}

// queryTimeout bounds one query so that a runaway query cannot leave the
// screen saying "loading…" forever.
const queryTimeout = 2 * time.Minute

func loadFindings(ctx context.Context, c *analyzer.Case) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, queryTimeout)
		defer cancel()
		fs, err := c.Findings(ctx, "")
		if err != nil {
			err = fmt.Errorf("loading findings: %w", err)
		}
		return findingsMsg{findings: fs, err: err}
	}
}

func setTriage(ctx context.Context, c *analyzer.Case, id findingID, status, note, what string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, queryTimeout)
		defer cancel()
		err := c.SetTriage(ctx, id.rule, id.key, status, note)
		if err != nil {
			err = fmt.Errorf("saving triage mark: %w", err)
		}
		return triageMsg{id: id, status: status, note: note, what: what, err: err}
	}
}

// keyRow is one row of the keys table.
type keyRow struct {
	fp, kid, keyType, role, label, source string
	bits                                  int64
	exposedFrom, revokedAt                sql.NullTime
}

// matchRow is the artifact's row of the matches table.
type matchRow struct {
	matchType, file, conflict, coverage, coverageNote string
	line                                              sql.NullInt64
}

// statsRow is the artifact's row of artifact_stats.
type statsRow struct {
	sightings, accepted         int64
	firstAccepted, lastAccepted sql.NullTime
	// salvaged sightings (from lines the format rejected) and why
	salvaged       int64
	ambiguous      bool
	salvageReasons []string
}

// otherFinding is another rule's hit on the same artifact.
type otherFinding struct {
	rule, level, status, reason string
}

// detailData is everything the detail view shows about one finding's
// artifact. Parts that could not be read are nil and say so in errs.
type detailData struct {
	artifact *analyzer.Artifact
	signer   *keyRow
	match    *matchRow
	stats    *statsRow
	others   []otherFinding
	// derived is the tree of credentials derived from the artifact
	// (depth first); from, what it was derived from, when it is derived
	derived []derivedNode
	from    []derivedNode
	errs    []string
}

// derivedNode is a credential derived from another (a token exchanged, an
// STS session), as the derived table of the case records it.
type derivedNode struct {
	key, kind, id, relation, taint, actor string
	uses                                  int64
	depth                                 int
}

func loadDetail(ctx context.Context, c *analyzer.Case, id findingID) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, queryTimeout)
		defer cancel()
		d, err := queryDetail(ctx, c, id)
		return detailMsg{id: id, detail: d, err: err}
	}
}

// queryDetail reads the artifact behind id. A missing optional table
// (matches before the first analysis) is noted, not fatal.
func queryDetail(ctx context.Context, c *analyzer.Case, id findingID) (*detailData, error) {
	d := &detailData{}
	db := c.DB
	a, err := c.Artifact(ctx, id.key)
	switch {
	case err != nil:
		return nil, err
	case a == nil:
		d.errs = append(d.errs, "the artifact is not in the artifacts table")
	default:
		d.artifact = a
	}
	if d.artifact != nil && d.artifact.SignerFP != "" {
		var k keyRow
		var kid, typ, role, label, src sql.NullString
		var bits sql.NullInt64
		err := db.QueryRowContext(ctx, `
			SELECT key_fp, kid, key_type, bits, role, exposed_from, revoked_at, label, source
			FROM keys WHERE key_fp = ? LIMIT 1`, d.artifact.SignerFP).Scan(
			&k.fp, &kid, &typ, &bits, &role, &k.exposedFrom, &k.revokedAt, &label, &src)
		switch {
		case err == sql.ErrNoRows:
			d.errs = append(d.errs, "the signing key is no longer in the case's key set")
		case err != nil:
			d.errs = append(d.errs, "signing key: "+err.Error())
		default:
			k.kid, k.keyType, k.role, k.label, k.source, k.bits = kid.String, typ.String, role.String, label.String, src.String, bits.Int64
			d.signer = &k
		}
	}

	var m matchRow
	var mt, mf, conflict, cov, covNote sql.NullString
	err = db.QueryRowContext(ctx, `
		SELECT match_type, match_file, match_line, conflict, coverage, coverage_note
		FROM matches WHERE artifact_key = ? LIMIT 1`, id.key).Scan(&mt, &mf, &m.line, &conflict, &cov, &covNote)
	switch {
	case err == sql.ErrNoRows:
		d.errs = append(d.errs, "no match attempt recorded for this artifact")
	case err != nil:
		d.errs = append(d.errs, "match attempt unavailable (run the analysis): "+err.Error())
	default:
		m.matchType, m.file, m.conflict, m.coverage, m.coverageNote = mt.String, mf.String, conflict.String, cov.String, covNote.String
		d.match = &m
	}

	var st statsRow
	var reasons any
	err = db.QueryRowContext(ctx, `
		SELECT sightings, accepted, first_accepted, last_accepted, coalesce(salvaged, 0), coalesce(ambiguous, false),
		       coalesce(salvage_reasons, [])
		FROM artifact_stats WHERE artifact_key = ? LIMIT 1`, id.key).Scan(&st.sightings, &st.accepted, &st.firstAccepted, &st.lastAccepted,
		&st.salvaged, &st.ambiguous, &reasons)
	st.salvageReasons = anyStrings(reasons)
	if err == nil {
		d.stats = &st
	} else if err != sql.ErrNoRows {
		d.errs = append(d.errs, "sighting statistics unavailable: "+err.Error())
	}

	d.derived, d.from = queryDerived(ctx, db, id.key)

	rows, err := db.QueryContext(ctx, `
		SELECT rule_id, level, status, reason FROM findings
		WHERE artifact_key = ? AND rule_id <> ?
		ORDER BY rule_id`, id.key, id.rule)
	if err != nil {
		return nil, fmt.Errorf("reading other findings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o otherFinding
		var lvl, status, reason sql.NullString
		if err := rows.Scan(&o.rule, &lvl, &status, &reason); err != nil {
			return nil, fmt.Errorf("reading other findings: %w", err)
		}
		o.level, o.status, o.reason = lvl.String, status.String, reason.String
		d.others = append(d.others, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading other findings: %w", err)
	}
	return d, nil
}

// sightingRow is one presentation of an artifact.
type sightingRow struct {
	observedAt                                                sql.NullTime
	observer, principal, clientIP, action, outcome, userAgent string
	srcFile                                                   string
	srcLine                                                   int64
}

// maxTimelineRows bounds one artifact's timeline; a replayed token can be
// seen millions of times and the screen needs only the first of them.
const maxTimelineRows = 5000

func loadTimeline(ctx context.Context, c *analyzer.Case, key string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, queryTimeout)
		defer cancel()
		rows, err := queryTimeline(ctx, c.DB, key)
		return timelineMsg{key: key, rows: rows, err: err}
	}
}

func queryTimeline(ctx context.Context, db *sql.DB, key string) ([]sightingRow, error) {
	rows, err := db.QueryContext(ctx, `
		SELECT observed_at, observer, principal, client_ip, action, outcome, user_agent, src_file, src_line
		FROM sightings WHERE artifact_key = ?
		ORDER BY observed_at NULLS LAST, src_file, src_line
		LIMIT ?`, key, maxTimelineRows)
	if err != nil {
		return nil, fmt.Errorf("reading sightings: %w", err)
	}
	defer rows.Close()
	var out []sightingRow
	for rows.Next() {
		var s sightingRow
		var obs, pr, ip, act, outc, ua, file sql.NullString
		var line sql.NullInt64
		if err := rows.Scan(&s.observedAt, &obs, &pr, &ip, &act, &outc, &ua, &file, &line); err != nil {
			return nil, fmt.Errorf("reading sightings: %w", err)
		}
		s.observer, s.principal, s.clientIP, s.action, s.outcome, s.userAgent = obs.String, pr.String, ip.String, act.String, outc.String, ua.String
		s.srcFile, s.srcLine = file.String, line.Int64
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading sightings: %w", err)
	}
	return out, nil
}

// blastRow is the reach of flagged artifacts at one observer, principal or
// client address.
type blastRow struct {
	name                         string
	artifacts, acceptedArtifacts int64
	sightings, acceptedSightings int64
	firstAccepted, lastAccepted  sql.NullTime
}

// blastData is the blast radius: where the flagged artifacts were accepted.
type blastData struct {
	flagged                          int64 // distinct flagged artifacts
	observers, principals, clientIPs []blastRow
}

// flaggedSQL selects the artifacts that count toward the blast radius:
// those with a high or critical finding not marked benign, or any finding
// marked forged by the analyst.
const flaggedSQL = `SELECT DISTINCT artifact_key FROM findings
	WHERE (level IN ('high', 'critical') AND status <> 'benign') OR status = 'forged'`

// blastLimit bounds each blast radius section.
const blastLimit = 200

func loadBlast(ctx context.Context, c *analyzer.Case) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, queryTimeout)
		defer cancel()
		b, err := queryBlast(ctx, c.DB)
		return blastMsg{blast: b, err: err}
	}
}

func queryBlast(ctx context.Context, db *sql.DB) (*blastData, error) {
	b := &blastData{}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (`+flaggedSQL+`)`).Scan(&b.flagged); err != nil {
		return nil, fmt.Errorf("blast radius: %w", err)
	}
	// The grouping expressions are constants of this package, never input.
	groups := []struct {
		expr string
		dst  *[]blastRow
	}{
		{"s.observer", &b.observers},
		{"coalesce(s.principal, n.subject_name, a.subject)", &b.principals},
		{"s.client_ip", &b.clientIPs},
	}
	for _, g := range groups {
		rows, err := db.QueryContext(ctx, `
			SELECT coalesce(`+g.expr+`, '') AS name,
			       count(DISTINCT s.artifact_key),
			       count(DISTINCT s.artifact_key) FILTER (WHERE s.outcome = 'accepted'),
			       count(*),
			       count(*) FILTER (WHERE s.outcome = 'accepted'),
			       min(s.observed_at) FILTER (WHERE s.outcome = 'accepted'),
			       max(s.observed_at) FILTER (WHERE s.outcome = 'accepted')
			FROM sightings s
			JOIN (`+flaggedSQL+`) f ON f.artifact_key = s.artifact_key
			LEFT JOIN artifacts a ON a.artifact_key = s.artifact_key
			LEFT JOIN artifact_names n ON n.artifact_key = s.artifact_key
			GROUP BY 1
			ORDER BY 3 DESC, 5 DESC, 4 DESC, 1
			LIMIT ?`, blastLimit)
		if err != nil {
			return nil, fmt.Errorf("blast radius: %w", err)
		}
		for rows.Next() {
			var r blastRow
			if err := rows.Scan(&r.name, &r.artifacts, &r.acceptedArtifacts, &r.sightings, &r.acceptedSightings,
				&r.firstAccepted, &r.lastAccepted); err != nil {
				rows.Close()
				return nil, fmt.Errorf("blast radius: %w", err)
			}
			*g.dst = append(*g.dst, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("blast radius: %w", err)
		}
	}
	return b, nil
}

// sourceRow is one ingested file.
type sourceRow struct {
	path, format, compression, status, err string
	records, rejects                       int64
}

// countRow is a labelled count (reject reasons, sig statuses).
type countRow struct {
	label string
	n     int64
}

// ruleRunRow is one rule's last run.
type ruleRunRow struct {
	id, status, err string
	hits, millis    int64
}

// summaryData describes the case as a whole.
type summaryData struct {
	keys                            []keyRow
	sources                         []sourceRow
	rejects                         int64
	rejectReasons                   []countRow
	sigStatuses                     []countRow
	ruleRuns                        []ruleRunRow
	artifacts, sightings, issuances int64
	errs                            []string
}

func loadSummary(ctx context.Context, c *analyzer.Case) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, queryTimeout)
		defer cancel()
		s, err := querySummary(ctx, c.DB)
		return summaryMsg{summary: s, err: err}
	}
}

// maxSummaryRows bounds each summary list.
const maxSummaryRows = 500

func querySummary(ctx context.Context, db *sql.DB) (*summaryData, error) {
	s := &summaryData{}
	note := func(what string, err error) { s.errs = append(s.errs, what+": "+err.Error()) }

	if err := db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM artifacts), (SELECT count(*) FROM sightings),
		(SELECT count(*) FROM issuances), (SELECT count(*) FROM rejects)`).Scan(
		&s.artifacts, &s.sightings, &s.issuances, &s.rejects); err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}

	err := eachRow(ctx, db, `SELECT key_fp, kid, key_type, bits, role, exposed_from, revoked_at, label, source
		FROM keys ORDER BY role, kid, key_fp LIMIT ?`, func(r *sql.Rows) error {
		var k keyRow
		var fp, kid, typ, role, label, src sql.NullString
		var bits sql.NullInt64
		if err := r.Scan(&fp, &kid, &typ, &bits, &role, &k.exposedFrom, &k.revokedAt, &label, &src); err != nil {
			return err
		}
		k.fp, k.kid, k.keyType, k.role, k.label, k.source, k.bits = fp.String, kid.String, typ.String, role.String, label.String, src.String, bits.Int64
		s.keys = append(s.keys, k)
		return nil
	})
	if err != nil {
		note("keys", err)
	}

	err = eachRow(ctx, db, `SELECT path, format, compression, records, rejects, status, error
		FROM sources ORDER BY path LIMIT ?`, func(r *sql.Rows) error {
		var src sourceRow
		var path, format, comp, status, e sql.NullString
		var recs, rejs sql.NullInt64
		if err := r.Scan(&path, &format, &comp, &recs, &rejs, &status, &e); err != nil {
			return err
		}
		src.path, src.format, src.compression, src.status, src.err = path.String, format.String, comp.String, status.String, e.String
		src.records, src.rejects = recs.Int64, rejs.Int64
		s.sources = append(s.sources, src)
		return nil
	})
	if err != nil {
		note("sources", err)
	}

	if err := eachRow(ctx, db, `SELECT coalesce(reason, ''), count(*) FROM rejects
		GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT least(?, 10)`, countInto(&s.rejectReasons)); err != nil {
		note("rejects", err)
	}
	if err := eachRow(ctx, db, `SELECT coalesce(sig_status, ''), count(*) FROM artifacts
		GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?`, countInto(&s.sigStatuses)); err != nil {
		note("artifacts", err)
	}

	err = eachRow(ctx, db, `SELECT rule_id, status, hits, error, millis FROM rule_runs
		ORDER BY status <> 'ok' DESC, rule_id LIMIT ?`, func(r *sql.Rows) error {
		var rr ruleRunRow
		var id, status, e sql.NullString
		var hits, millis sql.NullInt64
		if err := r.Scan(&id, &status, &hits, &e, &millis); err != nil {
			return err
		}
		rr.id, rr.status, rr.err, rr.hits, rr.millis = id.String, status.String, e.String, hits.Int64, millis.Int64
		s.ruleRuns = append(s.ruleRuns, rr)
		return nil
	})
	if err != nil {
		note("rule runs", err)
	}
	return s, nil
}

// eachRow runs q with the row limit as its only parameter and calls fn per row.
func eachRow(ctx context.Context, db *sql.DB, q string, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q, maxSummaryRows)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func countInto(dst *[]countRow) func(*sql.Rows) error {
	return func(r *sql.Rows) error {
		var c countRow
		if err := r.Scan(&c.label, &c.n); err != nil {
			return err
		}
		*dst = append(*dst, c)
		return nil
	}
}

// anyStrings is a DuckDB VARCHAR[] as scanned into an any.
func anyStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// queryDerived reads the credentials derived from key, down the tree, and
// what key itself was derived from. A case analyzed before derivations
// existed has no derived table: nothing.
func queryDerived(ctx context.Context, db *sql.DB, key string) (tree, from []derivedNode) {
	read := func(q string, args ...any) []derivedNode {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil
		}
		defer rows.Close()
		var out []derivedNode
		for rows.Next() {
			var n derivedNode
			var actor sql.NullString
			if rows.Scan(&n.key, &n.kind, &n.id, &n.relation, &n.taint, &actor, &n.uses, &n.depth) != nil {
				return out
			}
			n.actor = actor.String
			out = append(out, n)
		}
		return out
	}
	tree = read(`
		WITH RECURSIVE t(key, child_key, depth, path) AS (
		    SELECT key, child_key, 1, [key] FROM derived WHERE list_contains(parents, ?)
		    UNION ALL
		    SELECT d.key, d.child_key, t.depth + 1, list_append(t.path, d.key)
		    FROM t JOIN derived d ON t.child_key IS NOT NULL AND list_contains(d.parents, t.child_key)
		    WHERE t.depth < 5 AND NOT list_contains(t.path, d.key)
		)
		SELECT d.key, d.child_kind, d.child_id, d.relation, d.taint, d.actor, d.uses, t.depth
		FROM t JOIN derived d USING (key)
		ORDER BY t.path`, key)
	from = read(`
		SELECT coalesce(p.artifact_key, x.p), coalesce(p.kind, ''), coalesce(p.artifact_id, x.p), d.relation, d.taint, d.actor, 0, 1
		FROM derived d, unnest(d.parents) AS x(p)
		LEFT JOIN artifacts p ON p.artifact_key = x.p
		WHERE d.key = ?`, key)
	return tree, from
}
