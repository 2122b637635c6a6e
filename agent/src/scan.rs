//! One scan: discover, evaluate every check in the sandbox, assemble, sign, spool, push.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use citadel_wire::{Asset, Batch, CheckResult, Severity, Status};
use serde::Serialize;
use uuid::Uuid;

use crate::batch::{self, ScanData};
use crate::config::{Config, Integration};
use crate::discovery::{self, DiscoveryError, Inventory};
use crate::identity::Identity;
use crate::plugin_host::{HostOptions, InventoryView, PluginHost};
use crate::push::{self, PushReport};
use crate::spool::{Spool, SpoolError};
use crate::state::{Outcome, StateFile, now_ms};

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
    /// Why no batch was kept, when the spool was full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl IntegrationReport {
    /// A scan whose batch the spool had no room for.
    fn skipped(integration: &Integration, why: String) -> Self {
        Self {
            name: integration.name.clone(),
            account: String::new(),
            regions: integration.regions.clone(),
            batch_id: String::new(),
            seq: 0,
            resources: BTreeMap::new(),
            discovery_errors: Vec::new(),
            check_errors: Vec::new(),
            by_status: BTreeMap::new(),
            failed_by_severity: BTreeMap::new(),
            findings: Vec::new(),
            output: None,
            duration_ms: 0,
            skipped: Some(why),
        }
    }
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
    /// Output file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The spool.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// No usable plugins.
    #[error("no usable check packs (*.wasm) in {}{}", .0.display(), .1.iter().map(|f| format!("\n  - {f}")).collect::<String>())]
    NoPlugins(PathBuf, Vec<String>),
}

impl From<crate::parts::ResplitError> for ScanError {
    fn from(e: crate::parts::ResplitError) -> Self {
        match e {
            crate::parts::ResplitError::Io(e) => Self::Io(e),
            crate::parts::ResplitError::Wire(e) => Self::Sign(e),
            crate::parts::ResplitError::Spool(e) => Self::Spool(e),
        }
    }
}

/// How the plugin host should treat plugins under this configuration.
pub fn host_options(config: &Config) -> HostOptions {
    HostOptions {
        trusted: config.trusted.clone(),
        allow_unsigned: config.allow_unsigned_plugins,
        default_limits: config.default_limits,
        pack_limits: config.pack_limits.clone(),
        cache_dir: Some(config.state_dir.join("plugin-cache")),
        owners: config.owners.clone(),
        read_secrets: config.read_secrets.clone(),
    }
}

