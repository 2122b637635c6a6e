//! The web console: server-rendered HTML pages for operators and auditors,
//! on the API listener beside `/api/v1`.
//!
//! The console is another face of the API, not a second way into the data:
//! its handlers use the same guard ([`crate::api::tenant`], `Principal`) and
//! the same store functions as the API's, and its errors are the API's
//! errors rendered as pages ([`page_errors`]). Pages are built with maud,
//! which escapes every value it splices in, so text from agents, plugins and
//! users is inert. There is no JavaScript at all: links and forms, with a
//! strict Content-Security-Policy that would refuse a script anyway.
//!
//! Sign-in is the session cookie of `/api/v1/auth/login` (the console does
//! not take API tokens). GET handlers take [`Console`]; every state change
//! is a POST form taken by [`ConsoleForm`], which checks the session's CSRF
//! token (a hidden field) and refuses a cross-origin `Origin`.

pub mod admin;
pub mod assets;
pub mod audit;
pub mod chart;
pub mod controls;
pub mod evidence;
pub mod findings;
pub mod fleet;
pub mod frameworks;
pub mod layout;
pub mod login;
pub mod overview;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::de::DeserializeOwned;

use crate::api::error::{ApiError, Failure, REQUEST_ID};
use crate::api::extract::{Auth, check_csrf, session_auth};
use crate::auth::{Need, TenantAccess};
use crate::http::AppState;

/// The Content-Security-Policy of every console page: nothing but our own
/// stylesheet and images (inline SVG needs no source), no scripts, no
/// framing, forms only to ourselves.
pub const CSP: &str = "default-src 'none'; base-uri 'none'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'";

/// The console's stylesheet (one file per page family, served as one).
const CSS: &str = concat!(
    include_str!("../static/console.css"),
    include_str!("../static/console-findings.css"),
    include_str!("../static/console-compliance.css"),
    include_str!("../static/console-review.css"),
);

/// A signed-in user viewing a console page (GET only; changes go through
/// [`ConsoleForm`]).
#[derive(Debug, Clone)]
pub struct Console {
    /// The caller, as the API sees them.
    pub auth: Auth,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
    /// The request path and query, to come back to after an action.
    pub here: String,
}

impl Console {
    /// The caller's access to tenant `name` for `need` (404 / 403 as in the API).
    pub async fn tenant(
        &self,
        state: &AppState,
        name: &str,
        need: Need,
    ) -> Result<TenantAccess, ApiError> {
        crate::api::tenant(state, &self.auth, name, need).await
    }
}

impl FromRequestParts<AppState> for Console {
    type Rejection = ApiError;

    #[tracing::instrument(level = "debug", skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Fail closed: a handler that changes state must read its form
        // through `ConsoleForm`, which checks the CSRF token.
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "console pages are read with GET",
            ));
        }
        let (auth, csrf) = session_auth(parts, state).await?;
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        Ok(Self { auth, csrf, here })
    }
}

/// A console form posted by a signed-in user: the session is checked, then
/// the Origin and the form's `csrf` field, then the rest of the form is
/// parsed into `T` (unknown fields are the form's business: use
/// `deny_unknown_fields` where it matters).
#[derive(Debug)]
pub struct ConsoleForm<T> {
    /// The caller.
    pub console: Console,
    /// The form, without its `csrf` field.
    pub form: T,
}

/// Largest console form (a comment or a set of notes).
const MAX_FORM: usize = 32 << 10;

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ConsoleForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        if req_content_type(&parts) != Some("application/x-www-form-urlencoded") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "console forms are application/x-www-form-urlencoded",
            ));
        }
        let (auth, csrf) = session_auth(&parts, state).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the form is too large",
            )
        })?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| ApiError::bad_request("the form does not parse"))?;
        let presented = fields
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        check_csrf(&parts, presented, &csrf)?;
        if fields.iter().any(|(_, v)| {
            v.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        }) {
            return Err(ApiError::bad_request("control characters are not allowed"));
        }
        let rest: Vec<&(String, String)> = fields.iter().filter(|(k, _)| k != "csrf").collect();
        let encoded = serde_urlencoded::to_string(rest)
            .map_err(|_| ApiError::bad_request("the form does not parse"))?;
        let form = serde_urlencoded::from_str(&encoded)
            .map_err(|e| ApiError::invalid(format!("the form is incomplete or wrong: {e}")))?;
        let here = parts
            .headers
            .get(header::REFERER)
            .and_then(|r| r.to_str().ok())
            .and_then(local_path)
            .unwrap_or_else(|| parts.uri.path().to_string());
        Ok(Self {
            console: Console { auth, csrf, here },
            form,
        })
    }
}

fn req_content_type(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::CONTENT_TYPE)?
        .to_str()
        .ok()?
        .split(';')
        .next()
        .map(str::trim)
}

/// The path and query of a same-site URL (`https://host/x?y` or `/x?y`),
/// never another site's: the only targets the console redirects to.
pub fn local_path(url: &str) -> Option<String> {
    let path = match url.split_once("://") {
        Some((_, rest)) => &rest[rest.find('/')?..],
        None => url,
    };
    let safe = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control);
    safe.then(|| path.to_string())
}

/// After a change: back to `to` (see other, so a reload does not post again).
pub fn back(to: &str) -> Response {
    Redirect::to(&local_path(to).unwrap_or_else(|| "/".into())).into_response()
}

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(login::home))
        .route("/static/console.css", get(stylesheet))
        .merge(login::routes())
        .merge(overview::routes())
        .merge(frameworks::routes())
        .merge(controls::routes())
        .merge(findings::routes())
        .merge(assets::routes())
        .merge(evidence::routes())
        .merge(fleet::routes())
        .merge(audit::routes())
        .merge(admin::routes())
        .layer(middleware::from_fn(page_errors))
        .layer(middleware::from_fn(security_headers))
}

/// Any path that is no route: a page for browsers (they ask for HTML),
/// problem+json for everyone else and under `/api/`.
pub async fn not_found(req: Request) -> Response {
    let path = req.uri().path();
    let browser = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !browser || path.starts_with("/api/") || path.starts_with("/v1/") {
        return crate::api::not_found().await.into_response();
    }
    let f = Failure {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: "there is no such page".into(),
        request_id: REQUEST_ID.try_with(Clone::clone).ok(),
    };
    let mut page = (StatusCode::NOT_FOUND, layout::error_page(&f)).into_response();
    let h = page.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    page
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// Errors of console routes are the API's errors (see [`Failure`]) shown as
/// a page; "not signed in" is a redirect to the sign-in page that comes back.
async fn page_errors(req: Request, next: Next) -> Response {
    let here = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let res = next.run(req).await;
    let Some(failure) = res.extensions().get::<Failure>().cloned() else {
        return res;
    };
    if failure.status == StatusCode::UNAUTHORIZED && failure.code == "unauthenticated" {
        let next = serde_urlencoded::to_string([("next", here.as_str())]).unwrap_or_default();
        return Redirect::to(&format!("/login?{next}")).into_response();
    }
    let mut page = (failure.status, layout::error_page(&failure)).into_response();
    if let Some(allow) = res.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    page
}

/// Every console response: the CSP, no framing, no sniffing, no referrer
/// beyond our origin, and pages are never cached (they show private data).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=63072000"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests;
