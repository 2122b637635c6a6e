//! COSE_Sign1 envelopes (RFC 9052) with EdDSA over Ed25519.

use coset::{CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
use coset::{ContentType, RegisteredLabelWithPrivate, iana};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use std::ops::Range;

use crate::{Batch, CheckResult, FORMAT_VERSION, WireError, cbor};

/// Content type of the payload, carried in the protected header.
pub const CONTENT_TYPE: &str = "application/vnd.citadel.batch+cbor";

/// Sign `batch` with the agent's key: deterministic CBOR payload in a tagged COSE_Sign1
/// whose `kid` is the batch's agent id.
pub fn sign(batch: &Batch, key: &SigningKey) -> Result<Vec<u8>, WireError> {
    let payload = cbor::to_canonical_vec(batch)?;
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .content_type(CONTENT_TYPE.to_string())
        .key_id(batch.agent_id.as_bytes().to_vec())
        .build();
    CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(b"", |tbs| key.sign(tbs).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .map_err(|e| WireError::Envelope(e.to_string()))
}

/// A received envelope, parsed but not yet verified.
///
/// Keeps the bytes as received: the signature is checked over exactly what
/// arrived, never over a re-encoding.
#[derive(Debug)]
pub struct SignedBatch {
    envelope: CoseSign1,
    kid: String,
}

impl SignedBatch {
    /// Parse a tagged COSE_Sign1 and check its header: EdDSA, our content type, a UTF-8 `kid`.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let envelope = CoseSign1::from_tagged_slice(bytes)
            .or_else(|_| CoseSign1::from_slice(bytes))
            .map_err(|e| WireError::Envelope(e.to_string()))?;
        let header = &envelope.protected.header;
        if header.alg != Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA)) {
            return Err(WireError::Envelope("algorithm must be EdDSA".into()));
        }
        if header.content_type != Some(ContentType::Text(CONTENT_TYPE.to_string())) {
            return Err(WireError::Envelope(format!(
                "content type must be {CONTENT_TYPE}"
            )));
        }
        if envelope.payload.is_none() {
            return Err(WireError::Envelope(
                "detached payloads are not accepted".into(),
            ));
        }
        let kid = String::from_utf8(header.key_id.clone())
            .map_err(|_| WireError::Envelope("kid is not UTF-8".into()))?;
        if kid.is_empty() {
            return Err(WireError::Envelope("kid is missing".into()));
        }
        Ok(Self { envelope, kid })
    }

    /// The key id (agent id) claimed by the sender. Untrusted until [`Self::verify`].
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signed payload, byte for byte (untrusted until [`Self::verify`]).
    pub fn payload(&self) -> &[u8] {
        self.envelope.payload.as_deref().unwrap_or_default()
    }

    /// Where each of the batch's results lies in [`Self::payload`], in the
    /// order of `Batch::results`: the collector keeps these ranges as the
    /// evidence of each result rather than a copy of it.
    pub fn result_spans(&self) -> Result<Vec<Range<usize>>, WireError> {
        cbor::array_spans(self.payload(), "results")
    }

    /// Decode the result at `span` of the payload of a stored envelope. The
    /// signature is not checked here: this reads back what was verified at ingest.
    pub fn result_at(&self, span: Range<usize>) -> Result<CheckResult, WireError> {
        let bytes = self
            .payload()
            .get(span)
            .ok_or_else(|| WireError::Malformed("result range outside the payload".into()))?;
        cbor::from_canonical_slice(bytes)
    }

    /// Verify the signature with the agent's public key, then decode the payload strictly
    /// and check that it names the same agent as the envelope.
    pub fn verify(&self, key: &VerifyingKey) -> Result<Batch, WireError> {
        self.check_signature(key)?;
        self.decode()
    }

    /// [`Self::verify`] and [`Self::result_spans`] in one call, with the
    /// signature checked on a second thread while this one decodes: for a
    /// 100,000-result batch that is most of the time between receiving the
    /// bytes and storing them. Nothing decoded is returned unless the
    /// signature holds, and a bad signature is the error reported even when
    /// the payload is also malformed. (The decoder runs on bytes not yet
    /// authenticated; it is built for untrusted input either way.)
    pub fn open(&self, key: &VerifyingKey) -> Result<(Batch, Vec<Range<usize>>), WireError> {
        std::thread::scope(|scope| {
            let signature = scope.spawn(|| self.check_signature(key));
            let decoded = self
                .decode()
                .and_then(|batch| Ok((batch, self.result_spans()?)));
            let signature = signature
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            signature?;
            decoded
        })
    }

    fn check_signature(&self, key: &VerifyingKey) -> Result<(), WireError> {
        self.envelope.verify_signature(b"", |sig, tbs| {
            let sig = Signature::from_slice(sig).map_err(|_| WireError::BadSignature)?;
            key.verify_strict(tbs, &sig)
                .map_err(|_| WireError::BadSignature)
        })
    }

    /// Decode and check the payload (not the signature).
    fn decode(&self) -> Result<Batch, WireError> {
        let payload = self.envelope.payload.as_deref().unwrap_or_default();
        let batch: Batch = cbor::from_canonical_slice(payload)?;
        if batch.version != FORMAT_VERSION {
            return Err(WireError::Version(batch.version));
        }
        if batch.agent_id != self.kid {
            return Err(WireError::KidMismatch {
                kid: self.kid.clone(),
                payload: batch.agent_id,
            });
        }
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    #[test]
    fn result_spans_give_back_each_signed_result() {
        let mut batch = Batch::example();
        let mut second = batch.results[0].clone();
        second.status_extended = "second".into();
        batch.results.push(second);
        let bytes = sign(&batch, &key(1)).unwrap();
        let signed = SignedBatch::parse(&bytes).unwrap();
        let spans = signed.result_spans().unwrap();
        assert_eq!(spans.len(), batch.results.len());
        for (span, want) in spans.into_iter().zip(&batch.results) {
            assert_eq!(&signed.result_at(span).unwrap(), want);
        }
        assert!(signed.result_at(0..bytes.len() * 2).is_err());
    }

    #[test]
    fn round_trip() {
        let batch = Batch::example();
        let bytes = sign(&batch, &key(1)).unwrap();
        let parsed = SignedBatch::parse(&bytes).unwrap();
        assert_eq!(parsed.kid(), "agt-example");
        assert_eq!(parsed.verify(&key(1).verifying_key()).unwrap(), batch);
    }

    #[test]
    fn wrong_key_is_rejected() {
        let bytes = sign(&Batch::example(), &key(1)).unwrap();
        let parsed = SignedBatch::parse(&bytes).unwrap();
        assert!(matches!(
            parsed.verify(&key(2).verifying_key()),
            Err(WireError::BadSignature)
        ));
    }

    #[test]
    fn any_flipped_byte_fails() {
        let bytes = sign(&Batch::example(), &key(1)).unwrap();
        let vk = key(1).verifying_key();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            let ok = SignedBatch::parse(&bad).and_then(|p| p.verify(&vk)).is_ok();
            assert!(!ok, "flipping byte {i} still verified");
        }
    }

    #[test]
    fn open_gives_what_verify_and_result_spans_give() {
        let mut batch = Batch::example();
        batch.results.push(batch.results[0].clone());
        let bytes = sign(&batch, &key(1)).unwrap();
        let parsed = SignedBatch::parse(&bytes).unwrap();
        let (opened, spans) = parsed.open(&key(1).verifying_key()).unwrap();
        assert_eq!(opened, batch);
        assert_eq!(spans, parsed.result_spans().unwrap());
        assert!(matches!(
            parsed.open(&key(2).verifying_key()),
            Err(WireError::BadSignature)
        ));
    }

    #[test]
    fn open_reports_a_bad_signature_before_a_bad_payload() {
        // Signed garbage: the payload is not a batch.
        let k = key(1);
        let protected = HeaderBuilder::new()
            .algorithm(iana::Algorithm::EdDSA)
            .content_type(CONTENT_TYPE.to_string())
            .key_id(b"agt-example".to_vec())
            .build();
        let bytes = CoseSign1Builder::new()
            .protected(protected)
            .payload(vec![0xff, 0x00, 0x01])
            .create_signature(b"", |tbs| k.sign(tbs).to_bytes().to_vec())
            .build()
            .to_tagged_vec()
            .unwrap();
        let parsed = SignedBatch::parse(&bytes).unwrap();
        assert!(matches!(
            parsed.open(&key(2).verifying_key()),
            Err(WireError::BadSignature)
        ));
        // With the right key, the payload is what fails.
        let err = parsed.open(&k.verifying_key()).unwrap_err();
        assert!(!matches!(err, WireError::BadSignature), "{err}");
        // Every flipped byte of a good envelope still fails.
        let good = sign(&Batch::example(), &k).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            let ok = SignedBatch::parse(&bad)
                .and_then(|p| p.open(&k.verifying_key()))
                .is_ok();
            assert!(!ok, "flipping byte {i} still opened");
        }
    }

    #[test]
    fn kid_must_match_payload() {
        let mut batch = Batch::example();
        batch.agent_id = "agt-other".into();
        let payload = cbor::to_canonical_vec(&batch).unwrap();
        let protected = HeaderBuilder::new()
            .algorithm(iana::Algorithm::EdDSA)
            .content_type(CONTENT_TYPE.to_string())
            .key_id(b"agt-example".to_vec())
            .build();
        let k = key(1);
        let bytes = CoseSign1Builder::new()
            .protected(protected)
            .payload(payload)
            .create_signature(b"", |tbs| k.sign(tbs).to_bytes().to_vec())
            .build()
            .to_tagged_vec()
            .unwrap();
        let err = SignedBatch::parse(&bytes)
            .unwrap()
            .verify(&k.verifying_key())
            .unwrap_err();
        assert!(matches!(err, WireError::KidMismatch { .. }), "{err}");
    }
}
