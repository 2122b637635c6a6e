//! Writing a verified batch: the raw bytes, the integration, the check
//! catalog, assets, relationships and check results (with history), all in one
//! transaction so a batch is stored entirely or not at all.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::time::Instant;

use citadel_wire::{Batch, Status};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use sqlx::Row;

use super::{Backend, Store, StoreError, bulk, chain, mapping, now_ms, results};
use crate::catalog::Catalog;

/// Counts reported back to the agent and kept with the batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IngestSummary {
    /// Assets seen for the first time.
    pub assets_created: u64,
    /// Assets seen before.
    pub assets_updated: u64,
    /// Assets not seen by this complete scan, now inactive.
    pub assets_deactivated: u64,
    /// Relationships new or reappearing.
    pub relationships_added: u64,
    /// Relationships no longer seen by a complete scan.
    pub relationships_ended: u64,
    /// Checks in the batch catalog.
    pub checks: u64,
    /// Results stored.
    pub results: u64,
    /// Results that passed.
    pub passed: u64,
    /// Results that failed.
    pub failed: u64,
    /// Checks that could not be evaluated.
    pub errors: u64,
    /// Not applicable results.
    pub not_applicable: u64,
    /// History rows written (new results and status changes).
    pub history: u64,
    /// Applied controls recomputed.
    pub controls: u64,
    /// Applied controls created.
    pub controls_created: u64,
    /// Policies created from templates.
    pub policies_created: u64,
    /// Policy templates matched by the batch's SCF controls (once per
    /// control and template), created or existing already. Absent from
    /// summaries stored before it was counted.
    #[serde(default)]
    pub policies_matched: u64,
    /// Evidence records created.
    pub evidence_created: u64,
    /// Evidence revisions added.
    pub evidence_revisions: u64,
    /// Time spent storing the batch, in milliseconds.
    pub duration_ms: u64,
    /// The tenant's failing results on active assets by severity, once this
    /// batch was stored. Absent from summaries stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_by_severity: Option<BTreeMap<String, u64>>,
}

/// What ingest did with a batch.
#[derive(Debug, Clone)]
pub enum IngestOutcome {
    /// Stored now.
    Accepted(IngestSummary),
    /// Stored before, byte for byte; nothing changed. Carries the original summary.
    Duplicate(IngestSummary),
}

/// A batch with at least this many results refreshes the planner's
/// statistics after it commits (PostgreSQL).
const ANALYZE_AFTER_RESULTS: u64 = 10_000;

