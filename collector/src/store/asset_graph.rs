//! What the console's relationship graph needs of an asset's neighbours:
//! their names, kinds and whether they are still active. `Store::asset`
//! gives the edges with the row id at the other end; this looks those rows
//! up in one query instead of loading each neighbour in full.

use serde::Serialize;
use sqlx::Row;

use super::sql::Filter;
use super::{Store, StoreError};
use crate::auth::TenantAccess;

/// Most neighbours looked up at once (the graph draws far fewer).
pub const MAX_NEIGHBOURS: usize = 200;

/// An asset at the other end of an edge, in short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Neighbour {
    /// Row id.
    pub id: i64,
    /// Display name.
    pub name: Option<String>,
    /// Inventory kind.
    pub kind: String,
    /// False once a complete scan no longer saw it.
    pub active: bool,
}

impl Store {
    /// The tenant's assets among `ids` (at most [`MAX_NEIGHBOURS`] of them
    /// are looked up), by id; ids of other tenants match nothing.
    pub async fn neighbours(
        &self,
        t: &TenantAccess,
        ids: &[i64],
    ) -> Result<Vec<Neighbour>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut f = Filter::default();
        let tenant = f.arg(t.id());
        f.and(format!("a.tenant_id = {tenant}"));
        let marks: Vec<String> = ids
            .iter()
            .take(MAX_NEIGHBOURS)
            .map(|id| f.arg(*id))
            .collect();
        f.and(format!("a.id IN ({})", marks.join(", ")));
        let sql = format!(
            "SELECT a.id, a.name, a.kind, CASE WHEN a.is_active THEN 1 ELSE 0 END
             FROM assets a WHERE {} ORDER BY a.id",
            f.sql()
        );
        f.query(sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Neighbour {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    active: r.try_get::<i64, _>(3)? != 0,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::store::fixture::{World, on_both_databases};

    on_both_databases!(neighbours_of_the_tenant_only);

    async fn neighbours_of_the_tenant_only(w: World) {
        let s = &w.store;
        let t = &w.acme.access;
        let (a0, a1, a2) = (
            w.acme.asset_id(s, 0).await,
            w.acme.asset_id(s, 1).await,
            w.acme.asset_id(s, 2).await,
        );
        let b0 = w.beta.asset_id(s, 0).await;
        let got = s.neighbours(t, &[a2, a1, b0, a0]).await.unwrap();
        let got: Vec<(i64, Option<&str>, bool)> = got
            .iter()
            .map(|n| (n.id, n.name.as_deref(), n.active))
            .collect();
        assert_eq!(
            got,
            vec![
                (a0, Some("data-vol"), true),
                (a1, Some("Backup_Vol%"), false),
                (a2, Some("web-1"), true)
            ]
        );
        assert!(s.neighbours(t, &[]).await.unwrap().is_empty());
    }
}
