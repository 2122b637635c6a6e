//! Sign-in, sign-out and "who am I".

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Json, Meta, SESSION_COOKIE};
use super::problems::{
    BadRequest, Forbidden, PayloadTooLarge, TooManyRequests, Unauthenticated, Unprocessable,
    UnsupportedMediaType,
};
use crate::audit::Actor;
use crate::auth::{AuditorScope, Principal, Role, Via, password, secret};
use crate::http::AppState;
use crate::store::now_ms;

/// Password checks running at once (each holds ~20 MiB for ~30 ms).
static VERIFICATIONS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Longest e-mail address accepted (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

/// `POST /auth/login` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A signed-in user's session.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginReply {
    /// The user.
    pub user: Me,
    /// Send as `x-csrf-token` on every state change made with the cookie.
    pub csrf_token: String,
    /// When the session ends at the latest (Unix ms).
    pub expires_at: i64,
}

/// The caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// User id.
    pub id: i64,
    /// E-mail address.
    pub email: String,
    /// Global administrator (after a token's cap).
    pub admin: bool,
    /// `session` or `token`.
    pub via: String,
    /// Effective grants.
    pub grants: Vec<MyGrant>,
}

/// One effective grant.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyGrant {
    /// Tenant name.
    pub tenant: String,
    /// Role.
    pub role: Role,
    /// Bounds, for auditors.
    pub auditor: Option<AuditorScope>,
}

/// Normalise an e-mail address: trimmed, lower-case, bounded, with an `@`.
pub fn normalise_email(email: &str) -> Result<String, ApiError> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= MAX_EMAIL
        && e.chars()
            .all(|c| c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control()))
        && e.split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if !ok {
        return Err(ApiError::invalid("not an e-mail address"));
    }
    Ok(e)
}

/// The session cookie: `HttpOnly; Secure; SameSite=Strict`, for the whole
/// listener (API and console); an empty value with age 0 clears it.
pub fn session_cookie(value: &str, max_age_s: i64) -> HeaderValue {
    let c = cookie::Cookie::build((SESSION_COOKIE, value.to_string()))
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_s))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// Sign in with e-mail and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginReply, headers(("set-cookie" = String, description = "The session cookie"))),
              BadRequest, Unauthenticated, PayloadTooLarge, UnsupportedMediaType, Unprocessable, TooManyRequests))]
pub async fn login(
    State(state): State<AppState>,
    meta: Meta,
    Json(req): Json<LoginRequest>,
) -> ApiResult<Response> {
    let signed = sign_in(&state, &meta, &req.email, req.password).await?;
    let reply = LoginReply {
        user: me_of(&signed.principal),
        csrf_token: signed.csrf,
        expires_at: signed.expires_at,
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, signed.cookie);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((headers, axum::Json(reply)).into_response())
}

/// A new session.
#[derive(Debug)]
pub struct SignedIn {
    /// Who.
    pub principal: Principal,
    /// The `Set-Cookie` value carrying the session secret.
    pub cookie: HeaderValue,
    /// The session's CSRF token.
    pub csrf: String,
    /// When the session ends at the latest (Unix ms).
    pub expires_at: i64,
}

/// Check an e-mail address and password (throttled, audited) and start a
/// session: the one sign-in of the API and the console.
pub async fn sign_in(
    state: &AppState,
    meta: &Meta,
    email: &str,
    password_text: String,
) -> ApiResult<SignedIn> {
    let now = now_ms();
    let email = normalise_email(email)
        .map_err(|_| ApiError::unauthenticated("wrong e-mail address or password"))?;
    let ctx = meta.context(Actor::Anonymous, now);
    let store = &state.store;
    let email_key = secret::digest(&email);
    let Some(_attempt) = store
        .login_begin(&email_key, &meta.source, now, state.auth.throttle)
        .await?
    else {
        // Not audited: a flood of refused attempts must not grow the
        // append-only log (the failures that led here are in it).
        tracing::warn!(source = %meta.source, "Sign-in throttled.");
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "too many failed sign-ins; wait a few minutes",
        ));
    };
    let creds = store.credentials(&email).await?;
    // argon2 takes ~20 MiB and tens of milliseconds of CPU per check: a few
    // at a time, off the async workers, so a burst of sign-ins queues
    // instead of exhausting memory.
    let permit = VERIFICATIONS.acquire().await.map_err(ApiError::internal)?;
    let (ok, creds) = tokio::task::spawn_blocking(move || match &creds {
        Some(c) => (password::verify(&password_text, &c.password_hash), creds),
        None => {
            password::verify_nobody(&password_text);
            (false, None)
        }
    })
    .await
    .map_err(ApiError::internal)?;
    drop(permit);
    let creds = match creds {
        Some(c) if ok && !c.disabled => c,
        other => {
            let (user, reason) = match &other {
                None => (None, "unknown account"),
                Some(c) if c.disabled && ok => (Some(c.user_id), "account disabled"),
                Some(c) => (Some(c.user_id), "wrong password"),
            };
            store.login_failed(&ctx, user, &email_key, reason).await?;
            return Err(ApiError::unauthenticated(
                "wrong e-mail address or password",
            ));
        }
    };
    let (session, hash) = secret::new_secret();
    let ctx = meta.context(
        Actor::User {
            id: creds.user_id,
            email: creds.email.clone(),
        },
        now,
    );
    store
        .start_session(&ctx, creds.user_id, &email_key, &hash, state.auth.session)
        .await?;
    let csrf = secret::csrf_token(&session);
    let principal = store
        .session_principal(&hash, csrf.clone(), now, state.auth.session)
        .await?
        .ok_or_else(|| ApiError::internal("a new session did not resolve"))?;
    Ok(SignedIn {
        principal,
        cookie: session_cookie(&session, state.auth.session.absolute_ms / 1000),
        csrf,
        expires_at: now + state.auth.session.absolute_ms,
    })
}

/// End the current session and clear its cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, headers(("set-cookie" = String, description = "Clears the session cookie"))),
              Unauthenticated, Forbidden, Unprocessable),
    security(("session" = [])))]
pub async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<Response> {
    let Via::Session { session_id, .. } = auth.principal.via else {
        return Err(ApiError::invalid(
            "API tokens are not sessions: revoke the token instead",
        ));
    };
    state.store.end_session(&auth.context(), session_id).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie("", 0));
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

fn me_of(p: &crate::auth::Principal) -> Me {
    Me {
        id: p.user_id,
        email: p.email.clone(),
        admin: p.admin,
        via: match p.via {
            Via::Session { .. } => "session".into(),
            Via::Token { .. } => "token".into(),
        },
        grants: p
            .grants()
            .iter()
            .map(|g| MyGrant {
                tenant: g.tenant.clone(),
                role: g.role,
                auditor: g.auditor.clone(),
            })
            .collect(),
    }
}

/// The caller, with their effective grants.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = Me), Unauthenticated),
    security(("session" = []), ("token" = [])))]
pub async fn me(auth: Auth) -> axum::Json<Me> {
    axum::Json(me_of(&auth.principal))
}
