-- Operators and auditors (PostgreSQL; the SQLite migration has the same
-- tables and columns): users, per-tenant grants, sessions, API tokens, login
-- throttling, the hash-chained audit log, and the state the API edits by hand
-- (control and policy fields, manual mappings, requirement assessments,
-- evidence review). Flags are integers on both databases: sqlx's Any driver
-- cannot read SQLite's BOOLEAN.

CREATE TABLE users (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Lower-cased at the door: one account per address.
    email               TEXT    NOT NULL UNIQUE,
    -- PHC string (argon2id).
    password_hash       TEXT    NOT NULL,
    is_admin            BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL,
    disabled_at         BIGINT,
    last_login_at       BIGINT 
);

-- A user's role on one tenant. Admins are global (users.is_admin) and need
-- no grant. An auditor's grant is bounded: frameworks (JSON array of
-- framework ids), an observation window and an access expiry.
CREATE TABLE grants (
    user_id     BIGINT NOT NULL REFERENCES users(id),
    tenant_id   BIGINT NOT NULL REFERENCES tenants(id),
    role        TEXT    NOT NULL CHECK (role IN ('operator', 'auditor', 'viewer')),
    frameworks  TEXT,
    window_from BIGINT,
    window_to   BIGINT,
    expires_at  BIGINT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, tenant_id),
    CHECK (role <> 'auditor' OR (frameworks IS NOT NULL AND window_from IS NOT NULL
                                 AND window_to IS NOT NULL AND expires_at IS NOT NULL))
);
CREATE INDEX grants_tenant ON grants (tenant_id);

-- Console sessions: the cookie carries a random secret, the row its SHA-256.
CREATE TABLE sessions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secret_hash  TEXT    NOT NULL UNIQUE,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    source       TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Machine credentials, scoped to at most the owner's role (`role`) and a
-- subset of the owner's tenants (`tenants`: JSON array of tenant ids; NULL
-- means every tenant the owner can reach).
CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    name         TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL UNIQUE,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'operator', 'auditor', 'viewer')),
    tenants      TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT 
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Failed logins, counted per account and per source address over a window.
-- Housekeeping may delete old rows; the audit log keeps the record.
CREATE TABLE login_failures (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email  TEXT    NOT NULL,
    source TEXT    NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, at);
CREATE INDEX login_failures_source ON login_failures (source, at);

-- Every state change, appended in the transaction that makes it. `seq`
-- counts from 1 without gaps; `hash` is the SHA-256 of the row's canonical
-- form including `prev_hash`, the previous row's hash (64 zeros for row 1).
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor_type  TEXT    NOT NULL,
    actor_id    TEXT,
    actor_name  TEXT,
    action      TEXT    NOT NULL,
    object_type TEXT    NOT NULL,
    object_id   TEXT,
    tenant_id   BIGINT REFERENCES tenants(id),
    before_json TEXT,
    after_json  TEXT,
    request_id  TEXT,
    source      TEXT,
    user_agent  TEXT,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL UNIQUE
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The chain's head. Appending updates this one row first, which serialises
-- appenders: SQLite's write lock, a row lock on PostgreSQL (several
-- collectors on one database append to one chain).
CREATE TABLE audit_chain (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_chain (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Enrollment tokens can be revoked before use, and remember who made them.
ALTER TABLE enrollment_tokens ADD COLUMN revoked_at BIGINT;
ALTER TABLE enrollment_tokens ADD COLUMN created_by TEXT;
CREATE INDEX enrollment_tokens_tenant ON enrollment_tokens (tenant_id, id);

-- Hand-edited fields of applied controls and policies. `version` counts
-- manual edits only (ingest recounts do not touch it): it is the ETag that
-- If-Match is checked against.
ALTER TABLE applied_controls ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE applied_controls ADD COLUMN owner TEXT;
ALTER TABLE applied_controls ADD COLUMN notes TEXT;
ALTER TABLE applied_controls ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE policies ADD COLUMN owner TEXT;
ALTER TABLE policies ADD COLUMN notes TEXT;
ALTER TABLE policies ADD COLUMN updated_at BIGINT;
ALTER TABLE policies ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Requirement weight (seed 001: compliance scores are weighted by it).
ALTER TABLE requirement_nodes ADD COLUMN weight BIGINT NOT NULL DEFAULT 1;

-- Manual requirement assessments (seed 001's second mapping system): a
-- result, answers (JSON object: question → yes | partial | no | n/a) and
-- applied controls linked by hand. Kept apart from scan posture.
CREATE TABLE requirement_assessments (
    tenant_id    BIGINT NOT NULL REFERENCES tenants(id),
    framework_id TEXT    NOT NULL REFERENCES frameworks(id),
    ref_id       TEXT    NOT NULL,
    result       TEXT    NOT NULL CHECK (result IN ('not_assessed', 'compliant',
                     'partially_compliant', 'non_compliant', 'not_applicable')),
    answers      TEXT    NOT NULL,
    notes        TEXT,
    updated_at   BIGINT NOT NULL,
    updated_by   BIGINT REFERENCES users(id),
    version      BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, framework_id, ref_id),
    FOREIGN KEY (framework_id, ref_id) REFERENCES requirement_nodes(framework_id, ref_id)
);
CREATE TABLE requirement_assessment_controls (
    tenant_id          BIGINT NOT NULL,
    framework_id       TEXT    NOT NULL,
    ref_id             TEXT    NOT NULL,
    applied_control_id BIGINT NOT NULL REFERENCES applied_controls(id),
    PRIMARY KEY (tenant_id, framework_id, ref_id, applied_control_id),
    FOREIGN KEY (tenant_id, framework_id, ref_id)
        REFERENCES requirement_assessments(tenant_id, framework_id, ref_id)
);

-- Evidence review: the current decision on the record, every decision in
-- evidence_reviews. `review_version` is the record's ETag.
ALTER TABLE evidence ADD COLUMN reviewer_id BIGINT REFERENCES users(id);
ALTER TABLE evidence ADD COLUMN review_comment TEXT;
ALTER TABLE evidence ADD COLUMN reviewed_at BIGINT;
ALTER TABLE evidence ADD COLUMN review_version BIGINT NOT NULL DEFAULT 1;
CREATE INDEX evidence_queue ON evidence (tenant_id, status, id);
CREATE TABLE evidence_reviews (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    evidence_id     BIGINT NOT NULL REFERENCES evidence(id),
    previous_status TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('in_review', 'approved', 'rejected', 'flagged')),
    reviewer_id     BIGINT NOT NULL REFERENCES users(id),
    comment         TEXT    NOT NULL,
    revision        BIGINT,
    at              BIGINT NOT NULL
);
CREATE INDEX evidence_reviews_evidence ON evidence_reviews (evidence_id, id);

-- Read paths of the API: a tenant's results in id order (the findings
-- list's default keyset: without it a page sorted every result of the tenant,
-- ~600 ms at 1,000,000), an asset's results, a tenant's batches. The result
-- indexes are written when a result is first stored, never on a rescan
-- (neither column changes). Other sorts and filters are not indexed: each
-- index would be paid by every first-scan insert.
CREATE INDEX check_results_tenant_id ON check_results (tenant_id, id);
-- One check's results in id order: the filter auditors and operators use
-- most (p99 67 ms → see README at 1,000,000 results with it).
CREATE INDEX check_results_check_id ON check_results (tenant_id, check_id, id);
CREATE INDEX check_results_asset ON check_results (asset_id);
CREATE INDEX batches_tenant ON batches (tenant_id, number);
