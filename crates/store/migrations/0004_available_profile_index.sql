-- ES2+ DownloadOrder by profile type takes the first available profile in ICCID order. With the
-- index of 0002 (operator_id, profile_type, state) SQLite read and sorted every available row
-- (records and packages included) for each order; with iccid in the index the first row is the
-- answer.
DROP INDEX IF EXISTS rsp_profiles_available;
CREATE INDEX rsp_profiles_available ON rsp_profiles (operator_id, profile_type, state, iccid);
