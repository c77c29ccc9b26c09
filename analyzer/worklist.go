package analyzer

import (
	"context"
	"database/sql"
	"time"

	"github.com/forgehunt/forgehunt/rules"
)

// WorkItem is one thing to invalidate: an artifact an exposed key signed
// that was still valid at the key's revocation (forged or legitimately
// issued: the key's every artifact is void), a credential derived from a
// forgery, or a verifier that still trusted the key after its revocation.
type WorkItem struct {
	Item    string    `json:"item"`   // artifact, derived, verifier
	Kind    string    `json:"kind"`   // the artifact kind; "" for a verifier
	ID      string    `json:"id"`     // jti, serial, digest, access key id; the verifier's name
	Status  string    `json:"status"` // forged, legitimate, tainted, ambiguous, stale-trust
	Subject string    `json:"subject,omitempty"`
	Issuer  string    `json:"issuer,omitempty"`
	Until   time.Time `json:"valid_until,omitzero"` // when it stops being valid by itself; zero: never, or not known
	// First and Last: a verifier's first and last acceptance after the
	// revocation; a credential's first and last use.
	First      time.Time `json:"first,omitzero"`
	Last       time.Time `json:"last,omitzero"`
	Uses       int64     `json:"uses"`
	Action     string    `json:"action"`
	Why        string    `json:"why"`
	Evidence   string    `json:"evidence,omitempty"` // file:line
	Key        string    `json:"artifact_key,omitempty"`
	Frameworks []string  `json:"frameworks"`
}

