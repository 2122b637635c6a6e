use citadel_plugin_sdk::testing::Fixture;
use citadel_plugin_sdk::{Check, Status};
use serde_json::{Value, json};

use super::*;

fn verdicts(check: &dyn Check, fixture: &Fixture) -> Vec<(String, Status, String)> {
    let mut v: Vec<_> = check
        .evaluate(fixture)
        .unwrap()
        .into_iter()
        .map(|f| {
            (
                f.resource_uid.rsplit('/').next().unwrap().to_string(),
                f.status,
                f.status_extended,
            )
        })
        .collect();
    v.sort();
    v
}

fn instance(id: &str, state: &str, extra: Value) -> Value {
    let mut doc = json!({"InstanceId": id, "State": {"Name": state}});
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc
}

fn fixture(instances: &[Value]) -> Fixture {
    instances.iter().fold(Fixture::default(), |f, i| {
        f.with("ec2:instance", i["InstanceId"].as_str().unwrap(), i.clone())
    })
}

fn v(id: &str, s: Status, t: &str) -> (String, Status, String) {
    (id.to_string(), s, t.to_string())
}

#[test]
fn imdsv2() {
    let f = fixture(&[
        instance(
            "i-1",
            "running",
            json!({"MetadataOptions": {"HttpEndpoint": "enabled", "HttpTokens": "required"}}),
        ),
        instance(
            "i-2",
            "stopped",
            json!({"MetadataOptions": {"HttpEndpoint": "disabled", "HttpTokens": "optional"}}),
        ),
        instance(
            "i-3",
            "running",
            json!({"MetadataOptions": {"HttpEndpoint": "enabled", "HttpTokens": "optional"}}),
        ),
        instance("i-4", "running", json!({})),
        instance("i-5", "terminated", json!({})),
    ]);
    assert_eq!(
        verdicts(&InstanceImdsv2, &f),
        vec![
            v(
                "i-1",
                Status::Pass,
                "EC2 Instance i-1 has IMDSv2 enabled and required."
            ),
            v(
                "i-2",
                Status::Pass,
                "EC2 Instance i-2 has metadata service disabled."
            ),
            v(
                "i-3",
                Status::Fail,
                "EC2 Instance i-3 has IMDSv2 disabled or not required."
            ),
            v(
                "i-4",
                Status::Fail,
                "EC2 Instance i-4 has IMDSv2 disabled or not required."
            ),
        ]
    );
}

#[test]
fn detailed_monitoring_includes_terminated_instances() {
    let f = fixture(&[
        instance(
            "i-1",
            "running",
            json!({"Monitoring": {"State": "enabled"}}),
        ),
        instance(
            "i-2",
            "terminated",
            json!({"Monitoring": {"State": "disabled"}}),
        ),
        instance(
            "i-3",
            "running",
            json!({"Monitoring": {"State": "pending"}}),
        ),
    ]);
    assert_eq!(
        verdicts(&InstanceDetailedMonitoring, &f),
        vec![
            v(
                "i-1",
                Status::Pass,
                "EC2 Instance i-1 has detailed monitoring enabled."
            ),
            v(
                "i-2",
                Status::Fail,
                "EC2 Instance i-2 does not have detailed monitoring enabled."
            ),
            v(
                "i-3",
                Status::Fail,
                "EC2 Instance i-3 does not have detailed monitoring enabled."
            ),
        ]
    );
}

#[test]
fn instance_profile() {
    let arn = "arn:aws:iam::123456789012:instance-profile/web";
    let f = fixture(&[
        instance(
            "i-1",
            "stopped",
            json!({"IamInstanceProfile": {"Arn": arn, "Id": "AIPA1"}}),
        ),
        instance("i-2", "running", json!({})),
        instance("i-3", "terminated", json!({})),
    ]);
    assert_eq!(
        verdicts(&InstanceProfileAttached, &f),
        vec![
            v(
                "i-1",
                Status::Pass,
                &format!("EC2 Instance i-1 associated with Instance Profile Role {arn}.")
            ),
            v(
                "i-2",
                Status::Fail,
                "EC2 Instance i-2 not associated with an Instance Profile Role."
            ),
        ]
    );
}

