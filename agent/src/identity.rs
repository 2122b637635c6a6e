//! The agent's identity: its Ed25519 key, the certificate the collector issued
//! for it, and the collector CA it trusts. Created by `citadel-agent enroll`.
//!
//! Files in the state directory:
//! ```text
//! agent.key      PKCS#8 PEM, never leaves the machine
//! agent.crt      certificate issued by the collector CA (agent id in a URI SAN)
//! ca.crt         the collector CA, pinned at enrollment by the token's fingerprint
//! identity.json  agent id, tenant, collector ingest URL
//! ```
//!
//! All written atomically, mode 0600, in a 0700 directory.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use serde::{Deserialize, Serialize};

/// What enrollment recorded about this agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentityInfo {
    /// Agent id assigned by the collector.
    pub agent_id: String,
    /// Tenant the agent belongs to.
    pub tenant: String,
    /// Where to push batches (mTLS).
    pub ingest_url: String,
}

/// A loaded identity.
pub struct Identity {
    /// Enrollment record.
    pub info: IdentityInfo,
    /// Signing key (same key as in the certificate).
    pub key: SigningKey,
    /// PKCS#8 DER of the key, for the TLS client.
    pub key_pkcs8_der: Vec<u8>,
    /// Agent certificate, DER.
    pub cert_der: Vec<u8>,
    /// Collector CA, DER.
    pub ca_der: Vec<u8>,
}

/// Identity files are missing or damaged.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Not enrolled yet.
    #[error("this agent is not enrolled ({0} is missing): run `citadel-agent enroll` first")]
    NotEnrolled(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl Identity {
    /// Load the identity from `state_dir`.
    pub fn load(state_dir: &Path) -> Result<Self, IdentityError> {
        let info_path = state_dir.join("identity.json");
        if !info_path.exists() {
            return Err(IdentityError::NotEnrolled(info_path));
        }
        let read = |name: &str| {
            let path = state_dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| IdentityError::File {
                path,
                message: e.to_string(),
            })
        };
        let bad = |name: &str, message: String| IdentityError::File {
            path: state_dir.join(name),
            message,
        };
        let info: IdentityInfo = serde_json::from_str(&read("identity.json")?)
            .map_err(|e| bad("identity.json", e.to_string()))?;
        let key_pem = read("agent.key")?;
        let key = SigningKey::from_pkcs8_pem(&key_pem)
            .map_err(|_| bad("agent.key", "not an Ed25519 PKCS#8 key".into()))?;
        let key_pkcs8_der = pem_body(&key_pem, "PRIVATE KEY")
            .ok_or_else(|| bad("agent.key", "no PRIVATE KEY block".into()))?;
        let cert_der = pem_body(&read("agent.crt")?, "CERTIFICATE")
            .ok_or_else(|| bad("agent.crt", "no CERTIFICATE block".into()))?;
        let ca_der = pem_body(&read("ca.crt")?, "CERTIFICATE")
            .ok_or_else(|| bad("ca.crt", "no CERTIFICATE block".into()))?;
        Ok(Self {
            info,
            key,
            key_pkcs8_der,
            cert_der,
            ca_der,
        })
    }
}

/// A freshly generated key and its certificate signing request.
pub struct KeyAndCsr {
    /// PKCS#8 PEM of the new key.
    pub key_pem: String,
    /// CSR in PEM.
    pub csr_pem: String,
}

/// Generate an Ed25519 key and a CSR carrying it (subject CN = `hostname`).
pub fn generate_key(hostname: &str) -> Result<KeyAndCsr, rcgen::Error> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, hostname);
    let csr = params.serialize_request(&key)?;
    Ok(KeyAndCsr {
        key_pem: key.serialize_pem(),
        csr_pem: csr.pem()?,
    })
}

/// Write the enrollment result into `state_dir` (mode 0700), each file
/// atomically with mode 0600. `identity.json` goes last: its presence is
/// what marks the agent enrolled, so a crash part-way leaves it unenrolled
/// rather than holding a key without a certificate.
pub fn save(
    state_dir: &Path,
    info: &IdentityInfo,
    key_pem: &str,
    cert_pem: &str,
    ca_pem: &str,
) -> Result<(), IdentityError> {
    let io = |path: &Path, e: std::io::Error| IdentityError::File {
        path: path.into(),
        message: e.to_string(),
    };
    crate::fsutil::private_dir(state_dir).map_err(|e| io(state_dir, e))?;
    for (name, body) in [
        ("agent.key", key_pem.to_string()),
        ("agent.crt", cert_pem.to_string()),
        ("ca.crt", ca_pem.to_string()),
        (
            "identity.json",
            serde_json::to_string_pretty(info).unwrap_or_default(),
        ),
    ] {
        let path = state_dir.join(name);
        crate::fsutil::write_atomic(&path, body.as_bytes()).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// The DER body of the first PEM block with `label`.
pub fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_round_trips_through_state_files() {
        let dir = tempfile::tempdir().unwrap();
        let kc = generate_key("host-1").unwrap();
        assert!(kc.csr_pem.contains("CERTIFICATE REQUEST"));
        let info = IdentityInfo {
            agent_id: "agt-1".into(),
            tenant: "acme".into(),
            ingest_url: "https://127.0.0.1:1".into(),
        };
        let fake_cert = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
        save(dir.path(), &info, &kc.key_pem, fake_cert, fake_cert).unwrap();
        let id = Identity::load(dir.path()).unwrap();
        assert_eq!(id.info.agent_id, "agt-1");
        assert_eq!(id.cert_der, [0, 1, 2]);
        use std::os::unix::fs::PermissionsExt;
        for name in ["agent.key", "agent.crt", "ca.crt", "identity.json"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    #[test]
    fn missing_identity_says_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = Identity::load(dir.path()).err().unwrap();
        assert!(err.to_string().contains("citadel-agent enroll"), "{err}");
    }
}
