//! EC2 instance configuration checks, ported from Prowler with the same ids,
//! verdicts, resource identity and status texts: metadata service, monitoring,
//! instance profile, age, virtualization type and network interfaces.

use std::collections::BTreeMap;

use citadel_plugin_sdk::aws::ec2::{Instance, NetworkInterface};
use citadel_plugin_sdk::aws::{Kind, unix_seconds};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Resource, Severity};

mod ami;
mod enclave;
pub mod secrets;
mod templates;

pub use ami::*;
pub use enclave::*;
pub use secrets::{InstanceSecretsUserData, LaunchTemplateNoSecrets};
pub use templates::*;

#[cfg(test)]
mod tests;

citadel_plugin_sdk::export_pack!(
    InstanceImdsv2,
    InstanceDetailedMonitoring,
    InstanceProfileAttached,
    InstanceOlderThanSpecificDays,
    InstanceParavirtualType,
    InstanceUsesSingleEni,
    InstanceStoppedOlderThanSpecificDays,
    InstanceInternetFacingWithProfile,
    AmiPublic,
    InstanceWithOutdatedAmi,
    AmiAccountBlockPublicAccess,
    InstanceAccountImdsv2Enabled,
    LaunchTemplateImdsv2Required,
    LaunchTemplateNoPublicIp,
    LaunchTemplateNoSecrets,
    InstanceSecretsUserData,
    EnclaveHostImdsv2NotEnforced,
    EnclaveHostNotRunning,
    EnclaveHostPublicIp,
    EnclaveHostUnrestrictedIngress,
    EnclaveHostVsockProxyExposed,
);

/// Prowler's default `max_ec2_instance_stopped_days`.
pub const DEFAULT_MAX_STOPPED_DAYS: u64 = 30;

fn now_seconds() -> Result<i64, String> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64)
}

/// The stop time in a `StateTransitionReason` such as
/// `User initiated (2016-09-14 15:07:39 GMT)`, as Unix seconds.
pub fn stop_time(reason: &str) -> Option<i64> {
    let start = reason.find('(')?;
    let rest = &reason[start + 1..];
    let stamp = rest
        .strip_suffix(')')
        .unwrap_or(rest)
        .split(" GMT)")
        .next()?;
    let stamp = stamp.strip_suffix(" GMT")?;
    if stamp.len() != 19 {
        return None;
    }
    unix_seconds(stamp)
}

/// Prowler's default `max_ec2_instance_age_in_days`.
pub const DEFAULT_MAX_AGE_DAYS: u64 = 180;

fn base(id: &str, title: &str, severity: Severity) -> CheckInfo {
    CheckInfo::new(id, title, severity)
        .service("ec2")
        .resource_type("AwsEc2Instance")
        .reads(&[Instance::KIND])
}

/// Instances except terminated ones (Prowler skips those for most checks).
fn live(inventory: &dyn Inventory) -> Result<Vec<(Resource, Instance)>, String> {
    Ok(inventory
        .typed::<Instance>()?
        .into_iter()
        .filter(|(_, i)| i.state.name != "terminated")
        .collect())
}

/// `ec2_instance_imdsv2_enabled`.
pub struct InstanceImdsv2;

