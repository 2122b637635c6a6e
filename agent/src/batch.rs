//! Batch assembly: turn an inventory and the plugins' verdicts into a [`Batch`].

use std::collections::BTreeMap;

use citadel_wire::{
    Asset, Batch, CheckInfo, CheckResult, Integration, PluginProvenance, Severity, Status,
};
use uuid::Uuid;

use crate::discovery::Inventory;
use crate::plugin_host::{self, Plugin};

/// Everything a batch needs besides the agent's chain position.
pub struct ScanData<'a> {
    /// Scan id.
    pub scan_id: Uuid,
    /// Integration name.
    pub integration: &'a str,
    /// Regions scanned.
    pub regions: &'a [String],
    /// Discovered inventory.
    pub inventory: &'a Inventory,
    /// Plugins that ran.
    pub plugins: &'a [Plugin],
    /// Verdicts.
    pub results: Vec<CheckResult>,
    /// Extra assets created for results that have no discovered resource (per-region account).
    pub extra_assets: Vec<Asset>,
    /// Scan start and end, Unix ms.
    pub window: (i64, i64),
}

/// Build the batch.
pub fn assemble(agent_id: &str, seq: u64, prev: Option<String>, data: ScanData<'_>) -> Batch {
    let inv = data.inventory;
    let mut assets: Vec<Asset> = inv
        .resources
        .iter()
        .map(|r| Asset {
            source: "aws".into(),
            source_id: r.uid.clone(),
            id: r.id.clone(),
            kind: r.kind.to_string(),
            name: r.name.clone(),
            region: r.region.clone(),
            account: r.account.clone(),
            tags: r.tags.clone(),
            raw: r.document.clone(),
        })
        .collect();
    assets.extend(data.extra_assets);
    let checks = data
        .plugins
        .iter()
        .flat_map(|p| p.checks.iter().map(move |c| check_info(&p.name, c)))
        .collect();
    Batch {
        version: citadel_wire::FORMAT_VERSION,
        batch_id: Uuid::now_v7(),
        agent_id: agent_id.into(),
        seq,
        prev,
        scan_id: data.scan_id,
        part: 0,
        parts: 1,
        integration: Integration {
            name: data.integration.into(),
            provider: "aws".into(),
            account: inv.account.clone(),
            regions: data.regions.to_vec(),
        },
        started_at: data.window.0,
        finished_at: data.window.1,
        complete: inv.errors.is_empty(),
        plugins: data
            .plugins
            .iter()
            .map(|p| PluginProvenance {
                name: p.name.clone(),
                version: p.version.clone(),
                sha256: p.sha256.clone(),
                signer: p
                    .signer
                    .as_ref()
                    .map(|s| format!("{}/{}", s.publisher, s.key)),
            })
            .collect(),
        checks,
        assets,
        relationships: inv.relationships.clone(),
        results: data.results,
    }
}

fn check_info(plugin: &str, c: &plugin_host::CheckInfo) -> CheckInfo {
    CheckInfo {
        id: c.id.clone(),
        plugin: plugin.into(),
        title: c.title.clone(),
        description: c.description.clone(),
        severity: severity(c.severity),
        service: c.service.clone(),
        resource_type: c.resource_type.clone(),
        remediation: c.remediation.clone(),
        requirements: c.requirements.iter().cloned().collect::<BTreeMap<_, _>>(),
    }
}

/// Map the plugin ABI's severity onto the wire's.
pub fn severity(s: plugin_host::Severity) -> Severity {
    match s {
        plugin_host::Severity::Critical => Severity::Critical,
        plugin_host::Severity::High => Severity::High,
        plugin_host::Severity::Medium => Severity::Medium,
        plugin_host::Severity::Low => Severity::Low,
        plugin_host::Severity::Informational => Severity::Informational,
    }
}

/// Map the plugin ABI's status onto the wire's.
pub fn status(s: plugin_host::Status) -> Status {
    match s {
        plugin_host::Status::Pass => Status::Pass,
        plugin_host::Status::Fail => Status::Fail,
        plugin_host::Status::Error => Status::Error,
        plugin_host::Status::NotApplicable => Status::NotApplicable,
    }
}
