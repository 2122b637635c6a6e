//! Prowler's confidential-workload host checks: instances with Nitro Enclaves
//! enabled (`EnclaveOptions.Enabled`), judged on their own environment.
//!
//! Where Prowler reports `MANUAL` (a security group, network interface or
//! subnet the instance references was not in the inventory, and nothing
//! visible fails), Citadel reports [`Status::Error`] with Prowler's text: no
//! verdict could be reached, and the text says which data was missing.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{
    Instance, IpPermission, NetworkInterface, RouteTable, SecurityGroup, Subnet,
};
use citadel_plugin_sdk::aws::ip::is_global;
use citadel_plugin_sdk::aws::routes::SubnetRoutes;
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Resource, Severity, Status};

/// The sentence every confidential-workload finding ends with.
pub const HOST_NOTE: &str = "This finding concerns the workload host environment. The isolation \
     guarantees of any Nitro Enclave running on this instance are independent of this finding.";

/// Prowler's default `enclave_sg_allow_ports`.
pub const DEFAULT_ENCLAVE_SG_ALLOW_PORTS: &[i64] = &[22, 80, 443];

/// Prowler's default `enclave_vsock_ports`: 5000, 8000 to 8090, 9000.
pub fn default_enclave_vsock_ports() -> Vec<i64> {
    std::iter::once(5000)
        .chain(8000..=8090)
        .chain(std::iter::once(9000))
        .collect()
}

/// Above this many non-allow-listed ports, a range is reported as `from-to`.
const SUMMARY_THRESHOLD: usize = 10;

fn enclave_enabled(i: &Instance) -> bool {
    i.enclave_options.as_ref().is_some_and(|e| e.enabled)
}

/// Enclave-enabled instances, optionally without those in `pending`,
/// `shutting-down` or `terminated` (stopped and stopping ones stay).
fn hosts(
    inventory: &dyn Inventory,
    settled_only: bool,
) -> Result<Vec<(Resource, Instance)>, String> {
    Ok(inventory
        .typed::<Instance>()?
        .into_iter()
        .filter(|(_, i)| enclave_enabled(i))
        .filter(|(_, i)| {
            !settled_only
                || !matches!(
                    i.state.name.as_str(),
                    "pending" | "shutting-down" | "terminated"
                )
        })
        .collect())
}

fn base(id: &str, title: &str, severity: Severity, reads: &[&str]) -> CheckInfo {
    CheckInfo::new(id, title, severity)
        .service("ec2")
        .resource_type("AwsEc2Instance")
        .reads(reads)
}

/// Python's repr of a sorted list of integers: `[22, 80, 443]`.
fn py_int_list(items: impl IntoIterator<Item = i64>) -> String {
    let items: Vec<String> = items.into_iter().map(|p| p.to_string()).collect();
    format!("[{}]", items.join(", "))
}

/// A list of ports from the audit config (comma-separated, as the agent serves
/// TOML arrays), or `default` when unset.
fn config_ports(
    inventory: &dyn Inventory,
    key: &str,
    default: &[i64],
) -> Result<BTreeSet<i64>, String> {
    match inventory.config(key) {
        None => Ok(default.iter().copied().collect()),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<i64>()
                    .map_err(|_| format!("{key}: {p:?} is not a port"))
            })
            .collect(),
    }
}

/// Prowler's public-CIDR test for these checks: `0.0.0.0/0`, `::/0`, or any
/// global network (`8.8.8.8/32` counts).
fn cidr_public(cidr: &str) -> bool {
    cidr == "0.0.0.0/0" || cidr == "::/0" || is_global(cidr) == Some(true)
}

/// What an ingress rule opens to the world for the tracked `protocols`.
#[derive(Debug, PartialEq, Eq)]
enum Exposure {
    All,
    Range(i64, i64),
}

fn world_facing(rule: &IpPermission, protocols: &[&str]) -> Option<Exposure> {
    let world = rule.ip_ranges.iter().any(|r| cidr_public(&r.cidr_ip))
        || rule.ipv6_ranges.iter().any(|r| cidr_public(&r.cidr_ipv6));
    if !world {
        return None;
    }
    if rule.ip_protocol == "-1" {
        return Some(Exposure::All);
    }
    if !protocols.contains(&rule.ip_protocol.as_str()) {
        return None;
    }
    let (from, to) = (i64::from(rule.from_port?), i64::from(rule.to_port?));
    if from == 0 && to == 65_535 {
        Some(Exposure::All)
    } else {
        Some(Exposure::Range(from, to))
    }
}

/// Security groups by id (Prowler matches an instance's groups by id alone).
struct Groups(BTreeMap<String, Vec<SecurityGroup>>);

impl Groups {
    fn from_inventory(inventory: &dyn Inventory) -> Result<Self, String> {
        let mut by_id: BTreeMap<String, Vec<SecurityGroup>> = BTreeMap::new();
        for (_, g) in inventory.typed::<SecurityGroup>()? {
            by_id.entry(g.group_id.clone()).or_default().push(g);
        }
        Ok(Self(by_id))
    }

