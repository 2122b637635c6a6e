//! VPC endpoints and the endpoint services the account offers.

use std::collections::BTreeSet;

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{NetworkInterface, Vpc};
use citadel_plugin_sdk::aws::vpc::{VpcEndpoint, VpcEndpointService};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity, Status};

use crate::{policy, principal_account, trusted_account_ids, vpcs_in_use};

/// `vpc_endpoint_for_ec2_enabled`.
pub struct VpcEndpointForEc2Enabled;

impl Check for VpcEndpointForEc2Enabled {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "vpc_endpoint_for_ec2_enabled",
            "VPC has an Amazon EC2 VPC endpoint",
            Severity::Medium,
        )
        .description("Without an EC2 endpoint, calls from the VPC to the EC2 API leave the VPC and need a path to the Internet.")
        .service("vpc")
        // Prowler's metadata type; the finding is on the VPC.
        .resource_type("AwsEc2VpcEndpointService")
        .remediation("Create an interface endpoint for com.amazonaws.<region>.ec2 in the VPC.")
        .reads(&[Vpc::KIND, VpcEndpoint::KIND, NetworkInterface::KIND])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["ra_5", "ae_1"])
        .requirement("pci_4.0", &[
            "1.2.8.18", "1.2.8.38", "1.3.1.21", "1.3.1.42", "1.3.2.21", "1.3.2.42", "1.4.1.5",
            "1.4.2.19", "1.4.2.40", "1.4.4.5", "1.5.1.18", "1.5.1.38", "A1.1.3.18", "A1.1.3.38",
        ])
        .requirement("aws_fsbp", &["EC2.10"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let used = vpcs_in_use(inventory)?;
        let endpoints = inventory.typed::<VpcEndpoint>()?;
        Ok(inventory
            .typed::<Vpc>()?
            .into_iter()
            .filter(|(r, v)| used.contains(&(r.region.clone(), v.vpc_id.clone())))
            .map(|(res, v)| {
                // Any service name containing "ec2" counts (ec2messages too), in any state.
                let ec2 = endpoints.iter().find(|(r, e)| {
                    r.region == res.region
                        && e.vpc_id.as_deref() == Some(v.vpc_id.as_str())
                        && e.service_name.contains("ec2")
                });
                match ec2 {
                    Some((_, e)) => Finding::pass(
                        &res,
                        format!(
                            "VPC {} has an EC2 {} endpoint.",
                            v.vpc_id,
                            e.vpc_endpoint_type.as_deref().unwrap_or_default()
                        ),
                    ),
                    None => Finding::fail(&res, format!("VPC {} has no EC2 endpoint.", v.vpc_id)),
                }
            })
            .collect())
    }
}

/// `vpc_endpoint_multi_az_enabled`.
pub struct VpcEndpointMultiAzEnabled;

impl Check for VpcEndpointMultiAzEnabled {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "vpc_endpoint_multi_az_enabled",
            "Amazon VPC interface endpoint has subnets in multiple Availability Zones",
            Severity::Medium,
        )
        .description("An interface endpoint in a single subnet, hence a single Availability Zone, fails with that zone.")
        .service("vpc")
        .resource_type("AwsEc2VpcEndpointService")
        .remediation("Add a subnet in another Availability Zone to the interface endpoint.")
        .reads(&[VpcEndpoint::KIND, Vpc::KIND])
        .requirement("iso27001_2022", &["A.8.14", "A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["be_5", "pt_5"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let vpcs: BTreeSet<(String, String)> = inventory
            .typed::<Vpc>()?
            .into_iter()
            .map(|(r, v)| (r.region, v.vpc_id))
            .collect();
        Ok(inventory
            .typed::<VpcEndpoint>()?
            .into_iter()
            .filter(|(r, e)| {
                e.vpc_endpoint_type.as_deref() == Some("Interface")
                    && e.vpc_id
                        .as_ref()
                        .is_some_and(|v| vpcs.contains(&(r.region.clone(), v.clone())))
            })
            .map(|(res, e)| {
                let who = format!(
                    "VPC Endpoint {} in VPC {}",
                    e.vpc_endpoint_id,
                    e.vpc_id.as_deref().unwrap_or_default()
                );
                // One subnet per zone is all AWS allows, so Prowler counts subnets.
                if e.subnet_ids.len() > 1 {
                    Finding::pass(&res, format!("{who} has subnets in different AZs."))
                } else {
                    Finding::fail(
                        &res,
                        format!("{who} does not have subnets in different AZs."),
                    )
                }
            })
            .collect())
    }
}

