//! Splitting a scan into parts that each fit under a size limit.
//!
//! A scan's batch is cut between assets: each part carries some assets with
//! their results and the edges that start at them, plus the whole check
//! catalog and plugin list (results must name checks of their own batch).
//! Every part shares the scan id and the lists read in full, and says which
//! part of how many it is; the collector marks assets inactive only once
//! every part has arrived.
//!
//! A part the collector still refuses as too large (HTTP 413) is split again
//! in place: part `i` of `n` cut in `k` becomes parts `i·k + j` of `n·k`,
//! which cover the same share of the scan (see the collector's
//! `covers_scan`).

use std::collections::HashMap;
use std::path::Path;

use citadel_wire::{Batch, CheckResult, Relationship};
use uuid::Uuid;

use crate::identity::Identity;
use crate::spool::Spool;

/// Default `max_batch_bytes`: far below the collector's default body limit
/// (64 MiB), so a part never nears it and stays quick to verify and store.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 8 << 20;

/// Room left for the COSE envelope and the CBOR length prefixes a size
/// estimate from the pieces does not count.
const ENVELOPE_MARGIN: usize = 1024;

/// One asset with what travels with it.
struct Unit {
    asset: Option<citadel_wire::Asset>,
    results: Vec<CheckResult>,
    relationships: Vec<Relationship>,
    bytes: usize,
}

fn encoded_len<T: serde::Serialize>(v: &T) -> usize {
    // Invariant: batch pieces are plain data and always encode.
    citadel_wire::to_canonical_vec(v).map_or(0, |b| b.len())
}

/// Split `batch` (part `part` of `parts` of its scan, chain fields unset)
/// into parts of at most about `max_bytes` signed bytes each. A single
/// asset with its results larger than that still travels, alone.
///
/// The parts are numbered in the grid of `batch`: with `k` pieces, piece
/// `j` is part `batch.part · k + j` of `batch.parts · k`.
pub fn split(batch: Batch, max_bytes: usize) -> Vec<Batch> {
    let mut shell = batch.clone();
    shell.assets.clear();
    shell.results.clear();
    shell.relationships.clear();
    let overhead = encoded_len(&shell) + ENVELOPE_MARGIN;
    let budget = max_bytes.saturating_sub(overhead).max(1);

    let units = units(batch.assets, batch.results, batch.relationships);
    let mut groups: Vec<Vec<Unit>> = vec![Vec::new()];
    let mut used = 0;
    for unit in units {
        let last = groups.last_mut().expect("groups start non-empty");
        if !last.is_empty() && used + unit.bytes > budget {
            groups.push(Vec::new());
            used = 0;
        }
        used += unit.bytes;
        groups.last_mut().expect("just pushed").push(unit);
    }
    let k = groups.len() as u32;
    let single = k == 1 && batch.parts == 1;
    groups
        .into_iter()
        .enumerate()
        .map(|(j, group)| {
            let mut part = shell.clone();
            if !single {
                part.batch_id = Uuid::now_v7();
                part.part = batch.part * k + j as u32;
                part.parts = batch.parts * k;
                // Only a batch holding the whole scan may claim it all:
                // a collector from before parts deactivates on `complete`.
                part.complete = false;
            }
            for u in group {
                part.assets.extend(u.asset);
                part.results.extend(u.results);
                part.relationships.extend(u.relationships);
            }
            part
        })
        .collect()
}

/// Assets with their results and outgoing edges, in the batch's order;
/// edges from no asset of the batch ride with the first.
fn units(
    assets: Vec<citadel_wire::Asset>,
    results: Vec<CheckResult>,
    relationships: Vec<Relationship>,
) -> Vec<Unit> {
    let index: HashMap<String, usize> = assets
        .iter()
        .enumerate()
        .map(|(n, a)| (a.source_id.clone(), n))
        .collect();
    let mut units: Vec<Unit> = assets
        .into_iter()
        .map(|a| Unit {
            bytes: encoded_len(&a),
            asset: Some(a),
            results: Vec::new(),
            relationships: Vec::new(),
        })
        .collect();
    let mut loose = Unit {
        asset: None,
        results: Vec::new(),
        relationships: Vec::new(),
        bytes: 0,
    };
    for r in results {
        let bytes = encoded_len(&r);
        // Results name assets of their own batch (the collector checks).
        let unit = match index.get(&r.asset) {
            Some(&n) => &mut units[n],
            None => &mut loose,
        };
        unit.bytes += bytes;
        unit.results.push(r);
    }
    for rel in relationships {
        let bytes = encoded_len(&rel);
        let unit = match index.get(&rel.from) {
            Some(&n) => &mut units[n],
            None => &mut loose,
        };
        unit.bytes += bytes;
        unit.relationships.push(rel);
    }
    if loose.bytes > 0 {
        units.insert(0, loose);
    }
    units
}

