//! One scan: discover, evaluate every check in the sandbox, assemble, sign, spool, push.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use citadel_wire::{Asset, Batch, CheckResult, Severity, Status};
use serde::Serialize;
use uuid::Uuid;

use crate::batch::{self, ScanData};
use crate::config::{Config, Integration};
use crate::discovery::{self, DiscoveryError, Inventory};
use crate::identity::Identity;
use crate::plugin_host::{InventoryView, PluginHost};
use crate::push::{self, PushReport};
use crate::spool::Spool;

/// How to run a scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Push spooled batches to the collector after scanning.
    pub push: bool,
    /// Also write each signed batch here (`-2`, `-3` … appended for further integrations).
    pub output: Option<PathBuf>,
}

/// What a scan produced, for the summary and `--json`.
#[derive(Debug, Serialize)]
pub struct ScanReport {
    /// One entry per integration.
    pub integrations: Vec<IntegrationReport>,
    /// Push outcome, when pushing was requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSummary>,
    /// Components in the plugins directory that were refused or failed to load.
    pub plugin_errors: Vec<String>,
}

/// Outcome of one integration's scan.
#[derive(Debug, Serialize)]
pub struct IntegrationReport {
    /// Integration name.
    pub name: String,
    /// Account id.
    pub account: String,
    /// Regions.
    pub regions: Vec<String>,
    /// Batch id.
    pub batch_id: String,
    /// Sequence number.
    pub seq: u64,
    /// Resources by kind.
    pub resources: BTreeMap<String, usize>,
    /// Discovery failures.
    pub discovery_errors: Vec<String>,
    /// Check-evaluation failures.
    pub check_errors: Vec<String>,
    /// Result counts by status.
    pub by_status: BTreeMap<String, usize>,
    /// Failing results by severity.
    pub failed_by_severity: BTreeMap<String, usize>,
    /// Every finding.
    pub findings: Vec<FindingLine>,
    /// Where the signed batch was written, with `--output`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
    /// Wall time of the scan in milliseconds.
    pub duration_ms: i64,
}

/// One finding in the report.
#[derive(Debug, Serialize)]
pub struct FindingLine {
    /// Check id.
    pub check_id: String,
    /// Resource ARN.
    pub resource: String,
    /// Verdict.
    pub status: Status,
    /// Severity.
    pub severity: Severity,
    /// Explanation.
    pub status_extended: String,
}

/// Push outcome in the report.
#[derive(Debug, Serialize)]
pub struct PushSummary {
    /// Acknowledged batches: (batch id, accepted|duplicate, collector summary).
    pub delivered: Vec<serde_json::Value>,
    /// Refused batches and why.
    pub rejected: Vec<String>,
    /// Why pushing stopped early.
    pub deferred: Option<String>,
    /// Batches still spooled.
    pub pending: usize,
}

impl From<PushReport> for PushSummary {
    fn from(r: PushReport) -> Self {
        Self {
            delivered: r
                .delivered
                .into_iter()
                .map(|d| serde_json::json!({"batch_id": d.batch_id, "status": d.status, "summary": d.summary}))
                .collect(),
            rejected: r
                .rejected
                .into_iter()
                .map(|(p, why)| format!("{}: {why}", p.display()))
                .collect(),
            deferred: r.deferred,
            pending: r.pending,
        }
    }
}

