//! Batches and scans as the API reads them back (`store/batches.rs` writes
//! them): batch metadata, the signed bytes, and scans — a scan's batches
//! (its parts, today always one) summed into seed 001's scan response.
//!
//! Auditors see only batches received within their window; a scan shows the
//! parts that were.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::batches::IngestSummary;
use super::checks::StatusCounts;
use super::page::PageRequest;
use super::query::{self, Arg, Where};
use super::{Store, StoreError};
use crate::auth::TenantAccess;

/// A stored batch as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchRow {
    /// Batch id (UUIDv7, chosen by the agent).
    pub id: String,
    /// 1, 2, … in order of receipt (collector-wide).
    pub number: i64,
    /// Agent that signed it.
    pub agent_id: String,
    /// Integration row id.
    pub integration_id: i64,
    /// Integration name in the agent's configuration.
    pub integration: String,
    /// The agent's sequence number.
    pub seq: i64,
    /// SHA-256 of the agent's previous batch, hex.
    pub prev: Option<String>,
    /// Scan it is a part of.
    pub scan_id: String,
    /// SHA-256 of the signed bytes, hex.
    pub sha256: String,
    /// Received (Unix ms).
    pub received_at: i64,
    /// Scan started (Unix ms, agent clock).
    pub started_at: i64,
    /// Scan finished (Unix ms, agent clock).
    pub finished_at: i64,
    /// Whether the scan covered the integration's whole inventory.
    pub complete: bool,
    /// Its results by status.
    pub results: StatusCounts,
}

/// A batch with its ingest summary.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchDetail {
    /// The batch.
    #[serde(flatten)]
    pub batch: BatchRow,
    /// What ingest counted.
    pub summary: IngestSummary,
}

/// A scan: the response seed 001 gives when a scan completes, summed over the
/// scan's stored parts, plus where it came from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScanRow {
    /// Scan id (chosen by the agent).
    pub scan_id: String,
    /// Always true: a batch is stored whole or not at all, so every listed
    /// part was ingested successfully.
    pub success: bool,
    /// `Scan complete: N issues found` (N: failed results).
    pub message: String,
    /// Assets seen for the first time.
    pub assets_created: u64,
    /// Assets seen before.
    pub assets_updated: u64,
    /// Assets a complete scan no longer saw.
    pub assets_deactivated: u64,
    /// Active assets of the integration now.
    pub total_assets: i64,
    /// Relationships new or reappearing.
    pub relationships_created: u64,
    /// Results stored.
    pub results_created: u64,
    /// Always 0: agents only send results for assets of the same batch, and
    /// ingest refuses a batch with a result for an unknown ARN outright.
    pub arns_skipped: u64,
    /// Checks in the batch catalog (the largest part's: parts repeat it).
    pub checks_executed: u64,
    /// Results that passed.
    pub checks_passed: u64,
    /// Results that failed.
    pub checks_failed: u64,
    /// Results that could not be evaluated.
    pub checks_error: u64,
    /// Results that did not apply.
    pub checks_not_applicable: u64,
    /// Applied controls created.
    pub controls_created: u64,
    /// Applied controls recomputed that existed already.
    pub controls_updated: u64,
    /// Policies created from templates.
    pub policies_created: u64,
    /// Templates the scan's SCF controls matched whose policy existed
    /// already (0 for batches stored before matches were counted).
    pub policies_skipped: u64,
    /// Evidence records created.
    pub evidence_created: u64,
    /// Revisions added to existing evidence records.
    pub evidence_updated: u64,
    /// Evidence revisions written: each holds its result as signed.
    pub snapshots_captured: u64,
    /// Always 0: a revision points into the stored signed batch, so it
    /// cannot fail apart from the batch.
    pub snapshots_failed: u64,
    /// History rows written (new results and status changes).
    pub history_entries_created: u64,
    /// Scan time on the agent (last part's finish − first part's start), seconds.
    pub duration_seconds: f64,
    /// Time the collector spent storing the parts, seconds.
    pub ingest_seconds: f64,
    /// Stored parts, in order of receipt.
    pub batch_ids: Vec<String>,
    /// Agent that ran it.
    pub agent_id: String,
    /// Integration row id.
    pub integration_id: i64,
    /// Integration name.
    pub integration: String,
    /// Whether a part claimed the whole inventory.
    pub complete: bool,
    /// Scan started (Unix ms, agent clock).
    pub started_at: i64,
    /// Scan finished (Unix ms, agent clock).
    pub finished_at: i64,
    /// Last part received (Unix ms).
    pub received_at: i64,
    /// Number of the scan's last part (its position in the listing).
    #[serde(skip)]
    pub last_number: i64,
}

