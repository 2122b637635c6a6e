//! Ingest: from untrusted bytes on an mTLS connection to a stored batch.
//!
//! Order matters. The TLS layer has already checked that the client
//! certificate chains to our CA. Then, before anything is written:
//! 1. the certificate names an enrolled, unrevoked agent whose key it carries;
//! 2. the COSE `kid` names that same agent;
//! 3. the signature verifies with that agent's key, over the bytes received;
//! 4. the batch is internally consistent (results point at its own assets and
//!    checks, sizes are sane).
//!
//! Only then is the batch stored, verbatim, with everything derived from it.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use citadel_wire::{Batch, SignedBatch, WireError};

use crate::catalog::Catalog;
use crate::pki::PeerAgent;
use crate::store::{EnrolledAgent, IngestOutcome, Store, StoreError};

/// Longest string accepted in identifiers (ids, names, kinds).
const MAX_ID_LEN: usize = 2048;

/// Why a batch was refused. Nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The client certificate names an agent we do not know.
    #[error("agent {0} is not enrolled with this collector")]
    UnknownAgent(String),
    /// The agent has been revoked.
    #[error("agent {0} has been revoked")]
    Revoked(String),
    /// The certificate's key differs from the one recorded at enrollment.
    #[error("the client certificate's key does not match agent {0}'s enrolled key")]
    KeyMismatch(String),
    /// The envelope names another agent than the connection.
    #[error("batch is signed as {kid:?} but the client certificate belongs to {agent:?}")]
    KidMismatch {
        /// The COSE key id.
        kid: String,
        /// The certificate's agent.
        agent: String,
    },
    /// Bad encoding or signature.
    #[error("{0}")]
    Wire(#[from] WireError),
    /// The batch contradicts itself.
    #[error("invalid batch: {0}")]
    Invalid(String),
    /// The part holds more assets or results than the collector accepts.
    #[error("batch part too large: {0}")]
    TooMany(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IngestError {
    /// HTTP status for this refusal. 4xx tells the agent to set the batch
    /// aside; 5xx tells it to retry later.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::UnknownAgent(_) | Self::Revoked(_) | Self::KeyMismatch(_) => 403,
            Self::KidMismatch { .. } | Self::Wire(WireError::BadSignature) => 403,
            Self::Wire(_) | Self::Invalid(_) => 400,
            Self::TooMany(_) => 413,
            Self::Store(
                StoreError::Conflict(_) | StoreError::NotOwner(_) | StoreError::Chain(_),
            ) => 409,
            Self::Store(_) => 503,
        }
    }

    /// Stable machine-readable code for this refusal, sent with the message.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownAgent(_) => "unknown_agent",
            Self::Revoked(_) => "revoked",
            Self::KeyMismatch(_) => "key_mismatch",
            Self::KidMismatch { .. } | Self::Wire(WireError::KidMismatch { .. }) => "kid_mismatch",
            Self::Wire(WireError::BadSignature) => "bad_signature",
            Self::Wire(WireError::Version(_)) => "unsupported_version",
            Self::Wire(WireError::Envelope(_)) => "bad_envelope",
            Self::Wire(_) => "malformed",
            Self::Invalid(_) => "invalid_batch",
            Self::TooMany(_) => "too_many_items",
            Self::Store(StoreError::Conflict(_)) => "batch_conflict",
            Self::Store(StoreError::Chain(c)) => c.code(),
            Self::Store(StoreError::NotOwner(_)) => "not_owner",
            Self::Store(_) => "unavailable",
        }
    }
}

/// How many items one batch part may hold (`[limits]` in collector.toml).
#[derive(Debug, Clone, Copy)]
pub struct PartLimits {
    /// Assets in one part.
    pub max_assets: usize,
    /// Results in one part.
    pub max_results: usize,
}

impl Default for PartLimits {
    fn default() -> Self {
        let l = crate::config::LimitsConfig::default();
        Self {
            max_assets: l.max_assets_per_part,
            max_results: l.max_results_per_part,
        }
    }
}

