-- RSP sessions keyed by their transactionId alone (WITHOUT ROWID): one B-tree instead of a
-- rowid table plus the index of its TEXT primary key, one page write fewer per inserted or
-- deleted session. Sessions in state Initiated are no longer stored here (kept in memory by
-- the SM-DP+ store until AuthenticateClient binds a profile). No index on expires_at: no query
-- uses it (nothing purges sessions by age; a download's session ends with its notification,
-- CancelSession or a failed call), and it cost a page write per stored and per deleted session.
CREATE TABLE rsp_sessions_new (
    transaction_id TEXT PRIMARY KEY,
    operator_id    INTEGER REFERENCES operators(id),
    expires_at     INTEGER NOT NULL,
    record         TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO rsp_sessions_new (transaction_id, operator_id, expires_at, record)
    SELECT transaction_id, operator_id, expires_at, record FROM rsp_sessions;
DROP TABLE rsp_sessions;
ALTER TABLE rsp_sessions_new RENAME TO rsp_sessions;

-- A profile's pending downloads by EID (AuthenticateClient without matchingId): an index on the
-- EID alone, filtered on the state from the (few) rows of that EID. With the state in the key,
-- every state change of a profile rewrote an index entry (and a page of the WAL).
DROP INDEX IF EXISTS rsp_profiles_eid;
CREATE INDEX rsp_profiles_eid ON rsp_profiles (eid);
