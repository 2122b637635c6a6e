//! Prowler's `ec2_instance_port_*_exposed_to_internet` checks: an instance
//! whose security groups admit 0.0.0.0/0 or ::/0 on a service's TCP ports.
//!
//! A failing finding's severity depends on how reachable the instance is
//! (Prowler overrides the check's `critical`): `medium` without a public IP,
//! `high` with one in a private or unknown subnet, `critical` with one in a
//! public subnet. A subnet is public when its route table sends 0.0.0.0/0 to an
//! Internet gateway (`igw-…`); a subnet without an explicit route table counts
//! as public when any main route table of the region does (Prowler's lookup).

use std::collections::BTreeMap;

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{Instance, RouteTable, SecurityGroup, Subnet};
use citadel_plugin_sdk::aws::routes::SubnetRoutes;
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity};

use crate::internet::rule_open_to_internet;

/// One of the instance port exposure checks.
pub struct InstancePortCheck {
    /// Check id.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// TCP ports.
    pub ports: &'static [i32],
    /// Service name in FAIL texts, e.g. "SSH".
    pub service: &'static str,
    /// Wording in PASS texts, e.g. "SSH port 22".
    pub pass_label: &'static str,
    /// Framework requirements.
    pub requirements: &'static [(&'static str, &'static [&'static str])],
}

impl Check for InstancePortCheck {
    fn info(&self) -> CheckInfo {
        let mut info = CheckInfo::new(self.id, self.title, Severity::Critical)
            .description(
                "Finds instances whose security groups admit the whole Internet on the service's TCP ports; \
                 the finding's severity reflects whether the instance has a public IP in a public subnet.",
            )
            .service("ec2")
            .resource_type("AwsEc2Instance")
            .remediation("Remove the world-open rule from the instance's security groups, or move the service behind a load balancer or VPN.")
            .reads(&[Instance::KIND, SecurityGroup::KIND, Subnet::KIND, RouteTable::KIND]);
        for (framework, ids) in self.requirements {
            info = info.requirement(framework, ids);
        }
        info
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let groups: BTreeMap<(String, String), SecurityGroup> = inventory
            .typed::<SecurityGroup>()?
            .into_iter()
            .map(|(r, g)| ((r.region, g.group_id.clone()), g))
            .collect();
        let subnets = SubnetRoutes::from_inventory(inventory)?;
        // Every instance, terminated ones included (they normally have no groups).
        Ok(inventory
            .typed::<Instance>()?
            .into_iter()
            .map(|(res, i)| {
                let exposed = i.security_groups.iter().any(|g| {
                    groups
                        .get(&(res.region.clone(), g.group_id.clone()))
                        .is_some_and(|sg| sg.ip_permissions.iter().any(|r| rule_open_to_internet(r, "tcp", self.ports)))
                });
                if !exposed {
                    return Finding::pass(
                        &res,
                        format!("Instance {} does not have {} open to the Internet.", i.instance_id, self.pass_label),
                    );
                }
                let head = format!("Instance {} has {} exposed to 0.0.0.0/0", i.instance_id, self.service);
                let subnet = i.subnet_id.clone().unwrap_or_default();
                match i.public_ip_address.as_deref().filter(|ip| !ip.is_empty()) {
                    None => Finding::fail(&res, format!("{head} but with no public IP address."))
                        .with_severity(Severity::Medium),
                    Some(ip) => match subnets.of(&res.region, &subnet).map(|p| p.ipv4) {
                        Some(true) => Finding::fail(&res, format!("{head} on public IP address {ip} in public subnet {subnet}."))
                            .with_severity(Severity::Critical),
                        Some(false) => Finding::fail(
                            &res,
                            format!("{head} on public IP address {ip} but it is placed in a private subnet {subnet}."),
                        )
                        .with_severity(Severity::High),
                        None => Finding::fail(
                            &res,
                            format!("{head} on public IP address {ip} and it is placed in an unknown subnet {subnet}."),
                        )
                        .with_severity(Severity::High),
                    },
                }
            })
            .collect())
    }
}

const ISO: (&str, &[&str]) = ("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"]);
const SOC2: (&str, &[&str]) = ("soc2", &["cc_6_6"]);
const CSF: (&str, &[&str]) = ("nist_csf_2.0", &["ac_3"]);

