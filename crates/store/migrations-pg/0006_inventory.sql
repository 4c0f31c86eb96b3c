-- The operator's inventory search and a profile's history (issue 11); as SQLite's 0014.
--
-- History: each outbox event names its profile in its own column, filled by push_events and
-- here, for the events already recorded, from the JSON record (written by serde_json).
ALTER TABLE rsp_events ADD COLUMN iccid TEXT;
UPDATE rsp_events SET iccid = COALESCE(
        record::json -> 'DownloadProgress' ->> 'iccid',
        record::json -> 'ProfileState' ->> 'iccid')
    WHERE kind IN ('download_progress', 'profile_state');
CREATE INDEX rsp_events_profile ON rsp_events (operator_id, iccid, id);

-- Search in ICCID order, one index range per shape: (operator_id, iccid) without state,
-- (operator_id, state, iccid) by state (and by state and type, the type filtered in the
-- range), (operator_id, profile_type, iccid) by type. It replaces (operator_id, state), which
-- it covers (count_by_state). EID and matchingId: rsp_profiles_eid, the UNIQUE matching_id.
CREATE INDEX rsp_profiles_operator_iccid ON rsp_profiles (operator_id, iccid);
DROP INDEX rsp_profiles_operator_state;
CREATE INDEX rsp_profiles_operator_state ON rsp_profiles (operator_id, state, iccid);
CREATE INDEX rsp_profiles_operator_type ON rsp_profiles (operator_id, profile_type, iccid);
