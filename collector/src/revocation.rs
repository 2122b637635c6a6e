//! Revocation at the TLS handshake: a client-certificate verifier that first
//! lets rustls' WebPKI verifier check the chain, then refuses certificates
//! of revoked agents.
//!
//! The revoked set is the agent ids whose `revoked_at` is set, read from the
//! store at start-up, right after a revocation made through this collector,
//! and every `revocation_refresh_secs` (a revocation made by the CLI or by
//! another collector on the same database). Keyed by agent id rather than
//! certificate serial so that every certificate an agent ever held is
//! refused. Ingest checks revocation again per request, so a connection
//! opened before a revocation cannot push either.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::store::{Store, StoreError};

/// The ids of revoked agents, shared by the verifier and the handlers that
/// revoke.
#[derive(Debug, Clone, Default)]
pub struct RevokedAgents(Arc<RwLock<HashSet<String>>>);

impl RevokedAgents {
    /// Whether `agent_id` is revoked, as of the last refresh.
    pub fn contains(&self, agent_id: &str) -> bool {
        // A poisoned lock still holds a complete set: it is only ever
        // replaced whole.
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(agent_id)
    }

    /// Read the set again from the store.
    pub async fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        let ids: HashSet<String> = store.revoked_agent_ids().await?.into_iter().collect();
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = ids;
        Ok(())
    }

    /// Refresh right after a revocation, so the agent's next handshake fails.
    /// A failure only delays that to the next periodic refresh.
    pub async fn refresh_after_revoke(&self, store: &Store) {
        if let Err(e) = self.refresh(store).await {
            tracing::warn!(error = %e, "Refreshing the revoked agents failed.");
        }
    }

    /// Refresh every `every` until the task is aborted. A failed refresh
    /// keeps the last set (ingest still checks each request).
    pub async fn refresh_forever(self, store: Store, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.refresh(&store).await {
                tracing::warn!(error = %e, "Refreshing the revoked agents failed.");
            }
        }
    }
}

/// WebPKI chain verification, then the revoked set.
#[derive(Debug)]
pub struct RevocationVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    revoked: RevokedAgents,
}

impl RevocationVerifier {
    /// Wrap `inner` (the CA's WebPKI verifier).
    pub fn new(inner: Arc<dyn ClientCertVerifier>, revoked: RevokedAgents) -> Self {
        Self { inner, revoked }
    }
}

impl ClientCertVerifier for RevocationVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        // Chained to our CA: an agent certificate issued by us. One without an
        // agent id is left to ingest, which refuses it with a reason.
        if let Ok(peer) = crate::pki::peer_agent(end_entity)
            && self.revoked.contains(&peer.agent_id)
        {
            tracing::info!(agent = %peer.agent_id, "Handshake of a revoked agent refused.");
            return Err(rustls::Error::InvalidCertificate(CertificateError::Revoked));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }
}
