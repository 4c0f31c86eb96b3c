-- What ES9+.CancelSession does to an operator's profiles, per reason (simforge_smdp's
-- CancelSessionPolicy as text, "end-user-rejection=release,…"); NULL: the default policy.
ALTER TABLE operators ADD COLUMN cancel_session_policy TEXT;
