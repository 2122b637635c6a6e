//! Administration: tenants, users and their grants (admins only; the tenant
//! list shows each caller the tenants it can reach).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Json, Path};
use super::problems::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthenticated, Unprocessable,
    UnsupportedMediaType,
};
use super::session::normalise_email;
use crate::auth::{AuditorScope, Role, password};
use crate::http::AppState;
use crate::store::{GrantRow, TenantRow, UserRow};

pub use crate::store::users::MAX_TENANT_NAME;

/// Check a tenant name: 1–100 characters, letters, digits, `-`, `_`, `.`
/// (it appears in URLs and log origins).
pub fn check_tenant_name(name: &str) -> Result<(), ApiError> {
    // `.` and `..` would be path steps in the console's URLs (/t/..).
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= MAX_TENANT_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "tenant names are 1–100 characters: letters, digits, '-', '_', '.' (not . or ..)",
        ))
    }
}

/// Tenants the caller can reach.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "admin",
    responses((status = 200, body = Vec<TenantRow>), Unauthenticated),
    security(("session" = []), ("token" = [])))]
pub async fn list_tenants(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<Vec<TenantRow>>> {
    let all = state.store.tenants().await?;
    let p = &auth.principal;
    Ok(axum::Json(
        all.into_iter()
            .filter(|t| p.admin || p.grants().iter().any(|g| g.tenant_id == t.id))
            .collect(),
    ))
}

/// `POST /tenants` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Name.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,100}$", example = "acme")]
    pub name: String,
}

/// Create a tenant (admins).
#[utoipa::path(post, path = "/api/v1/tenants", tag = "admin", request_body = NewTenant,
    responses((status = 201, body = TenantRow), BadRequest, Unauthenticated, Forbidden, Conflict,
              PayloadTooLarge, UnsupportedMediaType, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn create_tenant(
    State(state): State<AppState>,
    auth: Auth,
    Json(req): Json<NewTenant>,
) -> ApiResult<(StatusCode, axum::Json<TenantRow>)> {
    auth.principal.require_admin()?;
    check_tenant_name(&req.name)?;
    let t = state
        .store
        .create_tenant(&auth.context(), &req.name)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(t)))
}

/// Every user (admins).
#[utoipa::path(get, path = "/api/v1/users", tag = "admin",
    responses((status = 200, body = Vec<UserRow>), Unauthenticated, Forbidden),
    security(("session" = []), ("token" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<Vec<UserRow>>> {
    auth.principal.require_admin()?;
    Ok(axum::Json(state.store.users().await?))
}

/// `POST /users` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// E-mail address.
    pub email: String,
    /// Initial password (12–1024 bytes).
    #[schema(min_length = 12)]
    pub password: String,
    /// Global administrator.
    #[serde(default)]
    pub admin: bool,
}

/// Create a user (admins).
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = NewUser,
    responses((status = 201, body = UserRow), BadRequest, Unauthenticated, Forbidden, Conflict,
              PayloadTooLarge, UnsupportedMediaType, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    Json(req): Json<NewUser>,
) -> ApiResult<(StatusCode, axum::Json<UserRow>)> {
    auth.principal.require_admin()?;
    let email = normalise_email(&req.email)?;
    password::check(&req.password).map_err(|e| ApiError::invalid(e.to_string()))?;
    let hash = hash_off_thread(req.password).await?;
    let user = state
        .store
        .create_user(&auth.context(), &email, &hash, req.admin)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// Hash a password on the blocking pool (argon2 is CPU-bound).
pub async fn hash_off_thread(password_text: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&password_text))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::invalid(e.to_string()))
}

/// A user with grants.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserDetail {
    /// The user.
    #[serde(flatten)]
    pub user: UserRow,
    /// Grants.
    pub grants: Vec<GrantRow>,
}

/// One user (admins).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserDetail), BadRequest, Unauthenticated, Forbidden, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<UserDetail>> {
    auth.principal.require_admin()?;
    let user = state
        .store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let grants = state.store.grants_of(id).await?;
    Ok(axum::Json(UserDetail { user, grants }))
}

/// `PATCH /users/{id}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Disable (true) or enable (false).
    pub disabled: Option<bool>,
    /// New password (12–1024 bytes); ends the user's sessions.
    #[schema(min_length = 12)]
    pub password: Option<String>,
}

