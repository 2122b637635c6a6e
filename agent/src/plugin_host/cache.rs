//! On-disk cache of compiled plugins.
//!
//! Compiling a component with Cranelift takes hundreds of milliseconds; loading
//! native code that was compiled before takes a few. Loading native code is
//! also the one place where a file on disk becomes code we jump into without
//! any checking, so the cache is built to never load what this host did not
//! write:
//!
//! - the key is the component's SHA-256 plus a digest of the engine's
//!   compatibility hash (wasmtime version, target, settings), so a component,
//!   or an engine, that changes never meets an old artifact;
//! - every artifact is followed by an HMAC-SHA256 tag under a 32-byte key
//!   created on first use in the cache directory (mode 0600); an artifact
//!   whose tag does not verify is ignored and rebuilt;
//! - files are written to a temporary name and renamed into place, so a crash
//!   leaves either no artifact or a whole one.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

type HmacSha256 = Hmac<Sha256>;

const TAG_LEN: usize = 32;

/// A compiled-plugin cache in one directory.
pub struct Cache {
    dir: PathBuf,
    key: [u8; 32],
    engine_digest: String,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Feeds `Hash` output into SHA-256, for a stable digest of the engine's
/// compatibility hash.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl Cache {
    /// Open (creating) the cache in `dir` for `engine`.
    pub fn open(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let key_path = dir.join("cache.key");
        let key = match std::fs::read(&key_path) {
            Ok(k) if k.len() == 32 => k.try_into().expect("length checked"),
            _ => {
                let mut key = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
                write_atomic(&key_path, &key, true)?;
                // Artifacts tagged under an older key can no longer be trusted.
                for entry in std::fs::read_dir(dir)?.flatten() {
                    if entry.path().extension().is_some_and(|x| x == "cwasm") {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
                key
            }
        };
        let mut hasher = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_digest = hex::encode(&hasher.0.finalize()[..8]);
        Ok(Self {
            dir: dir.to_path_buf(),
            key,
            engine_digest,
        })
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir
            .join(format!("{sha256}-{}.cwasm", self.engine_digest))
    }

    fn tag(&self, bytes: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("any key length");
        mac.update(bytes);
        mac.finalize().into_bytes().into()
    }

    /// The compiled component for `sha256`, if this host cached it before.
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let data = std::fs::read(self.path(sha256)).ok()?;
        if data.len() < TAG_LEN {
            return None;
        }
        let (artifact, tag) = data.split_at(data.len() - TAG_LEN);
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("any key length");
        mac.update(artifact);
        if mac.verify_slice(tag).is_err() {
            tracing::warn!(
                sha256,
                "Ignoring a cached plugin artifact this host did not write."
            );
            return None;
        }
        // SAFETY: `Component::deserialize` trusts its input to be native code
        // produced by a compatible wasmtime. The bytes carry an HMAC under a key
        // only this host holds, and are written only by `store` below from
        // `Component::serialize` of an engine with the same compatibility hash
        // (part of the file name), so they are exactly such an artifact.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, artifact) };
        match component {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(sha256, error = %e, "Cached plugin artifact unusable; recompiling.");
                None
            }
        }
    }

    /// Cache a compiled component. Failures only cost a recompile later.
    pub fn store(&self, sha256: &str, component: &Component) {
        let result = component
            .serialize()
            .map_err(std::io::Error::other)
            .and_then(|mut bytes| {
                let tag = self.tag(&bytes);
                bytes.extend_from_slice(&tag);
                write_atomic(&self.path(sha256), &bytes, false)
            });
        if let Err(e) = result {
            tracing::warn!(sha256, error = %e, "Cannot cache the compiled plugin.");
        }
    }
}

fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let _ = secret;
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