impl Store {
    /// Refresh PostgreSQL's planner statistics of the tables ingest fills
    /// (nothing on SQLite, whose plans here do not depend on them).
    pub async fn analyze(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query(
                "ANALYZE check_results, assets, evidence, evidence_revisions, check_result_history",
            )
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Store a verified batch for `tenant_id` sent by `agent_id`.
    pub async fn ingest(
        &self,
        tenant_id: i64,
        agent_id: &str,
        raw: &[u8],
        batch: &Batch,
        spans: &[Range<usize>],
        catalog: &Catalog,
    ) -> Result<IngestOutcome, StoreError> {
        let started = Instant::now();
        let sha256 = citadel_wire::sha256_hex(raw);
        let batch_id = batch.batch_id.to_string();
        if let Some(outcome) = self.existing(&batch_id, &sha256).await? {
            return Ok(outcome);
        }
        // The write lock (SQLite) or the agent's row (PostgreSQL, taken by
        // the chain check) makes an agent's batches go one at a time.
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        let gap = chain::check(conn, self.backend, agent_id, batch).await;
        // A push of this very batch may have committed while this one waited
        // for the lock: a duplicate, not a replay.
        if let Some(outcome) = existing(conn, &batch_id, &sha256).await? {
            return Ok(outcome);
        }
        let gap = gap?;
        let now = now_ms();
        super::ownership::refuse_foreign(conn, tenant_id, agent_id, batch).await?;
        let integration_id = upsert_integration(conn, tenant_id, agent_id, batch, now).await?;
        // Per-result rows refer to the batch by its number (migration 0005).
        // SQLite: the next one, under the write lock this transaction holds;
        // PostgreSQL: an identity column.
        let (number_column, number_value) = match self.backend {
            Backend::Sqlite => (
                ", number",
                ", (SELECT COALESCE(MAX(number), 0) + 1 FROM batches)",
            ),
            Backend::Postgres => ("", ""),
        };
        let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO batches (id, tenant_id, agent_id, integration_id, seq, prev, scan_id,
                 sha256, received_at, started_at, finished_at, complete, summary, part,
                 parts{number_column})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '{{}}', $13,
                 $14{number_value})
             RETURNING number"
        )))
        .bind(&batch_id)
        .bind(tenant_id)
        .bind(agent_id)
        .bind(integration_id)
        .bind(i64::try_from(batch.seq).unwrap_or(i64::MAX))
        .bind(batch.prev.as_deref())
        .bind(batch.scan_id.to_string())
        .bind(&sha256)
        .bind(now)
        .bind(batch.started_at)
        .bind(batch.finished_at)
        .bind(batch.complete)
        .bind(i64::from(batch.part))
        .bind(i64::from(batch.parts))
        .fetch_one(&mut *conn)
        .await;
        if let Err(sqlx::Error::Database(e)) = &inserted
            && e.is_unique_violation()
        {
            // Another connection stored the same batch a moment ago.
            drop(tx);
            return self
                .existing(&batch_id, &sha256)
                .await?
                .ok_or_else(|| StoreError::Conflict(batch_id.clone()));
        }
        let batch_number: i64 = inserted?.try_get(0)?;

        let mut summary = IngestSummary::default();
        let scope = Scope {
            backend: self.backend,
            tenant_id,
            integration_id,
            batch_id: &batch_id,
            batch_number,
            batch,
            spans,
            now,
        };
        let stage = |name: &str, t: &mut Instant| {
            tracing::debug!(
                stage = name,
                ms = t.elapsed().as_millis() as u64,
                "Ingest stage done."
            );
            *t = Instant::now();
        };
        let mut t = Instant::now();
        stage("batch record", &mut t);
        upsert_checks(conn, tenant_id, batch, now, &mut summary).await?;
        stage("checks", &mut t);
        let stale = stale(conn, &scope).await?;
        let assets = upsert_assets(conn, &scope, &stale, &mut summary).await?;
        stage("assets", &mut t);
        upsert_relationships(conn, &scope, &stale, &mut summary).await?;
        stage("relationships", &mut t);
        results::store(conn, &scope, &assets.ids, &mut summary).await?;
        stage("results", &mut t);
        let plan = crate::mapping::plan(catalog, &batch.checks);
        mapping::execute(conn, &scope, &plan, &assets.renamed, &mut summary).await?;
        results::drop_staged(conn).await?;
        stage("mapping", &mut t);
        sqlx::query(
            "UPDATE agents SET last_seen_at = $1, version = COALESCE($2, version) WHERE id = $3",
        )
        .bind(now)
        .bind(batch.agent_version.as_deref())
        .bind(agent_id)
        .execute(&mut *conn)
        .await?;
        chain::advance(conn, agent_id, &batch_id, batch.seq, &sha256, gap, now).await?;
        // The signed bytes go in last: a large batch's payload fills the page
        // cache with pages nothing reads back during ingest, and written first
        // it pushed out the indexes the statements above work on (a quarter
        // of the cache for a 1,000,000-result batch).
        sqlx::query("INSERT INTO batch_payloads (batch_id, raw) VALUES ($1, $2)")
            .bind(&batch_id)
            .bind(raw)
            .execute(&mut *conn)
            .await?;
        summary.duration_ms = started.elapsed().as_millis() as u64;
        let text = serde_json::to_string(&summary).expect("summary serializes");
        sqlx::query("UPDATE batches SET summary = $1 WHERE id = $2")
            .bind(text)
            .bind(&batch_id)
            .execute(&mut *conn)
            .await?;
        tx.commit().await?;
        self.committed();
        if summary.results >= ANALYZE_AFTER_RESULTS {
            // The planner's statistics of a table that just grew by this
            // much are stale until autovacuum gets to it (up to a minute or
            // more): pages of a filtered findings list ran 225 ms instead of
            // 0.6 ms at 1,000,000 results. Refresh them now, off the reply.
            let store = self.clone();
            tokio::spawn(async move {
                if let Err(e) = store.analyze().await {
                    tracing::warn!(error = %e, "Refreshing planner statistics failed.");
                }
            });
        }
        stage("commit", &mut t);
        Ok(IngestOutcome::Accepted(summary))
    }

    /// A batch with this id already stored: a duplicate if the bytes match.
    async fn existing(
        &self,
        batch_id: &str,
        sha256: &str,
    ) -> Result<Option<IngestOutcome>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        existing(&mut conn, batch_id, sha256).await
    }
}

