use std::collections::BTreeSet;

use citadel_plugin_sdk::testing::{Fixture, fixture, verdicts};
use citadel_plugin_sdk::{Check, Status};
use serde_json::{Value, json};

use super::*;

/// The single verdict a check gives, without the resource.
fn only(check: &dyn Check, fixture: &Fixture) -> (Status, String) {
    let mut v = verdicts(check, fixture);
    assert_eq!(v.len(), 1, "{v:?}");
    let (_, s, t) = v.remove(0);
    (s, t)
}

const ARN: &str = "arn:aws:ec2:us-east-1:123456789012";

fn vpc(id: &str) -> Value {
    json!({"kind": "ec2:vpc", "id": id, "document": {"VpcId": id}})
}

fn eni(id: &str, vpc: &str, subnet: &str) -> Value {
    json!({"kind": "ec2:network-interface", "id": id,
           "document": {"NetworkInterfaceId": id, "VpcId": vpc, "SubnetId": subnet}})
}

#[test]
fn the_pack_exports_every_check_once_with_what_it_reads() {
    let checks = __citadel_checks();
    assert_eq!(checks.len(), 11);
    let ids: BTreeSet<String> = checks.iter().map(|c| c.info().id).collect();
    assert_eq!(ids.len(), 11);
    for c in checks {
        let info = c.info();
        assert!(!info.reads.is_empty(), "{}", info.id);
        assert!(!info.requirements.is_empty(), "{}", info.id);
        assert!(!info.description.is_empty() && !info.remediation.is_empty());
    }
}

// ------------------------------------------------------------ flow logs

fn flow_log(id: &str, resource: &str) -> Value {
    json!({"kind": "ec2:flow-log", "id": id, "uid": format!("{ARN}:vpc-flow-log/{id}"),
           "document": {"FlowLogId": id, "ResourceId": resource, "TrafficType": "REJECT"}})
}

#[test]
fn flow_logs_on_the_vpc_pass_and_missing_ones_fail() {
    let f = fixture(json!([
        {"kind": "ec2:vpc", "id": "vpc-1", "name": "prod", "document": {"VpcId": "vpc-1"}},
        vpc("vpc-2"),
        eni("eni-1", "vpc-1", "subnet-1"),
        eni("eni-2", "vpc-2", "subnet-2"),
        flow_log("fl-1", "vpc-1"),
    ]));
    assert_eq!(
        verdicts(&VpcFlowLogsEnabled, &f),
        vec![
            (
                format!("{ARN}:vpc/vpc-1"),
                Status::Pass,
                "VPC prod Flow logs are enabled.".into()
            ),
            (
                format!("{ARN}:vpc/vpc-2"),
                Status::Fail,
                "VPC vpc-2 Flow logs are disabled.".into()
            ),
        ]
    );
}

#[test]
fn flow_logs_on_a_subnet_or_in_another_region_do_not_count_and_unused_vpcs_are_skipped() {
    let f = fixture(json!([
        vpc("vpc-1"),
        vpc("vpc-idle"),
        eni("eni-1", "vpc-1", "subnet-1"),
        flow_log("fl-subnet", "subnet-1"),
        flow_log("fl-eni", "eni-1"),
        {"kind": "ec2:flow-log", "id": "fl-far", "region": "eu-west-1",
         "document": {"FlowLogId": "fl-far", "ResourceId": "vpc-1"}},
        // An interface in another region does not put this one in use.
        {"kind": "ec2:network-interface", "id": "eni-far", "region": "eu-west-1",
         "document": {"NetworkInterfaceId": "eni-far", "VpcId": "vpc-idle"}},
    ]));
    assert_eq!(
        verdicts(&VpcFlowLogsEnabled, &f),
        vec![(
            format!("{ARN}:vpc/vpc-1"),
            Status::Fail,
            "VPC vpc-1 Flow logs are disabled.".into()
        )]
    );
}

// ------------------------------------------------------------ endpoints

fn endpoint(id: &str, doc: Value) -> Value {
    let mut doc = doc;
    doc["VpcEndpointId"] = json!(id);
    json!({"kind": "ec2:vpc-endpoint", "id": id, "document": doc})
}

