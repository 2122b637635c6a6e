//! Prowler's security-group exposure checks: all ports, the per-service TCP
//! port checks, and the configurable high-risk port list.
//!
//! Prowler runs its checks in alphabetical order, so `…_to_all_ports` runs
//! before the port checks and they skip a group it failed, passing it with a
//! "not checked" text. Citadel evaluates each check on its own; every port
//! check therefore runs the all-ports test itself to give the same verdicts.

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{NetworkInterface, SecurityGroup, Vpc};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Resource, Severity};

use crate::internet::{SecurityGroupUsage, rule_open_to_internet};

const READS: &[&str] = &[SecurityGroup::KIND, NetworkInterface::KIND, Vpc::KIND];

/// Prowler's default `ec2_high_risk_ports`.
pub const DEFAULT_HIGH_RISK_PORTS: &[i32] =
    &[25, 110, 135, 143, 445, 3000, 4333, 5000, 5500, 8080, 8088];

/// Does the group have all ports open to the Internet (Prowler's all-ports test)?
pub fn all_ports_open(sg: &SecurityGroup) -> bool {
    sg.ip_permissions
        .iter()
        .any(|r| rule_open_to_internet(r, "-1", &[]))
}

fn who(sg: &SecurityGroup) -> String {
    format!("Security group {} ({})", sg.group_name, sg.group_id)
}

/// In-use security groups with their resource, in inventory order.
fn groups_in_use(inventory: &dyn Inventory) -> Result<Vec<(Resource, SecurityGroup)>, String> {
    let usage = SecurityGroupUsage::from_inventory(inventory)?;
    Ok(inventory
        .typed::<SecurityGroup>()?
        .into_iter()
        .filter(|(res, sg)| usage.in_use(&res.region, sg))
        .collect())
}

fn info(id: &str, title: &str, severity: Severity, requirements: &[(&str, &[&str])]) -> CheckInfo {
    let mut info = CheckInfo::new(id, title, severity)
        .description(
            "Looks for ingress rules of in-use security groups that admit 0.0.0.0/0 or ::/0; \
             groups no network interface uses are not evaluated.",
        )
        .service("ec2")
        .resource_type("AwsEc2SecurityGroup")
        .remediation(
            "Remove the world-open rule; allow only the address ranges that need the service, \
             or reach it through a load balancer, VPN or private connectivity.",
        )
        .reads(READS);
    for (framework, ids) in requirements {
        info = info.requirement(framework, ids);
    }
    info
}

/// `ec2_securitygroup_allow_ingress_from_internet_to_all_ports`.
pub struct SecurityGroupAllPorts;

impl Check for SecurityGroupAllPorts {
    fn info(&self) -> CheckInfo {
        info(
            "ec2_securitygroup_allow_ingress_from_internet_to_all_ports",
            "Security group does not have all ports open to the Internet",
            Severity::Critical,
            &[
                ("soc2", &["cc_6_6"]),
                ("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"]),
                ("nist_csf_2.0", &["ac_3", "ac_5", "ds_5", "ip_1", "pt_4"]),
                ("cis_7.0", &["6.3", "6.4"]),
            ],
        )
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(groups_in_use(inventory)?
            .into_iter()
            .map(|(res, sg)| {
                if all_ports_open(&sg) {
                    Finding::fail(
                        &res,
                        format!("{} has all ports open to the Internet.", who(&sg)),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!("{} does not have all ports open to the Internet.", who(&sg)),
                    )
                }
            })
            .collect())
    }
}

/// One of Prowler's `…_to_tcp_port_*` checks.
pub struct SgPortCheck {
    /// Check id.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// TCP ports tested.
    pub ports: &'static [i32],
    /// Wording in the PASS/FAIL texts, e.g. "SSH port 22".
    pub label: &'static str,
    /// Wording in the "not checked" text (Prowler spells Cassandra right only there).
    pub skipped_label: &'static str,
    /// Framework requirements.
    pub requirements: &'static [(&'static str, &'static [&'static str])],
}

