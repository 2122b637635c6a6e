//! Applied controls as the API shows and edits them: listing with filters,
//! one control with what hangs off it, and the hand-edited fields (status,
//! owner, notes) guarded by the control's `version`.
//!
//! Ingest owns the counts and posture; people own status, owner and notes.
//! `version` counts manual edits only, so a rescan never makes an edit stale.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::audit::append;
use super::page::PageRequest;
use super::sql::{Filter, contains_pattern, control_in_scope, evidence_in_scope};
use super::{Store, StoreError};
use crate::audit::{Action, Context, Event};
use crate::auth::TenantAccess;

/// Hand-set status of an applied control or a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkStatus {
    /// Not started.
    ToDo,
    /// Being put in place.
    InProgress,
    /// Paused.
    OnHold,
    /// In force.
    Active,
    /// No longer in force.
    Deprecated,
}

impl WorkStatus {
    /// Every status.
    pub const ALL: [WorkStatus; 5] = [
        Self::ToDo,
        Self::InProgress,
        Self::OnHold,
        Self::Active,
        Self::Deprecated,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToDo => "to_do",
            Self::InProgress => "in_progress",
            Self::OnHold => "on_hold",
            Self::Active => "active",
            Self::Deprecated => "deprecated",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == s)
    }
}

/// An applied control's scan posture (see `mapping::posture`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Posture {
    /// Every result passes.
    Passing,
    /// Some pass, some fail.
    Partial,
    /// Nothing passes.
    Issues,
    /// No results yet.
    NotScanned,
}

impl Posture {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passing => "passing",
            Self::Partial => "partial",
            Self::Issues => "issues",
            Self::NotScanned => "not_scanned",
        }
    }
}

/// An applied control as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ControlRow {
    /// Row id.
    pub id: i64,
    /// `scf:<SCF id>` or `req:<framework>:<requirement>`.
    pub key: String,
    /// SCF control (stage A).
    pub scf_id: Option<String>,
    /// Framework key of the requirement (stage B).
    pub framework_key: Option<String>,
    /// Requirement (stage B).
    pub requirement_id: Option<String>,
    /// Name.
    pub name: String,
    /// `technical`.
    pub category: String,
    /// `scan`.
    pub origin: String,
    /// `passing` | `partial` | `issues` | `not_scanned`.
    pub posture: String,
    /// Passing results.
    pub passed: i64,
    /// Failing results.
    pub failed: i64,
    /// Results in error.
    pub errors: i64,
    /// All results.
    pub total: i64,
    /// Last recount (Unix ms).
    pub last_scan_at: Option<i64>,
    /// Batch of the last recount.
    pub last_batch_id: Option<String>,
    /// Created (Unix ms).
    pub created_at: i64,
    /// Hand-set status.
    pub status: WorkStatus,
    /// Owner (free text).
    pub owner: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Edit version (the ETag).
    pub version: i64,
}

/// Filters of the control listing.
#[derive(Debug, Clone, Default)]
pub struct ControlFilter {
    /// Posture.
    pub posture: Option<Posture>,
    /// Hand-set status.
    pub status: Option<WorkStatus>,
    /// SCF control id.
    pub scf: Option<String>,
    /// Mapped (any origin) to this framework.
    pub framework: Option<String>,
    /// Name or key contains (case-insensitive).
    pub q: Option<String>,
}

/// A check linked to a control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LinkedCheck {
    /// Check id.
    pub check_id: String,
    /// Title from the tenant's catalog.
    pub title: Option<String>,
    /// Severity.
    pub severity: Option<String>,
    /// Plugin that provides it.
    pub plugin: Option<String>,
}

/// An asset a control covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LinkedAsset {
    /// Asset row id.
    pub id: i64,
    /// Name.
    pub name: Option<String>,
    /// Kind (`ec2:volume`).
    pub kind: String,
    /// ARN or other source id.
    pub source_id: String,
    /// Region.
    pub region: String,
    /// Seen by the last complete scan.
    pub is_active: bool,
}

