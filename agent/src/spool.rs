//! The durable spool: every signed batch is written to disk before any push is
//! attempted and removed only once the collector has acknowledged it, so a scan
//! survives a collector outage or an agent restart.
//!
//! ```text
//! state/chain.json                          {"seq": N, "prev": "<sha256 of batch N>"}
//! state/spool/<seq:020>-<batch id>.cose     signed batches awaiting acknowledgement
//! state/spool/rejected/                     batches the collector refused for good
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Position in the agent's batch chain.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Chain {
    /// Sequence number of the last batch created.
    pub seq: u64,
    /// Hex SHA-256 of that batch's signed bytes.
    pub prev: Option<String>,
}

/// The spool directory.
pub struct Spool {
    state_dir: PathBuf,
}

impl Spool {
    /// Open (and create) the spool under `state_dir`.
    pub fn open(state_dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(state_dir.join("spool"))?;
        Ok(Self {
            state_dir: state_dir.into(),
        })
    }

    /// The chain position, starting fresh when none was recorded.
    pub fn chain(&self) -> std::io::Result<Chain> {
        match std::fs::read(self.state_dir.join("chain.json")) {
            Ok(b) => serde_json::from_slice(&b).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Chain::default()),
            Err(e) => Err(e),
        }
    }

    /// Durably store a signed batch and advance the chain to it.
    pub fn put(&self, seq: u64, batch_id: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.dir().join(format!("{seq:020}-{batch_id}.cose"));
        write_atomic(&path, bytes)?;
        let chain = Chain {
            seq,
            prev: Some(citadel_wire::sha256_hex(bytes)),
        };
        write_atomic(
            &self.state_dir.join("chain.json"),
            &serde_json::to_vec(&chain).map_err(std::io::Error::other)?,
        )?;
        Ok(path)
    }

    /// Spooled batches, oldest first.
    pub fn pending(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cose"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Forget an acknowledged batch.
    pub fn ack(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_file(path)
    }

    /// Set aside a batch the collector refused for good, keeping it for inspection.
    pub fn reject(&self, path: &Path) -> std::io::Result<PathBuf> {
        let dir = self.dir().join("rejected");
        std::fs::create_dir_all(&dir)?;
        let to = dir.join(path.file_name().unwrap_or_default());
        std::fs::rename(path, &to)?;
        Ok(to)
    }

    fn dir(&self) -> PathBuf {
        self.state_dir.join("spool")
    }
}

/// Write via a temporary file, fsync, rename: a crash leaves the old or the new file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("partial");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_pending_ack_and_chain() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        assert_eq!(spool.chain().unwrap().seq, 0);
        let a = spool.put(1, "a", b"one").unwrap();
        let b = spool.put(2, "b", b"two").unwrap();
        assert_eq!(spool.pending().unwrap(), [a.clone(), b.clone()]);
        let chain = spool.chain().unwrap();
        assert_eq!(chain.seq, 2);
        assert_eq!(chain.prev.unwrap(), citadel_wire::sha256_hex(b"two"));
        spool.ack(&a).unwrap();
        let kept = spool.reject(&b).unwrap();
        assert!(spool.pending().unwrap().is_empty());
        assert_eq!(std::fs::read(kept).unwrap(), b"two");
    }
}
