//! A tenant's check catalog, as its agents declared it.

use axum::extract::State;

use super::error::ApiResult;
use super::extract::{Auth, Path};
use super::problems::{BadRequest, NotFound, Unauthenticated};
use super::tenant;
use crate::auth::Need;
use crate::http::AppState;
use crate::store::checks::CheckRow;

/// The tenant's security checks (the catalog its agents declared), by id,
/// with result counts by status.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/checks", tag = "inventory",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses((status = 200, body = Vec<CheckRow>), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn list_checks(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Vec<CheckRow>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    Ok(axum::Json(state.store.checks(&t).await?))
}
