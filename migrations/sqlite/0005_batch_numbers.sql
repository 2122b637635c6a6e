-- Per-result rows name their batch by a small integer instead of its UUID,
-- and an evidence record takes the id of the check result it documents.
--
-- Measured at 100,000 results per batch: the 36-character batch id was
-- written into three rows per result (check_results, history, revisions), and
-- each write looked it up in the batches index as a foreign key; an integer
-- key halves the revision and history rows and makes that lookup a rowid
-- search. With evidence.id = check_result_id, writing a revision needs no
-- lookup of the evidence record at all (evidence stays 1:1 with its result,
-- and keeps its id if the result row is ever removed).
--
-- SQLite cannot change a column's type or references in place: the four
-- tables are rebuilt (children after parents, old children dropped before
-- their parents), then renamed, which also renames the references to them.

DROP VIEW evidence_latest;
DROP VIEW evidence_controls;
DROP VIEW applied_control_assets;

-- `number`: 1, 2, … in order of receipt; ingest assigns the next one.
ALTER TABLE batches ADD COLUMN number INTEGER;
UPDATE batches SET number = n.number
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY received_at, id) AS number FROM batches) n
WHERE n.id = batches.id;
CREATE UNIQUE INDEX batches_number ON batches (number);

CREATE TABLE check_results_new (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    check_id        TEXT    NOT NULL,
    asset_id        INTEGER NOT NULL REFERENCES assets(id),
    status          TEXT    NOT NULL,
    status_extended TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    observed_at     INTEGER NOT NULL,
    first_seen_at   INTEGER NOT NULL,
    batch_number    INTEGER NOT NULL REFERENCES batches(number),
    observations    INTEGER NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, check_id, asset_id),
    FOREIGN KEY (tenant_id, check_id) REFERENCES security_checks(tenant_id, id)
);
INSERT INTO check_results_new (id, tenant_id, check_id, asset_id, status, status_extended,
    severity, observed_at, first_seen_at, batch_number, observations)
SELECT r.id, r.tenant_id, r.check_id, r.asset_id, r.status, r.status_extended, r.severity,
    r.observed_at, r.first_seen_at, b.number, r.observations
FROM check_results r JOIN batches b ON b.id = r.batch_id;

CREATE TABLE check_result_history_new (
    id              INTEGER PRIMARY KEY,
    check_result_id INTEGER NOT NULL REFERENCES check_results_new(id),
    previous_status TEXT,
    status          TEXT    NOT NULL,
    changed_at      INTEGER NOT NULL,
    batch_number    INTEGER NOT NULL REFERENCES batches(number)
);
INSERT INTO check_result_history_new (id, check_result_id, previous_status, status, changed_at,
    batch_number)
SELECT h.id, h.check_result_id, h.previous_status, h.status, h.changed_at, b.number
FROM check_result_history h JOIN batches b ON b.id = h.batch_id;

-- The result's id is the record's id: UNIQUE (check_result_id) is implied.
CREATE TABLE evidence_new (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    check_result_id INTEGER NOT NULL REFERENCES check_results_new(id),
    check_id        TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    is_continuous   BOOLEAN NOT NULL,
    asset_name      TEXT,
    asset_type      TEXT    NOT NULL,
    asset_source_id TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    CHECK (id = check_result_id)
);
INSERT INTO evidence_new (id, tenant_id, check_result_id, check_id, status, is_continuous,
    asset_name, asset_type, asset_source_id, created_at)
SELECT check_result_id, tenant_id, check_result_id, check_id, status, is_continuous,
    asset_name, asset_type, asset_source_id, created_at
FROM evidence;
-- Results stored before evidence existed (migration 0002 created none for
-- them) get their record now: ingest writes a revision for every result it
-- sees, under the result's id. Their first revision is the next observation.
INSERT INTO evidence_new (id, tenant_id, check_result_id, check_id, status, is_continuous,
    asset_name, asset_type, asset_source_id, created_at)
SELECT r.id, r.tenant_id, r.id, r.check_id, 'in_review', TRUE, a.name, a.kind, a.source_id,
    r.first_seen_at
FROM check_results_new r JOIN assets a ON a.id = r.asset_id
WHERE NOT EXISTS (SELECT 1 FROM evidence_new e WHERE e.id = r.id);

CREATE TABLE evidence_revisions_new (
    id              INTEGER PRIMARY KEY,
    evidence_id     INTEGER NOT NULL REFERENCES evidence_new(id),
    version         INTEGER NOT NULL,
    result_status   TEXT    NOT NULL,
    batch_number    INTEGER NOT NULL REFERENCES batches(number),
    result_offset   INTEGER,
    result_len      INTEGER,
    raw_output      TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (evidence_id, version),
    CHECK ((result_offset IS NOT NULL AND result_len IS NOT NULL) OR raw_output IS NOT NULL)
);
INSERT INTO evidence_revisions_new (id, evidence_id, version, result_status, batch_number,
    result_offset, result_len, raw_output, created_at)
SELECT r.id, e.check_result_id, r.version, r.result_status, b.number, r.result_offset,
    r.result_len, r.raw_output, r.created_at
FROM evidence_revisions r JOIN evidence e ON e.id = r.evidence_id
    JOIN batches b ON b.id = r.batch_id;

DROP TABLE evidence_revisions;
DROP TABLE evidence;
DROP TABLE check_result_history;
DROP TABLE check_results;
ALTER TABLE check_results_new RENAME TO check_results;
ALTER TABLE check_result_history_new RENAME TO check_result_history;
ALTER TABLE evidence_new RENAME TO evidence;
ALTER TABLE evidence_revisions_new RENAME TO evidence_revisions;
CREATE INDEX history_result ON check_result_history (check_result_id);

CREATE VIEW applied_control_assets AS
SELECT DISTINCT acc.applied_control_id, r.asset_id
FROM applied_control_checks acc
JOIN applied_controls c ON c.id = acc.applied_control_id
JOIN check_results r ON r.check_id = acc.check_id AND r.tenant_id = c.tenant_id;

CREATE VIEW evidence_controls AS
SELECT e.id AS evidence_id, acc.applied_control_id
FROM evidence e
JOIN applied_control_checks acc ON acc.check_id = e.check_id
JOIN applied_controls c ON c.id = acc.applied_control_id AND c.tenant_id = e.tenant_id;

CREATE VIEW evidence_latest AS
SELECT e.id AS evidence_id, r.version AS revisions, r.created_at AS updated_at,
       r.result_status, b.id AS batch_id
FROM evidence e
JOIN evidence_revisions r ON r.evidence_id = e.id
JOIN batches b ON b.number = r.batch_number
WHERE r.version = (SELECT MAX(v.version) FROM evidence_revisions v WHERE v.evidence_id = e.id);
