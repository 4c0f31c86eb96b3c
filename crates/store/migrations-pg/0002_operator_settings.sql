-- Operator settings of the SM-DP+ on PostgreSQL (operators themselves are not in this schema):
-- what ES9+.CancelSession does to the operator's profiles, per reason (simforge_smdp's
-- CancelSessionPolicy as text); no row or NULL: the default policy.
CREATE TABLE operator_settings (
    operator_id            BIGINT PRIMARY KEY,
    cancel_session_policy  TEXT
);
