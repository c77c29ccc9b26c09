package analyzer

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/rules"
)

// Evidence points at a log line.
type Evidence struct {
	File string `json:"file"`
	Line int64  `json:"line"`
}

// Finding is one rule hit on one artifact. Its JSON form is forgehunt's
// stable machine interface (hunt --format jsonl): fields are added, never
// renamed or removed.
type Finding struct {
	RuleID      string     `json:"rule_id"`
	Level       string     `json:"level"`
	Title       string     `json:"title"`
	Kind        string     `json:"kind"`
	ArtifactKey string     `json:"artifact_key"`
	ArtifactID  string     `json:"artifact_id"`
	Issuer      string     `json:"issuer"`
	Subject     string     `json:"subject"`
	SubjectName string     `json:"subject_name,omitempty"` // preferred_username, upn or email`
	SignerFP    string     `json:"signer_fp"`
	FirstSeen   *time.Time `json:"first_seen"`
	LastSeen    *time.Time `json:"last_seen"`
	Sightings   int64      `json:"sightings"`
	Accepted    int64      `json:"accepted"`
	Observers   []string   `json:"observers"`
	Principals  []string   `json:"principals"`
	ClientIPs   []string   `json:"client_ips"`
	Reason      string     `json:"reason"`
	Coverage    string     `json:"coverage"`
	Evidence    []Evidence `json:"evidence"`
	Status      string     `json:"status"`
	Note        string     `json:"note,omitempty"`
	// Salvaged counts the sightings that rest on lines the format rejected
	// (a NUL byte in a user agent, a duplicated authorization key): the
	// token was hunted from the raw line. Ambiguous says such a line carried
	// several tokens or a duplicated key.
	Salvaged  int64 `json:"salvaged"`
	Ambiguous bool  `json:"ambiguous"`
	// Names are what the artifact is for beyond its subject: a
	// certificate's DNS names, addresses and URIs.
	Names []string `json:"names,omitempty"`
	// Details are the artifact in its kind's own terms (kinds.Kind.Fields:
	// a token's claims, a certificate's serial and issuer, a signature's
	// digest, subjects and signer) and, for artifacts found in
	// transparency logs, the first log entries that hold it.
	Details []kinds.Field `json:"details,omitempty"`
}

