//! Extractors for API handlers. Ours reject with [`ApiError`] (problem+json
//! with a code) instead of axum's plain-text rejections; `clippy.toml` bans
//! the axum originals in handlers for that reason.
//!
//! [`Auth`] is the one way a handler learns who is calling: it reads an
//! `Authorization: Bearer` API token, or else the session cookie, never logs
//! either, and checks CSRF for cookie-authenticated state changes. What the
//! caller may do is decided by the guard (`Principal::tenant`), not here.

use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::error::ApiError;
use crate::audit::{Actor, Context};
use crate::auth::{Principal, Via, secret};
use crate::http::AppState;
use crate::store::now_ms;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "citadel_session";
/// Header carrying the CSRF token on cookie-authenticated state changes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The TCP peer of the connection a request came on (set by the listener).
#[derive(Debug, Clone, Copy)]
pub struct RemoteAddr(pub SocketAddr);

/// A JSON body, rejected as problem+json: 415 `unsupported_media_type`
/// without a JSON content type, 413 `payload_too_large` over the listener's
/// body limit, 400 `invalid_json` for malformed JSON and 422 `invalid_json`
/// for JSON of the wrong shape. Strings holding U+0000 are refused too:
/// PostgreSQL cannot store them in text, and no field of ours needs one.
/// The body must be a JSON object.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .is_some_and(|m| m == "application/json" || m.ends_with("+json"));
        if !json_type {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                let status = r.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "payload_too_large"
                } else {
                    "bad_request"
                };
                ApiError::new(status, code, r.body_text())
            })?;
        if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "strings must not contain U+0000",
            ));
        }
        serde_json::from_slice::<Object<T>>(&bytes)
            .map(|Object(v)| Self(v))
            .map_err(|e| {
                let status = if e.is_data() {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::BAD_REQUEST
                };
                ApiError::new(status, "invalid_json", format!("malformed JSON body: {e}"))
            })
    }
}

/// Whether the request's decoded path or query holds a control character
/// (a NUL reaching PostgreSQL as text is an error, and no id or filter of
/// ours has one).
fn has_control(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                i += 2;
                u8::from_str_radix(hex, 16).unwrap_or(b'x')
            }
            b => b,
        };
        if b < 0x20 || b == 0x7f {
            return true;
        }
        i += 1;
    }
    false
}

/// `T` read from a JSON object only. serde also reads a struct from an
/// array of its fields in order, so `[null, null]` was a valid patch and
/// `["acme"]` a new tenant (schemathesis found this): bodies are objects,
/// as documented.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fields<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(Fields(PhantomData))
            .map(Object)
    }
}

/// Query parameters, rejected as 400 `invalid_query`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if has_control(parts.uri.query().unwrap_or("")) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "query parameters must not contain control characters",
            ));
        }
        #[allow(clippy::disallowed_types)]
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|r| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", r.body_text()))
    }
}

/// Path parameters, rejected as 400 `invalid_path`; so are parameters with
/// control characters, which no name or id of ours has (and PostgreSQL
/// refuses NUL in text: it would be a 500 further in).
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", m);
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|r| invalid(r.body_text()))?;
        if let Some((name, _)) = raw
            .iter()
            .find(|(_, value)| value.chars().any(char::is_control))
        {
            return Err(invalid(format!("{name} holds control characters")));
        }
        #[allow(clippy::disallowed_types)]
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Self(v))
            .map_err(|r| invalid(r.body_text()))
    }
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone)]
pub struct Meta {
    /// Request id.
    pub request_id: Option<String>,
    /// Peer address (IP only).
    pub source: String,
    /// User agent, printable ASCII, at most 256 characters.
    pub user_agent: Option<String>,
}

/// Longest user agent kept.
const MAX_USER_AGENT: usize = 256;

