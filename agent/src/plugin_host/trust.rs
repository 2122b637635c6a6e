//! Plugin signatures: who vouches for a component.
//!
//! A publisher signs the SHA-256 of a component with Ed25519. The signature
//! travels in a detached file next to the component, `<name>.wasm.sig`:
//!
//! ```json
//! {
//!   "format": "citadel-plugin-signature/1",
//!   "sha256": "<hex SHA-256 of the .wasm file>",
//!   "publisher": "<publisher name, informational>",
//!   "key": "cpk1_<hex Ed25519 public key>",
//!   "signature": "<hex Ed25519 signature>"
//! }
//! ```
//!
//! The signed message is `b"citadel-plugin-signature/1\0"` followed by the 32
//! raw digest bytes; the prefix keeps these signatures from being valid for
//! anything else (an agent batch, say), and signing the digest means a pack can
//! be verified without holding it twice in memory. The agent accepts a plugin
//! when the digest matches the file, the key is in its trusted-publisher list
//! and the signature verifies.

use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Format tag of signature files and domain separator of the signed message.
pub const FORMAT: &str = "citadel-plugin-signature/1";
/// Prefix of publisher public keys.
pub const KEY_PREFIX: &str = "cpk1_";

/// A signature problem. The plugin is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TrustError {
    /// No `.sig` next to the component.
    #[error(
        "unsigned (no {0}); sign it with `citadel-agent plugin sign`, or set allow_unsigned_plugins for local development"
    )]
    Unsigned(String),
    /// The `.sig` file is unreadable or malformed.
    #[error("malformed signature file: {0}")]
    Malformed(String),
    /// The component is not the one that was signed.
    #[error(
        "the component's SHA-256 {actual} differs from the signed {signed}: it was modified after signing"
    )]
    DigestMismatch {
        /// Digest in the signature file.
        signed: String,
        /// Digest of the file on disk.
        actual: String,
    },
    /// The signing key is not trusted by this agent.
    #[error("signed by {0}, which is not a trusted publisher")]
    Untrusted(String),
    /// The signature does not verify.
    #[error("the signature does not verify with {0}")]
    BadSignature(String),
}

/// Contents of a `.sig` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Hex SHA-256 of the component.
    pub sha256: String,
    /// Publisher name (informational; trust is by key).
    pub publisher: String,
    /// `cpk1_<hex public key>`.
    pub key: String,
    /// Hex Ed25519 signature.
    pub signature: String,
}

/// A trusted publisher from `agent.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    /// Display name.
    pub name: String,
    /// Public key.
    pub key: VerifyingKey,
}

/// Who signed an accepted plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// Publisher name from the agent's trust list.
    pub publisher: String,
    /// `cpk1_…` key.
    pub key: String,
}

/// Path of the detached signature of `component`.
pub fn sig_path(component: &Path) -> PathBuf {
    let mut name = component.file_name().unwrap_or_default().to_os_string();
    name.push(".sig");
    component.with_file_name(name)
}

/// `cpk1_<hex>` for a public key.
pub fn key_id(key: &VerifyingKey) -> String {
    format!("{KEY_PREFIX}{}", hex::encode(key.as_bytes()))
}

/// Parse `cpk1_<hex>`.
pub fn parse_key(text: &str) -> Result<VerifyingKey, String> {
    let hex_part = text
        .trim()
        .strip_prefix(KEY_PREFIX)
        .ok_or_else(|| format!("publisher key must start with {KEY_PREFIX}"))?;
    let bytes: [u8; 32] = hex::decode(hex_part)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| "publisher key must be 64 hex digits after the prefix".to_string())?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid Ed25519 public key".to_string())
}

fn message(digest: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(FORMAT.len() + 33);
    m.extend_from_slice(FORMAT.as_bytes());
    m.push(0);
    m.extend_from_slice(digest);
    m
}

/// Sign component bytes.
pub fn sign(component: &[u8], key: &SigningKey, publisher: &str) -> SignatureFile {
    let digest: [u8; 32] = Sha256::digest(component).into();
    let signature = key.sign(&message(&digest));
    SignatureFile {
        format: FORMAT.into(),
        sha256: hex::encode(digest),
        publisher: publisher.into(),
        key: key_id(&key.verifying_key()),
        signature: hex::encode(signature.to_bytes()),
    }
}