/// One requirement a control maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RequirementLink {
    /// Framework id.
    pub framework_id: String,
    /// Requirement id.
    pub ref_id: String,
    /// Requirement title, where shipped.
    pub name: Option<String>,
    /// `auto` | `manual`.
    pub origin: String,
    /// `scf` | `check` | `manual`.
    pub source: String,
    /// `full` | `partial`.
    pub coverage: String,
}

/// A policy in short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PolicyRef {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Status.
    pub status: WorkStatus,
}

/// Where a control's asset and evidence counts stop.
pub const COUNT_CAP: i64 = 10_000;

/// One control with what hangs off it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ControlDetail {
    /// The control.
    #[serde(flatten)]
    pub control: ControlRow,
    /// Checks that validate it.
    pub checks: Vec<LinkedCheck>,
    /// Assets it covers, counted up to [`COUNT_CAP`] + 1 (which means
    /// "more than `COUNT_CAP`").
    pub asset_count: i64,
    /// 100 of them (of its checks' first results), by id.
    pub assets: Vec<LinkedAsset>,
    /// Evidence records linked to it (for auditors: within their scope),
    /// counted up to [`COUNT_CAP`] + 1.
    pub evidence_count: i64,
    /// Of which awaiting review, counted up to [`COUNT_CAP`] + 1.
    pub evidence_in_review: i64,
    /// Requirements it maps to (for auditors: of their frameworks).
    pub requirements: Vec<RequirementLink>,
    /// Policies it supports.
    pub policies: Vec<PolicyRef>,
}

/// A change of a control's hand-edited fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ControlChange {
    /// New status.
    pub status: Option<WorkStatus>,
    /// New owner (`Some(None)` clears it).
    pub owner: Option<Option<String>>,
    /// New notes (`Some(None)` clears them).
    pub notes: Option<Option<String>>,
}

/// Assets shown in a control's detail.
const DETAIL_ASSETS: i64 = 100;

const COLUMNS: &str = "c.id, c.key, c.scf_id, c.framework_key, c.requirement_id, c.name,
    c.category, c.origin, c.posture, c.passed, c.failed, c.errors, c.total, c.last_scan_at,
    c.last_batch_id, c.created_at, c.status, c.owner, c.notes, c.version";

/// [`COLUMNS`] unqualified, for RETURNING (SQLite takes no table name there).
const RETURNING: &str = "id, key, scf_id, framework_key, requirement_id, name,
    category, origin, posture, passed, failed, errors, total, last_scan_at,
    last_batch_id, created_at, status, owner, notes, version";

fn control_row(r: &sqlx::any::AnyRow) -> Result<ControlRow, StoreError> {
    let status: String = r.try_get(16)?;
    Ok(ControlRow {
        id: r.try_get(0)?,
        key: r.try_get(1)?,
        scf_id: r.try_get(2)?,
        framework_key: r.try_get(3)?,
        requirement_id: r.try_get(4)?,
        name: r.try_get(5)?,
        category: r.try_get(6)?,
        origin: r.try_get(7)?,
        posture: r.try_get(8)?,
        passed: r.try_get(9)?,
        failed: r.try_get(10)?,
        errors: r.try_get(11)?,
        total: r.try_get(12)?,
        last_scan_at: r.try_get(13)?,
        last_batch_id: r.try_get(14)?,
        created_at: r.try_get(15)?,
        status: work_status(&status)?,
        owner: r.try_get(17)?,
        notes: r.try_get(18)?,
        version: r.try_get(19)?,
    })
}

/// Parse a stored status.
pub(crate) fn work_status(s: &str) -> Result<WorkStatus, StoreError> {
    WorkStatus::parse(s).ok_or_else(|| StoreError::Unreadable(format!("unknown status {s:?}")))
}

/// The hand-edited state recorded in the audit log.
fn edit_state(c: &ControlRow) -> serde_json::Value {
    serde_json::json!({
        "status": c.status,
        "owner": c.owner,
        "notes": c.notes,
        "version": c.version,
    })
}

