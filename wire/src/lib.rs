//! The Citadel batch wire format, shared by the agent and the collector.
//!
//! An agent's scan travels as a [`Batch`], encoded in deterministic CBOR
//! (RFC 8949 §4.2.1) and wrapped in a COSE_Sign1 envelope (RFC 9052) signed with
//! the agent's Ed25519 key. Evidence stays verifiable by anyone holding the
//! agent's public key, long after the TLS session that carried it is gone.
//!
//! ```text
//! COSE_Sign1 (CBOR tag 18) = [
//!     protected:   bstr .cbor { 1 (alg): -8 (EdDSA),
//!                               3 (content type): "application/vnd.citadel.batch+cbor",
//!                               4 (kid): bstr (agent id, UTF-8) },
//!     unprotected: {},
//!     payload:     bstr (deterministic CBOR of Batch),
//!     signature:   bstr (64-byte Ed25519 over Sig_structure("Signature1", protected, b"", payload)),
//! ]
//! ```
//!
//! Decoding is strict: a payload that is not exactly the deterministic encoding of
//! its own value (non-shortest integers, indefinite lengths, unsorted or duplicate
//! map keys, floats, tags) is rejected, so one batch has exactly one byte form and
//! its hash identifies it.
//!
//! ```
//! use citadel_wire::{Batch, SignedBatch, sign};
//! use ed25519_dalek::SigningKey;
//!
//! let key = SigningKey::from_bytes(&[7; 32]);
//! let batch = Batch::example();
//! let bytes = sign(&batch, &key).unwrap();
//! let received = SignedBatch::parse(&bytes).unwrap();
//! assert_eq!(received.kid(), batch.agent_id);
//! assert_eq!(received.verify(&key.verifying_key()).unwrap(), batch);
//! ```

mod batch;
mod cbor;
mod cose;

pub use batch::{
    AgentIncident, Asset, Batch, CheckInfo, CheckResult, Integration, InventoryList,
    PluginProvenance, Relationship, Severity, Status,
};
pub use cbor::{array_spans, from_canonical_slice, to_canonical_vec};
pub use cose::{CONTENT_TYPE, SignedBatch, sign};

/// Version of the [`Batch`] schema carried in [`Batch::version`].
pub const FORMAT_VERSION: u32 = 1;

/// Everything that can go wrong encoding, decoding, signing or verifying a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The bytes are not well-formed CBOR, or do not match the batch schema.
    #[error("malformed CBOR: {0}")]
    Malformed(String),
    /// Well-formed CBOR that is not in deterministic form (RFC 8949 §4.2.1).
    #[error("CBOR is not in deterministic encoding: {0}")]
    NotCanonical(&'static str),
    /// The data holds a value the format forbids (floats, tags, duplicate keys).
    #[error("forbidden CBOR value: {0}")]
    Forbidden(&'static str),
    /// The COSE envelope is malformed or uses an unsupported algorithm or content type.
    #[error("invalid COSE_Sign1 envelope: {0}")]
    Envelope(String),
    /// The signature does not verify under the given key.
    #[error("signature does not verify with the agent's key")]
    BadSignature,
    /// The payload's agent id differs from the envelope's key id.
    #[error("batch agent id {payload:?} does not match the signing key id {kid:?}")]
    KidMismatch {
        /// Key id from the COSE header.
        kid: String,
        /// Agent id inside the batch.
        payload: String,
    },
    /// The batch declares a format version this build does not understand.
    #[error("unsupported batch format version {0}")]
    Version(u32),
}

/// SHA-256 of `bytes`, hex-encoded: how batches are identified and chained.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
