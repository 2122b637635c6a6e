//! Applied controls: the listing, one control, and edits of its status,
//! owner and notes.

use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;

use super::edit::{self, MAX_NOTES, MAX_OWNER, Tagged, tagged};
use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Json, Path, Query};
use super::page::{self, Page};
use super::problems::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, PreconditionFailed, PreconditionRequired,
    Unauthenticated, Unprocessable, UnsupportedMediaType,
};
use super::tenant;
use crate::auth::Need;
use crate::http::AppState;
use crate::store::controls::{
    ControlChange, ControlDetail, ControlFilter, ControlRow, Posture, WorkStatus,
};

/// Sort of the control listing (cursors are tied to it).
const SORT: &str = "name";

/// `GET /controls` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ControlQuery {
    /// Scan posture.
    pub posture: Option<Posture>,
    /// Hand-set status.
    pub status: Option<WorkStatus>,
    /// SCF control id (`CRY-05`).
    pub scf: Option<String>,
    /// Controls mapped to this framework (`soc2`, `iso27001_2022`, …).
    pub framework: Option<String>,
    /// Name or key contains (case-insensitive, up to 200 characters).
    pub q: Option<String>,
    /// Page size (1–500, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The tenant's applied controls by name (auditors: those mapped to their
/// frameworks).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/controls", tag = "controls",
    params(("tenant" = String, Path, description = "Tenant name"), ControlQuery),
    responses((status = 200, body = Page<ControlRow>), BadRequest, Unauthenticated, NotFound, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn list_controls(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(q): Query<ControlQuery>,
) -> ApiResult<axum::Json<Page<ControlRow>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let req = page::request(q.limit, q.cursor.as_deref(), SORT)?;
    let filter = ControlFilter {
        posture: q.posture,
        status: q.status,
        scf: edit::id_filter("scf", q.scf, 32)?,
        framework: edit::framework_filter(q.framework)?,
        q: edit::id_filter("q", q.q, 200)?,
    };
    let rows = state.store.controls(&t, &filter, &req).await?;
    Ok(axum::Json(page::page(rows, &req, SORT, |c| {
        (Some(c.name.clone()), c.id)
    })))
}

/// One control: posture and counts, checks, assets (count and the first
/// 100), evidence counts, requirement mappings and policies; `ETag` for edits.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/controls/{id}", tag = "controls",
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = i64, Path, description = "Control id")),
    responses((status = 200, body = ControlDetail, headers(("ETag" = String, description = "\"v<version>\""))), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_control(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult<Tagged<ControlDetail>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let d = state
        .store
        .control_detail(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("control"))?;
    Ok(tagged(d.control.version, d))
}

/// `PATCH /controls/{id}` body: fields left out stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlPatch {
    /// `to_do`, `in_progress`, `on_hold`, `active` or `deprecated`.
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

/// Change a control's status, owner or notes (operators); needs `If-Match`.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/controls/{id}", tag = "controls",
    request_body = ControlPatch,
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = i64, Path, description = "Control id"),
           ("If-Match" = String, Header, description = "ETag from GET")),
    responses((status = 200, body = ControlRow, headers(("ETag" = String, description = "The new ETag"))), BadRequest, Unauthenticated, Forbidden, NotFound, PreconditionFailed, PayloadTooLarge, UnsupportedMediaType, Unprocessable, PreconditionRequired),
    security(("session" = []), ("token" = [])))]
pub async fn patch_control(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, i64)>,
    headers: HeaderMap,
    Json(req): Json<ControlPatch>,
) -> ApiResult<Tagged<ControlRow>> {
    let t = tenant(&state, &auth, &name, Need::Operate).await?;
    let version = edit::if_match(&headers)?;
    let change = ControlChange {
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
        .update_control(&auth.context(), &t, id, version, &change)
        .await?;
    Ok(tagged(row.version, row))
}
