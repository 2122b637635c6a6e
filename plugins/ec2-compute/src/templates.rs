//! Launch template checks, ported from Prowler with the same ids, verdicts,
//! resource identity and status texts. Every version of a template is judged
//! together, in the order DescribeLaunchTemplateVersions returned them.

use std::collections::BTreeMap;

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{LaunchTemplate, NetworkInterface};
use citadel_plugin_sdk::aws::ip::is_global;
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity};

fn joined(versions: &[i64]) -> String {
    versions
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `ec2_launch_template_imdsv2_required`.
///
/// One version with IMDSv2 required (endpoint `enabled`, tokens `required`) is
/// enough to pass, whatever the default version says; failing that, one version
/// with the endpoint `disabled` or not set at all (no `MetadataOptions` counts)
/// passes as "metadata service disabled".
pub struct LaunchTemplateImdsv2Required;

impl Check for LaunchTemplateImdsv2Required {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_launch_template_imdsv2_required",
            "EC2 launch template has IMDSv2 enabled and required or instance metadata service disabled",
            Severity::High,
        )
        .description("Instances launched from a template that allows IMDSv1 expose their role credentials to SSRF.")
        .service("ec2")
        .resource_type("AwsEc2LaunchTemplate")
        .remediation("Create a template version with HttpTokens=required (or the endpoint disabled) and make it the default.")
        .reads(&[LaunchTemplate::KIND])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["ac_3"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(inventory
            .typed::<LaunchTemplate>()?
            .into_iter()
            .map(|(res, t)| {
                let (mut required, mut disabled, mut other) = (Vec::new(), Vec::new(), Vec::new());
                for v in &t.versions {
                    let m = v.launch_template_data.metadata_options.clone().unwrap_or_default();
                    let endpoint = m.http_endpoint.as_deref().unwrap_or_default();
                    if endpoint == "enabled" && m.http_tokens.as_deref() == Some("required") {
                        required.push(v.version_number);
                    } else if endpoint == "disabled" || endpoint.is_empty() {
                        disabled.push(v.version_number);
                    } else {
                        other.push(v.version_number);
                    }
                }
                let name = &t.launch_template_name;
                if !required.is_empty() {
                    Finding::pass(
                        &res,
                        format!(
                            "EC2 Launch Template {name} has IMDSv2 enabled and required in the following versions: {}.",
                            joined(&required)
                        ),
                    )
                } else if !disabled.is_empty() {
                    Finding::pass(
                        &res,
                        format!(
                            "EC2 Launch Template {name} has metadata service disabled in the following versions: {}.",
                            joined(&disabled)
                        ),
                    )
                } else {
                    Finding::fail(
                        &res,
                        format!(
                            "EC2 Launch Template {name} has IMDSv2 disabled or not required in the following versions: {}.",
                            joined(&other)
                        ),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_launch_template_no_public_ip`.
///
/// A version fails when one of its interfaces asks for a public IPv4 address at
/// launch, or attaches an existing interface that holds a global address (its
/// associated public IPv4, a global private IPv4 or a global IPv6 address). The
/// subnet's `MapPublicIpOnLaunch` is not considered.
pub struct LaunchTemplateNoPublicIp;

impl Check for LaunchTemplateNoPublicIp {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_launch_template_no_public_ip",
            "Amazon EC2 launch template has no public IP addresses configured on network interfaces",
            Severity::High,
        )
        .description("Instances launched from the template are reachable from the Internet unless something else blocks them.")
        .service("ec2")
        .resource_type("AwsEc2LaunchTemplate")
        .remediation("Create a template version without AssociatePublicIpAddress and without public interfaces, and make it the default.")
        .reads(&[LaunchTemplate::KIND, NetworkInterface::KIND])
        .requirement("soc2", &["cc_6_6"])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("pci_4.0", &["1.4.5.1"])
        .requirement("aws_fsbp", &["EC2.25"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let global = |a: &Option<String>| {
            a.as_deref()
                .is_some_and(|a| !a.is_empty() && is_global(a) == Some(true))
        };
        let public_enis: BTreeMap<(String, String), bool> = inventory
            .typed::<NetworkInterface>()?
            .into_iter()
            .map(|(r, n)| {
                let public = global(&n.association.and_then(|a| a.public_ip))
                    || global(&n.private_ip_address)
                    || n.ipv6_addresses
                        .iter()
                        .any(|a| global(&Some(a.ipv6_address.clone())));
                ((r.region, n.network_interface_id), public)
            })
            .collect();
        Ok(inventory
            .typed::<LaunchTemplate>()?
            .into_iter()
            .map(|(res, t)| {
                let (mut assigns, mut uses) = (Vec::new(), Vec::new());
                for v in &t.versions {
                    let nics = &v.launch_template_data.network_interfaces;
                    if nics.iter().any(|n| n.associate_public_ip_address == Some(true)) {
                        assigns.push(v.version_number);
                    }
                    let public = nics.iter().any(|n| {
                        n.network_interface_id.as_ref().is_some_and(|id| {
                            public_enis
                                .get(&(res.region.clone(), id.clone()))
                                .copied()
                                .unwrap_or(false)
                        })
                    });
                    if public {
                        uses.push(v.version_number);
                    }
                }
                let name = &t.launch_template_name;
                let assign = "is configured to assign a public IP address to network interfaces upon launch in template versions";
                let using = "is using a network interface with public IP addresses in template versions";
                match (assigns.is_empty(), uses.is_empty()) {
                    (true, true) => Finding::pass(
                        &res,
                        format!(
                            "EC2 Launch Template {name} is neither configured to assign a public IP address to network interfaces upon launch nor using a network interface with public IP addresses."
                        ),
                    ),
                    (false, false) => Finding::fail(
                        &res,
                        format!(
                            "EC2 Launch Template {name} {assign}: {} and {using}: {}.",
                            joined(&assigns),
                            joined(&uses)
                        ),
                    ),
                    (false, true) => Finding::fail(
                        &res,
                        format!("EC2 Launch Template {name} {assign}: {}.", joined(&assigns)),
                    ),
                    (true, false) => Finding::fail(
                        &res,
                        format!("EC2 Launch Template {name} {using}: {}.", joined(&uses)),
                    ),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
