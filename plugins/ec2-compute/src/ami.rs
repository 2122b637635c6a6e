//! AMI checks and the per-region account defaults for AMIs and instance
//! metadata, ported from Prowler with the same ids, verdicts, resource identity
//! and status texts.
//!
//! The account defaults are pseudo-resources named like Prowler's findings,
//! `arn:…:ec2:<region>:<account>:account`. Where the agent could not read a
//! region's setting (an API error, as in moto), there is no pseudo-resource and
//! so no verdict from the check; the agent reports that region as an `error`
//! result with the failed call instead of Prowler's silent gap.
//!
//! Where Citadel differs from Prowler:
//! - `ec2_instance_with_outdated_ami`: the agent resolves the AMIs instances use
//!   with an `image-id` filter, so one deregistered AMI does not fail the whole
//!   lookup; such instances get no finding, as unresolvable ones do in Prowler. A
//!   `DeprecationTime` that is not an RFC 3339 timestamp gives that instance an
//!   `error` result (Prowler's strict `%Y-%m-%dT%H:%M:%S.%fZ` parse would stop the
//!   check); timestamps without fractional seconds are accepted.

use std::collections::{BTreeMap, BTreeSet};

use citadel_plugin_sdk::aws::ec2::{
    Image, ImageBlockPublicAccess, Instance, InstanceMetadataDefaults,
};
use citadel_plugin_sdk::aws::{Kind, unix_seconds};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity, Status};

/// `ec2_ami_public`.
pub struct AmiPublic;

impl Check for AmiPublic {
    fn info(&self) -> CheckInfo {
        CheckInfo::new("ec2_ami_public", "EC2 AMI owned by the account is not public", Severity::Critical)
            .description("A public AMI can be launched by anyone, exposing whatever software, data and credentials it was built with.")
            .service("ec2")
            .resource_type("Other")
            .remediation("Remove the public launch permission from the AMI and enable AMI block public access.")
            .reads(&[Image::KIND])
            .requirement("soc2", &["cc_6_6"])
            .requirement("iso27001_2022", &["A.8.1"])
            .requirement("nist_csf_2.0", &["ds_5"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(inventory
            .typed::<Image>()?
            .into_iter()
            // Only the account's own AMIs; the ones its instances use are there for
            // the outdated-AMI check.
            .filter(|(res, i)| i.owner_id.as_deref() == Some(res.account.as_str()))
            .map(|(res, i)| {
                let name = i
                    .name
                    .as_deref()
                    .filter(|n| !n.is_empty())
                    .unwrap_or(&i.image_id);
                if i.public {
                    Finding::fail(&res, format!("EC2 AMI {name} is currently public."))
                } else {
                    Finding::pass(&res, format!("EC2 AMI {name} is not public."))
                }
            })
            .collect())
    }
}

/// `ec2_instance_with_outdated_ami`.
pub struct InstanceWithOutdatedAmi;

impl Check for InstanceWithOutdatedAmi {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_instance_with_outdated_ami",
            "EC2 instance uses a non-deprecated Amazon AMI",
            Severity::Medium,
        )
        .description("A deprecated Amazon AMI no longer gets updates; instances built from it miss security fixes.")
        .service("ec2")
        .resource_type("AwsEc2Instance")
        .remediation("Rebuild the instance from a current Amazon AMI.")
        .reads(&[Instance::KIND, Image::KIND])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let images: BTreeMap<(String, String), (String, Image)> = inventory
            .typed::<Image>()?
            .into_iter()
            .map(|(r, i)| ((r.region, i.image_id.clone()), (r.account, i)))
            .collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs() as i64;
        let mut out = Vec::new();
        // Every instance, terminated ones included, as Prowler does.
        for (res, i) in inventory.typed::<Instance>()? {
            let Some(ami) = i.image_id.as_deref() else {
                continue;
            };
            let Some((account, image)) = images.get(&(res.region.clone(), ami.to_string())) else {
                continue; // unresolvable AMI: no finding
            };
            // Only Amazon's own AMIs (not one the account owns, nor marketplace ones).
            if image.image_owner_alias.as_deref() != Some("amazon")
                || image.owner_id.as_deref() == Some(account.as_str())
            {
                continue;
            }
            let deprecated = match image.deprecation_time.as_deref().filter(|t| !t.is_empty()) {
                None => false,
                Some(t) => match unix_seconds(t) {
                    Some(at) => at < now,
                    None => {
                        out.push(Finding::new(
                            &res,
                            Status::Error,
                            format!("AMI {ami} has an unreadable DeprecationTime {t:?}."),
                        ));
                        continue;
                    }
                },
            };
            out.push(if deprecated {
                Finding::fail(
                    &res,
                    format!(
                        "EC2 Instance {} is using outdated AMI {ami}.",
                        i.instance_id
                    ),
                )
            } else {
                Finding::pass(
                    &res,
                    format!(
                        "EC2 Instance {} is not using an outdated AMI.",
                        i.instance_id
                    ),
                )
            });
        }
        Ok(out)
    }
}

/// `ec2_ami_account_block_public_access`.
pub struct AmiAccountBlockPublicAccess;

impl Check for AmiAccountBlockPublicAccess {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_ami_account_block_public_access",
            "AMI block public access is enabled at the account level",
            Severity::Medium,
        )
        .description("Without AMI block public access, anyone with the permission can make an AMI public in one call.")
        .service("ec2")
        .resource_type("Other")
        .remediation("Enable block public access for AMIs (block-new-sharing) in every region.")
        .reads(&[ImageBlockPublicAccess::KIND])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        // Every region whose setting was read; no in-use gate.
        Ok(inventory
            .typed::<ImageBlockPublicAccess>()?
            .into_iter()
            .map(|(res, s)| {
                if s.image_block_public_access_state.as_deref() == Some("block-new-sharing") {
                    let text = format!("AMI Block Public Access is enabled in {}.", res.region);
                    Finding::pass(&res, text)
                } else {
                    let text = format!("AMI Block Public Access is disabled in {}.", res.region);
                    Finding::fail(&res, text)
                }
            })
            .collect())
    }
}

/// `ec2_instance_account_imdsv2_enabled`.
pub struct InstanceAccountImdsv2Enabled;

impl Check for InstanceAccountImdsv2Enabled {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_instance_account_imdsv2_enabled",
            "IMDSv2 is required by default for EC2 instances at the account level",
            Severity::High,
        )
        .description("Without an account default, every new instance that does not ask for IMDSv2 gets IMDSv1, open to SSRF credential theft.")
        .service("ec2")
        .resource_type("AwsEc2Instance")
        .remediation("Set the account's instance metadata defaults to HttpTokens=required in every region in use.")
        .reads(&[InstanceMetadataDefaults::KIND, Instance::KIND])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        // Prowler reports only regions with at least one instance, in any state.
        let in_use: BTreeSet<String> = inventory
            .typed::<Instance>()?
            .into_iter()
            .map(|(r, _)| r.region)
            .collect();
        Ok(inventory
            .typed::<InstanceMetadataDefaults>()?
            .into_iter()
            .filter(|(r, _)| in_use.contains(&r.region))
            .map(|(res, d)| {
                let tokens = d.account_level.and_then(|l| l.http_tokens);
                if tokens.as_deref() == Some("required") {
                    Finding::pass(&res, "IMDSv2 is enabled by default for EC2 instances.")
                } else {
                    Finding::fail(&res, "IMDSv2 is not enabled by default for EC2 instances.")
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
