-- Per operator ES2+ callback settings: the TLS client identity the SM-DP+ presents to the
-- operator's endpoint (a certificate chain in PEM and its private key sealed by the vault,
-- or the SM-DP+'s own TLS identity), the CA bundle (PEM) that endpoint is verified against
-- besides the web PKI, and how long an event is retried before it is given up (hours; NULL:
-- the server's default).
ALTER TABLE operator_callbacks ADD COLUMN client_cert_pem TEXT;
ALTER TABLE operator_callbacks ADD COLUMN client_key_sealed BLOB;
ALTER TABLE operator_callbacks ADD COLUMN use_server_identity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operator_callbacks ADD COLUMN ca_bundle_pem TEXT;
ALTER TABLE operator_callbacks ADD COLUMN retry_hours INTEGER;
