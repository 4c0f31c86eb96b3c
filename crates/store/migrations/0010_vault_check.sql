-- A value sealed under the master key when the database was first opened with one: at start,
-- unsealing it proves the master key is the one that sealed the database's keys and
-- profiles (a wrong key is refused at start, not at the first download). One row.
CREATE TABLE vault_check (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint  TEXT NOT NULL,
    sealed       BLOB NOT NULL,
    created_at   TEXT NOT NULL
);