macro_rules! instance_port {
    ($name:ident, $id:literal, $title:literal, [$($port:literal),+], $service:literal, $pass:literal, [$($req:expr),*]) => {
        #[doc = concat!("`", $id, "`.")]
        pub const $name: InstancePortCheck = InstancePortCheck {
            id: $id,
            title: $title,
            ports: &[$($port),+],
            service: $service,
            pass_label: $pass,
            requirements: &[$($req),*],
        };
    };
}

instance_port!(
    INSTANCE_PORT_CASSANDRA,
    "ec2_instance_port_cassandra_exposed_to_internet",
    "EC2 instance does not have Cassandra ports (TCP 7000, 7001, 7199, 9042, 9160) open to the Internet",
    [7000, 7001, 7199, 9042, 9160],
    "Cassandra",
    "Cassandra ports",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_CIFS,
    "ec2_instance_port_cifs_exposed_to_internet",
    "EC2 instance does not allow Internet ingress to TCP ports 139 or 445 (CIFS)",
    [139, 445],
    "CIFS",
    "CIFS ports",
    [SOC2, ISO, ("cis_7.0", &["6.1.2"])]
);
instance_port!(
    INSTANCE_PORT_ELASTICSEARCH,
    "ec2_instance_port_elasticsearch_kibana_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to Elasticsearch and Kibana ports (TCP 9200, 9300, 5601)",
    [9200, 9300, 5601],
    "Elasticsearch/Kibana",
    "Elasticsearch/Kibana ports",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_FTP,
    "ec2_instance_port_ftp_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP ports 20 or 21 (FTP)",
    [20, 21],
    "FTP",
    "FTP ports",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_KAFKA,
    "ec2_instance_port_kafka_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP port 9092 (Kafka)",
    [9092],
    "Kafka",
    "Kafka port 9092",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_KERBEROS,
    "ec2_instance_port_kerberos_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP ports 88, 464, 749, or 750 (Kerberos)",
    [88, 464, 749, 750],
    "Kerberos",
    "Kerberos ports",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_LDAP,
    "ec2_instance_port_ldap_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP ports 389 or 636 (LDAP/LDAPS)",
    [389, 636],
    "LDAP",
    "LDAP ports",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_MEMCACHED,
    "ec2_instance_port_memcached_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP port 11211 (Memcached)",
    [11211],
    "Memcached",
    "Memcached port 11211",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_MONGODB,
    "ec2_instance_port_mongodb_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP ports 27017 or 27018 (MongoDB)",
    [27017, 27018],
    "MongoDB",
    "MongoDB ports",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_MYSQL,
    "ec2_instance_port_mysql_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP port 3306 (MySQL)",
    [3306],
    "MySQL",
    "MySQL port 3306",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_ORACLE,
    "ec2_instance_port_oracle_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP ports 1521, 2483, or 2484 (Oracle)",
    [1521, 2483, 2484],
    "Oracle",
    "Oracle ports",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_POSTGRESQL,
    "ec2_instance_port_postgresql_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP port 5432 (PostgreSQL)",
    [5432],
    "PostgreSQL",
    "PostgreSQL port 5432",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_RDP,
    "ec2_instance_port_rdp_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP port 3389 (RDP)",
    [3389],
    "RDP",
    "RDP port 3389",
    [SOC2, ISO, CSF]
);
instance_port!(
    INSTANCE_PORT_REDIS,
    "ec2_instance_port_redis_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP port 6379 (Redis)",
    [6379],
    "Redis",
    "Redis port 6379",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_SQLSERVER,
    "ec2_instance_port_sqlserver_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP ports 1433 or 1434 (SQL Server)",
    [1433, 1434],
    "SQL Server",
    "SQL Server ports",
    [SOC2, ISO]
);
instance_port!(
    INSTANCE_PORT_SSH,
    "ec2_instance_port_ssh_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP port 22 (SSH)",
    [22],
    "SSH",
    "SSH port 22",
    [SOC2, ISO, CSF]
);
instance_port!(
    INSTANCE_PORT_TELNET,
    "ec2_instance_port_telnet_exposed_to_internet",
    "EC2 instance does not allow ingress from the Internet to TCP port 23 (Telnet)",
    [23],
    "Telnet",
    "Telnet port 23",
    [SOC2, ISO, CSF]
);
