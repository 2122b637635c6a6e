//! HTTP routes. Two routers, served on two listeners:
//! - **ingest** (mTLS, client certificate required): `POST /v1/batches`,
//!   `POST /v1/heartbeat` (the agent is alive with nothing new to send);
//! - **api** (server-authenticated TLS): `POST /v1/enroll`, `GET /healthz`.
//!
//! Errors are JSON `{"error": "…", "code": "…"}`: a human message (bounded,
//! never an unbounded echo of the request) and a stable machine code, with a
//! status that tells the agent whether to retry (5xx, 408, 413 smaller, 429
//! after `Retry-After`) or give up on the request (other 4xx).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tower_http::trace::TraceLayer;

use crate::api::extract::RemoteAddr;
use crate::catalog::Catalog;
use crate::ingest::{self, IngestError};
use crate::limits::retry_after_secs;
use crate::pki::{Authority, PeerAgent};
use crate::store::{EnrollFailure, IngestOutcome, IngestSummary, Store};

/// Largest request body on the API listener: an enrollment request (a CSR
/// and a hostname) or an API edit.
pub(crate) const MAX_API_BYTES: usize = 64 << 10;

/// Shared by all handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Database.
    pub store: Store,
    /// CA for enrollment.
    pub ca: Arc<Authority>,
    /// Ingest URL handed to new agents.
    pub public_ingest_url: String,
    /// The compliance catalog used by the mapping stage.
    pub catalog: Arc<Catalog>,
    /// Enrollment URL handed out with new enrollment tokens.
    pub public_api_url: String,
    /// Session lifetimes and login throttling.
    pub auth: AuthSettings,
    /// Sizes, timeouts and rates (`[limits]`), and the revoked agents.
    pub guard: crate::limits::Guard,
}

/// Sign-in settings, from `[auth]` in collector.toml.
#[derive(Debug, Clone, Copy)]
pub struct AuthSettings {
    /// Session lifetimes.
    pub session: crate::store::SessionPolicy,
    /// Login throttling.
    pub throttle: crate::store::ThrottlePolicy,
}

/// The identity a TLS connection presented, attached to each of its requests.
#[derive(Debug, Clone)]
pub struct PeerIdentity(pub Result<PeerAgent, String>);

/// A refusal, rendered as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

/// Longest message sent back or logged: messages may quote the request.
const MAX_MESSAGE_CHARS: usize = 300;

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        let mut message: String = message.into();
        if message.chars().count() > MAX_MESSAGE_CHARS {
            message = message.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
        }
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message,
            retry_after: None,
        }
    }

    /// 429 `rate_limited`, with how long to wait.
    fn rate_limited(wait: Duration, what: &str) -> Self {
        let secs = retry_after_secs(wait);
        let mut e = Self::new(
            429,
            "rate_limited",
            format!("too many {what}; retry in {secs} s"),
        );
        e.retry_after = Some(secs);
        e
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(serde_json::json!({ "error": self.message, "code": self.code })),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        res
    }
}

/// Routes served over mTLS to enrolled agents.
pub fn ingest_router(state: AppState) -> Router {
    Router::new()
        .route("/v1/batches", post(post_batch))
        .route("/v1/heartbeat", post(post_heartbeat))
        .route("/healthz", get(healthz))
        .fallback(ingest_not_found)
        .method_not_allowed_fallback(ingest_method_not_allowed)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn ingest_not_found() -> ApiError {
    ApiError::new(404, "not_found", "no such route on the ingest listener")
}

async fn ingest_method_not_allowed() -> ApiError {
    ApiError::new(405, "method_not_allowed", "method not allowed here")
}

/// Routes served over server-authenticated TLS: enrollment and the REST API.
pub fn api_router(state: AppState) -> Router {
    let timeout = state.guard.api_request_timeout;
    Router::new()
        .route("/v1/enroll", post(post_enroll))
        .route("/healthz", get(healthz))
        .merge(crate::api::router())
        .merge(crate::console::router())
        .fallback(crate::console::not_found)
        .layer(DefaultBodyLimit::max(MAX_API_BYTES))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                api_deadline(timeout, req, next)
            },
        ))
        .layer(axum::middleware::from_fn(crate::api::request_id))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// An API request, its body included, ends after `timeout` with 408 and a
/// problem document (a slow body holds a connection; headers have their own
/// limit in the server). A middleware rather than tower-http's timeout layer
/// so the refusal carries a code like every other.
async fn api_deadline(
    timeout: Duration,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => crate::api::error::ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request took longer than {} s", timeout.as_secs()),
        )
        .into_response(),
    }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Reply to `POST /v1/batches`.
#[derive(Debug, Serialize, Deserialize)]
pub struct BatchReply {
    /// Batch id.
    pub batch_id: String,
    /// `accepted` or `duplicate`.
    pub status: String,
    /// Counts.
    pub summary: IngestSummary,
}

