//! The durable spool: every signed batch is written to disk before any push is
//! attempted and removed only once the collector has acknowledged it, so a scan
//! survives a collector outage or an agent restart.
//!
//! ```text
//! state/chain.json                          {"seq": N, "prev": "<sha256 of batch N>"}
//! state/spool/<seq:020>-<batch id>.cose     signed batches awaiting acknowledgement
//! state/spool/rejected/                     batches the collector refused for good
//! state/spool/quarantine/                   unreadable files found at start-up
//! state/agent.lock                          held by the process that writes the chain
//! ```
//!
//! **Crash safety.** A batch file is written atomically (temporary file,
//! fsync, rename) before `chain.json` is advanced to it, and `chain.json`
//! survives acknowledgements. A crash between the two writes leaves a batch
//! file newer than the chain; [`Spool::open`] rebuilds the chain from the
//! highest sequence number among `chain.json` and every spooled, rejected or
//! quarantined file, so a sequence number is never used twice.
//!
//! **Bounds.** The spool holds at most `max_batches` batches and `max_bytes`
//! bytes. When a new batch does not fit, the scan's batch is not kept: the
//! caller records a `scan_skipped` incident, which the next batch that fits
//! carries, signed, to the collector. Nothing already spooled is dropped.
//!
//! **Damage.** A spooled file that is truncated or not a signed batch of the
//! sequence number its name says, or a `chain.json` that does not parse, is
//! moved to `quarantine/` and reported ([`Spool::quarantined`]); the agent
//! carries on without it.

use std::path::{Path, PathBuf};

use citadel_wire::{Batch, SignedBatch};
use serde::{Deserialize, Serialize};

use crate::fsutil::{PARTIAL_SUFFIX, private_dir, write_atomic};

/// Position in the agent's batch chain.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// Sequence number of the last batch created.
    pub seq: u64,
    /// Hex SHA-256 of that batch's signed bytes.
    pub prev: Option<String>,
}

/// How much the spool may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolLimits {
    /// Most batches awaiting acknowledgement.
    pub max_batches: usize,
    /// Most bytes awaiting acknowledgement.
    pub max_bytes: u64,
}

impl Default for SpoolLimits {
    fn default() -> Self {
        Self {
            max_batches: 1000,
            max_bytes: 512 << 20,
        }
    }
}

/// Batches awaiting acknowledgement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Depth {
    /// How many.
    pub batches: usize,
    /// Their total size.
    pub bytes: u64,
}

/// A spool problem.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The file system failed.
    #[error("spool: {0}")]
    Io(#[from] std::io::Error),
    /// A new batch does not fit.
    #[error(
        "the spool is full ({} batches, {} bytes; limits {} batches, {} bytes): the collector has not acknowledged them",
        .depth.batches, .depth.bytes, .limits.max_batches, .limits.max_bytes
    )]
    Full {
        /// What it holds.
        depth: Depth,
        /// Its limits.
        limits: SpoolLimits,
    },
    /// A batch would not follow the chain (a bug, or two writers).
    #[error("batch {seq} does not follow the chain at {chain}")]
    OutOfOrder {
        /// The batch's sequence number.
        seq: u64,
        /// The chain's.
        chain: u64,
    },
    /// Another process holds the state directory.
    #[error(
        "another citadel-agent is using {0} (it holds agent.lock); stop it or use another state_dir"
    )]
    Locked(PathBuf),
}

/// A file set aside at start-up, for the report.
#[derive(Debug, Clone)]
pub struct Quarantined {
    /// Where it is now.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// The spool directory.
#[derive(Debug)]
pub struct Spool {
    state_dir: PathBuf,
    limits: SpoolLimits,
    quarantined: Vec<Quarantined>,
}

impl Spool {
    /// Open (and create) the spool under `state_dir` with the default limits.
    pub fn open(state_dir: &Path) -> Result<Self, SpoolError> {
        Self::open_with(state_dir, SpoolLimits::default())
    }

    /// Open (and create) the spool, quarantining damaged files and rebuilding
    /// the chain position from what is on disk.
    pub fn open_with(state_dir: &Path, limits: SpoolLimits) -> Result<Self, SpoolError> {
        private_dir(state_dir)?;
        private_dir(&state_dir.join("spool"))?;
        let mut spool = Self {
            state_dir: state_dir.into(),
            limits,
            quarantined: Vec::new(),
        };
        spool.recover()?;
        Ok(spool)
    }

