//! The SCF control catalog as the API lists it (shared by all tenants).

use serde::Serialize;
use sqlx::Row;

use super::page::PageRequest;
use super::query::{self, LIKE_ESCAPE, Where};
use super::{Store, StoreError};

/// Filters of the SCF listing.
#[derive(Debug, Clone, Default)]
pub struct ScfFilter {
    /// Domain code (`IAC`), ignoring case.
    pub domain: Option<String>,
    /// Substring of the id, name or description, ignoring case.
    pub q: Option<String>,
}

/// An SCF control.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScfControlRow {
    /// SCF id (`IAC-01`).
    pub id: String,
    /// Name.
    pub name: String,
    /// Domain code (`IAC`).
    pub domain: String,
    /// Domain name.
    pub domain_name: String,
    /// Control description, when one was imported.
    pub description: Option<String>,
}

impl Store {
    /// One page of SCF controls by id (up to `page.fetch()` rows). The
    /// cursor's key is the last SCF id seen (its `id` is unused).
    pub async fn scf_controls(
        &self,
        filter: &ScfFilter,
        page: &PageRequest,
    ) -> Result<Vec<ScfControlRow>, StoreError> {
        let mut w = Where::new();
        if let Some(domain) = &filter.domain {
            let p = w.text(domain.to_uppercase());
            w.and(format!("UPPER(s.domain_code) = {p}"));
        }
        if let Some(q) = &filter.q {
            let p = w.text(query::contains_pattern(q));
            w.and(format!(
                "(LOWER(s.id) LIKE {p} {LIKE_ESCAPE} OR LOWER(s.name) LIKE {p} {LIKE_ESCAPE}
                  OR LOWER(COALESCE(s.description, '')) LIKE {p} {LIKE_ESCAPE})"
            ));
        }
        if let Some(key) = page.after.as_ref().and_then(|c| c.key.as_deref()) {
            let p = w.text(key);
            w.and(format!("s.id > {p}"));
        }
        let limit = w.int(page.fetch());
        let sql = format!(
            "SELECT s.id, s.name, s.domain_code, s.domain_name, s.description
             FROM scf_controls s{} ORDER BY s.id LIMIT {limit}",
            w.sql()
        );
        let rows = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ScfControlRow {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    domain: r.try_get(2)?,
                    domain_name: r.try_get(3)?,
                    description: r.try_get(4)?,
                })
            })
            .collect()
    }
}
