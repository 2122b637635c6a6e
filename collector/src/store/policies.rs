//! Policies as the API shows and edits them. Ingest creates them from
//! templates (status `to_do`); people move them through a workflow
//! ([`policy_transition_allowed`]) and set owner and notes.

use serde::Serialize;
use sqlx::Row;

use super::audit::append;
use super::controls::{WorkStatus, work_status};
use super::sql::{Filter, control_in_scope, policy_in_scope};
use super::{Store, StoreError};
use crate::audit::{Action, Context, Event};
use crate::auth::TenantAccess;

/// Whether a policy may go from `from` to `to`:
///
/// ```text
/// to_do → in_progress → active → deprecated → to_do
/// to_do, in_progress ⇄ on_hold
/// ```
///
/// Keeping the status (`from == to`) is no transition and always allowed,
/// so an edit of owner or notes may repeat the status it read.
pub fn policy_transition_allowed(from: WorkStatus, to: WorkStatus) -> bool {
    use WorkStatus::*;
    from == to
        || matches!(
            (from, to),
            (ToDo, InProgress)
                | (InProgress, Active)
                | (Active, Deprecated)
                | (Deprecated, ToDo)
                | (ToDo | InProgress, OnHold)
                | (OnHold, ToDo | InProgress)
        )
}

/// A policy as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PolicyRow {
    /// Row id.
    pub id: i64,
    /// Template it was made from.
    pub template_id: String,
    /// Name.
    pub name: String,
    /// Workflow status.
    pub status: WorkStatus,
    /// `scan`.
    pub origin: String,
    /// Owner (free text).
    pub owner: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Created (Unix ms).
    pub created_at: i64,
    /// Last edited (Unix ms).
    pub updated_at: Option<i64>,
    /// Edit version (the ETag).
    pub version: i64,
    /// Applied controls it supports.
    pub control_count: i64,
}

/// A control in short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ControlRef {
    /// Row id.
    pub id: i64,
    /// Key.
    pub key: String,
    /// Name.
    pub name: String,
    /// Scan posture.
    pub posture: String,
    /// Hand-set status.
    pub status: WorkStatus,
}

/// One policy with its template text and controls.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyDetail {
    /// The policy.
    #[serde(flatten)]
    pub policy: PolicyRow,
    /// Template title.
    pub template_title: String,
    /// Template summary.
    pub summary: String,
    /// Template body (Markdown).
    pub body: String,
    /// Template version.
    pub template_version: String,
    /// Controls it supports (for auditors: those of their frameworks).
    pub controls: Vec<ControlRef>,
}

/// A change of a policy's hand-edited fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PolicyChange {
    /// New status (must be an allowed transition).
    pub status: Option<WorkStatus>,
    /// New owner (`Some(None)` clears it).
    pub owner: Option<Option<String>>,
    /// New notes (`Some(None)` clears them).
    pub notes: Option<Option<String>>,
}

const COLUMNS: &str = "p.id, p.template_id, p.name, p.status, p.origin, p.owner, p.notes,
    p.created_at, p.updated_at, p.version,
    (SELECT COUNT(*) FROM policy_controls pc WHERE pc.policy_id = p.id)";

fn policy_row(r: &sqlx::any::AnyRow) -> Result<PolicyRow, StoreError> {
    Ok(PolicyRow {
        id: r.try_get(0)?,
        template_id: r.try_get(1)?,
        name: r.try_get(2)?,
        status: work_status(&r.try_get::<String, _>(3)?)?,
        origin: r.try_get(4)?,
        owner: r.try_get(5)?,
        notes: r.try_get(6)?,
        created_at: r.try_get(7)?,
        updated_at: r.try_get(8)?,
        version: r.try_get(9)?,
        control_count: r.try_get(10)?,
    })
}

fn edit_state(p: &PolicyRow) -> serde_json::Value {
    serde_json::json!({
        "status": p.status,
        "owner": p.owner,
        "notes": p.notes,
        "version": p.version,
    })
}

/// The policy `id` of tenant `tenant`, read inside a write transaction
/// (no auditor scope: auditors do not edit policies).
async fn read_policy(
    conn: &mut sqlx::AnyConnection,
    tenant: i64,
    id: i64,
) -> Result<PolicyRow, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM policies p WHERE p.id = $1 AND p.tenant_id = $2"
    )))
    .bind(id)
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(policy_row)
    .transpose()?
    .ok_or(StoreError::NotFound)
}

