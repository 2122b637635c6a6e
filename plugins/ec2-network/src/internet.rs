//! Prowler's notion of "open to the Internet" for security groups, and its
//! "in use" gate. Shared by every security-group exposure check.

use std::collections::{BTreeMap, BTreeSet};

use citadel_plugin_sdk::Inventory;
use citadel_plugin_sdk::aws::ec2::{IpPermission, NetworkInterface, SecurityGroup, Vpc};

/// Does ingress `rule` admit the whole Internet for `protocol` (`tcp`, `udp` or `-1`)
/// on any of `ports`?
///
/// "The whole Internet" means exactly `0.0.0.0/0` or `::/0`; narrower public
/// ranges do not count, and prefix lists or group references are never
/// considered. An all-traffic rule (`-1`) matches every request. A rule of
/// another protocol than the one requested never matches. Otherwise the rule
/// matches when it covers one of `ports`, or spans all 65,536 ports.
pub fn rule_open_to_internet(rule: &IpPermission, protocol: &str, ports: &[i32]) -> bool {
    let world = rule.ip_ranges.iter().any(|r| r.cidr_ip == "0.0.0.0/0")
        || rule.ipv6_ranges.iter().any(|r| r.cidr_ipv6 == "::/0");
    if !world {
        return false;
    }
    if rule.ip_protocol == "-1" {
        return true;
    }
    if protocol != "-1" && rule.ip_protocol != protocol {
        return false;
    }
    let Some(from) = rule.from_port else {
        return false;
    };
    let to = rule.to_port.unwrap_or(from);
    let covers_port = ports.iter().any(|p| (from..=to).contains(p))
        && (rule.ip_protocol == protocol || protocol == "-1");
    covers_port || i64::from(to) - i64::from(from) + 1 == 65_536
}

/// Which security groups are "in use", per Prowler: the group's VPC exists and
/// has at least one network interface, and some interface in the region uses the group.
pub struct SecurityGroupUsage {
    vpcs: BTreeSet<(String, String)>,
    vpcs_with_enis: BTreeSet<(String, String)>,
    groups_on_enis: BTreeMap<String, BTreeSet<String>>,
}

impl SecurityGroupUsage {
    /// Index VPCs and network interfaces.
    pub fn from_inventory(inventory: &dyn Inventory) -> Result<Self, String> {
        let vpcs = inventory
            .typed::<Vpc>()?
            .into_iter()
            .map(|(r, v)| (r.region, v.vpc_id))
            .collect();
        let mut vpcs_with_enis = BTreeSet::new();
        let mut groups_on_enis: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (r, eni) in inventory.typed::<NetworkInterface>()? {
            if let Some(vpc) = eni.vpc_id {
                vpcs_with_enis.insert((r.region.clone(), vpc));
            }
            let groups = groups_on_enis.entry(r.region).or_default();
            groups.extend(eni.groups.into_iter().map(|g| g.group_id));
        }
        Ok(Self {
            vpcs,
            vpcs_with_enis,
            groups_on_enis,
        })
    }

    /// Whether `sg` in `region` passes the gate.
    pub fn in_use(&self, region: &str, sg: &SecurityGroup) -> bool {
        let Some(vpc) = &sg.vpc_id else { return false };
        let key = (region.to_string(), vpc.clone());
        self.vpcs.contains(&key)
            && self.vpcs_with_enis.contains(&key)
            && self
                .groups_on_enis
                .get(region)
                .is_some_and(|g| g.contains(&sg.group_id))
    }
}
