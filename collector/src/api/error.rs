//! API errors as RFC 9457 problem+json: a stable machine `code`, a human
//! message, and the request id. Internal failures say nothing about their
//! cause to the caller; they are logged once, here, with the request id the
//! caller sees, so an operator can find them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::Denied;
use crate::store::StoreError;

tokio::task_local! {
    /// The current request's id, set by [`super::request_id`] around each
    /// request so that errors can carry it.
    pub(crate) static REQUEST_ID: String;
}

/// A refusal or failure of an API request.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Logged, never sent.
    internal: Option<String>,
}

/// The problem document (RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:citadel:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary (the status's reason phrase).
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// What went wrong, for programs (stable).
    pub code: String,
    /// The request id, also in the `x-request-id` header.
    pub request_id: Option<String>,
}

impl ApiError {
    /// A refusal with `status` and stable `code`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            internal: None,
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 422 `invalid`: well-formed but unacceptable input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }

    /// 500 with a generic message; `detail` is logged only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "internal error; quote the request id when reporting it".into(),
            internal: Some(detail.to_string()),
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", "not found"),
            StoreError::Exists(what) => Self::new(
                StatusCode::CONFLICT,
                "exists",
                format!("{what} exists already"),
            ),
            StoreError::Stale => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "stale",
                "the object changed since you read it; read it again and retry",
            ),
            StoreError::Refused(why) => Self::new(StatusCode::CONFLICT, "refused", why),
            StoreError::Invalid(why) => Self::invalid(why),
            StoreError::Db(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed) => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "unavailable",
                message: "the collector is busy; retry later".into(),
                internal: Some(e.to_string()),
            },
            other => Self::internal(other),
        }
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::UnknownTenant => Self::new(StatusCode::NOT_FOUND, "not_found", d.to_string()),
            Denied::Role => Self::new(StatusCode::FORBIDDEN, "forbidden", d.to_string()),
            Denied::AdminOnly => Self::new(StatusCode::FORBIDDEN, "admin_only", d.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = REQUEST_ID.try_with(Clone::clone).ok();
        if let Some(internal) = &self.internal {
            tracing::error!(
                request_id = request_id.as_deref().unwrap_or("-"),
                error = %internal,
                "API request failed."
            );
        }
        let body = Problem {
            kind: format!("urn:citadel:problem:{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.message,
            code: self.code.to_string(),
            request_id,
        };
        let failure = Failure {
            status: self.status,
            code: self.code,
            message: body.detail.clone(),
            request_id: body.request_id.clone(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.extensions_mut().insert(failure);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A refusal or failure as the response carries it, beside its problem+json
/// body, so that the console can render the same error as a page.
#[derive(Debug, Clone)]
pub struct Failure {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// The message the caller may see.
    pub message: String,
    /// The request id.
    pub request_id: Option<String>,
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;