const BATCH_COLUMNS: &str = "b.id, b.number, b.agent_id, b.integration_id, i.name, b.seq, b.prev,
    b.scan_id, b.sha256, b.received_at, b.started_at, b.finished_at,
    CASE WHEN b.complete THEN 1 ELSE 0 END, b.summary";

const BATCH_JOINS: &str = "FROM batches b JOIN integrations i ON i.id = b.integration_id";

fn batch_row(r: &sqlx::any::AnyRow) -> Result<(BatchRow, IngestSummary), StoreError> {
    let summary: String = r.try_get(13)?;
    let summary: IngestSummary = serde_json::from_str(&summary)
        .map_err(|e| StoreError::Unreadable(format!("batch summary: {e}")))?;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    Ok((
        BatchRow {
            id: r.try_get(0)?,
            number: r.try_get(1)?,
            agent_id: r.try_get(2)?,
            integration_id: r.try_get(3)?,
            integration: r.try_get(4)?,
            seq: r.try_get(5)?,
            prev: r.try_get(6)?,
            scan_id: r.try_get(7)?,
            sha256: r.try_get(8)?,
            received_at: r.try_get(9)?,
            started_at: r.try_get(10)?,
            finished_at: r.try_get(11)?,
            complete: r.try_get::<i64, _>(12)? != 0,
            results: StatusCounts {
                pass: count(summary.passed),
                fail: count(summary.failed),
                error: count(summary.errors),
                not_applicable: count(summary.not_applicable),
            },
        },
        summary,
    ))
}

/// The tenant's batches within the caller's window, as `b.…` conditions.
fn tenant_batches(t: &TenantAccess) -> Where {
    let mut w = Where::new();
    let tenant = w.int(t.id());
    w.and(format!("b.tenant_id = {tenant}"));
    query::window(&mut w, "b.received_at", t.window());
    w
}