#[test]
fn ec2_endpoint_passes_with_any_ec2_service_and_fails_without() {
    let f = fixture(json!([
        vpc("vpc-1"),
        vpc("vpc-2"),
        vpc("vpc-3"),
        vpc("vpc-idle"),
        eni("eni-1", "vpc-1", "subnet-1"),
        eni("eni-2", "vpc-2", "subnet-2"),
        eni("eni-3", "vpc-3", "subnet-3"),
        endpoint(
            "vpce-1",
            json!({"VpcId": "vpc-1", "VpcEndpointType": "Interface",
            "ServiceName": "com.amazonaws.us-east-1.ec2", "State": "deleted"})
        ),
        // ec2messages contains "ec2" too.
        endpoint(
            "vpce-2",
            json!({"VpcId": "vpc-2", "VpcEndpointType": "Interface",
            "ServiceName": "com.amazonaws.us-east-1.ec2messages"})
        ),
        endpoint(
            "vpce-3",
            json!({"VpcId": "vpc-3", "VpcEndpointType": "Gateway",
            "ServiceName": "com.amazonaws.us-east-1.s3"})
        ),
        endpoint(
            "vpce-idle",
            json!({"VpcId": "vpc-idle", "VpcEndpointType": "Interface",
            "ServiceName": "com.amazonaws.us-east-1.ec2"})
        ),
    ]));
    assert_eq!(
        verdicts(&VpcEndpointForEc2Enabled, &f),
        vec![
            (
                format!("{ARN}:vpc/vpc-1"),
                Status::Pass,
                "VPC vpc-1 has an EC2 Interface endpoint.".into()
            ),
            (
                format!("{ARN}:vpc/vpc-2"),
                Status::Pass,
                "VPC vpc-2 has an EC2 Interface endpoint.".into()
            ),
            (
                format!("{ARN}:vpc/vpc-3"),
                Status::Fail,
                "VPC vpc-3 has no EC2 endpoint.".into()
            ),
        ]
    );
}

#[test]
fn interface_endpoints_need_two_subnets_in_a_known_vpc() {
    let f = fixture(json!([
        vpc("vpc-1"),
        endpoint(
            "vpce-2",
            json!({"VpcId": "vpc-1", "VpcEndpointType": "Interface",
            "ServiceName": "com.amazonaws.us-east-1.ec2", "SubnetIds": ["subnet-a", "subnet-b"]})
        ),
        endpoint(
            "vpce-1",
            json!({"VpcId": "vpc-1", "VpcEndpointType": "Interface",
            "ServiceName": "com.amazonaws.us-east-1.sts", "SubnetIds": ["subnet-a"]})
        ),
        // Gateway endpoints have no subnets and are not judged.
        endpoint(
            "vpce-gw",
            json!({"VpcId": "vpc-1", "VpcEndpointType": "Gateway",
            "ServiceName": "com.amazonaws.us-east-1.s3"})
        ),
        // Nor are endpoints of VPCs the scan did not see.
        endpoint(
            "vpce-other",
            json!({"VpcId": "vpc-gone", "VpcEndpointType": "Interface",
            "ServiceName": "com.amazonaws.us-east-1.ec2", "SubnetIds": ["subnet-z"]})
        ),
    ]));
    assert_eq!(
        verdicts(&VpcEndpointMultiAzEnabled, &f),
        vec![
            (
                format!("{ARN}:vpc-endpoint/vpce-1"),
                Status::Fail,
                "VPC Endpoint vpce-1 in VPC vpc-1 does not have subnets in different AZs.".into()
            ),
            (
                format!("{ARN}:vpc-endpoint/vpce-2"),
                Status::Pass,
                "VPC Endpoint vpce-2 in VPC vpc-1 has subnets in different AZs.".into()
            ),
        ]
    );
}

// ------------------------------------------------ endpoint policies

const OWN: &str = "123456789012";
const PARTNER: &str = "111122223333";
const STRANGER: &str = "444455556666";

/// The verdict on one S3 gateway endpoint with `policy`, or `None` without a finding.
fn policy_verdict(policy: Value, trusted: Option<&str>) -> Option<(Status, String)> {
    let mut f = fixture(json!([endpoint(
        "vpce-1",
        json!({
        "VpcId": "vpc-1", "VpcEndpointType": "Gateway", "ServiceName": "com.amazonaws.us-east-1.s3",
        "PolicyDocument": policy.to_string()})
    )]));
    if let Some(t) = trusted {
        f = f.with_config("trusted_account_ids", t);
    }
    let mut v = verdicts(&VpcEndpointConnectionsTrustBoundaries, &f);
    assert!(v.len() <= 1, "{v:?}");
    v.pop().map(|(_, s, t)| (s, t))
}

