//! EC2 network exposure, public addressing and EBS encryption checks, ported
//! from Prowler with the same ids, verdicts, resource identity and status texts.

mod internet;

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{Instance, NetworkInterface, SecurityGroup, Volume, Vpc};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity};

pub use internet::{SecurityGroupUsage, rule_open_to_internet};

citadel_plugin_sdk::export_pack!(SecurityGroupSshOpen, InstancePublicIp, EbsVolumeEncryption);

/// `ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22`
pub struct SecurityGroupSshOpen;

impl Check for SecurityGroupSshOpen {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
            "Security group does not allow SSH (TCP 22) from the whole Internet",
            Severity::High,
        )
        .description(
            "An in-use security group whose ingress rules admit 0.0.0.0/0 or ::/0 on TCP port 22 \
             exposes SSH to brute force and exploit traffic from anywhere.",
        )
        .service("ec2")
        .resource_type("AwsEc2SecurityGroup")
        .remediation(
            "Remove the world-open SSH rule; reach instances through Session Manager, a bastion \
             or a VPN, or allow only known address ranges.",
        )
        .reads(&[SecurityGroup::KIND, NetworkInterface::KIND, Vpc::KIND])
        .requirement("soc2", &["cc_6_6", "cc_7_2"])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["ac_3"])
        .requirement(
            "pci_4.0",
            &[
                "1.2.8.17",
                "1.3.1.19",
                "1.3.2.19",
                "1.4.2.18",
                "1.5.1.17",
                "A1.1.3.17",
            ],
        )
        .requirement("cis_7.0", &["6.3", "6.4"])
        .requirement("aws_fsbp", &["EC2.13"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let usage = SecurityGroupUsage::from_inventory(inventory)?;
        let mut findings = Vec::new();
        for (res, sg) in inventory.typed::<SecurityGroup>()? {
            if !usage.in_use(&res.region, &sg) {
                continue; // Prowler's gate: unused groups produce no finding.
            }
            let who = format!("Security group {} ({})", sg.group_name, sg.group_id);
            // Prowler runs the all-ports check first and skips groups it failed.
            let all_ports = sg
                .ip_permissions
                .iter()
                .any(|r| rule_open_to_internet(r, "-1", &[]));
            let finding = if all_ports {
                Finding::pass(
                    &res,
                    format!(
                        "{who} has all ports open to the Internet and therefore was not checked \
                         against the specific SSH port 22."
                    ),
                )
            } else if sg
                .ip_permissions
                .iter()
                .any(|r| rule_open_to_internet(r, "tcp", &[22]))
            {
                Finding::fail(&res, format!("{who} has SSH port 22 open to the Internet."))
            } else {
                Finding::pass(
                    &res,
                    format!("{who} does not have SSH port 22 open to the Internet."),
                )
            };
            findings.push(finding);
        }
        Ok(findings)
    }
}

/// `ec2_instance_public_ip`
pub struct InstancePublicIp;

impl Check for InstancePublicIp {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_instance_public_ip",
            "EC2 instance has no public IPv4 address",
            Severity::Medium,
        )
        .description(
            "An instance with a public IPv4 address is directly reachable from the Internet \
             wherever its security groups allow it.",
        )
        .service("ec2")
        .resource_type("AwsEc2Instance")
        .remediation(
            "Run instances in private subnets behind a load balancer or NAT, and disable \
             automatic public IPv4 assignment on their subnets.",
        )
        .reads(&[Instance::KIND])
        .requirement("soc2", &["cc_6_6"])
        .requirement("iso27001_2022", &["A.8.1", "A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["ip_1"])
        .requirement("aws_fsbp", &["EC2.9"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(inventory
            .typed::<Instance>()?
            .into_iter()
            .filter(|(_, i)| i.state.name != "terminated")
            .map(|(res, i)| match i.public_ip_address.as_deref() {
                Some(ip) if !ip.is_empty() => Finding::fail(
                    &res,
                    format!(
                        "EC2 Instance {} has a Public IP: {ip} ({}).",
                        i.instance_id,
                        i.public_dns_name.as_deref().unwrap_or("")
                    ),
                ),
                _ => Finding::pass(
                    &res,
                    format!("EC2 Instance {} does not have a Public IP.", i.instance_id),
                ),
            })
            .collect())
    }
}

/// `ec2_ebs_volume_encryption`
pub struct EbsVolumeEncryption;

impl Check for EbsVolumeEncryption {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_ebs_volume_encryption",
            "EBS volume is encrypted",
            Severity::High,
        )
        .description(
            "Unencrypted EBS volumes leave data, and every snapshot taken from them, \
                 readable to anyone who obtains a copy.",
        )
        .service("ec2")
        .resource_type("AwsEc2Volume")
        .remediation(
            "Copy the data to an encrypted volume (snapshot, encrypted copy, new volume) and \
                 turn on EBS encryption by default for the region.",
        )
        .reads(&[Volume::KIND])
        .requirement("soc2", &["pi_1_5"])
        .requirement("iso27001_2022", &["A.8.11", "A.8.24"])
        .requirement("pci_4.0", &["3.5.1.20", "8.3.2.34"])
        .requirement("aws_fsbp", &["EC2.3"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        // Prowler's text says "EBS Snapshot" for volumes; kept verbatim so searches match.
        Ok(inventory
            .typed::<Volume>()?
            .into_iter()
            .map(|(res, v)| {
                if v.encrypted {
                    Finding::pass(&res, format!("EBS Snapshot {} is encrypted.", v.volume_id))
                } else {
                    Finding::fail(
                        &res,
                        format!("EBS Snapshot {} is unencrypted.", v.volume_id),
                    )
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
