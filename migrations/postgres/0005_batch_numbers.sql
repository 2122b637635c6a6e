-- Per-result rows name their batch by a small integer instead of its UUID,
-- and an evidence record takes the id of the check result it documents.
--
-- Measured at 100,000 results per batch: the 36-character batch id was
-- written into three rows per result (check_results, history, revisions), and
-- each write looked it up in the batches index as a foreign key. With
-- evidence.id = check_result_id, writing a revision needs no lookup of the
-- evidence record at all (evidence stays 1:1 with its result, and keeps its
-- id if the result row is ever removed).

DROP VIEW evidence_latest;

-- `number`: 1, 2, … in order of receipt; new batches draw the next one.
ALTER TABLE batches ADD COLUMN number BIGINT;
UPDATE batches SET number = n.number
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY received_at, id) AS number FROM batches) n
WHERE n.id = batches.id;
ALTER TABLE batches ALTER COLUMN number SET NOT NULL;
ALTER TABLE batches ALTER COLUMN number ADD GENERATED ALWAYS AS IDENTITY;
ALTER TABLE batches ADD CONSTRAINT batches_number_key UNIQUE (number);
SELECT setval(pg_get_serial_sequence('batches', 'number'),
              COALESCE((SELECT MAX(number) FROM batches), 0) + 1, false);

ALTER TABLE check_results ADD COLUMN batch_number BIGINT REFERENCES batches(number);
UPDATE check_results r SET batch_number = b.number FROM batches b WHERE b.id = r.batch_id;
ALTER TABLE check_results ALTER COLUMN batch_number SET NOT NULL, DROP COLUMN batch_id;

ALTER TABLE check_result_history ADD COLUMN batch_number BIGINT REFERENCES batches(number);
UPDATE check_result_history h SET batch_number = b.number FROM batches b WHERE b.id = h.batch_id;
ALTER TABLE check_result_history ALTER COLUMN batch_number SET NOT NULL, DROP COLUMN batch_id;

ALTER TABLE evidence_revisions ADD COLUMN batch_number BIGINT REFERENCES batches(number);
UPDATE evidence_revisions r SET batch_number = b.number FROM batches b WHERE b.id = r.batch_id;
ALTER TABLE evidence_revisions ALTER COLUMN batch_number SET NOT NULL, DROP COLUMN batch_id;

-- Renumber evidence to its result's id. Unique keys are checked row by row,
-- so ids pass through negative values to never meet an id not yet moved.
ALTER TABLE evidence_revisions DROP CONSTRAINT evidence_revisions_evidence_id_fkey;
UPDATE evidence_revisions r SET evidence_id = -e.check_result_id
FROM evidence e WHERE e.id = r.evidence_id;
UPDATE evidence_revisions SET evidence_id = -evidence_id;
ALTER TABLE evidence ALTER COLUMN id DROP IDENTITY;
UPDATE evidence SET id = -check_result_id;
UPDATE evidence SET id = -id;
-- The result's id is the record's id: UNIQUE (check_result_id) is implied.
ALTER TABLE evidence DROP CONSTRAINT evidence_check_result_id_key,
    ADD CONSTRAINT evidence_id_is_result CHECK (id = check_result_id);
ALTER TABLE evidence_revisions ADD CONSTRAINT evidence_revisions_evidence_id_fkey
    FOREIGN KEY (evidence_id) REFERENCES evidence(id);

-- Results stored before evidence existed (migration 0002 created none for
-- them) get their record now: ingest writes a revision for every result it
-- sees, under the result's id. Their first revision is the next observation.
INSERT INTO evidence (id, tenant_id, check_result_id, check_id, status, is_continuous,
    asset_name, asset_type, asset_source_id, created_at)
SELECT r.id, r.tenant_id, r.id, r.check_id, 'in_review', TRUE, a.name, a.kind, a.source_id,
    r.first_seen_at
FROM check_results r JOIN assets a ON a.id = r.asset_id
WHERE NOT EXISTS (SELECT 1 FROM evidence e WHERE e.id = r.id);

CREATE VIEW evidence_latest AS
SELECT e.id AS evidence_id, r.version AS revisions, r.created_at AS updated_at,
       r.result_status, b.id AS batch_id
FROM evidence e
JOIN evidence_revisions r ON r.evidence_id = e.id
JOIN batches b ON b.number = r.batch_number
WHERE r.version = (SELECT MAX(v.version) FROM evidence_revisions v WHERE v.evidence_id = e.id);
