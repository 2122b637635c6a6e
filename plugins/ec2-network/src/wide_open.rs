//! `ec2_securitygroup_allow_wide_open_public_ipv4`: IPv4 rules (ingress or
//! egress) whose CIDR is a public network wider than a /24.

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{IpPermission, NetworkInterface, SecurityGroup, Vpc};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity};

use crate::internet::SecurityGroupUsage;
use crate::ip::is_global;

/// Prefixes from /1 to one below this (Prowler's hard-coded threshold) are "wide".
const PREFIX_THRESHOLD: u8 = 24;

/// Is `cidr` a public IPv4 network with a prefix between /1 and /23?
/// `0.0.0.0/0` is not: its prefix is 0. A CIDR without a prefix is a /32.
pub fn wide_open_public_ipv4(cidr: &str) -> bool {
    let prefix = match cidr.split_once('/') {
        Some((_, p)) => match p.parse::<u8>() {
            Ok(p) => p,
            Err(_) => return false,
        },
        None => 32,
    };
    prefix > 0 && prefix < PREFIX_THRESHOLD && is_global(cidr) == Some(true)
}

/// The last wide-open CIDR of `rules`: within a rule the first match counts,
/// and each later matching rule replaces it (Prowler's loop keeps overwriting
/// its text and only leaves the current rule's ranges on a match).
fn last_match(rules: &[IpPermission]) -> Option<&str> {
    // The last rule with a match, and its first matching range.
    rules.iter().rev().find_map(|r| {
        r.ip_ranges
            .iter()
            .map(|x| x.cidr_ip.as_str())
            .find(|c| wide_open_public_ipv4(c))
    })
}

/// `ec2_securitygroup_allow_wide_open_public_ipv4`.
pub struct SecurityGroupWideOpenPublicIpv4;

