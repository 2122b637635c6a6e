//! The problem+json responses of the OpenAPI document, one type per status,
//! for `responses(...)` in `#[utoipa::path]`. Each carries the [`Problem`]
//! body under its real content type, `application/problem+json` (a plain
//! `body = Problem` would be documented as `application/json`), and a
//! description naming the codes it stands for, so that a handler's list of
//! statuses stays one short line.
//!
//! Which of them an operation needs follows from its extractors:
//! `Auth` → [`Unauthenticated`] (and [`Forbidden`] for cookie-authenticated
//! changes without their CSRF token), `Path`/`Query` → [`BadRequest`],
//! `Json` → [`BadRequest`], [`PayloadTooLarge`], [`UnsupportedMediaType`],
//! [`Unprocessable`]; `api::tests` checks that. Server errors (5XX) are added
//! to every operation by [`ServerErrors`].

use utoipa::IntoResponses;
use utoipa::openapi::OpenApi;

use super::error::Problem;

/// The media type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Malformed request: a path or query parameter that does not parse
/// (`invalid_path`, `invalid_query`), a body that is not JSON
/// (`invalid_json`), a bad page `limit` or `cursor` (`bad_limit`,
/// `bad_cursor`).
#[derive(IntoResponses)]
#[response(status = 400, content_type = "application/problem+json")]
pub struct BadRequest(pub Problem);

/// No valid credentials (`unauthenticated`): no session cookie or API
/// token, or one that is unknown, expired or revoked.
#[derive(IntoResponses)]
#[response(status = 401, content_type = "application/problem+json",
    headers(("www-authenticate" = String, description = "`Bearer`")))]
pub struct Unauthenticated(pub Problem);

/// Not allowed: the caller's role does not cover this (`forbidden`,
/// `admin_only`), or a cookie-authenticated change came without its CSRF
/// token or from another origin (`csrf`).
#[derive(IntoResponses)]
#[response(status = 403, content_type = "application/problem+json")]
pub struct Forbidden(pub Problem);

/// No such object, or a tenant the caller has no grant on (`not_found`).
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub struct NotFound(pub Problem);

/// The object exists already (`exists`), or its state refuses the change
/// (`refused`, e.g. revoked already).
#[derive(IntoResponses)]
#[response(status = 409, content_type = "application/problem+json")]
pub struct Conflict(pub Problem);

/// The object changed since it was read: its ETag no longer matches
/// `If-Match` (`stale`).
#[derive(IntoResponses)]
#[response(status = 412, content_type = "application/problem+json")]
pub struct PreconditionFailed(pub Problem);

/// An edit came without `If-Match` (`precondition_required`).
#[derive(IntoResponses)]
#[response(status = 428, content_type = "application/problem+json")]
pub struct PreconditionRequired(pub Problem);

/// The body is larger than the API accepts (`payload_too_large`).
#[derive(IntoResponses)]
#[response(status = 413, content_type = "application/problem+json")]
pub struct PayloadTooLarge(pub Problem);

/// The body is not sent as `Content-Type: application/json`
/// (`unsupported_media_type`).
#[derive(IntoResponses)]
#[response(status = 415, content_type = "application/problem+json")]
pub struct UnsupportedMediaType(pub Problem);

/// Well-formed but unacceptable: a JSON body that does not fit the schema
/// (`invalid_json`), or values out of bounds (`invalid`).
#[derive(IntoResponses)]
#[response(status = 422, content_type = "application/problem+json")]
pub struct Unprocessable(pub Problem);

/// Too many failed attempts; wait and retry (`throttled`).
#[derive(IntoResponses)]
#[response(status = 429, content_type = "application/problem+json")]
pub struct TooManyRequests(pub Problem);

/// The collector failed (`internal`: quote the request id when reporting
/// it) or is too busy (`unavailable`: retry later).
#[derive(IntoResponses)]
#[response(status = "5XX", content_type = "application/problem+json")]
pub struct ServerError(pub Problem);

/// Any operation can fail on the server's side: document that once, for all.
pub struct ServerErrors;

impl utoipa::Modify for ServerErrors {
    fn modify(&self, doc: &mut OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                for (status, response) in ServerError::responses() {
                    op.responses.responses.entry(status).or_insert(response);
                }
            }
        }
    }
}