fn statement(principal: Value, condition: Option<Value>) -> Value {
    let mut s = json!({"Effect": "Allow", "Principal": principal, "Action": "*", "Resource": "*"});
    if let Some(c) = condition {
        s["Condition"] = c;
    }
    s
}

fn policy(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

const TRUSTED: &str =
    "VPC Endpoint vpce-1 in VPC vpc-1 can only be accessed from trusted accounts.";
const UNTRUSTED: &str =
    "VPC Endpoint vpce-1 in VPC vpc-1 can be accessed from non-trusted accounts.";

fn pass() -> Option<(Status, String)> {
    Some((Status::Pass, TRUSTED.into()))
}

fn fail() -> Option<(Status, String)> {
    Some((Status::Fail, UNTRUSTED.into()))
}

#[test]
fn the_default_full_access_policy_fails() {
    // What AWS (and moto) attach when none is given.
    let default = json!({"Version": "2008-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]});
    assert_eq!(policy_verdict(default, None), fail());
    let aws_star = policy(vec![statement(json!({"AWS": "*"}), None)]);
    assert_eq!(policy_verdict(aws_star, None), fail());
}

#[test]
fn principals_in_trusted_accounts_pass_and_others_fail() {
    let own = policy(vec![statement(
        json!({"AWS": format!("arn:aws:iam::{OWN}:root")}),
        None,
    )]);
    assert_eq!(policy_verdict(own, None), pass());
    // A bare 12-digit account id works like an ARN.
    let partner = policy(vec![statement(json!({"AWS": [PARTNER]}), None)]);
    assert_eq!(policy_verdict(partner.clone(), None), fail());
    assert_eq!(
        policy_verdict(partner, Some(&format!("{STRANGER}, {PARTNER}"))),
        pass()
    );
    // One untrusted principal among trusted ones fails the endpoint.
    let mixed = policy(vec![statement(
        json!({"AWS": [format!("arn:aws:iam::{OWN}:role/app"), format!("arn:aws:iam::{STRANGER}:root")]}),
        None,
    )]);
    assert_eq!(policy_verdict(mixed, None), fail());
}

#[test]
fn a_wildcard_principal_passes_only_with_a_condition_naming_every_trusted_account() {
    let confined = |c: Value| policy(vec![statement(json!("*"), Some(c))]);
    let own_only = json!({"StringEquals": {"aws:PrincipalAccount": OWN}});
    assert_eq!(policy_verdict(confined(own_only.clone()), None), pass());
    // With another trusted account configured, the condition must name it as well.
    assert_eq!(policy_verdict(confined(own_only), Some(PARTNER)), fail());
    let both = json!({"StringEquals": {"AWS:PRINCIPALACCOUNT": [format!("{OWN}"), format!("{OWN}")]},
                      "StringLike": {"aws:PrincipalArn": [format!("arn:aws:iam::{PARTNER}:*"), format!("arn:aws:iam::{OWN}:*")]}});
    // StringEquals names only the scanned account: not confined for the partner;
    // StringLike lists an ARN outside each account: not confined either.
    assert_eq!(policy_verdict(confined(both), Some(PARTNER)), fail());
    let source_vpc = json!({"StringEquals": {"aws:SourceVpc": "vpc-1"}});
    assert_eq!(policy_verdict(confined(source_vpc), None), pass());
    let unrelated = json!({"Bool": {"aws:SecureTransport": "true"}});
    assert_eq!(policy_verdict(confined(unrelated), None), fail());
}

#[test]
fn source_arn_conditions_must_not_be_wildcards_or_other_accounts() {
    let with_arn = |arn: Value| {
        policy(vec![statement(
            json!("*"),
            Some(json!({"ArnLike": {"aws:SourceArn": arn}})),
        )])
    };
    assert_eq!(
        policy_verdict(
            with_arn(json!(format!("arn:aws:sns:us-east-1:{OWN}:topic"))),
            None
        ),
        pass()
    );
    // No account field (an S3 bucket): confined.
    assert_eq!(
        policy_verdict(with_arn(json!(["arn:aws:s3:::bucket"])), None),
        pass()
    );
    assert_eq!(
        policy_verdict(
            with_arn(json!(format!("arn:aws:sns:us-east-1:{OWN}:*"))),
            None
        ),
        fail()
    );
    assert_eq!(
        policy_verdict(with_arn(json!("arn:aws:sns:us-east-1:*:topic")), None),
        fail()
    );
    assert_eq!(
        policy_verdict(
            with_arn(json!([format!("arn:aws:sns:us-east-1:{STRANGER}:topic")])),
            None
        ),
        fail()
    );
}

#[test]
fn a_condition_decides_even_for_a_trusted_principal() {
    // Prowler replaces the principal's verdict with the condition test.
    let unrelated = policy(vec![statement(
        json!({"AWS": OWN}),
        Some(json!({"Bool": {"aws:SecureTransport": "true"}})),
    )]);
    assert_eq!(policy_verdict(unrelated, None), fail());
    let stranger_confined = policy(vec![statement(
        json!({"AWS": STRANGER}),
        Some(json!({"StringEquals": {"aws:SourceAccount": OWN}})),
    )]);
    assert_eq!(policy_verdict(stranger_confined, None), pass());
}

#[test]
fn effect_is_ignored_and_only_aws_principals_count() {
    let deny_all = json!({"Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}]});
    assert_eq!(policy_verdict(deny_all, None), fail());
    let service = policy(vec![statement(
        json!({"Service": "ec2.amazonaws.com"}),
        None,
    )]);
    assert_eq!(policy_verdict(service, None), None);
    // A statement without a principal is skipped (it stops Prowler's check).
    let no_principal = json!({"Statement": [{"Effect": "Allow", "Action": "*"}]});
    assert_eq!(policy_verdict(no_principal, None), None);
    // A lone statement object reads as a list of one.
    let single = json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*"}});
    assert_eq!(policy_verdict(single, None), fail());
}

#[test]
fn statements_are_walked_in_order_until_the_first_untrusted_principal() {
    let trusted_then_open = policy(vec![
        statement(json!({"AWS": OWN}), None),
        statement(json!("*"), None),
        statement(json!({"AWS": OWN}), None),
    ]);
    assert_eq!(policy_verdict(trusted_then_open, None), fail());
    let two_trusted = policy(vec![
        statement(json!({"AWS": OWN}), None),
        statement(json!({"AWS": format!("arn:aws:iam::{OWN}:user/ops")}), None),
    ]);
    assert_eq!(policy_verdict(two_trusted, None), pass());
}

#[test]
fn endpoints_without_a_judgeable_policy_give_no_finding_or_an_error() {
    let f = fixture(json!([
        endpoint(
            "vpce-none",
            json!({"VpcId": "vpc-1", "ServiceName": "com.amazonaws.us-east-1.ec2"})
        ),
        // Endpoints to endpoint services: their policy cannot be changed.
        endpoint(
            "vpce-svc",
            json!({"VpcId": "vpc-1",
            "ServiceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0abc",
            "PolicyDocument": policy(vec![statement(json!("*"), None)]).to_string()})
        ),
        endpoint(
            "vpce-bad",
            json!({"VpcId": "vpc-1", "ServiceName": "com.amazonaws.us-east-1.s3",
            "PolicyDocument": "{not json"})
        ),
    ]));
    let v = verdicts(&VpcEndpointConnectionsTrustBoundaries, &f);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].0, format!("{ARN}:vpc-endpoint/vpce-bad"));
    assert_eq!(v[0].1, Status::Error);
    assert!(
        v[0].2.starts_with(
            "VPC Endpoint vpce-bad in VPC vpc-1 has a policy document that is not JSON"
        ),
        "{}",
        v[0].2
    );
}

// ------------------------------------------------ endpoint services

fn service(id: &str, principals: &[&str]) -> Value {
    let allowed: Vec<Value> = principals.iter().map(|p| json!({"Principal": p})).collect();
    json!({"kind": "ec2:vpc-endpoint-service", "id": id,
           "document": {"ServiceId": id, "Owner": OWN, "AllowedPrincipals": allowed}})
}

fn service_verdict(principals: &[&str], trusted: Option<&str>) -> (Status, String) {
    let mut f = fixture(json!([service("vpce-svc-1", principals)]));
    if let Some(t) = trusted {
        f = f.with_config("trusted_account_ids", t);
    }
    let v = verdicts(&VpcEndpointServicesAllowedPrincipals, &f);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].0, format!("{ARN}:vpc-endpoint-service/vpce-svc-1"));
    (v[0].1, v[0].2.clone())
}

#[test]
fn endpoint_services_with_no_or_trusted_principals_pass() {
    assert_eq!(
        service_verdict(&[], None),
        (
            Status::Pass,
            "VPC Endpoint Service vpce-svc-1 has no allowed principals.".into()
        )
    );
    assert_eq!(
        service_verdict(&["arn:aws:iam::123456789012:root"], None),
        (
            Status::Pass,
            "Found trusted account 123456789012 in VPC Endpoint Service vpce-svc-1.".into()
        )
    );
    assert_eq!(
        service_verdict(&["arn:aws:iam::111122223333:role/x"], Some(PARTNER)),
        (
            Status::Pass,
            "Found trusted account 111122223333 in VPC Endpoint Service vpce-svc-1.".into()
        )
    );
    // Prowler compares with the scanned account by substring.
    assert_eq!(
        service_verdict(&["arn:aws:iam::3456789:root"], None).0,
        Status::Pass
    );
}

#[test]
fn endpoint_services_with_wildcard_or_untrusted_principals_fail() {
    assert_eq!(
        service_verdict(&["*"], None),
        (
            Status::Fail,
            "Wildcard principal found in VPC Endpoint Service vpce-svc-1.".into()
        )
    );
    assert_eq!(
        service_verdict(&["arn:aws:iam::444455556666:root"], Some(PARTNER)),
        (
            Status::Fail,
            "Found untrusted account 444455556666 in VPC Endpoint Service vpce-svc-1.".into()
        )
    );
}

#[test]
fn an_endpoint_service_gets_one_finding_with_its_last_principals_verdict() {
    // Prowler reports N identical copies carrying the last principal's verdict.
    assert_eq!(
        service_verdict(&["*", "arn:aws:iam::123456789012:root"], None),
        (
            Status::Pass,
            "Found trusted account 123456789012 in VPC Endpoint Service vpce-svc-1.".into()
        )
    );
    assert_eq!(
        service_verdict(
            &[
                "arn:aws:iam::123456789012:root",
                "arn:aws:iam::444455556666:root"
            ],
            None
        ),
        (
            Status::Fail,
            "Found untrusted account 444455556666 in VPC Endpoint Service vpce-svc-1.".into()
        )
    );
}

// ------------------------------------------------------------ peering

fn peering(id: &str, requester: &str, accepter: &str) -> Value {
    json!({"kind": "ec2:vpc-peering-connection", "id": id, "document": {
        "VpcPeeringConnectionId": id,
        "RequesterVpcInfo": {"VpcId": "vpc-r", "CidrBlock": requester},
        "AccepterVpcInfo": {"VpcId": "vpc-a", "CidrBlock": accepter},
        "Status": {"Code": "active"}}})
}

fn table(id: &str, routes: Value) -> Value {
    json!({"kind": "ec2:route-table", "id": id,
           "document": {"RouteTableId": id, "VpcId": "vpc-r", "Routes": routes}})
}

fn route(cidr: &str, pcx: Option<&str>, origin: &str) -> Value {
    let mut r = json!({"DestinationCidrBlock": cidr, "Origin": origin, "State": "active"});
    if let Some(p) = pcx {
        r["VpcPeeringConnectionId"] = json!(p);
    } else {
        r["GatewayId"] = json!("local");
    }
    r
}

fn peering_verdict(routes: Value) -> (Status, String) {
    let f = fixture(json!([
        peering("pcx-1", "10.1.0.0/16", "10.2.0.0/16"),
        table("rtb-1", routes)
    ]));
    only(&VpcPeeringRoutingTablesLeastPrivilege, &f)
}

const PEERING_OK: &str = "VPC Peering Connection pcx-1 comply with least privilege access.";
const PEERING_WIDE: &str = "VPC Peering Connection pcx-1 does not comply with least privilege access since it accepts whole VPCs CIDR in its route tables.";

#[test]
fn peering_routes_to_specific_ranges_pass() {
    let routes = json!([
        route("10.1.0.0/16", None, "CreateRouteTable"),
        route("10.2.5.0/24", Some("pcx-1"), "CreateRoute"),
    ]);
    assert_eq!(peering_verdict(routes), (Status::Pass, PEERING_OK.into()));
    // Prowler drops the accepter's CIDR, so routing all of it is not flagged.
    let accepter = json!([route("10.2.0.0/16", Some("pcx-1"), "CreateRoute")]);
    assert_eq!(peering_verdict(accepter), (Status::Pass, PEERING_OK.into()));
}

#[test]
fn peering_routes_to_everything_or_the_requester_vpc_fail() {
    let everything = json!([route("0.0.0.0/0", Some("pcx-1"), "CreateRoute")]);
    assert_eq!(
        peering_verdict(everything),
        (Status::Fail, PEERING_WIDE.into())
    );
    let requester = json!([route("10.1.0.0/16", Some("pcx-1"), "CreateRoute")]);
    assert_eq!(
        peering_verdict(requester),
        (Status::Fail, PEERING_WIDE.into())
    );
}

#[test]
fn peering_route_collection_follows_prowler() {
    // A table routing to this connection contributes its other peering routes too.
    let other = json!([
        route("10.2.5.0/24", Some("pcx-1"), "CreateRoute"),
        route("0.0.0.0/0", Some("pcx-9"), "CreateRoute"),
    ]);
    assert_eq!(peering_verdict(other).0, Status::Fail);
    // Routes the table was created with do not count.
    let local = json!([
        route("10.2.5.0/24", Some("pcx-1"), "CreateRoute"),
        route("0.0.0.0/0", Some("pcx-1"), "CreateRouteTable"),
    ]);
    assert_eq!(peering_verdict(local).0, Status::Pass);
    // Tables that do not route to the connection, or no tables at all: pass.
    let unrelated = json!([route("0.0.0.0/0", Some("pcx-9"), "CreateRoute")]);
    assert_eq!(peering_verdict(unrelated).0, Status::Pass);
    let f = fixture(json!([peering("pcx-1", "10.1.0.0/16", "10.2.0.0/16")]));
    assert_eq!(
        verdicts(&VpcPeeringRoutingTablesLeastPrivilege, &f),
        vec![(
            format!("{ARN}:vpc-peering-connection/pcx-1"),
            Status::Pass,
            PEERING_OK.into()
        )]
    );
}

// ------------------------------------------------- public and private

fn subnet(id: &str, vpc: &str) -> Value {
    json!({"kind": "ec2:subnet", "id": id, "document": {"SubnetId": id, "VpcId": vpc}})
}

fn route_table(id: &str, vpc: &str, associations: Value, gateway: &str) -> Value {
    json!({"kind": "ec2:route-table", "id": id, "document": {
        "RouteTableId": id, "VpcId": vpc, "Associations": associations,
        "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": gateway}]}})
}

