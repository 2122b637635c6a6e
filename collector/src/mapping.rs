//! Mapping: from a batch's check results to applied controls, requirement
//! mappings, policies and evidence. Runs inside the ingest transaction, after
//! results are stored, and only for what the batch touched.
//!
//! - Each check's Prowler-native requirements are resolved to framework
//!   requirements, and its SCF controls derived (see [`Catalog::derive_scf`]).
//! - **Stage A:** one applied control per SCF control of the batch's checks.
//!   **Stage B:** checks without an SCF control get one applied control per
//!   requirement they carry.
//! - Counts cover the current results, on active assets, of every check linked
//!   to the control; posture follows from them (see [`posture`]).
//! - Control → requirement mappings (origin `auto`) come from the STRM (source
//!   `scf`) and from the checks' own requirements (source `check`).
//! - SCF controls touched get policies from the templates that name them
//!   (status `to_do`, origin `scan`, one per tenant and template).
//! - Every result has one evidence record; each batch adds a revision holding
//!   the result as signed and the stored batch that proves it.
//! - Evidence ↔ control and control ↔ asset links are views over the check
//!   links (`evidence_controls`, `applied_control_assets`): consistent by
//!   construction and free at ingest.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use citadel_wire::Batch;
use sqlx::{AnyConnection, Row};

use crate::catalog::Catalog;
use crate::store::bulk::{self, Value};
use crate::store::results::{STAGED, exec};
use crate::store::{IngestSummary, StoreError};

/// What ingest hands to the mapping stage.
#[derive(Debug)]
pub struct Input<'a> {
    /// Which database: bulk statements differ in placeholder style.
    pub backend: crate::store::Backend,
    /// Tenant.
    pub tenant_id: i64,
    /// The verified batch.
    pub batch: &'a Batch,
    /// Its id.
    pub batch_id: &'a str,
    /// The batch's row number, which per-result rows refer to.
    pub batch_number: i64,
    /// Assets of this tenant whose name this batch changed: their evidence
    /// records' copy of the name is refreshed.
    pub renamed_assets: &'a [i64],
    /// Ingest time.
    pub now: i64,
}

/// Posture of an applied control from its counts:
/// no results → `not_scanned`; nothing failing or erroring → `passing`;
/// nothing passing → `issues`; both → `partial`.
pub fn posture(passed: i64, failed: i64, errors: i64) -> &'static str {
    match (passed, failed + errors) {
        (0, 0) => "not_scanned",
        (_, 0) => "passing",
        (0, _) => "issues",
        _ => "partial",
    }
}

struct Control {
    key: String,
    scf_id: Option<String>,
    framework_key: Option<String>,
    requirement_id: Option<String>,
    name: String,
    checks: BTreeSet<String>,
    /// (framework id, requirement, source, coverage)
    requirements: BTreeSet<(String, String, &'static str, &'static str)>,
}

