//! A tenant's stored batches (with their signed bytes) and scans.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Path, Query};
use super::filter;
use super::page::{self, Page};
use super::problems::{BadRequest, NotFound, Unauthenticated};
use super::tenant;
use crate::auth::Need;
use crate::http::AppState;
use crate::store::scans::{BatchDetail, BatchRow, ScanRow};

/// The signed bytes of a batch, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct CoseSign1(pub Vec<u8>);

/// Query of the batch and scan listings.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NewestFirstQuery {
    /// Page size (1–500, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The tenant's batches, newest first (auditors: received within their window).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/batches", tag = "scans",
    params(("tenant" = String, Path, description = "Tenant name"), NewestFirstQuery),
    responses((status = 200, body = Page<BatchRow>), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn list_batches(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(q): Query<NewestFirstQuery>,
) -> ApiResult<axum::Json<Page<BatchRow>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let req = page::request(q.limit, q.cursor.as_deref(), "-number")?;
    if req.after.as_ref().is_some_and(|c| c.key.is_some()) {
        return Err(filter::bad_cursor());
    }
    let rows = state.store.batches(&t, &req).await?;
    Ok(axum::Json(page::page(rows, &req, "-number", |b| {
        (None, b.number)
    })))
}

/// One batch: its metadata and ingest summary.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/batches/{id}", tag = "scans",
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = String, Path, description = "Batch id (UUID)")),
    responses((status = 200, body = BatchDetail), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_batch(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, uuid::Uuid)>,
) -> ApiResult<axum::Json<BatchDetail>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let batch = state
        .store
        .batch(&t, &id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("batch"))?;
    Ok(axum::Json(batch))
}

/// The batch exactly as the agent signed it (COSE_Sign1), for independent
/// verification; `x-content-sha256` is the hash recorded on receipt.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/batches/{id}/raw", tag = "scans",
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = String, Path, description = "Batch id (UUID)")),
    responses((status = 200, description = "The signed batch", content_type = "application/cose", body = inline(CoseSign1),
               headers(("x-content-sha256" = String, description = "Hex SHA-256 of the bytes, recorded on receipt"))), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_batch_raw(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, uuid::Uuid)>,
) -> ApiResult<Response> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let (raw, sha256) = state
        .store
        .batch_raw(&t, &id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("batch"))?;
    let sha256 = HeaderValue::from_str(&sha256).map_err(ApiError::internal)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/cose"),
            ),
            (header::HeaderName::from_static("x-content-sha256"), sha256),
        ],
        raw,
    )
        .into_response())
}

/// The tenant's scans, newest first: seed 001's scan response summed over each
/// scan's stored parts (auditors: parts received within their window).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/scans", tag = "scans",
    params(("tenant" = String, Path, description = "Tenant name"), NewestFirstQuery),
    responses((status = 200, body = Page<ScanRow>), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn list_scans(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(q): Query<NewestFirstQuery>,
) -> ApiResult<axum::Json<Page<ScanRow>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let req = page::request(q.limit, q.cursor.as_deref(), "-last-part")?;
    if req.after.as_ref().is_some_and(|c| c.key.is_some()) {
        return Err(filter::bad_cursor());
    }
    let rows = state.store.scans(&t, &req).await?;
    Ok(axum::Json(page::page(rows, &req, "-last-part", |s| {
        (None, s.last_number)
    })))
}

/// One scan.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/scans/{scan_id}", tag = "scans",
    params(("tenant" = String, Path, description = "Tenant name"), ("scan_id" = String, Path, description = "Scan id (UUID)")),
    responses((status = 200, body = ScanRow), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_scan(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, scan_id)): Path<(String, uuid::Uuid)>,
) -> ApiResult<axum::Json<ScanRow>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let scan = state
        .store
        .scan(&t, &scan_id.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("scan"))?;
    Ok(axum::Json(scan))
}