#[test]
fn vpcs_need_both_public_and_private_subnets() {
    let f = fixture(json!([
        {"kind": "ec2:vpc", "id": "vpc-both", "name": "web", "document": {"VpcId": "vpc-both"}},
        vpc("vpc-public"),
        vpc("vpc-private"),
        vpc("vpc-empty"),
        vpc("vpc-idle"),
        eni("eni-1", "vpc-both", "subnet-a"),
        eni("eni-2", "vpc-public", "subnet-c"),
        eni("eni-3", "vpc-private", "subnet-d"),
        eni("eni-4", "vpc-empty", "subnet-x"),
        subnet("subnet-a", "vpc-both"),
        subnet("subnet-b", "vpc-both"),
        subnet("subnet-c", "vpc-public"),
        subnet("subnet-d", "vpc-private"),
        subnet("subnet-idle", "vpc-idle"),
        route_table("rtb-pub", "vpc-both", json!([{"SubnetId": "subnet-a"}, {"SubnetId": "subnet-c"}]), "igw-1"),
        // An egress-only gateway does not make a subnet public.
        route_table("rtb-priv", "vpc-both", json!([{"SubnetId": "subnet-b"}, {"SubnetId": "subnet-d"}]), "eigw-1"),
        route_table("rtb-main", "vpc-both", json!([{"Main": true}]), "nat-1"),
    ]));
    assert_eq!(
        verdicts(&VpcSubnetSeparatePrivatePublic, &f),
        vec![
            (
                format!("{ARN}:vpc/vpc-both"),
                Status::Pass,
                "VPC web has private and public subnets.".into()
            ),
            (
                format!("{ARN}:vpc/vpc-empty"),
                Status::Fail,
                "VPC vpc-empty has no subnets.".into()
            ),
            (
                format!("{ARN}:vpc/vpc-private"),
                Status::Fail,
                "VPC vpc-private has only private subnets.".into()
            ),
            (
                format!("{ARN}:vpc/vpc-public"),
                Status::Fail,
                "VPC vpc-public has only public subnets.".into()
            ),
        ]
    );
}