// Findings returns the findings at or above minLevel ("" for all), most
// severe first, then by first sighting.
func (c *Case) Findings(ctx context.Context, minLevel string) ([]Finding, error) {
	floor := 0
	if minLevel != "" {
		if floor = rules.LevelRank(minLevel); floor < 0 {
			return nil, fmt.Errorf("unknown level %q", minLevel)
		}
	}
	// The levels are the rules' constants, written into the query as
	// literals; the findings are read as Arrow columns (a busy finding has
	// lists of observers, addresses and evidence, which database/sql would
	// convert value by value).
	levels := make([]string, len(rules.Levels))
	for i, l := range rules.Levels {
		levels[i] = quoteLiteral(l)
	}
	rank := "list_position([" + strings.Join(levels, ", ") + "], level)"
	q := `SELECT rule_id, level, title, kind, artifact_key, artifact_id, issuer, subject, signer_fp,
		       first_seen, last_seen, sightings, accepted, observers, principals, client_ips,
		       reason, coverage, evidence, status, note, subject_name, salvaged, ambiguous, names
		FROM findings
		WHERE ` + rank + ` - 1 >= ` + strconv.Itoa(floor) + `
		ORDER BY ` + rank + ` DESC, first_seen NULLS LAST, rule_id, artifact_key`
	var out []Finding
	err := c.queryArrow(ctx, q, func(rec arrow.RecordBatch) error {
		cols := &arrowCols{rec: rec}
		ruleID, level, title, kind, key := cols.strings("rule_id"), cols.strings("level"), cols.strings("title"), cols.strings("kind"), cols.strings("artifact_key")
		id, iss, sub, fp := cols.strings("artifact_id"), cols.strings("issuer"), cols.strings("subject"), cols.strings("signer_fp")
		first, last := cols.times("first_seen"), cols.times("last_seen")
		sightings, accepted, salvaged := cols.ints("sightings"), cols.ints("accepted"), cols.ints("salvaged")
		observers, principals, ips, names := cols.stringLists("observers"), cols.stringLists("principals"), cols.stringLists("client_ips"), cols.stringLists("names")
		reason, cov, status, note, name := cols.strings("reason"), cols.strings("coverage"), cols.strings("status"), cols.strings("note"), cols.strings("subject_name")
		evidence, ambiguous := cols.evidenceLists("evidence"), cols.bools("ambiguous")
		if cols.err != nil {
			return fmt.Errorf("reading findings: %w", cols.err)
		}
		for i := range int(rec.NumRows()) {
			f := Finding{
				RuleID: ruleID(i), Level: level(i), Title: title(i), Kind: kind(i), ArtifactKey: key(i),
				ArtifactID: id(i), Issuer: iss(i), Subject: sub(i), SubjectName: name(i), SignerFP: fp(i),
				FirstSeen: first(i), LastSeen: last(i), Sightings: sightings(i), Accepted: accepted(i),
				Observers: observers(i), Principals: principals(i), ClientIPs: ips(i),
				Reason: reason(i), Coverage: cov(i), Evidence: evidence(i), Status: status(i), Note: note(i),
				Salvaged: salvaged(i), Ambiguous: ambiguous(i),
			}
			if ns := names(i); len(ns) > 0 {
				f.Names = ns
			}
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, c.addDetails(ctx, out)
}

// addDetails fills each finding's Details from its artifact and the log
// entries that hold it: two scans, whatever the number of findings.
func (c *Case) addDetails(ctx context.Context, fs []Finding) error {
	if len(fs) == 0 {
		return nil
	}
	arts, err := c.findingArtifacts(ctx)
	if err != nil {
		return err
	}
	logged, err := c.logEntries(ctx)
	if err != nil {
		return err
	}
	for i := range fs {
		key := fs[i].ArtifactKey
		var d []kinds.Field
		if a := arts[key]; a != nil {
			d = a.Fields
		}
		fs[i].Details = append(d[:len(d):len(d)], logged[key]...)
	}
	return nil
}

// logEntries are, for each artifact with findings, the first entries of
// transparency logs (CT, Rekor) that hold it: the log, its index and its
// time. One scan of the log sightings, whatever the number of findings.
func (c *Case) logEntries(ctx context.Context) (map[string][]kinds.Field, error) {
	rows, err := c.DB.QueryContext(ctx, `
		SELECT artifact_key, observer, json_extract_string(attrs, '$.log_index'), observed_at, n
		FROM (
		    SELECT s.artifact_key, s.observer, s.attrs, s.observed_at,
		           row_number() OVER (PARTITION BY s.artifact_key ORDER BY s.observed_at NULLS LAST, s.src_file, s.src_line) AS i,
		           count(*) OVER (PARTITION BY s.artifact_key) AS n
		    FROM sightings s
		    WHERE s.source IN ('ct', 'ci')
		      AND s.artifact_key IN (SELECT artifact_key FROM findings)
		)
		WHERE i <= 3 AND (attrs IS NULL OR json_valid(attrs))
		ORDER BY artifact_key, i`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]kinds.Field{}
	for rows.Next() {
		var key, log, idx sql.NullString
		var at sql.NullTime
		var n int64
		if err := rows.Scan(&key, &log, &idx, &at, &n); err != nil {
			return nil, err
		}
		v := log.String
		if idx.Valid {
			v += " index " + idx.String
		}
		if at.Valid {
			v += " at " + at.Time.UTC().Format(time.RFC3339)
		}
		label := "logged"
		if len(out[key.String]) == 0 && n > 3 {
			label = fmt.Sprintf("logged (first 3 of %d)", n)
		}
		out[key.String] = append(out[key.String], kinds.Field{Label: label, Value: v})
	}
	return out, rows.Err()
}

func stringList(v any) []string {
	out := []string{}
	list, _ := v.([]any)
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// SetTriage records an analyst's mark on a finding; it survives re-runs.
func (c *Case) SetTriage(ctx context.Context, ruleID, artifactKey, status, note string) error {
	switch status {
	case "open", "forged", "benign", "needs-review":
	default:
		return fmt.Errorf("unknown triage status %q (open, forged, benign, needs-review)", status)
	}
	tx, err := c.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO triage VALUES (?, ?, ?, ?, now()::TIMESTAMP)`,
		ruleID, artifactKey, status, nullStr(note)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE findings SET status = ?, note = ? WHERE rule_id = ? AND artifact_key = ?`,
		status, nullStr(note), ruleID, artifactKey); err != nil {
		return err
	}
	return tx.Commit()
}