impl Store {
    /// One page of the tenant's batches, newest first (up to `page.fetch()`
    /// rows). The cursor's id is the last batch's number.
    pub async fn batches(
        &self,
        t: &TenantAccess,
        page: &PageRequest,
    ) -> Result<Vec<BatchRow>, StoreError> {
        let mut w = tenant_batches(t);
        if let Some(after) = &page.after {
            let p = w.int(after.id);
            w.and(format!("b.number < {p}"));
        }
        let limit = w.int(page.fetch());
        let sql = format!(
            "SELECT {BATCH_COLUMNS} {BATCH_JOINS}{} ORDER BY b.number DESC LIMIT {limit}",
            w.sql()
        );
        let rows = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(batch_row(r)?.0)).collect()
    }

    /// One of the tenant's batches with its summary.
    pub async fn batch(
        &self,
        t: &TenantAccess,
        id: &str,
    ) -> Result<Option<BatchDetail>, StoreError> {
        let mut w = tenant_batches(t);
        let p = w.text(id);
        w.and(format!("b.id = {p}"));
        let sql = format!("SELECT {BATCH_COLUMNS} {BATCH_JOINS}{}", w.sql());
        let row = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let (batch, summary) = batch_row(&r)?;
            Ok(BatchDetail { batch, summary })
        })
        .transpose()
    }

    /// The signed bytes of one of the tenant's batches, and the SHA-256
    /// recorded when they were received (so a reader can tell if the stored
    /// copy was damaged since).
    pub async fn batch_raw(
        &self,
        t: &TenantAccess,
        id: &str,
    ) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let mut w = tenant_batches(t);
        let p = w.text(id);
        w.and(format!("b.id = {p}"));
        let sql = format!(
            "SELECT p.raw, b.sha256 FROM batches b JOIN batch_payloads p ON p.batch_id = b.id{}",
            w.sql()
        );
        let row = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// One page of the tenant's scans, newest first by their last part (up to
    /// `page.fetch()` rows). The cursor's id is that part's number.
    pub async fn scans(
        &self,
        t: &TenantAccess,
        page: &PageRequest,
    ) -> Result<Vec<ScanRow>, StoreError> {
        let mut w = tenant_batches(t);
        let having = match &page.after {
            Some(after) => format!(" HAVING MAX(b.number) < {}", w.int(after.id)),
            None => String::new(),
        };
        let limit = w.int(page.fetch());
        let sql = format!(
            "SELECT b.scan_id FROM batches b{} GROUP BY b.scan_id{having}
             ORDER BY MAX(b.number) DESC LIMIT {limit}",
            w.sql()
        );
        let ids: Vec<String> = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let mut scans = self.scans_by_id(t, &ids).await?;
        scans.sort_by_key(|s| std::cmp::Reverse(s.last_number));
        Ok(scans)
    }

    /// One of the tenant's scans.
    pub async fn scan(
        &self,
        t: &TenantAccess,
        scan_id: &str,
    ) -> Result<Option<ScanRow>, StoreError> {
        Ok(self
            .scans_by_id(t, &[scan_id.to_string()])
            .await?
            .into_iter()
            .next())
    }

    /// The scans `ids` of the tenant (those with a part the caller may see).
    async fn scans_by_id(
        &self,
        t: &TenantAccess,
        ids: &[String],
    ) -> Result<Vec<ScanRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut w = tenant_batches(t);
        let list: Vec<String> = ids.iter().map(|id| w.text(id.as_str())).collect();
        w.and(format!("b.scan_id IN ({})", list.join(", ")));
        let active = w.arg(Arg::Bool(true));
        let sql = format!(
            "SELECT {BATCH_COLUMNS},
                 (SELECT COUNT(*) FROM assets a WHERE a.integration_id = b.integration_id
                      AND a.is_active = {active})
             {BATCH_JOINS}{} ORDER BY b.number",
            w.sql()
        );
        let rows = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pool)
            .await?;
        let mut parts: BTreeMap<String, Vec<(BatchRow, IngestSummary, i64)>> = BTreeMap::new();
        for r in &rows {
            let (batch, summary) = batch_row(r)?;
            let total_assets: i64 = r.try_get(14)?;
            parts
                .entry(batch.scan_id.clone())
                .or_default()
                .push((batch, summary, total_assets));
        }
        Ok(parts
            .into_iter()
            .filter_map(|(id, p)| scan_of(id, &p))
            .collect())
    }
}