fn days_ago(days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = now - days * 86_400 - 3600;
    // Back to RFC 3339 through the inverse of unix_seconds, day by day.
    let (mut y, mut rem) = (1970i64, t);
    loop {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let len = if leap { 366 } else { 365 } * 86_400;
        if rem < len {
            break;
        }
        rem -= len;
        y += 1;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let months = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut m = 0;
    while rem >= months[m] * 86_400 {
        rem -= months[m] * 86_400;
        m += 1;
    }
    let (d, rem) = (rem / 86_400, rem % 86_400);
    format!(
        "{y:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        m + 1,
        d + 1,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn age_against_the_configured_maximum() {
    let f = fixture(&[
        instance("i-old", "running", json!({"LaunchTime": days_ago(181)})),
        instance("i-edge", "running", json!({"LaunchTime": days_ago(180)})),
        instance("i-new", "running", json!({"LaunchTime": days_ago(3)})),
        instance("i-off", "stopped", json!({"LaunchTime": days_ago(900)})),
    ]);
    assert_eq!(
        verdicts(&InstanceOlderThanSpecificDays, &f),
        vec![
            v(
                "i-edge",
                Status::Pass,
                "EC2 Instance i-edge is not older than 180 days (180 days)."
            ),
            v(
                "i-new",
                Status::Pass,
                "EC2 Instance i-new is not older than 180 days (3 days)."
            ),
            v("i-off", Status::Pass, "EC2 Instance i-off is not running."),
            v(
                "i-old",
                Status::Fail,
                "EC2 Instance i-old is older than 180 days (181 days)."
            ),
        ]
    );
    let strict = fixture(&[instance(
        "i-new",
        "running",
        json!({"LaunchTime": days_ago(3)}),
    )])
    .with_config("max_ec2_instance_age_in_days", "2");
    assert_eq!(
        verdicts(&InstanceOlderThanSpecificDays, &strict)[0].1,
        Status::Fail
    );
    let broken = fixture(&[instance(
        "i-x",
        "running",
        json!({"LaunchTime": "last week"}),
    )]);
    assert!(InstanceOlderThanSpecificDays.evaluate(&broken).is_err());
}

#[test]
fn paravirtual() {
    let f = fixture(&[
        instance(
            "i-1",
            "running",
            json!({"VirtualizationType": "paravirtual"}),
        ),
        instance("i-2", "running", json!({"VirtualizationType": "hvm"})),
        instance("i-3", "stopped", json!({})),
        instance(
            "i-4",
            "terminated",
            json!({"VirtualizationType": "paravirtual"}),
        ),
    ]);
    assert_eq!(
        verdicts(&InstanceParavirtualType, &f),
        vec![
            v(
                "i-1",
                Status::Fail,
                "EC2 Instance i-1 virtualization type is set to paravirtual."
            ),
            v(
                "i-2",
                Status::Pass,
                "EC2 Instance i-2 virtualization type is set to HVM."
            ),
            v(
                "i-3",
                Status::Pass,
                "EC2 Instance i-3 virtualization type is set to HVM."
            ),
        ]
    );
}

#[test]
fn single_eni_counts_typed_interfaces_only() {
    let eni = |id: &str, ty: &str| json!({"NetworkInterfaceId": id, "InterfaceType": ty});
    let f = fixture(&[
        instance("i-1", "running", json!({"NetworkInterfaces": [{"NetworkInterfaceId": "eni-a"}]})),
        instance("i-2", "running", json!({"NetworkInterfaces": [{"NetworkInterfaceId": "eni-b"}, {"NetworkInterfaceId": "eni-c"}]})),
        instance("i-3", "terminated", json!({"NetworkInterfaces": [{"NetworkInterfaceId": "eni-d"}, {"NetworkInterfaceId": "eni-e"}]})),
        instance("i-4", "running", json!({})),
    ])
    .with("ec2:network-interface", "eni-a", eni("eni-a", "interface"))
    .with("ec2:network-interface", "eni-b", eni("eni-b", "efa"))
    .with("ec2:network-interface", "eni-c", eni("eni-c", "interface"))
    .with("ec2:network-interface", "eni-d", eni("eni-d", "network_load_balancer"));
    assert_eq!(
        verdicts(&InstanceUsesSingleEni, &f),
        vec![
            v(
                "i-1",
                Status::Pass,
                "EC2 Instance i-1 uses only one ENI: ( Interfaces: ['eni-a'] )."
            ),
            v(
                "i-2",
                Status::Fail,
                "EC2 Instance i-2 uses multiple ENIs: ( EFAs: ['eni-b'] Interfaces: ['eni-c'] )."
            ),
            v(
                "i-3",
                Status::Pass,
                "EC2 Instance i-3 uses only one ENI: ( )."
            ),
            v(
                "i-4",
                Status::Pass,
                "EC2 Instance i-4 has no network interfaces attached."
            ),
        ]
    );
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

#[test]
fn stopped_instances_by_stop_time() {
    let reason = |days: i64| {
        let t = days_ago(days);
        format!("User initiated ({} {} GMT)", &t[0..10], &t[11..19])
    };
    assert_eq!(
        stop_time("User initiated (2016-09-14 15:07:39 GMT)"),
        Some(1_473_865_659)
    );
    assert_eq!(stop_time("User initiated"), None);
    let f = fixture(&[
        instance(
            "i-long",
            "stopped",
            json!({"StateTransitionReason": reason(31)}),
        ),
        instance(
            "i-short",
            "stopped",
            json!({"StateTransitionReason": reason(30)}),
        ),
        instance(
            "i-odd",
            "stopped",
            json!({"StateTransitionReason": "Server.ScheduledStop"}),
        ),
        instance("i-run", "running", json!({})),
    ]);
    assert_eq!(
        verdicts(&InstanceStoppedOlderThanSpecificDays, &f),
        vec![
            v(
                "i-long",
                Status::Fail,
                "EC2 Instance i-long has been stopped longer than 30 days (31 days)."
            ),
            v(
                "i-odd",
                Status::Pass,
                "EC2 Instance i-odd is stopped but stop time could not be determined."
            ),
            v("i-run", Status::Pass, "EC2 Instance i-run is not stopped."),
            v(
                "i-short",
                Status::Pass,
                "EC2 Instance i-short has not been stopped longer than 30 days (30 days)."
            ),
        ]
    );
}

#[test]
fn internet_facing_with_profile() {
    let arn = "arn:aws:iam::123456789012:instance-profile/web";
    let f = fixture(&[
        instance(
            "i-1",
            "running",
            json!({"PublicIpAddress": "54.1.2.3", "IamInstanceProfile": {"Arn": arn}}),
        ),
        instance("i-2", "running", json!({"PublicIpAddress": "54.1.2.4"})),
        instance(
            "i-3",
            "running",
            json!({"IamInstanceProfile": {"Arn": arn}}),
        ),
        instance(
            "i-4",
            "terminated",
            json!({"PublicIpAddress": "54.1.2.5", "IamInstanceProfile": {"Arn": arn}}),
        ),
    ]);
    assert_eq!(
        verdicts(&InstanceInternetFacingWithProfile, &f),
        vec![
            v(
                "i-1",
                Status::Fail,
                &format!(
                    "EC2 Instance i-1 at IP 54.1.2.3 is internet-facing with Instance Profile {arn}."
                )
            ),
            v(
                "i-2",
                Status::Pass,
                "EC2 Instance i-2 is not internet facing with an instance profile."
            ),
            v(
                "i-3",
                Status::Pass,
                "EC2 Instance i-3 is not internet facing with an instance profile."
            ),
        ]
    );
}
