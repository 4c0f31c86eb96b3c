-- Per operator ES2+ callback settings, as on SQLite (crates/store/migrations/0011): client
-- certificate chain (PEM) and its private key sealed by the vault, or the SM-DP+'s own TLS
-- identity; a CA bundle (PEM) for the endpoint; the retry horizon in hours (NULL: default).
ALTER TABLE operator_callbacks ADD COLUMN client_cert_pem TEXT;
ALTER TABLE operator_callbacks ADD COLUMN client_key_sealed BYTEA;
ALTER TABLE operator_callbacks ADD COLUMN use_server_identity BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE operator_callbacks ADD COLUMN ca_bundle_pem TEXT;
ALTER TABLE operator_callbacks ADD COLUMN retry_hours INTEGER;
