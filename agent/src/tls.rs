//! TLS client configurations: the enrollment connection, which trusts the
//! collector CA only if its SHA-256 matches the fingerprint in the enrollment
//! token, and the mTLS connection used to push batches; and the helpers both
//! use to describe what a collector or the network said.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::identity::Identity;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// An HTTP client that trusts only a CA certificate whose SHA-256 is `ca_sha256`
/// and that the collector sends in its chain.
pub fn pinned_client(ca_sha256: [u8; 32]) -> Result<reqwest::Client, rustls::Error> {
    let provider = provider();
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedCa {
            pin: ca_sha256,
            provider,
        }))
        .with_no_client_auth();
    client(config)
}

/// An HTTP client presenting the agent certificate and trusting only the collector CA.
pub fn mtls_client(identity: &Identity) -> Result<reqwest::Client, rustls::Error> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(identity.ca_der.clone()))?;
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![CertificateDer::from(identity.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_pkcs8_der.clone())),
        )?;
    client(config)
}

fn client(config: ClientConfig) -> Result<reqwest::Client, rustls::Error> {
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(std::time::Duration::from_secs(60))
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))
}

/// An error with its sources, for transport failures whose cause is nested.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The `error` field of a JSON error reply (with its `code` when the
/// collector sends one), or the body itself, shortened: a reply is not
/// trusted to be small.
pub(crate) fn reply_message(body: &str) -> String {
    let json = serde_json::from_str::<serde_json::Value>(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name))
            .and_then(|e| e.as_str())
            .map(str::to_string)
    };
    let msg = match (field("error"), field("code")) {
        (Some(e), Some(c)) => format!("{c}: {e}"),
        (Some(e), None) => e,
        _ => body.to_string(),
    };
    msg.chars().take(500).collect()
}

#[derive(Debug)]
struct PinnedCa {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ca = intermediates
            .iter()
            .find(|c| <[u8; 32]>::from(Sha256::digest(c.as_ref())) == self.pin)
            .ok_or_else(|| {
                rustls::Error::General(
                    "the collector's CA does not match the fingerprint in the enrollment token"
                        .into(),
                )
            })?;
        let mut roots = RootCertStore::empty();
        roots.add(ca.clone().into_owned())?;
        let inner =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