/// `vpc_endpoint_connections_trust_boundaries`.
pub struct VpcEndpointConnectionsTrustBoundaries;

impl Check for VpcEndpointConnectionsTrustBoundaries {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "vpc_endpoint_connections_trust_boundaries",
            "VPC endpoint policy allows access only from trusted AWS accounts",
            Severity::High,
        )
        .description("An endpoint policy open to any principal, or to accounts outside the trusted set, lets those accounts' credentials reach services through the VPC.")
        .service("vpc")
        .resource_type("AwsEc2VpcEndpointService")
        .remediation("Name only trusted accounts as principals, or add a condition such as aws:PrincipalAccount limited to them (set trusted_account_ids under [audit]).")
        .reads(&[VpcEndpoint::KIND])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["rr_1", "po_3", "ov_3", "ra_5", "ac_5", "ae_1"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let configured = trusted_account_ids(inventory);
        let mut findings = Vec::new();
        for (res, e) in inventory.typed::<VpcEndpoint>()? {
            // Policies of endpoints to endpoint services (com.amazonaws.vpce.…) cannot be changed.
            if e.service_name.contains("com.amazonaws.vpce.") {
                continue;
            }
            let Some(text) = e.policy_document.as_deref().filter(|t| !t.is_empty()) else {
                continue;
            };
            let who = format!(
                "VPC Endpoint {} in VPC {}",
                e.vpc_endpoint_id,
                e.vpc_id.as_deref().unwrap_or_default()
            );
            let document: serde_json::Value = match serde_json::from_str(text) {
                Ok(d) => d,
                Err(err) => {
                    findings.push(Finding::new(
                        &res,
                        Status::Error,
                        format!("{who} has a policy document that is not JSON: {err}."),
                    ));
                    continue;
                }
            };
            // The scanned account is always trusted.
            let mut trusted = configured.clone();
            trusted.push(res.account.clone());
            match policy::endpoint_policy_trusted(&document, &trusted) {
                Some(true) => findings.push(Finding::pass(
                    &res,
                    format!("{who} can only be accessed from trusted accounts."),
                )),
                Some(false) => findings.push(Finding::fail(
                    &res,
                    format!("{who} can be accessed from non-trusted accounts."),
                )),
                None => {}
            }
        }
        Ok(findings)
    }
}

/// `vpc_endpoint_services_allowed_principals_trust_boundaries`.
pub struct VpcEndpointServicesAllowedPrincipals;

impl Check for VpcEndpointServicesAllowedPrincipals {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "vpc_endpoint_services_allowed_principals_trust_boundaries",
            "VPC endpoint service allows only trusted principals or none",
            Severity::High,
        )
        .description("Principals allowed on an endpoint service can connect their own VPCs to it; a wildcard or an unknown account opens the service beyond the trust boundary.")
        .service("vpc")
        .resource_type("AwsEc2VpcEndpointService")
        .remediation("Remove wildcard and untrusted principals from the endpoint service's permissions (set trusted_account_ids under [audit]).")
        .reads(&[VpcEndpointService::KIND])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let trusted = trusted_account_ids(inventory);
        Ok(inventory
            .typed::<VpcEndpointService>()?
            .into_iter()
            .map(|(res, s)| {
                let id = &s.service_id;
                // Prowler reports once per principal, each copy with the last
                // principal's verdict; one finding carries that verdict here.
                let Some(last) = s.allowed_principals.last() else {
                    return Finding::pass(
                        &res,
                        format!("VPC Endpoint Service {id} has no allowed principals."),
                    );
                };
                let account = if last.principal == "*" {
                    "*"
                } else {
                    principal_account(&last.principal)
                };
                // Prowler tests the scanned account by substring, not equality.
                if trusted.iter().any(|t| t == account) || res.account.contains(account) {
                    Finding::pass(
                        &res,
                        format!("Found trusted account {account} in VPC Endpoint Service {id}."),
                    )
                } else if account == "*" {
                    Finding::fail(
                        &res,
                        format!("Wildcard principal found in VPC Endpoint Service {id}."),
                    )
                } else {
                    Finding::fail(
                        &res,
                        format!("Found untrusted account {account} in VPC Endpoint Service {id}."),
                    )
                }
            })
            .collect())
    }
}
