-- The SM-DP+'s SM-DS operations (ES12 RegisterEvent / DeleteEvent), queued in the transaction
-- of the state change that asks for them (simforge-smdp's smds_queue) and delivered by the
-- SM-DS worker. Times: *_at in seconds, next_try_ms in milliseconds since the Unix epoch.
-- state: pending, done, failed (given up), superseded (a scheduled delete replaced before due).
CREATE TABLE rsp_smds_ops (
    id            INTEGER PRIMARY KEY,
    operator_id   INTEGER NOT NULL REFERENCES operators(id),
    iccid         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    smds_address  TEXT NOT NULL,
    eid           TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    due_at        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_try_ms   INTEGER NOT NULL,
    done_at       INTEGER,
    last_error    TEXT
);
CREATE INDEX rsp_smds_ops_due ON rsp_smds_ops (next_try_ms) WHERE state = 'pending';
CREATE INDEX rsp_smds_ops_event ON rsp_smds_ops (eid, event_id) WHERE state = 'pending';
CREATE INDEX rsp_smds_ops_operator ON rsp_smds_ops (operator_id, id);

-- The SM-DS at which the operator's orders register their events when ConfirmOrder names
-- none but gives (or has) the EID; NULL: none.
ALTER TABLE operators ADD COLUMN default_smds_address TEXT;