// worklistSQL is the worklist, read from the case after Analyze (it needs
// matches and derived).
const worklistSQL = `
WITH xk AS (SELECT key_fp, revoked_at FROM keys WHERE role = 'exposed'),
now_t AS (SELECT max(observed_at) AS t FROM sightings),
tainted AS (SELECT key FROM derived WHERE taint IN ('tainted', 'ambiguous')),
arts AS (
    SELECT a.artifact_key, a.kind, a.artifact_id, coalesce(n.subject_name, a.subject) AS subject, a.issuer, a.expires_at, a.names,
           coalesce(m.match_type, 'none') IN ('raw', 'id', 'weak') AS issued, x.revoked_at,
           coalesce(st.accepted, 0) AS uses, st.first_accepted, st.last_accepted,
           (SELECT arg_min(s.src_file || ':' || s.src_line, s.observed_at) FROM sightings s WHERE s.artifact_key = a.artifact_key) AS evidence
    FROM artifacts a
    JOIN xk x ON x.key_fp = a.signer_fp
    LEFT JOIN matches m ON m.artifact_key = a.artifact_key
    LEFT JOIN artifact_stats st ON st.artifact_key = a.artifact_key
    LEFT JOIN artifact_names n ON n.artifact_key = a.artifact_key
    CROSS JOIN now_t
    WHERE a.sig_status = 'valid'
      AND (a.expires_at IS NULL OR a.expires_at > coalesce(x.revoked_at, now_t.t))
      AND a.artifact_key NOT IN (SELECT key FROM tainted)
)
SELECT 'artifact', kind, coalesce(artifact_id, artifact_key), CASE WHEN issued THEN 'legitimate' ELSE 'forged' END,
       subject, issuer, expires_at, first_accepted, last_accepted, uses,
       CASE kind
           WHEN 'jwt' THEN 'revoke token ' || coalesce(artifact_id, '(no jti)') || coalesce(' and the sessions of ' || subject, '')
                || coalesce(' at ' || issuer, '') || '; until it expires'
                || coalesce(' (' || strftime(expires_at, '%Y-%m-%dT%H:%M:%SZ') || ')', ' (it never does)')
                || ', deny its jti at every verifier'
           WHEN 'x509' THEN 'revoke certificate serial ' || coalesce(artifact_id, '?') || coalesce(' for ' || array_to_string(names, ', '), '')
                || ' (CRL and OCSP of the CA' || coalesce(' ' || issuer, '') || ')'
           WHEN 'signature' THEN 'distrust signature over ' || coalesce(artifact_id, '?')
                || ': remove it from admission policy and registries, re-sign what was legitimate with the new key'
           WHEN 'saml' THEN 'end the service provider sessions of ' || coalesce(subject, '?') || ' (assertion ' || coalesce(artifact_id, '?') || ')'
           ELSE 'invalidate ' || coalesce(artifact_id, artifact_key) END,
       CASE WHEN issued THEN 'legitimately issued, signed by the exposed key, still valid when the key was revoked'
            ELSE 'forged with the exposed key (no issuance accounts for it), still valid when the key was revoked' END
         || CASE WHEN revoked_at IS NULL THEN ' (no revocation time given: valid at the last log time)' ELSE '' END,
       evidence, artifact_key
FROM arts
UNION ALL
SELECT 'derived', d.child_kind, d.child_id, d.taint, coalesce(dn.subject_name, d.child_subject, d.subject), NULL, d.valid_until, d.first_use, d.last_use, d.uses,
       CASE d.child_kind
           WHEN 'aws-session' THEN 'revoke the sessions of ' || coalesce(d.actor, 'the role') || ' issued before now (an IAM deny on aws:TokenIssueTime) '
                || 'and review what access key ' || d.child_id || ' did'
           ELSE 'revoke token ' || d.child_id || ' at its issuer and deny its jti at every verifier'
                || coalesce(' (issued to ' || d.actor || ')', '') END,
       CASE d.taint WHEN 'ambiguous' THEN 'derived (' || d.relation || ') from one of ' || d.candidates || ' tokens, ' || d.tainted_candidates || ' of them forged: ambiguous'
            ELSE 'derived (' || d.relation || ', depth ' || d.depth || ') from a forged token' END,
       d.src_file || ':' || d.src_line, d.key
FROM derived d LEFT JOIN artifact_names dn ON dn.artifact_key = d.child_key
WHERE d.taint IN ('tainted', 'ambiguous')
UNION ALL
SELECT 'verifier', NULL, s.observer, 'stale-trust', NULL, NULL, NULL, min(s.observed_at), max(s.observed_at), count(*),
       'remove the exposed key from the trust of ' || s.observer || ' (its JWKS cache, pinned key or trust anchor) and restart what caches it',
       'accepted ' || count(*) || ' artifact(s) signed by the exposed key after its revocation (' || count(DISTINCT s.artifact_key) || ' distinct, '
         || array_to_string(list(DISTINCT a.kind ORDER BY a.kind), ', ') || ')',
       arg_min(s.src_file || ':' || s.src_line, s.observed_at), NULL
FROM sightings s
JOIN artifacts a ON a.artifact_key = s.artifact_key AND a.sig_status = 'valid'
JOIN xk x ON x.key_fp = a.signer_fp
WHERE x.revoked_at IS NOT NULL AND s.observed_at > x.revoked_at AND s.outcome = 'accepted' AND s.observer IS NOT NULL
GROUP BY s.observer
ORDER BY 1, 4, 2, 3`

// Worklist is the invalidation worklist of an analyzed case.
func (c *Case) Worklist(ctx context.Context) ([]WorkItem, error) {
	rows, err := c.DB.QueryContext(ctx, worklistSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []WorkItem
	for rows.Next() {
		var w WorkItem
		var kind, subject, issuer, evidence, key sql.NullString
		var until, first, last sql.NullTime
		if err := rows.Scan(&w.Item, &kind, &w.ID, &w.Status, &subject, &issuer, &until, &first, &last, &w.Uses,
			&w.Action, &w.Why, &evidence, &key); err != nil {
			return nil, err
		}
		w.Kind, w.Subject, w.Issuer, w.Evidence, w.Key = kind.String, subject.String, issuer.String, evidence.String, key.String
		w.Until, w.First, w.Last = until.Time, first.Time, last.Time
		w.Frameworks = rules.InvalidationFrameworks
		out = append(out, w)
	}
	return out, rows.Err()
}