/// The enrolled, unrevoked agent behind a connection's certificate. Run
/// before a batch's body is read, and again by [`ingest`] right before it
/// is stored, so that a revocation during a slow upload still applies.
pub async fn authorize(store: &Store, peer: &PeerAgent) -> Result<EnrolledAgent, IngestError> {
    let agent = store
        .agent(&peer.agent_id)
        .await?
        .ok_or_else(|| IngestError::UnknownAgent(truncate(&peer.agent_id)))?;
    if agent.revoked_at.is_some() {
        return Err(IngestError::Revoked(agent.id));
    }
    if agent.public_key != peer.public_key {
        return Err(IngestError::KeyMismatch(agent.id));
    }
    Ok(agent)
}

/// A heartbeat from `peer`: the agent is alive with nothing new to send.
/// Records the time as its last contact; returns that time (Unix ms).
pub async fn heartbeat(store: &Store, peer: &PeerAgent) -> Result<i64, IngestError> {
    let agent = authorize(store, peer).await?;
    let now = crate::store::now_ms();
    store.touch_agent(&agent.id, now).await?;
    Ok(now)
}

/// Verify and store one batch received from `peer`.
pub async fn ingest(
    store: &Store,
    catalog: &Catalog,
    peer: &PeerAgent,
    body: Bytes,
    limits: &PartLimits,
) -> Result<(Batch, IngestOutcome), IngestError> {
    let agent = authorize(store, peer).await?;
    let key_bytes: [u8; 32] = agent
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| IngestError::KeyMismatch(agent.id.clone()))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| IngestError::KeyMismatch(agent.id.clone()))?;
    // Parsing, verifying and decoding a large batch takes CPU for a while:
    // off the async workers, so other connections keep being served.
    let (agent_id, raw, limits) = (agent.id.clone(), body.clone(), *limits);
    let (batch, spans) =
        tokio::task::spawn_blocking(move || verify(&agent_id, &raw, &key, &limits))
            .await
            .map_err(|e| IngestError::Invalid(format!("verification did not finish: {e}")))??;
    let outcome = store
        .ingest(agent.tenant_id, &agent.id, &body, &batch, &spans, catalog)
        .await?;
    Ok((batch, outcome))
}

/// Parse the envelope, check it names `agent_id`, verify the signature, then
/// decode and validate the payload: nothing of the payload is decoded before
/// the signature checks out.
fn verify(
    agent_id: &str,
    body: &[u8],
    key: &ed25519_dalek::VerifyingKey,
    limits: &PartLimits,
) -> Result<(Batch, Vec<std::ops::Range<usize>>), IngestError> {
    let started = std::time::Instant::now();
    let signed = SignedBatch::parse(body)?;
    if signed.kid() != agent_id {
        return Err(IngestError::KidMismatch {
            kid: truncate(signed.kid()),
            agent: agent_id.to_string(),
        });
    }
    // The batch, and each result's bytes within the signed payload: its evidence.
    let (batch, spans) = signed.open(key)?;
    if batch.assets.len() > limits.max_assets || batch.results.len() > limits.max_results {
        return Err(IngestError::TooMany(format!(
            "{} assets and {} results in one part; at most {} and {} are accepted, \
             split the scan into more parts",
            batch.assets.len(),
            batch.results.len(),
            limits.max_assets,
            limits.max_results
        )));
    }
    validate(&batch)?;
    if spans.len() != batch.results.len() {
        return Err(IngestError::Invalid(format!(
            "{} results decoded but {} found in the payload",
            batch.results.len(),
            spans.len()
        )));
    }
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        results = batch.results.len(),
        "Batch verified, decoded and validated."
    );
    Ok((batch, spans))
}

/// Most agent incidents one batch may report (the agent keeps no more).
const MAX_INCIDENTS: usize = 64;
/// Longest incident message, in bytes.
const MAX_INCIDENT_MESSAGE: usize = 1000;
/// Most (kind, region) lists one batch may call complete: each is a
/// deactivation pass at ingest. An agent has a few dozen kinds per region.
const MAX_COMPLETE_LISTS: usize = 4096;

