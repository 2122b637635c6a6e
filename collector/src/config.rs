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
    /// Sign-in: session lifetimes and login throttling.
    #[serde(default)]
    pub auth: AuthConfig,
    /// What one client may send and hold: sizes, timeouts, connections, rates.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Seconds between reads of the revoked agents, which the TLS listener
    /// refuses at the handshake. A revocation through this collector's API
    /// applies at once; one by the CLI or another collector within this time.
    #[serde(default = "default_revocation_refresh")]
    pub revocation_refresh_secs: u64,
}

fn default_revocation_refresh() -> u64 {
    30
}

/// `[limits]` in collector.toml. Every refusal these cause is a 4xx with a
/// code (`too_large`, `request_timeout`, `rate_limited`, `too_many_items`);
/// nothing is stored and the server keeps serving.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Seconds a client may take to send a request's headers (slowloris).
    pub header_timeout_secs: u64,
    /// Seconds an agent may take to send a batch's body once its headers
    /// are in: 64 MiB at 1 MiB/s, with room to spare.
    pub ingest_body_timeout_secs: u64,
    /// Seconds an API request may take end to end (headers excepted).
    pub api_request_timeout_secs: u64,
    /// Open connections on the agent listener; more wait to be accepted.
    pub ingest_max_connections: usize,
    /// Open connections on the API listener; more wait to be accepted.
    pub api_max_connections: usize,
    /// Largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
    /// Batches one agent may send per minute, on average.
    pub agent_batches_per_minute: u32,
    /// Batches one agent may send at once after being quiet.
    pub agent_batch_burst: u32,
    /// Enrollment attempts per minute from one address.
    pub enrollments_per_minute: u32,
    /// Enrollments handled at once; more wait, without holding a database
    /// connection, so enrollment cannot starve ingest of them.
    pub enrollment_concurrency: usize,
    /// Assets in one batch part.
    pub max_assets_per_part: usize,
    /// Results in one batch part.
    pub max_results_per_part: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            header_timeout_secs: 10,
            ingest_body_timeout_secs: 120,
            api_request_timeout_secs: 60,
            // An agent holds one connection while it pushes; a thousand
            // agents pushing at the same moment is a large fleet.
            ingest_max_connections: 1024,
            api_max_connections: 256,
            max_header_bytes: 64 << 10,
            // An agent scans hourly and sends a few parts and heartbeats:
            // two batches a second sustained is far beyond any honest agent,
            // and the burst lets a spool drained after an outage through.
            agent_batches_per_minute: 120,
            agent_batch_burst: 120,
            enrollments_per_minute: 60,
            enrollment_concurrency: 2,
            // A 64 MiB part holds about a million minimal results.
            max_assets_per_part: 250_000,
            max_results_per_part: 1_000_000,
        }
    }
}

/// `[auth]` in collector.toml.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A console session unused this many minutes ends.
    pub session_idle_minutes: u32,
    /// A session ends this many hours after sign-in, used or not.
    pub session_hours: u32,
    /// Window over which failed sign-ins are counted, in minutes.
    pub login_window_minutes: u32,
    /// Failed sign-ins of one account within the window before it is refused.
    pub login_failures_per_account: u32,
    /// Failed sign-ins from one address within the window before it is refused.
    pub login_failures_per_source: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            // OWASP's session guidance: idle timeouts of 15–30 minutes for
            // sensitive applications, an absolute timeout of a working day.
            session_idle_minutes: 30,
            session_hours: 12,
            login_window_minutes: 15,
            // Five guesses per account per window: a person who mistypes
            // gets through, a guesser gets 480 tries a day.
            login_failures_per_account: 5,
            // An office behind one NAT address may hold many accounts.
            login_failures_per_source: 50,
        }
    }
}

impl AuthConfig {
    /// The session policy the store applies.
    pub fn session(&self) -> crate::store::SessionPolicy {
        crate::store::SessionPolicy {
            idle_ms: i64::from(self.session_idle_minutes.max(1)) * 60_000,
            absolute_ms: i64::from(self.session_hours.max(1)) * 3_600_000,
        }
    }

    /// The throttling policy the store applies.
    pub fn throttle(&self) -> crate::store::ThrottlePolicy {
        crate::store::ThrottlePolicy {
            window_ms: i64::from(self.login_window_minutes.max(1)) * 60_000,
            per_account: i64::from(self.login_failures_per_account.max(1)),
            per_source: i64::from(self.login_failures_per_source.max(1)),
        }
    }
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
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            revocation_refresh_secs: 30,
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
    fn limits_default_when_absent_and_parse_when_set() {
        let base = "database_url = \"sqlite://c.db\"\ningest_listen = \"127.0.0.1:1\"\n\
                    api_listen = \"127.0.0.1:2\"\npublic_ingest_url = \"https://a\"\n\
                    public_api_url = \"https://b\"\n";
        let c = parse(base).unwrap();
        assert_eq!(
            c.limits.agent_batch_burst,
            LimitsConfig::default().agent_batch_burst
        );
        let c = parse(&format!("{base}[limits]\nagent_batch_burst = 3\n")).unwrap();
        assert_eq!(c.limits.agent_batch_burst, 3);
        assert_eq!(c.limits.header_timeout_secs, 10);
        assert!(parse(&format!("{base}[limits]\nbogus = 3\n")).is_err());
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