impl Check for SgPortCheck {
    fn info(&self) -> CheckInfo {
        info(self.id, self.title, Severity::High, self.requirements)
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(groups_in_use(inventory)?
            .into_iter()
            .map(|(res, sg)| {
                let who = who(&sg);
                if all_ports_open(&sg) {
                    Finding::pass(
                        &res,
                        format!(
                            "{who} has all ports open to the Internet and therefore was not checked \
                             against the specific {}.",
                            self.skipped_label
                        ),
                    )
                } else if sg.ip_permissions.iter().any(|r| rule_open_to_internet(r, "tcp", self.ports)) {
                    Finding::fail(&res, format!("{who} has {} open to the Internet.", self.label))
                } else {
                    Finding::pass(&res, format!("{who} does not have {} open to the Internet.", self.label))
                }
            })
            .collect())
    }
}

const ISO: (&str, &[&str]) = ("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"]);
const SOC2: (&str, &[&str]) = ("soc2", &["cc_6_6"]);

macro_rules! port_check {
    ($name:ident, $id:literal, $title:literal, [$($port:literal),+], $label:literal, $skipped:literal, [$($req:expr),*]) => {
        #[doc = concat!("`", $id, "`.")]
        pub const $name: SgPortCheck = SgPortCheck {
            id: $id,
            title: $title,
            ports: &[$($port),+],
            label: $label,
            skipped_label: $skipped,
            requirements: &[$($req),*],
        };
    };
}

port_check!(
    SG_PORT_22,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to TCP port 22 (SSH)",
    [22],
    "SSH port 22",
    "SSH port 22",
    [
        ("soc2", &["cc_6_6", "cc_7_2"]),
        ISO,
        ("nist_csf_2.0", &["ac_3"]),
        (
            "pci_4.0",
            &[
                "1.2.8.17",
                "1.3.1.19",
                "1.3.2.19",
                "1.4.2.18",
                "1.5.1.17",
                "A1.1.3.17"
            ]
        ),
        ("cis_7.0", &["6.3", "6.4"]),
        ("aws_fsbp", &["EC2.13"])
    ]
);
port_check!(
    SG_PORT_3389,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_3389",
    "Security group does not allow ingress from the Internet to TCP port 3389 (RDP)",
    [3389],
    "Microsoft RDP port 3389",
    "Microsoft RDP port 3389",
    [
        SOC2,
        ISO,
        ("nist_csf_2.0", &["ac_3", "ac_5"]),
        ("cis_7.0", &["6.3", "6.4"]),
        ("aws_fsbp", &["EC2.14"])
    ]
);
port_check!(
    SG_PORT_CASSANDRA,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_cassandra_7199_9160_8888",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to Cassandra TCP ports 7199, 9160, or 8888",
    [7199, 9160, 8888],
    "Casandra ports 7199, 8888 and 9160",
    "Cassandra ports 7199, 8888 and 9160",
    [SOC2, ISO]
);
port_check!(
    SG_PORT_ELASTICSEARCH,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_elasticsearch_kibana_9200_9300_5601",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to Elasticsearch/Kibana TCP ports 9200, 9300, and 5601",
    [9200, 9300, 5601],
    "Elasticsearch/Kibana ports 9200, 9300 and 5601",
    "Elasticsearch/Kibana ports 9200, 9300 and 5601",
    [SOC2, ISO, ("nist_csf_2.0", &["ac_5"])]
);
port_check!(
    SG_PORT_FTP,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_ftp_20_21",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to FTP ports 20 or 21",
    [20, 21],
    "FTP ports 20 and 21",
    "FTP ports 20 and 21",
    [SOC2, ISO]
);
port_check!(
    SG_PORT_KAFKA,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_kafka_9092",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to TCP port 9092 (Kafka)",
    [9092],
    "Kafka port 9092",
    "Kafka port 9092",
    [SOC2, ISO]
);
port_check!(
    SG_PORT_MEMCACHED,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_memcached_11211",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to Memcached TCP port 11211",
    [11211],
    "Memcached port 11211",
    "Memcached port 11211",
    [SOC2, ISO]
);
port_check!(
    SG_PORT_MONGODB,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_mongodb_27017_27018",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to MongoDB TCP ports 27017 and 27018",
    [27017, 27018],
    "MongoDB ports 27017 and 27018",
    "MongoDB ports 27017 and 27018",
    [SOC2, ISO, ("nist_csf_2.0", &["ac_5"])]
);
port_check!(
    SG_PORT_MYSQL,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_mysql_3306",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to MySQL port 3306",
    [3306],
    "MySQL port 3306",
    "MySQL port 3306",
    [SOC2, ISO]
);
port_check!(
    SG_PORT_ORACLE,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_oracle_1521_2483",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to Oracle TCP ports 1521 or 2483",
    [1521, 2483],
    "Oracle ports 1521 and 2483",
    "Oracle ports 1521 and 2483",
    [SOC2, ISO, ("nist_csf_2.0", &["ac_5"])]
);
port_check!(
    SG_PORT_POSTGRES,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_postgres_5432",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to Postgres TCP port 5432",
    [5432],
    "Postgres port 5432",
    "Postgres port 5432",
    [SOC2, ISO, ("nist_csf_2.0", &["ac_5"])]
);
port_check!(
    SG_PORT_REDIS,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_redis_6379",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to Redis TCP port 6379",
    [6379],
    "Redis port 6379",
    "Redis port 6379",
    [SOC2, ISO]
);
port_check!(
    SG_PORT_SQL_SERVER,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_sql_server_1433_1434",
    "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to Microsoft SQL Server ports 1433 and 1434",
    [1433, 1434],
    "Microsoft SQL Server ports 1433 and 1434",
    "Microsoft SQL Server ports 1433 and 1434",
    [SOC2, ISO]
);
port_check!(
    SG_PORT_TELNET,
    "ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_telnet_23",
    "Security group does not allow ingress from the Internet to TCP port 23 (Telnet)",
    [23],
    "Telnet port 23",
    "Telnet port 23",
    [SOC2, ISO]
);

