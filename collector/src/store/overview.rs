//! What a tenant's overview page counts that no listing does.

use sqlx::Row;

use super::query::{self, Where};
use super::{IngestSummary, Store, StoreError};
use crate::auth::TenantAccess;

impl Store {
    /// The tenant's failing results on active assets by severity, most
    /// severe first, as its latest batch left them (auditors: the latest
    /// batch received within their window). Ingest counts them in the pass
    /// that recounts the applied controls; for batches stored before it
    /// did, they are counted here.
    pub async fn failing_by_severity(
        &self,
        t: &TenantAccess,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let (from, to) = t.window();
        let latest: Option<String> = sqlx::query_scalar(
            "SELECT summary FROM batches WHERE tenant_id = $1
                 AND received_at >= $2 AND received_at <= $3
             ORDER BY number DESC LIMIT 1",
        )
        .bind(t.id())
        .bind(from)
        .bind(to)
        .fetch_optional(&self.pool)
        .await?;
        let Some(latest) = latest else {
            return Ok(Vec::new());
        };
        let summary: IngestSummary = serde_json::from_str(&latest)
            .map_err(|e| StoreError::Unreadable(format!("batch summary: {e}")))?;
        if let Some(kept) = summary.failing_by_severity {
            let mut out: Vec<(String, i64)> = kept
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(s, n)| (s, i64::try_from(n).unwrap_or(i64::MAX)))
                .collect();
            out.sort_by_key(|(s, _)| severity_rank(s));
            return Ok(out);
        }
        self.count_failing_by_severity(t).await
    }

    /// [`Self::failing_by_severity`] counted from the results.
    pub(crate) async fn count_failing_by_severity(
        &self,
        t: &TenantAccess,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut w = Where::new();
        let tenant = w.int(t.id());
        let active = w.arg(super::query::Arg::Bool(true));
        w.and(format!(
            "r.tenant_id = {tenant} AND r.status = 'fail' AND a.is_active = {active}"
        ));
        query::window(&mut w, "r.observed_at", t.window());
        let sql = format!(
            "SELECT r.severity, COUNT(*) FROM check_results r JOIN assets a ON a.id = r.asset_id{}
             GROUP BY r.severity",
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
