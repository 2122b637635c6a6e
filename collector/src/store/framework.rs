//! Reading a framework view: the framework's requirement tree and the
//! tenant's applied controls mapped to it. The statuses and coverage are
//! derived by [`crate::posture`].

use std::collections::HashMap;

use sqlx::Row;

use super::{Store, StoreError};
use crate::posture::FrameworkView;

/// A requirement (or heading) of a framework, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RequirementNodeRow {
    /// Requirement id.
    ref_id: String,
    /// Title, where shipped.
    name: Option<String>,
    /// Whether it is a requirement (not a heading).
    assessable: bool,
    /// Depth in the tree.
    depth: i64,
}

/// An applied control of a tenant mapped to a framework requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MappedControlRow {
    /// Requirement id.
    ref_id: String,
    /// The control's key.
    key: String,
    /// The control's posture.
    posture: String,
}

impl Store {
    /// The framework view of `framework_id` for tenant `tenant`.
    pub async fn framework_view(
        &self,
        tenant: &str,
        framework_id: &str,
    ) -> Result<FrameworkView, StoreError> {
        let mut by_ref: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for m in self.mapped_controls(tenant, framework_id).await? {
            by_ref.entry(m.ref_id).or_default().push((m.key, m.posture));
        }
        let mut view = FrameworkView::new(framework_id, tenant);
        for n in self.requirement_nodes(framework_id).await? {
            let controls = by_ref.remove(&n.ref_id).unwrap_or_default();
            view.add(n.ref_id, n.name, n.assessable, n.depth, controls);
        }
        Ok(view)
    }

    /// The tenant's applied controls mapped to requirements of `framework_id`.
    async fn mapped_controls(
        &self,
        tenant: &str,
        framework_id: &str,
    ) -> Result<Vec<MappedControlRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT m.ref_id, c.key, c.posture
             FROM control_requirement_mappings m
             JOIN applied_controls c ON c.id = m.applied_control_id
             JOIN tenants t ON t.id = c.tenant_id
             WHERE t.name = $1 AND m.framework_id = $2",
        )
        .bind(tenant)
        .bind(framework_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(MappedControlRow {
                    ref_id: r.try_get(0)?,
                    key: r.try_get(1)?,
                    posture: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// The requirement tree of `framework_id`, in document order.
    async fn requirement_nodes(
        &self,
        framework_id: &str,
    ) -> Result<Vec<RequirementNodeRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT ref_id, name, CASE WHEN assessable THEN 1 ELSE 0 END, depth
             FROM requirement_nodes WHERE framework_id = $1 ORDER BY position",
        )
        .bind(framework_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|n| {
                Ok(RequirementNodeRow {
                    ref_id: n.try_get(0)?,
                    name: n.try_get(1)?,
                    // Booleans travel as integers: the Any driver cannot read SQLite's BOOLEAN.
                    assessable: n.try_get::<i64, _>(2)? != 0,
                    depth: n.try_get(3)?,
                })
            })
            .collect()
    }
}
