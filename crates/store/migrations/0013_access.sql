-- Principals (simforge-access): users, their sessions, and API tokens. No secret in clear:
-- passwords as argon2id PHC strings, TOTP secrets sealed by the vault, session and token
-- secrets as SHA-256 (hex). tenant is the operator id, NULL for the platform's users and
-- tokens; no foreign key (as audit_log: rows outlive nothing, users are disabled, not deleted).
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    tenant INTEGER,
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_phc TEXT NOT NULL,
    totp_sealed BLOB,
    totp_last_step INTEGER,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL
);
CREATE INDEX users_tenant ON users (tenant, id);

CREATE TABLE user_sessions (
    hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    tenant INTEGER,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant, id);
