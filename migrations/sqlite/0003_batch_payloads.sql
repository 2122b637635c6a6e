-- The signed bytes of each batch move to a table of their own. They are
-- written once and never change, while the batch row is updated at the end of
-- every ingest (its summary and duration): SQLite rewrites a whole row on
-- UPDATE, so with the bytes inline every batch was copied twice.
CREATE TABLE batch_payloads (
    batch_id        TEXT    PRIMARY KEY REFERENCES batches(id),
    raw             BLOB    NOT NULL
);
INSERT INTO batch_payloads (batch_id, raw) SELECT id, raw FROM batches;
ALTER TABLE batches DROP COLUMN raw;
