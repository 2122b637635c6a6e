//! Sign-in, sign-out and the start page.

use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::html;
use serde::Deserialize;

use super::layout::{self, Page};
use super::{Console, ConsoleForm, local_path};
use crate::api::error::ApiError;
use crate::api::extract::{Meta, Query, cross_origin};
use crate::api::session::{session_cookie, sign_in};
use crate::auth::Via;
use crate::http::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

/// Where to go after signing in.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
    error: Option<String>,
}

/// `/`: the first tenant's overview, or the sign-in page.
pub async fn home(State(state): State<AppState>, c: Result<Console, ApiError>) -> Response {
    let Ok(c) = c else {
        return Redirect::to("/login").into_response();
    };
    let p = &c.auth.principal;
    let first = match p.grants().first() {
        Some(g) => Some(g.tenant.clone()),
        None if p.admin => state
            .store
            .tenants()
            .await
            .ok()
            .and_then(|t| t.into_iter().next().map(|t| t.name)),
        None => None,
    };
    match first {
        Some(t) => Redirect::to(&format!("/t/{}", layout::segment(&t))).into_response(),
        None if p.admin => Redirect::to("/admin/users").into_response(),
        None => Redirect::to("/admin/tokens").into_response(),
    }
}

async fn login_page(Query(q): Query<Next>) -> Page {
    let next = q.next.as_deref().and_then(local_path).unwrap_or_default();
    let message = match q.error.as_deref() {
        Some("throttled") => Some("Too many failed sign-ins. Wait a few minutes and try again."),
        Some("ended") => Some("Your session has ended. Sign in again."),
        Some(_) => Some("Wrong e-mail address or password."),
        None => None,
    };
    Ok(layout::bare(
        "Sign in",
        html! {
            form.card.login method="post" action="/login" {
                @if let Some(m) = message { p.alert #login-error role="alert" { (m) } }
                input type="hidden" name="next" value=(next);
                label for="email" { "E-mail address" }
                input #email type="email" name="email" autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button #sign-in type="submit" { "Sign in" }
            }
        },
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn login(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    // A sign-in form posted from another site is refused (login CSRF).
    if cross_origin(&parts) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "cross-origin sign-in refused",
        ));
    }
    let meta = Meta::from_parts(&parts);
    let req = Request::from_parts(parts, body);
    let axum::Form(form): axum::Form<LoginForm> = axum::Form::from_request(req, &state)
        .await
        .map_err(|_| ApiError::bad_request("the sign-in form does not parse"))?;
    let next = local_path(&form.next)
        .filter(|n| !n.starts_with("/login"))
        .unwrap_or_else(|| "/".into());
    match sign_in(&state, &meta, &form.email, form.password).await {
        Ok(signed) => {
            let mut headers = HeaderMap::new();
            headers.insert(header::SET_COOKIE, signed.cookie);
            Ok((headers, Redirect::to(&next)).into_response())
        }
        Err(e) if e.status() == StatusCode::TOO_MANY_REQUESTS => {
            Ok(Redirect::to(&retry(&next, "throttled")).into_response())
        }
        Err(e) if e.status() == StatusCode::UNAUTHORIZED => {
            Ok(Redirect::to(&retry(&next, "wrong")).into_response())
        }
        Err(e) => Err(e),
    }
}

fn retry(next: &str, error: &str) -> String {
    let q = serde_urlencoded::to_string([("next", next), ("error", error)]).unwrap_or_default();
    format!("/login?{q}")
}

/// The sign-out form has no fields but the CSRF token.
#[derive(Debug, Deserialize)]
pub struct Nothing {}

async fn logout(
    State(state): State<AppState>,
    ConsoleForm { console, .. }: ConsoleForm<Nothing>,
) -> Result<Response, ApiError> {
    if let Via::Session { session_id, .. } = console.auth.principal.via {
        state
            .store
            .end_session(&console.auth.context(), session_id)
            .await?;
    }
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie("", 0));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((headers, Redirect::to("/login")).into_response())
}
