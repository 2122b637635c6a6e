-- Citadel collector schema (PostgreSQL). Timestamps are Unix milliseconds.

CREATE TABLE tenants (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE enrollment_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants(id),
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    agent_id    TEXT
);

CREATE TABLE agents (
    id              TEXT    PRIMARY KEY,
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    name            TEXT    NOT NULL,
    public_key      BYTEA    NOT NULL,
    certificate_pem TEXT    NOT NULL,
    enrolled_at     BIGINT NOT NULL,
    revoked_at      BIGINT,
    last_seen_at    BIGINT,
    last_seq        BIGINT
);

CREATE TABLE integrations (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id          BIGINT NOT NULL REFERENCES tenants(id),
    agent_id           TEXT    NOT NULL REFERENCES agents(id),
    name               TEXT    NOT NULL,
    provider           TEXT    NOT NULL,
    account            TEXT    NOT NULL,
    regions            TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    last_sync_at       BIGINT,
    last_error         TEXT,
    consecutive_errors BIGINT NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, agent_id, name)
);

-- Every accepted batch, verbatim: the signed COSE bytes are the evidence.
CREATE TABLE batches (
    id              TEXT    PRIMARY KEY,
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    agent_id        TEXT    NOT NULL REFERENCES agents(id),
    integration_id  BIGINT NOT NULL REFERENCES integrations(id),
    seq             BIGINT NOT NULL,
    prev            TEXT,
    scan_id         TEXT    NOT NULL,
    sha256          TEXT    NOT NULL,
    raw             BYTEA    NOT NULL,
    received_at     BIGINT NOT NULL,
    started_at      BIGINT NOT NULL,
    finished_at     BIGINT NOT NULL,
    complete        BOOLEAN NOT NULL,
    summary         TEXT    NOT NULL
);

CREATE TABLE assets (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    integration_id  BIGINT NOT NULL REFERENCES integrations(id),
    source          TEXT    NOT NULL,
    source_id       TEXT    NOT NULL,
    external_id     TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    name            TEXT,
    region          TEXT    NOT NULL,
    account         TEXT    NOT NULL,
    tags            TEXT    NOT NULL,
    raw_source_data TEXT    NOT NULL,
    first_seen_at   BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    last_batch_id   TEXT    NOT NULL,
    is_active       BOOLEAN NOT NULL,
    UNIQUE (tenant_id, source, source_id)
);
CREATE INDEX assets_integration ON assets (integration_id, is_active);

CREATE TABLE asset_relationships (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    integration_id  BIGINT NOT NULL REFERENCES integrations(id),
    from_source_id  TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    to_source_id    TEXT    NOT NULL,
    is_active       BOOLEAN NOT NULL,
    discovered_at   BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    ended_at        BIGINT,
    last_batch_id   TEXT    NOT NULL,
    UNIQUE (tenant_id, from_source_id, kind, to_source_id)
);
CREATE INDEX relationships_integration ON asset_relationships (integration_id, is_active);

-- The check catalog as each tenant's agents declared it (a tenant's plugins
-- cannot rewrite what another tenant sees).
CREATE TABLE security_checks (
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    id              TEXT    NOT NULL,
    plugin          TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    resource_type   TEXT    NOT NULL,
    remediation     TEXT    NOT NULL,
    requirements    TEXT    NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE check_results (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    check_id        TEXT    NOT NULL,
    asset_id        BIGINT NOT NULL REFERENCES assets(id),
    status          TEXT    NOT NULL,
    status_extended TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    observed_at     BIGINT NOT NULL,
    first_seen_at   BIGINT NOT NULL,
    batch_id        TEXT    NOT NULL REFERENCES batches(id),
    UNIQUE (tenant_id, check_id, asset_id),
    FOREIGN KEY (tenant_id, check_id) REFERENCES security_checks(tenant_id, id)
);

CREATE TABLE check_result_history (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_result_id BIGINT NOT NULL REFERENCES check_results(id),
    previous_status TEXT,
    status          TEXT    NOT NULL,
    changed_at      BIGINT NOT NULL,
    batch_id        TEXT    NOT NULL REFERENCES batches(id)
);
CREATE INDEX history_result ON check_result_history (check_result_id);
