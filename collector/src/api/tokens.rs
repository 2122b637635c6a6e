//! API tokens: machines act for a user, within a subset of the user's role
//! and tenants. A token can never mint a token broader than itself, and
//! auditors get none (they never see API or enrollment tokens).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Json, Path};
use super::problems::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, Unauthenticated, Unprocessable,
    UnsupportedMediaType,
};
use crate::auth::{Principal, Role, Via, secret};
use crate::http::AppState;
use crate::store::ApiTokenRow;

/// Longest token lifetime (days) and the default.
const MAX_TTL_DAYS: i64 = 365;
const DEFAULT_TTL_DAYS: i64 = 90;

/// `POST /tokens` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Label (1–100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Role cap: at most the caller's own.
    pub role: Role,
    /// Tenant names to limit it to (default: every tenant the caller reaches).
    #[schema(min_items = 1, max_items = 100)]
    pub tenants: Option<Vec<String>>,
    /// Days until it expires (1–365, default 90).
    #[schema(minimum = 1, maximum = 365)]
    pub ttl_days: Option<i64>,
}

/// A new token: the secret is shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// The stored record.
    #[serde(flatten)]
    pub record: ApiTokenRow,
}

/// Auditors get no API tokens (they never see API or enrollment tokens).
pub fn refuse_auditors(p: &Principal) -> Result<(), ApiError> {
    if p.auditor_only() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "auditors do not use API tokens",
        ));
    }
    Ok(())
}

/// Whether `p` may mint a token with `role` on `tenants` (ids; `None` for
/// all of `p`'s). A token may only narrow: never a broader role than the
/// caller has on each tenant, never a tenant the caller lacks, and a token
/// that is itself limited to some tenants cannot mint an unlimited one.
pub fn ensure_within_caller(
    p: &Principal,
    role: Role,
    tenants: Option<&[i64]>,
) -> Result<(), ApiError> {
    let deny = |why: &str| ApiError::new(StatusCode::FORBIDDEN, "forbidden", why.to_string());
    if role == Role::Admin {
        return match (p.admin, tenants) {
            (true, None) => Ok(()),
            (true, Some(_)) => Err(ApiError::invalid(
                "admin tokens reach every tenant: leave tenants out, or use another role",
            )),
            (false, _) => Err(deny("only administrators may create admin tokens")),
        };
    }
    if let Via::Token { role: cap, .. } = p.via
        && !cap.covers(role)
    {
        return Err(deny("a token cannot create a token with a broader role"));
    }
    if p.admin {
        return Ok(());
    }
    if role == Role::Auditor {
        return Err(deny("auditor access is granted to people, not tokens"));
    }
    let reachable: Vec<&crate::auth::Grant> = match tenants {
        Some(ids) => ids
            .iter()
            .map(|id| {
                p.grants()
                    .iter()
                    .find(|g| g.tenant_id == *id)
                    .ok_or_else(|| deny("you have no access to one of these tenants"))
            })
            .collect::<Result<_, _>>()?,
        None => p.grants().iter().collect(),
    };
    if reachable.iter().any(|g| !g.role.covers(role)) {
        return Err(deny("the role exceeds yours on one of the tenants"));
    }
    if reachable.iter().any(|g| g.auditor.is_some()) {
        return Err(deny("auditor access is granted to people, not tokens"));
    }
    Ok(())
}

/// Create an API token for the caller.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken), BadRequest, Unauthenticated, Forbidden, NotFound,
              PayloadTooLarge, UnsupportedMediaType, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    Json(req): Json<NewToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    let created = mint(&state, &auth, req).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Check and record a new API token for the caller (the API's and the
/// console's one way to make one): the secret is returned this once.
pub async fn mint(state: &AppState, auth: &Auth, req: NewToken) -> ApiResult<CreatedToken> {
    let p = &auth.principal;
    refuse_auditors(p)?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "token names are 1–100 printable characters",
        ));
    }
    let ttl = req.ttl_days.unwrap_or(DEFAULT_TTL_DAYS);
    if !(1..=MAX_TTL_DAYS).contains(&ttl) {
        return Err(ApiError::invalid(format!(
            "ttl_days must be 1–{MAX_TTL_DAYS}"
        )));
    }
    let tenant_ids = match &req.tenants {
        None => None,
        Some(names) if names.is_empty() || names.len() > 100 => {
            return Err(ApiError::invalid(
                "name 1–100 tenants, or leave tenants out",
            ));
        }
        Some(names) => {
            let mut ids = Vec::with_capacity(names.len());
            for n in names {
                let id = if p.admin {
                    state.store.tenant_id(n).await?
                } else {
                    p.grants()
                        .iter()
                        .find(|g| &g.tenant == n)
                        .map(|g| g.tenant_id)
                };
                ids.push(id.ok_or_else(|| ApiError::not_found("tenant"))?);
            }
            ids.sort_unstable();
            ids.dedup();
            Some(ids)
        }
    };
    // A tenant-limited token may only mint tokens limited the same or more.
    let tenant_ids = match (&p.via, tenant_ids) {
        (Via::Token { .. }, None) if !p.admin => {
            Some(p.grants().iter().map(|g| g.tenant_id).collect())
        }
        (_, t) => t,
    };
    // A token names tenants only where the caller reaches: the auditor
    // tenants of a caller with other grants are left out of "all".
    let tenant_ids = match (tenant_ids, p.admin) {
        (None, false) if p.grants().iter().any(|g| g.auditor.is_some()) => Some(
            p.grants()
                .iter()
                .filter(|g| g.auditor.is_none())
                .map(|g| g.tenant_id)
                .collect(),
        ),
        (t, _) => t,
    };
    ensure_within_caller(p, req.role, tenant_ids.as_deref())?;
    // Nor may it outlive the token that mints it.
    let mut expires_at = auth.now.saturating_add(ttl * 86_400_000);
    if let Via::Token {
        expires_at: parent, ..
    } = p.via
    {
        expires_at = expires_at.min(parent);
    }
    let (token, hash) = secret::new_token();
    let record = state
        .store
        .create_api_token(
            &auth.context(),
            p.user_id,
            name,
            &hash,
            req.role,
            tenant_ids.as_deref(),
            expires_at,
        )
        .await?;
    Ok(CreatedToken { token, record })
}

/// The caller's API tokens (admins: everyone's).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<ApiTokenRow>), Unauthenticated, Forbidden),
    security(("session" = []), ("token" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<Vec<ApiTokenRow>>> {
    let p = &auth.principal;
    refuse_auditors(p)?;
    let owner = (!p.admin).then_some(p.user_id);
    Ok(axum::Json(state.store.api_tokens(owner).await?))
}

/// Revoke an API token (one's own; admins: any). Takes effect on the next request.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 200, body = ApiTokenRow), BadRequest, Unauthenticated, Forbidden, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<ApiTokenRow>> {
    let p = &auth.principal;
    refuse_auditors(p)?;
    let owner = (!p.admin).then_some(p.user_id);
    Ok(axum::Json(
        state
            .store
            .revoke_api_token(&auth.context(), id, owner)
            .await?,
    ))
}