#[test]
fn implicitly_associated_subnets_follow_any_main_table_of_the_region() {
    let resources = |main_gateway: &str| {
        fixture(json!([
            vpc("vpc-1"),
            eni("eni-1", "vpc-1", "subnet-a"),
            subnet("subnet-a", "vpc-1"),
            subnet("subnet-b", "vpc-1"),
            route_table(
                "rtb-pub",
                "vpc-1",
                json!([{"SubnetId": "subnet-a"}]),
                "igw-1"
            ),
            // Another VPC's main table: Prowler's lookup is not filtered by VPC.
            route_table(
                "rtb-other-main",
                "vpc-2",
                json!([{"Main": true}]),
                main_gateway
            ),
        ]))
    };
    assert_eq!(
        only(&VpcSubnetSeparatePrivatePublic, &resources("igw-2")),
        (Status::Fail, "VPC vpc-1 has only public subnets.".into())
    );
    assert_eq!(
        only(&VpcSubnetSeparatePrivatePublic, &resources("local")),
        (
            Status::Pass,
            "VPC vpc-1 has private and public subnets.".into()
        )
    );
}

// ------------------------------------------------------------ regions

fn account(region: &str) -> Value {
    json!({"kind": "ec2:vpc-account", "id": OWN, "region": region,
           "uid": format!("arn:aws:ec2:{region}:{OWN}:vpc"),
           "document": {"AccountId": OWN, "Regions": ["us-east-1", "eu-west-1"]}})
}