/// [`Store::existing`] on `conn`, so a transaction sees its own view.
async fn existing(
    conn: &mut AnyConnection,
    batch_id: &str,
    sha256: &str,
) -> Result<Option<IngestOutcome>, StoreError> {
    let row = sqlx::query("SELECT sha256, summary FROM batches WHERE id = $1")
        .bind(batch_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let stored: String = row.try_get(0)?;
    if stored != sha256 {
        return Err(StoreError::Conflict(batch_id.to_string()));
    }
    let summary: String = row.try_get(1)?;
    Ok(Some(IngestOutcome::Duplicate(
        serde_json::from_str(&summary).unwrap_or_default(),
    )))
}

/// What every write of one batch shares.
#[derive(Clone, Copy)]
pub(super) struct Scope<'a> {
    pub(super) backend: Backend,
    pub(super) tenant_id: i64,
    pub(super) integration_id: i64,
    pub(super) batch_id: &'a str,
    /// The batch's row number, which per-result rows refer to.
    pub(super) batch_number: i64,
    pub(super) batch: &'a Batch,
    /// Where each of `batch.results` lies in the signed payload.
    pub(super) spans: &'a [Range<usize>],
    pub(super) now: i64,
}

async fn upsert_integration(
    conn: &mut AnyConnection,
    tenant_id: i64,
    agent_id: &str,
    batch: &Batch,
    now: i64,
) -> Result<i64, StoreError> {
    let first_error = batch
        .results
        .iter()
        .find(|r| r.status == Status::Error)
        .map(|r| r.status_extended.clone());
    let status = if first_error.is_some() {
        "degraded"
    } else {
        "ok"
    };
    let regions = serde_json::to_string(&batch.integration.regions).expect("strings serialize");
    let row = sqlx::query(
        "INSERT INTO integrations (tenant_id, agent_id, name, provider, account, regions, status,
             last_sync_at, last_error, consecutive_errors)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (tenant_id, agent_id, name) DO UPDATE SET
             provider = excluded.provider, account = excluded.account, regions = excluded.regions,
             status = excluded.status, last_sync_at = excluded.last_sync_at,
             last_error = excluded.last_error,
             consecutive_errors = CASE WHEN excluded.consecutive_errors = 0 THEN 0
                                       ELSE integrations.consecutive_errors + 1 END
         RETURNING id",
    )
    .bind(tenant_id)
    .bind(agent_id)
    .bind(&batch.integration.name)
    .bind(&batch.integration.provider)
    .bind(&batch.integration.account)
    .bind(regions)
    .bind(status)
    .bind(now)
    .bind(first_error.as_deref())
    .bind(i64::from(first_error.is_some()))
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