impl Check for SecurityGroupWideOpenPublicIpv4 {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "ec2_securitygroup_allow_wide_open_public_ipv4",
            "Security group has no ingress or egress rules with public IPv4 CIDR ranges from /1 to /23",
            Severity::High,
        )
        .description(
            "Looks for ingress and egress rules of in-use security groups whose IPv4 range is a \
             public network wider than a /24 (from /1 to /23; 0.0.0.0/0 itself and private or \
             shared ranges do not count); groups no network interface uses are not evaluated.",
        )
        .service("ec2")
        .resource_type("AwsEc2SecurityGroup")
        .remediation(
            "Replace wide public ranges with the specific addresses that need access, or with \
             security group references and prefix lists.",
        )
        .reads(&[SecurityGroup::KIND, NetworkInterface::KIND, Vpc::KIND])
        .requirement("soc2", &["cc_6_6"])
        .requirement("iso27001_2022", &["A.8.1", "A.8.20", "A.8.21", "A.8.22"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let usage = SecurityGroupUsage::from_inventory(inventory)?;
        Ok(inventory
            .typed::<SecurityGroup>()?
            .into_iter()
            .filter(|(res, sg)| usage.in_use(&res.region, sg))
            .map(|(res, sg)| {
                let who = format!("Security group {} ({})", sg.group_name, sg.group_id);
                // Egress runs after ingress, so an egress match wins the text.
                let hit = last_match(&sg.ip_permissions_egress)
                    .map(|c| (c, "egress"))
                    .or_else(|| last_match(&sg.ip_permissions).map(|c| (c, "ingress")));
                match hit {
                    Some((cidr, direction)) => Finding::fail(
                        &res,
                        format!(
                            "{who} has potential wide-open non-RFC1918 address {cidr} in {direction} rule."
                        ),
                    ),
                    None => Finding::pass(
                        &res,
                        format!("{who} has no potential wide-open non-RFC1918 address."),
                    ),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use citadel_plugin_sdk::testing::Fixture;
    use citadel_plugin_sdk::{Check, Status};
    use serde_json::{Value, json};

    use super::*;

    fn rule(cidrs: &[&str]) -> Value {
        json!({
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "IpRanges": cidrs.iter().map(|c| json!({"CidrIp": c})).collect::<Vec<_>>(),
        })
    }

    /// One VPC with an interface using every group but `sg-unused`.
    fn estate(groups: &[(&str, Vec<Value>, Vec<Value>)]) -> Fixture {
        let mut f = Fixture::default().with("ec2:vpc", "vpc-1", json!({"VpcId": "vpc-1"}));
        let used: Vec<Value> = groups
            .iter()
            .filter(|(id, _, _)| *id != "sg-unused")
            .map(|(id, _, _)| json!({"GroupId": id}))
            .collect();
        f = f.with(
            "ec2:network-interface",
            "eni-1",
            json!({"NetworkInterfaceId": "eni-1", "VpcId": "vpc-1", "Groups": used}),
        );
        for (id, ingress, egress) in groups {
            f = f.with(
                "ec2:security-group",
                id,
                json!({"GroupId": id, "GroupName": format!("name-{id}"), "VpcId": "vpc-1",
                       "IpPermissions": ingress, "IpPermissionsEgress": egress}),
            );
        }
        f
    }

    fn verdicts(f: &Fixture) -> Vec<(String, Status, String)> {
        let mut v: Vec<_> = SecurityGroupWideOpenPublicIpv4
            .evaluate(f)
            .unwrap()
            .into_iter()
            .map(|f| {
                let id = f.resource_uid.rsplit('/').next().unwrap().to_string();
                (id, f.status, f.status_extended)
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn wide_open_cidrs() {
        for (cidr, wide) in [
            ("8.0.0.0/8", true),
            ("0.0.0.0/1", true),
            ("128.0.0.0/1", true),
            ("52.0.0.0/23", true),
            ("224.0.0.0/4", true),
            ("0.0.0.0/0", false),
            ("52.0.0.0/24", false),
            ("52.1.2.3/32", false),
            ("52.1.2.3", false),
            ("10.0.0.0/8", false),
            ("172.16.0.0/12", false),
            ("192.168.0.0/16", false),
            ("100.64.0.0/10", false),
            ("0.0.0.0/8", false),
            ("garbage/8", false),
        ] {
            assert_eq!(wide_open_public_ipv4(cidr), wide, "{cidr}");
        }
    }

    #[test]
    fn pass_fail_and_the_last_match_text() {
        let f = estate(&[
            (
                "sg-pass",
                vec![rule(&["0.0.0.0/0", "10.0.0.0/8", "1.2.3.0/24"])],
                vec![rule(&["0.0.0.0/0"])],
            ),
            ("sg-in", vec![rule(&["8.0.0.0/8"])], vec![]),
            // Two rules match: the later one names the CIDR; within a rule the first match.
            (
                "sg-last",
                vec![
                    rule(&["8.0.0.0/8"]),
                    rule(&["10.0.0.0/8", "9.0.0.0/16", "7.0.0.0/8"]),
                ],
                vec![],
            ),
            // An egress match wins over an earlier ingress one.
            (
                "sg-egress",
                vec![rule(&["8.0.0.0/8"])],
                vec![rule(&["0.0.0.0/0"]), rule(&["64.0.0.0/2"])],
            ),
            // IPv6 ranges are ignored.
            (
                "sg-v6",
                vec![json!({"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "2600::/16"}]})],
                vec![],
            ),
            ("sg-unused", vec![rule(&["8.0.0.0/8"])], vec![]),
        ]);
        let t = |id: &str, s: Status, text: &str| {
            (
                id.to_string(),
                s,
                format!("Security group name-{id} ({id}) {text}"),
            )
        };
        assert_eq!(
            verdicts(&f),
            vec![
                t(
                    "sg-egress",
                    Status::Fail,
                    "has potential wide-open non-RFC1918 address 64.0.0.0/2 in egress rule."
                ),
                t(
                    "sg-in",
                    Status::Fail,
                    "has potential wide-open non-RFC1918 address 8.0.0.0/8 in ingress rule."
                ),
                t(
                    "sg-last",
                    Status::Fail,
                    "has potential wide-open non-RFC1918 address 9.0.0.0/16 in ingress rule."
                ),
                t(
                    "sg-pass",
                    Status::Pass,
                    "has no potential wide-open non-RFC1918 address."
                ),
                t(
                    "sg-v6",
                    Status::Pass,
                    "has no potential wide-open non-RFC1918 address."
                ),
            ]
        );
    }

    #[test]
    fn in_use_gate() {
        // The group's VPC is not in the inventory: no finding.
        let f = Fixture::default()
            .with("ec2:network-interface", "eni-1", json!({"NetworkInterfaceId": "eni-1", "VpcId": "vpc-9", "Groups": [{"GroupId": "sg-1"}]}))
            .with("ec2:security-group", "sg-1", json!({"GroupId": "sg-1", "GroupName": "a", "VpcId": "vpc-9", "IpPermissions": [rule(&["8.0.0.0/8"])]}));
        assert!(verdicts(&f).is_empty());
        // No interface uses the group: no finding.
        let f = estate(&[("sg-unused", vec![rule(&["8.0.0.0/8"])], vec![])]);
        assert!(verdicts(&f).is_empty());
    }
}
