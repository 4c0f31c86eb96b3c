-- The SM-DP+'s SM-DS operations, as on SQLite (crates/store/migrations/0016_smds_ops.sql).
CREATE TABLE rsp_smds_ops (
    id            BIGSERIAL PRIMARY KEY,
    operator_id   BIGINT NOT NULL,
    iccid         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    smds_address  TEXT NOT NULL,
    eid           TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    due_at        BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_try_ms   BIGINT NOT NULL,
    done_at       BIGINT,
    last_error    TEXT
);
CREATE INDEX rsp_smds_ops_due ON rsp_smds_ops (next_try_ms) WHERE state = 'pending';
CREATE INDEX rsp_smds_ops_event ON rsp_smds_ops (eid, event_id) WHERE state = 'pending';
CREATE INDEX rsp_smds_ops_operator ON rsp_smds_ops (operator_id, id);

-- The operator's default SM-DS (as on SQLite, there a column of operators).
ALTER TABLE operator_settings ADD COLUMN default_smds_address TEXT;
