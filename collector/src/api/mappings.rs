//! Control → requirement mappings: automatic ones from scans, and manual
//! ones people add and remove.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::edit::{self, MAX_REF};
use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Json, Path, Query};
use super::page::{self, Page};
use super::problems::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthenticated, Unprocessable,
    UnsupportedMediaType,
};
use super::tenant;
use crate::auth::Need;
use crate::http::AppState;
use crate::store::mappings::{MappingFilter, MappingKey, MappingRow};

/// Sort of the mapping listing (cursors are tied to it).
const SORT: &str = "control";

/// `GET /mappings` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MappingQuery {
    /// Framework id.
    pub framework: Option<String>,
    /// Requirement id.
    pub requirement: Option<String>,
    /// Applied control id.
    pub control: Option<i64>,
    /// Page size (1–500, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The tenant's mappings, automatic and manual, by control (auditors:
/// those of their frameworks).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/mappings", tag = "mappings",
    params(("tenant" = String, Path, description = "Tenant name"), MappingQuery),
    responses((status = 200, body = Page<MappingRow>), BadRequest, Unauthenticated, NotFound, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn list_mappings(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(q): Query<MappingQuery>,
) -> ApiResult<axum::Json<Page<MappingRow>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let req = page::request(q.limit, q.cursor.as_deref(), SORT)?;
    let filter = MappingFilter {
        framework: edit::framework_filter(q.framework)?,
        requirement: edit::id_filter("requirement", q.requirement, MAX_REF)?,
        control: q.control,
    };
    let rows = state.store.mappings(&t, &filter, &req).await?;
    Ok(axum::Json(page::page(rows, &req, SORT, |m| {
        (Some(m.sort_key()), m.control_id)
    })))
}

/// `POST /mappings` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMapping {
    /// Applied control of this tenant.
    pub control_id: i64,
    /// Framework id.
    pub framework: String,
    /// Requirement id of that framework.
    pub requirement: String,
}

fn key(control_id: i64, framework: &str, requirement: String) -> Result<MappingKey, ApiError> {
    let framework = edit::framework(framework)
        .ok_or_else(|| ApiError::invalid("unknown framework"))?
        .to_string();
    let requirement =
        edit::id_filter("requirement", Some(requirement), MAX_REF)?.unwrap_or_default();
    Ok(MappingKey {
        control_id,
        framework,
        requirement,
    })
}

/// Map a control to a requirement by hand (operators): origin and source
/// `manual`, coverage `full`. 409 when that manual mapping exists.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/mappings", tag = "mappings",
    request_body = NewMapping,
    params(("tenant" = String, Path, description = "Tenant name")),
    responses((status = 201, body = MappingRow), BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, PayloadTooLarge, UnsupportedMediaType, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn add_mapping(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Json(req): Json<NewMapping>,
) -> ApiResult<(StatusCode, axum::Json<MappingRow>)> {
    let t = tenant(&state, &auth, &name, Need::Operate).await?;
    let key = key(req.control_id, &req.framework, req.requirement)?;
    let row = state.store.add_mapping(&auth.context(), &t, &key).await?;
    Ok((StatusCode::CREATED, axum::Json(row)))
}

/// `DELETE /mappings` parameters: the mapping's key.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MappingKeyQuery {
    /// Applied control id.
    pub control: i64,
    /// Framework id.
    pub framework: String,
    /// Requirement id.
    pub requirement: String,
}

/// Remove a manual mapping (operators). Automatic ones come from scans:
/// 409 `refused`.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/mappings", tag = "mappings",
    params(("tenant" = String, Path, description = "Tenant name"), MappingKeyQuery),
    responses((status = 204), BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn remove_mapping(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(q): Query<MappingKeyQuery>,
) -> ApiResult<StatusCode> {
    let t = tenant(&state, &auth, &name, Need::Operate).await?;
    let key = key(q.control, &q.framework, q.requirement)?;
    state
        .store
        .remove_mapping(&auth.context(), &t, &key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
