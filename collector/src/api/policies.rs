//! Policies: the listing, one policy with its template and controls, and
//! edits along the workflow (`store::policies::policy_transition_allowed`).

use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;

use super::edit::{self, MAX_NOTES, MAX_OWNER, Tagged, tagged};
use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Json, Path, Query};
use super::problems::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, PreconditionFailed,
    PreconditionRequired, Unauthenticated, Unprocessable, UnsupportedMediaType,
};
use super::tenant;
use crate::auth::Need;
use crate::http::AppState;
use crate::store::controls::WorkStatus;
use crate::store::policies::{PolicyChange, PolicyDetail, PolicyRow};

/// `GET /policies` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PolicyQuery {
    /// Workflow status.
    pub status: Option<WorkStatus>,
}

/// The tenant's policies by name (one per template at most; auditors:
/// those with a control of their frameworks).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/policies", tag = "policies",
    params(("tenant" = String, Path, description = "Tenant name"), PolicyQuery),
    responses((status = 200, body = Vec<PolicyRow>), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn list_policies(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(q): Query<PolicyQuery>,
) -> ApiResult<axum::Json<Vec<PolicyRow>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    Ok(axum::Json(state.store.policies(&t, q.status).await?))
}

/// One policy with its template's summary and body and its controls; `ETag`
/// for edits.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/policies/{id}", tag = "policies",
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = i64, Path, description = "Policy id")),
    responses((status = 200, body = PolicyDetail, headers(("ETag" = String, description = "\"v<version>\""))), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_policy(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult<Tagged<PolicyDetail>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let d = state
        .store
        .policy_detail(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    Ok(tagged(d.policy.version, d))
}

/// `PATCH /policies/{id}` body: fields left out stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyPatch {
    /// New status: to_do → in_progress → active → deprecated → to_do, and
    /// on_hold from and back to to_do or in_progress.
    pub status: Option<WorkStatus>,
    /// Owner, up to 200 characters on one line; `null` clears it.
    #[serde(default, deserialize_with = "edit::nullable")]
    #[schema(value_type = Option<String>)]
    pub owner: Option<Option<String>>,
    /// Notes, up to 10,000 characters; `null` clears them.
    #[serde(default, deserialize_with = "edit::nullable")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

/// Move a policy along its workflow or set its owner and notes (operators);
/// needs `If-Match`. A transition the workflow does not allow is 409 `refused`.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/policies/{id}", tag = "policies",
    request_body = PolicyPatch,
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = i64, Path, description = "Policy id"),
           ("If-Match" = String, Header, description = "ETag from GET")),
    responses((status = 200, body = PolicyRow, headers(("ETag" = String, description = "The new ETag"))), BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, PreconditionFailed, PayloadTooLarge, UnsupportedMediaType, Unprocessable, PreconditionRequired),
    security(("session" = []), ("token" = [])))]
pub async fn patch_policy(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, i64)>,
    headers: HeaderMap,
    Json(req): Json<PolicyPatch>,
) -> ApiResult<Tagged<PolicyRow>> {
    let t = tenant(&state, &auth, &name, Need::Operate).await?;
    let version = edit::if_match(&headers)?;
    let change = PolicyChange {
        status: req.status,
        owner: req
            .owner
            .map(|o| edit::line("owner", o, MAX_OWNER))
            .transpose()?,
        notes: req
            .notes
            .map(|n| edit::text("notes", n, MAX_NOTES))
            .transpose()?,
    };
    if change.status.is_none() && change.owner.is_none() && change.notes.is_none() {
        return Err(ApiError::invalid("nothing to change"));
    }
    let row = state
        .store
        .update_policy(&auth.context(), &t, id, version, &change)
        .await?;
    Ok(tagged(row.version, row))
}
