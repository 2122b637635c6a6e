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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture::{CATALOG, World, on_both_databases, walk};

    on_both_databases!(scf_controls_by_text_key);

    async fn scf_controls_by_text_key(w: World) {
        let s = &w.store;
        let iac = |q: Option<&str>| ScfFilter {
            domain: Some("iac".into()),
            q: q.map(Into::into),
        };
        let all = s
            .scf_controls(&iac(None), &PageRequest::first(500))
            .await
            .unwrap();
        let want: Vec<&str> = {
            let mut v: Vec<&str> = CATALOG
                .controls
                .iter()
                .filter(|c| c.domain_code == "IAC")
                .map(|c| c.id.as_str())
                .collect();
            v.sort_unstable();
            v
        };
        assert!(want.len() > 10);
        // The database's collation orders them (byte order here; pages only
        // rely on ORDER BY and > agreeing).
        let mut listed: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
        listed.sort_unstable();
        assert_eq!(listed, want);
        let want: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
        assert!(
            all.iter()
                .all(|c| c.domain == "IAC" && !c.domain_name.is_empty())
        );
        for limit in [1, 4] {
            let paged = walk(
                limit,
                "id",
                async |req: PageRequest| s.scf_controls(&iac(None), &req).await.unwrap(),
                |c| (Some(c.id.clone()), 0),
            )
            .await;
            assert_eq!(
                paged.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
                want
            );
        }
        let found = async |q: &str| -> Vec<String> {
            s.scf_controls(&iac(Some(q)), &PageRequest::first(500))
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.id)
                .collect()
        };
        assert_eq!(
            found("100%").await,
            vec!["IAC-01"],
            "description, % literal"
        );
        assert_eq!(found("d_c").await, vec!["IAC-01"], "_ literal");
        assert!(found("iac-01").await.len() > 1, "ids, ignoring case");
        let one = &all[3];
        assert!(
            found(&one.name.to_uppercase()).await.contains(&one.id),
            "names"
        );
        let other = ScfFilter {
            domain: Some("NOPE".into()),
            q: None,
        };
        assert!(
            s.scf_controls(&other, &PageRequest::first(5))
                .await
                .unwrap()
                .is_empty()
        );
        let any = s
            .scf_controls(&ScfFilter::default(), &PageRequest::first(500))
            .await
            .unwrap();
        assert!(any.len() > all.len(), "every domain without the filter");
        assert_eq!(
            all.iter()
                .find(|c| c.id == "IAC-01")
                .unwrap()
                .description
                .as_deref(),
            Some("Identity 100% managed_centrally.")
        );
    }
}