async fn upsert_checks(
    conn: &mut AnyConnection,
    tenant_id: i64,
    batch: &Batch,
    now: i64,
    summary: &mut IngestSummary,
) -> Result<(), StoreError> {
    for c in &batch.checks {
        let requirements = serde_json::to_string(&c.requirements).expect("map serializes");
        sqlx::query(
            "INSERT INTO security_checks (tenant_id, id, plugin, title, description, severity,
                 service, resource_type, remediation, requirements, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (tenant_id, id) DO UPDATE SET plugin = excluded.plugin,
                 title = excluded.title, description = excluded.description,
                 severity = excluded.severity, service = excluded.service,
                 resource_type = excluded.resource_type, remediation = excluded.remediation,
                 requirements = excluded.requirements, updated_at = excluded.updated_at",
        )
        .bind(tenant_id)
        .bind(&c.id)
        .bind(&c.plugin)
        .bind(&c.title)
        .bind(&c.description)
        .bind(c.severity.as_str())
        .bind(&c.service)
        .bind(&c.resource_type)
        .bind(&c.remediation)
        .bind(requirements)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        summary.checks += 1;
    }
    Ok(())
}

/// The batch's assets as stored.
struct StoredAssets {
    /// Source id → asset row id.
    ids: HashMap<String, i64>,
    /// Row ids of assets stored before under another name.
    renamed: Vec<i64>,
}

/// Upsert the batch's assets.
async fn upsert_assets(
    conn: &mut AnyConnection,
    scope: &Scope<'_>,
    stale: &Stale,
    summary: &mut IngestSummary,
) -> Result<StoredAssets, StoreError> {
    let Scope {
        backend,
        tenant_id,
        integration_id,
        batch_id,
        batch,
        now,
        ..
    } = *scope;
    // (source, source id) → name, of the tenant's assets stored before.
    let known: HashMap<(String, String), Option<String>> =
        sqlx::query("SELECT source, source_id, name FROM assets WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| Ok(((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?)))
            .collect::<Result<_, sqlx::Error>>()?;
    let mut ids = HashMap::with_capacity(batch.assets.len());
    const COLS: usize = 15;
    for chunk in batch.assets.chunks(bulk::rows_per_statement(COLS)) {
        let tags: Vec<String> = chunk
            .iter()
            .map(|a| serde_json::to_string(&a.tags).expect("map serializes"))
            .collect();
        let sql = format!(
            "INSERT INTO assets (tenant_id, integration_id, source, source_id, external_id, kind,
                 name, region, account, tags, raw_source_data, first_seen_at, last_seen_at,
                 last_batch_id, is_active)
             VALUES {}
             ON CONFLICT (tenant_id, source, source_id) DO UPDATE SET
                 integration_id = excluded.integration_id, external_id = excluded.external_id,
                 kind = excluded.kind, name = excluded.name, region = excluded.region,
                 account = excluded.account, tags = excluded.tags,
                 raw_source_data = excluded.raw_source_data, last_seen_at = excluded.last_seen_at,
                 last_batch_id = excluded.last_batch_id, is_active = excluded.is_active
             RETURNING id, source_id",
            bulk::values(backend, chunk.len(), COLS)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (a, tags) in chunk.iter().zip(&tags) {
            q = q
                .bind(tenant_id)
                .bind(integration_id)
                .bind(&a.source)
                .bind(&a.source_id)
                .bind(&a.id)
                .bind(&a.kind)
                .bind(a.name.as_deref())
                .bind(&a.region)
                .bind(&a.account)
                .bind(tags)
                .bind(&a.raw)
                .bind(now)
                .bind(now)
                .bind(batch_id)
                .bind(true);
        }
        for row in q.fetch_all(&mut *conn).await? {
            ids.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
        }
    }
    let mut renamed = Vec::new();
    for a in &batch.assets {
        match known.get(&(a.source.clone(), a.source_id.clone())) {
            Some(name) => {
                summary.assets_updated += 1;
                if *name != a.name
                    && let Some(&id) = ids.get(&a.source_id)
                {
                    renamed.push(id);
                }
            }
            None => summary.assets_created += 1,
        }
    }
    summary.assets_deactivated = match stale {
        Stale::Nothing => 0,
        Stale::All => sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE assets SET is_active = $1
                 WHERE integration_id = $2 AND is_active = $3 AND {}",
            not_in_scan("last_batch_id", 4)
        )))
        .bind(false)
        .bind(integration_id)
        .bind(true)
        .bind(&batch.agent_id)
        .bind(batch.scan_id.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected(),
        Stale::Lists(lists) => {
            let candidates = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, kind, region FROM assets
                 WHERE integration_id = $1 AND is_active = $2 AND {}",
                not_in_scan("last_batch_id", 3)
            )))
            .bind(integration_id)
            .bind(true)
            .bind(&batch.agent_id)
            .bind(batch.scan_id.to_string())
            .fetch_all(&mut *conn)
            .await?;
            let ids = in_lists(&candidates, lists)?;
            deactivate_by_id(conn, "UPDATE assets SET is_active = $1", &[], &ids).await?
        }
    };
    Ok(StoredAssets { ids, renamed })
}