fn regional_vpc(id: &str, region: &str, default: bool) -> Value {
    json!({"kind": "ec2:vpc", "id": id, "region": region,
           "document": {"VpcId": id, "IsDefault": default}})
}

#[test]
fn vpcs_in_two_regions_pass_and_default_vpcs_do_not_count() {
    let f = fixture(json!([
        account("us-east-1"),
        regional_vpc("vpc-1", "us-east-1", false),
        regional_vpc("vpc-2", "eu-west-1", false),
    ]));
    assert_eq!(
        verdicts(&VpcDifferentRegions, &f),
        vec![(
            format!("arn:aws:ec2:us-east-1:{OWN}:vpc"),
            Status::Pass,
            "VPCs found in more than one region.".into()
        )]
    );
    let f = fixture(json!([
        account("us-east-1"),
        regional_vpc("vpc-1", "us-east-1", false),
        regional_vpc("vpc-d", "eu-west-1", true),
    ]));
    assert_eq!(
        only(&VpcDifferentRegions, &f),
        (Status::Fail, "VPCs found only in one region.".into())
    );
    // Only default VPCs: still one finding, failing.
    let f = fixture(json!([
        account("us-east-1"),
        regional_vpc("vpc-d", "us-east-1", true),
    ]));
    assert_eq!(only(&VpcDifferentRegions, &f).0, Status::Fail);
    // No VPC at all: no finding.
    assert_eq!(
        verdicts(
            &VpcDifferentRegions,
            &fixture(json!([account("us-east-1")]))
        ),
        vec![]
    );
}

