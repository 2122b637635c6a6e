-- Evidence revisions point at the signed bytes of their result instead of
-- holding a JSON copy of it: `result_offset`/`result_len` are the result's
-- byte range in the payload of the stored batch (batch_payloads.raw), which is
-- what the agent signed; the batch row already carries the SHA-256, so the
-- per-revision copy goes too. Measured at 100,000 results per batch the copies
-- were ~30 MB of extra writes per ingest.
--
-- Revisions stored before this migration keep their JSON copy (`raw_output`)
-- and have no range. SQLite cannot relax NOT NULL in place, so the table is
-- rebuilt.
CREATE TABLE evidence_revisions_new (
    id              INTEGER PRIMARY KEY,
    evidence_id     INTEGER NOT NULL REFERENCES evidence(id),
    version         INTEGER NOT NULL,
    result_status   TEXT    NOT NULL,
    batch_id        TEXT    NOT NULL REFERENCES batches(id),
    result_offset   INTEGER,
    result_len      INTEGER,
    raw_output      TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (evidence_id, version),
    CHECK ((result_offset IS NOT NULL AND result_len IS NOT NULL) OR raw_output IS NOT NULL)
);
INSERT INTO evidence_revisions_new (id, evidence_id, version, result_status, batch_id,
    raw_output, created_at)
SELECT id, evidence_id, version, result_status, batch_id, raw_output, created_at
FROM evidence_revisions;
DROP TABLE evidence_revisions;
ALTER TABLE evidence_revisions_new RENAME TO evidence_revisions;

-- An evidence record's name was `<check> on <asset source id>`, both of which
-- the record keeps: readers compose it, ingest no longer writes it per result.
ALTER TABLE evidence DROP COLUMN name;

-- A record's revision count and last update were columns rewritten for every
-- result of every batch (100,000 row updates per rescan of 100,000 results).
-- They are the latest revision's version and time: a view gives them.
ALTER TABLE evidence DROP COLUMN revisions;
ALTER TABLE evidence DROP COLUMN updated_at;
CREATE VIEW evidence_latest AS
SELECT e.id AS evidence_id, r.version AS revisions, r.created_at AS updated_at,
       r.result_status, r.batch_id
FROM evidence e
JOIN evidence_revisions r ON r.evidence_id = e.id
WHERE r.version = (SELECT MAX(v.version) FROM evidence_revisions v WHERE v.evidence_id = e.id);

-- How many batches have observed each result: the version of the revision the
-- next batch adds. The results upsert rewrites the row anyway, so counting
-- here is free, where looking up each record's latest revision was not.
ALTER TABLE check_results ADD COLUMN observations INTEGER NOT NULL DEFAULT 1;
UPDATE check_results SET observations = COALESCE((
    SELECT MAX(r.version) FROM evidence e JOIN evidence_revisions r ON r.evidence_id = e.id
    WHERE e.check_result_id = check_results.id), 1);
