//! The batch schema: one scan's inventory and verdicts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One signed unit of work from an agent: the assets a scan saw and the verdicts
/// of every check on them. Large scans are split into `parts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Schema version, [`crate::FORMAT_VERSION`].
    pub version: u32,
    /// Unique id of this batch (UUIDv7); the collector deduplicates on it.
    pub batch_id: Uuid,
    /// The agent that produced and signed the batch (also the COSE `kid`).
    pub agent_id: String,
    /// The agent's software version (`citadel-agent --version`), shown in
    /// the fleet view. Absent in batches from agents before 0.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// Per-agent sequence number, starting at 1.
    pub seq: u64,
    /// Hex SHA-256 of the previous batch's signed bytes, none for the first.
    pub prev: Option<String>,
    /// The scan this batch belongs to.
    pub scan_id: Uuid,
    /// Index of this part within the scan, from 0.
    pub part: u32,
    /// Number of parts the scan was split into.
    pub parts: u32,
    /// Where the inventory came from.
    pub integration: Integration,
    /// Scan start, Unix milliseconds.
    pub started_at: i64,
    /// Scan end, Unix milliseconds.
    pub finished_at: i64,
    /// True when this batch alone covered the whole inventory of the
    /// integration (one part, every list complete), so the collector may mark
    /// assets it did not see as inactive. Agents set it only on single-part
    /// scans, so a collector that predates `parts` never deactivates assets
    /// on seeing one part of many.
    pub complete: bool,
    /// The inventory lists (kind in a region) the scan read in full; the
    /// same in every part of a scan. Once every part has arrived, the
    /// collector marks inactive the assets of these lists that the scan did
    /// not see, even when other lists failed. Absent in batches from agents
    /// before 0.2, which only have `complete`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub complete_lists: Vec<InventoryList>,
    /// The plugins whose checks produced the results.
    pub plugins: Vec<PluginProvenance>,
    /// Catalog of the checks that ran.
    pub checks: Vec<CheckInfo>,
    /// Resources discovered.
    pub assets: Vec<Asset>,
    /// Edges between assets.
    pub relationships: Vec<Relationship>,
    /// Verdicts.
    pub results: Vec<CheckResult>,
    /// What went wrong on the agent since its previous batch (failed scans,
    /// scans skipped because the spool was full, quarantined spool files),
    /// signed with the batch so that a gap is on the record. Absent when
    /// nothing did, and in batches from agents before the service loop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<AgentIncident>,
}

/// One thing that went wrong on the agent, reported in its next batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentIncident {
    /// What kind: `scan_failed`, `scan_skipped`, `push_failed`, `spool_quarantined`.
    pub kind: String,
    /// When it happened, Unix milliseconds.
    pub at: i64,
    /// Human explanation.
    pub message: String,
}

/// The cloud account and regions a scan covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    /// Integration name from the agent config, unique per agent.
    pub name: String,
    /// Cloud provider, `aws`.
    pub provider: String,
    /// Account id.
    pub account: String,
    /// Regions scanned.
    pub regions: Vec<String>,
}

/// One inventory list: every resource of a kind in a region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InventoryList {
    /// Inventory kind, e.g. `ec2:instance`.
    pub kind: String,
    /// Region.
    pub region: String,
}

/// Which plugin a result came from, so evidence can be traced to exact code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginProvenance {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Hex SHA-256 of the component bytes.
    pub sha256: String,
    /// Hex Ed25519 public key of the publisher that signed it, if signed.
    pub signer: Option<String>,
}

/// Severity of a failing check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Exploitable now, with severe impact.
    Critical,
    /// Serious exposure.
    High,
    /// Should be fixed.
    Medium,
    /// Hardening.
    Low,
    /// For information only.
    Informational,
}

impl Severity {
    /// Lower-case name, as stored and displayed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
            Self::Informational => "informational",
        }
    }
}

/// Verdict of a check on an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Compliant.
    Pass,
    /// Not compliant.
    Fail,
    /// No verdict could be reached; `status_extended` says why.
    Error,
    /// The check does not apply.
    NotApplicable,
}

impl Status {
    /// Snake-case name, as stored and displayed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Error => "error",
            Self::NotApplicable => "not_applicable",
        }
    }
}

