package analyzer

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A Keycloak JSON log shipped filtered (only events kept) has a hole after
// almost every line: its numbering is not taken as proof of lost lines, and
// the analyst is told why. A log with a few real holes keeps them.
func TestFilteredSequenceLogIsNotProof(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		holes     int
		wantHoles int
	}{
		{"filtered", 300, 0},
		{"two real holes", 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := OpenCase(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			base := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
			// 300 lines numbered over a span of 30000: 100 numbers per line.
			if _, err := c.DB.ExecContext(ctx, `INSERT INTO sequence_runs VALUES ('jwt', 'kc.log', 'kc-0/1', 1, ?, 1, 30000, ?, 300)`,
				base, base.Add(300*time.Minute)); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tc.holes; i++ {
				after := int64(1 + i*100)
				if _, err := c.DB.ExecContext(ctx, `INSERT INTO sequence_gaps VALUES ('jwt', 'kc.log', ?, 'kc-0/1', ?, ?, 99, ?, ?)`,
					i+2, after, after+100, base.Add(time.Duration(i)*time.Minute), base.Add(time.Duration(i+1)*time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.Analyze(ctx, nil, Settings{}); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := c.DB.QueryRowContext(ctx, `SELECT count(*) FROM ledger_seq_holes`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != tc.wantHoles {
				t.Errorf("ledger_seq_holes has %d rows, want %d", n, tc.wantHoles)
			}
			warnings, err := c.Diagnose(ctx)
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(strings.Join(warnings, "\n"), "looks filtered")
			if warned != (tc.wantHoles == 0) {
				t.Errorf("warnings %q", warnings)
			}
		})
	}
}