// ----------------------------------------------------- VPN and gateways

fn vpn(id: &str, tunnels: &[&str]) -> Fixture {
    let telemetry: Vec<Value> = tunnels
        .iter()
        .map(|s| json!({"OutsideIpAddress": "52.0.0.1", "Status": s}))
        .collect();
    Fixture::default().with(
        "ec2:vpn-connection",
        id,
        json!({"VpnConnectionId": id, "State": "available", "VgwTelemetry": telemetry}),
    )
}

#[test]
fn vpn_connections_need_both_tunnels_up() {
    assert_eq!(
        verdicts(&VpnConnectionTunnelsUp, &vpn("vpn-1", &["UP", "UP"])),
        vec![(
            format!("{ARN}:vpn-connection/vpn-1"),
            Status::Pass,
            "VPN Connection vpn-1 has both tunnels UP. ".into()
        )]
    );
    for tunnels in [["UP", "DOWN"], ["DOWN", "UP"], ["DOWN", "DOWN"]] {
        assert_eq!(
            only(&VpnConnectionTunnelsUp, &vpn("vpn-1", &tunnels)),
            (
                Status::Fail,
                "VPN Connection vpn-1 has at least one tunnel DOWN. ".into()
            )
        );
    }
}

#[test]
fn a_vpn_connection_without_two_tunnels_is_an_error_not_a_verdict() {
    let f = vpn("vpn-1", &["UP"]).with(
        "ec2:vpn-connection",
        "vpn-2",
        json!({"VpnConnectionId": "vpn-2", "VgwTelemetry": [{"Status": "UP"}, {"Status": "UP"}]}),
    );
    let v = verdicts(&VpnConnectionTunnelsUp, &f);
    assert_eq!(v.len(), 2);
    assert_eq!(
        (v[0].1, v[0].2.as_str()),
        (
            Status::Error,
            "VPN Connection vpn-1 reports 1 tunnel(s); the status of both tunnels is needed."
        )
    );
    assert_eq!(v[1].1, Status::Pass);
    assert_eq!(
        only(&VpnConnectionTunnelsUp, &vpn("vpn-1", &[])).0,
        Status::Error
    );
}

