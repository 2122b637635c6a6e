use citadel_plugin_sdk::testing::{Fixture, verdicts};
use citadel_plugin_sdk::{Check, Status};
use serde_json::json;

use super::*;

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
    let mut v = verdicts(&SG_PORT_22, &f);
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
    let v = verdicts(&SG_PORT_22, &f);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].0, format!("{SG_ARN}sg-used"));

    // A group named on an interface but whose VPC is unknown is not in use either.
    let mut orphan = sg("sg-used", open);
    orphan["VpcId"] = json!("vpc-gone");
    let f = network().with("ec2:security-group", "sg-used", orphan);
    assert!(verdicts(&SG_PORT_22, &f).is_empty());
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

fn one_verdict(check: &dyn Check, fixture: Fixture) -> (Status, String) {
    let mut v = verdicts(check, &fixture);
    assert_eq!(v.len(), 1, "{v:?}");
    let (_, s, t) = v.remove(0);
    (s, t)
}

fn used_group(rules: serde_json::Value) -> Fixture {
    network().with("ec2:security-group", "sg-used", sg("sg-used", rules))
}

fn world(protocol: &str, from: i32, to: i32) -> serde_json::Value {
    json!({"IpProtocol": protocol, "FromPort": from, "ToPort": to, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
}

#[test]
fn all_ports_check() {
    let who = "Security group sg-used-name (sg-used)";
    for rules in [
        json!([{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
        json!([{"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]),
        json!([world("udp", 0, 65535)]),
        json!([world("tcp", 22, 22), world("tcp", 0, 65535)]),
    ] {
        let (s, t) = one_verdict(&SecurityGroupAllPorts, used_group(rules));
        assert_eq!(
            (s, t),
            (
                Status::Fail,
                format!("{who} has all ports open to the Internet.")
            )
        );
    }
    for rules in [
        json!([world("tcp", 0, 65534)]),
        json!([{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]),
        json!([world("icmp", -1, -1)]),
    ] {
        let (s, t) = one_verdict(&SecurityGroupAllPorts, used_group(rules));
        assert_eq!(
            (s, t),
            (
                Status::Pass,
                format!("{who} does not have all ports open to the Internet.")
            )
        );
    }
    assert_eq!(SecurityGroupAllPorts.info().severity, Severity::Critical);
}

#[test]
fn every_port_check_fails_on_its_ports_only() {
    let checks = [
        &SG_PORT_22,
        &SG_PORT_3389,
        &SG_PORT_CASSANDRA,
        &SG_PORT_ELASTICSEARCH,
        &SG_PORT_FTP,
        &SG_PORT_KAFKA,
        &SG_PORT_MEMCACHED,
        &SG_PORT_MONGODB,
        &SG_PORT_MYSQL,
        &SG_PORT_ORACLE,
        &SG_PORT_POSTGRES,
        &SG_PORT_REDIS,
        &SG_PORT_SQL_SERVER,
        &SG_PORT_TELNET,
    ];
    let who = "Security group sg-used-name (sg-used)";
    for c in checks {
        for &port in c.ports {
            let (s, t) = one_verdict(c, used_group(json!([world("tcp", port, port)])));
            assert_eq!(
                (s, t),
                (
                    Status::Fail,
                    format!("{who} has {} open to the Internet.", c.label)
                ),
                "{}",
                c.id
            );
        }
        // UDP on the same port, or a TCP port no check of this kind looks at.
        let port = c.ports[0];
        for rules in [
            json!([world("udp", port, port)]),
            json!([world("tcp", 1, 1)]),
        ] {
            let (s, t) = one_verdict(c, used_group(rules));
            assert_eq!(
                (s, t),
                (
                    Status::Pass,
                    format!("{who} does not have {} open to the Internet.", c.label)
                ),
                "{}",
                c.id
            );
        }
        let (s, t) = one_verdict(
            c,
            used_group(json!([{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])),
        );
        assert_eq!(s, Status::Pass);
        assert_eq!(
            t,
            format!(
                "{who} has all ports open to the Internet and therefore was not checked against the specific {}.",
                c.skipped_label
            )
        );
        assert_eq!(c.info().severity, Severity::High);
    }
    // Prowler's spelling, kept because users search for it.
    assert_eq!(
        SG_PORT_CASSANDRA.label,
        "Casandra ports 7199, 8888 and 9160"
    );
}

#[test]
fn high_risk_ports_in_rule_then_config_order() {
    let who = "Security group sg-used-name (sg-used)";
    let rules = json!([
        world("tcp", 25, 25),
        world("tcp", 8080, 8088),
        world("tcp", 20, 30),
        world("udp", 445, 445)
    ]);
    let (s, t) = one_verdict(&SecurityGroupHighRiskPorts, used_group(rules.clone()));
    assert_eq!(s, Status::Fail);
    assert_eq!(
        t,
        format!(
            "{who} has the following high-risk ports open to the Internet: 25, 8080, 8088, 25."
        )
    );

    let custom = used_group(rules).with_config("ec2_high_risk_ports", "3000,22");
    let (s, t) = one_verdict(&SecurityGroupHighRiskPorts, custom);
    assert_eq!(s, Status::Fail);
    assert_eq!(
        t,
        format!("{who} has the following high-risk ports open to the Internet: 22.")
    );

    let (s, t) = one_verdict(
        &SecurityGroupHighRiskPorts,
        used_group(json!([world("tcp", 443, 443)])),
    );
    assert_eq!(
        (s, t),
        (
            Status::Pass,
            format!("{who} does not have any high-risk port open to the Internet.")
        )
    );

    let bad = used_group(json!([])).with_config("ec2_high_risk_ports", "25,smtp");
    assert!(SecurityGroupHighRiskPorts.evaluate(&bad).is_err());
}

fn eni(id: &str, group: &str, ty: &str, owner: &str) -> serde_json::Value {
    json!({"NetworkInterfaceId": id, "VpcId": "vpc-1", "Groups": [{"GroupId": group}],
           "InterfaceType": ty, "Attachment": {"InstanceOwnerId": owner}})
}

/// A VPC whose interfaces are `enis`, and group `sg-x` with `rules`.
fn any_port_case(rules: serde_json::Value, enis: &[serde_json::Value]) -> Fixture {
    let mut f = Fixture::default().with("ec2:vpc", "vpc-1", json!({"VpcId": "vpc-1"}));
    for e in enis {
        f = f.with(
            "ec2:network-interface",
            e["NetworkInterfaceId"].as_str().unwrap(),
            e.clone(),
        );
    }
    f.with("ec2:security-group", "sg-x", sg("sg-x", rules))
}

#[test]
fn any_port_check() {
    let who = "Security group sg-x-name (sg-x)";
    let icmp = json!([{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]);
    // Any world rule, even ICMP, on an instance interface fails.
    let (s, t) = one_verdict(
        &SecurityGroupAnyPort,
        any_port_case(
            icmp.clone(),
            &[eni("eni-1", "sg-x", "interface", "123456789012")],
        ),
    );
    assert_eq!(
        (s, t),
        (
            Status::Fail,
            format!(
                "{who} has at least one port open to the Internet but its network interface type (interface) is not allowed."
            )
        )
    );
    // Allowed interface types and owners pass.
    let (s, t) = one_verdict(
        &SecurityGroupAnyPort,
        any_port_case(icmp.clone(), &[eni("eni-1", "sg-x", "vpc_endpoint", "")]),
    );
    assert_eq!(
        (s, t),
        (
            Status::Pass,
            format!(
                "{who} has at least one port open to the Internet and it is attached to an allowed network interface type (vpc_endpoint)."
            )
        )
    );
    let (s, t) = one_verdict(
        &SecurityGroupAnyPort,
        any_port_case(
            icmp.clone(),
            &[eni("eni-1", "sg-x", "interface", "amazon-elb")],
        ),
    );
    assert_eq!(
        (s, t),
        (
            Status::Pass,
            format!(
                "{who} has at least one port open to the Internet and it is attached to an allowed network interface instance owner (amazon-elb)."
            )
        )
    );
    // One disallowed interface among allowed ones fails.
    let (s, _) = one_verdict(
        &SecurityGroupAnyPort,
        any_port_case(
            icmp.clone(),
            &[
                eni("eni-1", "sg-x", "vpc_endpoint", ""),
                eni("eni-2", "sg-x", "network_load_balancer", ""),
            ],
        ),
    );
    assert_eq!(s, Status::Fail);
    // Configured allow lists replace the defaults.
    let f = any_port_case(icmp, &[eni("eni-1", "sg-x", "interface", "123456789012")])
        .with_config("ec2_allowed_interface_types", "interface");
    assert_eq!(one_verdict(&SecurityGroupAnyPort, f).0, Status::Pass);
    // No world rule.
    let narrow = json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "1.2.3.4/32"}]}]);
    let (s, t) = one_verdict(
        &SecurityGroupAnyPort,
        any_port_case(narrow, &[eni("eni-1", "sg-x", "interface", "1")]),
    );
    assert_eq!(
        (s, t),
        (
            Status::Pass,
            format!("{who} does not have any port open to the Internet.")
        )
    );
    // A group the all-ports check failed gets no finding at all.
    let all = json!([{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]);
    assert!(
        verdicts(
            &SecurityGroupAnyPort,
            &any_port_case(all, &[eni("eni-1", "sg-x", "interface", "1")])
        )
        .is_empty()
    );
}

#[test]
fn any_port_from_ip_check() {
    let who = "Security group sg-x-name (sg-x)";
    let case = |cidrs: serde_json::Value| {
        any_port_case(
            json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": cidrs}]),
            &[eni("eni-1", "sg-x", "interface", "1")],
        )
    };
    let fail = (
        Status::Fail,
        format!("{who} has a port open to a specific public IP address in ingress rule."),
    );
    let pass = (
        Status::Pass,
        format!("{who} does not have any port open to a specific public IP address."),
    );
    assert_eq!(
        one_verdict(
            &SecurityGroupAnyPortFromIp,
            case(json!([{"CidrIp": "1.2.3.4/32"}]))
        ),
        fail
    );
    assert_eq!(
        one_verdict(
            &SecurityGroupAnyPortFromIp,
            case(json!([{"CidrIp": "10.0.0.0/8"}]))
        ),
        pass
    );
    assert_eq!(
        one_verdict(
            &SecurityGroupAnyPortFromIp,
            case(json!([{"CidrIp": "0.0.0.0/0"}]))
        ),
        pass
    );
    // The documented edge case: the world range plus a private one fails.
    assert_eq!(
        one_verdict(
            &SecurityGroupAnyPortFromIp,
            case(json!([{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "10.0.0.0/8"}]))
        ),
        fail
    );
    let all = json!([{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]);
    let (s, t) = one_verdict(
        &SecurityGroupAnyPortFromIp,
        any_port_case(all, &[eni("eni-1", "sg-x", "interface", "1")]),
    );
    assert_eq!(s, Status::Pass);
    assert!(t.ends_with("has all ports open to the Internet and therefore was not checked against specific public IP ingress rules."), "{t}");
}

/// An instance using `sg-web` (open on 22) in `subnet`, with an optional public IP.
fn exposed_instance(subnet: &str, public_ip: Option<&str>) -> Fixture {
    let mut doc = json!({"InstanceId": "i-1", "State": {"Name": "running"}, "SubnetId": subnet,
                         "SecurityGroups": [{"GroupId": "sg-web"}]});
    if let Some(ip) = public_ip {
        doc["PublicIpAddress"] = json!(ip);
    }
    Fixture::default()
        .with("ec2:instance", "i-1", doc)
        .with(
            "ec2:security-group",
            "sg-web",
            sg("sg-web", json!([world("tcp", 22, 22)])),
        )
        .with(
            "ec2:subnet",
            "subnet-pub",
            json!({"SubnetId": "subnet-pub", "VpcId": "vpc-1"}),
        )
        .with(
            "ec2:subnet",
            "subnet-priv",
            json!({"SubnetId": "subnet-priv", "VpcId": "vpc-1"}),
        )
        .with(
            "ec2:subnet",
            "subnet-implicit",
            json!({"SubnetId": "subnet-implicit", "VpcId": "vpc-2"}),
        )
        .with(
            "ec2:route-table",
            "rtb-pub",
            json!({"RouteTableId": "rtb-pub",
            "Associations": [{"SubnetId": "subnet-pub", "Main": false}],
            "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}]}),
        )
        .with(
            "ec2:route-table",
            "rtb-priv",
            json!({"RouteTableId": "rtb-priv",
            "Associations": [{"SubnetId": "subnet-priv", "Main": false}],
            "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "eigw-1"}]}),
        )
        // The main table of another VPC routes to an IGW: Prowler's lookup makes
        // every implicitly associated subnet of the region public.
        .with(
            "ec2:route-table",
            "rtb-main",
            json!({"RouteTableId": "rtb-main",
            "Associations": [{"Main": true}],
            "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-9"}]}),
        )
}

#[test]
fn instance_port_severity_follows_reachability() {
    let finding = |f: Fixture| INSTANCE_PORT_SSH.evaluate(&f).unwrap().remove(0);
    let f = finding(exposed_instance("subnet-pub", None));
    assert_eq!(
        (f.status, f.severity),
        (Status::Fail, Some(Severity::Medium))
    );
    assert_eq!(
        f.status_extended,
        "Instance i-1 has SSH exposed to 0.0.0.0/0 but with no public IP address."
    );
    let f = finding(exposed_instance("subnet-pub", Some("54.1.2.3")));
    assert_eq!(
        (f.status, f.severity),
        (Status::Fail, Some(Severity::Critical))
    );
    assert_eq!(
        f.status_extended,
        "Instance i-1 has SSH exposed to 0.0.0.0/0 on public IP address 54.1.2.3 in public subnet subnet-pub."
    );
    let f = finding(exposed_instance("subnet-priv", Some("54.1.2.3")));
    assert_eq!((f.status, f.severity), (Status::Fail, Some(Severity::High)));
    assert_eq!(
        f.status_extended,
        "Instance i-1 has SSH exposed to 0.0.0.0/0 on public IP address 54.1.2.3 but it is placed in a private subnet subnet-priv."
    );
    let f = finding(exposed_instance("subnet-gone", Some("54.1.2.3")));
    assert_eq!((f.status, f.severity), (Status::Fail, Some(Severity::High)));
    assert!(
        f.status_extended
            .ends_with("and it is placed in an unknown subnet subnet-gone.")
    );
    let f = finding(exposed_instance("subnet-implicit", Some("54.1.2.3")));
    assert_eq!(f.severity, Some(Severity::Critical));
    // Other services' checks pass with their own wording and keep the check's severity.
    let f = INSTANCE_PORT_RDP
        .evaluate(&exposed_instance("subnet-pub", Some("54.1.2.3")))
        .unwrap()
        .remove(0);
    assert_eq!((f.status, f.severity), (Status::Pass, None));
    assert_eq!(
        f.status_extended,
        "Instance i-1 does not have RDP port 3389 open to the Internet."
    );
    assert_eq!(INSTANCE_PORT_RDP.info().severity, Severity::Critical);
}

#[test]
fn every_instance_port_check_matches_its_ports() {
    let checks = [
        &INSTANCE_PORT_CASSANDRA,
        &INSTANCE_PORT_CIFS,
        &INSTANCE_PORT_ELASTICSEARCH,
        &INSTANCE_PORT_FTP,
        &INSTANCE_PORT_KAFKA,
        &INSTANCE_PORT_KERBEROS,
        &INSTANCE_PORT_LDAP,
        &INSTANCE_PORT_MEMCACHED,
        &INSTANCE_PORT_MONGODB,
        &INSTANCE_PORT_MYSQL,
        &INSTANCE_PORT_ORACLE,
        &INSTANCE_PORT_POSTGRESQL,
        &INSTANCE_PORT_RDP,
        &INSTANCE_PORT_REDIS,
        &INSTANCE_PORT_SQLSERVER,
        &INSTANCE_PORT_SSH,
        &INSTANCE_PORT_TELNET,
    ];
    for c in checks {
        for &port in c.ports {
            let f = Fixture::default()
                .with(
                    "ec2:instance",
                    "i-1",
                    json!({"InstanceId": "i-1", "State": {"Name": "stopped"},
                                                    "SecurityGroups": [{"GroupId": "sg-x"}]}),
                )
                .with(
                    "ec2:security-group",
                    "sg-x",
                    sg("sg-x", json!([world("tcp", port, port)])),
                );
            let v = c.evaluate(&f).unwrap();
            assert_eq!(v[0].status, Status::Fail, "{} port {port}", c.id);
            assert_eq!(
                v[0].status_extended,
                format!(
                    "Instance i-1 has {} exposed to 0.0.0.0/0 but with no public IP address.",
                    c.service
                )
            );
        }
    }
}

fn entry(
    n: i64,
    proto: &str,
    action: &str,
    cidr: &str,
    ports: Option<(i64, i64)>,
) -> serde_json::Value {
    let mut e = json!({"RuleNumber": n, "Protocol": proto, "RuleAction": action, "Egress": false});
    if cidr.contains(':') {
        e["Ipv6CidrBlock"] = json!(cidr);
    } else {
        e["CidrBlock"] = json!(cidr);
    }
    if let Some((from, to)) = ports {
        e["PortRange"] = json!({"From": from, "To": to});
    }
    e
}

/// A region with a non-default security group and one ACL with `entries`.
fn acl_case(entries: serde_json::Value) -> Fixture {
    Fixture::default()
        .with("ec2:security-group", "sg-app", sg("sg-app", json!([])))
        .with(
            "ec2:network-acl",
            "acl-1",
            json!({"NetworkAclId": "acl-1", "IsDefault": true, "Entries": entries}),
        )
}

#[test]
fn nacl_exposure_follows_prowler_rule_order() {
    let default_acl = json!([
        entry(100, "-1", "allow", "0.0.0.0/0", None),
        entry(32767, "-1", "deny", "0.0.0.0/0", None)
    ]);
    for c in [&NACL_ANY_PORT, &NACL_PORT_22, &NACL_PORT_3389] {
        let (s, t) = one_verdict(c, acl_case(default_acl.clone()));
        assert_eq!(
            (s, t),
            (
                Status::Fail,
                format!("Network ACL acl-1 has {} open to the Internet.", c.label)
            )
        );
    }
    // A deny for SSH before the allow-all closes 22 but not 3389 or "any port".
    let deny_ssh = json!([
        entry(90, "6", "deny", "0.0.0.0/0", Some((22, 22))),
        entry(100, "-1", "allow", "0.0.0.0/0", None)
    ]);
    assert_eq!(
        one_verdict(&NACL_PORT_22, acl_case(deny_ssh.clone())).0,
        Status::Pass
    );
    assert_eq!(
        one_verdict(&NACL_PORT_3389, acl_case(deny_ssh.clone())).0,
        Status::Fail
    );
    assert_eq!(
        one_verdict(&NACL_ANY_PORT, acl_case(deny_ssh)).0,
        Status::Fail
    );
    // A TCP 0-65535 allow opens 22 but is not "every port" (only protocol -1 counts there).
    let tcp_all = json!([entry(100, "6", "allow", "0.0.0.0/0", Some((0, 65535)))]);
    assert_eq!(
        one_verdict(&NACL_PORT_22, acl_case(tcp_all.clone())).0,
        Status::Fail
    );
    assert_eq!(
        one_verdict(&NACL_ANY_PORT, acl_case(tcp_all)).0,
        Status::Pass
    );
    // IPv6: a deny stops the IPv6 pass, IPv4 still decides; narrower ranges are ignored.
    let v6 = json!([
        entry(10, "-1", "deny", "::/0", None),
        entry(20, "-1", "allow", "::/0", None),
        entry(30, "-1", "allow", "10.0.0.0/8", None)
    ]);
    let (s, t) = one_verdict(&NACL_PORT_22, acl_case(v6));
    assert_eq!(
        (s, t),
        (
            Status::Pass,
            "Network ACL acl-1 does not have SSH port 22 open to the Internet.".to_string()
        )
    );
    let v6_open = json!([entry(10, "6", "allow", "::/0", Some((20, 30)))]);
    assert_eq!(
        one_verdict(&NACL_PORT_22, acl_case(v6_open)).0,
        Status::Fail
    );
    // Egress entries do not count.
    let egress = json!([{"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": true, "CidrBlock": "0.0.0.0/0"}]);
    assert_eq!(
        one_verdict(&NACL_ANY_PORT, acl_case(egress)).0,
        Status::Pass
    );
    // Regions with only default security groups are not evaluated.
    let idle = Fixture::default()
        .with(
            "ec2:security-group",
            "sg-d",
            json!({"GroupId": "sg-d", "GroupName": "default"}),
        )
        .with(
            "ec2:network-acl",
            "acl-1",
            json!({"NetworkAclId": "acl-1", "Entries": default_acl}),
        );
    assert!(verdicts(&NACL_ANY_PORT, &idle).is_empty());
}

#[test]
fn unused_network_acls() {
    let f = Fixture::default()
        .with(
            "ec2:network-acl",
            "acl-used",
            json!({"NetworkAclId": "acl-used", "Associations": [{"SubnetId": "subnet-1"}]}),
        )
        .with(
            "ec2:network-acl",
            "acl-idle",
            json!({"NetworkAclId": "acl-idle", "Associations": []}),
        )
        .with(
            "ec2:network-acl",
            "acl-default",
            json!({"NetworkAclId": "acl-default", "IsDefault": true}),
        );
    let v = verdicts(&NetworkAclUnused, &f);
    assert_eq!(
        v.iter().map(|(u, s, t)| (u.rsplit('/').next().unwrap().to_string(), *s, t.clone())).collect::<Vec<_>>(),
        vec![
            ("acl-idle".to_string(), Status::Fail, "Network ACL acl-idle is not associated with any subnet and is not the default network ACL.".to_string()),
            ("acl-used".to_string(), Status::Pass, "Network ACL acl-used is associated with a subnet.".to_string()),
        ]
    );
}

#[test]
fn elastic_ip_association() {
    let f = Fixture::default()
        .with("ec2:address", "54.1.1.1", json!({"PublicIp": "54.1.1.1", "AllocationId": "eipalloc-1", "AssociationId": "eipassoc-1"}))
        .with("ec2:address", "54.2.2.2", json!({"PublicIp": "54.2.2.2", "AllocationId": "eipalloc-2"}));
    let v: Vec<(Status, String)> = verdicts(&ElasticIpUnassigned, &f)
        .into_iter()
        .map(|(_, s, t)| (s, t))
        .collect();
    assert_eq!(
        v,
        vec![
            (
                Status::Pass,
                "Elastic IP 54.1.1.1 is associated with an instance or network interface."
                    .to_string()
            ),
            (
                Status::Fail,
                "Elastic IP 54.2.2.2 is not associated with an instance or network interface."
                    .to_string()
            ),
        ]
    );
}

#[test]
fn security_group_hygiene() {
    let f = Fixture::default()
        .with(
            "ec2:security-group",
            "sg-a",
            json!({"GroupId": "sg-a", "GroupName": "launch-wizard-3"}),
        )
        .with(
            "ec2:security-group",
            "sg-b",
            json!({"GroupId": "sg-b", "GroupName": "web"}),
        );
    let v: Vec<(Status, String)> = verdicts(&SecurityGroupFromLaunchWizard, &f)
        .into_iter()
        .map(|(_, s, t)| (s, t))
        .collect();
    assert_eq!(
        v,
        vec![
            (
                Status::Fail,
                "Security group launch-wizard-3 (sg-a) was created using the EC2 Launch Wizard."
                    .to_string()
            ),
            (
                Status::Pass,
                "Security group web (sg-b) was not created using the EC2 Launch Wizard."
                    .to_string()
            ),
        ]
    );

    let rules: Vec<serde_json::Value> = (0..3).map(|p| world("tcp", p, p)).collect();
    let f = Fixture::default().with(
        "ec2:security-group",
        "sg-a",
        json!({"GroupId": "sg-a", "GroupName": "many", "IpPermissions": rules}),
    );
    let text = "Security group many (sg-a) has 3 inbound rules and 0 outbound rules.".to_string();
    assert_eq!(verdicts(&SecurityGroupManyRules, &f)[0].1, Status::Pass);
    assert_eq!(verdicts(&SecurityGroupManyRules, &f)[0].2, text);
    let strict = f.with_config("max_security_group_rules", "2");
    let v = verdicts(&SecurityGroupManyRules, &strict);
    assert_eq!((v[0].1, v[0].2.clone()), (Status::Fail, text));

    // Only in-use default groups; a fresh default group allows traffic.
    let fresh = json!({"GroupId": "sg-used", "GroupName": "default", "VpcId": "vpc-1",
        "IpPermissions": [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-used"}]}],
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]});
    let (s, t) = one_verdict(
        &SecurityGroupDefaultRestrictTraffic,
        network().with("ec2:security-group", "sg-used", fresh),
    );
    assert_eq!(
        (s, t),
        (
            Status::Fail,
            "Default Security Group (sg-used) rules allow traffic.".to_string()
        )
    );
    let empty = json!({"GroupId": "sg-used", "GroupName": "default", "VpcId": "vpc-1"});
    let (s, t) = one_verdict(
        &SecurityGroupDefaultRestrictTraffic,
        network().with("ec2:security-group", "sg-used", empty),
    );
    assert_eq!(
        (s, t),
        (
            Status::Pass,
            "Default Security Group (sg-used) rules do not allow traffic.".to_string()
        )
    );
    let named = network().with("ec2:security-group", "sg-used", sg("sg-used", json!([])));
    assert!(verdicts(&SecurityGroupDefaultRestrictTraffic, &named).is_empty());
}

#[test]
fn subnets_in_use() {
    let f = Fixture::default()
        .with("ec2:vpc", "vpc-1", json!({"VpcId": "vpc-1"}))
        .with("ec2:vpc", "vpc-2", json!({"VpcId": "vpc-2"}))
        .with("ec2:vpc", "vpc-idle", json!({"VpcId": "vpc-idle"}))
        .with("ec2:subnet", "subnet-a", json!({"SubnetId": "subnet-a", "VpcId": "vpc-1", "AvailabilityZone": "us-east-1a", "MapPublicIpOnLaunch": true}))
        .with("ec2:subnet", "subnet-b", json!({"SubnetId": "subnet-b", "VpcId": "vpc-1", "AvailabilityZone": "us-east-1b"}))
        .with("ec2:subnet", "subnet-c", json!({"SubnetId": "subnet-c", "VpcId": "vpc-2", "AvailabilityZone": "us-east-1a"}))
        .with("ec2:network-interface", "eni-1", json!({"NetworkInterfaceId": "eni-1", "VpcId": "vpc-1", "SubnetId": "subnet-a"}))
        .with("ec2:network-interface", "eni-2", json!({"NetworkInterfaceId": "eni-2", "VpcId": "vpc-2", "SubnetId": "subnet-c"}));
    let short = |v: Vec<(String, Status, String)>| {
        v.into_iter()
            .map(|(u, s, t)| (u.rsplit('/').next().unwrap().to_string(), s, t))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        short(verdicts(&SubnetNoPublicIpByDefault, &f)),
        vec![
            (
                "subnet-a".to_string(),
                Status::Fail,
                "VPC subnet subnet-a assigns public IP by default.".to_string()
            ),
            (
                "subnet-c".to_string(),
                Status::Pass,
                "VPC subnet subnet-c does NOT assign public IP by default.".to_string()
            ),
        ]
    );
    assert_eq!(
        short(verdicts(&VpcSubnetDifferentAz, &f)),
        vec![
            (
                "vpc-1".to_string(),
                Status::Pass,
                "VPC vpc-1 has subnets in more than one availability zone.".to_string()
            ),
            (
                "vpc-2".to_string(),
                Status::Fail,
                "VPC vpc-2 has only subnets in us-east-1a.".to_string()
            ),
        ]
    );
}
