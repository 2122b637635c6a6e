//! Prowler's VPC subnet checks. Both consider only what is "in use": a subnet
//! holding at least one network interface, a VPC with at least one interface.

use std::collections::{BTreeMap, BTreeSet};

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{NetworkInterface, Subnet, Vpc};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Resource, Severity};

fn name_or_id(res: &Resource) -> String {
    res.name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| res.id.clone())
}

/// (region, id) pairs.
type Regional = BTreeSet<(String, String)>;

/// Subnets and VPCs, by region, that hold a network interface.
fn in_use(inventory: &dyn Inventory) -> Result<(Regional, Regional), String> {
    let mut subnets = BTreeSet::new();
    let mut vpcs = BTreeSet::new();
    for (r, n) in inventory.typed::<NetworkInterface>()? {
        if let Some(s) = n.subnet_id {
            subnets.insert((r.region.clone(), s));
        }
        if let Some(v) = n.vpc_id {
            vpcs.insert((r.region, v));
        }
    }
    Ok((subnets, vpcs))
}

/// `vpc_subnet_no_public_ip_by_default`.
pub struct SubnetNoPublicIpByDefault;

impl Check for SubnetNoPublicIpByDefault {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "vpc_subnet_no_public_ip_by_default",
            "VPC subnet does not assign public IP addresses by default",
            Severity::High,
        )
        .description("Subnets that hand out public IPv4 addresses make every new instance reachable unless someone opts out.")
        .service("vpc")
        .resource_type("AwsEc2Subnet")
        .remediation("Turn off auto-assign public IPv4 on the subnet; give public addresses only to what must be public.")
        .reads(&[Subnet::KIND, NetworkInterface::KIND])
        .requirement("soc2", &["cc_6_6"])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["be_5"])
        .requirement("aws_fsbp", &["EC2.15"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let (used, _) = in_use(inventory)?;
        Ok(inventory
            .typed::<Subnet>()?
            .into_iter()
            .filter(|(r, s)| used.contains(&(r.region.clone(), s.subnet_id.clone())))
            .map(|(res, s)| {
                let name = name_or_id(&res);
                if s.map_public_ip_on_launch {
                    Finding::fail(
                        &res,
                        format!("VPC subnet {name} assigns public IP by default."),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!("VPC subnet {name} does NOT assign public IP by default."),
                    )
                }
            })
            .collect())
    }
}

/// `vpc_subnet_different_az`.
pub struct VpcSubnetDifferentAz;

impl Check for VpcSubnetDifferentAz {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "vpc_subnet_different_az",
            "VPC has subnets in more than one Availability Zone",
            Severity::Medium,
        )
        .description("A VPC confined to one Availability Zone goes down with it.")
        .service("vpc")
        .resource_type("AwsEc2Subnet")
        .remediation(
            "Create subnets in at least two Availability Zones and spread workloads across them.",
        )
        .reads(&[Vpc::KIND, Subnet::KIND, NetworkInterface::KIND])
        .requirement("iso27001_2022", &["A.8.14", "A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["be_5", "ac_5"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let (_, used) = in_use(inventory)?;
        let mut zones: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for (r, s) in inventory.typed::<Subnet>()? {
            zones
                .entry((r.region, s.vpc_id))
                .or_default()
                .insert(s.availability_zone.unwrap_or_default());
        }
        Ok(inventory
            .typed::<Vpc>()?
            .into_iter()
            .filter(|(r, v)| used.contains(&(r.region.clone(), v.vpc_id.clone())))
            .map(|(res, v)| {
                let name = name_or_id(&res);
                match zones.get(&(res.region.clone(), v.vpc_id.clone())) {
                    None => Finding::fail(&res, format!("VPC {name} has no subnets.")),
                    Some(z) if z.len() >= 2 => Finding::pass(
                        &res,
                        format!("VPC {name} has subnets in more than one availability zone."),
                    ),
                    Some(z) => Finding::fail(
                        &res,
                        format!(
                            "VPC {name} has only subnets in {}.",
                            z.iter().next().cloned().unwrap_or_default()
                        ),
                    ),
                }
            })
            .collect())
    }
}
