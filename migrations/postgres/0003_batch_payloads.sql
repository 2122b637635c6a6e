-- The signed bytes of each batch move to a table of their own, written once
-- and never updated (the batch row is updated at the end of every ingest).
-- Same layout as SQLite, where keeping them inline meant copying every batch
-- twice.
CREATE TABLE batch_payloads (
    batch_id        TEXT    PRIMARY KEY REFERENCES batches(id),
    raw             BYTEA   NOT NULL
);
INSERT INTO batch_payloads (batch_id, raw) SELECT id, raw FROM batches;
ALTER TABLE batches DROP COLUMN raw;
