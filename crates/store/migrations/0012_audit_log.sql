-- The tamper-evident audit log (simforge-audit): one hash-chained entry per state-changing
-- call. seq is contiguous from 1; prev_hash/hash are hex SHA-256 over the entry's canonical
-- encoding. No foreign key: entries outlive the operators they name.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    tenant INTEGER,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    source TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant, seq);