/// `ec2_securitygroup_allow_ingress_from_internet_to_high_risk_tcp_ports`.
pub struct SecurityGroupHighRiskPorts;

impl Check for SecurityGroupHighRiskPorts {
    fn info(&self) -> CheckInfo {
        info(
            "ec2_securitygroup_allow_ingress_from_internet_to_high_risk_tcp_ports",
            "Security group does not allow ingress from 0.0.0.0/0 or ::/0 to high-risk TCP ports",
            Severity::High,
            &[
                SOC2,
                ISO,
                ("nist_csf_2.0", &["ac_5"]),
                ("aws_fsbp", &["EC2.19"]),
            ],
        )
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let ports: Vec<i32> = match inventory.config("ec2_high_risk_ports") {
            Some(list) => list
                .split(',')
                .map(|p| {
                    p.trim()
                        .parse::<i32>()
                        .map_err(|_| format!("ec2_high_risk_ports: {p:?} is not a port"))
                })
                .collect::<Result<_, _>>()?,
            None => DEFAULT_HIGH_RISK_PORTS.to_vec(),
        };
        Ok(groups_in_use(inventory)?
            .into_iter()
            .map(|(res, sg)| {
                let who = who(&sg);
                if all_ports_open(&sg) {
                    return Finding::pass(
                        &res,
                        format!(
                            "{who} has all ports open to the Internet and therefore was not checked \
                             against high-risk ports."
                        ),
                    );
                }
                // Rule order, then port order; a port opened by two rules is listed twice.
                let open: Vec<String> = sg
                    .ip_permissions
                    .iter()
                    .flat_map(|r| ports.iter().filter(move |p| rule_open_to_internet(r, "tcp", &[**p])))
                    .map(|p| p.to_string())
                    .collect();
                if open.is_empty() {
                    Finding::pass(&res, format!("{who} does not have any high-risk port open to the Internet."))
                } else {
                    Finding::fail(
                        &res,
                        format!("{who} has the following high-risk ports open to the Internet: {}.", open.join(", ")),
                    )
                }
            })
            .collect())
    }
}

/// Prowler's defaults for the any-port check's allow lists.
pub const DEFAULT_ALLOWED_INTERFACE_TYPES: &[&str] = &["api_gateway_managed", "vpc_endpoint"];
/// See [`DEFAULT_ALLOWED_INTERFACE_TYPES`].
pub const DEFAULT_ALLOWED_INSTANCE_OWNERS: &[&str] = &["amazon-elb"];

fn config_list(inventory: &dyn Inventory, key: &str, default: &[&str]) -> Vec<String> {
    match inventory.config(key) {
        Some(v) => v
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => default.iter().map(|s| s.to_string()).collect(),
    }
}

