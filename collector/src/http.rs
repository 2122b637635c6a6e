//! HTTP routes. Two routers, served on two listeners:
//! - **ingest** (mTLS, client certificate required): `POST /v1/batches`,
//!   `POST /v1/heartbeat` (the agent is alive with nothing new to send);
//! - **api** (server-authenticated TLS): `POST /v1/enroll`, `GET /healthz`.
//!
//! Errors are JSON `{"error": "…"}` with a status that tells the agent whether
//! to retry (5xx, 429) or give up on the request (other 4xx).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tower_http::trace::TraceLayer;

use crate::catalog::Catalog;
use crate::ingest::{self, IngestError};
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
    message: String,
}

impl ApiError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// Routes served over mTLS to enrolled agents.
pub fn ingest_router(state: AppState, max_batch_bytes: usize) -> Router {
    Router::new()
        .route("/v1/batches", post(post_batch))
        .route("/v1/heartbeat", post(post_heartbeat))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(max_batch_bytes))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Routes served over server-authenticated TLS: enrollment and the REST API.
pub fn api_router(state: AppState) -> Router {
    Router::new()
        .route("/v1/enroll", post(post_enroll))
        .route("/healthz", get(healthz))
        .merge(crate::api::router())
        .merge(crate::console::router())
        .fallback(crate::console::not_found)
        .layer(DefaultBodyLimit::max(MAX_API_BYTES))
        .layer(axum::middleware::from_fn(crate::api::request_id))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
    body: Bytes,
) -> Result<Json<BatchReply>, ApiError> {
    let peer = peer.0.map_err(|e| ApiError::new(403, e))?;
    match ingest::ingest(&state.store, &state.catalog, &peer, &body).await {
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
        Err(e) => {
            let code = e.http_status();
            if code >= 500 {
                tracing::error!(agent = %peer.agent_id, error = %e, "Batch not stored.");
                Err(ApiError::new(
                    code,
                    "the collector cannot store batches right now; retry later",
                ))
            } else {
                tracing::warn!(agent = %peer.agent_id, error = %e, "Batch refused.");
                Err(ApiError::new(code, refusal(&e)))
            }
        }
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
    let peer = peer.0.map_err(|e| ApiError::new(403, e))?;
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
                    "the collector cannot record heartbeats right now",
                ))
            } else {
                tracing::warn!(agent = %peer.agent_id, error = %e, "Heartbeat refused.");
                Err(ApiError::new(code, format!("heartbeat refused: {e}")))
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
    body: Bytes,
) -> Result<Json<EnrollReply>, ApiError> {
    let req: EnrollRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(400, format!("malformed enrollment request: {e}")))?;
    let hostname = req.hostname.trim();
    if hostname.is_empty() || hostname.len() > 253 || hostname.chars().any(char::is_control) {
        return Err(ApiError::new(
            400,
            "hostname must be 1–253 printable characters",
        ));
    }
    let secret_hash = token_secret_hash(&req.token, &state.ca.fingerprint())?;
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
            Err(ApiError::new(403, problem.to_string()))
        }
        Err(EnrollFailure::Issue(e)) => Err(ApiError::new(400, e.to_string())),
    }
}

/// Check a token's shape and CA pin; returns the hex SHA-256 of its secret,
/// which is all the database keeps.
fn token_secret_hash(token: &str, ca_fingerprint: &[u8; 32]) -> Result<String, ApiError> {
    let mut parts = token.trim().splitn(3, '_');
    let (Some("ctk1"), Some(pin), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ApiError::new(400, "malformed enrollment token"));
    };
    if pin != hex::encode(ca_fingerprint) {
        return Err(ApiError::new(
            403,
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
