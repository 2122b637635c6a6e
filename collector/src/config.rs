//! `collector.toml`, kept in the collector's data directory next to its keys.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Largest batch accepted, in bytes. A 10,000-asset scan is a few MiB.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 64 << 20;

/// Collector settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorConfig {
    /// Database URL: `sqlite://citadel.db` (relative to the data directory) or `postgres://…`.
    pub database_url: String,
    /// Address of the agent ingest listener (mTLS, client certificate required).
    pub ingest_listen: SocketAddr,
    /// Address of the enrollment and API listener (server-authenticated TLS).
    pub api_listen: SocketAddr,
    /// Ingest URL handed to agents at enrollment.
    pub public_ingest_url: String,
    /// Enrollment URL printed with new tokens.
    pub public_api_url: String,
    /// Largest batch accepted, in bytes.
    #[serde(default = "default_max_batch")]
    pub max_batch_bytes: usize,
}

fn default_max_batch() -> usize {
    DEFAULT_MAX_BATCH_BYTES
}

impl CollectorConfig {
    /// Read `collector.toml` from `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("collector.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read {}: {e} (run `citadel-collector init --dir {}` first)",
                path.display(),
                dir.display()
            )
        })?;
        parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// The database URL with a relative SQLite path resolved against `dir`.
    pub fn database_url_in(&self, dir: &Path) -> String {
        match self.database_url.strip_prefix("sqlite://") {
            Some(rest) if !rest.starts_with('/') => {
                let (file, query) = rest.split_once('?').unwrap_or((rest, ""));
                let path: PathBuf = dir.join(file);
                let query = if query.is_empty() {
                    "mode=rwc".to_string()
                } else {
                    query.to_string()
                };
                format!("sqlite://{}?{query}", path.display())
            }
            _ => self.database_url.clone(),
        }
    }
}

fn parse(text: &str) -> Result<CollectorConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

impl CollectorConfig {
    /// Write `collector.toml` into `dir`.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let text = toml::to_string_pretty(self)?;
        let header = "# Citadel collector settings. Paths are relative to this directory.\n";
        std::fs::write(dir.join("collector.toml"), format!("{header}{text}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_sqlite_paths_resolve_against_the_data_dir() {
        let mut c = CollectorConfig {
            database_url: "sqlite://citadel.db".into(),
            ingest_listen: "127.0.0.1:8443".parse().unwrap(),
            api_listen: "127.0.0.1:8444".parse().unwrap(),
            public_ingest_url: "https://localhost:8443".into(),
            public_api_url: "https://localhost:8444".into(),
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
        };
        assert_eq!(
            c.database_url_in(Path::new("/data")),
            "sqlite:///data/citadel.db?mode=rwc"
        );
        c.database_url = "postgres://localhost/citadel".into();
        assert_eq!(
            c.database_url_in(Path::new("/data")),
            "postgres://localhost/citadel"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("collector.toml"),
            "database_url = 1\nbogus = true\n",
        )
        .unwrap();
        let err = CollectorConfig::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("collector.toml"), "{err}");
    }
}
