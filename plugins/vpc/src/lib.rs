//! VPC checks ported from Prowler with the same ids, verdicts, resource identity,
//! severities and status texts: flow logs, endpoints and endpoint services,
//! peering routes, the public/private subnet split, VPCs across regions,
//! Site-to-Site VPN tunnels, transit gateway auto-accept and Client VPN logging.
//!
//! Like Prowler, the flow-log, EC2-endpoint and public/private checks judge only
//! VPCs that are in use (hold at least one network interface); the others judge
//! every resource of their kind.
//!
//! Where Prowler's output cannot be reproduced one for one:
//! - `vpc_endpoint_services_allowed_principals_trust_boundaries`: Prowler reports
//!   an endpoint service with N allowed principals N times, every copy carrying
//!   the verdict and text of the *last* principal. The agent accepts one finding
//!   per check and resource, so the service gets that finding once.
//! - `vpc_endpoint_connections_trust_boundaries`: Prowler reports once per
//!   principal it evaluates and stops at the first failing one; the endpoint gets
//!   one finding with the last evaluated principal's verdict, so `fail` as soon as
//!   any principal fails. Texts are the same either way.
//! - `vpc_vpn_connection_tunnels_up`: a connection reporting fewer than two
//!   tunnels stops Prowler's whole check without any finding; here that connection
//!   gets an `error` finding and every other connection its verdict.
//! - `vpc_different_regions`: the one finding is on `arn:…:ec2:<region>:<account>:vpc`
//!   where Prowler's region is its default region; here it is the integration's
//!   first region (the agent's `ec2:vpc-account` pseudo-resource).
//! - Endpoint policies: a `Statement` that is a single object is read as a list of
//!   one, and a statement without `Principal` is skipped; both stop Prowler's check
//!   with an error. A policy that is not JSON gives the endpoint an `error` finding.

mod connectivity;
mod endpoints;
mod policy;
mod vpcs;

use std::collections::BTreeSet;

use citadel_plugin_sdk::aws::ec2::NetworkInterface;
use citadel_plugin_sdk::{Inventory, Resource};

pub use connectivity::{
    ClientVpnEndpointConnectionLogging, TransitGatewayAutoAcceptVpcAttachments,
    VpnConnectionTunnelsUp,
};
pub use endpoints::{
    VpcEndpointConnectionsTrustBoundaries, VpcEndpointForEc2Enabled, VpcEndpointMultiAzEnabled,
    VpcEndpointServicesAllowedPrincipals,
};
pub use vpcs::{
    VpcDifferentRegions, VpcFlowLogsEnabled, VpcPeeringRoutingTablesLeastPrivilege,
    VpcSubnetSeparatePrivatePublic,
};

#[cfg(test)]
mod tests;

citadel_plugin_sdk::export_pack!(
    VpcFlowLogsEnabled,
    VpcEndpointForEc2Enabled,
    VpcEndpointMultiAzEnabled,
    VpcEndpointConnectionsTrustBoundaries,
    VpcEndpointServicesAllowedPrincipals,
    VpcPeeringRoutingTablesLeastPrivilege,
    VpcSubnetSeparatePrivatePublic,
    VpcDifferentRegions,
    VpnConnectionTunnelsUp,
    TransitGatewayAutoAcceptVpcAttachments,
    ClientVpnEndpointConnectionLogging,
);

/// (region, id) pairs.
type Regional = BTreeSet<(String, String)>;

/// VPCs, by region, that hold at least one network interface (Prowler's "in use").
fn vpcs_in_use(inventory: &dyn Inventory) -> Result<Regional, String> {
    Ok(inventory
        .typed::<NetworkInterface>()?
        .into_iter()
        .filter_map(|(r, n)| Some((r.region, n.vpc_id?)))
        .collect())
}

/// The `Name` tag, or the id when there is none (Prowler's `name or id`).
fn name_or_id(res: &Resource) -> String {
    res.name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| res.id.clone())
}

/// `trusted_account_ids` from the audit config (a comma-separated list; Prowler's
/// default is none).
fn trusted_account_ids(inventory: &dyn Inventory) -> Vec<String> {
    inventory
        .config("trusted_account_ids")
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The account of a principal: itself when it is a 12-digit account id, else
/// the account field of its ARN (the whole text when it has none).
fn principal_account(principal: &str) -> &str {
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return principal;
    }
    principal.split(':').nth(4).unwrap_or(principal)
}