/// Static description of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInfo {
    /// Stable id (Prowler's id for ported checks).
    pub id: String,
    /// Name of the plugin providing it.
    pub plugin: String,
    /// One-line title.
    pub title: String,
    /// What it verifies.
    pub description: String,
    /// Default severity of a failure.
    pub severity: Severity,
    /// Cloud service.
    pub service: String,
    /// Resource type evaluated.
    pub resource_type: String,
    /// How to fix a failure.
    pub remediation: String,
    /// Framework key → requirement ids.
    pub requirements: BTreeMap<String, Vec<String>>,
}

/// A discovered resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Where the asset was discovered, e.g. `aws`.
    pub source: String,
    /// Stable id within the source (the ARN).
    pub source_id: String,
    /// Provider short id (`i-…`).
    pub id: String,
    /// Inventory kind, e.g. `ec2:instance`.
    pub kind: String,
    /// Display name.
    pub name: Option<String>,
    /// Region.
    pub region: String,
    /// Owning account.
    pub account: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// The provider API object as JSON, verbatim from discovery.
    pub raw: String,
}

/// A typed edge between two assets, by `source_id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Relationship {
    /// The asset the edge starts at.
    pub from: String,
    /// Edge type: `belongs_to`, `protected_by`, `attached_to`, `encrypted_by`, `assumes`,
    /// `allows_from`, `routes_to`.
    pub kind: String,
    /// The asset the edge points to.
    pub to: String,
}

/// A verdict of one check on one asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check.
    pub check_id: String,
    /// `source_id` of the asset evaluated.
    pub asset: String,
    /// Verdict.
    pub status: Status,
    /// Human explanation of the verdict.
    pub status_extended: String,
    /// Severity of this finding (the check's, unless the check varies it).
    pub severity: Severity,
    /// When the verdict was reached, Unix milliseconds.
    pub observed_at: i64,
}

impl Batch {
    /// A small, fixed batch for documentation, golden vectors and tests.
    pub fn example() -> Self {
        let arn = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0".to_string();
        let mut requirements = BTreeMap::new();
        requirements.insert("soc2".to_string(), vec!["cc_6_6".to_string()]);
        Batch {
            version: crate::FORMAT_VERSION,
            batch_id: Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001),
            agent_id: "agt-example".to_string(),
            agent_version: Some("0.1.0".into()),
            seq: 1,
            prev: None,
            scan_id: Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0002),
            part: 0,
            parts: 1,
            integration: Integration {
                name: "main".to_string(),
                provider: "aws".to_string(),
                account: "123456789012".to_string(),
                regions: vec!["us-east-1".to_string()],
            },
            started_at: 1_767_225_600_000,
            finished_at: 1_767_225_601_500,
            complete: true,
            complete_lists: vec![InventoryList {
                kind: "ec2:instance".to_string(),
                region: "us-east-1".to_string(),
            }],
            plugins: vec![PluginProvenance {
                name: "ec2-network".to_string(),
                version: "0.1.0".to_string(),
                sha256: "00".repeat(32),
                signer: None,
            }],
            checks: vec![CheckInfo {
                id: "ec2_instance_public_ip".to_string(),
                plugin: "ec2-network".to_string(),
                title: "EC2 instance has no public IPv4 address".to_string(),
                description: "Flags instances reachable on a public IPv4 address.".to_string(),
                severity: Severity::Medium,
                service: "ec2".to_string(),
                resource_type: "AwsEc2Instance".to_string(),
                remediation: "Launch instances in private subnets.".to_string(),
                requirements,
            }],
            assets: vec![Asset {
                source: "aws".to_string(),
                source_id: arn.clone(),
                id: "i-0123456789abcdef0".to_string(),
                kind: "ec2:instance".to_string(),
                name: Some("web".to_string()),
                region: "us-east-1".to_string(),
                account: "123456789012".to_string(),
                tags: BTreeMap::from([("Name".to_string(), "web".to_string())]),
                raw: r#"{"InstanceId":"i-0123456789abcdef0","PublicIpAddress":"54.0.0.1"}"#
                    .to_string(),
            }],
            relationships: vec![Relationship {
                from: arn.clone(),
                kind: "belongs_to".to_string(),
                to: "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1".to_string(),
            }],
            results: vec![CheckResult {
                check_id: "ec2_instance_public_ip".to_string(),
                asset: arn,
                status: Status::Fail,
                status_extended: "EC2 Instance i-0123456789abcdef0 has a Public IP: 54.0.0.1 ()."
                    .to_string(),
                severity: Severity::Medium,
                observed_at: 1_767_225_601_000,
            }],
            incidents: Vec::new(),
        }
    }
}
