//! A tenant's assets as the API lists them: keyset pages by id with filters,
//! and one asset with its document, relationships and result counts.
//!
//! Assets carry no observation time of their own that an auditor's window
//! could cut (they are inventory, not findings); the result counts shown with
//! an asset are cut by it like every result.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::checks::{StatusCounts, status_counts, status_sums};
use super::page::PageRequest;
use super::query::{self, Arg, LIKE_ESCAPE, Where};
use super::{Store, StoreError};
use crate::auth::TenantAccess;

/// Filters of the asset listing (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    /// Inventory kind, exactly (`ec2:volume`).
    pub kind: Option<String>,
    /// Region, exactly.
    pub region: Option<String>,
    /// Active (seen by the integration's last complete scan) or not.
    pub active: Option<bool>,
    /// A tag with this key and value, both exactly.
    pub tag: Option<(String, String)>,
    /// Substring of the name or source id, ignoring case.
    pub q: Option<String>,
}

/// An asset as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssetRow {
    /// Row id.
    pub id: i64,
    /// Integration that reported it last.
    pub integration_id: i64,
    /// Where it was discovered (`aws`).
    pub source: String,
    /// Stable id within the source (the ARN).
    pub source_id: String,
    /// Provider short id (`vol-…`).
    pub external_id: String,
    /// Inventory kind.
    pub kind: String,
    /// Display name.
    pub name: Option<String>,
    /// Region.
    pub region: String,
    /// Owning account.
    pub account: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// First discovered (Unix ms).
    pub first_seen_at: i64,
    /// Last reported (Unix ms).
    pub last_seen_at: i64,
    /// The batch that reported it last.
    pub last_batch_id: String,
    /// False once a complete scan of its integration no longer saw it.
    pub active: bool,
}

/// An edge from or to an asset.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RelationshipRow {
    /// Row id.
    pub id: i64,
    /// `outgoing` (the asset is `from`) or `incoming` (it is `to`).
    pub direction: String,
    /// Edge type (`attached_to`, `belongs_to`, …).
    pub kind: String,
    /// Source id of the asset the edge starts at.
    pub from_source_id: String,
    /// Source id of the asset it points to.
    pub to_source_id: String,
    /// Row id of the asset at the other end, when the tenant has it.
    pub other_asset_id: Option<i64>,
    /// False once a complete scan no longer saw the edge.
    pub is_active: bool,
    /// First seen (Unix ms).
    pub discovered_at: i64,
    /// When a complete scan stopped seeing it (Unix ms).
    pub ended_at: Option<i64>,
}

/// One asset in full.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssetDetail {
    /// The asset.
    #[serde(flatten)]
    pub asset: AssetRow,
    /// The provider API object as discovered: parsed JSON when it parses,
    /// else the text as sent.
    #[schema(value_type = Object)]
    pub raw: serde_json::Value,
    /// Edges in both directions, by id (at most [`MAX_RELATIONSHIPS`]).
    pub relationships: Vec<RelationshipRow>,
    /// Whether more edges exist than are shown.
    pub relationships_truncated: bool,
    /// Its results by status (for auditors: those observed within the window).
    pub results: StatusCounts,
}

/// Most relationships shown with one asset (a VPC may have thousands).
pub const MAX_RELATIONSHIPS: i64 = 1_000;

const ASSET_COLUMNS: &str = "a.id, a.integration_id, a.source, a.source_id, a.external_id, a.kind,
    a.name, a.region, a.account, a.tags, a.first_seen_at, a.last_seen_at, a.last_batch_id,
    CASE WHEN a.is_active THEN 1 ELSE 0 END";

fn asset_row(r: &sqlx::any::AnyRow) -> Result<AssetRow, StoreError> {
    let tags: String = r.try_get(9)?;
    Ok(AssetRow {
        id: r.try_get(0)?,
        integration_id: r.try_get(1)?,
        source: r.try_get(2)?,
        source_id: r.try_get(3)?,
        external_id: r.try_get(4)?,
        kind: r.try_get(5)?,
        name: r.try_get(6)?,
        region: r.try_get(7)?,
        account: r.try_get(8)?,
        tags: serde_json::from_str(&tags).map_err(|e| StoreError::Unreadable(e.to_string()))?,
        first_seen_at: r.try_get(10)?,
        last_seen_at: r.try_get(11)?,
        last_batch_id: r.try_get(12)?,
        active: r.try_get::<i64, _>(13)? != 0,
    })
}

