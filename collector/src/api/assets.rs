//! A tenant's assets: keyset pages with filters, and one asset in full.

use axum::extract::State;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Path, Query};
use super::filter::{self, MAX_NAME, MAX_SEARCH};
use super::page::{self, Page};
use super::problems::{BadRequest, NotFound, Unauthenticated, Unprocessable};
use super::tenant;
use crate::auth::Need;
use crate::http::AppState;
use crate::store::assets::{AssetDetail, AssetFilter, AssetRow};

/// Longest tag key and value (AWS's limits).
const MAX_TAG_KEY: usize = 128;
const MAX_TAG_VALUE: usize = 256;

/// Query of `GET assets`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssetsQuery {
    /// Page size (1–500, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Inventory kind, exactly (`ec2:volume`).
    pub kind: Option<String>,
    /// Region, exactly.
    pub region: Option<String>,
    /// Only active (`true`) or inactive (`false`) assets.
    pub active: Option<bool>,
    /// `key=value`: assets with this tag (both exact, case-sensitive).
    pub tag: Option<String>,
    /// Substring of the name or source id (ignoring case).
    pub q: Option<String>,
}

/// Parse `key=value` (the key may not contain `=`; the value may).
pub(crate) fn tag(value: Option<String>) -> Result<Option<(String, String)>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    let bad = || {
        ApiError::invalid(format!(
            "tag must be key=value: a key of 1–{MAX_TAG_KEY} and a value of at most \
             {MAX_TAG_VALUE} characters"
        ))
    };
    let (key, value) = v.split_once('=').ok_or_else(bad)?;
    let ok = !key.is_empty()
        && key.chars().count() <= MAX_TAG_KEY
        && value.chars().count() <= MAX_TAG_VALUE
        && !v.chars().any(char::is_control);
    if !ok {
        return Err(bad());
    }
    Ok(Some((key.to_string(), value.to_string())))
}

/// The tenant's assets by id, inactive ones included (`active: false`).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/assets", tag = "inventory",
    params(("tenant" = String, Path, description = "Tenant name"), AssetsQuery),
    responses((status = 200, body = Page<AssetRow>), BadRequest, Unauthenticated, NotFound, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn list_assets(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(q): Query<AssetsQuery>,
) -> ApiResult<axum::Json<Page<AssetRow>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let req = page::request(q.limit, q.cursor.as_deref(), "id")?;
    if req.after.as_ref().is_some_and(|c| c.key.is_some()) {
        return Err(filter::bad_cursor());
    }
    let filter = AssetFilter {
        kind: filter::text("kind", q.kind, MAX_NAME)?,
        region: filter::text("region", q.region, MAX_NAME)?,
        active: q.active,
        tag: tag(q.tag)?,
        q: filter::text("q", q.q, MAX_SEARCH)?,
    };
    let rows = state.store.assets(&t, &filter, &req).await?;
    Ok(axum::Json(page::page(rows, &req, "id", |a| (None, a.id))))
}

/// One asset: its document, relationships (both directions) and result counts.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/assets/{id}", tag = "inventory",
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = i64, Path, description = "Asset id")),
    responses((status = 200, body = AssetDetail), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_asset(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult<axum::Json<AssetDetail>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let asset = state
        .store
        .asset(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    Ok(axum::Json(asset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_strictly() {
        assert_eq!(tag(None).unwrap(), None);
        assert_eq!(
            tag(Some("env=prod=1".into())).unwrap(),
            Some(("env".into(), "prod=1".into()))
        );
        assert_eq!(
            tag(Some("env=".into())).unwrap(),
            Some(("env".into(), String::new()))
        );
        for bad in ["env", "=prod", "a=\u{7}"] {
            assert_eq!(tag(Some(bad.into())).unwrap_err().code(), "invalid");
        }
        assert!(tag(Some(format!("{}=v", "k".repeat(129)))).is_err());
    }
}
