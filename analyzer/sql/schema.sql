-- The case schema at version 3 (analyzer.baseSchemaVersion). Frozen: a
-- change is a new entry of analyzer.migrations, so that older cases are
-- upgraded. Tables loaded from Arrow batches (sightings, issuances, rejects,
-- artifacts, artifact_raw) keep the column order of their Arrow schemas
-- (TestArrowSchemasMatchTables).
CREATE TABLE IF NOT EXISTS meta (
    name  VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE IF NOT EXISTS keys (
    key_fp       VARCHAR,
    kid          VARCHAR,
    key_type     VARCHAR,
    bits         INTEGER,
    role         VARCHAR,   -- exposed, trusted
    exposed_from TIMESTAMP,
    revoked_at   TIMESTAMP,
    label        VARCHAR,
    source       VARCHAR
);

CREATE TABLE IF NOT EXISTS sources (
    path        VARCHAR,
    size        BIGINT,
    sha256      VARCHAR,
    format      VARCHAR,
    compression VARCHAR,
    records     BIGINT,    -- sightings + issuances + rejects
    sightings   BIGINT,
    issuances   BIGINT,
    rejects     BIGINT,
    first_time  TIMESTAMP,
    last_time   TIMESTAMP,
    status      VARCHAR,   -- complete, partial (read error; what was read is kept)
    error       VARCHAR,   -- read error, skip reason, or "accounting mismatch: read N, accounted M"
    ingested_at TIMESTAMP,
    records_read    BIGINT,  -- records the reader counted: = sightings + issuances + rejects + ignored
    ignored         BIGINT,  -- records read that carry nothing to hunt (no token, an event that issues nothing)
    ignored_reasons VARCHAR, -- JSON object: reason -> count
    sequence_gaps   BIGINT,  -- holes in the file's own record numbering (at most 10000 stored in sequence_gaps)
    envelope        VARCHAR, -- line envelope unwrapped: journald/syslog, cri, docker-json, timestamp; NULL for none
    salvaged        BIGINT,  -- sightings salvaged from rejected records (not counted in sightings)
    salvaged_lines  BIGINT   -- rejected records that gave at least one
);

CREATE TABLE IF NOT EXISTS sightings (
    artifact_key VARCHAR,
    kind         VARCHAR,
    observed_at  TIMESTAMP,
    source       VARCHAR,
    observer     VARCHAR,
    principal    VARCHAR,
    client_ip    VARCHAR,
    client_net   VARCHAR,   -- IPv4 /24 or IPv6 /64 of client_ip
    client_ip_hex VARCHAR,  -- 32 hex digits of the 128-bit address (IPv4 mapped), for range tests
    user_agent   VARCHAR,
    action       VARCHAR,
    outcome      VARCHAR,
    attrs        VARCHAR,
    src_file     VARCHAR,
    src_line     BIGINT,
    src_format   VARCHAR,
    salvaged     VARCHAR,   -- reject reason of the line the token was salvaged from; NULL for a parsed line
    ambiguous    BOOLEAN    -- salvaged from a line with several tokens or a duplicated key
);

CREATE TABLE IF NOT EXISTS issuances (
    kind        VARCHAR,
    issuer      VARCHAR,
    artifact_id VARCHAR,
    raw_sha256  VARCHAR,
    subject     VARCHAR,
    audience    VARCHAR,
    key_ref     VARCHAR,
    issued_at   TIMESTAMP,
    expires_at  TIMESTAMP,
    attrs       VARCHAR,
    src_file    VARCHAR,
    src_line    BIGINT,
    src_format  VARCHAR
);

CREATE TABLE IF NOT EXISTS rejects (
    src_file   VARCHAR,
    src_line   BIGINT,
    src_format VARCHAR,
    reason     VARCHAR,
    excerpt    VARCHAR
);

-- Holes in a ledger's own record numbering (Keycloak JSON logging's
-- "sequence"), found inside one file: the numbers after_seq+1 .. before_seq-1
-- of process never appeared, so missing lines were lost between from_t and
-- to_t. src_file:src_line is the line after the hole. kind is the artifact
-- kind whose ledger the file is.
CREATE TABLE IF NOT EXISTS sequence_gaps (
    kind       VARCHAR,
    src_file   VARCHAR,
    src_line   BIGINT,
    process    VARCHAR,   -- Keycloak: hostName/processId
    after_seq  BIGINT,
    before_seq BIGINT,
    missing    BIGINT,
    from_t     TIMESTAMP, -- time of the line numbered after_seq
    to_t       TIMESTAMP  -- time of the line numbered before_seq
);

