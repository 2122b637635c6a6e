//! The mapping stage's writes: executes a [`Plan`] of [`crate::mapping`]
//! inside the ingest transaction, after results are stored, and only for
//! what the batch touched: the checks' requirement and SCF rows, applied
//! controls (upserted, linked, recounted), policies, then evidence and its
//! revisions.

use std::collections::{BTreeMap, HashMap};

use sqlx::{AnyConnection, Row};

use super::batches::Scope;
use super::bulk::{self, Value};
use super::results::{STAGED, exec};
use super::{IngestSummary, StoreError};
use crate::mapping::{Plan, posture};

/// Run the mapping stage for one batch: write `plan`. `renamed_assets` are
/// the tenant's assets whose name this batch changed: their evidence
/// records' copy of the name is refreshed.
pub(super) async fn execute(
    conn: &mut AnyConnection,
    scope: &Scope<'_>,
    plan: &Plan<'_>,
    renamed_assets: &[i64],
    summary: &mut IngestSummary,
) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let Scope {
        backend,
        tenant_id: tenant,
        now,
        ..
    } = *scope;

    // The batch's checks get their requirement and SCF rows anew.
    let this_tenant = format!("tenant_id = {tenant}");
    bulk::delete_in(
        conn,
        backend,
        "check_requirements",
        &this_tenant,
        "check_id",
        &plan.checks,
    )
    .await?;
    bulk::delete_in(
        conn,
        backend,
        "check_scf",
        &this_tenant,
        "check_id",
        &plan.checks,
    )
    .await?;
    let mut requirement_rows: Vec<Value> = Vec::with_capacity(plan.requirements.len() * 6);
    for r in &plan.requirements {
        requirement_rows.extend([
            tenant.into(),
            r.check_id.into(),
            r.framework_key.into(),
            r.native_id.into(),
            r.resolved.as_ref().map(|h| h.0).into(),
            r.resolved.as_ref().map(|h| h.1.as_str()).into(),
        ]);
    }
    let mut scf_rows: Vec<Value> = Vec::with_capacity(plan.scf.len() * 4);
    for s in &plan.scf {
        scf_rows.extend([
            tenant.into(),
            s.check_id.into(),
            s.scf_id.as_str().into(),
            s.origin.into(),
        ]);
    }
    bulk::insert(
        conn,
        backend,
        "check_requirements (tenant_id, check_id, framework_key, native_id, framework_id, ref_id)",
        "ON CONFLICT DO NOTHING",
        6,
        &requirement_rows,
    )
    .await?;
    bulk::insert(
        conn,
        backend,
        "check_scf (tenant_id, check_id, scf_id, origin)",
        "",
        4,
        &scf_rows,
    )
    .await?;

    // 4. Applied controls: upsert, link checks, recount, map to requirements.
    // Row ids of the plan's controls, in key order.
    let mut touched: Vec<i64> = Vec::with_capacity(plan.controls.len());
    let mut check_links: Vec<Value> = Vec::new();
    let mut requirement_links: Vec<Value> = Vec::new();
    for c in &plan.controls {
        let existing =
            sqlx::query("SELECT id FROM applied_controls WHERE tenant_id = $1 AND key = $2")
                .bind(tenant)
                .bind(&c.key)
                .fetch_optional(&mut *conn)
                .await?;
        let id: i64 = match existing {
            Some(r) => r.try_get(0)?,
            None => {
                summary.controls_created += 1;
                sqlx::query(
                    "INSERT INTO applied_controls (tenant_id, key, scf_id, framework_key, requirement_id, name,
                         category, origin, posture, passed, failed, errors, total, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'technical', 'scan', 'not_scanned', 0, 0, 0, 0, $7)
                     RETURNING id",
                )
                .bind(tenant)
                .bind(&c.key)
                .bind(c.scf_id.as_deref())
                .bind(c.framework_key.as_deref())
                .bind(c.requirement_id.as_deref())
                .bind(&c.name)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?
            }
        };
        touched.push(id);
        for check in &c.checks {
            check_links.extend([id.into(), (*check).into()]);
        }
        for link in &c.requirements {
            requirement_links.extend([
                id.into(),
                link.framework_id.into(),
                link.ref_id.as_str().into(),
                "auto".into(),
                link.source.into(),
                link.coverage.into(),
            ]);
        }
        summary.controls += 1;

        // 5. Policies for the SCF control.
        for t in &c.policies {
            let created = sqlx::query(
                "INSERT INTO policies (tenant_id, template_id, name, status, origin, created_at)
                 VALUES ($1, $2, $3, 'to_do', 'scan', $4) ON CONFLICT (tenant_id, template_id) DO NOTHING",
            )
            .bind(tenant)
            .bind(&t.id)
            .bind(&t.title)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            summary.policies_created += created.rows_affected();
            summary.policies_matched += 1;
            sqlx::query(
                "INSERT INTO policy_controls (policy_id, applied_control_id)
                 SELECT id, $1 FROM policies WHERE tenant_id = $2 AND template_id = $3
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(tenant)
            .bind(&t.id)
            .execute(&mut *conn)
            .await?;
        }
    }

    bulk::insert(
        conn,
        backend,
        "applied_control_checks (applied_control_id, check_id)",
        "ON CONFLICT DO NOTHING",
        2,
        &check_links,
    )
    .await?;
    bulk::insert(
        conn,
        backend,
        "control_requirement_mappings (applied_control_id, framework_id, ref_id, origin, source, coverage)",
        "ON CONFLICT DO NOTHING",
        6,
        &requirement_links,
    )
    .await?;

    summary.failing_by_severity = Some(recount(conn, scope, &touched).await?);
    tracing::debug!(
        controls = touched.len(),
        ms = started.elapsed().as_millis() as u64,
        "Applied controls recomputed."
    );
    // 6. Evidence: one record per result, created at its first observation;
    //    every batch adds a revision: the result's status and where its signed
    //    bytes lie in the stored batch (the batch row holds their SHA-256).
    evidence(conn, scope, renamed_assets, summary).await?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "Evidence and revisions written."
    );
    Ok(())
}

