//! Discovery: read the estate through read-only EC2 APIs into an [`Inventory`].
//!
//! Every resource is kept as its AWS API object rendered to JSON (AWS field
//! names), which is what plugins read and what the collector stores verbatim.
//! A failed API call is recorded in [`Inventory::errors`], never skipped silently.

mod ec2;

use std::collections::{BTreeMap, BTreeSet};

use aws_config::BehaviorVersion;
use citadel_wire::Relationship;

use crate::config::Integration;

/// One discovered resource.
#[derive(Debug, Clone)]
pub struct Resource {
    /// ARN.
    pub uid: String,
    /// Short id (`i-…`).
    pub id: String,
    /// Inventory kind (`ec2:instance`).
    pub kind: &'static str,
    /// Region.
    pub region: String,
    /// Owning account.
    pub account: String,
    /// Display name.
    pub name: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// AWS API object as JSON.
    pub document: String,
}

/// A failed discovery call.
#[derive(Debug, Clone)]
pub struct DiscoveryError {
    /// Region of the call.
    pub region: String,
    /// Inventory kind that could not be read.
    pub kind: &'static str,
    /// The API action, e.g. `ec2:DescribeInstances`.
    pub action: &'static str,
    /// What went wrong (no credentials or secrets).
    pub message: String,
}

/// Everything a scan discovered for one integration.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Account id.
    pub account: String,
    /// Resources of every kind.
    pub resources: Vec<Resource>,
    /// Edges between resources, by ARN.
    pub relationships: Vec<Relationship>,
    /// Calls that failed.
    pub errors: Vec<DiscoveryError>,
    /// The (kind, region) lists read in full: every call for the kind in
    /// the region answered, none failed. The collector marks inactive only
    /// the assets of these lists that the scan did not see.
    pub complete_lists: BTreeSet<(String, String)>,
}

impl Inventory {
    /// Resources grouped by kind.
    pub fn by_kind(&self) -> BTreeMap<&'static str, Vec<&Resource>> {
        let mut map: BTreeMap<&'static str, Vec<&Resource>> = BTreeMap::new();
        for r in &self.resources {
            map.entry(r.kind).or_default().push(r);
        }
        map
    }
}

/// Inventory kinds discovery can serve, with the API actions that read each.
pub const KINDS: &[(&str, &[&str])] = &[
    ("ec2:instance", &["ec2:DescribeInstances"]),
    ("ec2:security-group", &["ec2:DescribeSecurityGroups"]),
    ("ec2:volume", &["ec2:DescribeVolumes"]),
    ("ec2:vpc", &["ec2:DescribeVpcs"]),
    ("ec2:subnet", &["ec2:DescribeSubnets"]),
    ("ec2:network-interface", &["ec2:DescribeNetworkInterfaces"]),
    ("ec2:route-table", &["ec2:DescribeRouteTables"]),
    ("ec2:network-acl", &["ec2:DescribeNetworkAcls"]),
    ("ec2:snapshot", &["ec2:DescribeSnapshots"]),
    ("ec2:address", &["ec2:DescribeAddresses"]),
    (
        "ec2:ebs-encryption-by-default",
        &["ec2:GetEbsEncryptionByDefault"],
    ),
    ("ec2:flow-log", &["ec2:DescribeFlowLogs"]),
    ("ec2:vpc-endpoint", &["ec2:DescribeVpcEndpoints"]),
    (
        "ec2:vpc-endpoint-service",
        &[
            "ec2:DescribeVpcEndpointServices",
            "ec2:DescribeVpcEndpointServicePermissions",
        ],
    ),
    (
        "ec2:vpc-peering-connection",
        &["ec2:DescribeVpcPeeringConnections"],
    ),
    ("ec2:vpn-connection", &["ec2:DescribeVpnConnections"]),
    ("ec2:transit-gateway", &["ec2:DescribeTransitGateways"]),
    (
        "ec2:client-vpn-endpoint",
        &["ec2:DescribeClientVpnEndpoints"],
    ),
    // The account itself, for account-level VPC checks; their verdicts rest on DescribeVpcs.
    ("ec2:vpc-account", &["ec2:DescribeVpcs"]),
    // AMIs the account owns, plus (when `ec2:instance` is read too) the AMIs
    // its instances were launched from.
    ("ec2:image", &["ec2:DescribeImages"]),
    // Per-region account settings; each is a pseudo-resource `arn:…:ec2:<region>:<account>:account`.
    (
        "ec2:image-block-public-access",
        &["ec2:GetImageBlockPublicAccessState"],
    ),
    (
        "ec2:snapshot-block-public-access",
        &["ec2:GetSnapshotBlockPublicAccessState"],
    ),
    (
        "ec2:instance-metadata-defaults",
        &["ec2:GetInstanceMetadataDefaults"],
    ),
    // No resources of its own: folds each snapshot's `createVolumePermission`
    // attribute into its `ec2:snapshot` document as `CreateVolumePermissions`.
    (
        "ec2:snapshot-permissions",
        &["ec2:DescribeSnapshots", "ec2:DescribeSnapshotAttribute"],
    ),
    ("ec2:launch-template", LAUNCH_TEMPLATE_ACTIONS),
    // User data, served to checks but never shipped (see [`AGENT_ONLY_KINDS`]):
    // the launch templates' versions, and each live instance's `userData` attribute.
    (LAUNCH_TEMPLATE_USER_DATA, LAUNCH_TEMPLATE_ACTIONS),
    (
        INSTANCE_USER_DATA,
        &["ec2:DescribeInstances", "ec2:DescribeInstanceAttribute"],
    ),
];

