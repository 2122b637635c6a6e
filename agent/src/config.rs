//! `agent.toml`: what to scan and where to send it.
//!
//! The file is parsed into [`RawConfig`] (every field documented, unknown keys
//! rejected) and validated into [`Config`]; all problems are reported at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::plugin_host::trust::{self, Publisher};
use crate::plugin_host::{LimitOverrides, Limits};
use crate::spool::SpoolLimits;

/// Default directory for the agent's key, certificate and spool, relative to the config file.
const DEFAULT_STATE_DIR: &str = "state";

/// The config file as written by the operator.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where the agent keeps its identity (key, certificate) and spooled batches.
    /// Relative paths are relative to the config file. Default: `state`.
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// Directory of check-pack components (`*.wasm`). Relative to the config file.
    pub plugins_dir: PathBuf,
    /// Collector ingest URL (mTLS). Default: the URL the collector returned at enrollment.
    #[serde(default)]
    pub collector_url: Option<Url>,
    /// Cloud accounts to scan.
    #[serde(default, rename = "integration")]
    pub integrations: Vec<RawIntegration>,
    /// Audit thresholds served to plugins through `inventory.config` (Prowler's names).
    #[serde(default)]
    pub audit: BTreeMap<String, toml::Value>,
    /// Publishers whose signed plugins are loaded.
    #[serde(default, rename = "trusted_publisher")]
    pub trusted_publishers: Vec<RawPublisher>,
    /// Load unsigned plugins. For local plugin development only.
    #[serde(default)]
    pub allow_unsigned_plugins: bool,
    /// Evaluation limits: `[limits.default]` for every pack, `[limits.<pack>]` per pack.
    #[serde(default)]
    pub limits: BTreeMap<String, LimitOverrides>,
    /// Largest signed batch to send, in bytes: larger scans are split into
    /// parts. Keep it well below the collector's `max_batch_bytes`.
    /// Default 8 MiB; 64 KiB to 1 GiB.
    #[serde(default)]
    pub max_batch_bytes: Option<usize>,
    /// How `citadel-agent run` schedules scans, retries and heartbeats.
    #[serde(default)]
    pub service: RawService,
    /// How much the spool may hold while the collector is away.
    #[serde(default)]
    pub spool: RawSpool,
    /// What each pack may do: `[plugins]`.
    #[serde(default)]
    pub plugins: RawPluginPolicy,
}

/// `[plugins]`: decisions about packs that the operator, not the packs, makes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPluginPolicy {
    /// Check id → name of the pack that runs it, for a check id several
    /// installed packs declare (`owners = { ec2_x = "citadel-pack-ec2-network" }`).
    /// Without an entry, such a check is run by none of them and reported.
    #[serde(default)]
    pub owners: BTreeMap<String, String>,
    /// Packs allowed to read inventory kinds that may hold secrets (instance
    /// and launch-template user data). Others never see them, and their
    /// checks that read them report an error instead of a verdict.
    #[serde(default)]
    pub read_secrets: Vec<String>,
}

/// `[service]`: the schedule of `citadel-agent run`. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// Seconds between scans (default 3600, at least 1).
    pub scan_interval_secs: Option<u64>,
    /// Up to this many seconds are added at random to each interval, so a
    /// fleet started together does not scan (and push) together (default
    /// 300, or the interval if that is shorter).
    pub scan_jitter_secs: Option<u64>,
    /// First retry ceiling after a failed push, in milliseconds (default 2000).
    pub retry_initial_ms: Option<u64>,
    /// Cap of the retry ceiling, in seconds (default 300).
    pub retry_max_secs: Option<u64>,
    /// Seconds without contact after which an idle agent sends a heartbeat
    /// (default 300, at least 1).
    pub heartbeat_interval_secs: Option<u64>,
}

/// `[spool]`: bounds of the spool. When a new batch does not fit, the scan
/// is skipped and the next batch that fits reports it (`scan_skipped`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpool {
    /// Most batches awaiting acknowledgement (default 1000).
    pub max_batches: Option<usize>,
    /// Most bytes awaiting acknowledgement (default 536870912, 512 MiB).
    pub max_bytes: Option<u64>,
}