impl Store {
    /// A page of the tenant's applied controls by name, filtered.
    pub async fn controls(
        &self,
        t: &TenantAccess,
        filter: &ControlFilter,
        page: &PageRequest,
    ) -> Result<Vec<ControlRow>, StoreError> {
        let mut f = Filter::default();
        let tenant = f.arg(t.id());
        f.and(format!("c.tenant_id = {tenant}"));
        control_in_scope(&mut f, t, "c.id");
        if let Some(p) = filter.posture {
            let p = f.arg(p.as_str());
            f.and(format!("c.posture = {p}"));
        }
        if let Some(s) = filter.status {
            let s = f.arg(s.as_str());
            f.and(format!("c.status = {s}"));
        }
        if let Some(scf) = &filter.scf {
            let scf = f.arg(scf.as_str());
            f.and(format!("c.scf_id = {scf}"));
        }
        if let Some(fw) = &filter.framework {
            let fw = f.arg(fw.as_str());
            f.and(format!(
                "EXISTS (SELECT 1 FROM control_requirement_mappings m
                         WHERE m.applied_control_id = c.id AND m.framework_id = {fw})"
            ));
        }
        if let Some(q) = &filter.q {
            let p = f.arg(contains_pattern(q));
            f.and(format!(
                "(LOWER(c.name) LIKE {p} ESCAPE '!' OR LOWER(c.key) LIKE {p} ESCAPE '!')"
            ));
        }
        if let Some(after) = &page.after {
            let k = f.arg(after.key.clone().unwrap_or_default());
            let id = f.arg(after.id);
            f.and(format!("(c.name > {k} OR (c.name = {k} AND c.id > {id}))"));
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM applied_controls c WHERE {} ORDER BY c.name, c.id LIMIT {}",
            f.sql(),
            page.fetch()
        );
        let rows = f.query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(control_row).collect()
    }

    /// One of the tenant's controls (for auditors: only one mapped to their
    /// frameworks), or `None`.
    pub async fn control(
        &self,
        t: &TenantAccess,
        id: i64,
    ) -> Result<Option<ControlRow>, StoreError> {
        let mut f = Filter::default();
        let (tenant, id) = (f.arg(t.id()), f.arg(id));
        f.and(format!("c.tenant_id = {tenant} AND c.id = {id}"));
        control_in_scope(&mut f, t, "c.id");
        let sql = format!("SELECT {COLUMNS} FROM applied_controls c WHERE {}", f.sql());
        f.query(sql)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(control_row)
            .transpose()
    }

    /// One control with its checks, assets, evidence counts, requirement
    /// mappings and policies.
    pub async fn control_detail(
        &self,
        t: &TenantAccess,
        id: i64,
    ) -> Result<Option<ControlDetail>, StoreError> {
        let Some(control) = self.control(t, id).await? else {
            return Ok(None);
        };
        let checks = sqlx::query(
            "SELECT acc.check_id, s.title, s.severity, s.plugin
             FROM applied_control_checks acc
             LEFT JOIN security_checks s ON s.tenant_id = $1 AND s.id = acc.check_id
             WHERE acc.applied_control_id = $2 ORDER BY acc.check_id",
        )
        .bind(t.id())
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(LinkedCheck {
                check_id: r.try_get(0)?,
                title: r.try_get(1)?,
                severity: r.try_get(2)?,
                plugin: r.try_get(3)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        // Counts stop at COUNT_CAP + 1: a control of a check that runs on
        // every resource covers the whole estate, and counting it exactly
        // would read every one of its results on each view. Each check's
        // rows are read from its own index range (`Filter::per_check`).
        let check_ids: Vec<String> = checks.iter().map(|c| c.check_id.clone()).collect();
        let cap = COUNT_CAP + 1;
        let (asset_count, assets) = if check_ids.is_empty() {
            (0, Vec::new())
        } else {
            // A (tenant, check, asset) triple is unique: a check's first
            // `cap` rows name `cap` different assets.
            let (f, _, union) = assets_of_checks(t, &check_ids, cap);
            let sql = format!(
                "SELECT COUNT(*) FROM (SELECT DISTINCT asset_id FROM ({union}) u LIMIT {cap}) x"
            );
            let count: i64 = f.query(sql).fetch_one(&self.pool).await?.try_get(0)?;

            let (f, tenant, union) = assets_of_checks(t, &check_ids, DETAIL_ASSETS);
            let sql = format!(
                "SELECT a.id, a.name, a.kind, a.source_id, a.region,
                     CASE WHEN a.is_active THEN 1 ELSE 0 END
                 FROM assets a
                 WHERE a.tenant_id = {tenant} AND a.id IN (SELECT asset_id FROM ({union}) u)
                 ORDER BY a.id LIMIT {DETAIL_ASSETS}"
            );
            let assets = f
                .query(sql)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(LinkedAsset {
                        id: r.try_get(0)?,
                        name: r.try_get(1)?,
                        kind: r.try_get(2)?,
                        source_id: r.try_get(3)?,
                        region: r.try_get(4)?,
                        is_active: r.try_get::<i64, _>(5)? != 0,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            (count, assets)
        };

        let mut evidence_counts = [0i64; 2];
        for (n, only_in_review) in evidence_counts.iter_mut().zip([false, true]) {
            if check_ids.is_empty() {
                break;
            }
            let mut f = Filter::default();
            let tenant = f.arg(t.id());
            f.and(format!("e.tenant_id = {tenant}"));
            if only_in_review {
                f.and("e.status = 'in_review'");
            }
            evidence_in_scope(&mut f, t, "e.id");
            let base = f.sql();
            // A record belongs to one check: the branches never overlap.
            let union = f.per_check(&check_ids, |check| {
                format!(
                    "SELECT e.id FROM evidence e WHERE {base} AND e.check_id = {check}
                     ORDER BY e.id LIMIT {cap}"
                )
            });
            let sql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM ({union}) u LIMIT {cap}) x");
            *n = f.query(sql).fetch_one(&self.pool).await?.try_get(0)?;
        }
        let [evidence_count, evidence_in_review] = evidence_counts;

        let requirements = self
            .requirements_of_controls(t, &[id])
            .await?
            .remove(&id)
            .unwrap_or_default();
        let policies = sqlx::query(
            "SELECT p.id, p.name, p.status FROM policy_controls pc
             JOIN policies p ON p.id = pc.policy_id
             WHERE pc.applied_control_id = $1 AND p.tenant_id = $2 ORDER BY p.name, p.id",
        )
        .bind(id)
        .bind(t.id())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(PolicyRef {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                status: work_status(&r.try_get::<String, _>(2)?)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(ControlDetail {
            control,
            checks,
            asset_count,
            assets,
            evidence_count,
            evidence_in_review,
            requirements,
            policies,
        }))
    }

    /// Change a control's hand-edited fields if its version is still
    /// `if_match` ([`StoreError::Stale`] otherwise), with its audit row.
    pub async fn update_control(
        &self,
        ctx: &Context,
        t: &TenantAccess,
        id: i64,
        if_match: i64,
        change: &ControlChange,
    ) -> Result<ControlRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let before = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM applied_controls c WHERE c.id = $1 AND c.tenant_id = $2"
        )))
        .bind(id)
        .bind(t.id())
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(control_row)
        .transpose()?
        .ok_or(StoreError::NotFound)?;
        if before.version != if_match {
            return Err(StoreError::Stale);
        }
        let status = change.status.unwrap_or(before.status);
        let owner = change.owner.clone().unwrap_or_else(|| before.owner.clone());
        let notes = change.notes.clone().unwrap_or_else(|| before.notes.clone());
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE applied_controls SET status = $1, owner = $2, notes = $3, version = version + 1
             WHERE id = $4 AND tenant_id = $5 AND version = $6 RETURNING {RETURNING}"
        )))
        .bind(status.as_str())
        .bind(owner)
        .bind(notes)
        .bind(id)
        .bind(t.id())
        .bind(if_match)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::Stale)?;
        let after = control_row(&row)?;
        append(
            &mut tx,
            ctx,
            &Event::new(Action::ControlUpdated, "applied_control", id)
                .tenant(t.id())
                .before(edit_state(&before))
                .after(edit_state(&after)),
        )
        .await?;
        tx.commit().await?;
        self.committed();
        Ok(after)
    }
}