const LAUNCH_TEMPLATE_ACTIONS: &[&str] = &[
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions",
];

/// Launch template versions' user data (uid: the template's ARN).
pub const LAUNCH_TEMPLATE_USER_DATA: &str = "ec2:launch-template-user-data";
/// An instance's user data (uid: the instance's ARN).
pub const INSTANCE_USER_DATA: &str = "ec2:instance-user-data";

/// Kinds checks may read but whose documents never leave the agent (they can
/// hold secrets): they are not batch assets. Their uids are other resources'.
pub const AGENT_ONLY_KINDS: &[&str] = &[LAUNCH_TEMPLATE_USER_DATA, INSTANCE_USER_DATA];

/// Kinds whose resources are per-region account settings sharing the uid
/// `arn:…:ec2:<region>:<account>:account` (one batch asset per region).
pub const ACCOUNT_SETTING_KINDS: &[&str] = &[
    "ec2:image-block-public-access",
    "ec2:snapshot-block-public-access",
    "ec2:instance-metadata-defaults",
];

/// Discover every configured region of `integration`.
///
/// Fails only when the account cannot be identified at all (no credentials, no
/// endpoint); per-region and per-call failures land in [`Inventory::errors`].
pub async fn discover(
    integration: &Integration,
    wanted: &BTreeSet<String>,
) -> Result<Inventory, DiscoverError> {
    let first = integration.regions.first().cloned().unwrap_or_default();
    let base = load_sdk_config(integration, &first).await;
    let sts = aws_sdk_sts::Client::new(&base);
    let account = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| DiscoverError::Identity(error_text(&e)))?
        .account
        .ok_or_else(|| DiscoverError::Identity("no account in the reply".into()))?;

    let mut inventory = Inventory {
        account: account.clone(),
        ..Default::default()
    };
    let mut tasks = tokio::task::JoinSet::new();
    for region in integration.regions.clone() {
        let integration = integration.clone();
        let account = account.clone();
        let wanted = wanted.clone();
        tasks.spawn(async move {
            let conf = load_sdk_config(&integration, &region).await;
            ec2::discover_region(&aws_sdk_ec2::Client::new(&conf), &region, &account, &wanted).await
        });
    }
    while let Some(part) = tasks.join_next().await {
        let part =
            part.map_err(|e| DiscoverError::Identity(format!("discovery task failed: {e}")))?;
        inventory
            .complete_lists
            .extend(complete_lists(&part.listed, &part.errors, &part.region));
        inventory.resources.extend(part.resources);
        inventory.relationships.extend(part.relationships);
        inventory.errors.extend(part.errors);
    }
    if wanted.contains(VPC_ACCOUNT)
        && let Some(first) = integration.regions.first()
    {
        inventory
            .resources
            .push(vpc_account(&account, first, &integration.regions));
    }
    // Regions finish in any order; keep batches reproducible.
    inventory.resources.sort_by(|a, b| a.uid.cmp(&b.uid));
    inventory.relationships.sort();
    inventory.relationships.dedup();
    Ok(inventory)
}

const VPC_ACCOUNT: &str = "ec2:vpc-account";