impl Check for InstanceImdsv2 {
    fn info(&self) -> CheckInfo {
        base(
            "ec2_instance_imdsv2_enabled",
            "EC2 instance requires IMDSv2 or has the instance metadata service disabled",
            Severity::High,
        )
        .description("IMDSv1 answers any request from the instance, which SSRF flaws turn into credential theft.")
        .remediation("Set the instance's metadata options to HttpTokens=required, or disable the endpoint.")
        .requirement("soc2", &["cc_7_2"])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["ac_3"])
        .requirement("pci_4.0", &["8.2.8.4"])
        .requirement("cis_7.0", &["6.7"])
        .requirement("aws_fsbp", &["EC2.8"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(live(inventory)?
            .into_iter()
            .map(|(res, i)| {
                let m = i.metadata_options.unwrap_or_default();
                let endpoint = m.http_endpoint.as_deref();
                if endpoint == Some("enabled") && m.http_tokens.as_deref() == Some("required") {
                    Finding::pass(
                        &res,
                        format!(
                            "EC2 Instance {} has IMDSv2 enabled and required.",
                            i.instance_id
                        ),
                    )
                } else if endpoint == Some("disabled") {
                    Finding::pass(
                        &res,
                        format!(
                            "EC2 Instance {} has metadata service disabled.",
                            i.instance_id
                        ),
                    )
                } else {
                    Finding::fail(
                        &res,
                        format!(
                            "EC2 Instance {} has IMDSv2 disabled or not required.",
                            i.instance_id
                        ),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_instance_detailed_monitoring_enabled`.
pub struct InstanceDetailedMonitoring;

impl Check for InstanceDetailedMonitoring {
    fn info(&self) -> CheckInfo {
        base("ec2_instance_detailed_monitoring_enabled", "EC2 instance has detailed monitoring enabled", Severity::Low)
            .description("Basic monitoring samples every five minutes; incidents and saturation hide between samples.")
            .remediation("Enable detailed (one-minute) CloudWatch monitoring on the instance.")
            .requirement(
                "pci_4.0",
                &["10.2.1.1.15", "10.4.1.1.4", "10.4.1.3", "10.4.2.4", "10.6.3.15", "10.7.1.5", "10.7.2.5", "A3.3.1.7", "A3.5.1.7"],
            )
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        // Every instance, terminated ones included, as Prowler does.
        Ok(inventory
            .typed::<Instance>()?
            .into_iter()
            .map(|(res, i)| {
                if i.monitoring.and_then(|m| m.state).as_deref() == Some("enabled") {
                    Finding::pass(
                        &res,
                        format!(
                            "EC2 Instance {} has detailed monitoring enabled.",
                            i.instance_id
                        ),
                    )
                } else {
                    Finding::fail(
                        &res,
                        format!(
                            "EC2 Instance {} does not have detailed monitoring enabled.",
                            i.instance_id
                        ),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_instance_profile_attached`.
pub struct InstanceProfileAttached;

impl Check for InstanceProfileAttached {
    fn info(&self) -> CheckInfo {
        base(
            "ec2_instance_profile_attached",
            "EC2 instance is associated with an IAM instance profile role",
            Severity::Medium,
        )
        .description("Without a role, software on the instance tends to carry long-lived access keys instead.")
        .remediation("Attach an instance profile whose role grants only what the workload needs.")
        .requirement("iso27001_2022", &["A.8.2", "A.8.20", "A.8.21", "A.8.22"])
        .requirement("pci_4.0", &["7.2.1.5", "7.2.2.5", "7.2.5.3", "7.3.1.3", "7.3.2.3", "7.3.3.3", "8.2.7.3", "8.2.8.5", "8.3.4.3"])
        .requirement("cis_7.0", &["2.16"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(live(inventory)?
            .into_iter()
            .map(|(res, i)| {
                match i
                    .iam_instance_profile
                    .as_ref()
                    .filter(|p| !p.arn.is_empty())
                {
                    Some(p) => Finding::pass(
                        &res,
                        format!(
                            "EC2 Instance {} associated with Instance Profile Role {}.",
                            i.instance_id, p.arn
                        ),
                    ),
                    None => Finding::fail(
                        &res,
                        format!(
                            "EC2 Instance {} not associated with an Instance Profile Role.",
                            i.instance_id
                        ),
                    ),
                }
            })
            .collect())
    }
}

/// `ec2_instance_older_than_specific_days`.
pub struct InstanceOlderThanSpecificDays;

impl Check for InstanceOlderThanSpecificDays {
    fn info(&self) -> CheckInfo {
        base(
            "ec2_instance_older_than_specific_days",
            "EC2 instance is not older than the configured maximum age or is not running",
            Severity::Medium,
        )
        .description(
            "Long-running instances drift from their images and miss patches that a rebuild would bring \
             (audit setting max_ec2_instance_age_in_days, default 180).",
        )
        .remediation("Rebuild or replace long-running instances from current images.")
        .requirement("iso27001_2022", &["A.8.10"])
        .requirement("aws_fsbp", &["EC2.4"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let max_days = inventory.config_u64("max_ec2_instance_age_in_days", DEFAULT_MAX_AGE_DAYS);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs() as i64;
        inventory
            .typed::<Instance>()?
            .into_iter()
            .map(|(res, i)| {
                if i.state.name != "running" {
                    return Ok(Finding::pass(
                        &res,
                        format!("EC2 Instance {} is not running.", i.instance_id),
                    ));
                }
                let launched =
                    i.launch_time
                        .as_deref()
                        .and_then(unix_seconds)
                        .ok_or_else(|| {
                            format!("instance {} has no readable LaunchTime", i.instance_id)
                        })?;
                // Whole days, rounded down like Python's timedelta.days.
                let days = (now - launched).div_euclid(86_400);
                let text = if days > max_days as i64 {
                    "is older than"
                } else {
                    "is not older than"
                };
                let finding = format!(
                    "EC2 Instance {} {text} {max_days} days ({days} days).",
                    i.instance_id
                );
                Ok(if days > max_days as i64 {
                    Finding::fail(&res, finding)
                } else {
                    Finding::pass(&res, finding)
                })
            })
            .collect()
    }
}

/// `ec2_instance_paravirtual_type`.
pub struct InstanceParavirtualType;

impl Check for InstanceParavirtualType {
    fn info(&self) -> CheckInfo {
        base("ec2_instance_paravirtual_type", "EC2 instance virtualization type is HVM", Severity::Medium)
            .description("Paravirtual instances run on retired instance families without current hardware protections.")
            .remediation("Migrate the workload to an HVM image and a current instance type.")
            .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
            .requirement("aws_fsbp", &["EC2.24"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(live(inventory)?
            .into_iter()
            .map(|(res, i)| {
                if i.virtualization_type.as_deref() == Some("paravirtual") {
                    Finding::fail(
                        &res,
                        format!(
                            "EC2 Instance {} virtualization type is set to paravirtual.",
                            i.instance_id
                        ),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!(
                            "EC2 Instance {} virtualization type is set to HVM.",
                            i.instance_id
                        ),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_instance_uses_single_eni`.
pub struct InstanceUsesSingleEni;

/// Python's repr of a list of strings: `['eni-1', 'eni-2']`.
fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    format!("[{}]", quoted.join(", "))
}

impl Check for InstanceUsesSingleEni {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_instance_uses_single_eni",
            "EC2 instance has no more than one Elastic Network Interface (ENI) attached",
            Severity::Low,
        )
        .description("Several interfaces can bridge subnets and bypass the network boundaries the design relies on.")
        .service("ec2")
        .resource_type("AwsEc2Instance")
        .remediation("Detach secondary interfaces unless the design requires them.")
        .reads(&[Instance::KIND, NetworkInterface::KIND])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("aws_fsbp", &["EC2.17"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let types: BTreeMap<(String, String), String> = inventory
            .typed::<NetworkInterface>()?
            .into_iter()
            .map(|(r, n)| {
                (
                    (r.region, n.network_interface_id),
                    n.interface_type.unwrap_or_default(),
                )
            })
            .collect();
        Ok(inventory
            .typed::<Instance>()?
            .into_iter()
            .map(|(res, i)| {
                if i.network_interfaces.is_empty() {
                    return Finding::pass(
                        &res,
                        format!(
                            "EC2 Instance {} has no network interfaces attached.",
                            i.instance_id
                        ),
                    );
                }
                let (mut efas, mut interfaces, mut trunks) = (Vec::new(), Vec::new(), Vec::new());
                for n in &i.network_interfaces {
                    let id = n.network_interface_id.clone();
                    match types
                        .get(&(res.region.clone(), id.clone()))
                        .map(String::as_str)
                    {
                        Some("efa") => efas.push(id),
                        Some("interface") => interfaces.push(id),
                        Some("trunk") => trunks.push(id),
                        _ => {}
                    }
                }
                let mut detail = String::new();
                for (label, list) in [
                    ("EFAs", &efas),
                    ("Interfaces", &interfaces),
                    ("Trunks", &trunks),
                ] {
                    if !list.is_empty() {
                        detail.push_str(&format!(" {label}: {}", py_list(list)));
                    }
                }
                let count = efas.len() + interfaces.len() + trunks.len();
                if count > 1 {
                    Finding::fail(
                        &res,
                        format!(
                            "EC2 Instance {} uses multiple ENIs: ({detail} ).",
                            i.instance_id
                        ),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!(
                            "EC2 Instance {} uses only one ENI: ({detail} ).",
                            i.instance_id
                        ),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_instance_stopped_older_than_specific_days`.
pub struct InstanceStoppedOlderThanSpecificDays;

impl Check for InstanceStoppedOlderThanSpecificDays {
    fn info(&self) -> CheckInfo {
        base(
            "ec2_instance_stopped_older_than_specific_days",
            "EC2 instance has not been stopped longer than the configured maximum days",
            Severity::Low,
        )
        .description(
            "Long-stopped instances keep volumes, addresses and stale software around \
             (audit setting max_ec2_instance_stopped_days, default 30).",
        )
        .remediation(
            "Terminate instances that stay stopped, after keeping what their volumes hold.",
        )
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let max_days =
            inventory.config_u64("max_ec2_instance_stopped_days", DEFAULT_MAX_STOPPED_DAYS) as i64;
        let now = now_seconds()?;
        Ok(inventory
            .typed::<Instance>()?
            .into_iter()
            .map(|(res, i)| {
                if i.state.name != "stopped" {
                    return Finding::pass(&res, format!("EC2 Instance {} is not stopped.", i.instance_id));
                }
                let Some(stopped) = i.state_transition_reason.as_deref().and_then(stop_time) else {
                    return Finding::pass(
                        &res,
                        format!("EC2 Instance {} is stopped but stop time could not be determined.", i.instance_id),
                    );
                };
                let days = (now - stopped).div_euclid(86_400);
                if days > max_days {
                    Finding::fail(
                        &res,
                        format!("EC2 Instance {} has been stopped longer than {max_days} days ({days} days).", i.instance_id),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!("EC2 Instance {} has not been stopped longer than {max_days} days ({days} days).", i.instance_id),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_instance_internet_facing_with_instance_profile`.
pub struct InstanceInternetFacingWithProfile;

impl Check for InstanceInternetFacingWithProfile {
    fn info(&self) -> CheckInfo {
        base(
            "ec2_instance_internet_facing_with_instance_profile",
            "EC2 instance is not internet-facing with an instance profile attached",
            Severity::High,
        )
        .description("A public instance with a role turns any remote code execution into cloud credentials.")
        .remediation("Move the instance behind a load balancer or remove its public IP, and scope its role tightly.")
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(live(inventory)?
            .into_iter()
            .map(|(res, i)| {
                let ip = i.public_ip_address.as_deref().filter(|ip| !ip.is_empty());
                let profile = i.iam_instance_profile.as_ref().filter(|p| !p.arn.is_empty());
                match (ip, profile) {
                    (Some(ip), Some(p)) => Finding::fail(
                        &res,
                        format!("EC2 Instance {} at IP {ip} is internet-facing with Instance Profile {}.", i.instance_id, p.arn),
                    ),
                    _ => Finding::pass(
                        &res,
                        format!("EC2 Instance {} is not internet facing with an instance profile.", i.instance_id),
                    ),
                }
            })
            .collect())
    }
}