/// The validated schedule of `citadel-agent run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// Between scans.
    pub scan_interval: Duration,
    /// Random extra per interval, at most.
    pub scan_jitter: Duration,
    /// First retry ceiling.
    pub retry_initial: Duration,
    /// Cap of the retry ceiling.
    pub retry_max: Duration,
    /// Heartbeat after this long without contact.
    pub heartbeat_interval: Duration,
}

impl Default for Service {
    fn default() -> Self {
        Self {
            scan_interval: Duration::from_secs(3600),
            scan_jitter: Duration::from_secs(300),
            retry_initial: Duration::from_secs(2),
            retry_max: Duration::from_secs(300),
            heartbeat_interval: Duration::from_secs(300),
        }
    }
}

impl RawService {
    fn validate(&self, problems: &mut Vec<String>) -> Service {
        let d = Service::default();
        let mut positive = |key: &str, v: Option<u64>| {
            if v == Some(0) {
                problems.push(format!("service.{key} must be at least 1"));
            }
            v
        };
        let scan_interval = positive("scan_interval_secs", self.scan_interval_secs)
            .map_or(d.scan_interval, Duration::from_secs);
        let retry_initial = positive("retry_initial_ms", self.retry_initial_ms)
            .map_or(d.retry_initial, Duration::from_millis);
        let retry_max = positive("retry_max_secs", self.retry_max_secs)
            .map_or(d.retry_max, Duration::from_secs);
        let heartbeat_interval = positive("heartbeat_interval_secs", self.heartbeat_interval_secs)
            .map_or(d.heartbeat_interval, Duration::from_secs);
        if retry_max < retry_initial {
            problems.push("service.retry_max_secs must not be below retry_initial_ms".into());
        }
        let scan_jitter = self
            .scan_jitter_secs
            .map_or(d.scan_jitter.min(scan_interval), Duration::from_secs);
        Service {
            scan_interval,
            scan_jitter,
            retry_initial,
            retry_max,
            heartbeat_interval,
        }
    }
}

impl RawSpool {
    fn validate(&self, problems: &mut Vec<String>) -> SpoolLimits {
        let d = SpoolLimits::default();
        if self.max_batches == Some(0) || self.max_bytes == Some(0) {
            problems.push("spool.max_batches and spool.max_bytes must be at least 1".into());
        }
        SpoolLimits {
            max_batches: self.max_batches.unwrap_or(d.max_batches),
            max_bytes: self.max_bytes.unwrap_or(d.max_bytes),
        }
    }
}

/// A trusted plugin publisher.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPublisher {
    /// Display name, recorded as the signer of its plugins' findings.
    pub name: String,
    /// Public key, `cpk1_<hex>` (printed by `citadel-agent plugin keygen`).
    pub key: String,
}

/// One AWS account to scan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntegration {
    /// Name, unique within this agent, e.g. `prod`.
    pub name: String,
    /// Provider; only `aws` today.
    #[serde(default = "default_provider")]
    pub provider: String,
    /// Regions to scan.
    pub regions: Vec<String>,
    /// API endpoint override (for a local stand-in such as moto); none in production.
    #[serde(default)]
    pub endpoint: Option<Url>,
    /// Role to assume in the scanned account (cross-account deployment); the
    /// agent's own credentials are used when absent.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// External id the role's trust policy requires.
    #[serde(default)]
    pub external_id: Option<String>,
}

