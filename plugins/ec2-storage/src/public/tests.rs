use citadel_plugin_sdk::Status;
use citadel_plugin_sdk::testing::{Fixture, fixture, verdict as row, verdicts};
use serde_json::{Value, json};

use super::*;

fn snapshot(id: &str, extra: Value) -> Value {
    let mut d = json!({"SnapshotId": id});
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    json!({"kind": "ec2:snapshot", "id": id, "document": d})
}

const ARN: &str = "arn:aws:ec2:us-east-1:123456789012";

#[test]
fn public_means_shared_with_group_all() {
    let f = fixture(json!([
        snapshot(
            "snap-public",
            json!({"CreateVolumePermissions": [{"Group": "all"}]})
        ),
        // Shared with named accounts only: not public.
        snapshot(
            "snap-shared",
            json!({"CreateVolumePermissions": [{"UserId": "111122223333"}]})
        ),
        snapshot("snap-private", json!({"CreateVolumePermissions": []})),
        // The attribute could not be read: treated as not public.
        snapshot("snap-unread", json!({})),
    ]));
    assert_eq!(
        verdicts(&EbsPublicSnapshot, &f),
        vec![
            row(
                &format!("{ARN}:snapshot/snap-private"),
                Status::Pass,
                "EBS Snapshot snap-private is not Public."
            ),
            row(
                &format!("{ARN}:snapshot/snap-public"),
                Status::Fail,
                "EBS Snapshot snap-public is currently Public."
            ),
            row(
                &format!("{ARN}:snapshot/snap-shared"),
                Status::Pass,
                "EBS Snapshot snap-shared is not Public."
            ),
            row(
                &format!("{ARN}:snapshot/snap-unread"),
                Status::Pass,
                "EBS Snapshot snap-unread is not Public."
            ),
        ]
    );
}

#[test]
fn public_snapshot_limit_keeps_the_most_recent() {
    let resources = json!([
        snapshot(
            "snap-old",
            json!({"StartTime": "2020-01-01T00:00:00Z", "CreateVolumePermissions": [{"Group": "all"}]})
        ),
        snapshot("snap-new", json!({"StartTime": "2024-01-01T00:00:00.000Z"})),
        snapshot("snap-mid", json!({"StartTime": "2022-01-01T00:00:00Z"})),
    ]);
    let judged = |f: &Fixture| -> Vec<String> {
        verdicts(&EbsPublicSnapshot, f)
            .into_iter()
            .map(|r| r.0.rsplit('/').next().unwrap().to_string())
            .collect()
    };
    let f = fixture(resources.clone()).with_config("max_ebs_snapshots", "2");
    assert_eq!(judged(&f), vec!["snap-mid", "snap-new"]);
    let f = fixture(resources.clone()).with_config("max_scanned_resources_per_service", "1");
    assert_eq!(judged(&f), vec!["snap-new"]);
    // Unset or 0: unlimited.
    let f = fixture(resources).with_config("max_ebs_snapshots", "0");
    assert_eq!(judged(&f).len(), 3);
}

fn setting(region: &str, state: Value) -> Value {
    json!({"kind": "ec2:snapshot-block-public-access", "id": "123456789012", "region": region,
           "uid": format!("arn:aws:ec2:{region}:123456789012:account"), "document": {"State": state}})
}

fn snapshot_in(region: &str, id: &str) -> Value {
    json!({"kind": "ec2:snapshot", "id": id, "region": region, "document": {"SnapshotId": id}})
}

#[test]
fn snapshot_block_public_access_only_where_snapshots_exist() {
    let f = fixture(json!([
        setting("us-east-1", json!("block-all-sharing")),
        setting("eu-west-1", json!("block-new-sharing")),
        setting("eu-central-1", json!("unblocked")),
        setting("sa-east-1", Value::Null),
        // No snapshot here: no finding.
        setting("ap-south-1", json!("unblocked")),
        snapshot_in("us-east-1", "snap-1"),
        snapshot_in("eu-west-1", "snap-2"),
        snapshot_in("eu-central-1", "snap-3"),
        snapshot_in("sa-east-1", "snap-4"),
        // A region whose setting could not be read: no verdict (the agent reports the error).
        snapshot_in("ca-central-1", "snap-5"),
    ]));
    let arn = |r: &str| format!("arn:aws:ec2:{r}:123456789012:account");
    let not_blocked = "Public access is not blocked for EBS Snapshots.";
    assert_eq!(
        verdicts(&EbsSnapshotAccountBlockPublicAccess, &f),
        vec![
            row(&arn("eu-central-1"), Status::Fail, not_blocked),
            row(
                &arn("eu-west-1"),
                Status::Fail,
                "Public access is blocked only for new EBS Snapshots."
            ),
            row(&arn("sa-east-1"), Status::Fail, not_blocked),
            row(
                &arn("us-east-1"),
                Status::Pass,
                "Public access is blocked for all EBS Snapshots."
            ),
        ]
    );
}