-- Each numbering process of each file: the lowest number of its first run
-- and the highest of its last (a restart starts a new run), so that holes
-- between rotated files of one process are found (match.sql).
CREATE TABLE IF NOT EXISTS sequence_runs (
    kind       VARCHAR,
    src_file   VARCHAR,
    process    VARCHAR,
    first_seq  BIGINT,
    first_t    TIMESTAMP,
    first_line BIGINT,
    last_seq   BIGINT,
    last_t     TIMESTAMP,
    last_line  BIGINT
);

-- One row per distinct artifact, verified once.
CREATE TABLE IF NOT EXISTS artifacts (
    artifact_key VARCHAR,
    kind         VARCHAR,
    raw_sha256   VARCHAR,
    artifact_id  VARCHAR,
    issuer       VARCHAR,
    subject      VARCHAR,
    audience     VARCHAR,   -- comma-separated when the token lists several
    azp          VARCHAR,
    kid          VARCHAR,
    alg          VARCHAR,
    issued_at    TIMESTAMP,
    not_before   TIMESTAMP,
    expires_at   TIMESTAMP,
    header       VARCHAR,   -- decoded JSON header
    claims       VARCHAR,   -- decoded JSON claims
    sig_status   VARCHAR,   -- valid, invalid, unknown-key, unverifiable, malformed
    signer_fp    VARCHAR,
    verify_note  VARCHAR,
    sig_flags    VARCHAR[]  -- facts for rules: payload-not-json, padded-base64, non-canonical-base64, alg-case, alg-none, hmac-with-public-key, duplicate-key
);

-- The raw artifact, kept so that a re-run with other keys can verify again.
-- Never printed by forgehunt; a token's signature is a credential.
CREATE TABLE IF NOT EXISTS artifact_raw (
    artifact_key VARCHAR,
    raw          VARCHAR
);

CREATE TABLE IF NOT EXISTS findings (
    rule_id      VARCHAR,
    level        VARCHAR,
    title        VARCHAR,
    kind         VARCHAR,
    artifact_key VARCHAR,
    artifact_id  VARCHAR,
    issuer       VARCHAR,
    subject      VARCHAR,
    signer_fp    VARCHAR,
    first_seen   TIMESTAMP,
    last_seen    TIMESTAMP,
    sightings    BIGINT,
    accepted     BIGINT,
    observers    VARCHAR[],
    principals   VARCHAR[],
    client_ips   VARCHAR[],
    reason       VARCHAR,
    coverage     VARCHAR,
    evidence     STRUCT(file VARCHAR, line BIGINT)[],
    status       VARCHAR,
    note         VARCHAR,
    subject_name VARCHAR,   -- preferred_username, upn or email from the claims
    salvaged     BIGINT,    -- sightings salvaged from rejected lines (evidence a format could not parse)
    ambiguous    BOOLEAN    -- a salvaged line carried several tokens or a duplicated key
);

-- Analysts' triage marks, kept apart from findings so that re-running the
-- rules never loses them.
CREATE TABLE IF NOT EXISTS triage (
    rule_id      VARCHAR,
    artifact_key VARCHAR,
    status       VARCHAR,   -- open, forged, benign, needs-review
    note         VARCHAR,
    updated_at   TIMESTAMP,
    PRIMARY KEY (rule_id, artifact_key)
);

CREATE TABLE IF NOT EXISTS rule_runs (
    rule_id  VARCHAR,
    source   VARCHAR,
    status   VARCHAR,   -- ok, error, skipped
    hits     BIGINT,
    error    VARCHAR,
    millis   BIGINT
);