fn default_provider() -> String {
    "aws".into()
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Identity and spool directory.
    pub state_dir: PathBuf,
    /// Check packs.
    pub plugins_dir: PathBuf,
    /// Explicit collector URL, if configured.
    pub collector_url: Option<Url>,
    /// Accounts to scan.
    pub integrations: Vec<Integration>,
    /// Audit settings as strings.
    pub audit: BTreeMap<String, String>,
    /// Trusted plugin publishers.
    pub trusted: Vec<Publisher>,
    /// Whether unsigned plugins load.
    pub allow_unsigned_plugins: bool,
    /// Limits for packs without their own.
    pub default_limits: Limits,
    /// Limits by pack name.
    pub pack_limits: BTreeMap<String, Limits>,
    /// Largest signed batch to send; scans are split into parts under it.
    pub max_batch_bytes: usize,
    /// The schedule of `run`.
    pub service: Service,
    /// Bounds of the spool.
    pub spool: SpoolLimits,
    /// Check id → the pack that runs it.
    pub owners: BTreeMap<String, String>,
    /// Packs that may read secret-bearing kinds.
    pub read_secrets: BTreeSet<String>,
}

/// A validated integration.
#[derive(Debug, Clone)]
pub struct Integration {
    /// Unique name.
    pub name: String,
    /// Regions, non-empty.
    pub regions: Vec<String>,
    /// Endpoint override.
    pub endpoint: Option<Url>,
    /// Role to assume, if any.
    pub role_arn: Option<String>,
    /// External id for the role.
    pub external_id: Option<String>,
}

