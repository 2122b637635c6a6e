//! Prowler's network ACL checks.
//!
//! The Internet test follows Prowler's reading of a NACL: ingress entries only;
//! first the IPv6 entries for `::/0` in rule order, where a matching deny ends
//! the IPv6 pass and a matching allow means open; then the IPv4 entries for
//! `0.0.0.0/0`, where the first match decides. Entries for narrower ranges are
//! ignored. The exposure checks run only in regions with at least one security
//! group not named `default` (Prowler's "in use" gate for NACLs).

use std::collections::BTreeSet;

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{NetworkAcl, NetworkAclEntry, SecurityGroup};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Resource, Severity};

/// Does the ACL let the Internet in for `protocol` (`-1` or a protocol number) on `port`?
pub fn nacl_open_to_internet(entries: &[NetworkAclEntry], protocol: &str, port: i64) -> bool {
    let matches = |e: &NetworkAclEntry| {
        e.protocol == "-1"
            || (e.protocol == protocol
                && e.port_range.as_ref().is_some_and(|r| {
                    r.from.is_some_and(|f| f <= port) && r.to.is_some_and(|t| port <= t)
                }))
    };
    let mut ingress: Vec<&NetworkAclEntry> = entries.iter().filter(|e| !e.egress).collect();
    ingress.sort_by_key(|e| e.rule_number);
    for e in ingress.iter().filter(|e| e.cidr_block.is_none()) {
        if e.ipv6_cidr_block.as_deref() == Some("::/0") && matches(e) {
            if e.rule_action == "deny" {
                break;
            }
            if e.rule_action == "allow" {
                return true;
            }
        }
    }
    for e in ingress.iter().filter(|e| e.ipv6_cidr_block.is_none()) {
        if e.cidr_block.as_deref() == Some("0.0.0.0/0") && matches(e) {
            return e.rule_action == "allow";
        }
    }
    false
}

fn label(res: &Resource, acl: &NetworkAcl) -> String {
    res.name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| acl.network_acl_id.clone())
}

fn base(
    id: &str,
    title: &str,
    severity: Severity,
    reads: &[&str],
    requirements: &[(&str, &[&str])],
) -> CheckInfo {
    let mut info = CheckInfo::new(id, title, severity)
        .service("ec2")
        .resource_type("AwsEc2NetworkAcl")
        .description("Network ACLs are the stateless first filter of a subnet; an open one leaves security groups as the only barrier.")
        .remediation("Add deny entries (or remove allow entries) for 0.0.0.0/0 and ::/0 on the ports concerned.")
        .reads(reads);
    for (framework, ids) in requirements {
        info = info.requirement(framework, ids);
    }
    info
}

/// One of the NACL exposure checks.
pub struct NaclExposureCheck {
    /// Check id.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Protocol number, or `-1` for "any port".
    pub protocol: &'static str,
    /// Port tested.
    pub port: i64,
    /// Wording, e.g. "SSH port 22" or "every port".
    pub label: &'static str,
    /// Framework requirements.
    pub requirements: &'static [(&'static str, &'static [&'static str])],
}

impl Check for NaclExposureCheck {
    fn info(&self) -> CheckInfo {
        base(
            self.id,
            self.title,
            self.severity,
            &[NetworkAcl::KIND, SecurityGroup::KIND],
            self.requirements,
        )
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let regions_in_use: BTreeSet<String> = inventory
            .typed::<SecurityGroup>()?
            .into_iter()
            .filter(|(_, sg)| sg.group_name != "default")
            .map(|(r, _)| r.region)
            .collect();
        Ok(inventory
            .typed::<NetworkAcl>()?
            .into_iter()
            .filter(|(res, _)| regions_in_use.contains(&res.region))
            .map(|(res, acl)| {
                let name = label(&res, &acl);
                if nacl_open_to_internet(&acl.entries, self.protocol, self.port) {
                    Finding::fail(
                        &res,
                        format!(
                            "Network ACL {name} has {} open to the Internet.",
                            self.label
                        ),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!(
                            "Network ACL {name} does not have {} open to the Internet.",
                            self.label
                        ),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_networkacl_allow_ingress_any_port`.
pub const NACL_ANY_PORT: NaclExposureCheck = NaclExposureCheck {
    id: "ec2_networkacl_allow_ingress_any_port",
    title: "Network ACL does not allow ingress from 0.0.0.0/0 to any port",
    severity: Severity::High,
    protocol: "-1",
    port: 0,
    label: "every port",
    requirements: &[
        ("soc2", &["cc_6_6"]),
        ("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"]),
        ("cis_7.0", &["6.2"]),
    ],
};

/// `ec2_networkacl_allow_ingress_tcp_port_22`.
pub const NACL_PORT_22: NaclExposureCheck = NaclExposureCheck {
    id: "ec2_networkacl_allow_ingress_tcp_port_22",
    title: "Network ACL does not allow ingress from the Internet to TCP port 22 (SSH)",
    severity: Severity::Medium,
    protocol: "6",
    port: 22,
    label: "SSH port 22",
    requirements: &[
        ("soc2", &["cc_6_6"]),
        ("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"]),
        ("cis_7.0", &["6.2"]),
        ("aws_fsbp", &["EC2.21"]),
    ],
};

/// `ec2_networkacl_allow_ingress_tcp_port_3389`.
pub const NACL_PORT_3389: NaclExposureCheck = NaclExposureCheck {
    id: "ec2_networkacl_allow_ingress_tcp_port_3389",
    title: "Network ACL does not allow ingress from the Internet to TCP port 3389 (RDP)",
    severity: Severity::Medium,
    protocol: "6",
    port: 3389,
    label: "Microsoft RDP port 3389",
    requirements: &[
        ("soc2", &["cc_6_6"]),
        ("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"]),
        (
            "pci_4.0",
            &[
                "1.2.8.21",
                "1.3.1.24",
                "1.3.2.24",
                "1.4.2.22",
                "1.5.1.21",
                "A1.1.3.21",
            ],
        ),
        ("cis_7.0", &["6.2"]),
        ("aws_fsbp", &["EC2.21"]),
    ],
};

/// `ec2_networkacl_unused`.
pub struct NetworkAclUnused;

impl Check for NetworkAclUnused {
    fn info(&self) -> CheckInfo {
        base(
            "ec2_networkacl_unused",
            "Non-default network ACL is associated with a subnet",
            Severity::Low,
            &[NetworkAcl::KIND],
            &[
                ("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"]),
                ("nist_csf_2.0", &["ac_5", "ip_1"]),
                (
                    "pci_4.0",
                    &[
                        "1.2.8.39",
                        "1.3.1.43",
                        "1.3.2.43",
                        "1.4.2.41",
                        "1.5.1.39",
                        "A1.1.3.39",
                    ],
                ),
                ("aws_fsbp", &["EC2.16"]),
            ],
        )
        .description("Unattached network ACLs are clutter that hides the rules actually in force.")
        .remediation("Delete network ACLs that no subnet uses.")
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(inventory
            .typed::<NetworkAcl>()?
            .into_iter()
            .filter(|(_, acl)| !acl.is_default)
            .map(|(res, acl)| {
                let name = label(&res, &acl);
                if acl.associations.iter().any(|a| a.subnet_id.is_some()) {
                    Finding::pass(&res, format!("Network ACL {name} is associated with a subnet."))
                } else {
                    Finding::fail(
                        &res,
                        format!("Network ACL {name} is not associated with any subnet and is not the default network ACL."),
                    )
                }
            })
            .collect())
    }
}
