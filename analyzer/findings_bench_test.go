package analyzer

import (
	"context"
	"fmt"
	"testing"
)

// memCase is a new in-memory case, closed when the test ends.
func memCase(tb testing.TB) *Case {
	tb.Helper()
	c, err := OpenCase(context.Background(), "")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// fillFindings writes n findings to c, each with lists as long as a busy
// artifact's (observers, principals, addresses, evidence), so that reading
// them back is measured on the values that cost: lists and structs.
func fillFindings(tb testing.TB, c *Case, n int) {
	tb.Helper()
	_, err := c.DB.ExecContext(context.Background(), fmt.Sprintf(`
		INSERT INTO findings (rule_id, level, title, kind, artifact_key, artifact_id, issuer, subject, signer_fp,
		                      first_seen, last_seen, sightings, accepted, observers, principals, client_ips,
		                      reason, coverage, evidence, status, note, subject_name, salvaged, ambiguous, names)
		SELECT 'rule-' || (i %% 7), ['critical', 'high', 'medium', 'low'][1 + i %% 4], 'a title', 'jwt',
		       'sha256:' || md5(i::VARCHAR) || md5((i + 1)::VARCHAR), 'jti-' || i,
		       CASE WHEN i %% 5 = 0 THEN NULL ELSE 'https://idp.example/realms/r' END, 'user-' || i, 'fp-' || (i %% 3),
		       TIMESTAMP '2026-03-04 10:00:00' + INTERVAL (i) SECOND,
		       CASE WHEN i %% 11 = 0 THEN NULL ELSE TIMESTAMP '2026-03-05 10:00:00' + INTERVAL (i) SECOND END,
		       100 + i, i %% 100,
		       [x || '.svc.example' FOR x IN ['a', 'b', 'c', 'd', 'e']],
		       CASE WHEN i %% 3 = 0 THEN [] ELSE ['alice', 'bob'] END,
		       [('198.51.100.' || (i %% 250 + j))::VARCHAR FOR j IN range(8)],
		       'no issuance record for ' || i, CASE WHEN i %% 2 = 0 THEN 'covered' END,
		       [{'file': 'access-' || (j %% 3) || '.log', 'line': i * 20 + j} FOR j IN range(20)],
		       'open', CASE WHEN i %% 13 = 0 THEN 'seen before' END, CASE WHEN i %% 4 = 0 THEN 'alice' END,
		       i %% 2, i %% 17 = 0, CASE WHEN i %% 9 = 0 THEN ['a.example', 'b.example'] END
		FROM range(%d) t(i)`, n))
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkFindings times reading findings back (Case.Findings, as Arrow
// columns) from a case that holds 20,000 of them, beside the database/sql
// reader it replaced (findingsViaSQL).
func BenchmarkFindings(b *testing.B) {
	ctx := context.Background()
	c := memCase(b)
	const n = 20000
	fillFindings(b, c, n)
	for _, r := range []struct {
		name string
		read func() ([]Finding, error)
	}{
		{"arrow", func() ([]Finding, error) { return c.Findings(ctx, "") }},
		{"database-sql", func() ([]Finding, error) { return findingsViaSQL(ctx, c, "") }},
	} {
		b.Run(r.name, func(b *testing.B) {
			for range b.N {
				fs, err := r.read()
				if err != nil {
					b.Fatal(err)
				}
				if len(fs) != n {
					b.Fatalf("%d findings, want %d", len(fs), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/finding")
		})
	}
}
