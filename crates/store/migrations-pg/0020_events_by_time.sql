-- An operator's events by time: the dashboards' activity (downloads per hour, failures by
-- reason) reads one range of this index.
CREATE INDEX rsp_events_time ON rsp_events (operator_id, created_at);