fn tgw(id: &str, options: Value) -> Value {
    json!({"kind": "ec2:transit-gateway", "id": id, "region": "eu-west-1",
           "uid": format!("arn:aws:ec2:eu-west-1:{OWN}:transit-gateway/{id}"),
           "document": {"TransitGatewayId": id, "Options": options}})
}

#[test]
fn transit_gateways_must_not_auto_accept_shared_attachments() {
    let f = fixture(json!([
        tgw("tgw-1", json!({"AutoAcceptSharedAttachments": "enable"})),
        tgw("tgw-2", json!({"AutoAcceptSharedAttachments": "disable"})),
        tgw("tgw-3", json!({})),
    ]));
    let arn = format!("arn:aws:ec2:eu-west-1:{OWN}:transit-gateway");
    assert_eq!(
        verdicts(&TransitGatewayAutoAcceptVpcAttachments, &f),
        vec![
            (
                format!("{arn}/tgw-1"),
                Status::Fail,
                "Transit Gateway tgw-1 in region eu-west-1 is configured to automatically accept shared VPC attachments.".into()
            ),
            (
                format!("{arn}/tgw-2"),
                Status::Pass,
                "Transit Gateway tgw-2 in region eu-west-1 does not automatically accept shared VPC attachments.".into()
            ),
            (
                format!("{arn}/tgw-3"),
                Status::Pass,
                "Transit Gateway tgw-3 in region eu-west-1 does not automatically accept shared VPC attachments.".into()
            ),
        ]
    );
}

#[test]
fn client_vpn_endpoints_need_connection_logging() {
    let f = Fixture::default()
        .with(
            "ec2:client-vpn-endpoint",
            "cvpn-endpoint-1",
            json!({"ClientVpnEndpointId": "cvpn-endpoint-1",
                   "ConnectionLogOptions": {"Enabled": true, "CloudwatchLogGroup": "vpn"}}),
        )
        .with(
            "ec2:client-vpn-endpoint",
            "cvpn-endpoint-2",
            json!({"ClientVpnEndpointId": "cvpn-endpoint-2",
                   "ConnectionLogOptions": {"Enabled": false}}),
        )
        .with(
            "ec2:client-vpn-endpoint",
            "cvpn-endpoint-3",
            json!({"ClientVpnEndpointId": "cvpn-endpoint-3"}),
        );
    assert_eq!(
        verdicts(&ClientVpnEndpointConnectionLogging, &f),
        vec![
            (
                format!("{ARN}:client-vpn-endpoint/cvpn-endpoint-1"),
                Status::Pass,
                "Client VPN endpoint cvpn-endpoint-1 in region us-east-1 has client connection logging enabled.".into()
            ),
            (
                format!("{ARN}:client-vpn-endpoint/cvpn-endpoint-2"),
                Status::Fail,
                "Client VPN endpoint cvpn-endpoint-2 in region us-east-1 does not have client connection logging enabled.".into()
            ),
            (
                format!("{ARN}:client-vpn-endpoint/cvpn-endpoint-3"),
                Status::Fail,
                "Client VPN endpoint cvpn-endpoint-3 in region us-east-1 does not have client connection logging enabled.".into()
            ),
        ]
    );
}
