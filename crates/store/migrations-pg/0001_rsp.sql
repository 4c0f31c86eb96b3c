-- SM-DP+ state on PostgreSQL (simforge-store's PgStore): the same records as the SQLite
-- store's rsp_* tables (crates/store/migrations), for several SM-DP+ instances sharing one
-- database. Every row carries its operator (tenant); the full record is kept as JSON next to
-- the columns that are queried; the package is sealed by the vault before it gets here.
-- Operators themselves (and their credentials) are not in this schema yet: operator_id is the
-- tenant number the SM-DP+ is given.
CREATE TABLE rsp_profiles (
    iccid         TEXT PRIMARY KEY,
    operator_id   BIGINT NOT NULL,
    profile_type  TEXT NOT NULL,
    state         TEXT NOT NULL,
    eid           TEXT,
    matching_id   TEXT UNIQUE,
    version       BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    record        TEXT NOT NULL
);
CREATE INDEX rsp_profiles_available ON rsp_profiles (operator_id, profile_type, iccid)
    WHERE state = 'available';
CREATE INDEX rsp_profiles_operator_state ON rsp_profiles (operator_id, state);
CREATE INDEX rsp_profiles_eid ON rsp_profiles (eid) WHERE eid IS NOT NULL;

-- Sealed packages apart from the rows that change on every call.
CREATE TABLE rsp_packages (
    iccid    TEXT PRIMARY KEY REFERENCES rsp_profiles (iccid),
    package  BYTEA NOT NULL
);

-- Every session, Initiated ones included: any instance can serve any call of a download.
CREATE TABLE rsp_sessions (
    transaction_id TEXT PRIMARY KEY,
    operator_id    BIGINT,
    expires_at     BIGINT NOT NULL,
    record         TEXT NOT NULL
);
CREATE INDEX rsp_sessions_expiry ON rsp_sessions (expires_at);
-- Sessions no profile was bound to are purged as soon as they expire (bound ones 30 days
-- later): their own index, so that the purge reads only what it deletes.
CREATE INDEX rsp_sessions_unbound_expiry ON rsp_sessions (expires_at) WHERE operator_id IS NULL;

-- The operator notification outbox.
CREATE TABLE rsp_events (
    id            BIGSERIAL PRIMARY KEY,
    operator_id   BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    record        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    delivered_at  BIGINT,
    failed_at     BIGINT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_try_ms   BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT
);
CREATE INDEX rsp_events_outbox ON rsp_events (operator_id, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

-- ES2+ HandleDownloadProgressInfo callbacks: the operator's endpoint. Times: *_at in seconds,
-- next_try_ms in milliseconds since the Unix epoch (as on SQLite).
CREATE TABLE operator_callbacks (
    operator_id   BIGINT PRIMARY KEY,
    url           TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);
