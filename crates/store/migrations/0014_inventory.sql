-- The operator's inventory search and a profile's history (issue 11).
--
-- History: each outbox event names its profile in its own column, filled by push_events and
-- here, for the events already recorded, from the JSON record (Event::DownloadProgress and
-- Event::ProfileState both carry the ICCID). A profile's events are one index range.
ALTER TABLE rsp_events ADD COLUMN iccid TEXT;
UPDATE rsp_events SET iccid = COALESCE(
        json_extract(record, '$.DownloadProgress.iccid'),
        json_extract(record, '$.ProfileState.iccid'))
    WHERE kind IN ('download_progress', 'profile_state') AND json_valid(record);
CREATE INDEX rsp_events_profile ON rsp_events (operator_id, iccid, id);

-- Search: `WHERE operator_id = ? [AND state = ?] [AND profile_type = ?] [AND iccid >= prefix
-- AND iccid < bound] [AND iccid > after] ORDER BY iccid LIMIT n` is one index range read in
-- order, whichever filters are given: (operator_id, iccid) without state or type,
-- (operator_id, state, iccid) by state, (operator_id, profile_type, iccid) by type,
-- rsp_profiles_available (operator_id, profile_type, state, iccid) by both. By EID or
-- matchingId: rsp_profiles_eid, the UNIQUE index of matching_id. Of these only
-- (operator_id, state, iccid) changes with a profile's state (SQLite leaves an index alone
-- when an UPDATE does not set its columns): one more index entry rewritten per state change.
CREATE INDEX rsp_profiles_operator_iccid ON rsp_profiles (operator_id, iccid);
CREATE INDEX rsp_profiles_operator_state ON rsp_profiles (operator_id, state, iccid);
CREATE INDEX rsp_profiles_operator_type ON rsp_profiles (operator_id, profile_type, iccid);
