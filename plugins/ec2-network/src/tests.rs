use citadel_plugin_sdk::testing::Fixture;
use citadel_plugin_sdk::{Check, Status};
use serde_json::json;

use super::*;

fn verdicts(check: &dyn Check, fixture: &Fixture) -> Vec<(String, Status, String)> {
    let mut v: Vec<_> = check
        .evaluate(fixture)
        .unwrap()
        .into_iter()
        .map(|f| (f.resource_uid, f.status, f.status_extended))
        .collect();
    v.sort();
    v
}

const SG_ARN: &str = "arn:aws:ec2:us-east-1:123456789012:security-group/";

/// A VPC with one interface using `sg-used`.
fn network() -> Fixture {
    Fixture::default()
        .with("ec2:vpc", "vpc-1", json!({"VpcId": "vpc-1"}))
        .with(
            "ec2:network-interface",
            "eni-1",
            json!({"NetworkInterfaceId": "eni-1", "VpcId": "vpc-1",
                   "Groups": [{"GroupId": "sg-used"}]}),
        )
}

fn sg(id: &str, rules: serde_json::Value) -> serde_json::Value {
    json!({"GroupId": id, "GroupName": format!("{id}-name"), "VpcId": "vpc-1", "IpPermissions": rules})
}

fn ssh_verdict(rules: serde_json::Value) -> (Status, String) {
    let f = network().with("ec2:security-group", "sg-used", sg("sg-used", rules));
    let mut v = verdicts(&SecurityGroupSshOpen, &f);
    assert_eq!(v.len(), 1);
    let (_, s, t) = v.remove(0);
    (s, t)
}

#[test]
fn ssh_open_to_ipv4_world_fails() {
    let (s, t) = ssh_verdict(json!([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                      "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]));
    assert_eq!(s, Status::Fail);
    assert_eq!(
        t,
        "Security group sg-used-name (sg-used) has SSH port 22 open to the Internet."
    );
}

#[test]
fn ssh_open_to_ipv6_world_or_inside_a_range_fails() {
    let (s, _) = ssh_verdict(json!([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                      "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]));
    assert_eq!(s, Status::Fail);
    let (s, _) = ssh_verdict(json!([{"IpProtocol": "tcp", "FromPort": 20, "ToPort": 30,
                                      "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]));
    assert_eq!(s, Status::Fail);
}

#[test]
fn narrower_ranges_and_other_protocols_pass() {
    for rules in [
        json!([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "0.0.0.0/1"}]}]),
        json!([{"IpProtocol": "udp", "FromPort": 22, "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
        json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
        json!([]),
    ] {
        let (s, t) = ssh_verdict(rules.clone());
        assert_eq!(s, Status::Pass, "{rules}");
        assert_eq!(
            t,
            "Security group sg-used-name (sg-used) does not have SSH port 22 open to the Internet."
        );
    }
}

#[test]
fn all_ports_open_passes_with_not_checked_text() {
    // Prowler's all-ports check fails this group first, so the port check skips it.
    for rules in [
        json!([{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
        json!([{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
    ] {
        let (s, t) = ssh_verdict(rules);
        assert_eq!(s, Status::Pass);
        assert!(t.ends_with("has all ports open to the Internet and therefore was not checked against the specific SSH port 22."), "{t}");
    }
}

#[test]
fn unused_groups_give_no_finding() {
    let open = json!([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                       "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]);
    let f = network()
        .with("ec2:security-group", "sg-used", sg("sg-used", open.clone()))
        .with("ec2:security-group", "sg-idle", sg("sg-idle", open.clone()));
    let v = verdicts(&SecurityGroupSshOpen, &f);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].0, format!("{SG_ARN}sg-used"));

    // A group named on an interface but whose VPC is unknown is not in use either.
    let mut orphan = sg("sg-used", open);
    orphan["VpcId"] = json!("vpc-gone");
    let f = network().with("ec2:security-group", "sg-used", orphan);
    assert!(verdicts(&SecurityGroupSshOpen, &f).is_empty());
}

#[test]
fn instance_public_ip() {
    let f = Fixture::default()
        .with(
            "ec2:instance",
            "i-pub",
            json!({"InstanceId": "i-pub", "State": {"Name": "running"},
                   "PublicIpAddress": "54.1.2.3", "PublicDnsName": "ec2-54-1-2-3.example"}),
        )
        .with(
            "ec2:instance",
            "i-nodns",
            json!({"InstanceId": "i-nodns", "State": {"Name": "stopped"},
                   "PublicIpAddress": "54.1.2.4", "PublicDnsName": ""}),
        )
        .with(
            "ec2:instance",
            "i-priv",
            json!({"InstanceId": "i-priv", "State": {"Name": "running"}, "PrivateIpAddress": "10.0.0.5"}),
        )
        .with(
            "ec2:instance",
            "i-gone",
            json!({"InstanceId": "i-gone", "State": {"Name": "terminated"}, "PublicIpAddress": "54.1.2.5"}),
        );
    let v = verdicts(&InstancePublicIp, &f);
    let texts: Vec<_> = v.iter().map(|(_, s, t)| (*s, t.as_str())).collect();
    assert_eq!(
        texts,
        [
            (
                Status::Fail,
                "EC2 Instance i-nodns has a Public IP: 54.1.2.4 ()."
            ),
            (
                Status::Pass,
                "EC2 Instance i-priv does not have a Public IP."
            ),
            (
                Status::Fail,
                "EC2 Instance i-pub has a Public IP: 54.1.2.3 (ec2-54-1-2-3.example)."
            ),
        ]
    );
    assert_eq!(v[1].0, "arn:aws:ec2:us-east-1:123456789012:instance/i-priv");
}

#[test]
fn ebs_volume_encryption() {
    let f = Fixture::default()
        .with(
            "ec2:volume",
            "vol-a",
            json!({"VolumeId": "vol-a", "Encrypted": true}),
        )
        .with(
            "ec2:volume",
            "vol-b",
            json!({"VolumeId": "vol-b", "Encrypted": false}),
        );
    let v = verdicts(&EbsVolumeEncryption, &f);
    assert_eq!(
        v,
        [
            (
                "arn:aws:ec2:us-east-1:123456789012:volume/vol-a".to_string(),
                Status::Pass,
                "EBS Snapshot vol-a is encrypted.".to_string()
            ),
            (
                "arn:aws:ec2:us-east-1:123456789012:volume/vol-b".to_string(),
                Status::Fail,
                "EBS Snapshot vol-b is unencrypted.".to_string()
            ),
        ]
    );
}

#[test]
fn unreadable_document_is_an_error_not_a_verdict() {
    let f = Fixture::default().with("ec2:volume", "vol-x", json!({"Encrypted": "maybe"}));
    assert!(EbsVolumeEncryption.evaluate(&f).is_err());
}

#[test]
fn every_exported_check_has_unique_id_and_declares_reads() {
    let checks = __citadel_checks();
    let mut ids: Vec<_> = checks.iter().map(|c| c.info().id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), checks.len());
    assert!(checks.iter().all(|c| !c.info().reads.is_empty()));
}