/// The lists of one region read in full: kinds with a call that answered
/// and no failed call. The region's account settings travel as one
/// `aws:account-region` asset, complete when every setting kind read is.
fn complete_lists(
    listed: &BTreeSet<&'static str>,
    errors: &[DiscoveryError],
    region: &str,
) -> Vec<(String, String)> {
    let failed: BTreeSet<&str> = errors
        .iter()
        .filter(|e| e.region == region)
        .map(|e| e.kind)
        .collect();
    let mut lists: Vec<(String, String)> = listed
        .iter()
        .filter(|k| !failed.contains(*k) && !ACCOUNT_SETTING_KINDS.contains(*k))
        .map(|k| (k.to_string(), region.to_string()))
        .collect();
    if ACCOUNT_SETTING_KINDS.iter().all(|k| !failed.contains(k)) {
        lists.push(("aws:account-region".into(), region.to_string()));
    }
    lists
}

/// The scanned account as one resource for account-level VPC checks, in the
/// integration's first region: `arn:…:ec2:<region>:<account>:vpc`, the resource
/// Prowler names `vpc_different_regions`'s finding after (with its default region).
fn vpc_account(account: &str, region: &str, regions: &[String]) -> Resource {
    Resource {
        uid: format!("arn:{}:ec2:{region}:{account}:vpc", partition(region)),
        id: account.to_string(),
        kind: VPC_ACCOUNT,
        region: region.to_string(),
        account: account.to_string(),
        name: None,
        tags: BTreeMap::new(),
        document: serde_json::json!({ "AccountId": account, "Regions": regions }).to_string(),
    }
}

/// Discovery could not start.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// `sts:GetCallerIdentity` failed: credentials or endpoint are wrong.
    #[error("cannot identify the AWS account (sts:GetCallerIdentity): {0}")]
    Identity(String),
}

async fn load_sdk_config(integration: &Integration, region: &str) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()));
    if let Some(endpoint) = &integration.endpoint {
        loader = loader.endpoint_url(endpoint.as_str().trim_end_matches('/'));
    }
    let base = loader.load().await;
    let Some(role) = &integration.role_arn else {
        return base;
    };
    // Cross-account: the agent's own credentials only serve to assume the
    // scanned account's read-only role (with its external id).
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("citadel-agent")
        .configure(&base);
    if let Some(id) = &integration.external_id {
        provider = provider.external_id(id);
    }
    let provider = provider.build().await;
    base.into_builder()
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
}

/// A readable message for an SDK error, including the service's error code.
pub(crate) fn error_text<E, R>(err: &aws_sdk_ec2::error::SdkError<E, R>) -> String
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_ec2::error::SdkError;
    match err {
        SdkError::ServiceError(s) => {
            let e = s.err();
            format!(
                "{}: {}",
                e.code().unwrap_or("ServiceError"),
                e.message().unwrap_or("no message")
            )
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}

/// The ARN partition of a region.
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The read-only IAM policy discovery needs to serve `kinds`, as JSON.
/// Kinds discovery does not know are returned separately.
pub fn iam_policy(kinds: &BTreeSet<String>) -> (serde_json::Value, Vec<String>) {
    let mut actions: BTreeSet<&str> = BTreeSet::new();
    let mut unknown = Vec::new();
    for kind in kinds {
        match KINDS.iter().find(|(k, _)| k == kind) {
            Some((_, needed)) => actions.extend(needed.iter().copied()),
            None => unknown.push(kind.clone()),
        }
    }
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CitadelAgentReadOnly",
            "Effect": "Allow",
            "Action": actions.into_iter().collect::<Vec<_>>(),
            "Resource": "*"
        }]
    });
    (policy, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_lists_only_what_the_kinds_need() {
        let kinds: BTreeSet<String> = ["ec2:volume", "ec2:instance", "ec2:volume", "ec2:mystery"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (policy, unknown) = iam_policy(&kinds);
        assert_eq!(
            policy["Statement"][0]["Action"],
            serde_json::json!(["ec2:DescribeInstances", "ec2:DescribeVolumes"])
        );
        assert_eq!(unknown, vec!["ec2:mystery".to_string()]);
        // A kind read with two calls needs both; actions shared by kinds appear once.
        let kinds: BTreeSet<String> = ["ec2:vpc-endpoint-service", "ec2:vpc", "ec2:vpc-account"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            iam_policy(&kinds).0["Statement"][0]["Action"],
            serde_json::json!([
                "ec2:DescribeVpcEndpointServicePermissions",
                "ec2:DescribeVpcEndpointServices",
                "ec2:DescribeVpcs"
            ])
        );
    }
}
