-- Compliance model (PostgreSQL): the SCF hub catalog, and per tenant the applied
-- controls, requirement mappings, policies and evidence derived from results.

-- Catalog (shared by all tenants) ------------------------------------------

CREATE TABLE catalog_imports (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version         TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    imported_at     BIGINT NOT NULL,
    created         BIGINT NOT NULL,
    updated         BIGINT NOT NULL,
    mappings_added  BIGINT NOT NULL,
    detail          TEXT    NOT NULL
);

CREATE TABLE scf_controls (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL,
    domain_code     TEXT    NOT NULL,
    domain_name     TEXT    NOT NULL,
    description     TEXT,
    catalog_version TEXT    NOT NULL
);

CREATE TABLE frameworks (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL,
    version         TEXT    NOT NULL
);

CREATE TABLE requirement_nodes (
    framework_id    TEXT    NOT NULL REFERENCES frameworks(id),
    ref_id          TEXT    NOT NULL,
    parent_ref_id   TEXT,
    name            TEXT,
    depth           BIGINT NOT NULL,
    assessable      BOOLEAN NOT NULL,
    position        BIGINT NOT NULL,
    PRIMARY KEY (framework_id, ref_id)
);

-- SCF STRM: how each SCF control relates to a framework requirement.
CREATE TABLE scf_requirement_mappings (
    scf_id          TEXT    NOT NULL REFERENCES scf_controls(id),
    framework_id    TEXT    NOT NULL REFERENCES frameworks(id),
    ref_id          TEXT    NOT NULL,
    relationship    TEXT    NOT NULL,
    strength        BIGINT NOT NULL,
    coverage        TEXT    NOT NULL,
    PRIMARY KEY (scf_id, framework_id, ref_id)
);
CREATE INDEX scf_mappings_requirement ON scf_requirement_mappings (framework_id, ref_id);

CREATE TABLE policy_templates (
    id              TEXT    PRIMARY KEY,
    title           TEXT    NOT NULL,
    summary         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    version         TEXT    NOT NULL
);

CREATE TABLE policy_template_controls (
    template_id     TEXT    NOT NULL REFERENCES policy_templates(id),
    scf_id          TEXT    NOT NULL REFERENCES scf_controls(id),
    PRIMARY KEY (template_id, scf_id)
);

-- Per tenant -----------------------------------------------------------------

-- A check's requirements as its plugin declared them (Prowler-native ids),
-- with the framework requirement they resolve to, when they resolve.
CREATE TABLE check_requirements (
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    check_id        TEXT    NOT NULL,
    framework_key   TEXT    NOT NULL,
    native_id       TEXT    NOT NULL,
    framework_id    TEXT,
    ref_id          TEXT,
    PRIMARY KEY (tenant_id, check_id, framework_key, native_id)
);

CREATE TABLE check_scf (
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    check_id        TEXT    NOT NULL,
    scf_id          TEXT    NOT NULL,
    origin          TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, check_id, scf_id)
);
CREATE INDEX check_scf_control ON check_scf (tenant_id, scf_id);

-- `key` is scf:<SCF id> (stage A) or req:<framework>:<requirement> (stage B).
CREATE TABLE applied_controls (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    key             TEXT    NOT NULL,
    scf_id          TEXT,
    framework_key   TEXT,
    requirement_id  TEXT,
    name            TEXT    NOT NULL,
    category        TEXT    NOT NULL,
    origin          TEXT    NOT NULL,
    posture         TEXT    NOT NULL,
    passed          BIGINT NOT NULL,
    failed          BIGINT NOT NULL,
    errors          BIGINT NOT NULL,
    total           BIGINT NOT NULL,
    last_scan_at    BIGINT,
    last_batch_id   TEXT,
    created_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, key)
);

CREATE TABLE applied_control_checks (
    applied_control_id BIGINT NOT NULL REFERENCES applied_controls(id),
    check_id           TEXT    NOT NULL,
    PRIMARY KEY (applied_control_id, check_id)
);

-- Assets a control covers: those with results of the control's checks. A view,
-- not a table: always consistent, and nothing to write per result at ingest.
CREATE VIEW applied_control_assets AS
SELECT DISTINCT acc.applied_control_id, r.asset_id
FROM applied_control_checks acc
JOIN applied_controls c ON c.id = acc.applied_control_id
JOIN check_results r ON r.check_id = acc.check_id AND r.tenant_id = c.tenant_id;

CREATE TABLE control_requirement_mappings (
    applied_control_id BIGINT NOT NULL REFERENCES applied_controls(id),
    framework_id       TEXT    NOT NULL,
    ref_id             TEXT    NOT NULL,
    origin             TEXT    NOT NULL,
    source             TEXT    NOT NULL,
    coverage           TEXT    NOT NULL,
    PRIMARY KEY (applied_control_id, framework_id, ref_id, source)
);
CREATE INDEX control_mappings_requirement ON control_requirement_mappings (framework_id, ref_id);

CREATE TABLE policies (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    template_id     TEXT    NOT NULL REFERENCES policy_templates(id),
    name            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    origin          TEXT    NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, template_id)
);

CREATE TABLE policy_controls (
    policy_id          BIGINT NOT NULL REFERENCES policies(id),
    applied_control_id BIGINT NOT NULL REFERENCES applied_controls(id),
    PRIMARY KEY (policy_id, applied_control_id)
);

-- One evidence record per check result; copies of the asset's identity so the
-- record survives the asset's deletion.
CREATE TABLE evidence (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    check_result_id BIGINT NOT NULL UNIQUE REFERENCES check_results(id),
    check_id        TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    is_continuous   BOOLEAN NOT NULL,
    asset_name      TEXT,
    asset_type      TEXT    NOT NULL,
    asset_source_id TEXT    NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    revisions       BIGINT NOT NULL
);

CREATE TABLE evidence_revisions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    evidence_id     BIGINT NOT NULL REFERENCES evidence(id),
    version         BIGINT NOT NULL,
    result_status   TEXT    NOT NULL,
    raw_output      TEXT    NOT NULL,
    batch_id        TEXT    NOT NULL REFERENCES batches(id),
    batch_sha256    TEXT    NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (evidence_id, version)
);

-- Evidence is linked to the controls that share its check (a view, as above).
CREATE VIEW evidence_controls AS
SELECT e.id AS evidence_id, acc.applied_control_id
FROM evidence e
JOIN applied_control_checks acc ON acc.check_id = e.check_id
JOIN applied_controls c ON c.id = acc.applied_control_id AND c.tenant_id = e.tenant_id;
