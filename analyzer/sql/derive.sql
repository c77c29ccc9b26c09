-- Derived credentials: what a token was turned into. Inputs: artifacts,
-- issuances, sightings, matches, keys, settings. Output: derived, one row
-- per derived credential, with the join that found its parent, how many
-- candidates the join had, its taint, depth and uses; rules and the
-- worklist read it.
--
-- Joins, strongest first:
--   token exchange (RFC 8693; Keycloak's TOKEN_EXCHANGE events): the
--     subject token by its id when the issuer logs it (subject_token_id),
--     else by what it logs: a token of that user for the client the event
--     names (subject_token_client_id, a token's azp), presented to some
--     service within ten minutes before the exchange;
--   a Kubernetes TokenRequest: the requester's own token by its id;
--   Entra ID's token (uti) issued on a federated sign-in: its record;
--   a token naming its actor (act) that no exchange event issued: a token
--     of that user presented just before (the act chain);
--   AWS STS AssumeRoleWithWebIdentity: a token of that issuer, subject and
--     audience that was valid at the call (CloudTrail logs no token id).
-- A derived credential is tainted when its one candidate is a forgery (a
-- token an exposed key signed that no issuance accounts for) or itself
-- tainted; with several candidates among which a tainted one, it is
-- ambiguous: reported as such, never guessed.

CREATE OR REPLACE TEMP TABLE derivation_candidates AS
WITH exch AS (
    SELECT i.*, json_extract_string(i.attrs, '$.subject_token_client_id') AS subject_client,
           json_extract_string(i.attrs, '$.subject_token_id') AS subject_token_id,
           -- the acting party a delegation provider logs, else the client that exchanged
           coalesce(json_extract_string(i.attrs, '$.actor'), json_extract_string(i.attrs, '$.actor_id'), i.audience) AS actor
    FROM issuances i
    WHERE i.kind = 'jwt' AND i.artifact_id IS NOT NULL
      AND json_extract_string(i.attrs, '$.type') = 'TOKEN_EXCHANGE'
),
exch_m AS (
    SELECT x.artifact_id AS child_id, x.issued_at AS derived_at, x.expires_at, x.subject, x.actor,
           x.src_file, x.src_line, a.artifact_key AS parent_key, 'the subject token''s id' AS joined_by
    FROM exch x JOIN artifacts a ON a.kind = 'jwt' AND a.artifact_id = x.subject_token_id
    UNION ALL
    SELECT x.artifact_id, x.issued_at, x.expires_at, x.subject, x.actor, x.src_file, x.src_line, a.artifact_key,
           'user, client and time (the issuer logs no subject token id)'
    FROM exch x JOIN artifacts a ON a.kind = 'jwt' AND lower(a.subject) = lower(x.subject)
         AND (x.subject_client IS NULL OR a.azp = x.subject_client)
    WHERE x.subject_token_id IS NULL
      AND a.artifact_id IS DISTINCT FROM x.artifact_id
      AND EXISTS (SELECT 1 FROM sightings s WHERE s.artifact_key = a.artifact_key
                  AND s.observed_at BETWEEN x.issued_at - INTERVAL 10 MINUTE AND x.issued_at + INTERVAL 5 SECOND)
),
-- a Kubernetes TokenRequest made with another token: the requester's
-- credential id ("JTI=…") is logged with the issuance
k8s_m AS (
    SELECT i.artifact_id AS child_id, i.issued_at AS derived_at, i.expires_at, i.subject,
           json_extract_string(i.attrs, '$."requester"') AS actor, i.src_file, i.src_line, a.artifact_key AS parent_key,
           'the requester''s token id' AS joined_by
    FROM issuances i
    JOIN artifacts a ON a.kind = 'jwt'
         AND a.artifact_id = regexp_replace(json_extract_string(i.attrs, '$."requester.credential-id"'), '^JTI=', '')
    WHERE i.kind = 'jwt' AND i.artifact_id IS NOT NULL
      AND json_extract_string(i.attrs, '$."requester.credential-id"') IS NOT NULL
),
-- a token that names its actor (an act claim, RFC 8693 section 4.1)
-- with no exchange event that issued it: minted by a service acting on
-- a token of the same user presented to it just before
act_m AS (
    SELECT c.artifact_id AS child_id, c.issued_at AS derived_at, c.expires_at, c.subject,
           json_extract_string(c.claims, '$.act.sub') AS actor, NULL::VARCHAR AS src_file, NULL::BIGINT AS src_line,
           p.artifact_key AS parent_key, 'its act claim (actor ' || json_extract_string(c.claims, '$.act.sub') || '), user and time' AS joined_by
    FROM artifacts c
    JOIN artifacts p ON p.kind = 'jwt' AND p.artifact_key <> c.artifact_key AND lower(p.subject) = lower(c.subject)
         AND p.artifact_id IS DISTINCT FROM c.artifact_id
    WHERE c.kind = 'jwt' AND c.issued_at IS NOT NULL AND json_extract_string(c.claims, '$.act.sub') IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM exch x WHERE x.artifact_id = c.artifact_id)
      AND EXISTS (SELECT 1 FROM sightings s WHERE s.artifact_key = p.artifact_key
                  AND s.observed_at BETWEEN c.issued_at - INTERVAL 10 MINUTE AND c.issued_at + INTERVAL 5 SECOND)
),
-- the token Entra ID issued (its uti) on accepting a federated sign-in
-- (a SAML token from AD FS, known by the sign-in's correlation id)
entra_m AS (
    SELECT json_extract_string(s.attrs, '$.uti') AS child_id, s.observed_at AS derived_at, NULL::TIMESTAMP AS expires_at,
           s.principal AS subject, s.observer AS actor, s.src_file, s.src_line, s.artifact_key AS parent_key,
           'the sign-in record (its correlation id and the uti Entra issued)' AS joined_by
    FROM sightings s
    WHERE s.kind = 'saml' AND s.outcome = 'accepted' AND json_extract_string(s.attrs, '$.uti') IS NOT NULL
),
sts AS (
    SELECT i.*, json_extract_string(i.attrs, '$.token_issuer') AS token_issuer,
           json_extract_string(i.attrs, '$.roleArn') AS role_arn
    FROM issuances i
    WHERE i.kind = 'aws-session' AND i.artifact_id IS NOT NULL AND json_extract_string(i.attrs, '$.web_identity') = 'true'
),
sts_m AS (
    SELECT w.artifact_id AS child_id, w.issued_at AS derived_at, w.expires_at, w.subject, w.role_arn AS actor,
           w.src_file, w.src_line, a.artifact_key AS parent_key, 'issuer, subject, audience and validity (CloudTrail logs no token id)' AS joined_by
    FROM sts w JOIN artifacts a ON a.kind = 'jwt' AND lower(a.subject) = lower(w.subject)
         AND (w.token_issuer IS NULL OR a.issuer IS NULL OR a.issuer = w.token_issuer)
         AND (w.audience IS NULL OR list_contains(list_transform(string_split(coalesce(a.audience, ''), ','), x -> trim(x)), w.audience))
         AND (a.issued_at IS NULL OR a.issued_at <= w.issued_at + INTERVAL 5 SECOND)
         AND (a.expires_at IS NULL OR a.expires_at >= w.issued_at - INTERVAL 5 SECOND)
)
SELECT u.*, (SELECT min(c.artifact_key) FROM artifacts c WHERE c.kind = u.child_kind AND c.artifact_id = u.child_id) AS child_key
FROM (
    SELECT 'token-exchange' AS relation, 'jwt' AS child_kind, * FROM exch_m
    UNION ALL SELECT 'token-request', 'jwt', * FROM k8s_m
    UNION ALL SELECT 'federated-sign-in', 'jwt', * FROM entra_m
    UNION ALL SELECT 'acting-for', 'jwt', * FROM act_m
    UNION ALL SELECT 'sts-web-identity', 'aws-session', * FROM sts_m
) u;

CREATE OR REPLACE TEMP TABLE forged_roots AS
SELECT a.artifact_key
FROM artifacts a
JOIN keys k ON k.key_fp = a.signer_fp AND k.role = 'exposed'
JOIN matches m ON m.artifact_key = a.artifact_key
WHERE a.sig_status = 'valid' AND m.match_type = 'none'
UNION
SELECT a.artifact_key
FROM artifacts a JOIN matches m ON m.artifact_key = a.artifact_key
WHERE a.kind IN ('jwt', 'saml') AND a.sig_status = 'unverifiable' AND a.raw_sha256 IS NULL
  AND m.match_type = 'none' AND m.coverage = 'covered'
  AND EXISTS (SELECT 1 FROM sightings s WHERE s.artifact_key = a.artifact_key AND s.outcome = 'accepted');

-- what each forgery reaches, through derived credentials that were seen
-- (an unseen one is a leaf), at most five steps down
CREATE OR REPLACE TEMP TABLE tainted AS
WITH RECURSIVE t(artifact_key, root_key, depth) AS (
    SELECT artifact_key, artifact_key, 0 FROM forged_roots
    UNION
    SELECT dc.child_key, t.root_key, t.depth + 1
    FROM t JOIN derivation_candidates dc ON dc.parent_key = t.artifact_key
    WHERE dc.child_key IS NOT NULL AND t.depth < 5
)
SELECT artifact_key, arg_min(root_key, depth) AS root_key, min(depth) AS depth FROM t GROUP BY artifact_key;

CREATE OR REPLACE TABLE derived AS
WITH g AS (
    SELECT dc.relation, dc.child_kind, dc.child_id, any_value(dc.child_key) AS child_key,
           min(dc.derived_at) AS derived_at, any_value(dc.expires_at) AS expires_at,
           any_value(dc.subject) AS subject, any_value(dc.actor) AS actor,
           any_value(dc.src_file) AS src_file, any_value(dc.src_line) AS src_line, any_value(dc.joined_by) AS joined_by,
           count(DISTINCT dc.parent_key) AS candidates,
           count(DISTINCT dc.parent_key) FILTER (WHERE t.artifact_key IS NOT NULL) AS tainted_candidates,
           min(dc.parent_key) FILTER (WHERE t.artifact_key IS NOT NULL) AS parent_key,
           min(t.root_key) AS root_key, min(t.depth) + 1 AS depth,
           list(DISTINCT dc.parent_key ORDER BY dc.parent_key) AS parents
    FROM derivation_candidates dc
    LEFT JOIN tainted t ON t.artifact_key = dc.parent_key
    GROUP BY dc.relation, dc.child_kind, dc.child_id
)
SELECT g.*,
       CASE WHEN g.tainted_candidates = 0 THEN 'legitimate'
            WHEN g.candidates = 1 THEN 'tainted'
            ELSE 'ambiguous' END AS taint,
       coalesce(g.child_key, g.child_kind || '::' || g.child_id) AS key,
       coalesce(ca.expires_at, g.expires_at) AS valid_until,
       coalesce(st.accepted, 0) AS uses, st.first_accepted AS first_use, st.last_accepted AS last_use,
       ca.subject AS child_subject
FROM g
LEFT JOIN artifacts ca ON ca.artifact_key = g.child_key
LEFT JOIN artifact_stats st ON st.artifact_key = g.child_key;
