-- Matching: which issuance record (if any) accounts for each artifact, and
-- how well the issuer's ledger covers the artifact's issue time.
-- Inputs: artifacts, issuances, links, sequence_gaps, sequence_runs,
-- settings, artifact_kinds.
-- Output: the matches table (and artifact_stats, ledger_rate,
-- ledger_silences, ledger_seq_holes, which rules read too).

-- A readable name for each artifact's subject, from the claims issuers use
-- for it (Keycloak's preferred_username, Entra's upn, an email), so that an
-- analyst reads "alice", not a user id.
CREATE OR REPLACE TABLE artifact_names AS
SELECT artifact_key,
       coalesce(json_extract_string(claims, '$.preferred_username'),
                json_extract_string(claims, '$.upn'),
                json_extract_string(claims, '$.unique_name'),
                json_extract_string(claims, '$.email'),
                json_extract_string(claims, '$.username')) AS subject_name
FROM artifacts
WHERE claims IS NOT NULL AND json_valid(claims);

-- Per artifact, the figures rules read: scalars only, one pass over the
-- sightings without joins, so that it costs little for millions of
-- sightings of hundreds of thousands of artifacts.
CREATE OR REPLACE TABLE artifact_stats AS
SELECT s.artifact_key,
       min(s.observed_at) AS first_seen,
       max(s.observed_at) AS last_seen,
       count(*) AS sightings,
       count(*) FILTER (WHERE s.outcome = 'accepted') AS accepted,
       min(s.observed_at) FILTER (WHERE s.outcome = 'accepted') AS first_accepted,
       max(s.observed_at) FILTER (WHERE s.outcome = 'accepted') AS last_accepted,
       -- sightings salvaged from lines the format rejected, and why they were
       count(*) FILTER (WHERE s.salvaged IS NOT NULL) AS salvaged,
       coalesce(bool_or(s.ambiguous), false) AS ambiguous,
       any_value(r.salvage_reasons) AS salvage_reasons
FROM sightings s
LEFT JOIN (SELECT artifact_key, list(DISTINCT salvaged ORDER BY salvaged) AS salvage_reasons
           FROM sightings WHERE salvaged IS NOT NULL GROUP BY artifact_key) r USING (artifact_key)
GROUP BY s.artifact_key;

-- The lists behind an artifact's findings are the view artifact_lists,
-- created after this script (analyzer.artifactListsSQL).