impl Meta {
    /// From the request's headers and connection.
    pub fn from_parts(parts: &Parts) -> Self {
        let source = parts
            .extensions
            .get::<RemoteAddr>()
            .map_or_else(|| "unknown".to_string(), |a| a.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                s.chars()
                    .filter(|c| c.is_ascii_graphic() || *c == ' ')
                    .take(MAX_USER_AGENT)
                    .collect()
            });
        Self {
            request_id: super::error::REQUEST_ID.try_with(Clone::clone).ok(),
            source,
            user_agent,
        }
    }

    /// An audit context for `actor` at `at`.
    pub fn context(&self, actor: Actor, at: i64) -> Context {
        Context {
            actor,
            request_id: self.request_id.clone(),
            source: Some(self.source.clone()),
            user_agent: self.user_agent.clone(),
            at,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth {
    /// Who, with their effective grants.
    pub principal: Principal,
    /// From where.
    pub meta: Meta,
    /// Time of the request (Unix ms): one clock reading per request.
    pub now: i64,
}

impl Auth {
    /// The audit context of a change this caller makes.
    pub fn context(&self) -> Context {
        let actor = match self.principal.via {
            Via::Session { .. } => Actor::User {
                id: self.principal.user_id,
                email: self.principal.email.clone(),
            },
            Via::Token { token_id, .. } => Actor::Token {
                id: token_id,
                email: self.principal.email.clone(),
            },
        };
        self.meta.context(actor, self.now)
    }
}

/// The session secret in the request's cookies, if any.
pub fn session_secret(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    // Never record arguments: they hold the credentials.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let meta = Meta::from_parts(parts);
        let now = now_ms();
        let store = &state.store;
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| secret::plausible(t))
                .ok_or_else(|| ApiError::unauthenticated("malformed Authorization header"))?;
            let principal = store
                .token_principal(&secret::digest(token), now)
                .await?
                .ok_or_else(|| {
                    ApiError::unauthenticated("the API token is unknown, expired or revoked")
                })?;
            return Ok(Self {
                principal,
                meta,
                now,
            });
        }
        let (auth, csrf) = session_auth(parts, state).await?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| csrf_refusal("missing x-csrf-token header"))?;
            check_csrf(parts, presented, &csrf)?;
        }
        Ok(auth)
    }
}

/// The caller of a request signed in with the session cookie (API tokens
/// are not looked at), with the session's CSRF token. The caller checks the
/// token on state changes ([`check_csrf`]).
pub async fn session_auth(parts: &Parts, state: &AppState) -> Result<(Auth, String), ApiError> {
    let meta = Meta::from_parts(parts);
    let now = now_ms();
    let Some(session) = session_secret(parts).filter(|s| secret::plausible(s)) else {
        return Err(ApiError::unauthenticated(
            "sign in (POST /api/v1/auth/login) or send an API token",
        ));
    };
    let csrf = secret::csrf_token(&session);
    let principal = state
        .store
        .session_principal(
            &secret::digest(&session),
            csrf.clone(),
            now,
            state.auth.session,
        )
        .await?
        .ok_or_else(|| ApiError::unauthenticated("the session has ended; sign in again"))?;
    let auth = Auth {
        principal,
        meta,
        now,
    };
    Ok((auth, csrf))
}

fn csrf_refusal(why: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "csrf", why.to_string())
}

/// Cookie-authenticated state changes must carry the session's CSRF token
/// (`presented`: a cross-site form cannot read it), and a cross-origin
/// `Origin` is refused outright.
pub fn check_csrf(parts: &Parts, presented: &str, expected: &str) -> Result<(), ApiError> {
    let refuse = csrf_refusal;
    if cross_origin(parts) {
        return Err(refuse("cross-origin request refused"));
    }
    if !secret::same(presented, expected) {
        return Err(refuse("wrong CSRF token"));
    }
    Ok(())
}

/// Whether the request carries an `Origin` other than its own host.
pub fn cross_origin(parts: &Parts) -> bool {
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()));
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, h)| h);
        return host.is_none() || origin_host != host;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_raw_and_percent_encoded() {
        for bad in ["a%00b", "%0a", "x%7F", "%1f", "tab\there"] {
            assert!(has_control(bad), "{bad}");
        }
        for good in ["acme", "a%20b", "%41%42", "100%", "%zz", "caf%C3%A9"] {
            assert!(!has_control(good), "{good}");
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: String,
        ttl: Option<i64>,
    }

    #[test]
    fn bodies_are_objects() {
        let read = |s: &str| serde_json::from_str::<Object<Body>>(s).map(|o| o.0);
        assert_eq!(
            read(r#"{"name": "acme"}"#).unwrap(),
            Body {
                name: "acme".into(),
                ttl: None
            }
        );
        for bad in [
            r#"["acme", null]"#,
            r#""acme""#,
            "null",
            r#"{"name": "a", "name": "b"}"#,
            r#"{"name": "a", "other": 1}"#,
            r#"{}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