/// Why a refused part could not be split again.
#[derive(Debug, thiserror::Error)]
pub enum ResplitError {
    /// Reading or writing the spool failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The spooled file is not a batch this agent signed.
    #[error("spooled batch is unreadable: {0}")]
    Wire(#[from] citadel_wire::WireError),
    /// The spool refused a part (full, or out of order).
    #[error(transparent)]
    Spool(#[from] crate::spool::SpoolError),
}

impl From<ResplitError> for std::io::Error {
    fn from(e: ResplitError) -> Self {
        match e {
            ResplitError::Io(e) => e,
            ResplitError::Wire(e) => std::io::Error::other(e),
            ResplitError::Spool(e) => std::io::Error::other(e),
        }
    }
}

/// Split the spooled batch at `path`, which the collector refused as too
/// large, into two or more smaller parts at the end of the chain, and drop
/// it. False, changing nothing, when it holds a single asset and cannot be
/// cut smaller.
pub fn resplit_spooled(
    identity: &Identity,
    spool: &Spool,
    path: &Path,
) -> Result<bool, ResplitError> {
    let bytes = std::fs::read(path)?;
    let signed = citadel_wire::SignedBatch::parse(&bytes)?;
    let batch = signed.verify(&identity.key.verifying_key())?;
    if batch.assets.len() < 2 {
        return Ok(false);
    }
    let pieces = split(batch, bytes.len() / 2);
    if pieces.len() < 2 {
        return Ok(false);
    }
    tracing::warn!(
        path = %path.display(),
        parts = pieces.len(),
        "The collector refused a batch as too large; split it smaller."
    );
    for piece in pieces {
        sign_and_spool(identity, spool, piece)?;
    }
    spool.ack(path)?;
    Ok(true)
}

/// Give `batch` the next place in the chain, sign it and spool it.
pub fn sign_and_spool(
    identity: &Identity,
    spool: &Spool,
    mut batch: Batch,
) -> Result<(Batch, Vec<u8>), ResplitError> {
    let chain = spool.chain()?;
    batch.seq = chain.seq + 1;
    batch.prev = chain.prev;
    let bytes = citadel_wire::sign(&batch, &identity.key)?;
    spool.put(batch.seq, &batch.batch_id.to_string(), &bytes)?;
    Ok((batch, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example batch with `n` assets, each with one result and an edge.
    fn big(n: usize) -> Batch {
        let mut b = Batch::example();
        let (asset, result, rel) = (
            b.assets[0].clone(),
            b.results[0].clone(),
            b.relationships[0].clone(),
        );
        b.assets.clear();
        b.results.clear();
        b.relationships.clear();
        for i in 0..n {
            let id = format!("{}-{i}", asset.source_id);
            b.assets.push(citadel_wire::Asset {
                source_id: id.clone(),
                raw: "x".repeat(500),
                ..asset.clone()
            });
            b.results.push(CheckResult {
                asset: id.clone(),
                ..result.clone()
            });
            b.relationships.push(Relationship {
                from: id,
                ..rel.clone()
            });
        }
        b
    }

    #[test]
    fn parts_fit_share_the_scan_and_keep_everything() {
        let batch = big(100);
        let parts = split(batch.clone(), 8 << 10);
        assert!(parts.len() > 5, "{}", parts.len());
        let n = parts.len() as u32;
        for (i, p) in parts.iter().enumerate() {
            assert_eq!((p.part, p.parts, p.scan_id), (i as u32, n, batch.scan_id));
            assert!(!p.complete);
            assert_eq!(p.complete_lists, batch.complete_lists);
            assert_eq!(p.checks, batch.checks);
            let len = citadel_wire::to_canonical_vec(p).unwrap().len();
            assert!(len <= 8 << 10, "part {i} is {len} bytes");
            // Each part is valid on its own: results name its own assets.
            for r in &p.results {
                assert!(p.assets.iter().any(|a| a.source_id == r.asset));
            }
        }
        let ids: std::collections::BTreeSet<Uuid> = parts.iter().map(|p| p.batch_id).collect();
        assert_eq!(ids.len(), parts.len());
        let all = |f: fn(&Batch) -> usize| parts.iter().map(f).sum::<usize>();
        assert_eq!(all(|p| p.assets.len()), 100);
        assert_eq!(all(|p| p.results.len()), 100);
        assert_eq!(all(|p| p.relationships.len()), 100);
    }

    #[test]
    fn a_small_scan_stays_one_complete_batch() {
        let batch = big(3);
        let parts = split(batch.clone(), DEFAULT_MAX_BATCH_BYTES);
        assert_eq!(parts, vec![batch]);
    }

    #[test]
    fn a_part_split_again_covers_its_own_share() {
        let mut part = big(10);
        (part.part, part.parts, part.complete) = (1, 3, false);
        let pieces = split(part, 3 << 10);
        let k = pieces.len() as u32;
        assert!(k >= 2);
        for (j, p) in pieces.iter().enumerate() {
            assert_eq!((p.part, p.parts), (k + j as u32, 3 * k));
        }
    }
}