/// A scan could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Plugins could not be loaded.
    #[error(transparent)]
    Plugin(#[from] crate::plugin_host::PluginError),
    /// Discovery could not start.
    #[error("integration {0:?}: {1}")]
    Discover(String, discovery::DiscoverError),
    /// Signing or encoding failed.
    #[error("cannot sign the batch: {0}")]
    Sign(#[from] citadel_wire::WireError),
    /// Spool or output file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No usable plugins.
    #[error("no usable check packs (*.wasm) in {}{}", .0.display(), .1.iter().map(|f| format!("\n  - {f}")).collect::<String>())]
    NoPlugins(PathBuf, Vec<String>),
}

impl From<crate::parts::ResplitError> for ScanError {
    fn from(e: crate::parts::ResplitError) -> Self {
        match e {
            crate::parts::ResplitError::Io(e) => Self::Io(e),
            crate::parts::ResplitError::Wire(e) => Self::Sign(e),
        }
    }
}

/// Load the plugins directory under the configuration's trust and limits.
/// Components that fail to load are reported; the scan goes on without them
/// unless none is left.
pub async fn load_plugins(config: &Config) -> Result<(PluginHost, Vec<String>), ScanError> {
    let plugins_dir = config.plugins_dir.clone();
    let options = config.host_options();
    tokio::task::spawn_blocking(move || -> Result<(PluginHost, Vec<String>), ScanError> {
        let mut host = PluginHost::new(options)?;
        let failures = host.load_dir(&plugins_dir)?;
        let failures: Vec<String> = failures.into_iter().map(|f| f.error.to_string()).collect();
        if host.plugins().is_empty() {
            return Err(ScanError::NoPlugins(plugins_dir, failures));
        }
        Ok((host, failures))
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))?
}

/// Scan every integration once.
pub async fn scan_once(
    config: &Config,
    identity: &Identity,
    opts: &ScanOptions,
) -> Result<ScanReport, ScanError> {
    let (host, load_failures) = load_plugins(config).await?;
    let host = Arc::new(host);
    let wanted = host.required_kinds();
    let spool = Spool::open(&config.state_dir)?;

    let mut reports = Vec::new();
    for (n, integration) in config.integrations.iter().enumerate() {
        let started = now_ms();
        let scan_id = Uuid::now_v7();
        tracing::info!(%scan_id, integration = %integration.name, "Scan started.");
        let inventory = discovery::discover(integration, &wanted)
            .await
            .map_err(|e| ScanError::Discover(integration.name.clone(), e))?;
        let inventory = Arc::new(inventory);
        let (results, extra_assets, check_errors) = {
            let host = host.clone();
            let inventory = inventory.clone();
            let audit = config.audit.clone();
            let regions = integration.regions.clone();
            tokio::task::spawn_blocking(move || evaluate_all(&host, &inventory, audit, &regions))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?
        };
        let finished = now_ms();
        // The chain position is given per part, as each is spooled.
        let mut batch = batch::assemble(
            &identity.info.agent_id,
            0,
            None,
            ScanData {
                scan_id,
                integration: &integration.name,
                regions: &integration.regions,
                inventory: &inventory,
                plugins: host.plugins(),
                results,
                extra_assets,
                window: (started, finished),
            },
        );
        let mut signed = Vec::new();
        for part in crate::parts::split(batch.clone(), config.max_batch_bytes) {
            signed.push(crate::parts::sign_and_spool(identity, &spool, part)?);
        }
        // The report names the scan's first part.
        (batch.batch_id, batch.seq) = (signed[0].0.batch_id, signed[0].0.seq);
        let output = match &opts.output {
            Some(path) => {
                let path = if n == 0 {
                    path.clone()
                } else {
                    PathBuf::from(format!("{}-{}", path.display(), n + 1))
                };
                for (k, (_, bytes)) in signed.iter().enumerate() {
                    let at = if k == 0 {
                        path.clone()
                    } else {
                        PathBuf::from(format!("{}.part{}", path.display(), k + 1))
                    };
                    crate::spool::write_atomic(&at, bytes)?;
                }
                Some(path)
            }
            None => None,
        };
        reports.push(report(
            integration,
            &inventory,
            &batch,
            check_errors,
            output,
            finished - started,
        ));
    }

    let push = if opts.push {
        let url = config
            .collector_url
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_else(|| identity.info.ingest_url.clone());
        Some(push::push_spool(identity, &spool, &url).await?.into())
    } else {
        None
    };
    Ok(ScanReport {
        integrations: reports,
        push,
        plugin_errors: load_failures,
    })
}

/// Run every check of every plugin. A failed evaluation becomes `error` results
/// on the resources the check evaluates, so a broken plugin is visible, not a gap.
/// A check reading a kind this agent cannot discover (a pack newer than the
/// agent) is not run: its verdicts would rest on data that was never fetched.
/// It gets an `error` result per region instead.
pub fn evaluate_all(
    host: &PluginHost,
    inventory: &Inventory,
    audit: BTreeMap<String, String>,
    regions: &[String],
) -> (Vec<CheckResult>, Vec<Asset>, Vec<String>) {
    let view = Arc::new(InventoryView::new(&inventory.resources, audit));
    let by_kind = inventory.by_kind();
    let mut results = Vec::new();
    let mut extra: BTreeMap<String, Asset> = BTreeMap::new();
    let mut errors = Vec::new();
    for plugin in host.plugins() {
        for check in &plugin.checks {
            let now = now_ms();
            let default_severity = batch::severity(check.severity);
            let _span =
                tracing::info_span!("evaluate", plugin = %plugin.name, check = %check.id).entered();
            // Regions whose discovery of a kind this check reads failed.
            let failed: Vec<&DiscoveryError> = inventory
                .errors
                .iter()
                .filter(|e| check.reads.iter().any(|k| k == e.kind))
                .collect();
            // Resources the check judged itself; a failed region's account uid among
            // them (an account setting) keeps its verdict instead of a second result.
            let mut judged = std::collections::BTreeSet::new();
            let unknown: Vec<&str> = check
                .reads
                .iter()
                .filter(|k| !discovery::KINDS.iter().any(|(known, _)| known == k))
                .map(String::as_str)
                .collect();
            let outcome = if unknown.is_empty() {
                host.evaluate(plugin, check, &view)
            } else {
                Ok(Vec::new())
            };
            if !unknown.is_empty() {
                let reason = format!(
                    "reads {} which this agent cannot discover; upgrade the agent",
                    unknown.join(", ")
                );
                tracing::warn!(plugin = %plugin.name, check = %check.id, "Check not run: it {reason}.");
                errors.push(format!("{} ({}): {reason}", check.id, plugin.name));
            }
            match outcome {
                Ok(findings) => {
                    judged.extend(findings.iter().map(|f| f.resource_uid.clone()));
                    results.extend(findings.into_iter().map(|f| CheckResult {
                        check_id: f.check_id,
                        asset: f.resource_uid,
                        status: batch::status(f.status),
                        status_extended: f.status_extended,
                        severity: f.severity.map(batch::severity).unwrap_or(default_severity),
                        observed_at: now,
                    }));
                }
                Err(e) => {
                    let reason = e.to_string();
                    tracing::warn!(plugin = %plugin.name, check = %check.id, error = %reason, "Check failed.");
                    errors.push(format!("{} ({}): {reason}", check.id, plugin.name));
                    let evaluated = check.reads.first().and_then(|k| by_kind.get(k.as_str()));
                    for r in evaluated.into_iter().flatten() {
                        results.push(error_result(
                            &check.id,
                            &r.uid,
                            &reason,
                            default_severity,
                            now,
                        ));
                    }
                }
            }
            // One error result per failed account-region, naming every failed call.
            let mut by_region: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            if !unknown.is_empty() {
                for region in regions {
                    by_region
                        .entry(region.as_str())
                        .or_default()
                        .push(format!("this agent cannot discover {}", unknown.join(", ")));
                }
            }
            for e in failed {
                by_region
                    .entry(e.region.as_str())
                    .or_default()
                    .push(format!("{}: {}", e.action, e.message));
            }
            for (region, reasons) in by_region {
                let uid = format!(
                    "arn:{}:ec2:{}:{}:account",
                    discovery::partition(region),
                    region,
                    inventory.account
                );
                if judged.contains(&uid) {
                    continue;
                }
                extra.entry(uid.clone()).or_insert_with(|| Asset {
                    source: "aws".into(),
                    source_id: uid.clone(),
                    id: inventory.account.clone(),
                    kind: "aws:account-region".into(),
                    name: Some(format!("{} {}", inventory.account, region)),
                    region: region.to_string(),
                    account: inventory.account.clone(),
                    tags: BTreeMap::new(),
                    raw: "{}".into(),
                });
                let reason = format!("discovery failed in {region}: {}", reasons.join("; "));
                results.push(error_result(
                    &check.id,
                    &uid,
                    &reason,
                    default_severity,
                    now,
                ));
            }
        }
    }
    (results, extra.into_values().collect(), errors)
}

fn error_result(
    check: &str,
    asset: &str,
    reason: &str,
    severity: Severity,
    now: i64,
) -> CheckResult {
    CheckResult {
        check_id: check.into(),
        asset: asset.into(),
        status: Status::Error,
        status_extended: reason.into(),
        severity,
        observed_at: now,
    }
}

fn report(
    integration: &Integration,
    inventory: &Inventory,
    batch: &Batch,
    check_errors: Vec<String>,
    output: Option<PathBuf>,
    duration_ms: i64,
) -> IntegrationReport {
    let mut resources = BTreeMap::new();
    for r in &inventory.resources {
        *resources.entry(r.kind.to_string()).or_insert(0) += 1;
    }
    let mut by_status = BTreeMap::new();
    let mut failed_by_severity = BTreeMap::new();
    for r in &batch.results {
        *by_status.entry(r.status.as_str().to_string()).or_insert(0) += 1;
        if r.status == Status::Fail {
            *failed_by_severity
                .entry(r.severity.as_str().to_string())
                .or_insert(0) += 1;
        }
    }
    let mut findings: Vec<FindingLine> = batch
        .results
        .iter()
        .map(|r| FindingLine {
            check_id: r.check_id.clone(),
            resource: r.asset.clone(),
            status: r.status,
            severity: r.severity,
            status_extended: r.status_extended.clone(),
        })
        .collect();
    findings.sort_by(|a, b| {
        (a.status, a.severity, &a.check_id, &a.resource).cmp(&(
            b.status,
            b.severity,
            &b.check_id,
            &b.resource,
        ))
    });
    IntegrationReport {
        name: integration.name.clone(),
        account: inventory.account.clone(),
        regions: integration.regions.clone(),
        batch_id: batch.batch_id.to_string(),
        seq: batch.seq,
        resources,
        discovery_errors: inventory
            .errors
            .iter()
            .map(|e| format!("{} {}: {}", e.region, e.action, e.message))
            .collect(),
        check_errors,
        by_status,
        failed_by_severity,
        findings,
        output,
        duration_ms,
    }
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}
