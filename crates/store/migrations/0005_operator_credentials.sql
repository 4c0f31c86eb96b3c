-- ES2+ operator credentials: API keys and client certificates (mutual TLS). Only the SHA-256
-- (hex) of an API key, or of a certificate's DER, is kept; `label` is a non-secret hint (the
-- key's first characters, or the certificate's subject). A credential is active while
-- revoked_at is NULL; an active hash belongs to exactly one operator. Times in seconds since
-- the Unix epoch.
CREATE TABLE operator_credentials (
    id           INTEGER PRIMARY KEY,
    operator_id  INTEGER NOT NULL REFERENCES operators(id),
    kind         TEXT NOT NULL CHECK (kind IN ('api_key', 'client_cert')),
    sha256       TEXT NOT NULL,
    label        TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX operator_credentials_active ON operator_credentials (kind, sha256)
    WHERE revoked_at IS NULL;
CREATE INDEX operator_credentials_operator ON operator_credentials (operator_id, id);