/// Check a signature file against component bytes and a trust list.
/// Returns the matching publisher.
pub fn verify(
    component: &[u8],
    sig: &SignatureFile,
    trusted: &[Publisher],
) -> Result<Signer, TrustError> {
    if sig.format != FORMAT {
        return Err(TrustError::Malformed(format!(
            "unknown format {:?}",
            sig.format
        )));
    }
    let digest: [u8; 32] = Sha256::digest(component).into();
    let actual = hex::encode(digest);
    if !actual.eq_ignore_ascii_case(&sig.sha256) {
        return Err(TrustError::DigestMismatch {
            signed: sig.sha256.clone(),
            actual,
        });
    }
    let key = parse_key(&sig.key).map_err(TrustError::Malformed)?;
    let publisher = trusted
        .iter()
        .find(|p| p.key == key)
        .ok_or_else(|| TrustError::Untrusted(sig.key.clone()))?;
    let bytes: [u8; 64] = hex::decode(&sig.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| TrustError::Malformed("signature must be 128 hex digits".into()))?;
    key.verify(&message(&digest), &Signature::from_bytes(&bytes))
        .map_err(|_| TrustError::BadSignature(sig.key.clone()))?;
    Ok(Signer {
        publisher: publisher.name.clone(),
        key: sig.key.clone(),
    })
}

/// Read the `.sig` next to `component`, if any.
pub fn read_sig(component: &Path) -> Result<Option<SignatureFile>, TrustError> {
    let path = sig_path(component);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TrustError::Malformed(format!("{}: {e}", path.display()))),
    };
    if text.len() > 64 * 1024 {
        return Err(TrustError::Malformed(
            "signature file larger than 64 KiB".into(),
        ));
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| TrustError::Malformed(e.to_string()))
}

/// A new publisher key as PKCS#8 PEM, with its `cpk1_` id.
pub fn generate_key() -> anyhow::Result<(String, String)> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encoding the key: {e}"))?;
    Ok((pem.to_string(), key_id(&key.verifying_key())))
}

/// Load a publisher key from PKCS#8 PEM.
pub fn load_key(pem: &str) -> anyhow::Result<SigningKey> {
    SigningKey::from_pkcs8_pem(pem).map_err(|e| anyhow::anyhow!("not an Ed25519 PKCS#8 key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publisher(key: &SigningKey) -> Publisher {
        Publisher {
            name: "acme".into(),
            key: key.verifying_key(),
        }
    }

    #[test]
    fn accepts_only_unmodified_components_from_trusted_keys() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let other = SigningKey::from_bytes(&[2; 32]);
        let component = b"\0asm component bytes".to_vec();
        let sig = sign(&component, &key, "acme");
        let signer = verify(&component, &sig, &[publisher(&key)]).unwrap();
        assert_eq!(signer.publisher, "acme");
        assert_eq!(signer.key, key_id(&key.verifying_key()));

        let mut changed = component.clone();
        changed[3] ^= 1;
        assert!(matches!(
            verify(&changed, &sig, &[publisher(&key)]),
            Err(TrustError::DigestMismatch { .. })
        ));
        assert!(matches!(
            verify(&component, &sig, &[publisher(&other)]),
            Err(TrustError::Untrusted(_))
        ));

        // A signature made by another key, relabelled with the trusted key.
        let mut forged = sign(&component, &other, "acme");
        forged.key = key_id(&key.verifying_key());
        assert!(matches!(
            verify(&component, &forged, &[publisher(&key)]),
            Err(TrustError::BadSignature(_))
        ));
    }

    #[test]
    fn keys_round_trip() {
        let (pem, id) = generate_key().unwrap();
        let key = load_key(&pem).unwrap();
        assert_eq!(parse_key(&id).unwrap(), key.verifying_key());
        assert!(parse_key("cpk1_zz").is_err());
        assert!(parse_key("ssh-ed25519 AAAA").is_err());
    }
}
