//! Golden vectors pin the wire format: a change to the schema or the encoder that
//! alters a single byte fails here. Regenerate deliberately with
//! `CITADEL_BLESS=1 cargo test -p citadel-wire --test golden` and bump `FORMAT_VERSION`
//! if old collectors could no longer read the new bytes.

use std::path::PathBuf;

use citadel_wire::{Batch, SignedBatch, from_canonical_slice, sign, to_canonical_vec};
use ed25519_dalek::SigningKey;

fn data(name: &str) -> PathBuf {
    manifest_dir().join("tests/data").join(name)
}

fn golden_key() -> SigningKey {
    let seed = std::fs::read_to_string(data("example.key.hex")).unwrap();
    let seed: [u8; 32] = hex::decode(seed.trim()).unwrap().try_into().unwrap();
    SigningKey::from_bytes(&seed)
}

fn check_or_bless(name: &str, bytes: &[u8]) {
    let path = data(name);
    if std::env::var_os("CITADEL_BLESS").is_some() {
        std::fs::write(&path, bytes).unwrap();
    }
    let golden = std::fs::read(&path).unwrap();
    assert!(golden == bytes, "{name} differs from the golden vector");
}

#[test]
fn batch_payload_matches_golden_bytes() {
    check_or_bless(
        "example.batch.cbor",
        &to_canonical_vec(&Batch::example()).unwrap(),
    );
    let decoded: Batch =
        from_canonical_slice(&std::fs::read(data("example.batch.cbor")).unwrap()).unwrap();
    assert_eq!(decoded, Batch::example());
}

#[test]
fn signed_envelope_matches_golden_bytes() {
    // Ed25519 signatures are deterministic, so the whole envelope is reproducible.
    check_or_bless(
        "example.cose",
        &sign(&Batch::example(), &golden_key()).unwrap(),
    );
    let bytes = std::fs::read(data("example.cose")).unwrap();
    let parsed = SignedBatch::parse(&bytes).unwrap();
    let batch = parsed.verify(&golden_key().verifying_key()).unwrap();
    assert_eq!(batch, Batch::example());
}

/// The package directory, read at run time: a build cache shared between
/// checkouts may hand us a binary compiled in another one.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

/// Agents released before `agent_version` existed sign batches without it; a
/// collector must still read them, as the same batch with no version.
#[test]
fn batch_without_agent_version_still_decodes() {
    let old = std::fs::read(data("example-before-agent-version.batch.cbor")).unwrap();
    let decoded: Batch = from_canonical_slice(&old).unwrap();
    let mut expected = Batch::example();
    expected.agent_version = None;
    expected.complete_lists.clear();
    assert_eq!(decoded, expected);
    assert_eq!(to_canonical_vec(&expected).unwrap(), old);
}

/// Agents released before `complete_lists` existed sign batches without it;
/// they decode as the same batch with no lists (only `complete`).
#[test]
fn batch_without_complete_lists_still_decodes() {
    let old = std::fs::read(data("example-before-complete-lists.batch.cbor")).unwrap();
    let decoded: Batch = from_canonical_slice(&old).unwrap();
    let mut expected = Batch::example();
    expected.complete_lists.clear();
    assert_eq!(decoded, expected);
    assert_eq!(to_canonical_vec(&expected).unwrap(), old);
}

/// A collector built before `complete_lists` reads a batch that has it: the
/// decoder skips keys the schema does not name, so the format version stays.
#[test]
fn older_schema_reads_a_batch_with_complete_lists() {
    #[derive(serde::Deserialize)]
    struct OldBatch {
        seq: u64,
        complete: bool,
    }
    let new = to_canonical_vec(&Batch::example()).unwrap();
    let old: OldBatch = from_canonical_slice(&new).unwrap();
    assert_eq!((old.seq, old.complete), (1, true));
}
