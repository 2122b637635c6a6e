//! EC2 network exposure, public addressing and EBS encryption checks, ported
//! from Prowler with the same ids, verdicts, resource identity and status texts.

mod instance_ports;
mod internet;
mod ip;
mod nacl;
mod sg_ports;
mod vpc;
mod wide_open;

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{Address, Instance, Volume};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity};

pub use instance_ports::*;
pub use internet::{SecurityGroupUsage, rule_open_to_internet};
pub use nacl::*;
pub use sg_ports::*;
pub use vpc::{SubnetNoPublicIpByDefault, VpcSubnetDifferentAz};
pub use wide_open::{SecurityGroupWideOpenPublicIpv4, wide_open_public_ipv4};

citadel_plugin_sdk::export_pack!(
    SecurityGroupAllPorts,
    SecurityGroupAnyPort,
    SecurityGroupAnyPortFromIp,
    SecurityGroupHighRiskPorts,
    SecurityGroupFromLaunchWizard,
    SecurityGroupManyRules,
    SecurityGroupDefaultRestrictTraffic,
    SecurityGroupWideOpenPublicIpv4,
    SG_PORT_22,
    SG_PORT_3389,
    SG_PORT_CASSANDRA,
    SG_PORT_ELASTICSEARCH,
    SG_PORT_FTP,
    SG_PORT_KAFKA,
    SG_PORT_MEMCACHED,
    SG_PORT_MONGODB,
    SG_PORT_MYSQL,
    SG_PORT_ORACLE,
    SG_PORT_POSTGRES,
    SG_PORT_REDIS,
    SG_PORT_SQL_SERVER,
    SG_PORT_TELNET,
    INSTANCE_PORT_CASSANDRA,
    INSTANCE_PORT_CIFS,
    INSTANCE_PORT_ELASTICSEARCH,
    INSTANCE_PORT_FTP,
    INSTANCE_PORT_KAFKA,
    INSTANCE_PORT_KERBEROS,
    INSTANCE_PORT_LDAP,
    INSTANCE_PORT_MEMCACHED,
    INSTANCE_PORT_MONGODB,
    INSTANCE_PORT_MYSQL,
    INSTANCE_PORT_ORACLE,
    INSTANCE_PORT_POSTGRESQL,
    INSTANCE_PORT_RDP,
    INSTANCE_PORT_REDIS,
    INSTANCE_PORT_SQLSERVER,
    INSTANCE_PORT_SSH,
    INSTANCE_PORT_TELNET,
    NACL_ANY_PORT,
    NACL_PORT_22,
    NACL_PORT_3389,
    NetworkAclUnused,
    ElasticIpUnassigned,
    SubnetNoPublicIpByDefault,
    VpcSubnetDifferentAz,
    InstancePublicIp,
    EbsVolumeEncryption,
);

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

/// `ec2_elastic_ip_unassigned`.
pub struct ElasticIpUnassigned;

impl Check for ElasticIpUnassigned {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_elastic_ip_unassigned",
            "Elastic IP is associated with an instance or network interface",
            Severity::Low,
        )
        .description("Unassociated Elastic IPs cost money and can be picked up by whatever is attached next.")
        .service("ec2")
        .resource_type("AwsEc2Eip")
        .remediation("Release Elastic IPs that nothing uses.")
        .reads(&[Address::KIND])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("aws_fsbp", &["EC2.12"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(inventory
            .typed::<Address>()?
            .into_iter()
            .filter(|(_, a)| !a.public_ip.is_empty())
            .map(|(res, a)| {
                if a.association_id.as_deref().is_some_and(|id| !id.is_empty()) {
                    Finding::pass(&res, format!("Elastic IP {} is associated with an instance or network interface.", a.public_ip))
                } else {
                    Finding::fail(&res, format!("Elastic IP {} is not associated with an instance or network interface.", a.public_ip))
                }
            })
            .collect())
    }
}