/// Run the mapping stage for one batch.
pub async fn apply(
    conn: &mut AnyConnection,
    catalog: &Catalog,
    input: &Input<'_>,
    summary: &mut IngestSummary,
) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let tenant = input.tenant_id;
    let mut controls: BTreeMap<String, Control> = BTreeMap::new();

    let backend = input.backend;
    // The batch's checks get their requirement and SCF rows anew.
    let check_ids: Vec<&str> = input.batch.checks.iter().map(|c| c.id.as_str()).collect();
    let this_tenant = format!("tenant_id = {tenant}");
    bulk::delete_in(
        conn,
        backend,
        "check_requirements",
        &this_tenant,
        "check_id",
        &check_ids,
    )
    .await?;
    bulk::delete_in(
        conn,
        backend,
        "check_scf",
        &this_tenant,
        "check_id",
        &check_ids,
    )
    .await?;
    let mut requirement_rows: Vec<Value> = Vec::new();
    let mut scf_rows: Vec<Value> = Vec::new();

    for check in &input.batch.checks {
        // 1. Requirements, resolved where the catalog knows the framework.
        let mut resolved = Vec::new();
        let mut native = Vec::new();
        for (fw_key, ids) in &check.requirements {
            for id in ids {
                let hit = catalog.resolve(fw_key, id);
                requirement_rows.extend([
                    tenant.into(),
                    check.id.as_str().into(),
                    fw_key.as_str().into(),
                    id.as_str().into(),
                    hit.as_ref().map(|h| h.0).into(),
                    hit.as_ref().map(|h| h.1.as_str()).into(),
                ]);
                native.push((fw_key.clone(), id.clone(), hit.clone()));
                if let Some(h) = hit {
                    resolved.push(h);
                }
            }
        }
        // 2. SCF controls of the check.
        let scf = catalog.derive_scf(&check.id, &resolved);
        for (scf_id, origin) in &scf {
            scf_rows.extend([
                tenant.into(),
                check.id.as_str().into(),
                scf_id.as_str().into(),
                (*origin).into(),
            ]);
        }
        let native_reqs: BTreeSet<(String, String, &'static str, &'static str)> = resolved
            .iter()
            .map(|(fw, r)| (fw.to_string(), r.clone(), "check", "full"))
            .collect();
        // 3. Stage A, or stage B when no SCF control applies.
        if !scf.is_empty() {
            for (scf_id, _) in &scf {
                let key = format!("scf:{scf_id}");
                let c = controls.entry(key.clone()).or_insert_with(|| {
                    let name = catalog
                        .control(scf_id)
                        .map(|c| c.name.clone())
                        .unwrap_or_else(|| scf_id.clone());
                    let requirements = catalog
                        .mappings_for_control(scf_id)
                        .map(|m| {
                            (
                                m.framework_id.to_string(),
                                m.ref_id.clone(),
                                "scf",
                                m.coverage,
                            )
                        })
                        .collect();
                    Control {
                        key: key.clone(),
                        scf_id: Some(scf_id.clone()),
                        framework_key: None,
                        requirement_id: None,
                        name: format!("{scf_id} {name}"),
                        checks: BTreeSet::new(),
                        requirements,
                    }
                });
                c.checks.insert(check.id.clone());
                c.requirements.extend(native_reqs.iter().cloned());
            }
        } else {
            for (fw_key, id, hit) in &native {
                let key = format!("req:{fw_key}:{id}");
                let c = controls.entry(key.clone()).or_insert_with(|| Control {
                    key: key.clone(),
                    scf_id: None,
                    framework_key: Some(fw_key.clone()),
                    requirement_id: Some(id.clone()),
                    name: format!("{fw_key} {id}"),
                    checks: BTreeSet::new(),
                    requirements: hit
                        .iter()
                        .map(|(fw, r)| (fw.to_string(), r.clone(), "check", "full"))
                        .collect(),
                });
                c.checks.insert(check.id.clone());
            }
        }
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
    let mut control_ids: HashMap<String, i64> = HashMap::new();
    let mut check_links: Vec<Value> = Vec::new();
    let mut requirement_links: Vec<Value> = Vec::new();
    for c in controls.values() {
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
                .bind(input.now)
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?
            }
        };
        control_ids.insert(c.key.clone(), id);
        for check in &c.checks {
            check_links.extend([id.into(), check.as_str().into()]);
        }
        for (fw, r, source, coverage) in &c.requirements {
            requirement_links.extend([
                id.into(),
                fw.as_str().into(),
                r.as_str().into(),
                "auto".into(),
                (*source).into(),
                (*coverage).into(),
            ]);
        }
        summary.controls += 1;

        // 5. Policies for the SCF control.
        if let Some(scf_id) = &c.scf_id {
            for t in catalog
                .templates
                .iter()
                .filter(|t| t.scf.iter().any(|s| s == scf_id))
            {
                let created = sqlx::query(
                    "INSERT INTO policies (tenant_id, template_id, name, status, origin, created_at)
                     VALUES ($1, $2, $3, 'to_do', 'scan', $4) ON CONFLICT (tenant_id, template_id) DO NOTHING",
                )
                .bind(tenant)
                .bind(&t.id)
                .bind(&t.title)
                .bind(input.now)
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

    let touched: Vec<i64> = control_ids.values().copied().collect();
    recount(conn, tenant, &touched, input).await?;
    tracing::debug!(
        controls = control_ids.len(),
        ms = started.elapsed().as_millis() as u64,
        "Applied controls recomputed."
    );
    // 6. Evidence: one record per result, created at its first observation;
    //    every batch adds a revision: the result's status and where its signed
    //    bytes lie in the stored batch (the batch row holds their SHA-256).
    evidence(conn, input, summary).await?;
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "Evidence and revisions written."
    );
    Ok(())
}

/// Create evidence for first observations, refresh the asset name copied into
/// records whose asset was renamed, and add one revision per result:
/// set-based over the staged results (see [`crate::store::results`]). A result
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
    input: &Input<'_>,
    summary: &mut IngestSummary,
) -> Result<(), StoreError> {
    let (tenant, now, batch) = (input.tenant_id, input.now, input.batch_number);
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
    if !input.renamed_assets.is_empty() {
        let ids: Vec<String> = input.renamed_assets.iter().map(i64::to_string).collect();
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
/// check, then each control sums the checks linked to it.
async fn recount(
    conn: &mut AnyConnection,
    tenant: i64,
    ids: &[i64],
    input: &Input<'_>,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut per_check: HashMap<String, [i64; 4]> = HashMap::new();
    for row in sqlx::query(
        "SELECT r.check_id, r.status, COUNT(*) FROM check_results r
         JOIN assets a ON a.id = r.asset_id
         WHERE r.tenant_id = $1 AND a.is_active = $2
         GROUP BY r.check_id, r.status",
    )
    .bind(tenant)
    .bind(true)
    .fetch_all(&mut *conn)
    .await?
    {
        let check: String = row.try_get(0)?;
        let status: String = row.try_get(1)?;
        let n: i64 = row.try_get(2)?;
        let counts = per_check.entry(check).or_default();
        counts[3] += n;
        match status.as_str() {
            "pass" => counts[0] += n,
            "fail" => counts[1] += n,
            "error" => counts[2] += n,
            _ => {}
        }
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
        .bind(input.now)
        .bind(input.batch_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::posture;

    #[test]
    fn posture_rule() {
        assert_eq!(posture(0, 0, 0), "not_scanned");
        assert_eq!(posture(3, 0, 0), "passing");
        assert_eq!(posture(0, 2, 0), "issues");
        assert_eq!(posture(0, 0, 1), "issues");
        assert_eq!(posture(1, 1, 0), "partial");
        assert_eq!(posture(1, 0, 1), "partial");
    }
}