-- Candidate matches, strongest first: raw hash, id (with claim consistency:
-- issue and expiry times within id_time_tolerance_s, since ledgers and
-- tokens disagree by clock skew and rounding, and a minute changes nothing
-- an attacker wants), weak (subject, audience, issue and expiry times within
-- match_tolerance_s).
--
-- Audiences: Keycloak logs the client an access token was issued to (its
-- azp; the parser sets issuances.audience_client); a generic ledger logs
-- the token's audience set. A Keycloak record is
-- consistent when its client is the token's azp or one of its audiences; a
-- ledger record only when the sets are equal (a token for more audiences
-- than were issued is a forgery). A claim the record has and the token
-- lacks (no exp: a token that never expires) is an inconsistency; a claim
-- the record does not log cannot be judged.
CREATE OR REPLACE TEMP TABLE match_candidates AS
WITH cfg AS (SELECT * FROM settings LIMIT 1),
arts AS (
    SELECT a.*,
           list_sort(list_distinct(list_filter(list_transform(string_split(coalesce(a.audience, ''), ','), x -> trim(x)), x -> x <> ''))) AS aud_set,
           -- known only by its id (a platform log's): what the log did not
           -- say of it is unknown, not absent, and its subject is the
           -- principal the platform named (alice@corp, or CORP\alice)
           a.sig_status = 'unverifiable' AND a.raw_sha256 IS NULL AS id_only
    FROM artifacts a
),
iss AS (
    SELECT i.*,
           list_sort(list_distinct(list_filter(list_transform(string_split(coalesce(i.audience, ''), ','), x -> trim(x)), x -> x <> ''))) AS aud_set,
           i.audience_client AS client_audience -- NULL (not stated): audiences are not judged
    FROM issuances i
),
raw_m AS (
    SELECT a.artifact_key, 1 AS strength, 'raw' AS match_type, i.src_file, i.src_line, NULL AS conflict
    FROM arts a JOIN iss i ON i.raw_sha256 = a.raw_sha256
),
id_m AS (
    SELECT a.artifact_key, i.src_file, i.src_line,
           nullif(concat_ws('; ',
               -- (a precertificate's bytes are never those of the certificate a
               -- CA records: it shares the serial with it by design, RFC 6962;
               -- nor is a signature the one statement a build record holds,
               -- kinds.FlagBytesNotIssued)
               CASE WHEN i.raw_sha256 IS NOT NULL AND a.raw_sha256 IS NOT NULL AND i.raw_sha256 <> a.raw_sha256
                         AND NOT list_contains(coalesce(a.sig_flags, []), 'precertificate')
                         AND NOT list_contains(coalesce(a.sig_flags, []), 'bytes-not-issued')
                    THEN 'the issuer logged other bytes for this id (sha256 ' || left(i.raw_sha256, 12)
                         || '…, this token ' || left(a.raw_sha256, 12) || '…): a re-signed copy' END,
               CASE WHEN i.subject IS NOT NULL AND a.subject IS NULL AND NOT a.id_only
                    THEN 'the token has no subject but the id was issued to ' || i.subject
                    WHEN a.id_only AND i.subject IS NOT NULL AND a.subject IS NOT NULL AND coalesce(ak.principal_is_subject, true)
                         AND lower(i.subject) <> lower(a.subject)
                         AND lower(regexp_replace(i.subject, '^.*\\|@.*$', '', 'g'))
                             <> lower(regexp_replace(a.subject, '^.*\\|@.*$', '', 'g'))
                    THEN 'the platform names ' || a.subject || ' but the id was issued to ' || i.subject
                    -- Okta records a token's subject by the user's id, its uid claim
                    WHEN NOT a.id_only AND i.subject IS NOT NULL AND i.subject <> a.subject
                         AND i.subject IS DISTINCT FROM json_extract_string(a.claims, '$.uid')
                    THEN 'subject is ' || a.subject || ' but the id was issued to ' || i.subject END,
               CASE WHEN len(i.aud_set) = 0 THEN NULL
                    WHEN a.id_only AND len(a.aud_set) = 0 AND a.azp IS NULL THEN NULL
                    WHEN i.client_audience AND NOT (i.audience IS NOT DISTINCT FROM a.azp OR list_contains(a.aud_set, i.audience))
                    THEN 'client ' || coalesce(a.azp, array_to_string(a.aud_set, ',')) || ' but the id was issued to client ' || i.audience
                    WHEN NOT i.client_audience AND len(a.aud_set) = 0 AND NOT list_contains(i.aud_set, a.azp)
                    THEN 'the token has no audience but the id was issued for ' || array_to_string(i.aud_set, ',')
                    WHEN NOT i.client_audience AND len(a.aud_set) > 0 AND a.aud_set <> i.aud_set
                    THEN 'audience ' || array_to_string(a.aud_set, ',') || ' but the id was issued for ' || array_to_string(i.aud_set, ',') END,
               CASE WHEN i.expires_at IS NOT NULL AND a.expires_at IS NULL AND NOT a.id_only
                    THEN 'the token never expires (no exp) but the issued one expires ' || strftime(i.expires_at, '%Y-%m-%dT%H:%M:%SZ')
                    WHEN i.expires_at IS NOT NULL
                         AND abs(epoch(i.expires_at) - epoch(a.expires_at)) > cfg.id_time_tolerance_s
                    THEN 'expires ' || strftime(a.expires_at, '%Y-%m-%dT%H:%M:%SZ') || ' but the issued one expires '
                         || strftime(i.expires_at, '%Y-%m-%dT%H:%M:%SZ') END,
               CASE WHEN i.issued_at IS NOT NULL AND a.issued_at IS NOT NULL
                         AND abs(epoch(i.issued_at) - epoch(a.issued_at)) > cfg.id_time_tolerance_s
                    THEN 'issued ' || strftime(a.issued_at, '%Y-%m-%dT%H:%M:%SZ') || ' but the id was issued '
                         || strftime(i.issued_at, '%Y-%m-%dT%H:%M:%SZ') END,
               -- names (a certificate's SANs): the record's set must be the
               -- artifact's; a record that logs none cannot be judged
               CASE WHEN len(i.names) > 0 AND list_sort(list_distinct(i.names)) IS DISTINCT FROM list_sort(list_distinct(coalesce(a.names, [])))
                    THEN 'names ' || coalesce(array_to_string(list_sort(a.names), ' '), 'none')
                         || ' but the id was issued for ' || array_to_string(list_sort(i.names), ' ') END
           ), '') AS conflict
    FROM arts a CROSS JOIN cfg
    LEFT JOIN artifact_kinds ak ON ak.kind = a.kind
    JOIN iss i ON i.kind = a.kind AND i.artifact_id = a.artifact_id
         AND (i.issuer IS NULL OR a.issuer IS NULL OR i.issuer = a.issuer)
),
-- An assertion answers an AuthnRequest (its InResponseTo) that a service
-- provider logged sending with the request id it passed to the IdP (the
-- links table); AD FS logs its issuance under that id (the activity id).
-- The join is an id match through the SP's record: consistent when the
-- IdP issued to the same user (a NameID that is a name: opaque persistent
-- and transient ids cannot be compared), for the same relying party, at
-- the same time.
link_m AS (
    SELECT a.artifact_key, i.src_file, i.src_line,
           nullif(concat_ws('; ',
               CASE WHEN i.subject IS NOT NULL AND a.subject IS NOT NULL AND (contains(a.subject, '@') OR contains(a.subject, chr(92)))
                         AND lower(i.subject) <> lower(a.subject)
                         AND lower(regexp_replace(i.subject, '^.*\\|@.*$', '', 'g'))
                             <> lower(regexp_replace(a.subject, '^.*\\|@.*$', '', 'g'))
                    THEN 'the assertion names ' || a.subject || ' but the IdP issued to ' || i.subject END,
               CASE WHEN i.audience IS NOT NULL AND len(a.aud_set) > 0 AND NOT list_contains(a.aud_set, i.audience)
                    THEN 'audience ' || array_to_string(a.aud_set, ',') || ' but the IdP issued for relying party ' || i.audience END,
               CASE WHEN a.issued_at IS NOT NULL AND i.issued_at IS NOT NULL AND NOT a.id_only
                         AND abs(epoch(i.issued_at) - epoch(a.issued_at)) > cfg.id_time_tolerance_s
                    THEN 'issued ' || strftime(a.issued_at, '%Y-%m-%dT%H:%M:%SZ') || ' but the IdP logged issuing at '
                         || strftime(i.issued_at, '%Y-%m-%dT%H:%M:%SZ') END
           ), '') AS conflict
    FROM arts a CROSS JOIN cfg
    JOIN links l ON l.relation = 'saml-authn-request' AND l.to_id IS NOT NULL
         AND l.from_id = json_extract_string(a.claims, '$.in_response_to')
    JOIN iss i ON i.kind = a.kind AND i.artifact_id = l.to_id
    WHERE a.kind = 'saml' AND json_valid(a.claims)
),
-- Records already accounted for by a raw or consistent id match cannot
-- also vouch, weakly, for another token.
claimed AS (
    SELECT src_file, src_line FROM raw_m
    UNION
    SELECT src_file, src_line FROM id_m WHERE conflict IS NULL
    UNION
    SELECT src_file, src_line FROM link_m WHERE conflict IS NULL
),
-- Only for kinds whose artifacts may be logged without their id
-- (artifact_kinds.weak_match): a certificate's serial is its identity, and
-- a record without it never clears one.
weak_m AS (
    SELECT a.artifact_key, 3 AS strength, 'weak' AS match_type, i.src_file, i.src_line, NULL AS conflict
    FROM arts a CROSS JOIN cfg
    LEFT JOIN artifact_kinds ak ON ak.kind = a.kind
    JOIN iss i ON i.kind = a.kind AND i.subject = a.subject
         AND (i.artifact_id IS NULL OR a.artifact_id IS NULL)
         AND (i.issuer IS NULL OR a.issuer IS NULL OR i.issuer = a.issuer)
         -- + 1 s: a token's times are whole seconds, a log's often are not
         AND abs(epoch(i.issued_at) - epoch(a.issued_at)) <= cfg.match_tolerance_s + 1
    WHERE coalesce(ak.weak_match, true)
      AND i.raw_sha256 IS NULL -- a record with a hash vouches only for those bytes
      AND (i.expires_at IS NULL
           OR (a.expires_at IS NOT NULL AND abs(epoch(i.expires_at) - epoch(a.expires_at)) <= cfg.match_tolerance_s + 1))
      AND (len(i.aud_set) = 0
           OR (i.client_audience AND (i.audience IS NOT DISTINCT FROM a.azp OR list_contains(a.aud_set, i.audience)))
           OR (NOT i.client_audience AND (a.aud_set = i.aud_set OR (len(a.aud_set) = 0 AND list_contains(i.aud_set, a.azp)))))
      AND NOT EXISTS (SELECT 1 FROM claimed c WHERE c.src_file = i.src_file AND c.src_line = i.src_line)
)
SELECT * FROM raw_m
UNION ALL
SELECT artifact_key, CASE WHEN conflict IS NULL THEN 2 ELSE 4 END,
       CASE WHEN conflict IS NULL THEN 'id' ELSE 'id-conflict' END, src_file, src_line, conflict
FROM id_m
UNION ALL
SELECT artifact_key, CASE WHEN conflict IS NULL THEN 2 ELSE 4 END,
       CASE WHEN conflict IS NULL THEN 'id' ELSE 'id-conflict' END, src_file, src_line, conflict
FROM link_m
UNION ALL
SELECT * FROM weak_m;

-- How the ledger covers an instant. A silence of the ledger (no issuance
-- record of a kind for longer than settings.ledger_gap_s) is a gap when the
-- issuer, at its usual rate for those hours of the day, would have issued at
-- least settings.gap_expected records in it: a quiet night is not a gap, the
-- same silence at noon is. 'covered' is inside the ledger's span and not in a
-- gap; 'outside' is before its first or after its last record (or no ledger
-- for that kind was given).
CREATE OR REPLACE TEMP TABLE ledger_times AS
SELECT DISTINCT kind, issued_at AS t FROM issuances WHERE issued_at IS NOT NULL;

CREATE OR REPLACE TABLE ledger_rate AS
WITH span AS (
    SELECT kind, (epoch(max(t)) - epoch(min(t))) / 3600.0 AS hours, count(*) AS n
    FROM ledger_times GROUP BY kind
),
by_hour AS (
    SELECT kind, hour(t) AS h, count(*) AS n FROM ledger_times GROUP BY ALL
)
-- Two days or more: the issuer's usual rate for each hour of the day; less:
-- its overall rate, for every hour (too little data for a daily rhythm).
SELECT span.kind, hrs.h,
       CASE WHEN span.hours >= 48 THEN coalesce(by_hour.n, 0) / (span.hours / 24.0)
            ELSE span.n / greatest(span.hours, 1.0) END AS per_hour
FROM span
CROSS JOIN (SELECT unnest(range(24)) AS h) hrs
LEFT JOIN by_hour ON by_hour.kind = span.kind AND by_hour.h = hrs.h;

CREATE OR REPLACE TABLE ledger_silences AS
WITH d AS (
    SELECT kind, lag(t) OVER (PARTITION BY kind ORDER BY t) AS from_t, t AS to_t FROM ledger_times
),
s AS (
    SELECT d.* FROM d, (SELECT * FROM settings LIMIT 1) cfg
    WHERE d.from_t IS NOT NULL AND epoch(d.to_t) - epoch(d.from_t) > cfg.ledger_gap_s
),
hrs AS (
    SELECT s.kind, s.from_t, s.to_t,
           unnest(generate_series(date_trunc('hour', s.from_t), s.to_t, INTERVAL 1 HOUR)) AS hs
    FROM s
)
SELECT hrs.kind, hrs.from_t, hrs.to_t,
       sum(greatest(epoch(least(hrs.hs + INTERVAL 1 HOUR, hrs.to_t)) - epoch(greatest(hrs.hs, hrs.from_t)), 0)
           / 3600.0 * coalesce(r.per_hour, 0)) AS expected
FROM hrs LEFT JOIN ledger_rate r ON r.kind = hrs.kind AND r.h = hour(hrs.hs)
GROUP BY hrs.kind, hrs.from_t, hrs.to_t;

-- Holes in the ledger's own record numbering (Keycloak JSON logging's
-- "sequence"): proof that lines were lost, where a silence is only a guess.
-- Holes inside a file come from the parser (sequence_gaps). Holes between
-- the files of one process (a rotated file ends at 500, the next starts at
-- 800) come from sequence_runs: a process's files in time order, when the
-- later starts above the earlier's last number + 1 and not before its last
-- time. A lower number is a restart, overlapping times a copy: no hole.
-- A log shipped filtered (only org.keycloak.events kept) misses numbers
-- between most of its lines by design, where lost lines leave a few holes:
-- when a process has a hole after more than half of its lines, its
-- numbering proves nothing and is not used.
CREATE OR REPLACE TABLE ledger_seq_filtered AS
SELECT r.kind, r.process, r.span, g.lost, g.holes
FROM (SELECT kind, process, sum(last_seq - first_seq + 1) AS span FROM sequence_runs GROUP BY ALL) r
JOIN (SELECT kind, process, sum(missing) AS lost, count(*) AS holes FROM sequence_gaps GROUP BY ALL) g USING (kind, process)
WHERE g.holes >= 10 AND g.holes * 2 > r.span - g.lost;

CREATE OR REPLACE TABLE ledger_seq_holes AS
SELECT * FROM (
SELECT kind, process, after_seq, before_seq, missing, from_t, to_t, src_file, src_line,
       NULL::VARCHAR AS after_file, NULL::BIGINT AS after_line, 'file' AS found
FROM sequence_gaps
UNION ALL
SELECT kind, process, after_seq, before_seq, before_seq - after_seq - 1, from_t, to_t, src_file, src_line,
       after_file, after_line, 'rotation'
FROM (
    SELECT kind, process, src_file, first_line AS src_line, first_seq AS before_seq, first_t AS to_t,
           lag(last_seq) OVER w AS after_seq, lag(last_t) OVER w AS from_t,
           lag(src_file) OVER w AS after_file, lag(last_line) OVER w AS after_line
    FROM sequence_runs
    WHERE first_t IS NOT NULL AND last_t IS NOT NULL
    WINDOW w AS (PARTITION BY kind, process ORDER BY first_t, first_seq, src_file)
) r
WHERE after_seq IS NOT NULL AND before_seq > after_seq + 1 AND to_t >= from_t
) h
WHERE NOT EXISTS (SELECT 1 FROM ledger_seq_filtered f WHERE f.kind = h.kind AND f.process = h.process);

-- An artifact issued inside a hole of its kind's numbering is in a gap
-- whatever the time-rate estimate says: lines were lost there. Its issue
-- time has whole seconds (iat), the hole's bounds milliseconds.
CREATE OR REPLACE TEMP TABLE artifact_seq_holes AS
WITH art_t AS (
    -- when it must have been issued: its iat, but no later than its first
    -- sighting (a token presented before its iat was not issued at iat)
    SELECT a.artifact_key, a.kind, least(coalesce(a.issued_at, st.first_seen), coalesce(st.first_seen, a.issued_at)) AS t
    FROM artifacts a LEFT JOIN artifact_stats st USING (artifact_key)
)
SELECT art_t.artifact_key,
       arg_max({'process': h.process, 'after_seq': h.after_seq, 'before_seq': h.before_seq, 'missing': h.missing,
                'from_t': h.from_t, 'to_t': h.to_t, 'file': h.src_file, 'line': h.src_line},
               (h.missing, h.from_t, h.src_file, h.src_line)) AS hole,
       count(*) AS holes
FROM art_t JOIN ledger_seq_holes h ON h.kind = art_t.kind
     AND art_t.t >= date_trunc('second', h.from_t) AND art_t.t <= h.to_t
GROUP BY art_t.artifact_key;

CREATE OR REPLACE TABLE matches AS
WITH best AS (
    SELECT artifact_key, arg_min(match_type, strength) AS match_type,
           arg_min(src_file, (strength, src_file, src_line)) AS match_file,
           arg_min(src_line, (strength, src_file, src_line)) AS match_line,
           arg_min(conflict, (strength, src_file, src_line)) AS conflict,
           count(*) AS candidates
    FROM match_candidates GROUP BY artifact_key
),
art_t AS (
    -- when it must have been issued: its iat, but no later than its first
    -- sighting (a token presented before its iat was not issued at iat);
    -- a credential known only by id, by its first use
    SELECT a.artifact_key, a.kind, least(coalesce(a.issued_at, st.first_seen), coalesce(st.first_seen, a.issued_at)) AS t,
           a.issued_at IS NULL AND a.sig_status = 'unverifiable' AND a.raw_sha256 IS NULL AS id_only
    FROM artifacts a LEFT JOIN artifact_stats st USING (artifact_key)
),
-- where each kind's ledger begins
ledger_first AS (SELECT kind, min(t) AS first_t FROM ledger_times GROUP BY kind),
prev AS (
    SELECT art_t.artifact_key, lt.t AS prev_t FROM art_t ASOF LEFT JOIN ledger_times lt
    ON art_t.kind = lt.kind AND art_t.t >= lt.t
),
nxt AS (
    SELECT art_t.artifact_key, lt.t AS next_t FROM art_t ASOF LEFT JOIN ledger_times lt
    ON art_t.kind = lt.kind AND art_t.t <= lt.t
)
SELECT art_t.artifact_key,
       coalesce(b.match_type, 'none') AS match_type,
       b.match_file, b.match_line, b.conflict,
       CASE WHEN sq.hole IS NOT NULL THEN 'gap'
            WHEN art_t.t IS NULL THEN 'outside'
            -- a credential known only by id may have been issued up to
            -- its lifetime before its first use: a ledger that begins
            -- later may not hold it
            WHEN art_t.id_only AND epoch(lf.first_t) > epoch(art_t.t) - cfg.id_lifetime_s THEN 'outside'
            -- within the match tolerance of the ledger's first or last record
            -- is still covered (a token's iat is whole seconds, a log's not)
            WHEN p.prev_t IS NULL AND epoch(n.next_t) - epoch(art_t.t) <= cfg.match_tolerance_s + 1 THEN 'covered'
            WHEN n.next_t IS NULL AND epoch(art_t.t) - epoch(p.prev_t) <= cfg.match_tolerance_s + 1 THEN 'covered'
            WHEN p.prev_t IS NULL OR n.next_t IS NULL THEN 'outside'
            WHEN sl.expected >= cfg.gap_expected THEN 'gap'
            ELSE 'covered' END AS coverage,
       CASE WHEN sq.hole IS NOT NULL
                THEN 'ledger lost ' || sq.hole.missing || ' line(s) (sequence '
                     || CASE WHEN sq.hole.missing = 1 THEN (sq.hole.after_seq + 1)::VARCHAR
                             ELSE (sq.hole.after_seq + 1) || '..' || (sq.hole.before_seq - 1) END
                     || ' of ' || sq.hole.process || ') between '
                     || strftime(sq.hole.from_t, '%Y-%m-%dT%H:%M:%S.%gZ') || ' and '
                     || strftime(sq.hole.to_t, '%Y-%m-%dT%H:%M:%S.%gZ')
                     || ' (' || sq.hole.file || ':' || sq.hole.line || ')'
                     || CASE WHEN sq.holes > 1 THEN '; ' || (sq.holes - 1) || ' more hole(s) span that time' ELSE '' END
            WHEN NOT EXISTS (SELECT 1 FROM ledger_times lt WHERE lt.kind = art_t.kind) THEN 'no issuance ledger for ' || art_t.kind || ' was given'
            WHEN art_t.t IS NULL THEN 'artifact has no issue time'
            WHEN art_t.id_only AND epoch(lf.first_t) > epoch(art_t.t) - cfg.id_lifetime_s
                THEN 'the ledger begins at ' || strftime(lf.first_t, '%Y-%m-%dT%H:%M:%SZ') || ', less than '
                     || round(cfg.id_lifetime_s / 60)::INTEGER || ' min before the first use at '
                     || strftime(art_t.t, '%Y-%m-%dT%H:%M:%SZ') || ': the credential may have been issued before it'
            WHEN p.prev_t IS NULL AND epoch(n.next_t) - epoch(art_t.t) <= cfg.match_tolerance_s + 1
                THEN 'at the ledger''s first record (' || strftime(n.next_t, '%Y-%m-%dT%H:%M:%SZ') || ')'
            WHEN n.next_t IS NULL AND epoch(art_t.t) - epoch(p.prev_t) <= cfg.match_tolerance_s + 1
                THEN 'at the ledger''s last record (' || strftime(p.prev_t, '%Y-%m-%dT%H:%M:%SZ') || ')'
            WHEN p.prev_t IS NULL THEN 'before the ledger''s first record'
            WHEN n.next_t IS NULL THEN 'after the ledger''s last record'
            WHEN sl.expected >= cfg.gap_expected
                THEN 'ledger silent from ' || strftime(p.prev_t, '%Y-%m-%dT%H:%M:%SZ') || ' to '
                     || strftime(n.next_t, '%Y-%m-%dT%H:%M:%SZ') || ' where ~' || round(sl.expected)::INTEGER
                     || ' issuances were expected (a gap)'
            WHEN sl.expected IS NOT NULL
                THEN 'ledger quiet from ' || strftime(p.prev_t, '%Y-%m-%dT%H:%M:%SZ') || ' to '
                     || strftime(n.next_t, '%Y-%m-%dT%H:%M:%SZ') || ', as usual at those hours (~'
                     || round(sl.expected, 1) || ' expected)' 
            ELSE 'ledger has records at ' || strftime(p.prev_t, '%Y-%m-%dT%H:%M:%SZ') || ' and '
                 || strftime(n.next_t, '%Y-%m-%dT%H:%M:%SZ') END AS coverage_note
FROM art_t
LEFT JOIN best b USING (artifact_key)
LEFT JOIN prev p USING (artifact_key)
LEFT JOIN nxt n USING (artifact_key)
LEFT JOIN ledger_silences sl ON sl.kind = art_t.kind AND sl.from_t = p.prev_t AND sl.to_t = n.next_t
LEFT JOIN artifact_seq_holes sq USING (artifact_key)
LEFT JOIN ledger_first lf ON lf.kind = art_t.kind
CROSS JOIN (SELECT * FROM settings LIMIT 1) cfg;