/// Why a config file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// Values that parse but make no sense, all listed.
    #[error("{path} is invalid:\n  - {}", problems.join("\n  - "))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<String>,
    },
}

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let raw: RawConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::validate(raw, base).map_err(|problems| ConfigError::Invalid {
            path: path.into(),
            problems,
        })
    }

    /// Validate a parsed file; relative paths are resolved against `base`.
    pub fn validate(raw: RawConfig, base: &Path) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        if raw.integrations.is_empty() {
            problems.push("at least one [[integration]] is required".to_string());
        }
        let mut names = std::collections::BTreeSet::new();
        let mut integrations = Vec::new();
        for i in raw.integrations {
            if i.provider != "aws" {
                problems.push(format!(
                    "integration {:?}: provider {:?} is not supported (only \"aws\")",
                    i.name, i.provider
                ));
            }
            if i.name.is_empty()
                || !i
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
            {
                problems.push(format!(
                    "integration name {:?} must be non-empty letters, digits, '-' or '_'",
                    i.name
                ));
            }
            if !names.insert(i.name.clone()) {
                problems.push(format!("integration name {:?} is used twice", i.name));
            }
            if i.regions.is_empty() {
                problems.push(format!(
                    "integration {:?}: regions must not be empty",
                    i.name
                ));
            }
            for r in &i.regions {
                if r.is_empty()
                    || !r
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    problems.push(format!(
                        "integration {:?}: {r:?} is not a region name",
                        i.name
                    ));
                }
            }
            if let Some(e) = &i.endpoint
                && !matches!(e.scheme(), "http" | "https")
            {
                problems.push(format!(
                    "integration {:?}: endpoint must be http(s)",
                    i.name
                ));
            }
            if let Some(role) = &i.role_arn {
                let valid = role.starts_with("arn:aws")
                    && role.contains(":iam::")
                    && role.contains(":role/");
                if !valid {
                    problems.push(format!(
                        "integration {:?}: role_arn {role:?} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
                        i.name
                    ));
                }
            }
            if let Some(x) = &i.external_id {
                let ok = (2..=1224).contains(&x.len())
                    && x.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c));
                if !ok {
                    problems.push(format!(
                        "integration {:?}: external_id must be 2–1224 characters of letters, digits and +=,.@:/-_",
                        i.name
                    ));
                }
                if i.role_arn.is_none() {
                    problems.push(format!(
                        "integration {:?}: external_id needs role_arn",
                        i.name
                    ));
                }
            }
            integrations.push(Integration {
                name: i.name,
                regions: i.regions,
                endpoint: i.endpoint,
                role_arn: i.role_arn,
                external_id: i.external_id,
            });
        }
        if let Some(u) = &raw.collector_url
            && u.scheme() != "https"
        {
            problems.push("collector_url must be https".to_string());
        }
        let mut audit = BTreeMap::new();
        for (k, v) in raw.audit {
            let s = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(a) => a
                    .iter()
                    .map(|x| match x {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => {
                    problems.push(format!("audit.{k}: unsupported value {other}"));
                    continue;
                }
            };
            audit.insert(k, s);
        }
        let mut trusted = Vec::new();
        for p in raw.trusted_publishers {
            match trust::parse_key(&p.key) {
                Ok(key) => trusted.push(Publisher { name: p.name, key }),
                Err(e) => problems.push(format!("trusted_publisher {:?}: {e}", p.name)),
            }
        }
        let default_limits = match raw.limits.get("default") {
            Some(o) => o.apply(Limits::default()).unwrap_or_else(|e| {
                problems.push(format!("limits.default: {e}"));
                Limits::default()
            }),
            None => Limits::default(),
        };
        let mut pack_limits = BTreeMap::new();
        for (pack, o) in raw.limits.iter().filter(|(k, _)| k.as_str() != "default") {
            match o.apply(default_limits) {
                Ok(l) => {
                    pack_limits.insert(pack.clone(), l);
                }
                Err(e) => problems.push(format!("limits.{pack}: {e}")),
            }
        }
        let max_batch_bytes = raw
            .max_batch_bytes
            .unwrap_or(crate::parts::DEFAULT_MAX_BATCH_BYTES);
        if !(64 << 10..=1 << 30).contains(&max_batch_bytes) {
            problems.push(format!(
                "max_batch_bytes = {max_batch_bytes} is out of range (65536 to 1073741824)"
            ));
        }
        let service = raw.service.validate(&mut problems);
        let spool = raw.spool.validate(&mut problems);
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 128
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        for (check, pack) in &raw.plugins.owners {
            if !name_ok(check) || !name_ok(pack) {
                problems.push(format!(
                    "plugins.owners: {check:?} = {pack:?}: check ids and pack names are 1–128 letters, digits, '-', '_' or '.'"
                ));
            }
        }
        for pack in &raw.plugins.read_secrets {
            if !name_ok(pack) {
                problems.push(format!("plugins.read_secrets: {pack:?} is not a pack name"));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            max_batch_bytes,
            service,
            spool,
            owners: raw.plugins.owners,
            read_secrets: raw.plugins.read_secrets.into_iter().collect(),
            trusted,
            allow_unsigned_plugins: raw.allow_unsigned_plugins,
            default_limits,
            pack_limits,
            state_dir: base.join(raw.state_dir.unwrap_or_else(|| DEFAULT_STATE_DIR.into())),
            plugins_dir: base.join(raw.plugins_dir),
            collector_url: raw.collector_url,
            integrations,
            audit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, Vec<String>> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
        Config::validate(raw, Path::new("/etc/citadel"))
    }

    #[test]
    fn minimal_config_resolves_paths() {
        let c = parse(
            r#"
            plugins_dir = "plugins"
            [[integration]]
            name = "prod"
            regions = ["us-east-1", "eu-west-1"]
            [audit]
            max_ec2_instance_age_in_days = 90
            "#,
        )
        .unwrap();
        assert_eq!(c.state_dir, Path::new("/etc/citadel/state"));
        assert_eq!(c.plugins_dir, Path::new("/etc/citadel/plugins"));
        assert_eq!(c.integrations[0].regions.len(), 2);
        assert_eq!(c.audit["max_ec2_instance_age_in_days"], "90");
    }

    #[test]
    fn reports_every_problem_at_once() {
        let err = parse(
            r#"
            plugins_dir = "p"
            collector_url = "http://plain"
            [[integration]]
            name = "a b"
            provider = "gcp"
            regions = []
            [[integration]]
            name = "a b"
            regions = ["US East"]
            "#,
        )
        .unwrap_err();
        assert_eq!(err.len(), 7, "{err:#?}");
    }

    #[test]
    fn service_and_spool_settings() {
        let base =
            "plugins_dir = \"p\"\n[[integration]]\nname = \"prod\"\nregions = [\"us-east-1\"]\n";
        let c = parse(base).unwrap();
        assert_eq!(c.service, Service::default());
        assert_eq!(c.spool, SpoolLimits::default());
        let c = parse(&format!(
            "{base}[service]\nscan_interval_secs = 2\nretry_initial_ms = 250\nretry_max_secs = 4\nheartbeat_interval_secs = 1\n[spool]\nmax_batches = 5\nmax_bytes = 1000\n"
        ))
        .unwrap();
        assert_eq!(c.service.scan_interval, Duration::from_secs(2));
        // The default jitter never exceeds a short interval.
        assert_eq!(c.service.scan_jitter, Duration::from_secs(2));
        assert_eq!(c.service.retry_initial, Duration::from_millis(250));
        assert_eq!(
            c.spool,
            SpoolLimits {
                max_batches: 5,
                max_bytes: 1000
            }
        );
        let err = parse(&format!(
            "{base}[service]\nscan_interval_secs = 0\nretry_initial_ms = 9000\nretry_max_secs = 2\n[spool]\nmax_batches = 0\n"
        ))
        .unwrap_err();
        assert_eq!(err.len(), 3, "{err:?}");
        let err = parse(&format!("{base}[service]\nscan_every = 3\n")).unwrap_err();
        assert!(err[0].contains("unknown field"), "{err:?}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = parse("plugins_dir = \"p\"\nsecret_key = \"x\"\n").unwrap_err();
        assert!(err[0].contains("unknown field"), "{err:?}");
    }

    #[test]
    fn publishers_and_limits() {
        let key = format!(
            "cpk1_{}",
            hex::encode(
                ed25519_dalek::SigningKey::from_bytes(&[3; 32])
                    .verifying_key()
                    .as_bytes()
            )
        );
        let c = parse(&format!(
            r#"
            plugins_dir = "p"
            [[integration]]
            name = "prod"
            regions = ["us-east-1"]
            [[trusted_publisher]]
            name = "acme"
            key = "{key}"
            [limits.default]
            timeout_ms = 2000
            [limits.ec2-network]
            memory_mib = 128
            [plugins]
            owners = {{ ec2_x = "pack-a" }}
            read_secrets = ["citadel-pack-ec2-compute"]
            "#
        ))
        .unwrap();
        assert_eq!(c.owners["ec2_x"], "pack-a");
        assert!(c.read_secrets.contains("citadel-pack-ec2-compute"));
        let options = crate::scan::host_options(&c);
        assert_eq!(options.owners, c.owners);
        assert_eq!(options.read_secrets, c.read_secrets);
        assert_eq!(c.trusted[0].name, "acme");
        assert!(!c.allow_unsigned_plugins);
        assert_eq!(c.default_limits.timeout, std::time::Duration::from_secs(2));
        let pack = c.pack_limits["ec2-network"];
        assert_eq!(
            (pack.memory_bytes, pack.timeout),
            (128 << 20, std::time::Duration::from_secs(2))
        );

        let err = parse(
            r#"
            plugins_dir = "p"
            [[integration]]
            name = "prod"
            regions = ["us-east-1"]
            [[trusted_publisher]]
            name = "bad"
            key = "ssh-ed25519 AAAA"
            [limits.x]
            memory_mib = 0
            "#,
        )
        .unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
    }

    #[test]
    fn assume_role_settings_are_checked() {
        let c = parse(
            r#"
            plugins_dir = "p"
            [[integration]]
            name = "prod"
            regions = ["us-east-1"]
            role_arn = "arn:aws:iam::111111111111:role/CitadelAgent"
            external_id = "citadel-7f3a"
            "#,
        )
        .unwrap();
        assert_eq!(
            c.integrations[0].external_id.as_deref(),
            Some("citadel-7f3a")
        );
        let err = parse(
            r#"
            plugins_dir = "p"
            [[integration]]
            name = "prod"
            regions = ["us-east-1"]
            role_arn = "CitadelAgent"
            [[integration]]
            name = "other"
            regions = ["us-east-1"]
            external_id = "x y"
            "#,
        )
        .unwrap_err();
        assert_eq!(err.len(), 3, "{err:?}");
    }
}