/// A scan from its parts, in order of receipt (`None` without parts).
fn scan_of(scan_id: String, parts: &[(BatchRow, IngestSummary, i64)]) -> Option<ScanRow> {
    let (last, _, total_assets) = parts.last()?;
    let sum = |f: fn(&IngestSummary) -> u64| parts.iter().map(|(_, s, _)| f(s)).sum::<u64>();
    let started_at = parts.iter().map(|(b, ..)| b.started_at).min()?;
    let finished_at = parts.iter().map(|(b, ..)| b.finished_at).max()?;
    let failed = sum(|s| s.failed);
    let controls = sum(|s| s.controls);
    let controls_created = sum(|s| s.controls_created);
    let policies_created = sum(|s| s.policies_created);
    let evidence_created = sum(|s| s.evidence_created);
    let revisions = sum(|s| s.evidence_revisions);
    Some(ScanRow {
        success: true,
        message: format!("Scan complete: {failed} issues found"),
        assets_created: sum(|s| s.assets_created),
        assets_updated: sum(|s| s.assets_updated),
        assets_deactivated: sum(|s| s.assets_deactivated),
        total_assets: *total_assets,
        relationships_created: sum(|s| s.relationships_added),
        results_created: sum(|s| s.results),
        arns_skipped: 0,
        checks_executed: parts.iter().map(|(_, s, _)| s.checks).max().unwrap_or(0),
        checks_passed: sum(|s| s.passed),
        checks_failed: failed,
        checks_error: sum(|s| s.errors),
        checks_not_applicable: sum(|s| s.not_applicable),
        controls_created,
        controls_updated: controls.saturating_sub(controls_created),
        policies_created,
        policies_skipped: sum(|s| s.policies_matched).saturating_sub(policies_created),
        evidence_created,
        evidence_updated: revisions.saturating_sub(evidence_created),
        snapshots_captured: revisions,
        snapshots_failed: 0,
        history_entries_created: sum(|s| s.history),
        duration_seconds: finished_at.saturating_sub(started_at).max(0) as f64 / 1000.0,
        ingest_seconds: sum(|s| s.duration_ms) as f64 / 1000.0,
        batch_ids: parts.iter().map(|(b, ..)| b.id.clone()).collect(),
        agent_id: last.agent_id.clone(),
        integration_id: last.integration_id,
        integration: last.integration.clone(),
        complete: parts.iter().any(|(b, ..)| b.complete),
        started_at,
        finished_at,
        received_at: last.received_at,
        last_number: last.number,
        scan_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture::{Tenant, World, on_both_databases, walk};

    on_both_databases!(batches_newest_first_with_bytes, scans_sum_their_parts);

    async fn received(s: &Store, id: &str) -> i64 {
        sqlx::query_scalar("SELECT received_at FROM batches WHERE id = $1")
            .bind(id)
            .fetch_one(s.pool())
            .await
            .unwrap()
    }

    async fn batches_newest_first_with_bytes(w: World) {
        let s = &w.store;
        let t = &w.acme.access;
        let ids: Vec<String> = w
            .acme
            .batches
            .iter()
            .map(|b| b.0.batch_id.to_string())
            .collect();
        let listed = s.batches(t, &PageRequest::first(50)).await.unwrap();
        let newest_first: Vec<&str> = listed.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(newest_first, vec![ids[1].as_str(), ids[0].as_str()]);
        let paged = walk(
            1,
            "-number",
            async |req: PageRequest| s.batches(t, &req).await.unwrap(),
            |b| (None, b.number),
        )
        .await;
        assert_eq!(
            paged.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
            newest_first
        );
        let (batch, bytes, summary) = &w.acme.batches[1];
        let b = &listed[0];
        assert_eq!(
            (b.seq, b.agent_id.as_str()),
            (2, w.acme.peer.agent_id.as_str())
        );
        assert_eq!(b.integration, "main");
        assert_eq!(b.scan_id, batch.scan_id.to_string());
        assert_eq!(b.sha256, citadel_wire::sha256_hex(bytes));
        assert_eq!(b.prev.as_deref(), Some(listed[1].sha256.as_str()));
        assert_eq!(
            (b.started_at, b.finished_at),
            (batch.started_at, batch.finished_at)
        );
        assert!(b.complete && b.number > listed[1].number);
        let counts = b.results;
        assert_eq!(
            (counts.pass + counts.fail + counts.error + counts.not_applicable) as u64,
            summary.results
        );
        assert_eq!(counts.fail as u64, summary.failed);

        let detail = s.batch(t, &ids[1]).await.unwrap().unwrap();
        assert_eq!(&detail.summary, summary);
        assert_eq!(detail.batch.id, ids[1]);
        let (raw, sha) = s.batch_raw(t, &ids[1]).await.unwrap().unwrap();
        assert_eq!(&raw, bytes, "the signed bytes as received");
        assert_eq!(sha, citadel_wire::sha256_hex(&raw));

        // Beta sees its own batch only.
        let beta = s
            .batches(&w.beta.access, &PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(beta.len(), 1);
        assert_eq!(beta[0].id, w.beta.batches[0].0.batch_id.to_string());
        assert!(s.batch(&w.beta.access, &ids[0]).await.unwrap().is_none());
        assert!(
            s.batch_raw(&w.beta.access, &ids[0])
                .await
                .unwrap()
                .is_none()
        );

        // Auditors: batches received within the window.
        let second = received(s, &ids[1]).await;
        let late = w.acme.auditor(&["soc2"], second, i64::MAX);
        let seen = s.batches(&late, &PageRequest::first(50)).await.unwrap();
        assert_eq!(
            seen.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
            vec![ids[1].as_str()]
        );
        assert!(s.batch(&late, &ids[0]).await.unwrap().is_none());
        assert!(s.batch_raw(&late, &ids[0]).await.unwrap().is_none());
        assert!(s.batch_raw(&late, &ids[1]).await.unwrap().is_some());
    }

    async fn scans_sum_their_parts(w: World) {
        let s = &w.store;
        let t = &w.acme.access;
        let scans = s.scans(t, &PageRequest::first(50)).await.unwrap();
        let scan_ids: Vec<String> = w
            .acme
            .batches
            .iter()
            .map(|b| b.0.scan_id.to_string())
            .collect();
        assert_eq!(
            scans.iter().map(|s| s.scan_id.as_str()).collect::<Vec<_>>(),
            vec![scan_ids[1].as_str(), scan_ids[0].as_str()]
        );
        let paged = walk(
            1,
            "-last-part",
            async |req: PageRequest| s.scans(t, &req).await.unwrap(),
            |s| (None, s.last_number),
        )
        .await;
        assert_eq!(paged.len(), 2);
        assert_eq!(paged[0].scan_id, scan_ids[1]);

        let (batch, _, first) = &w.acme.batches[0];
        let one = &scans[1];
        assert!(one.success);
        assert_eq!(
            one.message,
            format!("Scan complete: {} issues found", first.failed)
        );
        assert_eq!(
            (
                one.assets_created,
                one.assets_updated,
                one.assets_deactivated
            ),
            (5, 0, 0)
        );
        assert_eq!(one.total_assets, 4, "active assets of the integration now");
        assert_eq!(one.relationships_created, 2);
        assert_eq!(
            (one.results_created, one.arns_skipped, one.checks_executed),
            (20, 0, 4)
        );
        assert_eq!(
            (
                one.checks_passed,
                one.checks_failed,
                one.checks_error,
                one.checks_not_applicable
            ),
            (
                first.passed,
                first.failed,
                first.errors,
                first.not_applicable
            )
        );
        assert_eq!(
            one.checks_passed + one.checks_failed + one.checks_error + one.checks_not_applicable,
            20
        );
        assert_eq!(one.controls_created, first.controls_created);
        assert_eq!(
            one.controls_updated,
            first.controls - first.controls_created
        );
        assert_eq!((one.evidence_created, one.evidence_updated), (20, 0));
        assert_eq!((one.snapshots_captured, one.snapshots_failed), (20, 0));
        assert_eq!(one.history_entries_created, 20);
        assert!((one.duration_seconds - 60.5).abs() < 1e-9);
        assert_eq!(one.batch_ids, vec![batch.batch_id.to_string()]);
        assert_eq!((one.integration.as_str(), one.complete), ("main", true));
        assert_eq!(
            (one.started_at, one.finished_at),
            (batch.started_at, batch.finished_at)
        );

        let two = &scans[0];
        assert_eq!(
            (
                two.assets_created,
                two.assets_updated,
                two.assets_deactivated
            ),
            (0, 4, 1)
        );
        assert_eq!(two.relationships_created, 0);
        assert_eq!((two.evidence_created, two.evidence_updated), (0, 16));
        assert_eq!(
            two.history_entries_created, 4,
            "asset 0's statuses moved on"
        );
        assert_eq!(two.controls_created, 0);
        assert_eq!(two.controls_updated, w.acme.batches[1].2.controls);

        let again = s.scan(t, &scan_ids[0]).await.unwrap().unwrap();
        assert_eq!(again.batch_ids, one.batch_ids);
        assert!(
            s.scan(&w.beta.access, &scan_ids[0])
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            s.scans(&w.beta.access, &PageRequest::first(50))
                .await
                .unwrap()
                .len(),
            1
        );
        let second = received(s, &w.acme.batches[1].0.batch_id.to_string()).await;
        let late = w.acme.auditor(&["soc2"], second, i64::MAX);
        let seen = s.scans(&late, &PageRequest::first(50)).await.unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].scan_id, scan_ids[1]);
        assert!(s.scan(&late, &scan_ids[0]).await.unwrap().is_none());

        // Policies: a check with a curated SCF control matches templates;
        // the second scan finds their policies made and skips them.
        let mut gamma = Tenant::new(s, "gamma", 9).await;
        let curated = |mut b: citadel_wire::Batch| {
            b.checks.truncate(1);
            b.checks[0].id = "ec2_ebs_volume_encryption".into();
            b.results
                .retain(|r| r.check_id == crate::store::fixture::CHECKS[0]);
            for r in &mut b.results {
                r.check_id = "ec2_ebs_volume_encryption".into();
            }
            b
        };
        let b = curated(gamma.next_batch(&[0, 4], &[]));
        let first = gamma.ingest(s, b).await;
        assert!(first.policies_created > 0 && first.policies_matched >= first.policies_created);
        let b = curated(gamma.next_batch(&[0, 4], &[]));
        let second = gamma.ingest(s, b).await;
        assert_eq!(second.policies_created, 0);
        let scans = s
            .scans(&gamma.access, &PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(scans[0].policies_created, 0);
        assert_eq!(scans[0].policies_skipped, second.policies_matched);
        assert!(scans[0].policies_skipped > 0);
        assert_eq!(scans[1].policies_created, first.policies_created);
        assert_eq!(
            scans[1].policies_skipped,
            first.policies_matched - first.policies_created
        );

        // A scan in two parts is one item, its counts summed.
        let mut delta = Tenant::new(s, "delta", 10).await;
        let mut part0 = delta.next_batch(&[0, 1], &[]);
        // Neither part claims the whole inventory: ingest deactivates the
        // assets a complete batch did not carry, which for a multi-part scan
        // would be the other parts' assets.
        (part0.parts, part0.complete) = (2, false);
        let scan_id = part0.scan_id;
        let first = delta.ingest(s, part0).await;
        // The second part chains to the first, so it is made after.
        let mut part1 = delta.next_batch(&[2, 3], &[]);
        part1.scan_id = scan_id;
        (part1.parts, part1.part, part1.complete) = (2, 1, false);
        let sums = [first, delta.ingest(s, part1).await];
        let scans = s
            .scans(&delta.access, &PageRequest::first(50))
            .await
            .unwrap();
        assert_eq!(scans.len(), 1);
        let scan = &scans[0];
        let ids: Vec<String> = delta
            .batches
            .iter()
            .map(|b| b.0.batch_id.to_string())
            .collect();
        assert_eq!(scan.batch_ids, ids);
        assert_eq!(scan.assets_created, 4);
        assert_eq!(scan.results_created, sums[0].results + sums[1].results);
        assert_eq!(scan.checks_failed, sums[0].failed + sums[1].failed);
        assert_eq!(scan.checks_executed, 4, "the catalog once, not per part");
        assert_eq!(scan.total_assets, 4);
        assert!(!scan.complete);
        assert_eq!(scan.started_at, delta.batches[0].0.started_at);
        assert_eq!(scan.finished_at, delta.batches[1].0.finished_at);
        let one = s.scan(&delta.access, &scan.scan_id).await.unwrap().unwrap();
        assert_eq!(one.batch_ids, ids);
    }
}
