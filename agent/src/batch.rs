//! Batch assembly: turn an inventory and the plugins' verdicts into a [`Batch`].

use std::collections::BTreeMap;

use citadel_wire::{
    Asset, Batch, CheckInfo, CheckResult, Integration, InventoryList, PluginProvenance, Severity,
    Status,
};
use uuid::Uuid;

use crate::discovery::{ACCOUNT_SETTING_KINDS, AGENT_ONLY_KINDS, Inventory};
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
    /// Failures since the previous batch, reported in this one.
    pub incidents: Vec<citadel_wire::AgentIncident>,
}

/// Build the batch.
pub fn assemble(agent_id: &str, seq: u64, prev: Option<String>, data: ScanData<'_>) -> Batch {
    let inv = data.inventory;
    let assets = assets(inv, data.extra_assets);
    let checks = data
        .plugins
        .iter()
        .flat_map(|p| p.checks.iter().map(move |c| check_info(&p.name, c)))
        .collect();
    Batch {
        version: citadel_wire::FORMAT_VERSION,
        batch_id: Uuid::now_v7(),
        agent_id: agent_id.into(),
        agent_version: Some(env!("CARGO_PKG_VERSION").to_string()),
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
        // One batch of the whole scan; [`crate::parts::split`] clears it on
        // scans it cuts in parts.
        complete: inv.errors.is_empty(),
        complete_lists: inv
            .complete_lists
            .iter()
            .map(|(kind, region)| InventoryList {
                kind: kind.clone(),
                region: region.clone(),
            })
            .collect(),
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
        incidents: data.incidents,
    }
}

/// The batch's assets: one per discovered resource, except that kinds that stay
/// in the agent ([`AGENT_ONLY_KINDS`], e.g. user data) are left out and a
/// region's account settings, which share its account uid, become one
/// `aws:account-region` asset whose raw document holds each setting by kind.
/// `extra` (account-region assets for error results) fills the gaps.
fn assets(inv: &Inventory, extra: Vec<Asset>) -> Vec<Asset> {
    let mut assets: Vec<Asset> = Vec::with_capacity(inv.resources.len());
    let mut settings: BTreeMap<&str, (Asset, serde_json::Map<String, serde_json::Value>)> =
        BTreeMap::new();
    for r in &inv.resources {
        if AGENT_ONLY_KINDS.contains(&r.kind) {
            continue;
        }
        let asset = Asset {
            source: "aws".into(),
            source_id: r.uid.clone(),
            id: r.id.clone(),
            kind: r.kind.to_string(),
            name: r.name.clone(),
            region: r.region.clone(),
            account: r.account.clone(),
            tags: r.tags.clone(),
            raw: r.document.clone(),
        };
        if ACCOUNT_SETTING_KINDS.contains(&r.kind) {
            let entry = settings
                .entry(r.uid.as_str())
                .or_insert_with(|| (account_region_asset(asset), Default::default()));
            let doc = serde_json::from_str(&r.document).unwrap_or(serde_json::Value::Null);
            entry.1.insert(r.kind.to_string(), doc);
        } else {
            assets.push(asset);
        }
    }
    for (_, (mut asset, docs)) in settings {
        asset.raw = serde_json::Value::Object(docs).to_string();
        assets.push(asset);
    }
    let known: std::collections::BTreeSet<String> =
        assets.iter().map(|a| a.source_id.clone()).collect();
    assets.extend(extra.into_iter().filter(|a| !known.contains(&a.source_id)));
    assets
}

/// The region-of-an-account asset, as the scan names it for error results.
fn account_region_asset(from: Asset) -> Asset {
    Asset {
        kind: "aws:account-region".into(),
        name: Some(format!("{} {}", from.account, from.region)),
        tags: BTreeMap::new(),
        ..from
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

#[cfg(test)]
mod asset_tests {
    use std::collections::BTreeMap;

    use citadel_wire::Asset;

    use super::assets;
    use crate::discovery::{Inventory, Resource};

    fn resource(kind: &'static str, uid: &str, document: &str) -> Resource {
        Resource {
            uid: uid.into(),
            id: "123456789012".into(),
            kind,
            region: "us-east-1".into(),
            account: "123456789012".into(),
            name: None,
            tags: BTreeMap::new(),
            document: document.into(),
        }
    }

    #[test]
    fn account_settings_share_one_asset_and_user_data_stays_home() {
        let account = "arn:aws:ec2:us-east-1:123456789012:account";
        let instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-1";
        let inv = Inventory {
            account: "123456789012".into(),
            resources: vec![
                resource("ec2:instance", instance, r#"{"InstanceId":"i-1"}"#),
                resource(
                    "ec2:instance-user-data",
                    instance,
                    r#"{"UserData":"c2VjcmV0"}"#,
                ),
                resource(
                    "ec2:image-block-public-access",
                    account,
                    r#"{"ImageBlockPublicAccessState":"unblocked"}"#,
                ),
                resource(
                    "ec2:instance-metadata-defaults",
                    account,
                    r#"{"AccountLevel":{}}"#,
                ),
            ],
            ..Default::default()
        };
        let extra = |uid: &str| Asset {
            source: "aws".into(),
            source_id: uid.into(),
            id: "123456789012".into(),
            kind: "aws:account-region".into(),
            name: None,
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            tags: BTreeMap::new(),
            raw: "{}".into(),
        };
        let out = assets(
            &inv,
            vec![
                extra(account),
                extra("arn:aws:ec2:eu-west-1:123456789012:account"),
            ],
        );
        let ids: Vec<(&str, &str)> = out
            .iter()
            .map(|a| (a.source_id.as_str(), a.kind.as_str()))
            .collect();
        assert_eq!(
            ids,
            vec![
                (instance, "ec2:instance"),
                (account, "aws:account-region"),
                (
                    "arn:aws:ec2:eu-west-1:123456789012:account",
                    "aws:account-region"
                ),
            ]
        );
        let raw: serde_json::Value = serde_json::from_str(&out[1].raw).unwrap();
        assert_eq!(
            raw,
            serde_json::json!({
                "ec2:image-block-public-access": {"ImageBlockPublicAccessState": "unblocked"},
                "ec2:instance-metadata-defaults": {"AccountLevel": {}}
            })
        );
        assert!(out.iter().all(|a| !a.raw.contains("c2VjcmV0")));
    }
}
