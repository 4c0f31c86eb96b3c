-- Profile packages in a table of their own. A profile's row changes on every ES9+ call; its
-- sealed package (several KiB, stored on overflow pages) does not. With the package in the
-- same row, every state change rewrote the package's pages too (write-ahead log, checkpoint).
CREATE TABLE rsp_packages (
    iccid    TEXT PRIMARY KEY REFERENCES rsp_profiles(iccid),
    package  BLOB NOT NULL
);
INSERT INTO rsp_packages (iccid, package) SELECT iccid, package FROM rsp_profiles;
ALTER TABLE rsp_profiles DROP COLUMN package;

-- The outbox claim finds the operators' queue heads through rsp_events_outbox (partial index of
-- the pending events, 0003); rsp_events_pending only cost a page write per committed event.
DROP INDEX IF EXISTS rsp_events_pending;