/// Disable, enable or reset the password of a user (admins).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "admin", request_body = UserPatch,
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserRow), BadRequest, Unauthenticated, Forbidden, NotFound,
              PayloadTooLarge, UnsupportedMediaType, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn patch_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Json(req): Json<UserPatch>,
) -> ApiResult<axum::Json<UserRow>> {
    auth.principal.require_admin()?;
    if req.disabled == Some(true) && id == auth.principal.user_id {
        return Err(ApiError::invalid("you cannot disable yourself"));
    }
    let ctx = auth.context();
    if let Some(p) = req.password {
        let hash = hash_off_thread(p).await?;
        state.store.reset_password(&ctx, id, &hash).await?;
    }
    if let Some(disabled) = req.disabled {
        state.store.set_user_disabled(&ctx, id, disabled).await?;
    }
    let user = state
        .store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(axum::Json(user))
}

/// `PUT /users/{id}/grants/{tenant}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// `operator`, `auditor` or `viewer` (admin is a user flag, not a grant).
    pub role: Role,
    /// Auditors: framework ids they may see.
    #[schema(min_items = 1, max_items = 16)]
    pub frameworks: Option<Vec<String>>,
    /// Auditors: observation window start (Unix ms).
    pub from: Option<i64>,
    /// Auditors: observation window end (Unix ms).
    pub to: Option<i64>,
    /// Auditors: when access ends (Unix ms).
    pub expires_at: Option<i64>,
}

/// The auditor bounds of a grant as requested (auditors need frameworks, a
/// window and an expiry; the other roles none of them; admin is no grant).
pub fn grant_scope(req: &GrantRequest) -> Result<Option<AuditorScope>, ApiError> {
    match req.role {
        Role::Admin => Err(ApiError::invalid(
            "admin is not granted per tenant: create the user with admin = true",
        )),
        Role::Auditor => {
            let (Some(frameworks), Some(from), Some(to), Some(expires_at)) =
                (req.frameworks.clone(), req.from, req.to, req.expires_at)
            else {
                return Err(ApiError::invalid(
                    "auditor grants need frameworks, from, to and expires_at",
                ));
            };
            if frameworks.is_empty() || frameworks.len() > 16 {
                return Err(ApiError::invalid("auditor grants name 1–16 frameworks"));
            }
            for f in &frameworks {
                if crate::posture::framework_id(f) != Some(f.as_str()) {
                    return Err(ApiError::invalid(format!("unknown framework id {f:?}")));
                }
            }
            if from >= to {
                return Err(ApiError::invalid("the window must end after it starts"));
            }
            Ok(Some(AuditorScope {
                frameworks,
                from,
                to,
                expires_at,
            }))
        }
        Role::Operator | Role::Viewer => {
            if req.frameworks.is_some()
                || req.from.is_some()
                || req.to.is_some()
                || req.expires_at.is_some()
            {
                Err(ApiError::invalid(
                    "frameworks, windows and expiry apply to auditor grants only",
                ))
            } else {
                Ok(None)
            }
        }
    }
}

/// Grant a user a role on a tenant, replacing any earlier grant (admins).
#[utoipa::path(put, path = "/api/v1/users/{id}/grants/{tenant}", tag = "admin",
    request_body = GrantRequest,
    params(("id" = i64, Path, description = "User id"), ("tenant" = String, Path, description = "Tenant name", max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]+$", example = "acme")),
    responses((status = 200, body = Vec<GrantRow>), BadRequest, Unauthenticated, Forbidden, NotFound,
              PayloadTooLarge, UnsupportedMediaType, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn put_grant(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, tenant)): Path<(i64, String)>,
    Json(req): Json<GrantRequest>,
) -> ApiResult<axum::Json<Vec<GrantRow>>> {
    auth.principal.require_admin()?;
    let tenant_id = state
        .store
        .tenant_id(&tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    let scope = grant_scope(&req)?;
    state
        .store
        .set_grant(&auth.context(), id, tenant_id, req.role, scope.as_ref())
        .await?;
    Ok(axum::Json(state.store.grants_of(id).await?))
}

/// Remove a user's grant on a tenant (admins).
#[utoipa::path(delete, path = "/api/v1/users/{id}/grants/{tenant}", tag = "admin",
    params(("id" = i64, Path, description = "User id"), ("tenant" = String, Path, description = "Tenant name", max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]+$", example = "acme")),
    responses((status = 204), BadRequest, Unauthenticated, Forbidden, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn delete_grant(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, tenant)): Path<(i64, String)>,
) -> ApiResult<StatusCode> {
    auth.principal.require_admin()?;
    let tenant_id = state
        .store
        .tenant_id(&tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    state
        .store
        .remove_grant(&auth.context(), id, tenant_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