/// `ec2_securitygroup_allow_ingress_from_internet_to_any_port`.
pub struct SecurityGroupAnyPort;

impl Check for SecurityGroupAnyPort {
    fn info(&self) -> CheckInfo {
        info(
            "ec2_securitygroup_allow_ingress_from_internet_to_any_port",
            "Security group has no 0.0.0.0/0 or ::/0 ingress to any port, or is attached only to allowed interface types or instance owners",
            Severity::High,
            &[
                SOC2,
                ISO,
                (
                    "pci_4.0",
                    &[
                        "1.2.5.17",
                        "1.2.8.41",
                        "1.3.1.45",
                        "1.3.2.45",
                        "1.4.2.43",
                        "1.5.1.40",
                        "2.2.5.17",
                        "A1.1.3.40",
                    ],
                ),
            ],
        )
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let types = config_list(
            inventory,
            "ec2_allowed_interface_types",
            DEFAULT_ALLOWED_INTERFACE_TYPES,
        );
        let owners = config_list(
            inventory,
            "ec2_allowed_instance_owners",
            DEFAULT_ALLOWED_INSTANCE_OWNERS,
        );
        let enis = inventory.typed::<NetworkInterface>()?;
        let mut findings = Vec::new();
        for (res, sg) in groups_in_use(inventory)? {
            // Prowler's all-ports check ran first and failed this group: no finding here.
            if all_ports_open(&sg) {
                continue;
            }
            let who = who(&sg);
            let open = sg.ip_permissions.iter().any(|r| {
                let world = r.ip_ranges.iter().any(|x| x.cidr_ip == "0.0.0.0/0")
                    || r.ipv6_ranges.iter().any(|x| x.cidr_ipv6 == "::/0");
                world && (r.ip_protocol == "-1" || r.from_port.is_some())
            });
            if !open {
                findings.push(Finding::pass(
                    &res,
                    format!("{who} does not have any port open to the Internet."),
                ));
                continue;
            }
            let attached = enis.iter().filter(|(r, n)| {
                r.region == res.region && n.groups.iter().any(|g| g.group_id == sg.group_id)
            });
            // The last interface inspected decides the text; one not allowed decides the verdict.
            let mut finding = Finding::pass(
                &res,
                format!(
                    "{who} has at least one port open to the Internet but it is not attached to any network interface."
                ),
            );
            for (_, eni) in attached {
                let eni_type = eni.interface_type.clone().unwrap_or_default();
                let owner = eni
                    .attachment
                    .as_ref()
                    .and_then(|a| a.instance_owner_id.clone())
                    .unwrap_or_default();
                if types.contains(&eni_type) {
                    finding = Finding::pass(
                        &res,
                        format!(
                            "{who} has at least one port open to the Internet and it is attached to an allowed network interface type ({eni_type})."
                        ),
                    );
                } else if owners.contains(&owner) {
                    finding = Finding::pass(
                        &res,
                        format!(
                            "{who} has at least one port open to the Internet and it is attached to an allowed network interface instance owner ({owner})."
                        ),
                    );
                } else {
                    finding = Finding::fail(
                        &res,
                        format!(
                            "{who} has at least one port open to the Internet but its network interface type ({eni_type}) is not allowed."
                        ),
                    );
                    break;
                }
            }
            findings.push(finding);
        }
        Ok(findings)
    }
}

/// `ec2_securitygroup_allow_ingress_from_internet_to_any_port_from_ip`.
pub struct SecurityGroupAnyPortFromIp;