async fn post_batch(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BatchReply>, ApiError> {
    let peer = peer.0.map_err(|e| ApiError::new(403, "no_identity", e))?;
    batch_content_type(&headers)?;
    // Who is sending, and whether they may, before a byte of the body is read.
    let agent = ingest::authorize(&state.store, &peer)
        .await
        .map_err(|e| refused(&peer.agent_id, &e))?;
    state
        .guard
        .agent_rate
        .check(&agent.id)
        .map_err(|wait| ApiError::rate_limited(wait, "batches from this agent"))?;
    let body = read_body(
        body,
        &headers,
        state.guard.max_batch_bytes,
        state.guard.ingest_body_timeout,
    )
    .await?;
    let result = ingest::ingest(
        &state.store,
        &state.catalog,
        &peer,
        body,
        &state.guard.parts,
    )
    .await;
    match result {
        Ok((batch, outcome)) => {
            let (status, summary) = match outcome {
                IngestOutcome::Accepted(s) => ("accepted", s),
                IngestOutcome::Duplicate(s) => ("duplicate", s),
            };
            tracing::info!(
                agent = %peer.agent_id, batch = %batch.batch_id, status,
                assets = batch.assets.len(), results = summary.results,
                "Batch received."
            );
            // Bounded by validation: at most 64 short, printable-escaped lines.
            for i in &batch.incidents {
                tracing::warn!(
                    agent = %peer.agent_id, batch = %batch.batch_id, kind = %i.kind,
                    at = i.at, message = ?i.message, "Agent reported an incident."
                );
            }
            Ok(Json(BatchReply {
                batch_id: batch.batch_id.to_string(),
                status: status.into(),
                summary,
            }))
        }
        Err(e) => Err(refused(&peer.agent_id, &e)),
    }
}

/// Log a refusal once and turn it into a reply.
fn refused(agent: &str, e: &IngestError) -> ApiError {
    let status = e.http_status();
    let agent: String = agent.chars().take(120).collect();
    if status >= 500 {
        tracing::error!(%agent, error = %e, "Batch not stored.");
        ApiError::new(
            status,
            e.code(),
            "the collector cannot store batches right now; retry later",
        )
    } else {
        let reply = ApiError::new(status, e.code(), refusal(e));
        tracing::warn!(%agent, code = e.code(), error = %reply.message, "Batch refused.");
        reply
    }
}

/// Batches are COSE: `application/cose` (RFC 9052) or raw bytes; a request
/// that says it carries anything else is refused before its body is read.
fn batch_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/cose" | "application/octet-stream") => Ok(()),
        _ => Err(ApiError::new(
            415,
            "unsupported_media_type",
            "batches are sent as application/cose",
        )),
    }
}