/// The asset ids of each of `checks`' results, at most `limit` per check, as
/// a UNION ALL (ids may repeat across checks), with the filter binding them
/// and the tenant's placeholder. The ORDER BY keeps each branch on the
/// (tenant, check, asset) index: with a bare LIMIT PostgreSQL scans the
/// table, whose rows of one check are spread through it.
fn assets_of_checks(t: &TenantAccess, checks: &[String], limit: i64) -> (Filter, String, String) {
    let mut f = Filter::default();
    let tenant = f.arg(t.id());
    let union = f.per_check(checks, |check| {
        format!(
            "SELECT r.asset_id FROM check_results r
             WHERE r.tenant_id = {tenant} AND r.check_id = {check}
             ORDER BY r.asset_id LIMIT {limit}"
        )
    });
    (f, tenant, union)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{CHECK_REQ, CHECK_SCF, Fixture, on_both_databases};

    fn json(text: &Option<String>) -> serde_json::Value {
        serde_json::from_str(text.as_deref().unwrap()).unwrap()
    }

    async fn keys(store: &Store, t: TenantAccess, filter: ControlFilter) -> Vec<String> {
        store
            .controls(&t, &filter, &PageRequest::first(100))
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.key)
            .collect()
    }

    async fn controls_list_filter_and_edit(mut f: Fixture) {
        f.scan(3).await;
        let store = f.store();
        let admin = f.admin();
        let all = store
            .controls(&admin, &ControlFilter::default(), &PageRequest::first(100))
            .await
            .unwrap();
        assert!(all.len() >= 2, "{all:?}");
        let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "by name");

        // Keyset pages walk the same rows.
        let mut seen = Vec::new();
        let mut page = PageRequest::first(2);
        loop {
            let rows = store
                .controls(&admin, &ControlFilter::default(), &page)
                .await
                .unwrap();
            let more = rows.len() as i64 > page.limit;
            seen.extend(rows.iter().take(2).map(|c| c.id));
            if !more {
                break;
            }
            let last = &rows[1];
            page.after = Some(crate::store::page::Cursor {
                key: Some(last.name.clone()),
                id: last.id,
            });
        }
        assert_eq!(seen, all.iter().map(|c| c.id).collect::<Vec<_>>());

        let by = |filter: ControlFilter| keys(store, admin.clone(), filter);
        assert_eq!(
            by(ControlFilter {
                scf: Some("CRY-05".into()),
                ..Default::default()
            })
            .await,
            vec!["scf:CRY-05"]
        );
        assert_eq!(
            by(ControlFilter {
                q: Some("soc2 CC_7".into()),
                ..Default::default()
            })
            .await,
            vec!["req:soc2:cc_7_2"]
        );
        // The first volume fails the SCF check: its controls are partial.
        let partial = by(ControlFilter {
            posture: Some(Posture::Partial),
            ..Default::default()
        })
        .await;
        assert!(partial.contains(&"scf:CRY-05".to_string()));
        assert!(!partial.contains(&"req:soc2:cc_7_2".to_string()));
        let soc2 = by(ControlFilter {
            framework: Some("soc2".into()),
            ..Default::default()
        })
        .await;
        assert!(soc2.contains(&"req:soc2:cc_7_2".to_string()));
        assert!(
            by(ControlFilter {
                status: Some(WorkStatus::Deprecated),
                ..Default::default()
            })
            .await
            .is_empty()
        );

        let id = f.control_id("scf:CRY-05").await;
        let detail = store.control_detail(&admin, id).await.unwrap().unwrap();
        assert_eq!(detail.checks.len(), 1);
        assert_eq!(detail.checks[0].check_id, CHECK_SCF);
        assert_eq!(detail.checks[0].plugin.as_deref(), Some("test-pack"));
        assert_eq!(detail.asset_count, 3);
        assert_eq!(detail.assets.len(), 3);
        assert_eq!((detail.evidence_count, detail.evidence_in_review), (3, 3));
        assert!(!detail.requirements.is_empty());
        assert!(detail.requirements.iter().all(|r| r.origin == "auto"));
        assert_eq!(detail.policies.len(), 1, "the encryption policy");

        // An edit: one audit row with the state before and after.
        let change = ControlChange {
            status: Some(WorkStatus::InProgress),
            owner: Some(Some("Platform team".into())),
            notes: None,
        };
        let ctx = f.operator_ctx(5_000);
        let after = store
            .update_control(&ctx, &admin, id, 1, &change)
            .await
            .unwrap();
        assert_eq!(after.version, 2);
        assert_eq!(after.status, WorkStatus::InProgress);
        assert_eq!(after.owner.as_deref(), Some("Platform team"));
        let rows = f.audit(Action::ControlUpdated).await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].object_id.as_deref(), Some(id.to_string().as_str()));
        assert_eq!(rows[0].tenant_id, Some(f.tenant_id));
        assert_eq!(rows[0].actor_id, Some(f.operator_id.to_string()));
        assert_eq!(
            json(&rows[0].before_json),
            serde_json::json!({"status": "active", "owner": null, "notes": null, "version": 1})
        );
        assert_eq!(
            json(&rows[0].after_json),
            serde_json::json!({"status": "in_progress", "owner": "Platform team", "notes": null,
                "version": 2})
        );

        // A stale If-Match changes nothing and writes no audit row.
        let clear = ControlChange {
            owner: Some(None),
            ..Default::default()
        };
        assert!(matches!(
            store.update_control(&ctx, &admin, id, 1, &clear).await,
            Err(StoreError::Stale)
        ));
        assert_eq!(store.control(&admin, id).await.unwrap().unwrap(), after);
        assert_eq!(f.audit(Action::ControlUpdated).await.len(), 1);
        // A rescan recounts without touching the edit or its version.
        f.scan(3).await;
        let rescanned = f.store().control(&f.admin(), id).await.unwrap().unwrap();
        assert_eq!(
            (rescanned.version, rescanned.owner.as_deref()),
            (2, Some("Platform team"))
        );
        // Another tenant's access does not reach it.
        let other = TenantAccess::system(f.tenant_id + 1000, "other");
        assert!(f.store().control(&other, id).await.unwrap().is_none());
        assert!(matches!(
            f.store().update_control(&ctx, &other, id, 2, &clear).await,
            Err(StoreError::NotFound)
        ));
    }

    async fn auditors_see_controls_of_their_frameworks(mut f: Fixture) {
        f.scan(2).await;
        let pci = f.auditor(&["pci_dss_4.0.1"], i64::MIN, i64::MAX);
        let store = f.store();
        let visible = store
            .controls(&pci, &ControlFilter::default(), &PageRequest::first(100))
            .await
            .unwrap();
        assert!(!visible.is_empty());
        for c in &visible {
            let d = store.control_detail(&pci, c.id).await.unwrap().unwrap();
            assert!(!d.requirements.is_empty());
            assert!(
                d.requirements
                    .iter()
                    .all(|r| r.framework_id == "pci_dss_4.0.1")
            );
        }
        let soc2_only = f.control_id(&format!("req:soc2:{}", "cc_7_2")).await;
        assert!(visible.iter().all(|c| c.id != soc2_only));
        assert!(store.control(&pci, soc2_only).await.unwrap().is_none());
        assert!(
            store
                .control_detail(&pci, soc2_only)
                .await
                .unwrap()
                .is_none()
        );
        // Filtering by a framework outside the grant finds nothing.
        let soc2 = ControlFilter {
            framework: Some("soc2".into()),
            ..Default::default()
        };
        let outside = store
            .controls(&pci, &soc2, &PageRequest::first(100))
            .await
            .unwrap();
        assert!(outside.iter().all(|c| c.id != soc2_only));
        let _ = CHECK_REQ;
    }

    on_both_databases!(
        controls_list_filter_and_edit,
        auditors_see_controls_of_their_frameworks
    );
}