    /// Ingress rules of the instance's groups, and the group ids not in the inventory.
    fn rules<'a>(&'a self, i: &Instance) -> (Vec<&'a IpPermission>, Vec<String>) {
        let mut missing = Vec::new();
        let mut seen = BTreeSet::new();
        let mut rules = Vec::new();
        for g in &i.security_groups {
            match self.0.get(&g.group_id) {
                None => missing.push(g.group_id.clone()),
                Some(groups) => {
                    if seen.insert(g.group_id.as_str()) {
                        rules.extend(groups.iter().flat_map(|sg| sg.ip_permissions.iter()));
                    }
                }
            }
        }
        (rules, missing)
    }
}

/// `ec2_confidential_workload_host_imdsv2_not_enforced`.
pub struct EnclaveHostImdsv2NotEnforced;

impl Check for EnclaveHostImdsv2NotEnforced {
    fn info(&self) -> CheckInfo {
        base(
            "ec2_confidential_workload_host_imdsv2_not_enforced",
            "Confidential-workload host enforces IMDSv2",
            Severity::High,
            &[Instance::KIND],
        )
        .description(
            "A Nitro Enclave host that still answers IMDSv1 exposes the temporary credentials the \
             enclave workload depends on to SSRF and host compromise. Evaluates enclave-enabled \
             instances that are not pending, shutting down or terminated.",
        )
        .remediation("Set the host's metadata options to HttpTokens=required.")
        .requirement("soc2", &["cc_7_2"])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["ac_3"])
        .requirement("pci_4.0", &["2.2.5.18", "8.2.8.25"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(hosts(inventory, true)?
            .into_iter()
            .map(|(res, i)| {
                let tokens = i.metadata_options.and_then(|m| m.http_tokens);
                if tokens.as_deref() == Some("required") {
                    Finding::pass(
                        &res,
                        format!(
                            "Confidential-workload host {} enforces IMDSv2. {HOST_NOTE}",
                            i.instance_id
                        ),
                    )
                } else {
                    Finding::fail(
                        &res,
                        format!(
                            "Confidential-workload host {} does not enforce IMDSv2 (HttpTokens={}). {HOST_NOTE}",
                            i.instance_id,
                            tokens.as_deref().unwrap_or("None")
                        ),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_confidential_workload_host_not_running`.
pub struct EnclaveHostNotRunning;

impl Check for EnclaveHostNotRunning {
    fn info(&self) -> CheckInfo {
        base(
            "ec2_confidential_workload_host_not_running",
            "Nitro Enclave parent instance is in the running state",
            Severity::Medium,
            &[Instance::KIND],
        )
        .description(
            "Enclaves are destroyed when their parent instance stops or terminates; an \
             enclave-enabled instance that is stopped, shutting down or terminated breaks whatever \
             relies on the enclave. Evaluates every enclave-enabled instance, in any state.",
        )
        .remediation(
            "Start the parent instance, or retire the workloads that depend on its enclave.",
        )
        .requirement("soc2", &["cc_a_1_1"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        Ok(hosts(inventory, false)?
            .into_iter()
            .map(|(res, i)| {
                let (id, state) = (&i.instance_id, &i.state.name);
                match state.as_str() {
                    "stopped" | "shutting-down" | "terminated" => Finding::fail(
                        &res,
                        format!(
                            "Nitro Enclave parent instance {id} is in state '{state}'. Enclaves are \
                             destroyed when the parent stops; any expectation of enclave availability \
                             is violated. {HOST_NOTE}"
                        ),
                    ),
                    "pending" | "stopping" => Finding::pass(
                        &res,
                        format!(
                            "Nitro Enclave parent instance {id} is in transient state '{state}'; \
                             re-evaluate after the lifecycle transition settles. {HOST_NOTE}"
                        ),
                    ),
                    _ => Finding::pass(
                        &res,
                        format!("Nitro Enclave parent instance {id} is in state '{state}'. {HOST_NOTE}"),
                    ),
                }
            })
            .collect())
    }
}

/// `ec2_confidential_workload_host_unrestricted_ingress`.
pub struct EnclaveHostUnrestrictedIngress;

impl Check for EnclaveHostUnrestrictedIngress {
    fn info(&self) -> CheckInfo {
        base(
            "ec2_confidential_workload_host_unrestricted_ingress",
            "Confidential-workload host does not expose non-standard ports to the internet",
            Severity::High,
            &[Instance::KIND, SecurityGroup::KIND],
        )
        .description(
            "Looks for ingress rules of a Nitro Enclave host's security groups that admit any \
             public address on TCP or UDP ports outside the allow-list (audit setting \
             enclave_sg_allow_ports, default 22, 80 and 443). Evaluates enclave-enabled instances \
             that are not pending, shutting down or terminated.",
        )
        .remediation(
            "Restrict the host's internet-facing ingress to the standard ports the workload needs.",
        )
        .requirement("soc2", &["cc_6_6"])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["ac_5"])
        .requirement("pci_4.0", &["1.3.2.53"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let allow = config_ports(
            inventory,
            "enclave_sg_allow_ports",
            DEFAULT_ENCLAVE_SG_ALLOW_PORTS,
        )?;
        let groups = Groups::from_inventory(inventory)?;
        Ok(hosts(inventory, true)?
            .into_iter()
            .map(|(res, i)| {
                let (rules, missing) = groups.rules(&i);
                let mut ports = BTreeSet::new();
                let mut labels = BTreeSet::new();
                for rule in rules {
                    match world_facing(rule, &["tcp", "udp"]) {
                        None => {}
                        Some(Exposure::All) => {
                            labels.insert("all".to_string());
                        }
                        Some(Exposure::Range(from, to)) => {
                            let allowed_inside = allow.range(from..=to).count() as i64;
                            let outside = (to - from + 1 - allowed_inside).max(0) as usize;
                            if outside > SUMMARY_THRESHOLD {
                                labels.insert(format!("{from}-{to}"));
                            } else if outside > 0 {
                                ports.extend((from..=to).filter(|p| !allow.contains(p)));
                            }
                        }
                    }
                }
                let id = &i.instance_id;
                if !ports.is_empty() || !labels.is_empty() {
                    let list: Vec<String> =
                        ports.iter().map(|p| p.to_string()).chain(labels).collect();
                    Finding::fail(
                        &res,
                        format!(
                            "Confidential-workload host {id} has security groups that expose \
                             non-allow-listed ports to the internet: {}. {HOST_NOTE}",
                            list.join(", ")
                        ),
                    )
                } else if !missing.is_empty() {
                    Finding::new(
                        &res,
                        Status::Error,
                        format!(
                            "Confidential-workload host {id} ingress cannot be fully verified: \
                             security group(s) {} referenced by the instance were not observable. \
                             No non-allow-listed exposure found on the visible SGs. {HOST_NOTE}",
                            missing.join(", ")
                        ),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!(
                            "Confidential-workload host {id} exposes only allow-listed ports {} \
                             (if any) to the internet. {HOST_NOTE}",
                            py_int_list(allow.iter().copied())
                        ),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_confidential_workload_host_vsock_proxy_exposed`.
pub struct EnclaveHostVsockProxyExposed;

impl Check for EnclaveHostVsockProxyExposed {
    fn info(&self) -> CheckInfo {
        base(
            "ec2_confidential_workload_host_vsock_proxy_exposed",
            "Confidential-workload host does not expose likely vsock-proxy TCP ports to the internet",
            Severity::Medium,
            &[Instance::KIND, SecurityGroup::KIND],
        )
        .description(
            "vsock-proxy applications bridge an enclave's vsock channel to TCP ports on the host. \
             Looks for ingress rules of the host's security groups that admit any public address \
             on those TCP ports (audit setting enclave_vsock_ports, default 5000, 8000 to 8090 and \
             9000); a heuristic. Evaluates enclave-enabled instances that are not pending, shutting \
             down or terminated.",
        )
        .remediation(
            "Keep vsock-proxy ports private: remove public ingress to them from the host's security groups.",
        )
        .requirement("soc2", &["cc_6_6"])
        .requirement("iso27001_2022", &["A.8.20"])
        .requirement("pci_4.0", &["1.4.2.51"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let vsock = config_ports(
            inventory,
            "enclave_vsock_ports",
            &default_enclave_vsock_ports(),
        )?;
        let groups = Groups::from_inventory(inventory)?;
        Ok(hosts(inventory, true)?
            .into_iter()
            .map(|(res, i)| {
                let (rules, missing) = groups.rules(&i);
                let mut exposed = BTreeSet::new();
                for rule in rules {
                    match world_facing(rule, &["tcp"]) {
                        None => {}
                        Some(Exposure::All) => exposed.extend(vsock.iter().copied()),
                        Some(Exposure::Range(from, to)) => {
                            exposed.extend(vsock.range(from..=to).copied())
                        }
                    }
                }
                let id = &i.instance_id;
                if !exposed.is_empty() {
                    Finding::fail(
                        &res,
                        format!(
                            "Confidential-workload host {id} exposes likely vsock-proxy TCP ports {} \
                             to the internet. This check is heuristic and may false-positive on \
                             non-vsock services on the same ports. {HOST_NOTE}",
                            py_int_list(exposed)
                        ),
                    )
                } else if !missing.is_empty() {
                    Finding::new(
                        &res,
                        Status::Error,
                        format!(
                            "Confidential-workload host {id} vsock-proxy exposure cannot be fully \
                             verified: security group(s) {} not observable. No heuristic vsock-proxy \
                             port exposed on the visible SGs. {HOST_NOTE}",
                            missing.join(", ")
                        ),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!(
                            "Confidential-workload host {id} does not expose any heuristic \
                             vsock-proxy TCP ports to the internet. {HOST_NOTE}"
                        ),
                    )
                }
            })
            .collect())
    }
}

/// `ec2_confidential_workload_host_public_ip`.
pub struct EnclaveHostPublicIp;

impl Check for EnclaveHostPublicIp {
    fn info(&self) -> CheckInfo {
        base(
            "ec2_confidential_workload_host_public_ip",
            "Confidential-workload host is not exposed to the internet",
            Severity::Medium,
            &[
                Instance::KIND,
                NetworkInterface::KIND,
                Subnet::KIND,
                RouteTable::KIND,
            ],
        )
        .description(
            "A Nitro Enclave host should be unreachable from the Internet: no public IPv4, no \
             global IPv6 address on its interfaces, and no subnet route of 0.0.0.0/0 or ::/0 to an \
             Internet gateway (NAT routes are fine). Evaluates enclave-enabled instances that are \
             not pending, shutting down or terminated.",
        )
        .remediation(
            "Run confidential-workload hosts in private subnets without public addresses, with \
             outbound traffic through NAT.",
        )
        .requirement("soc2", &["cc_6_6"])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("pci_4.0", &["1.3.1.53"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let enis: BTreeMap<(String, String), NetworkInterface> = inventory
            .typed::<NetworkInterface>()?
            .into_iter()
            .map(|(r, n)| ((r.region, n.network_interface_id.clone()), n))
            .collect();
        let subnets = SubnetRoutes::from_inventory(inventory)?;
        Ok(hosts(inventory, true)?
            .into_iter()
            .map(|(res, i)| {
                let mut missing = Vec::new();
                let mut global_v6 = Vec::new();
                for n in &i.network_interfaces {
                    let key = (res.region.clone(), n.network_interface_id.clone());
                    let Some(eni) = enis.get(&key) else {
                        missing.push(format!("ENI {}", n.network_interface_id));
                        continue;
                    };
                    for a in &eni.ipv6_addresses {
                        if let Ok(addr) = a.ipv6_address.parse::<Ipv6Addr>()
                            && is_global(&a.ipv6_address) == Some(true)
                        {
                            global_v6.push(addr.to_string());
                        }
                    }
                }
                let subnet_id = i.subnet_id.clone().unwrap_or_default();
                let (v4_subnet, v6_subnet) = if subnet_id.is_empty() {
                    (false, false)
                } else {
                    match subnets.of(&res.region, &subnet_id) {
                        Some(p) => (p.ipv4, p.ipv6),
                        None => {
                            missing.push(format!("subnet {subnet_id}"));
                            (false, false)
                        }
                    }
                };
                let public_ip = i.public_ip_address.as_deref().filter(|ip| !ip.is_empty());
                let mut reasons = Vec::new();
                if let Some(ip) = public_ip {
                    reasons.push(format!("public IPv4 {ip}"));
                }
                if !global_v6.is_empty() {
                    reasons.push(format!(
                        "global IPv6 address on its ENI ({})",
                        global_v6.join(", ")
                    ));
                }
                if v4_subnet {
                    reasons.push("its subnet routes 0.0.0.0/0 to an internet gateway".to_string());
                }
                if v6_subnet {
                    reasons.push("its subnet routes ::/0 to an internet gateway".to_string());
                }
                let id = &i.instance_id;
                if !reasons.is_empty() {
                    Finding::fail(
                        &res,
                        format!(
                            "Confidential-workload host {id} is internet-exposed: {}. {HOST_NOTE}",
                            reasons.join(" and ")
                        ),
                    )
                } else if !missing.is_empty() {
                    Finding::new(
                        &res,
                        Status::Error,
                        format!(
                            "Confidential-workload host {id} exposure cannot be fully verified: \
                             dependency data not observable for {}. No public IP/subnet observed on \
                             the visible surface. {HOST_NOTE}",
                            missing.join(", ")
                        ),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!(
                            "Confidential-workload host {id} has no public IP and is not in a \
                             public subnet. {HOST_NOTE}"
                        ),
                    )
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use citadel_plugin_sdk::testing::Fixture;
    use serde_json::{Value, json};

    use super::*;

    fn verdicts(check: &dyn Check, fixture: &Fixture) -> Vec<(String, Status, String)> {
        let mut v: Vec<_> = check
            .evaluate(fixture)
            .unwrap()
            .into_iter()
            .map(|f| {
                let id = f.resource_uid.rsplit('/').next().unwrap().to_string();
                let text = f.status_extended;
                let text = text
                    .strip_suffix(&format!(" {HOST_NOTE}"))
                    .unwrap_or_else(|| panic!("no host note: {text}"))
                    .to_string();
                (id, f.status, text)
            })
            .collect();
        v.sort();
        v
    }

    fn v(id: &str, s: Status, t: &str) -> (String, Status, String) {
        (id.to_string(), s, t.to_string())
    }

    /// An enclave-enabled instance.
    fn host(id: &str, state: &str, extra: Value) -> Value {
        let mut doc = json!({"InstanceId": id, "State": {"Name": state}, "EnclaveOptions": {"Enabled": true}});
        for (k, val) in extra.as_object().unwrap() {
            doc[k] = val.clone();
        }
        doc
    }

    fn with_instances(f: Fixture, instances: &[Value]) -> Fixture {
        instances.iter().fold(f, |f, i| {
            f.with("ec2:instance", i["InstanceId"].as_str().unwrap(), i.clone())
        })
    }

    /// Instances that are never hosts: no enclave options, or enclaves disabled.
    fn not_hosts() -> Vec<Value> {
        vec![
            json!({"InstanceId": "i-plain", "State": {"Name": "running"}}),
            json!({"InstanceId": "i-disabled", "State": {"Name": "running"}, "EnclaveOptions": {"Enabled": false}}),
        ]
    }

    #[test]
    fn default_port_lists() {
        let vsock = default_enclave_vsock_ports();
        assert_eq!(vsock.len(), 93);
        assert_eq!(
            (vsock[0], vsock[1], vsock[91], vsock[92]),
            (5000, 8000, 8090, 9000)
        );
        assert_eq!(DEFAULT_ENCLAVE_SG_ALLOW_PORTS, &[22, 80, 443]);
    }

    #[test]
    fn imdsv2_not_enforced() {
        let mut instances = not_hosts();
        instances.extend([
            host(
                "i-required",
                "running",
                json!({"MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"}}),
            ),
            // The endpoint setting is not considered: disabled with optional tokens still fails.
            host(
                "i-optional",
                "stopped",
                json!({"MetadataOptions": {"HttpTokens": "optional", "HttpEndpoint": "disabled"}}),
            ),
            host("i-none", "stopping", json!({})),
            // Not evaluated in these states.
            host("i-pending", "pending", json!({})),
            host("i-shutting", "shutting-down", json!({})),
            host("i-terminated", "terminated", json!({})),
        ]);
        let f = with_instances(Fixture::default(), &instances);
        assert_eq!(
            verdicts(&EnclaveHostImdsv2NotEnforced, &f),
            vec![
                v(
                    "i-none",
                    Status::Fail,
                    "Confidential-workload host i-none does not enforce IMDSv2 (HttpTokens=None)."
                ),
                v(
                    "i-optional",
                    Status::Fail,
                    "Confidential-workload host i-optional does not enforce IMDSv2 (HttpTokens=optional)."
                ),
                v(
                    "i-required",
                    Status::Pass,
                    "Confidential-workload host i-required enforces IMDSv2."
                ),
            ]
        );
    }

    #[test]
    fn not_running_covers_every_state() {
        let mut instances = not_hosts();
        for (id, state) in [
            ("i-1", "running"),
            ("i-2", "pending"),
            ("i-3", "stopping"),
            ("i-4", "stopped"),
            ("i-5", "shutting-down"),
            ("i-6", "terminated"),
        ] {
            instances.push(host(id, state, json!({})));
        }
        let f = with_instances(Fixture::default(), &instances);
        let down = |id: &str, state: &str| {
            v(
                id,
                Status::Fail,
                &format!(
                    "Nitro Enclave parent instance {id} is in state '{state}'. Enclaves are destroyed when the parent stops; any expectation of enclave availability is violated."
                ),
            )
        };
        let transient = |id: &str, state: &str| {
            v(
                id,
                Status::Pass,
                &format!(
                    "Nitro Enclave parent instance {id} is in transient state '{state}'; re-evaluate after the lifecycle transition settles."
                ),
            )
        };
        assert_eq!(
            verdicts(&EnclaveHostNotRunning, &f),
            vec![
                v(
                    "i-1",
                    Status::Pass,
                    "Nitro Enclave parent instance i-1 is in state 'running'."
                ),
                transient("i-2", "pending"),
                transient("i-3", "stopping"),
                down("i-4", "stopped"),
                down("i-5", "shutting-down"),
                down("i-6", "terminated"),
            ]
        );
    }

    fn rule(proto: &str, from: Option<i32>, to: Option<i32>, v4: &[&str], v6: &[&str]) -> Value {
        let mut r = json!({
            "IpProtocol": proto,
            "IpRanges": v4.iter().map(|c| json!({"CidrIp": c})).collect::<Vec<_>>(),
            "Ipv6Ranges": v6.iter().map(|c| json!({"CidrIpv6": c})).collect::<Vec<_>>(),
        });
        if let (Some(from), Some(to)) = (from, to) {
            r["FromPort"] = json!(from);
            r["ToPort"] = json!(to);
        }
        r
    }

    fn tcp(from: i32, to: i32, cidr: &str) -> Value {
        rule("tcp", Some(from), Some(to), &[cidr], &[])
    }

    fn groups(f: Fixture, groups: &[(&str, Vec<Value>)]) -> Fixture {
        groups.iter().fold(f, |f, (id, rules)| {
            f.with(
                "ec2:security-group",
                id,
                json!({"GroupId": id, "GroupName": id, "IpPermissions": rules}),
            )
        })
    }

    fn sgs(ids: &[&str]) -> Value {
        json!({"SecurityGroups": ids.iter().map(|g| json!({"GroupId": g})).collect::<Vec<_>>()})
    }

    /// Security groups shared by the ingress and vsock tests.
    fn sg_estate() -> Fixture {
        groups(
            Fixture::default(),
            &[
                // Allow-listed ports to the world, and private or non-TCP/UDP sources.
                (
                    "sg-ok",
                    vec![
                        tcp(22, 22, "0.0.0.0/0"),
                        rule("tcp", Some(443), Some(443), &[], &["::/0"]),
                        tcp(80, 80, "8.8.8.8/32"),
                        tcp(8080, 8080, "10.0.0.0/8"),
                        rule("-1", None, None, &["192.168.0.0/16"], &["fd00::/8"]),
                        rule("icmp", Some(-1), Some(-1), &["0.0.0.0/0"], &[]),
                        // A numeric protocol is not "tcp" for these checks.
                        rule("6", Some(8080), Some(8080), &["0.0.0.0/0"], &[]),
                    ],
                ),
                // A specific public address counts as the world.
                ("sg-8080", vec![tcp(8080, 8080, "8.8.8.8/32")]),
                ("sg-all", vec![rule("-1", None, None, &["0.0.0.0/0"], &[])]),
                (
                    "sg-udp-all",
                    vec![rule("udp", Some(0), Some(65535), &[], &["::/0"])],
                ),
                ("sg-tcp-all", vec![tcp(0, 65535, "0.0.0.0/1")]),
                // 1,001 ports, 11 or more not allowed: summarised.
                ("sg-wide", vec![tcp(1000, 2000, "0.0.0.0/0")]),
                // 20..=30 without 22: exactly 10 ports, listed.
                ("sg-ten", vec![tcp(20, 30, "0.0.0.0/0")]),
                // 79..=81 without 80.
                (
                    "sg-small",
                    vec![rule("udp", Some(79), Some(81), &["0.0.0.0/0"], &[])],
                ),
                ("sg-vsock-range", vec![tcp(7990, 8002, "0.0.0.0/0")]),
                (
                    "sg-udp-5000",
                    vec![rule("udp", Some(5000), Some(5000), &["0.0.0.0/0"], &[])],
                ),
            ],
        )
    }

    fn sg_hosts() -> Vec<Value> {
        let mut v = not_hosts();
        v.extend([
            host("i-ok", "running", sgs(&["sg-ok"])),
            host("i-8080", "stopped", sgs(&["sg-ok", "sg-8080"])),
            host("i-all", "running", sgs(&["sg-all"])),
            host("i-udp-all", "running", sgs(&["sg-udp-all"])),
            host("i-tcp-all", "running", sgs(&["sg-tcp-all"])),
            host(
                "i-mixed",
                "running",
                sgs(&["sg-wide", "sg-ten", "sg-all", "sg-8080"]),
            ),
            host("i-small", "running", sgs(&["sg-small"])),
            host("i-vsock-range", "running", sgs(&["sg-vsock-range"])),
            host("i-udp-5000", "running", sgs(&["sg-udp-5000"])),
            host(
                "i-missing",
                "running",
                sgs(&["sg-ok", "sg-gone", "sg-gone2"]),
            ),
            host("i-missing-open", "running", sgs(&["sg-gone", "sg-8080"])),
            host("i-none", "running", json!({})),
            host("i-terminated", "terminated", sgs(&["sg-all"])),
            host("i-pending", "pending", sgs(&["sg-all"])),
        ]);
        v
    }

    #[test]
    fn unrestricted_ingress() {
        let f = with_instances(sg_estate(), &sg_hosts());
        let fail = |id: &str, ports: &str| {
            v(
                id,
                Status::Fail,
                &format!(
                    "Confidential-workload host {id} has security groups that expose non-allow-listed ports to the internet: {ports}."
                ),
            )
        };
        let pass = |id: &str| {
            v(
                id,
                Status::Pass,
                &format!(
                    "Confidential-workload host {id} exposes only allow-listed ports [22, 80, 443] (if any) to the internet."
                ),
            )
        };
        assert_eq!(
            verdicts(&EnclaveHostUnrestrictedIngress, &f),
            vec![
                fail("i-8080", "8080"),
                fail("i-all", "all"),
                v(
                    "i-missing",
                    Status::Error,
                    "Confidential-workload host i-missing ingress cannot be fully verified: security group(s) sg-gone, sg-gone2 referenced by the instance were not observable. No non-allow-listed exposure found on the visible SGs."
                ),
                fail("i-missing-open", "8080"),
                // Numeric ports first, then labels in string order.
                fail(
                    "i-mixed",
                    "20, 21, 23, 24, 25, 26, 27, 28, 29, 30, 8080, 1000-2000, all"
                ),
                pass("i-none"),
                pass("i-ok"),
                fail("i-small", "79, 81"),
                fail("i-tcp-all", "all"),
                fail("i-udp-5000", "5000"),
                fail("i-udp-all", "all"),
                fail("i-vsock-range", "7990-8002"),
            ]
        );
    }

    #[test]
    fn unrestricted_ingress_allow_list_from_config() {
        let f = with_instances(sg_estate(), &sg_hosts())
            .with_config("enclave_sg_allow_ports", "8080, 22");
        let found = verdicts(&EnclaveHostUnrestrictedIngress, &f);
        let get = |id: &str| found.iter().find(|x| x.0 == id).cloned().unwrap();
        assert_eq!(
            get("i-none"),
            v(
                "i-none",
                Status::Pass,
                "Confidential-workload host i-none exposes only allow-listed ports [22, 8080] (if any) to the internet."
            )
        );
        // 8080 is allowed now, 80 and 443 no longer are.
        let now = "Confidential-workload host i-8080 has security groups that expose non-allow-listed ports to the internet: 80, 443.";
        assert_eq!(get("i-8080"), v("i-8080", Status::Fail, now));
        assert_eq!(get("i-missing-open").1, Status::Error);
        let bad = with_instances(sg_estate(), &sg_hosts())
            .with_config("enclave_sg_allow_ports", "22,http");
        assert!(EnclaveHostUnrestrictedIngress.evaluate(&bad).is_err());
    }

    #[test]
    fn vsock_proxy_exposed() {
        let f = with_instances(sg_estate(), &sg_hosts());
        let every: Vec<i64> = default_enclave_vsock_ports();
        let fail = |id: &str, ports: &str| {
            v(
                id,
                Status::Fail,
                &format!(
                    "Confidential-workload host {id} exposes likely vsock-proxy TCP ports {ports} to the internet. This check is heuristic and may false-positive on non-vsock services on the same ports."
                ),
            )
        };
        let pass = |id: &str| {
            v(
                id,
                Status::Pass,
                &format!(
                    "Confidential-workload host {id} does not expose any heuristic vsock-proxy TCP ports to the internet."
                ),
            )
        };
        let all = py_int_list(every.iter().copied());
        assert_eq!(
            verdicts(&EnclaveHostVsockProxyExposed, &f),
            vec![
                fail("i-8080", "[8080]"),
                fail("i-all", &all),
                v(
                    "i-missing",
                    Status::Error,
                    "Confidential-workload host i-missing vsock-proxy exposure cannot be fully verified: security group(s) sg-gone, sg-gone2 not observable. No heuristic vsock-proxy port exposed on the visible SGs."
                ),
                fail("i-missing-open", "[8080]"),
                fail("i-mixed", &all),
                pass("i-none"),
                pass("i-ok"),
                pass("i-small"),
                fail("i-tcp-all", &all),
                // UDP is not tracked by this check, not even on all ports.
                pass("i-udp-5000"),
                pass("i-udp-all"),
                fail("i-vsock-range", "[8000, 8001, 8002]"),
            ]
        );
        let f = with_instances(sg_estate(), &sg_hosts())
            .with_config("enclave_vsock_ports", "9999,8080,1500");
        let found = verdicts(&EnclaveHostVsockProxyExposed, &f);
        let get = |id: &str| found.iter().find(|x| x.0 == id).cloned().unwrap();
        assert_eq!(get("i-all"), fail("i-all", "[1500, 8080, 9999]"));
        assert_eq!(get("i-mixed"), fail("i-mixed", "[1500, 8080, 9999]"));
        assert_eq!(get("i-vsock-range"), pass("i-vsock-range"));
    }

    fn network() -> Fixture {
        let f = Fixture::default();
        let subnets = [
            "subnet-pub",
            "subnet-priv",
            "subnet-nat",
            "subnet-v6",
            "subnet-eigw",
            "subnet-implicit",
        ];
        let f = subnets.iter().fold(f, |f, s| {
            f.with("ec2:subnet", s, json!({"SubnetId": s, "VpcId": "vpc-1"}))
        });
        let table = |id: &str, subnet: Option<&str>, main: bool, routes: Value| {
            let mut assoc = vec![];
            if let Some(s) = subnet {
                assoc.push(json!({"SubnetId": s, "Main": false}));
            }
            if main {
                assoc.push(json!({"Main": true}));
            }
            (
                id.to_string(),
                json!({"RouteTableId": id, "VpcId": "vpc-1", "Associations": assoc, "Routes": routes}),
            )
        };
        let local = json!({"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"});
        let tables = [
            table(
                "rtb-pub",
                Some("subnet-pub"),
                false,
                json!([local, {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}]),
            ),
            table("rtb-priv", Some("subnet-priv"), false, json!([local])),
            table(
                "rtb-nat",
                Some("subnet-nat"),
                false,
                json!([local, {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"}]),
            ),
            table(
                "rtb-v6",
                Some("subnet-v6"),
                false,
                json!([{"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1"}]),
            ),
            table(
                "rtb-eigw",
                Some("subnet-eigw"),
                false,
                json!([{"DestinationIpv6CidrBlock": "::/0", "GatewayId": "eigw-1"}]),
            ),
            // The main table of some VPC of the region routes to an Internet gateway.
            table(
                "rtb-main",
                None,
                true,
                json!([{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-2"}]),
            ),
        ];
        let f = tables
            .into_iter()
            .fold(f, |f, (id, doc)| f.with("ec2:route-table", &id, doc));
        f.with(
            "ec2:network-interface",
            "eni-v6",
            json!({"NetworkInterfaceId": "eni-v6", "Ipv6Addresses": [
                {"Ipv6Address": "fd00::1"}, {"Ipv6Address": "2600:1f18:0:0::5"}, {"Ipv6Address": "2600:1f18::6"}
            ]}),
        )
        .with(
            "ec2:network-interface",
            "eni-local",
            json!({"NetworkInterfaceId": "eni-local", "Ipv6Addresses": [{"Ipv6Address": "fe80::1"}]}),
        )
    }

    fn on(subnet: &str, enis: &[&str], extra: Value) -> Value {
        let mut doc = json!({
            "SubnetId": subnet,
            "NetworkInterfaces": enis.iter().map(|e| json!({"NetworkInterfaceId": e})).collect::<Vec<_>>(),
        });
        for (k, val) in extra.as_object().unwrap() {
            doc[k] = val.clone();
        }
        doc
    }

    #[test]
    fn public_ip() {
        let mut instances = not_hosts();
        instances.extend([
            host(
                "i-private",
                "running",
                on("subnet-priv", &["eni-local"], json!({})),
            ),
            // NAT routes are not exposure.
            host("i-nat", "stopped", on("subnet-nat", &[], json!({}))),
            // eigw- is not an Internet gateway.
            host("i-eigw", "running", on("subnet-eigw", &[], json!({}))),
            host(
                "i-ipv4",
                "running",
                on("subnet-priv", &[], json!({"PublicIpAddress": "54.1.2.3"})),
            ),
            host("i-pub", "running", on("subnet-pub", &[], json!({}))),
            host("i-v6", "running", on("subnet-v6", &["eni-v6"], json!({}))),
            // Every signal at once, in Prowler's order.
            host(
                "i-every",
                "running",
                on(
                    "subnet-pub",
                    &["eni-v6"],
                    json!({"PublicIpAddress": "54.1.2.4"}),
                ),
            ),
            // No explicit association: any main table of the region decides.
            host(
                "i-implicit",
                "running",
                on("subnet-implicit", &[], json!({})),
            ),
            host(
                "i-missing",
                "running",
                on("subnet-gone", &["eni-gone", "eni-local"], json!({})),
            ),
            // Missing data does not hide a visible signal.
            host(
                "i-missing-public",
                "running",
                on("subnet-gone", &[], json!({"PublicIpAddress": "54.1.2.5"})),
            ),
            host("i-nothing", "running", json!({})),
            host(
                "i-terminated",
                "terminated",
                on("subnet-pub", &[], json!({})),
            ),
        ]);
        let f = with_instances(network(), &instances);
        let exposed = |id: &str, why: &str| {
            v(
                id,
                Status::Fail,
                &format!("Confidential-workload host {id} is internet-exposed: {why}."),
            )
        };
        let pass = |id: &str| {
            v(
                id,
                Status::Pass,
                &format!(
                    "Confidential-workload host {id} has no public IP and is not in a public subnet."
                ),
            )
        };
        assert_eq!(
            verdicts(&EnclaveHostPublicIp, &f),
            vec![
                pass("i-eigw"),
                exposed(
                    "i-every",
                    "public IPv4 54.1.2.4 and global IPv6 address on its ENI (2600:1f18::5, 2600:1f18::6) and its subnet routes 0.0.0.0/0 to an internet gateway"
                ),
                exposed(
                    "i-implicit",
                    "its subnet routes 0.0.0.0/0 to an internet gateway"
                ),
                exposed("i-ipv4", "public IPv4 54.1.2.3"),
                v(
                    "i-missing",
                    Status::Error,
                    "Confidential-workload host i-missing exposure cannot be fully verified: dependency data not observable for ENI eni-gone, subnet subnet-gone. No public IP/subnet observed on the visible surface."
                ),
                exposed("i-missing-public", "public IPv4 54.1.2.5"),
                pass("i-nat"),
                pass("i-nothing"),
                pass("i-private"),
                exposed(
                    "i-pub",
                    "its subnet routes 0.0.0.0/0 to an internet gateway"
                ),
                exposed(
                    "i-v6",
                    "global IPv6 address on its ENI (2600:1f18::5, 2600:1f18::6) and its subnet routes ::/0 to an internet gateway"
                ),
            ]
        );
    }
}
