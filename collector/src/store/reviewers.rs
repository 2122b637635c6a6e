//! E-mail addresses of who decided: rows carry user ids only (reviews in the
//! evidence queue, the last change of a requirement assessment), and a page
//! shows who it was.

use std::collections::HashMap;

use sqlx::Row;

use super::sql::Filter;
use super::{Store, StoreError};
use crate::auth::TenantAccess;

impl Store {
    /// E-mail addresses of `ids`, limited to users who reviewed evidence of
    /// tenant `t` (so that the console never resolves an arbitrary user id).
    pub async fn reviewer_emails(
        &self,
        t: &TenantAccess,
        ids: &[i64],
    ) -> Result<HashMap<i64, String>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut f = Filter::default();
        let tenant = f.arg(t.id());
        let marks: Vec<String> = ids.iter().map(|id| f.arg(*id)).collect();
        // Only users who decided on this tenant's evidence: the review
        // history, on its (evidence_id) index through the tenant's records,
        // would need a scan; grants name who may review a tenant.
        f.and(format!(
            "u.id IN ({}) AND (u.is_admin = 1 OR EXISTS (SELECT 1 FROM grants g
                 WHERE g.user_id = u.id AND g.tenant_id = {tenant}))",
            marks.join(", ")
        ));
        let sql = format!("SELECT u.id, u.email FROM users u WHERE {}", f.sql());
        let rows = f.query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
