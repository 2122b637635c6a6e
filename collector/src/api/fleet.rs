//! A tenant's fleet: agents, enrollment tokens, integrations.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Json, Path};
use super::problems::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthenticated, Unprocessable,
    UnsupportedMediaType,
};
use super::tenant;
use crate::auth::Need;
use crate::http::AppState;
use crate::store::fleet::{AgentRow, EnrollmentTokenRow, IntegrationRow};

/// The tenant's agents: last seen, seq, last batch, errors, certificate expiry.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/agents", tag = "fleet",
    params(("tenant" = String, Path, description = "Tenant name", max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]+$", example = "acme")),
    responses((status = 200, body = Vec<AgentRow>), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn list_agents(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Vec<AgentRow>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let mut agents = state.store.agents(&t).await?;
    for a in &mut agents {
        a.certificate_expires_at = crate::pki::certificate_not_after(&a.certificate_pem);
    }
    Ok(axum::Json(agents))
}

/// Revoke an agent (operators): its batches are refused from now on.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/agents/{agent}/revoke", tag = "fleet",
    params(("tenant" = String, Path, description = "Tenant name", max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]+$", example = "acme"), ("agent" = String, Path, description = "Agent id", pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]+$")),
    responses((status = 204), BadRequest, Unauthenticated, Forbidden, NotFound, Conflict),
    security(("session" = []), ("token" = [])))]
pub async fn revoke_agent(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, agent)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let t = tenant(&state, &auth, &name, Need::Operate).await?;
    state
        .store
        .revoke_tenant_agent(&auth.context(), &t, &agent)
        .await?;
    state.guard.revoked.refresh_after_revoke(&state.store).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's enrollment tokens (operators; never their secrets).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/enrollment-tokens", tag = "fleet",
    params(("tenant" = String, Path, description = "Tenant name", max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]+$", example = "acme")),
    responses((status = 200, body = Vec<EnrollmentTokenRow>), BadRequest, Unauthenticated, Forbidden,
              NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn list_enrollment_tokens(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Vec<EnrollmentTokenRow>>> {
    let t = tenant(&state, &auth, &name, Need::ReadOperational).await?;
    Ok(axum::Json(state.store.enrollment_tokens(&t).await?))
}

/// Most enrollments one token may allow: a fleet rolled out with one token,
/// not a token left open for anyone who finds it.
pub const MAX_TOKEN_USES: i64 = 1000;

/// `POST /enrollment-tokens` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnrollmentToken {
    /// Hours until it expires (1–720, default 24).
    #[schema(minimum = 1, maximum = 720)]
    pub ttl_hours: Option<i64>,
    /// Agents it may enroll (1–1000, default 1).
    #[schema(minimum = 1, maximum = 1000)]
    pub max_uses: Option<i64>,
}

/// A new enrollment token: the secret is shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedEnrollmentToken {
    /// `ctk1_…`, for `citadel-agent enroll --token`.
    pub token: String,
    /// Where agents enroll.
    pub enroll_url: String,
    /// The stored record.
    #[serde(flatten)]
    pub record: EnrollmentTokenRow,
}

/// Create a one-time enrollment token (operators).
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/enrollment-tokens", tag = "fleet",
    request_body = NewEnrollmentToken,
    params(("tenant" = String, Path, description = "Tenant name", max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]+$", example = "acme")),
    responses((status = 201, body = CreatedEnrollmentToken), BadRequest, Unauthenticated, Forbidden,
              NotFound, PayloadTooLarge, UnsupportedMediaType, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn create_enrollment_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Json(req): Json<NewEnrollmentToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedEnrollmentToken>)> {
    let t = tenant(&state, &auth, &name, Need::Operate).await?;
    let created = issue_enrollment_token(&state, &auth, &t, req.ttl_hours, req.max_uses).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Make and record an enrollment token on `t` (the guard's access for
/// `Need::Operate`) expiring in `ttl_hours` (1–720, default 24) and good for
/// `max_uses` enrollments (1–1000, default 1); the secret is returned this
/// once and never stored.
pub async fn issue_enrollment_token(
    state: &AppState,
    auth: &Auth,
    t: &crate::auth::TenantAccess,
    ttl_hours: Option<i64>,
    max_uses: Option<i64>,
) -> ApiResult<CreatedEnrollmentToken> {
    let ttl = ttl_hours.unwrap_or(24);
    if !(1..=720).contains(&ttl) {
        return Err(ApiError::invalid("ttl_hours must be 1–720"));
    }
    let uses = max_uses.unwrap_or(1);
    if !(1..=MAX_TOKEN_USES).contains(&uses) {
        return Err(ApiError::invalid("max_uses must be 1–1000"));
    }
    let (token, hash) = crate::http::new_token(&state.ca.fingerprint());
    let record = state
        .store
        .create_enrollment_token(&auth.context(), t, &hash, auth.now + ttl * 3_600_000, uses)
        .await?;
    Ok(CreatedEnrollmentToken {
        token,
        enroll_url: state.public_api_url.clone(),
        record,
    })
}

/// Revoke an unused enrollment token (operators).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/enrollment-tokens/{id}", tag = "fleet",
    params(("tenant" = String, Path, description = "Tenant name", max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]+$", example = "acme"), ("id" = i64, Path, description = "Token id")),
    responses((status = 200, body = EnrollmentTokenRow), BadRequest, Unauthenticated, Forbidden,
              NotFound, Conflict),
    security(("session" = []), ("token" = [])))]
pub async fn revoke_enrollment_token(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult<axum::Json<EnrollmentTokenRow>> {
    let t = tenant(&state, &auth, &name, Need::Operate).await?;
    Ok(axum::Json(
        state
            .store
            .revoke_enrollment_token(&auth.context(), &t, id)
            .await?,
    ))
}

/// The tenant's integrations: status, last error, error count, last sync.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/integrations", tag = "fleet",
    params(("tenant" = String, Path, description = "Tenant name", max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]+$", example = "acme")),
    responses((status = 200, body = Vec<IntegrationRow>), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn list_integrations(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Vec<IntegrationRow>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    Ok(axum::Json(state.store.integrations(&t).await?))
}