/// Read a request body of at most `max` bytes within `timeout`.
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    max: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    let too_large = || {
        ApiError::new(
            413,
            "too_large",
            format!(
                "the request body is larger than {max} bytes; a batch must be split into parts"
            ),
        )
    };
    // A declared length over the limit is refused without reading.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(body, max);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Err(_) => Err(ApiError::new(
            408,
            "request_timeout",
            format!(
                "the request body did not arrive within {} s",
                timeout.as_secs()
            ),
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => Err(ApiError::new(
            400,
            "body_incomplete",
            "the request body could not be read to its end",
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// Reply to `POST /v1/heartbeat`.
#[derive(Debug, Serialize, Deserialize)]
pub struct HeartbeatReply {
    /// The agent the certificate names.
    pub agent_id: String,
    /// The contact time recorded, Unix ms.
    pub seen_at: i64,
}

/// A heartbeat carries no body: the client certificate is the whole message.
async fn post_heartbeat(
    State(state): State<AppState>,
    Extension(peer): Extension<PeerIdentity>,
) -> Result<Json<HeartbeatReply>, ApiError> {
    let peer = peer.0.map_err(|e| ApiError::new(403, "no_identity", e))?;
    match ingest::heartbeat(&state.store, &peer).await {
        Ok(seen_at) => {
            tracing::debug!(agent = %peer.agent_id, "Heartbeat.");
            Ok(Json(HeartbeatReply {
                agent_id: peer.agent_id,
                seen_at,
            }))
        }
        Err(e) => {
            let code = e.http_status();
            if code >= 500 {
                tracing::error!(agent = %peer.agent_id, error = %e, "Heartbeat not recorded.");
                Err(ApiError::new(
                    code,
                    e.code(),
                    "the collector cannot record heartbeats right now",
                ))
            } else {
                let reply = ApiError::new(code, e.code(), format!("heartbeat refused: {e}"));
                tracing::warn!(agent = %peer.agent_id, code = e.code(), error = %reply.message, "Heartbeat refused.");
                Err(reply)
            }
        }
    }
}

fn refusal(e: &IngestError) -> String {
    format!("batch refused: {e}")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollRequest {
    token: String,
    csr_pem: String,
    hostname: String,
}

/// Reply to `POST /v1/enroll`.
#[derive(Debug, Serialize, Deserialize)]
pub struct EnrollReply {
    /// New agent id.
    pub agent_id: String,
    /// Tenant name.
    pub tenant: String,
    /// Client certificate, PEM.
    pub certificate_pem: String,
    /// Collector CA, PEM.
    pub ca_pem: String,
    /// Where to push batches.
    pub ingest_url: String,
}

async fn post_enroll(
    State(state): State<AppState>,
    remote: Option<Extension<RemoteAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<EnrollReply>, ApiError> {
    // Per source address: guessing tokens costs time, and an address that
    // floods enrollment does not hold the way for others for long.
    let source = remote.map_or_else(|| "-".to_string(), |Extension(r)| r.0.ip().to_string());
    state
        .guard
        .enroll_rate
        .check(&source)
        .map_err(|wait| ApiError::rate_limited(wait, "enrollment attempts from this address"))?;
    let body = read_body(
        body,
        &headers,
        MAX_API_BYTES,
        state.guard.api_request_timeout,
    )
    .await?;
    let req: EnrollRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            400,
            "malformed",
            format!("malformed enrollment request: {e}"),
        )
    })?;
    let hostname = req.hostname.trim();
    if hostname.is_empty() || hostname.len() > 253 || hostname.chars().any(char::is_control) {
        return Err(ApiError::new(
            400,
            "invalid_hostname",
            "hostname must be 1–253 printable characters",
        ));
    }
    let secret_hash = token_secret_hash(&req.token, &state.ca.fingerprint())?;
    // A few enrollments at once: each holds a database connection for its
    // transaction, and ingest needs the others. The rest wait here, holding
    // none, until their request's deadline.
    let _slot = state
        .guard
        .enroll_slots
        .acquire()
        .await
        .map_err(|_| ApiError::new(503, "unavailable", "the collector is shutting down"))?;
    let agent_id = format!("agt-{}", uuid::Uuid::now_v7());
    let ca = state.ca.clone();
    let issued = state
        .store
        .enroll_agent(&secret_hash, &agent_id, hostname, || {
            ca.issue_agent(&req.csr_pem, &agent_id, hostname)
                .map(|i| (i.certificate_pem, i.public_key))
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "Enrollment failed.");
            ApiError::new(
                503,
                "unavailable",
                "the collector cannot enroll agents right now; retry later",
            )
        })?;
    match issued {
        Ok((agent, certificate_pem)) => {
            tracing::info!(agent = %agent.id, tenant = %agent.tenant, hostname, "Agent enrolled.");
            Ok(Json(EnrollReply {
                agent_id: agent.id,
                tenant: agent.tenant,
                certificate_pem,
                ca_pem: state.ca.ca_pem.clone(),
                ingest_url: state.public_ingest_url.clone(),
            }))
        }
        Err(EnrollFailure::Token(problem)) => {
            tracing::warn!(%problem, "Enrollment refused.");
            Err(ApiError::new(403, problem.code(), problem.to_string()))
        }
        Err(EnrollFailure::Issue(e)) => Err(ApiError::new(400, "bad_csr", e.to_string())),
    }
}

/// Check a token's shape and CA pin; returns the hex SHA-256 of its secret,
/// which is all the database keeps.
fn token_secret_hash(token: &str, ca_fingerprint: &[u8; 32]) -> Result<String, ApiError> {
    let mut parts = token.trim().splitn(3, '_');
    let (Some("ctk1"), Some(pin), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ApiError::new(
            400,
            "malformed_token",
            "malformed enrollment token",
        ));
    };
    if pin != hex::encode(ca_fingerprint) {
        return Err(ApiError::new(
            403,
            "foreign_token",
            "the enrollment token was issued by a different collector",
        ));
    }
    Ok(hex::encode(Sha256::digest(secret.as_bytes())))
}

/// Make a new token string for a CA; returns (token, secret hash).
pub fn new_token(ca_fingerprint: &[u8; 32]) -> (String, String) {
    let mut secret = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    let secret = hex::encode(secret);
    let hash = hex::encode(Sha256::digest(secret.as_bytes()));
    (
        format!("ctk1_{}_{secret}", hex::encode(ca_fingerprint)),
        hash,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_pin_the_ca() {
        let fp = [7u8; 32];
        let (token, hash) = new_token(&fp);
        assert_eq!(token_secret_hash(&token, &fp).unwrap(), hash);
        assert_eq!(
            token_secret_hash(&token, &[8u8; 32]).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            token_secret_hash("ctk1_x", &fp).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