async fn upsert_relationships(
    conn: &mut AnyConnection,
    scope: &Scope<'_>,
    stale: &Stale,
    summary: &mut IngestSummary,
) -> Result<(), StoreError> {
    let Scope {
        backend,
        tenant_id,
        integration_id,
        batch_id,
        batch,
        now,
        ..
    } = *scope;
    let active: HashSet<(String, String, String)> = sqlx::query(
        "SELECT from_source_id, kind, to_source_id FROM asset_relationships
         WHERE tenant_id = $1 AND is_active = $2",
    )
    .bind(tenant_id)
    .bind(true)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect::<Result<_, sqlx::Error>>()?;
    // One statement may not touch a row twice.
    let unique: Vec<&citadel_wire::Relationship> = batch
        .relationships
        .iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    const COLS: usize = 9;
    for chunk in unique.chunks(bulk::rows_per_statement(COLS)) {
        let sql = format!(
            "INSERT INTO asset_relationships (tenant_id, integration_id, from_source_id, kind,
                 to_source_id, is_active, discovered_at, last_seen_at, last_batch_id)
             VALUES {}
             ON CONFLICT (tenant_id, from_source_id, kind, to_source_id) DO UPDATE SET
                 integration_id = excluded.integration_id, is_active = excluded.is_active,
                 last_seen_at = excluded.last_seen_at, ended_at = NULL,
                 last_batch_id = excluded.last_batch_id",
            bulk::values(backend, chunk.len(), COLS)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for rel in chunk {
            q = q
                .bind(tenant_id)
                .bind(integration_id)
                .bind(&rel.from)
                .bind(&rel.kind)
                .bind(&rel.to)
                .bind(true)
                .bind(now)
                .bind(now)
                .bind(batch_id);
        }
        q.execute(&mut *conn).await?;
    }
    for rel in &unique {
        if !active.contains(&(rel.from.clone(), rel.kind.clone(), rel.to.clone())) {
            summary.relationships_added += 1;
        }
    }
    summary.relationships_ended = match stale {
        Stale::Nothing => 0,
        Stale::All => sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE asset_relationships SET is_active = $1, ended_at = $2
                 WHERE integration_id = $3 AND is_active = $4 AND {}",
            not_in_scan("last_batch_id", 5)
        )))
        .bind(false)
        .bind(now)
        .bind(integration_id)
        .bind(true)
        .bind(&batch.agent_id)
        .bind(batch.scan_id.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected(),
        Stale::Lists(lists) => {
            // An edge belongs to the list of the asset it starts at: it is
            // read with that asset.
            let candidates = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT r.id, a.kind, a.region FROM asset_relationships r
                 JOIN assets a ON a.tenant_id = r.tenant_id AND a.source_id = r.from_source_id
                 WHERE r.integration_id = $1 AND r.is_active = $2 AND {}",
                not_in_scan("r.last_batch_id", 3)
            )))
            .bind(integration_id)
            .bind(true)
            .bind(&batch.agent_id)
            .bind(batch.scan_id.to_string())
            .fetch_all(&mut *conn)
            .await?;
            let ids = in_lists(&candidates, lists)?;
            deactivate_by_id(
                conn,
                "UPDATE asset_relationships SET is_active = $1, ended_at = $2",
                &[now],
                &ids,
            )
            .await?
        }
    };
    Ok(())
}

