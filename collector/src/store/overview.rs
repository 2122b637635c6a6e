//! What a tenant's overview page counts that no listing does.

use sqlx::Row;

use super::query::{self, Where};
use super::{Store, StoreError};
use crate::auth::TenantAccess;

impl Store {
    /// Failing results by severity (auditors: observed within their
    /// window), most severe first.
    pub async fn failing_by_severity(
        &self,
        t: &TenantAccess,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut w = Where::new();
        let tenant = w.int(t.id());
        w.and(format!("r.tenant_id = {tenant} AND r.status = 'fail'"));
        query::window(&mut w, "r.observed_at", t.window());
        let sql = format!(
            "SELECT r.severity, COUNT(*) FROM check_results r{} GROUP BY r.severity",
            w.sql()
        );
        let rows = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pool)
            .await?;
        let mut out: Vec<(String, i64)> = rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, StoreError>>()?;
        out.sort_by_key(|(s, _)| severity_rank(s));
        Ok(out)
    }
}

/// Critical first, unknown values last.
pub fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        "informational" => 4,
        _ => 5,
    }
}
