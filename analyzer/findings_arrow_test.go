package analyzer

import (
	"context"
	"database/sql"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/forgehunt/forgehunt/rules"
)

// findingsViaSQL is Case.Findings as it was written with database/sql (each
// list a []any, each struct a map[string]any): the reference the Arrow
// reader is held to.
func findingsViaSQL(ctx context.Context, c *Case, minLevel string) ([]Finding, error) {
	rank := 0
	if minLevel != "" {
		rank = rules.LevelRank(minLevel)
	}
	rows, err := c.DB.QueryContext(ctx, `
		SELECT rule_id, level, title, kind, artifact_key, artifact_id, issuer, subject, signer_fp,
		       first_seen, last_seen, sightings, accepted, observers, principals, client_ips,
		       reason, coverage, evidence, status, note, subject_name, coalesce(salvaged, 0), coalesce(ambiguous, false), names
		FROM findings
		WHERE list_position(?::VARCHAR[], level) - 1 >= ?
		ORDER BY list_position(?::VARCHAR[], level) DESC, first_seen NULLS LAST, rule_id, artifact_key`,
		rules.Levels, rank, rules.Levels)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var f Finding
		var id, iss, sub, fp, cov, note, kind, name sql.NullString
		var first, last sql.NullTime
		var sightings, accepted sql.NullInt64
		var observers, principals, ips, evidence, names any
		if err := rows.Scan(&f.RuleID, &f.Level, &f.Title, &kind, &f.ArtifactKey, &id, &iss, &sub, &fp,
			&first, &last, &sightings, &accepted, &observers, &principals, &ips,
			&f.Reason, &cov, &evidence, &f.Status, &note, &name, &f.Salvaged, &f.Ambiguous, &names); err != nil {
			return nil, err
		}
		f.Kind, f.ArtifactID, f.Issuer, f.Subject, f.SignerFP = kind.String, id.String, iss.String, sub.String, fp.String
		f.Coverage, f.Note, f.SubjectName = cov.String, note.String, name.String
		f.Sightings, f.Accepted = sightings.Int64, accepted.Int64
		if first.Valid {
			t := first.Time.UTC()
			f.FirstSeen = &t
		}
		if last.Valid {
			t := last.Time.UTC()
			f.LastSeen = &t
		}
		f.Observers, f.Principals, f.ClientIPs = stringList(observers), stringList(principals), stringList(ips)
		f.Evidence = evidenceList(evidence)
		if ns := stringList(names); len(ns) > 0 {
			f.Names = ns
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, c.addDetails(ctx, out)
}

func evidenceList(v any) []Evidence {
	out := []Evidence{}
	list, _ := v.([]any)
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		var ev Evidence
		ev.File, _ = m["file"].(string)
		switch n := m["line"].(type) {
		case int64:
			ev.Line = n
		case int32:
			ev.Line = int64(n)
		}
		out = append(out, ev)
	}
	return out
}

// TestFindingsArrowEqualsSQL reads the same findings through the Arrow
// reader and through database/sql: more rows than one Arrow batch holds,
// and the NULLs a finding can carry (lists, elements of lists, fields of
// evidence, times, counts), at every level floor.
func TestFindingsArrowEqualsSQL(t *testing.T) {
	ctx := context.Background()
	c := memCase(t)
	fillFindings(t, c, 5000)
	if _, err := c.DB.ExecContext(ctx, `
		INSERT INTO findings (rule_id, level, title, kind, artifact_key, first_seen, observers, principals, client_ips,
		                      reason, evidence, status, salvaged, ambiguous, names, sightings)
		VALUES ('nulls', 'high', 't', NULL, 'k1', NULL, NULL, ['p', NULL, ''], [NULL],
		        'r', [NULL, {'file': NULL, 'line': NULL}, {'file': 'f.log', 'line': 3}], 'open', NULL, NULL, [], NULL),
		       ('nulls', 'informational', 't', 'jwt', 'k2', TIMESTAMP '2026-03-04 10:00:00.123456', [], [], [],
		        'r', NULL, 'forged', 7, true, [NULL, 'n.example'], 0),
		       ('odd-level', 'severe', 't', 'jwt', 'k3', NULL, [], [], [], 'r', [], 'open', 0, false, NULL, 1)`); err != nil {
		t.Fatal(err)
	}
	for _, floor := range []string{"", "low", "medium", "critical"} {
		got, err := c.Findings(ctx, floor)
		if err != nil {
			t.Fatal(err)
		}
		want, err := findingsViaSQL(ctx, c, floor)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || len(got) == 0 {
			t.Fatalf("floor %q: %d findings, want %d", floor, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				g, _ := json.Marshal(got[i])
				w, _ := json.Marshal(want[i])
				t.Fatalf("floor %q, finding %d:\n got %s\nwant %s", floor, i, g, w)
			}
		}
	}
}

// TestFindingsArrowReportsSchemaChange: a column the reader cannot read
// is an error, never a silently empty field.
func TestFindingsArrowReportsSchemaChange(t *testing.T) {
	ctx := context.Background()
	c := memCase(t)
	fillFindings(t, c, 3)
	if _, err := c.DB.ExecContext(ctx, `ALTER TABLE findings ALTER sightings TYPE VARCHAR`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Findings(ctx, ""); err == nil {
		t.Fatal("a VARCHAR sightings column was read without an error")
	}
}
