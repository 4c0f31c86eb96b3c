-- ES2+ HandleDownloadProgressInfo callbacks: the operator's endpoint, and the delivery state of
-- the notification outbox (rsp_events). Times: *_at in seconds, next_try_ms in milliseconds
-- since the Unix epoch. An event is pending while delivered_at and failed_at are both NULL;
-- failed_at is set when delivery is given up after the last attempt.
CREATE TABLE operator_callbacks (
    operator_id   INTEGER PRIMARY KEY REFERENCES operators(id),
    url           TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);

ALTER TABLE rsp_events ADD COLUMN next_try_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rsp_events ADD COLUMN last_error TEXT;
ALTER TABLE rsp_events ADD COLUMN failed_at INTEGER;
CREATE INDEX rsp_events_outbox ON rsp_events (operator_id, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
