-- SM-DP+ state (simforge-smdp): profiles with their orders, RSP sessions and the operator
-- notification outbox. Every row carries its operator (tenant). The full record is kept as
-- JSON next to the columns that are queried; the profile package is sealed by the vault.
CREATE TABLE rsp_profiles (
    iccid         TEXT PRIMARY KEY,
    operator_id   INTEGER NOT NULL REFERENCES operators(id),
    profile_type  TEXT NOT NULL,
    state         TEXT NOT NULL,
    eid           TEXT,
    matching_id   TEXT UNIQUE,
    version       INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    record        TEXT NOT NULL,
    package       BLOB NOT NULL
);
CREATE INDEX rsp_profiles_available ON rsp_profiles (operator_id, profile_type, state);
CREATE INDEX rsp_profiles_eid ON rsp_profiles (eid, state);

CREATE TABLE rsp_sessions (
    transaction_id TEXT PRIMARY KEY,
    operator_id    INTEGER REFERENCES operators(id),
    expires_at     INTEGER NOT NULL,
    record         TEXT NOT NULL
);
CREATE INDEX rsp_sessions_expiry ON rsp_sessions (expires_at);

CREATE TABLE rsp_events (
    id            INTEGER PRIMARY KEY,
    operator_id   INTEGER NOT NULL REFERENCES operators(id),
    kind          TEXT NOT NULL,
    record        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    delivered_at  INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rsp_events_pending ON rsp_events (delivered_at, id);
