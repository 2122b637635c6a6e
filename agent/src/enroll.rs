//! Enrollment: trade a one-time token for a certificate from the collector CA.
//!
//! A token looks like `ctk1_<ca-sha256-hex>_<secret>`: the collector CA's
//! fingerprint travels with the secret, so the agent can authenticate the
//! collector on first contact without a CA file being copied around.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::identity::{self, IdentityInfo};
use crate::tls;

/// Enrollment failed.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The token does not have the `ctk1_<fingerprint>_<secret>` shape.
    #[error("malformed enrollment token: expected ctk1_<ca-fingerprint>_<secret>")]
    Token,
    /// Already enrolled; refuse to overwrite the existing key.
    #[error("{0} already holds an enrolled identity; remove it to enroll again")]
    AlreadyEnrolled(String),
    /// Network or TLS failure.
    #[error("cannot reach the collector: {0}")]
    Transport(String),
    /// The collector refused.
    #[error("the collector refused enrollment ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its explanation.
        message: String,
    },
    /// Local key generation or file writing failed.
    #[error("{0}")]
    Local(String),
}

/// Request body of `POST /v1/enroll`.
#[derive(Serialize)]
struct EnrollRequest<'a> {
    token: &'a str,
    csr_pem: &'a str,
    hostname: &'a str,
}

/// Reply of `POST /v1/enroll`.
#[derive(Deserialize)]
struct EnrollReply {
    agent_id: String,
    tenant: String,
    certificate_pem: String,
    ca_pem: String,
    ingest_url: String,
}

/// Parse a token into (CA fingerprint, whole token).
pub fn parse_token(token: &str) -> Result<[u8; 32], EnrollError> {
    let mut parts = token.trim().splitn(3, '_');
    let (Some("ctk1"), Some(fp), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(EnrollError::Token);
    };
    if secret.len() < 16 {
        return Err(EnrollError::Token);
    }
    hex::decode(fp)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or(EnrollError::Token)
}

/// Enroll with the collector at `url` (its enrollment endpoint, server-auth TLS).
pub async fn enroll(
    state_dir: &Path,
    url: &str,
    token: &str,
    hostname: &str,
) -> Result<IdentityInfo, EnrollError> {
    let pin = parse_token(token)?;
    if state_dir.join("identity.json").exists() {
        return Err(EnrollError::AlreadyEnrolled(
            state_dir.display().to_string(),
        ));
    }
    let kc = identity::generate_key(hostname).map_err(|e| EnrollError::Local(e.to_string()))?;
    let client = tls::pinned_client(pin).map_err(|e| EnrollError::Transport(e.to_string()))?;
    let endpoint = format!("{}/v1/enroll", url.trim_end_matches('/'));
    let resp = client
        .post(&endpoint)
        .json(&EnrollRequest {
            token: token.trim(),
            csr_pem: &kc.csr_pem,
            hostname,
        })
        .send()
        .await
        .map_err(|e| EnrollError::Transport(tls::error_chain(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        let message = resp.text().await.unwrap_or_default();
        return Err(EnrollError::Refused {
            status: status.as_u16(),
            message: tls::reply_message(&message),
        });
    }
    let reply: EnrollReply = resp
        .json()
        .await
        .map_err(|e| EnrollError::Transport(format!("unreadable reply: {e}")))?;
    // The CA we will trust from now on must be the one the token pinned.
    let ca_der = identity::pem_body(&reply.ca_pem, "CERTIFICATE")
        .ok_or_else(|| EnrollError::Transport("reply has no CA certificate".into()))?;
    {
        use sha2::Digest;
        let got: [u8; 32] = sha2::Sha256::digest(&ca_der).into();
        if got != pin {
            return Err(EnrollError::Transport(
                "the CA in the reply does not match the token's fingerprint".into(),
            ));
        }
    }
    let info = IdentityInfo {
        agent_id: reply.agent_id,
        tenant: reply.tenant,
        ingest_url: reply.ingest_url,
    };
    identity::save(
        state_dir,
        &info,
        &kc.key_pem,
        &reply.certificate_pem,
        &reply.ca_pem,
    )
    .map_err(|e| EnrollError::Local(e.to_string()))?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape() {
        let fp = "ab".repeat(32);
        assert!(parse_token(&format!("ctk1_{fp}_0123456789abcdef0123")).is_ok());
        assert!(parse_token(&format!("ctk2_{fp}_0123456789abcdef0123")).is_err());
        assert!(parse_token(&format!("ctk1_{}_0123456789abcdef0123", "ab".repeat(31))).is_err());
        assert!(parse_token(&format!("ctk1_{fp}_short")).is_err());
        assert!(parse_token("garbage").is_err());
    }
}
