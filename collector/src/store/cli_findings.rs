//! Reading a tenant's stored check results back, for the CLI's `findings`.

use sqlx::Row;

use super::{Store, StoreError};

/// The current result of one check on one active asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantFinding {
    /// Check id.
    pub check_id: String,
    /// The asset's source id (its ARN).
    pub resource: String,
    /// `pass`, `fail`, `error` or `not_applicable`.
    pub status: String,
    /// Severity.
    pub severity: String,
    /// The check's explanation.
    pub status_extended: String,
}

impl Store {
    /// Current results of tenant `tenant` on its active assets, by check and
    /// resource.
    pub async fn tenant_findings(&self, tenant: &str) -> Result<Vec<TenantFinding>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.check_id, a.source_id, r.status, r.severity, r.status_extended
             FROM check_results r
             JOIN assets a ON a.id = r.asset_id
             JOIN tenants t ON t.id = r.tenant_id
             WHERE t.name = $1 AND a.is_active = $2
             ORDER BY r.check_id, a.source_id",
        )
        .bind(tenant)
        .bind(true)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TenantFinding {
                    check_id: r.try_get(0)?,
                    resource: r.try_get(1)?,
                    status: r.try_get(2)?,
                    severity: r.try_get(3)?,
                    status_extended: r.try_get(4)?,
                })
            })
            .collect()
    }
}
