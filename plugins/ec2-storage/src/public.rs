//! Public EBS snapshots and the region's snapshot block public access setting,
//! ported from Prowler with the same ids, verdicts, resource identity and texts.

use std::collections::BTreeSet;

use citadel_plugin_sdk::aws::ec2::{Snapshot, SnapshotBlockPublicAccess};
use citadel_plugin_sdk::aws::{Kind, unix_seconds};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity};

/// `ec2_ebs_public_snapshot`.
///
/// Public means a `createVolumePermission` grant to the group `all`; sharing with
/// named accounts is not public. A snapshot whose attribute could not be read
/// (no `CreateVolumePermissions` in its document) passes, as in Prowler; the
/// agent reports the failed call separately. With the audit setting
/// `max_ebs_snapshots` (or else `max_scanned_resources_per_service`) above zero,
/// only that many of the most recent snapshots (by `StartTime`, across regions)
/// are judged.
pub struct EbsPublicSnapshot;

impl Check for EbsPublicSnapshot {
    fn info(&self) -> CheckInfo {
        CheckInfo::new("ec2_ebs_public_snapshot", "EBS snapshot is not public", Severity::Critical)
            .description("Anyone can create a volume from a public snapshot and read everything the disk held.")
            .service("ec2")
            .resource_type("AwsEc2Volume")
            .remediation("Remove the public createVolumePermission from the snapshot and enable snapshot block public access.")
            .reads(&[Snapshot::KIND, Snapshot::PERMISSIONS_KIND])
            .requirement("soc2", &["cc_6_6"])
            .requirement("iso27001_2022", &["A.8.1"])
            .requirement("nist_csf_2.0", &["ds_5"])
            .requirement("aws_fsbp", &["EC2.1"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let mut snapshots = inventory.typed::<Snapshot>()?;
        let limit = match inventory.config_u64("max_ebs_snapshots", 0) {
            0 => inventory.config_u64("max_scanned_resources_per_service", 0),
            n => n,
        };
        if limit > 0 {
            // Most recent first; a snapshot without a readable start time sorts last.
            snapshots.sort_by_key(|(_, s)| {
                std::cmp::Reverse(s.start_time.as_deref().and_then(unix_seconds))
            });
            snapshots.truncate(limit as usize);
        }
        Ok(snapshots
            .into_iter()
            .map(|(res, s)| {
                let public = s
                    .create_volume_permissions
                    .unwrap_or_default()
                    .iter()
                    .any(|p| p.group.as_deref() == Some("all"));
                if public {
                    Finding::fail(
                        &res,
                        format!("EBS Snapshot {} is currently Public.", s.snapshot_id),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!("EBS Snapshot {} is not Public.", s.snapshot_id),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_ebs_snapshot_account_block_public_access`.
pub struct EbsSnapshotAccountBlockPublicAccess;

impl Check for EbsSnapshotAccountBlockPublicAccess {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_ebs_snapshot_account_block_public_access",
            "All EBS snapshots have public access blocked",
            Severity::High,
        )
        .description("Without block public access for all sharing, existing or new snapshots can be made public and restored by anyone.")
        .service("ec2")
        .resource_type("AwsEc2Volume")
        .remediation("Enable EBS snapshot block public access with block-all-sharing in every region in use.")
        .reads(&[SnapshotBlockPublicAccess::KIND, Snapshot::KIND])
        .requirement("soc2", &["cc_6_6"])
        .requirement("nist_csf_2.0", &["ac_3", "ds_5"])
        .requirement("pci_4.0", &["10.3.2.8", "3.5.1.3.8", "A1.1.2.4", "A3.4.1.4"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        // Prowler reports only regions holding at least one of the account's snapshots.
        let in_use: BTreeSet<String> = inventory
            .typed::<Snapshot>()?
            .into_iter()
            .map(|(r, _)| r.region)
            .collect();
        Ok(inventory
            .typed::<SnapshotBlockPublicAccess>()?
            .into_iter()
            .filter(|(r, _)| in_use.contains(&r.region))
            .map(|(res, s)| match s.state.as_deref() {
                Some("block-all-sharing") => {
                    Finding::pass(&res, "Public access is blocked for all EBS Snapshots.")
                }
                Some("block-new-sharing") => {
                    Finding::fail(&res, "Public access is blocked only for new EBS Snapshots.")
                }
                _ => Finding::fail(&res, "Public access is not blocked for EBS Snapshots."),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