impl Store {
    /// The tenant's policies by name (a tenant has at most one per
    /// template, so the list is short), optionally of one status.
    pub async fn policies(
        &self,
        t: &TenantAccess,
        status: Option<WorkStatus>,
    ) -> Result<Vec<PolicyRow>, StoreError> {
        let mut f = Filter::default();
        let tenant = f.arg(t.id());
        f.and(format!("p.tenant_id = {tenant}"));
        policy_in_scope(&mut f, t, "p.id");
        if let Some(s) = status {
            let s = f.arg(s.as_str());
            f.and(format!("p.status = {s}"));
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM policies p WHERE {} ORDER BY p.name, p.id",
            f.sql()
        );
        let rows = f.query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(policy_row).collect()
    }

    /// One policy with its template and controls, or `None`.
    pub async fn policy_detail(
        &self,
        t: &TenantAccess,
        id: i64,
    ) -> Result<Option<PolicyDetail>, StoreError> {
        let mut f = Filter::default();
        let (tenant, pid) = (f.arg(t.id()), f.arg(id));
        f.and(format!("p.tenant_id = {tenant} AND p.id = {pid}"));
        policy_in_scope(&mut f, t, "p.id");
        let sql = format!(
            "SELECT {COLUMNS}, tp.title, tp.summary, tp.body, tp.version
             FROM policies p JOIN policy_templates tp ON tp.id = p.template_id WHERE {}",
            f.sql()
        );
        let Some(r) = f.query(sql).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let policy = policy_row(&r)?;
        let mut f = Filter::default();
        let (tenant, pid) = (f.arg(t.id()), f.arg(id));
        f.and(format!("pc.policy_id = {pid} AND c.tenant_id = {tenant}"));
        control_in_scope(&mut f, t, "c.id");
        let sql = format!(
            "SELECT c.id, c.key, c.name, c.posture, c.status FROM policy_controls pc
             JOIN applied_controls c ON c.id = pc.applied_control_id
             WHERE {} ORDER BY c.name, c.id",
            f.sql()
        );
        let controls = f
            .query(sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|c| {
                Ok(ControlRef {
                    id: c.try_get(0)?,
                    key: c.try_get(1)?,
                    name: c.try_get(2)?,
                    posture: c.try_get(3)?,
                    status: work_status(&c.try_get::<String, _>(4)?)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(PolicyDetail {
            policy,
            template_title: r.try_get(11)?,
            summary: r.try_get(12)?,
            body: r.try_get(13)?,
            template_version: r.try_get(14)?,
            controls,
        }))
    }

    /// Change a policy's status, owner or notes if its version is still
    /// `if_match` ([`StoreError::Stale`] otherwise) and the status change is
    /// a workflow transition ([`StoreError::Refused`] otherwise), with its
    /// audit row.
    pub async fn update_policy(
        &self,
        ctx: &Context,
        t: &TenantAccess,
        id: i64,
        if_match: i64,
        change: &PolicyChange,
    ) -> Result<PolicyRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let before = read_policy(&mut tx, t.id(), id).await?;
        if before.version != if_match {
            return Err(StoreError::Stale);
        }
        let status = change.status.unwrap_or(before.status);
        if !policy_transition_allowed(before.status, status) {
            return Err(StoreError::Refused(format!(
                "a policy cannot go from {} to {}",
                before.status.as_str(),
                status.as_str()
            )));
        }
        let owner = change.owner.clone().unwrap_or_else(|| before.owner.clone());
        let notes = change.notes.clone().unwrap_or_else(|| before.notes.clone());
        let done = sqlx::query(
            "UPDATE policies SET status = $1, owner = $2, notes = $3, updated_at = $4,
                 version = version + 1
             WHERE id = $5 AND tenant_id = $6 AND version = $7",
        )
        .bind(status.as_str())
        .bind(owner)
        .bind(notes)
        .bind(ctx.at)
        .bind(id)
        .bind(t.id())
        .bind(if_match)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        let after = read_policy(&mut tx, t.id(), id).await?;
        append(
            &mut tx,
            ctx,
            &Event::new(Action::PolicyUpdated, "policy", id)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{Fixture, on_both_databases};

    async fn policy_workflow(mut f: Fixture) {
        f.scan(2).await;
        let store = f.store();
        let admin = f.admin();
        let policies = store.policies(&admin, None).await.unwrap();
        let p = policies
            .iter()
            .find(|p| p.template_id == "encryption")
            .expect("the encryption policy")
            .clone();
        assert_eq!(
            (p.status, p.version, p.origin.as_str()),
            (WorkStatus::ToDo, 1, "scan")
        );
        assert!(p.control_count >= 1);
        assert!(
            store
                .policies(&admin, Some(WorkStatus::Active))
                .await
                .unwrap()
                .is_empty()
        );
        let d = store.policy_detail(&admin, p.id).await.unwrap().unwrap();
        assert!(!d.summary.is_empty() && !d.body.is_empty());
        assert!(d.controls.iter().any(|c| c.key == "scf:CRY-05"));

        let ctx = f.operator_ctx(7_000);
        let to = |status| PolicyChange {
            status: Some(status),
            ..Default::default()
        };
        // Refused: to_do → active skips a step; nothing changes.
        match store
            .update_policy(&ctx, &admin, p.id, 1, &to(WorkStatus::Active))
            .await
        {
            Err(StoreError::Refused(why)) => assert!(why.contains("to_do to active"), "{why}"),
            other => panic!("{other:?}"),
        }
        let unchanged = store.policy_detail(&admin, p.id).await.unwrap().unwrap();
        assert_eq!(unchanged.policy, p);
        assert!(f.audit(Action::PolicyUpdated).await.is_empty());

        let started = store
            .update_policy(&ctx, &admin, p.id, 1, &to(WorkStatus::InProgress))
            .await
            .unwrap();
        assert_eq!(
            (started.status, started.version),
            (WorkStatus::InProgress, 2)
        );
        assert_eq!(started.updated_at, Some(7_000));
        let rows = f.audit(Action::PolicyUpdated).await;
        assert_eq!(rows.len(), 1);
        let before: serde_json::Value =
            serde_json::from_str(rows[0].before_json.as_deref().unwrap()).unwrap();
        let after: serde_json::Value =
            serde_json::from_str(rows[0].after_json.as_deref().unwrap()).unwrap();
        assert_eq!(
            (before["status"].as_str(), before["version"].as_i64()),
            (Some("to_do"), Some(1))
        );
        assert_eq!(
            (after["status"].as_str(), after["version"].as_i64()),
            (Some("in_progress"), Some(2))
        );

        // Stale: the version moved on.
        assert!(matches!(
            store
                .update_policy(&ctx, &admin, p.id, 1, &to(WorkStatus::Active))
                .await,
            Err(StoreError::Stale)
        ));
        let active = store
            .update_policy(
                &ctx,
                &admin,
                p.id,
                2,
                &PolicyChange {
                    status: Some(WorkStatus::Active),
                    owner: Some(Some("CISO".into())),
                    notes: Some(Some("Reviewed yearly.".into())),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (active.status, active.owner.as_deref(), active.version),
            (WorkStatus::Active, Some("CISO"), 3)
        );
        assert!(matches!(
            store
                .update_policy(&ctx, &admin, p.id, 3, &to(WorkStatus::OnHold))
                .await,
            Err(StoreError::Refused(_))
        ));
        assert_eq!(f.audit(Action::PolicyUpdated).await.len(), 2);
        // A rescan keeps the hand-set status.
        f.scan(2).await;
        let again = f
            .store()
            .policy_detail(&f.admin(), p.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (again.policy.status, again.policy.version),
            (WorkStatus::Active, 3)
        );

        // Auditors see policies of controls in their frameworks only.
        let nothing = f.auditor(&["no_such_framework"], i64::MIN, i64::MAX);
        assert!(f.store().policies(&nothing, None).await.unwrap().is_empty());
        assert!(
            f.store()
                .policy_detail(&nothing, p.id)
                .await
                .unwrap()
                .is_none()
        );
        let iso = f.auditor(&["iso27001_2022"], i64::MIN, i64::MAX);
        let seen = f.store().policy_detail(&iso, p.id).await.unwrap().unwrap();
        assert!(!seen.controls.is_empty());
    }

    on_both_databases!(policy_workflow);

    #[test]
    fn every_policy_transition() {
        use WorkStatus::*;
        let allowed = [
            (ToDo, InProgress),
            (InProgress, Active),
            (Active, Deprecated),
            (Deprecated, ToDo),
            (ToDo, OnHold),
            (InProgress, OnHold),
            (OnHold, ToDo),
            (OnHold, InProgress),
        ];
        for from in WorkStatus::ALL {
            for to in WorkStatus::ALL {
                let expected = from == to || allowed.contains(&(from, to));
                assert_eq!(
                    policy_transition_allowed(from, to),
                    expected,
                    "{} → {}",
                    from.as_str(),
                    to.as_str()
                );
            }
        }
        // Spelled out, the refusals that matter most.
        assert!(!policy_transition_allowed(ToDo, Active));
        assert!(!policy_transition_allowed(Active, OnHold));
        assert!(!policy_transition_allowed(Deprecated, Active));
        assert!(!policy_transition_allowed(OnHold, Active));
        assert!(!policy_transition_allowed(InProgress, ToDo));
    }
}