/// Load the plugins directory under the configuration's trust and limits.
/// Components that fail to load are reported; the scan goes on without them
/// unless none is left.
pub async fn load_plugins(config: &Config) -> Result<(PluginHost, Vec<String>), ScanError> {
    let plugins_dir = config.plugins_dir.clone();
    let options = host_options(config);
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

/// The collector's ingest URL: the configured one, else the one enrollment returned.
pub fn ingest_url(config: &Config, identity: &Identity) -> String {
    config
        .collector_url
        .as_ref()
        .map(|u| u.to_string())
        .unwrap_or_else(|| identity.info.ingest_url.clone())
}

/// Turn the files the spool quarantined at start-up into incidents for the
/// next batch.
pub fn report_quarantined(spool: &Spool, state: &StateFile) {
    if spool.quarantined().is_empty() {
        return;
    }
    let now = now_ms();
    state.update(|s| {
        for q in spool.quarantined() {
            s.record(
                "spool_quarantined",
                now,
                &format!("{}: {}", q.path.display(), q.reason),
            );
        }
    });
}

/// Scan every integration once, then push if asked (`scan --once`).
pub async fn scan_once(
    config: &Config,
    identity: &Identity,
    opts: &ScanOptions,
) -> Result<ScanReport, ScanError> {
    let spool = Spool::open_with(&config.state_dir, config.spool)?;
    let _lock = spool.lock()?;
    let state = StateFile::load(&config.state_dir);
    report_quarantined(&spool, &state);
    let scanned = scan_to_spool(config, identity, &spool, &state, opts.output.as_deref()).await;
    record_scan(&state, &scanned);
    let (integrations, plugin_errors) = scanned?;
    let push = if opts.push {
        let report = push::push_spool(identity, &spool, &ingest_url(config, identity)).await?;
        record_push(&state, &report);
        Some(report.into())
    } else {
        None
    };
    Ok(ScanReport {
        integrations,
        push,
        plugin_errors,
    })
}

/// Note a scan's outcome in the status file, and queue a failure for the
/// next batch.
pub fn record_scan(
    state: &StateFile,
    scanned: &Result<(Vec<IntegrationReport>, Vec<String>), ScanError>,
) {
    let at = now_ms();
    state.update(|s| match scanned {
        Ok((reports, _)) => {
            let skipped = reports.iter().filter(|r| r.skipped.is_some()).count();
            let kept = reports.len() - skipped;
            s.last_scan = Some(Outcome {
                at,
                ok: skipped == 0,
                message: if skipped == 0 {
                    format!("{kept} batch(es) spooled")
                } else {
                    format!("{kept} batch(es) spooled, {skipped} skipped: the spool is full")
                },
            });
        }
        Err(e) => {
            let message = e.to_string();
            s.record("scan_failed", at, &message);
            s.last_scan = Some(Outcome {
                at,
                ok: false,
                message,
            });
        }
    });
}

/// Note a push's outcome in the status file.
pub fn record_push(state: &StateFile, report: &PushReport) {
    let at = now_ms();
    state.update(|s| {
        let answered = !report.delivered.is_empty() || !report.rejected.is_empty();
        if answered {
            s.last_contact_at = Some(at);
        }
        let mut message = format!(
            "{} delivered, {} rejected, {} pending",
            report.delivered.len(),
            report.rejected.len(),
            report.pending
        );
        if let Some(why) = &report.deferred {
            message.push_str(": ");
            message.push_str(why);
        }
        s.last_push = Some(Outcome {
            at,
            ok: report.deferred.is_none() && report.rejected.is_empty(),
            message,
        });
    });
}

/// Scan every integration and spool a signed batch for each. A batch that
/// does not fit in the spool is not kept; a `scan_skipped` incident is queued
/// instead, for the next batch that fits. Returns the reports and the plugins
/// that failed to load.
pub async fn scan_to_spool(
    config: &Config,
    identity: &Identity,
    spool: &Spool,
    state: &StateFile,
    output: Option<&Path>,
) -> Result<(Vec<IntegrationReport>, Vec<String>), ScanError> {
    let (host, load_failures) = load_plugins(config).await?;
    let host = Arc::new(host);
    let wanted = host.required_kinds();

    let mut reports = Vec::new();
    for (n, integration) in config.integrations.iter().enumerate() {
        let started = now_ms();
        let scan_id = Uuid::now_v7();
        if let Err(full @ SpoolError::Full { .. }) = spool.check_room(0) {
            tracing::error!(%scan_id, integration = %integration.name, error = %full, "Scan skipped.");
            let why = format!("scan of integration {:?} skipped: {full}", integration.name);
            state.update(|s| s.record("scan_skipped", started, &why));
            reports.push(IntegrationReport::skipped(integration, why));
            continue;
        }
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
        let chain = spool.chain()?;
        let incidents = state.get().for_batch(finished);
        let batch = batch::assemble(
            &identity.info.agent_id,
            chain.seq + 1,
            chain.prev,
            ScanData {
                scan_id,
                integration: &integration.name,
                regions: &integration.regions,
                inventory: &inventory,
                plugins: host.plugins(),
                results,
                extra_assets,
                window: (started, finished),
                incidents: incidents.clone(),
            },
        );
        // Parts under `max_batch_bytes`, each given the next place in the
        // chain as it is spooled. No await between spooling and forgetting
        // the incidents they carry: a cancelled scan does both or neither.
        let mut signed: Vec<(Batch, Vec<u8>)> = Vec::new();
        let mut full = None;
        for part in crate::parts::split(batch.clone(), config.max_batch_bytes) {
            match crate::parts::sign_and_spool(identity, spool, part) {
                Ok(s) => signed.push(s),
                Err(crate::parts::ResplitError::Spool(e @ SpoolError::Full { .. })) => {
                    full = Some(e);
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !signed.is_empty() {
            state.update(|s| s.reported(&incidents));
        }
        if let Some(full) = full {
            tracing::error!(%scan_id, integration = %integration.name, error = %full, kept_parts = signed.len(), "Scan not kept whole.");
            let why = format!(
                "scan {scan_id} of integration {:?}: {} part(s) kept, the rest not: {full}",
                integration.name,
                signed.len()
            );
            state.update(|s| s.record("scan_skipped", finished, &why));
            if signed.is_empty() {
                reports.push(IntegrationReport::skipped(integration, why));
                continue;
            }
        }
        // The report names the scan's first part.
        let mut batch = batch;
        (batch.batch_id, batch.seq) = (signed[0].0.batch_id, signed[0].0.seq);
        tracing::info!(
            %scan_id, integration = %integration.name, seq = batch.seq,
            parts = signed.len(), results = batch.results.len(),
            "Batch spooled."
        );
        let output = match output {
            Some(path) => {
                let path = if n == 0 {
                    path.to_path_buf()
                } else {
                    PathBuf::from(format!("{}-{}", path.display(), n + 1))
                };
                for (k, (_, bytes)) in signed.iter().enumerate() {
                    let at = if k == 0 {
                        path.clone()
                    } else {
                        PathBuf::from(format!("{}.part{}", path.display(), k + 1))
                    };
                    crate::fsutil::write_atomic(&at, bytes)?;
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
    Ok((reports, load_failures))
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
        skipped: None,
    }
}
