-- Operator settings of the SM-DP+: the default for profiles imported without an explicit
-- choice — after a delete notification, back to Available (1) or Unavailable (0).
ALTER TABLE operators ADD COLUMN reuse_on_delete INTEGER NOT NULL DEFAULT 0;