    /// Open without recovering or creating anything, for `status`.
    pub fn inspect(state_dir: &Path, limits: SpoolLimits) -> Self {
        Self {
            state_dir: state_dir.into(),
            limits,
            quarantined: Vec::new(),
        }
    }

    /// Take the state directory for this process: one writer per chain.
    /// The lock goes with the returned file (and with the process, however
    /// it ends).
    pub fn lock(&self) -> Result<std::fs::File, SpoolError> {
        let path = self.state_dir.join("agent.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(SpoolError::Locked(self.state_dir.clone()))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }

    /// Files set aside when the spool was opened.
    pub fn quarantined(&self) -> &[Quarantined] {
        &self.quarantined
    }

    /// The limits.
    pub fn limits(&self) -> SpoolLimits {
        self.limits
    }

    /// The chain position, starting fresh when none was recorded.
    pub fn chain(&self) -> Result<Chain, SpoolError> {
        match std::fs::read(self.chain_path()) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| SpoolError::Io(std::io::Error::other(format!("chain.json: {e}")))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Chain::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a batch of `len` bytes fits.
    pub fn check_room(&self, len: u64) -> Result<(), SpoolError> {
        let depth = self.depth()?;
        if depth.batches >= self.limits.max_batches
            || depth.bytes.saturating_add(len) > self.limits.max_bytes
        {
            return Err(SpoolError::Full {
                depth,
                limits: self.limits,
            });
        }
        Ok(())
    }

    /// Durably store a signed batch and advance the chain to it. The batch
    /// must be the chain's next and fit the limits.
    pub fn put(&self, seq: u64, batch_id: &str, bytes: &[u8]) -> Result<PathBuf, SpoolError> {
        let chain = self.chain()?;
        if seq != chain.seq + 1 {
            return Err(SpoolError::OutOfOrder {
                seq,
                chain: chain.seq,
            });
        }
        self.check_room(bytes.len() as u64)?;
        let path = self.dir().join(format!("{seq:020}-{batch_id}.cose"));
        // The batch first: once it is on disk, start-up finds its seq even if
        // the chain write below never happens.
        write_atomic(&path, bytes)?;
        self.write_chain(&Chain {
            seq,
            prev: Some(citadel_wire::sha256_hex(bytes)),
        })?;
        Ok(path)
    }

    /// Spooled batches, oldest first.
    pub fn pending(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files = cose_files(&self.dir())?;
        files.sort();
        Ok(files)
    }

    /// How much is spooled.
    pub fn depth(&self) -> std::io::Result<Depth> {
        let mut depth = Depth::default();
        for p in self.pending()? {
            // A file acknowledged meanwhile (by the push loop) is simply gone.
            if let Ok(m) = std::fs::metadata(&p) {
                depth.batches += 1;
                depth.bytes += m.len();
            }
        }
        Ok(depth)
    }

    /// Batches set aside as refused or damaged: (rejected, quarantined).
    pub fn set_aside(&self) -> (usize, usize) {
        let count = |d: PathBuf| std::fs::read_dir(d).map_or(0, |r| r.count());
        (
            count(self.dir().join("rejected")),
            count(self.dir().join("quarantine")),
        )
    }

    /// Forget an acknowledged batch.
    pub fn ack(&self, path: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Set aside a batch the collector refused for good, keeping it for inspection.
    pub fn reject(&self, path: &Path) -> std::io::Result<PathBuf> {
        self.move_to("rejected", path)
    }

    fn move_to(&self, sub: &str, path: &Path) -> std::io::Result<PathBuf> {
        let dir = self.dir().join(sub);
        private_dir(&dir)?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let mut to = dir.join(&*name);
        // Never overwrite something set aside earlier.
        let mut n = 1;
        while to.exists() {
            to = dir.join(format!("{name}.{n}"));
            n += 1;
        }
        std::fs::rename(path, &to)?;
        std::fs::File::open(self.dir())?.sync_all()?;
        Ok(to)
    }

    fn quarantine(&mut self, path: &Path, reason: String) -> std::io::Result<()> {
        let moved = self.move_to("quarantine", path)?;
        tracing::error!(file = %moved.display(), %reason, "Damaged spool file quarantined.");
        self.quarantined.push(Quarantined {
            path: moved,
            reason,
        });
        Ok(())
    }

    /// Start-up: drop half-written files, quarantine damaged ones, and make
    /// `chain.json` at least as far as the newest batch on disk.
    fn recover(&mut self) -> Result<(), SpoolError> {
        for dir in [self.state_dir.clone(), self.dir()] {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.to_string_lossy().ends_with(PARTIAL_SUFFIX) {
                    std::fs::remove_file(&path)?;
                }
            }
        }
        let mut chain = match std::fs::read(self.chain_path()) {
            Ok(b) => match serde_json::from_slice::<Chain>(&b) {
                Ok(c) => c,
                Err(e) => {
                    let path = self.chain_path();
                    self.quarantine(&path, format!("unreadable chain position: {e}"))?;
                    Chain::default()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Chain::default(),
            Err(e) => return Err(e.into()),
        };
        let recorded = chain.clone();
        for path in self.pending()? {
            let bytes = std::fs::read(&path)?;
            let named = seq_of(&path);
            if let Err(reason) = check_batch(named, &bytes) {
                self.quarantine(&path, reason)?;
            }
            if let Some(seq) = named
                && seq > chain.seq
            {
                chain = Chain {
                    seq,
                    prev: Some(citadel_wire::sha256_hex(&bytes)),
                };
            }
        }
        for sub in ["rejected", "quarantine"] {
            for path in cose_files(&self.dir().join(sub))? {
                if let Some(seq) = seq_of(&path)
                    && seq > chain.seq
                {
                    let bytes = std::fs::read(&path)?;
                    chain = Chain {
                        seq,
                        prev: Some(citadel_wire::sha256_hex(&bytes)),
                    };
                }
            }
        }
        if chain != recorded {
            tracing::warn!(
                from = recorded.seq,
                to = chain.seq,
                "Chain position rebuilt from the spool (the agent stopped while spooling)."
            );
            self.write_chain(&chain)?;
        }
        Ok(())
    }

    fn write_chain(&self, chain: &Chain) -> std::io::Result<()> {
        write_atomic(
            &self.chain_path(),
            &serde_json::to_vec(chain).map_err(std::io::Error::other)?,
        )
    }

    fn chain_path(&self) -> PathBuf {
        self.state_dir.join("chain.json")
    }

    fn dir(&self) -> PathBuf {
        self.state_dir.join("spool")
    }
}

/// `*.cose` files directly in `dir` (none if it does not exist).
fn cose_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "cose") && path.is_file() {
            files.push(path);
        }
    }
    Ok(files)
}

/// The sequence number in a spool file's name (`<seq:020>-<batch id>.cose`).
fn seq_of(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let (seq, _) = name.split_once('-')?;
    (seq.len() == 20).then(|| seq.parse().ok()).flatten()
}

/// A spooled file must be a signed batch whose payload decodes and carries
/// the sequence number its name says. The signature is the collector's to
/// check; this catches truncation and stray files.
fn check_batch(named: Option<u64>, bytes: &[u8]) -> Result<(), String> {
    let Some(named) = named else {
        return Err("the file name has no sequence number".into());
    };
    let signed = SignedBatch::parse(bytes).map_err(|e| format!("not a signed batch: {e}"))?;
    let batch: Batch = citadel_wire::from_canonical_slice(signed.payload())
        .map_err(|e| format!("the batch does not decode: {e}"))?;
    if batch.seq != named {
        return Err(format!(
            "the file is named for seq {named} but holds seq {}",
            batch.seq
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signed batch at `seq`, as the scan would spool it.
    fn signed(seq: u64) -> (String, Vec<u8>) {
        let mut b = Batch::example();
        b.seq = seq;
        b.batch_id = uuid::Uuid::now_v7();
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        (
            b.batch_id.to_string(),
            citadel_wire::sign(&b, &key).unwrap(),
        )
    }

    fn put(spool: &Spool, seq: u64) -> (PathBuf, Vec<u8>) {
        let (id, bytes) = signed(seq);
        (spool.put(seq, &id, &bytes).unwrap(), bytes)
    }

    #[test]
    fn put_pending_ack_and_chain() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.chain().unwrap().seq, 0);
        let (a, _) = put(&spool, 1);
        let (b, two) = put(&spool, 2);
        assert_eq!(spool.pending().unwrap(), [a.clone(), b.clone()]);
        let chain = spool.chain().unwrap();
        assert_eq!(chain.seq, 2);
        assert_eq!(chain.prev.unwrap(), citadel_wire::sha256_hex(&two));
        spool.ack(&a).unwrap();
        let kept = spool.reject(&b).unwrap();
        assert!(spool.pending().unwrap().is_empty());
        assert_eq!(std::fs::read(kept).unwrap(), two);
        // The chain survives acknowledgements.
        assert_eq!(Spool::open(dir.path()).unwrap().chain().unwrap().seq, 2);
        // A batch that does not follow the chain is refused.
        let (id, bytes) = signed(2);
        assert!(matches!(
            spool.put(2, &id, &bytes),
            Err(SpoolError::OutOfOrder { seq: 2, chain: 2 })
        ));
    }

    #[test]
    fn a_crash_between_batch_and_chain_never_reuses_a_seq() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        put(&spool, 1);
        // Batch 2 reached the disk, chain.json did not (the old one stays),
        // and a half-written batch 3 was left behind.
        let chain_before = std::fs::read(dir.path().join("chain.json")).unwrap();
        let (_, two) = put(&spool, 2);
        std::fs::write(dir.path().join("chain.json"), chain_before).unwrap();
        std::fs::write(dir.path().join("spool/x.cose.partial"), b"half").unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let chain = spool.chain().unwrap();
        assert_eq!(chain.seq, 2);
        assert_eq!(chain.prev, Some(citadel_wire::sha256_hex(&two)));
        assert!(!dir.path().join("spool/x.cose.partial").exists());
        assert!(spool.quarantined().is_empty());
        // Also when the newest batch was already set aside as rejected.
        let (p3, _) = put(&spool, 3);
        spool.reject(&p3).unwrap();
        std::fs::write(dir.path().join("chain.json"), br#"{"seq":2,"prev":null}"#).unwrap();
        assert_eq!(Spool::open(dir.path()).unwrap().chain().unwrap().seq, 3);
    }

    #[test]
    fn damaged_files_are_quarantined_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let (p1, _) = put(&spool, 1);
        let (p2, two) = put(&spool, 2);
        // Batch 2 truncated, batch 1 renamed to claim another seq, a stray file.
        std::fs::write(&p2, &two[..two.len() / 2]).unwrap();
        let liar = dir.path().join(format!("spool/{:020}-x.cose", 7));
        std::fs::rename(&p1, &liar).unwrap();
        std::fs::write(dir.path().join("spool/notes.cose"), b"hello").unwrap();
        std::fs::write(dir.path().join("chain.json"), b"{\"seq\":").unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert!(spool.pending().unwrap().is_empty());
        assert_eq!(spool.quarantined().len(), 4, "{:?}", spool.quarantined());
        assert_eq!(spool.set_aside(), (0, 4));
        // The chain never goes back: 7 is the highest seq seen on disk.
        assert_eq!(spool.chain().unwrap().seq, 7);
        // Opening again finds nothing new to quarantine, and the spool works.
        let spool = Spool::open(dir.path()).unwrap();
        assert!(spool.quarantined().is_empty());
        put(&spool, 8);
    }

    #[test]
    fn limits_by_count_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (_, sample) = signed(1);
        let len = sample.len() as u64;
        let spool = Spool::open_with(
            dir.path(),
            SpoolLimits {
                max_batches: 2,
                max_bytes: u64::MAX,
            },
        )
        .unwrap();
        let (a, _) = put(&spool, 1);
        put(&spool, 2);
        let (id, bytes) = signed(3);
        let err = spool.put(3, &id, &bytes).unwrap_err();
        assert!(
            matches!(
                err,
                SpoolError::Full {
                    depth: Depth { batches: 2, .. },
                    ..
                }
            ),
            "{err}"
        );
        // Refused, nothing changed: same chain, same files.
        assert_eq!(spool.chain().unwrap().seq, 2);
        assert_eq!(spool.depth().unwrap().batches, 2);
        spool.ack(&a).unwrap();
        spool.put(3, &id, &bytes).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open_with(
            dir.path(),
            SpoolLimits {
                max_batches: 100,
                max_bytes: len * 2 + len / 2,
            },
        )
        .unwrap();
        put(&spool, 1);
        put(&spool, 2);
        assert!(matches!(
            spool.check_room(len),
            Err(SpoolError::Full { .. })
        ));
        assert!(spool.check_room(len / 4).is_ok());
        assert_eq!(spool.depth().unwrap().bytes, 2 * len);
    }

    #[test]
    fn one_writer_per_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let held = spool.lock().unwrap();
        assert!(matches!(spool.lock(), Err(SpoolError::Locked(_))));
        drop(held);
        spool.lock().unwrap();
    }

    #[test]
    fn the_spool_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let spool = Spool::open(&state).unwrap();
        let (p, _) = put(&spool, 1);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&state.join("spool")), 0o700);
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(&state.join("chain.json")), 0o600);
    }
}
