-- Operators (tenants) of the platform.
CREATE TABLE operators (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    mcc           TEXT NOT NULL,
    mnc           TEXT NOT NULL,
    iccid_prefix  TEXT NOT NULL,
    iccid_len     INTEGER NOT NULL CHECK (iccid_len IN (19, 20)),
    spn           TEXT NOT NULL,
    out_columns   TEXT,
    created_at    TEXT NOT NULL
);

-- Operator keys, sealed by the vault (never stored in clear).
CREATE TABLE operator_keys (
    operator_id   INTEGER NOT NULL REFERENCES operators(id),
    kind          TEXT NOT NULL CHECK (kind IN ('transport', 'op')),
    idx           INTEGER NOT NULL,
    bits          INTEGER NOT NULL,
    sealed        BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (operator_id, kind, idx)
);

-- Batches and the ICCID/IMSI ranges they hold. A range is reserved (row inserted) before any card
-- is generated; ranges of batches that are not 'released' never overlap (checked in the same
-- write transaction as the insert).
CREATE TABLE batches (
    id            INTEGER PRIMARY KEY,
    operator_id   INTEGER NOT NULL REFERENCES operators(id),
    name          TEXT NOT NULL,
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    iccid_len     INTEGER NOT NULL,
    iccid_first   INTEGER NOT NULL,
    iccid_last    INTEGER NOT NULL,
    imsi_len      INTEGER NOT NULL,
    imsi_first    INTEGER NOT NULL,
    imsi_last     INTEGER NOT NULL,
    kid           INTEGER NOT NULL,
    opid          INTEGER NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('generating', 'complete', 'released')),
    plan          TEXT NOT NULL,
    output_dir    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    completed_at  TEXT,
    UNIQUE (operator_id, name)
);
CREATE INDEX batches_iccid ON batches (iccid_len, iccid_first);
CREATE INDEX batches_imsi ON batches (imsi_len, imsi_first);