/// `column` names no batch of the batch's scan: the row was not seen by any
/// of its parts. Binds the agent id at `$at` and the scan id at `$at + 1`.
fn not_in_scan(column: &str, at: usize) -> String {
    format!(
        "{column} NOT IN (SELECT id FROM batches WHERE agent_id = ${at} AND scan_id = ${})",
        at + 1
    )
}

/// What ingest of one batch may mark inactive of what its scan did not see.
#[derive(Debug)]
enum Stale {
    /// Nothing: parts of the scan are still missing, no list was read in
    /// full, or a later scan of the integration has been stored already.
    Nothing,
    /// Everything of the integration (a batch that covered it all).
    All,
    /// What belongs to these (kind, region) lists.
    Lists(HashSet<(String, String)>),
}

/// Decide [`Stale`] for a batch already inserted: only its scan's last part
/// to arrive, in whatever order, turns its completeness into deactivation.
async fn stale(conn: &mut AnyConnection, scope: &Scope<'_>) -> Result<Stale, StoreError> {
    let batch = scope.batch;
    if !batch.complete && batch.complete_lists.is_empty() {
        return Ok(Stale::Nothing);
    }
    let scan_id = batch.scan_id.to_string();
    let parts: Vec<(u32, u32)> =
        sqlx::query("SELECT part, parts FROM batches WHERE agent_id = $1 AND scan_id = $2")
            .bind(&batch.agent_id)
            .bind(&scan_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| {
                let part: i64 = r.try_get(0)?;
                let parts: i64 = r.try_get(1)?;
                Ok((
                    u32::try_from(part).unwrap_or(u32::MAX),
                    u32::try_from(parts).unwrap_or(0),
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?;
    if !chain::covers_scan(&parts) {
        return Ok(Stale::Nothing);
    }
    // A part that arrives after a later scan of the integration (a part the
    // agent had to split again) must not undo what that scan saw.
    let later = sqlx::query(
        "SELECT 1 FROM batches WHERE integration_id = $1 AND started_at > $2 AND scan_id <> $3
         LIMIT 1",
    )
    .bind(scope.integration_id)
    .bind(batch.started_at)
    .bind(&scan_id)
    .fetch_optional(&mut *conn)
    .await?;
    if later.is_some() {
        return Ok(Stale::Nothing);
    }
    Ok(if batch.complete {
        Stale::All
    } else {
        Stale::Lists(
            batch
                .complete_lists
                .iter()
                .map(|l| (l.kind.clone(), l.region.clone()))
                .collect(),
        )
    })
}

/// Ids of the `(id, kind, region)` rows whose list is in `lists`.
fn in_lists(
    rows: &[sqlx::any::AnyRow],
    lists: &HashSet<(String, String)>,
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::new();
    for r in rows {
        let key: (String, String) = (r.try_get(1)?, r.try_get(2)?);
        if lists.contains(&key) {
            ids.push(r.try_get(0)?);
        }
    }
    Ok(ids)
}

/// Run `update` (`SET is_active = $1` and then `extra` as `$2…`) on the rows
/// `ids`, a bounded number per statement; the number of rows changed.
async fn deactivate_by_id(
    conn: &mut AnyConnection,
    update: &str,
    extra: &[i64],
    ids: &[i64],
) -> Result<u64, StoreError> {
    let mut changed = 0;
    for chunk in ids.chunks(500) {
        let first = 2 + extra.len();
        let params: Vec<String> = (0..chunk.len())
            .map(|n| format!("${}", first + n))
            .collect();
        let sql = format!("{update} WHERE id IN ({})", params.join(", "));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(false);
        for v in extra {
            q = q.bind(*v);
        }
        for id in chunk {
            q = q.bind(*id);
        }
        changed += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(changed)
}
