//! The SCF control catalog (shared by all tenants; any signed-in caller).

use axum::extract::State;
use serde::Deserialize;

use super::error::ApiResult;
use super::extract::{Auth, Query};
use super::filter::{self, MAX_NAME, MAX_SEARCH};
use super::page::{self, Page};
use super::problems::{BadRequest, Unauthenticated, Unprocessable};
use crate::http::AppState;
use crate::store::scf::{ScfControlRow, ScfFilter};

/// Query of `GET scf-controls`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScfQuery {
    /// Page size (1–500, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Domain code (`IAC`), ignoring case.
    pub domain: Option<String>,
    /// Substring of the id, name or description (ignoring case).
    pub q: Option<String>,
}

/// SCF controls by id.
#[utoipa::path(get, path = "/api/v1/scf-controls", tag = "catalog",
    params(ScfQuery),
    responses((status = 200, body = Page<ScfControlRow>), BadRequest, Unauthenticated, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn list_scf_controls(
    State(state): State<AppState>,
    _auth: Auth,
    Query(q): Query<ScfQuery>,
) -> ApiResult<axum::Json<Page<ScfControlRow>>> {
    let req = page::request(q.limit, q.cursor.as_deref(), "id")?;
    // Keyed by the SCF id (text); the cursor's number is unused.
    if req.after.as_ref().is_some_and(|c| c.key.is_none()) {
        return Err(filter::bad_cursor());
    }
    let filter = ScfFilter {
        domain: filter::text("domain", q.domain, MAX_NAME)?,
        q: filter::text("q", q.q, MAX_SEARCH)?,
    };
    let rows = state.store.scf_controls(&filter, &req).await?;
    Ok(axum::Json(page::page(rows, &req, "id", |c| {
        (Some(c.id.clone()), 0)
    })))
}

/// The catalog import log (what `citadel-collector catalog status` prints):
/// which SCF catalog version the mappings come from, and when it changed.
#[utoipa::path(get, path = "/api/v1/catalog/imports", tag = "catalog",
    responses((status = 200, body = Vec<crate::store::CatalogImportRow>), Unauthenticated),
    security(("session" = []), ("token" = [])))]
pub async fn list_catalog_imports(
    State(state): State<AppState>,
    _auth: Auth,
) -> ApiResult<axum::Json<Vec<crate::store::CatalogImportRow>>> {
    Ok(axum::Json(state.store.catalog_imports().await?))
}
