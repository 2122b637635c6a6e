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
    let tenant_ids = match &q.tenant {
        Some(name) => Some(vec![
            tenant(&state, &auth, name, Need::ReadAudit).await?.id(),
        ]),
        None if auth.principal.admin => None,
        None => {
            return Err(ApiError::invalid(
                "name a tenant (tenant=…): only administrators read the whole log",
            ));
        }
    };
    if let Some(a) = &q.action
        && Action::parse(a).is_none()
    {
        return Err(ApiError::invalid(format!("unknown action {a:?}")));
    }
    let req = request(q.limit, q.cursor.as_deref(), "seq")?;
    let filter = AuditFilter {
        actor_id: bounded(q.actor, "actor")?,
        action: q.action,
        object_type: bounded(q.object_type, "object_type")?,
        object_id: bounded(q.object_id, "object_id")?,
        tenant_ids,
        from: q.from,
        to: q.to,
    };
    let rows = state
        .store
        .audit_log(&filter, req.after.as_ref().map(|c| c.id), req.fetch())
        .await?;
    Ok(axum::Json(page(rows, &req, "seq", |r| (None, r.seq))))
}