impl Check for SecurityGroupAnyPortFromIp {
    fn info(&self) -> CheckInfo {
        info(
            "ec2_securitygroup_allow_ingress_from_internet_to_any_port_from_ip",
            "Security group does not have any port open to a specific public IP address",
            Severity::Medium,
            &[],
        )
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(groups_in_use(inventory)?
            .into_iter()
            .map(|(res, sg)| {
                let who = who(&sg);
                if all_ports_open(&sg) {
                    return Finding::pass(
                        &res,
                        format!(
                            "{who} has all ports open to the Internet and therefore was not checked against \
                             specific public IP ingress rules."
                        ),
                    );
                }
                let fails = sg.ip_permissions.iter().any(|r| {
                    let cidrs: Vec<&str> = r
                        .ip_ranges
                        .iter()
                        .map(|x| x.cidr_ip.as_str())
                        .chain(r.ipv6_ranges.iter().map(|x| x.cidr_ipv6.as_str()))
                        .collect();
                    let specific = cidrs.iter().any(|c| *c != "0.0.0.0/0" && *c != "::/0");
                    let public = cidrs.iter().any(|c| *c == "0.0.0.0/0" || *c == "::/0" || crate::ip::is_global(c) == Some(true));
                    specific && public && (r.ip_protocol == "-1" || r.from_port.is_some())
                });
                if fails {
                    Finding::fail(&res, format!("{who} has a port open to a specific public IP address in ingress rule."))
                } else {
                    Finding::pass(&res, format!("{who} does not have any port open to a specific public IP address."))
                }
            })
            .collect())
    }
}

/// `ec2_securitygroup_from_launch_wizard`.
pub struct SecurityGroupFromLaunchWizard;

impl Check for SecurityGroupFromLaunchWizard {
    fn info(&self) -> CheckInfo {
        info(
            "ec2_securitygroup_from_launch_wizard",
            "Security group not created using the EC2 Launch Wizard",
            Severity::Medium,
            &[ISO],
        )
        .reads(&[SecurityGroup::KIND])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        // Every group: no in-use gate for this one.
        Ok(inventory
            .typed::<SecurityGroup>()?
            .into_iter()
            .map(|(res, sg)| {
                if sg.group_name.contains("launch-wizard") {
                    Finding::fail(
                        &res,
                        format!("{} was created using the EC2 Launch Wizard.", who(&sg)),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!("{} was not created using the EC2 Launch Wizard.", who(&sg)),
                    )
                }
            })
            .collect())
    }
}

/// Prowler's default `max_security_group_rules`.
pub const DEFAULT_MAX_SECURITY_GROUP_RULES: u64 = 50;

/// `ec2_securitygroup_with_many_ingress_egress_rules`.
pub struct SecurityGroupManyRules;

impl Check for SecurityGroupManyRules {
    fn info(&self) -> CheckInfo {
        info(
            "ec2_securitygroup_with_many_ingress_egress_rules",
            "Security group has 50 or fewer inbound rules and 50 or fewer outbound rules",
            Severity::Medium,
            &[ISO],
        )
        .reads(&[SecurityGroup::KIND])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let max = inventory.config_u64("max_security_group_rules", DEFAULT_MAX_SECURITY_GROUP_RULES)
            as usize;
        Ok(inventory
            .typed::<SecurityGroup>()?
            .into_iter()
            .map(|(res, sg)| {
                let (n_in, n_out) = (sg.ip_permissions.len(), sg.ip_permissions_egress.len());
                // Prowler uses the same text for both verdicts.
                let text = format!(
                    "{} has {n_in} inbound rules and {n_out} outbound rules.",
                    who(&sg)
                );
                if n_in > max || n_out > max {
                    Finding::fail(&res, text)
                } else {
                    Finding::pass(&res, text)
                }
            })
            .collect())
    }
}

/// `ec2_securitygroup_default_restrict_traffic`.
pub struct SecurityGroupDefaultRestrictTraffic;

impl Check for SecurityGroupDefaultRestrictTraffic {
    fn info(&self) -> CheckInfo {
        info(
            "ec2_securitygroup_default_restrict_traffic",
            "VPC default security group has no inbound or outbound rules",
            Severity::High,
            &[
                ISO,
                ("nist_csf_2.0", &["ac_5", "ip_1"]),
                ("cis_7.0", &["6.5"]),
                ("aws_fsbp", &["EC2.2"]),
            ],
        )
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(groups_in_use(inventory)?
            .into_iter()
            .filter(|(_, sg)| sg.group_name == "default")
            .map(|(res, sg)| {
                if sg.ip_permissions.is_empty() && sg.ip_permissions_egress.is_empty() {
                    Finding::pass(
                        &res,
                        format!(
                            "Default Security Group ({}) rules do not allow traffic.",
                            sg.group_id
                        ),
                    )
                } else {
                    Finding::fail(
                        &res,
                        format!(
                            "Default Security Group ({}) rules allow traffic.",
                            sg.group_id
                        ),
                    )
                }
            })
            .collect())
    }
}
