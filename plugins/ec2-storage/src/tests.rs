use citadel_plugin_sdk::Status;
use citadel_plugin_sdk::testing::{Fixture, verdicts};
use serde_json::json;

use super::*;

const ARN: &str = "arn:aws:ec2:us-east-1:123456789012";

#[test]
fn snapshot_encryption() {
    let f = Fixture::default()
        .with(
            "ec2:snapshot",
            "snap-1",
            json!({"SnapshotId": "snap-1", "Encrypted": true}),
        )
        .with("ec2:snapshot", "snap-2", json!({"SnapshotId": "snap-2"}));
    assert_eq!(
        verdicts(&EbsSnapshotsEncrypted, &f),
        vec![
            (
                format!("{ARN}:snapshot/snap-1"),
                Status::Pass,
                "EBS Snapshot snap-1 is encrypted.".into()
            ),
            (
                format!("{ARN}:snapshot/snap-2"),
                Status::Fail,
                "EBS Snapshot snap-2 is unencrypted.".into()
            ),
        ]
    );
}

#[test]
fn volumes_need_a_snapshot_in_their_region() {
    let f = Fixture::default()
        .with("ec2:volume", "vol-1", json!({"VolumeId": "vol-1"}))
        .with("ec2:volume", "vol-2", json!({"VolumeId": "vol-2"}))
        .with(
            "ec2:snapshot",
            "snap-1",
            json!({"SnapshotId": "snap-1", "VolumeId": "vol-1"}),
        );
    assert_eq!(
        verdicts(&EbsVolumeSnapshotsExists, &f),
        vec![
            (
                format!("{ARN}:volume/vol-1"),
                Status::Pass,
                "Snapshots found for the EBS volume vol-1.".into()
            ),
            (
                format!("{ARN}:volume/vol-2"),
                Status::Fail,
                "Snapshots not found for the EBS volume vol-2.".into()
            ),
        ]
    );
}

fn default_setting(region: &str, enabled: bool) -> serde_json::Value {
    json!({"kind": "ec2:ebs-encryption-by-default", "id": "123456789012", "region": region,
           "uid": format!("arn:aws:ec2:{region}:123456789012:volume"),
           "document": {"EbsEncryptionByDefault": enabled}})
}

#[test]
fn default_encryption_only_where_volumes_exist() {
    let f = Fixture::from_json(
        &json!({"resources": [
            default_setting("us-east-1", false),
            default_setting("eu-west-1", true),
            default_setting("ap-south-1", false),
            {"kind": "ec2:volume", "id": "vol-1", "region": "us-east-1", "document": {"VolumeId": "vol-1"}},
            {"kind": "ec2:volume", "id": "vol-2", "region": "eu-west-1", "document": {"VolumeId": "vol-2"}}
        ]})
        .to_string(),
    )
    .unwrap();
    assert_eq!(
        verdicts(&EbsDefaultEncryption, &f),
        vec![
            (
                "arn:aws:ec2:eu-west-1:123456789012:volume".into(),
                Status::Pass,
                "EBS Default Encryption is activated.".into()
            ),
            (
                "arn:aws:ec2:us-east-1:123456789012:volume".into(),
                Status::Fail,
                "EBS Default Encryption is not activated.".into()
            ),
        ]
    );
}