/// Internal consistency of a batch whose signature has been verified: the
/// agent vouches for it, but a buggy or compromised agent must still not be
/// able to write dangling references.
pub fn validate(batch: &Batch) -> Result<(), IngestError> {
    let bad = |m: String| Err(IngestError::Invalid(m));
    if batch.integration.name.is_empty() || batch.integration.name.len() > 200 {
        return bad("integration name must be 1–200 characters".into());
    }
    if batch.integration.provider.is_empty() || batch.integration.account.is_empty() {
        return bad("integration provider and account must be set".into());
    }
    if let Some(v) = &batch.agent_version
        && (v.is_empty() || v.len() > 64 || v.chars().any(|c| c.is_control()))
    {
        return bad("agent version must be 1–64 printable characters".into());
    }
    if batch.incidents.len() > MAX_INCIDENTS {
        return bad(format!(
            "{} incidents in one batch; at most {MAX_INCIDENTS}",
            batch.incidents.len()
        ));
    }
    for i in &batch.incidents {
        let kind_ok = !i.kind.is_empty()
            && i.kind.len() <= 32
            && i.kind.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if !kind_ok || i.message.len() > MAX_INCIDENT_MESSAGE {
            return bad(format!(
                "incident kinds are 1–32 of a–z and '_', messages at most {MAX_INCIDENT_MESSAGE} bytes"
            ));
        }
    }
    // Stored with the batch (after a gap it names a batch never seen).
    if let Some(p) = &batch.prev
        && !(p.len() == 64 && p.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
    {
        return bad("prev must be the previous batch's SHA-256 in 64 lowercase hex digits".into());
    }
    if batch.complete_lists.len() > MAX_COMPLETE_LISTS {
        return bad(format!(
            "{} complete inventory lists in one batch; at most {MAX_COMPLETE_LISTS}",
            batch.complete_lists.len()
        ));
    }
    for l in &batch.complete_lists {
        if l.kind.is_empty() || l.kind.len() > 200 || l.region.is_empty() || l.region.len() > 64 {
            return bad(
                "a complete inventory list names a kind of 1–200 and a region of 1–64 bytes".into(),
            );
        }
    }
    if batch.parts == 0 || batch.part >= batch.parts {
        return bad(format!(
            "part {} of {} is out of range",
            batch.part, batch.parts
        ));
    }
    // Checks and assets by position, so that the per-result duplicate check
    // hashes two integers rather than two strings again.
    let mut checks = HashMap::with_capacity(batch.checks.len());
    for (n, c) in batch.checks.iter().enumerate() {
        if c.id.is_empty() || c.id.len() > 200 {
            return bad(format!("check id {:?} must be 1–200 characters", c.id));
        }
        if checks.insert(c.id.as_str(), n as u64).is_some() {
            return bad(format!("check {} is declared twice", c.id));
        }
    }
    let mut assets = HashMap::with_capacity(batch.assets.len());
    for (n, a) in batch.assets.iter().enumerate() {
        if a.source_id.is_empty() || a.source_id.len() > MAX_ID_LEN || a.kind.len() > 200 {
            return bad(format!(
                "asset id {:?} is empty or too long",
                truncate(&a.source_id)
            ));
        }
        if assets.insert(a.source_id.as_str(), n as u64).is_some() {
            return bad(format!("asset {} appears twice", a.source_id));
        }
    }
    for r in &batch.relationships {
        if r.from.len() > MAX_ID_LEN
            || r.to.len() > MAX_ID_LEN
            || r.kind.is_empty()
            || r.kind.len() > 64
        {
            return bad("relationship with an empty or oversized field".into());
        }
    }
    let mut seen = HashSet::with_capacity(batch.results.len());
    for r in &batch.results {
        let Some(&check) = checks.get(r.check_id.as_str()) else {
            return bad(format!(
                "result for undeclared check {:?}",
                truncate(&r.check_id)
            ));
        };
        let Some(&asset) = assets.get(r.asset.as_str()) else {
            return bad(format!(
                "result for {} names asset {:?}, which is not in the batch",
                r.check_id,
                truncate(&r.asset)
            ));
        };
        // Fewer than 2^32 checks and assets: a batch is far smaller.
        if !seen.insert(check << 32 | asset) {
            return bad(format!("two results for {} on {}", r.check_id, r.asset));
        }
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    s.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_batch_is_valid() {
        validate(&Batch::example()).unwrap();
    }

    #[test]
    fn agent_incidents_are_bounded() {
        let incident = |kind: &str, message: String| citadel_wire::AgentIncident {
            kind: kind.into(),
            at: 1,
            message,
        };
        let mut b = Batch::example();
        b.incidents = vec![incident("scan_failed", "no credentials".into()); MAX_INCIDENTS];
        validate(&b).unwrap();
        b.incidents.push(incident("scan_failed", String::new()));
        assert!(validate(&b).unwrap_err().to_string().contains("incidents"));
        for (kind, message) in [
            ("", String::new()),
            ("Scan-Failed", String::new()),
            (&*"x".repeat(33), String::new()),
            ("scan_failed", "é".repeat(501)),
        ] {
            b.incidents = vec![incident(kind, message)];
            assert!(
                validate(&b).unwrap_err().to_string().contains("incident"),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn agent_versions_are_bounded_and_printable() {
        for bad in ["", "1.0\u{1b}[31m", &"9".repeat(65)] {
            let mut b = Batch::example();
            b.agent_version = Some(bad.to_string());
            assert!(
                validate(&b)
                    .unwrap_err()
                    .to_string()
                    .contains("agent version"),
                "{bad:?}"
            );
        }
        let mut b = Batch::example();
        b.agent_version = None;
        validate(&b).unwrap();
    }

    #[test]
    fn dangling_references_are_refused() {
        let mut b = Batch::example();
        b.results[0].asset = "arn:aws:ec2:us-east-1:1:instance/i-missing".into();
        assert!(
            validate(&b)
                .unwrap_err()
                .to_string()
                .contains("not in the batch")
        );

        let mut b = Batch::example();
        b.results[0].check_id = "nope".into();
        assert!(
            validate(&b)
                .unwrap_err()
                .to_string()
                .contains("undeclared check")
        );

        let mut b = Batch::example();
        b.assets.push(b.assets[0].clone());
        assert!(
            validate(&b)
                .unwrap_err()
                .to_string()
                .contains("appears twice")
        );

        let mut b = Batch::example();
        b.results.push(b.results[0].clone());
        assert!(
            validate(&b)
                .unwrap_err()
                .to_string()
                .contains("two results")
        );

        let mut b = Batch::example();
        b.part = 1;
        assert!(validate(&b).is_err());

        for prev in ["", "00", &"A".repeat(64), &"0".repeat(65), &"g".repeat(64)] {
            let mut b = Batch::example();
            b.prev = Some(prev.to_string());
            assert!(
                validate(&b).unwrap_err().to_string().contains("prev"),
                "{prev:?}"
            );
        }
        let mut b = Batch::example();
        b.prev = Some("0a".repeat(32));
        validate(&b).unwrap();

        let mut b = Batch::example();
        let list = b.complete_lists[0].clone();
        b.complete_lists = vec![list.clone(); MAX_COMPLETE_LISTS + 1];
        assert!(
            validate(&b)
                .unwrap_err()
                .to_string()
                .contains("complete inventory lists")
        );
        for (kind, region) in [
            ("", "us-east-1"),
            ("ec2:instance", ""),
            ("ec2:instance", &"r".repeat(65)[..]),
        ] {
            let mut b = Batch::example();
            b.complete_lists = vec![citadel_wire::InventoryList {
                kind: kind.into(),
                region: region.into(),
            }];
            assert!(
                validate(&b)
                    .unwrap_err()
                    .to_string()
                    .contains("complete inventory list"),
                "{kind:?} {region:?}"
            );
        }
    }
}
