-- Counters every node of a cluster reads: e.g. `keys`, bumped by `simforge pki reload` or
-- the operator API to have every node reload its keys (each polls it).
CREATE TABLE cluster_state (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
