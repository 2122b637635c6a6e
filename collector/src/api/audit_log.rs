//! `GET /api/v1/audit-log`: the audit trail, newest first. Administrators
//! see every row; operators and auditors the rows of one of their tenants
//! (`tenant=`), which leaves out sign-ins and user administration.

use axum::extract::State;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Query};
use super::page::{Page, page, request};
use super::problems::{BadRequest, Forbidden, NotFound, Unauthenticated, Unprocessable};
use super::tenant;
use crate::audit::{Action, Row};
use crate::auth::Need;
use crate::http::AppState;
use crate::store::AuditFilter;

/// Longest filter value.
const MAX_FILTER: usize = 200;

/// Filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Actor id (user id, token id or agent id).
    #[param(max_length = 200)]
    pub actor: Option<String>,
    /// Action, e.g. `control.update`.
    pub action: Option<String>,
    /// Object type, e.g. `applied_control`.
    #[param(max_length = 200)]
    pub object_type: Option<String>,
    /// Object id.
    #[param(max_length = 200)]
    pub object_id: Option<String>,
    /// Tenant name (required unless you are an administrator).
    #[param(max_length = 100)]
    pub tenant: Option<String>,
    /// From (Unix ms, inclusive).
    pub from: Option<i64>,
    /// To (Unix ms, exclusive).
    pub to: Option<i64>,
    /// Page size (1–500, default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

fn bounded(v: Option<String>, what: &str) -> Result<Option<String>, ApiError> {
    match v {
        Some(s) if s.len() > MAX_FILTER || s.chars().any(char::is_control) => Err(
            ApiError::invalid(format!("{what} is too long or not printable")),
        ),
        other => Ok(other),
    }
}

/// The tenants whose rows the caller may read: `tenant`'s (operators and
/// administrators of it), or every row for an administrator naming none.
pub async fn scope(
    state: &AppState,
    auth: &Auth,
    tenant_name: Option<&str>,
) -> Result<Option<Vec<i64>>, ApiError> {
    match tenant_name {
        Some(name) => Ok(Some(vec![
            tenant(state, auth, name, Need::ReadAudit).await?.id(),
        ])),
        None if auth.principal.admin => Ok(None),
        None => Err(ApiError::invalid(
            "name a tenant (tenant=…): only administrators read the whole log",
        )),
    }
}

/// The filter fields of a listing, as given.
#[derive(Debug, Default)]
pub struct FilterFields {
    /// Actor id.
    pub actor: Option<String>,
    /// Dotted action name.
    pub action: Option<String>,
    /// Object type.
    pub object_type: Option<String>,
    /// Object id.
    pub object_id: Option<String>,
    /// From (Unix ms, inclusive).
    pub from: Option<i64>,
    /// To (Unix ms, exclusive).
    pub to: Option<i64>,
}

/// Check the filter fields (bounded texts, a known action) into a filter
/// over `tenant_ids` (from [`scope`]).
pub fn filter(f: FilterFields, tenant_ids: Option<Vec<i64>>) -> Result<AuditFilter, ApiError> {
    if let Some(a) = &f.action
        && Action::parse(a).is_none()
    {
        return Err(ApiError::invalid(format!("unknown action {a:?}")));
    }
    Ok(AuditFilter {
        actor_id: bounded(f.actor, "actor")?,
        action: f.action,
        object_type: bounded(f.object_type, "object_type")?,
        object_id: bounded(f.object_id, "object_id")?,
        tenant_ids,
        from: f.from,
        to: f.to,
    })
}

/// The audit trail, newest first.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Page<Row>), BadRequest, Unauthenticated, Forbidden, NotFound,
              Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::Json<Page<Row>>> {
    let tenant_ids = scope(&state, &auth, q.tenant.as_deref()).await?;
    let filter = filter(
        FilterFields {
            actor: q.actor,
            action: q.action,
            object_type: q.object_type,
            object_id: q.object_id,
            from: q.from,
            to: q.to,
        },
        tenant_ids,
    )?;
    let req = request(q.limit, q.cursor.as_deref(), "seq")?;
    let rows = state
        .store
        .audit_log(&filter, req.after.as_ref().map(|c| c.id), req.fetch())
        .await?;
    Ok(axum::Json(page(rows, &req, "seq", |r| (None, r.seq))))
}
