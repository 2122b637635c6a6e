//! The checks and the requirements behind a set of applied controls, one
//! query each, for pages that show several controls (a requirement and what
//! validates it, a finding and what it proves) without reading each
//! control's whole detail.

use std::collections::BTreeMap;

use sqlx::Row;

use super::controls::{LinkedCheck, RequirementLink};
use super::sql::{Filter, control_in_scope, scope_frameworks};
use super::{Store, StoreError};
use crate::auth::TenantAccess;

/// Most controls asked about at once (a requirement has a handful).
const MAX_CONTROLS: usize = 500;

/// `ids` sorted, without repeats, at most [`MAX_CONTROLS`].
fn distinct(ids: &[i64]) -> Vec<i64> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(MAX_CONTROLS);
    ids
}

impl Store {
    /// The requirements each of `control_ids` maps to (for auditors: of
    /// their frameworks), by control id, in framework and document order.
    pub async fn requirements_of_controls(
        &self,
        t: &TenantAccess,
        control_ids: &[i64],
    ) -> Result<BTreeMap<i64, Vec<RequirementLink>>, StoreError> {
        let ids = distinct(control_ids);
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut f = Filter::default();
        let tenant = f.arg(t.id());
        let marks: Vec<String> = ids.iter().map(|id| f.arg(*id)).collect();
        f.and(format!(
            "m.applied_control_id IN ({}) AND c.tenant_id = {tenant}",
            marks.join(", ")
        ));
        if let Some(frameworks) = scope_frameworks(t) {
            let list = f.list(&frameworks);
            f.and(format!("m.framework_id IN {list}"));
        }
        let sql = format!(
            "SELECT m.applied_control_id, m.framework_id, m.ref_id, n.name, m.origin, m.source,
                 m.coverage
             FROM control_requirement_mappings m
             JOIN applied_controls c ON c.id = m.applied_control_id
             LEFT JOIN requirement_nodes n ON n.framework_id = m.framework_id AND n.ref_id = m.ref_id
             WHERE {} ORDER BY m.applied_control_id, m.framework_id, n.position, m.ref_id, m.source",
            f.sql()
        );
        let mut out: BTreeMap<i64, Vec<RequirementLink>> = BTreeMap::new();
        for r in f.query(sql).fetch_all(&self.pool).await? {
            out.entry(r.try_get(0)?).or_default().push(RequirementLink {
                framework_id: r.try_get(1)?,
                ref_id: r.try_get(2)?,
                name: r.try_get(3)?,
                origin: r.try_get(4)?,
                source: r.try_get(5)?,
                coverage: r.try_get(6)?,
            });
        }
        Ok(out)
    }

    /// The checks of each of `control_ids` that belong to the tenant (for
    /// auditors: controls of their frameworks), by control id, each list by
    /// check id. Controls without checks are absent.
    pub async fn checks_of_controls(
        &self,
        t: &TenantAccess,
        control_ids: &[i64],
    ) -> Result<BTreeMap<i64, Vec<LinkedCheck>>, StoreError> {
        let ids = distinct(control_ids);
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut f = Filter::default();
        let tenant = f.arg(t.id());
        let marks: Vec<String> = ids.iter().map(|id| f.arg(*id)).collect();
        f.and(format!(
            "c.tenant_id = {tenant} AND c.id IN ({})",
            marks.join(", ")
        ));
        control_in_scope(&mut f, t, "c.id");
        let sql = format!(
            "SELECT acc.applied_control_id, acc.check_id, s.title, s.severity, s.plugin
             FROM applied_control_checks acc
             JOIN applied_controls c ON c.id = acc.applied_control_id
             LEFT JOIN security_checks s ON s.tenant_id = c.tenant_id AND s.id = acc.check_id
             WHERE {} ORDER BY acc.applied_control_id, acc.check_id",
            f.sql()
        );
        let mut out: BTreeMap<i64, Vec<LinkedCheck>> = BTreeMap::new();
        for r in f.query(sql).fetch_all(&self.pool).await? {
            out.entry(r.try_get(0)?).or_default().push(LinkedCheck {
                check_id: r.try_get(1)?,
                title: r.try_get(2)?,
                severity: r.try_get(3)?,
                plugin: r.try_get(4)?,
            });
        }
        Ok(out)
    }
}
