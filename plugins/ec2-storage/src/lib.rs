//! EBS checks, ported from Prowler with the same ids, verdicts, resource
//! identity and status texts: snapshot encryption, volumes without snapshots,
//! the region's encryption-by-default setting, public snapshots and the
//! region's snapshot block public access setting.

use std::collections::BTreeSet;

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{EbsEncryptionByDefault, Snapshot, Volume};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity};

mod public;

pub use public::{EbsPublicSnapshot, EbsSnapshotAccountBlockPublicAccess};

#[cfg(test)]
mod tests;

citadel_plugin_sdk::export_pack!(
    EbsSnapshotsEncrypted,
    EbsVolumeSnapshotsExists,
    EbsDefaultEncryption,
    EbsPublicSnapshot,
    EbsSnapshotAccountBlockPublicAccess,
);

/// `ec2_ebs_snapshots_encrypted`.
pub struct EbsSnapshotsEncrypted;

impl Check for EbsSnapshotsEncrypted {
    fn info(&self) -> CheckInfo {
        CheckInfo::new("ec2_ebs_snapshots_encrypted", "EBS snapshot is encrypted", Severity::High)
            .description("An unencrypted snapshot can be copied, shared or restored and read by anyone who gets hold of it.")
            .service("ec2")
            .resource_type("AwsEc2Volume")
            .remediation("Copy the snapshot with encryption enabled, delete the unencrypted one, and turn on EBS encryption by default.")
            .reads(&[Snapshot::KIND])
            .requirement("soc2", &["cc_7_5"])
            .requirement("iso27001_2022", &["A.8.24"])
            .requirement("pci_4.0", &["3.5.1.13", "8.3.2.20"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(inventory
            .typed::<Snapshot>()?
            .into_iter()
            .map(|(res, s)| {
                if s.encrypted {
                    Finding::pass(
                        &res,
                        format!("EBS Snapshot {} is encrypted.", s.snapshot_id),
                    )
                } else {
                    Finding::fail(
                        &res,
                        format!("EBS Snapshot {} is unencrypted.", s.snapshot_id),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_ebs_volume_snapshots_exists`.
pub struct EbsVolumeSnapshotsExists;

impl Check for EbsVolumeSnapshotsExists {
    fn info(&self) -> CheckInfo {
        CheckInfo::new("ec2_ebs_volume_snapshots_exists", "EBS volume has at least one snapshot", Severity::High)
            .description("A volume without any snapshot cannot be restored after deletion, corruption or ransomware.")
            .service("ec2")
            .resource_type("AwsEc2Volume")
            .remediation("Take regular snapshots, for example with Amazon Data Lifecycle Manager or AWS Backup.")
            .reads(&[Volume::KIND, Snapshot::KIND])
            .requirement("soc2", &["cc_7_5"])
            .requirement("pci_4.0", &["10.5.1.7", "3.2.1.6", "3.3.1.1.6", "3.3.1.3.6", "3.3.2.6", "3.3.3.6"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let snapshotted: BTreeSet<(String, String)> = inventory
            .typed::<Snapshot>()?
            .into_iter()
            .filter_map(|(r, s)| s.volume_id.map(|v| (r.region, v)))
            .collect();
        Ok(inventory
            .typed::<Volume>()?
            .into_iter()
            .map(|(res, v)| {
                if snapshotted.contains(&(res.region.clone(), v.volume_id.clone())) {
                    Finding::pass(
                        &res,
                        format!("Snapshots found for the EBS volume {}.", v.volume_id),
                    )
                } else {
                    Finding::fail(
                        &res,
                        format!("Snapshots not found for the EBS volume {}.", v.volume_id),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_ebs_default_encryption`.
pub struct EbsDefaultEncryption;

impl Check for EbsDefaultEncryption {
    fn info(&self) -> CheckInfo {
        CheckInfo::new("ec2_ebs_default_encryption", "EBS default encryption is enabled", Severity::High)
            .description("Without encryption by default, every new volume depends on someone remembering to encrypt it.")
            .service("ec2")
            .resource_type("AwsEc2Volume")
            .remediation("Enable EBS encryption by default in every region in use.")
            .reads(&[EbsEncryptionByDefault::KIND, Volume::KIND])
            .requirement("iso27001_2022", &["A.8.11", "A.8.24"])
            .requirement("cis_7.0", &["6.1.1"])
            .requirement("aws_fsbp", &["EC2.7"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        // Prowler reports only regions that hold at least one volume.
        let in_use: BTreeSet<String> = inventory
            .typed::<Volume>()?
            .into_iter()
            .map(|(r, _)| r.region)
            .collect();
        Ok(inventory
            .typed::<EbsEncryptionByDefault>()?
            .into_iter()
            .filter(|(r, _)| in_use.contains(&r.region))
            .map(|(res, d)| {
                if d.ebs_encryption_by_default {
                    Finding::pass(&res, "EBS Default Encryption is activated.")
                } else {
                    Finding::fail(&res, "EBS Default Encryption is not activated.")
                }
            })
            .collect())
    }
}