/// Create evidence for first observations, refresh the asset name copied into
/// records whose asset was renamed, and add one revision per result:
/// set-based over the staged results (see [`super::results`]). A result
/// seen for the first time has no evidence yet: results and evidence are
/// created in one transaction.
///
/// A record's id is its result's id (migration 0005), and the staged rows
/// carry the result's observation count, which is the new revision's version:
/// revisions are written straight from the staged rows, without looking up a
/// record or a result per row.
///
/// Evidence rows are not rewritten on every rescan: a record's revision count
/// and last update are its latest revision (view `evidence_latest`).
async fn evidence(
    conn: &mut AnyConnection,
    scope: &Scope<'_>,
    renamed_assets: &[i64],
    summary: &mut IngestSummary,
) -> Result<(), StoreError> {
    let (tenant, now, batch) = (scope.tenant_id, scope.now, scope.batch_number);
    summary.evidence_created += exec(
        conn,
        format!(
            "INSERT INTO evidence (id, tenant_id, check_result_id, check_id, status,
                 is_continuous, asset_name, asset_type, asset_source_id, created_at)
             SELECT s.result_id, {tenant}, s.result_id, s.check_id, 'in_review', TRUE, a.name,
                 a.kind, a.source_id, {now}
             FROM {STAGED} s JOIN assets a ON a.id = s.asset_id
             WHERE s.previous_status IS NULL
             ON CONFLICT DO NOTHING"
        ),
    )
    .await?;
    if !renamed_assets.is_empty() {
        let ids: Vec<String> = renamed_assets.iter().map(i64::to_string).collect();
        // Every record of the asset, not only those this batch observed: a
        // record left out now would keep the old name for good.
        exec(
            conn,
            format!(
                "UPDATE evidence SET asset_name = a.name
                 FROM check_results r JOIN assets a ON a.id = r.asset_id
                 WHERE evidence.id = r.id AND r.asset_id IN ({})
                     AND evidence.asset_name IS DISTINCT FROM a.name",
                ids.join(", ")
            ),
        )
        .await?;
    }
    summary.evidence_revisions += exec(
        conn,
        format!(
            "INSERT INTO evidence_revisions (evidence_id, version, result_status, batch_number,
                 result_offset, result_len, created_at)
             SELECT result_id, observations, status, {batch}, result_offset, result_len, {now}
             FROM {STAGED}"
        ),
    )
    .await?;
    Ok(())
}

/// Recompute the counts and posture of the applied controls `ids` from the
/// tenant's current results on active assets: one pass counting results per
/// check and severity, then each control sums the checks linked to it.
/// Returns the tenant's failing results by severity from the same pass,
/// which the batch summary keeps for the console's overview (counting them
/// there would read every result of the tenant on each page view).
async fn recount(
    conn: &mut AnyConnection,
    scope: &Scope<'_>,
    ids: &[i64],
) -> Result<BTreeMap<String, u64>, StoreError> {
    let tenant = scope.tenant_id;
    let mut per_check: HashMap<String, [i64; 4]> = HashMap::new();
    let mut failing: BTreeMap<String, u64> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT r.check_id, r.status, r.severity, COUNT(*) FROM check_results r
         JOIN assets a ON a.id = r.asset_id
         WHERE r.tenant_id = $1 AND a.is_active = $2
         GROUP BY r.check_id, r.status, r.severity",
    )
    .bind(tenant)
    .bind(true)
    .fetch_all(&mut *conn)
    .await?
    {
        let check: String = row.try_get(0)?;
        let status: String = row.try_get(1)?;
        let n: i64 = row.try_get(3)?;
        let counts = per_check.entry(check).or_default();
        counts[3] += n;
        match status.as_str() {
            "pass" => counts[0] += n,
            "fail" => {
                counts[1] += n;
                *failing.entry(row.try_get(2)?).or_default() += u64::try_from(n).unwrap_or(0);
            }
            "error" => counts[2] += n,
            _ => {}
        }
    }
    if ids.is_empty() {
        return Ok(failing);
    }
    let mut links: HashMap<i64, Vec<String>> = HashMap::new();
    for row in sqlx::query(
        "SELECT acc.applied_control_id, acc.check_id FROM applied_control_checks acc
         JOIN applied_controls c ON c.id = acc.applied_control_id
         WHERE c.tenant_id = $1",
    )
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await?
    {
        links
            .entry(row.try_get(0)?)
            .or_default()
            .push(row.try_get(1)?);
    }
    for &id in ids {
        let mut sum = [0i64; 4];
        for check in links.get(&id).into_iter().flatten() {
            if let Some(c) = per_check.get(check) {
                for (s, n) in sum.iter_mut().zip(c) {
                    *s += n;
                }
            }
        }
        let [passed, failed, errors, total] = sum;
        sqlx::query(
            "UPDATE applied_controls SET passed = $1, failed = $2, errors = $3, total = $4,
                 posture = $5, last_scan_at = $6, last_batch_id = $7 WHERE id = $8",
        )
        .bind(passed)
        .bind(failed)
        .bind(errors)
        .bind(total)
        .bind(posture(passed, failed, errors))
        .bind(scope.now)
        .bind(scope.batch_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(failing)
}