/// The JSON text a tag filter looks for in `assets.tags`. Ingest stores tags
/// as serde_json's compact text of a string map, so the pair appears as
/// `"key":"value"` with both JSON-escaped, right after `{` or `,`. Those two
/// prefixes pin it to a whole key: inside a JSON string a quote is always
/// escaped, so `{"` and `,"` only occur where a key starts, and a key or
/// value that merely ends with the wanted text cannot match.
fn tag_needles(key: &str, value: &str) -> [String; 2] {
    let pair = format!(
        "{}:{}",
        serde_json::Value::from(key),
        serde_json::Value::from(value)
    );
    [format!("{{{pair}"), format!(",{pair}")]
}

impl Store {
    /// One page of the tenant's assets by id (up to `page.fetch()` rows).
    pub async fn assets(
        &self,
        t: &TenantAccess,
        filter: &AssetFilter,
        page: &PageRequest,
    ) -> Result<Vec<AssetRow>, StoreError> {
        let mut w = Where::new();
        let tenant = w.int(t.id());
        w.and(format!("a.tenant_id = {tenant}"));
        if let Some(kind) = &filter.kind {
            let p = w.text(kind);
            w.and(format!("a.kind = {p}"));
        }
        if let Some(region) = &filter.region {
            let p = w.text(region);
            w.and(format!("a.region = {p}"));
        }
        if let Some(active) = filter.active {
            let p = w.arg(Arg::Bool(active));
            w.and(format!("a.is_active = {p}"));
        }
        if let Some((key, value)) = &filter.tag {
            // Filtered in SQL, by exact substring on the JSON text (not LIKE:
            // SQLite's LIKE ignores ASCII case, and tags are case-sensitive);
            // see `tag_needles` for why a substring is exact here.
            let [first, later] = tag_needles(key, value);
            let first = w.text(first);
            let later = w.text(later);
            w.and(format!(
                "({} OR {})",
                query::contains_exactly(self.backend, "a.tags", &first),
                query::contains_exactly(self.backend, "a.tags", &later)
            ));
        }
        if let Some(q) = &filter.q {
            let p = w.text(query::contains_pattern(q));
            w.and(format!(
                "(LOWER(COALESCE(a.name, '')) LIKE {p} {LIKE_ESCAPE}
                  OR LOWER(a.source_id) LIKE {p} {LIKE_ESCAPE})"
            ));
        }
        if let Some(after) = &page.after {
            let p = w.int(after.id);
            w.and(format!("a.id > {p}"));
        }
        let limit = w.int(page.fetch());
        let sql = format!(
            "SELECT {ASSET_COLUMNS} FROM assets a{} ORDER BY a.id LIMIT {limit}",
            w.sql()
        );
        let rows = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(asset_row).collect()
    }

    /// One of the tenant's assets with its document, edges and result counts.
    pub async fn asset(
        &self,
        t: &TenantAccess,
        id: i64,
    ) -> Result<Option<AssetDetail>, StoreError> {
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ASSET_COLUMNS}, a.raw_source_data FROM assets a
             WHERE a.tenant_id = $1 AND a.id = $2"
        )))
        .bind(t.id())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let asset = asset_row(&row)?;
        let raw_text: String = row.try_get(14)?;
        let raw = serde_json::from_str(&raw_text).unwrap_or(serde_json::Value::String(raw_text));

        let edges = sqlx::query(
            "SELECT r.id, r.kind, r.from_source_id, r.to_source_id,
                 (SELECT MIN(o.id) FROM assets o WHERE o.tenant_id = r.tenant_id
                      AND o.source_id = CASE WHEN r.from_source_id = $2 THEN r.to_source_id
                                             ELSE r.from_source_id END),
                 CASE WHEN r.is_active THEN 1 ELSE 0 END, r.discovered_at, r.ended_at
             FROM asset_relationships r
             WHERE r.tenant_id = $1 AND (r.from_source_id = $2 OR r.to_source_id = $2)
             ORDER BY r.id LIMIT $3",
        )
        .bind(t.id())
        .bind(&asset.source_id)
        .bind(MAX_RELATIONSHIPS + 1)
        .fetch_all(&self.pool)
        .await?;
        let relationships_truncated = edges.len() as i64 > MAX_RELATIONSHIPS;
        let relationships = edges
            .iter()
            .take(MAX_RELATIONSHIPS as usize)
            .map(|r| {
                let from: String = r.try_get(2)?;
                Ok(RelationshipRow {
                    id: r.try_get(0)?,
                    direction: if from == asset.source_id {
                        "outgoing"
                    } else {
                        "incoming"
                    }
                    .into(),
                    kind: r.try_get(1)?,
                    from_source_id: from,
                    to_source_id: r.try_get(3)?,
                    other_asset_id: r.try_get(4)?,
                    is_active: r.try_get::<i64, _>(5)? != 0,
                    discovered_at: r.try_get(6)?,
                    ended_at: r.try_get(7)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;

        let mut w = Where::new();
        let tenant = w.int(t.id());
        let asset_id = w.int(id);
        w.and(format!(
            "r.tenant_id = {tenant} AND r.asset_id = {asset_id}"
        ));
        query::window(&mut w, "r.observed_at", t.window());
        let sql = format!(
            "SELECT {} FROM check_results r{}",
            status_sums("r"),
            w.sql()
        );
        let counts = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(AssetDetail {
            asset,
            raw,
            relationships,
            relationships_truncated,
            results: status_counts(&counts, 0)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture::{T0, World, on_both_databases, walk};

    on_both_databases!(assets_filter_and_page, asset_detail);

    /// External ids (`x-000n`) of the assets `filter` lists for `t`.
    async fn listed(s: &Store, t: &TenantAccess, filter: AssetFilter) -> Vec<String> {
        s.assets(t, &filter, &PageRequest::first(500))
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.external_id)
            .collect()
    }

    fn ids(n: &[usize]) -> Vec<String> {
        n.iter().map(|n| format!("x-{n:04}")).collect()
    }

    async fn assets_filter_and_page(w: World) {
        let s = &w.store;
        let t = &w.acme.access;
        let f = AssetFilter::default;
        assert_eq!(listed(s, t, f()).await, ids(&[0, 1, 2, 3, 4]));
        let kind = |k: &str| AssetFilter {
            kind: Some(k.into()),
            ..f()
        };
        assert_eq!(listed(s, t, kind("ec2:volume")).await, ids(&[0, 1, 4]));
        let region = AssetFilter {
            region: Some("eu-west-1".into()),
            ..f()
        };
        assert_eq!(listed(s, t, region).await, ids(&[1]));
        let active = |a| AssetFilter {
            active: Some(a),
            ..f()
        };
        assert_eq!(listed(s, t, active(false)).await, ids(&[1]));
        assert_eq!(listed(s, t, active(true)).await, ids(&[0, 2, 3, 4]));
        let both = AssetFilter {
            active: Some(true),
            ..kind("ec2:volume")
        };
        assert_eq!(listed(s, t, both).await, ids(&[0, 4]));
        let tag = |k: &str, v: &str| AssetFilter {
            tag: Some((k.into(), v.into())),
            ..f()
        };
        assert_eq!(
            listed(s, t, tag("env", "prod")).await,
            ids(&[0, 2]),
            "not prodx"
        );
        assert_eq!(listed(s, t, tag("Team", "Blue")).await, ids(&[1]));
        assert_eq!(
            listed(s, t, tag("team", "Blue")).await,
            ids(&[]),
            "case-sensitive"
        );
        assert_eq!(listed(s, t, tag("team", "blue")).await, ids(&[0]));
        assert_eq!(
            listed(s, t, tag("eam", "blue")).await,
            ids(&[]),
            "whole keys"
        );
        let q = |q: &str| AssetFilter {
            q: Some(q.into()),
            ..f()
        };
        assert_eq!(listed(s, t, q("a_v")).await, ids(&[]), "_ is no wildcard");
        assert_eq!(listed(s, t, q("p_vol%")).await, ids(&[1]));
        assert_eq!(listed(s, t, q("WEB")).await, ids(&[2]), "ignores case");
        assert_eq!(listed(s, t, q("x-0003")).await, ids(&[3]), "source ids");

        // Pages of two: every asset once, in order.
        let paged = walk(
            2,
            "id",
            async |req| s.assets(t, &f(), &req).await.unwrap(),
            |a| (None, a.id),
        )
        .await;
        let paged: Vec<String> = paged.into_iter().map(|a| a.external_id).collect();
        assert_eq!(paged, ids(&[0, 1, 2, 3, 4]));

        // The other tenant: its own three, none of acme's rows.
        let acme: Vec<i64> = s
            .assets(t, &f(), &PageRequest::first(500))
            .await
            .unwrap()
            .iter()
            .map(|a| a.id)
            .collect();
        let beta = s
            .assets(&w.beta.access, &f(), &PageRequest::first(500))
            .await
            .unwrap();
        assert_eq!(
            beta.iter()
                .map(|a| a.external_id.clone())
                .collect::<Vec<_>>(),
            ids(&[0, 2, 3])
        );
        assert!(beta.iter().all(|a| !acme.contains(&a.id)));
        assert!(s.asset(&w.beta.access, acme[0]).await.unwrap().is_none());
    }

    async fn asset_detail(w: World) {
        let s = &w.store;
        let t = &w.acme.access;
        let id = w.acme.asset_id(s, 2).await;
        let a = s.asset(t, id).await.unwrap().unwrap();
        assert_eq!(a.asset.name.as_deref(), Some("web-1"));
        assert!(a.asset.active);
        assert_eq!(a.raw, serde_json::json!({"InstanceId": "x-0002"}));
        assert_eq!(a.relationships.len(), 2);
        assert!(!a.relationships_truncated);
        let edge = |kind: &str| a.relationships.iter().find(|r| r.kind == kind).unwrap();
        let incoming = edge("attached_to");
        assert_eq!(
            (incoming.direction.as_str(), incoming.kind.as_str()),
            ("incoming", "attached_to")
        );
        assert_eq!(incoming.other_asset_id, Some(w.acme.asset_id(s, 0).await));
        assert!(incoming.is_active && incoming.ended_at.is_none());
        let outgoing = edge("protected_by");
        assert_eq!(
            (outgoing.direction.as_str(), outgoing.kind.as_str()),
            ("outgoing", "protected_by")
        );
        assert!(
            !outgoing.is_active && outgoing.ended_at.is_some(),
            "the rescan ended it"
        );
        let one = StatusCounts {
            pass: 1,
            fail: 1,
            error: 1,
            not_applicable: 1,
        };
        assert_eq!(a.results, one);

        let sg = s
            .asset(t, w.acme.asset_id(s, 3).await)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sg.raw, serde_json::json!("not json <sg/>"));

        // Asset 1: inactive, its results last observed by the first scan.
        let gone = w.acme.asset_id(s, 1).await;
        let a = s.asset(t, gone).await.unwrap().unwrap();
        assert!(!a.asset.active);
        assert_eq!(a.results, one);
        let auditor = w.acme.auditor(&["soc2"], T0 + 1500, i64::MAX);
        let a = s.asset(&auditor, gone).await.unwrap().unwrap();
        assert_eq!(a.results, StatusCounts::default(), "outside the window");

        // Beta's copy of asset 2 is beta's: its own id, no acme edges.
        let b = s
            .asset(&w.beta.access, w.beta.asset_id(s, 2).await)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(b.asset.id, id);
        assert_eq!(b.relationships.len(), 1);
        assert!(s.asset(&w.beta.access, id).await.unwrap().is_none());
    }

    #[test]
    fn tag_needles_match_whole_pairs_only() {
        let tags = |pairs: &[(&str, &str)]| {
            let m: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            serde_json::to_string(&m).unwrap()
        };
        let hit = |text: &str, k, v| tag_needles(k, v).iter().any(|n| text.contains(n.as_str()));
        let t = tags(&[("env", "prod"), ("team", "a\"b")]);
        assert!(hit(&t, "env", "prod"));
        assert!(hit(&t, "team", "a\"b"));
        assert!(!hit(&t, "env", "pro"));
        assert!(!hit(&t, "nv", "prod"));
        assert!(!hit(&t, "Env", "prod"));
        let tricky = tags(&[("x\",\"env", "prod")]);
        assert!(!hit(&tricky, "env", "prod"), "{tricky}");
    }
}
