package analyzer

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Diagnose returns warnings about the case that the analyst must see before
// trusting its findings: no issuance ledger at all, a ledger that does not
// cover the tokens' period, or ledger times consistently shifted from the
// tokens' issue times (a time zone not given with --tz).
func (c *Case) Diagnose(ctx context.Context) ([]string, error) {
	var warnings []string
	var issuances, exposedTokens, outside int64
	err := c.DB.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM issuances),
		       (SELECT count(*) FROM artifacts a JOIN keys k ON k.key_fp = a.signer_fp AND k.role = 'exposed'
		         WHERE a.sig_status = 'valid'),
		       (SELECT count(*) FROM artifacts a JOIN keys k ON k.key_fp = a.signer_fp AND k.role = 'exposed'
		         JOIN matches m USING (artifact_key) WHERE a.sig_status = 'valid' AND m.coverage = 'outside')`).
		Scan(&issuances, &exposedTokens, &outside)
	if err != nil {
		return nil, err
	}
	switch {
	case issuances == 0 && exposedTokens > 0:
		warnings = append(warnings, "no issuance record was read: no token can be shown to be legitimately issued, "+
			"so every exposed-key token is reported with coverage 'outside'; give the issuer's own logs "+
			"(Keycloak events, or a ledger with --ledger FILE)")
	case exposedTokens > 0 && outside*2 > exposedTokens:
		warnings = append(warnings, fmt.Sprintf("%d of %d exposed-key tokens lie outside the period the issuance records cover: "+
			"give the issuer's logs for that period (SELECT min(issued_at), max(issued_at) FROM issuances)", outside, exposedTokens))
	}
	// Numbered ledgers shipped filtered.
	rows, err := c.DB.QueryContext(ctx, `SELECT process, span, lost FROM ledger_seq_filtered ORDER BY process LIMIT 5`)
	if err != nil {
		return warnings, err
	}
	for rows.Next() {
		var process string
		var span, lost int64
		if err := rows.Scan(&process, &span, &lost); err != nil {
			rows.Close()
			return warnings, err
		}
		warnings = append(warnings, fmt.Sprintf("the issuer log of %s lacks %d of the %d lines it numbered: it looks filtered "+
			"(only some loggers shipped), so its sequence numbers are not used as proof of lost lines", process, lost, span))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return warnings, err
	}
	// A consistent shift between ledger times and the tokens' own iat.
	var offset sql.NullFloat64
	var n, total int64
	err = c.DB.QueryRowContext(ctx, `
		WITH d AS (
		    SELECT round((epoch(i.issued_at) - epoch(a.issued_at)) / 900) * 900 AS off
		    FROM artifacts a JOIN issuances i ON i.kind = a.kind AND i.artifact_id = a.artifact_id
		    WHERE a.issued_at IS NOT NULL AND i.issued_at IS NOT NULL
		)
		SELECT mode(off), count(*) FILTER (WHERE off = (SELECT mode(off) FROM d)), count(*) FROM d`).Scan(&offset, &n, &total)
	if err != nil {
		return warnings, err
	}
	if offset.Valid && offset.Float64 != 0 && total >= 5 && n*2 > total {
		d := time.Duration(offset.Float64) * time.Second
		warnings = append(warnings, fmt.Sprintf("the issuance records' times are %s off the tokens' own issue times for %d of %d ids: "+
			"their time zone is probably not UTC; give it with --tz ZONE (e.g. --tz Europe/Berlin) and hunt again", d, n, total))
	}
	return warnings, nil
}
