//! Checks on VPCs themselves: flow logs, the public/private subnet split, VPCs
//! in more than one region, and the routes peering connections get.

use std::collections::{BTreeMap, BTreeSet};

use citadel_plugin_sdk::aws::Kind;
use citadel_plugin_sdk::aws::ec2::{NetworkInterface, RouteTable, Subnet, Vpc};
use citadel_plugin_sdk::aws::routes::SubnetRoutes;
use citadel_plugin_sdk::aws::vpc::{FlowLog, VpcAccount, VpcPeeringConnection};
use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity};

use crate::{name_or_id, vpcs_in_use};

/// `vpc_flow_logs_enabled`.
pub struct VpcFlowLogsEnabled;

impl Check for VpcFlowLogsEnabled {
    fn info(&self) -> CheckInfo {
        CheckInfo::new("vpc_flow_logs_enabled", "VPC flow logs are enabled", Severity::Medium)
            .description("Without flow logs there is no record of the traffic that reached or left a VPC, for detection or for an investigation afterwards.")
            .service("vpc")
            .resource_type("AwsEc2Vpc")
            .remediation("Create a flow log on the VPC itself (subnet or interface flow logs do not count), delivered to CloudWatch Logs, S3 or Firehose.")
            .reads(&[Vpc::KIND, FlowLog::KIND, NetworkInterface::KIND])
            .requirement("soc2", &["cc_7_2", "cc_7_3"])
            .requirement("iso27001_2022", &["A.8.15", "A.8.16", "A.8.20", "A.8.21", "A.8.22", "A.8.23"])
            .requirement("nist_csf_2.0", &["po_4", "pt_1", "pt_4", "ae_1", "cm_1"])
            .requirement("pci_4.0", &[
                "10.2.1.1.34", "10.2.1.2.29", "10.2.1.3.29", "10.2.1.4.29", "10.2.1.5.29",
                "10.2.1.6.29", "10.2.1.7.29", "10.2.1.29", "10.2.2.29", "10.3.1.29",
                "10.6.3.39", "5.3.4.34", "A1.2.1.34",
            ])
            .requirement("cis_7.0", &["4.7"])
            .requirement("aws_fsbp", &["EC2.6"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let used = vpcs_in_use(inventory)?;
        // Only flow logs on the VPC itself count; any status, traffic type or destination.
        let logged: BTreeSet<(String, String)> = inventory
            .typed::<FlowLog>()?
            .into_iter()
            .filter_map(|(r, f)| Some((r.region, f.resource_id?)))
            .collect();
        Ok(inventory
            .typed::<Vpc>()?
            .into_iter()
            .filter(|(r, v)| used.contains(&(r.region.clone(), v.vpc_id.clone())))
            .map(|(res, v)| {
                let name = name_or_id(&res);
                if logged.contains(&(res.region.clone(), v.vpc_id)) {
                    Finding::pass(&res, format!("VPC {name} Flow logs are enabled."))
                } else {
                    Finding::fail(&res, format!("VPC {name} Flow logs are disabled."))
                }
            })
            .collect())
    }
}

/// `vpc_subnet_separate_private_public`.
pub struct VpcSubnetSeparatePrivatePublic;

impl Check for VpcSubnetSeparatePrivatePublic {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "vpc_subnet_separate_private_public",
            "VPC has both public and private subnets",
            Severity::Medium,
        )
        .description("A VPC with only public subnets exposes every workload's network path to the Internet; one with both lets internal tiers stay private.")
        .service("vpc")
        .resource_type("AwsEc2Subnet")
        .remediation("Put workloads that need no inbound Internet access in subnets whose route table has no route to an Internet gateway.")
        .reads(&[Vpc::KIND, Subnet::KIND, RouteTable::KIND, NetworkInterface::KIND])
        .requirement("soc2", &["cc_6_6"])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["be_5", "ac_5"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let used = vpcs_in_use(inventory)?;
        let routes = SubnetRoutes::from_inventory(inventory)?;
        // (region, VPC) → (has a public subnet, has a private subnet).
        let mut kinds: BTreeMap<(String, String), (bool, bool)> = BTreeMap::new();
        for (r, s) in inventory.typed::<Subnet>()? {
            // Every subnet here was discovered, so `of` always answers.
            let public = routes.of(&r.region, &s.subnet_id).is_some_and(|p| p.ipv4);
            let entry = kinds.entry((r.region, s.vpc_id)).or_default();
            if public {
                entry.0 = true;
            } else {
                entry.1 = true;
            }
        }
        Ok(inventory
            .typed::<Vpc>()?
            .into_iter()
            .filter(|(r, v)| used.contains(&(r.region.clone(), v.vpc_id.clone())))
            .map(|(res, v)| {
                let name = name_or_id(&res);
                match kinds.get(&(res.region.clone(), v.vpc_id)) {
                    None => Finding::fail(&res, format!("VPC {name} has no subnets.")),
                    Some((true, true)) => {
                        Finding::pass(&res, format!("VPC {name} has private and public subnets."))
                    }
                    Some((true, false)) => {
                        Finding::fail(&res, format!("VPC {name} has only public subnets."))
                    }
                    Some(_) => Finding::fail(&res, format!("VPC {name} has only private subnets.")),
                }
            })
            .collect())
    }
}

/// `vpc_different_regions`.
pub struct VpcDifferentRegions;

impl Check for VpcDifferentRegions {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "vpc_different_regions",
            "VPCs are present in more than one region",
            Severity::Medium,
        )
        .description("Workloads whose networks all live in one region go down with that region.")
        .service("vpc")
        .resource_type("AwsEc2Vpc")
        .remediation("Run a VPC for the workload in a second region and fail over to it.")
        .reads(&[VpcAccount::KIND, Vpc::KIND])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let vpcs = inventory.typed::<Vpc>()?;
        // One finding per scan, and only when the scanned regions hold any VPC.
        if vpcs.is_empty() {
            return Ok(Vec::new());
        }
        // Default VPCs do not count.
        let regions: BTreeSet<&str> = vpcs
            .iter()
            .filter(|(_, v)| !v.is_default)
            .map(|(r, _)| r.region.as_str())
            .collect();
        Ok(inventory
            .typed::<VpcAccount>()?
            .into_iter()
            .map(|(res, _)| {
                if regions.len() > 1 {
                    Finding::pass(&res, "VPCs found in more than one region.")
                } else {
                    Finding::fail(&res, "VPCs found only in one region.")
                }
            })
            .collect())
    }
}

/// `vpc_peering_routing_tables_with_least_privilege`.
pub struct VpcPeeringRoutingTablesLeastPrivilege;

impl Check for VpcPeeringRoutingTablesLeastPrivilege {
    fn info(&self) -> CheckInfo {
        CheckInfo::new(
            "vpc_peering_routing_tables_with_least_privilege",
            "VPC peering connection route tables do not include 0.0.0.0/0 or entire requester/accepter VPC CIDR routes",
            Severity::Medium,
        )
        .description("Routing a whole VPC range, or everything, over a peering connection opens far more paths between the two networks than the workloads need.")
        .service("vpc")
        .resource_type("AwsEc2VpcPeeringConnection")
        .remediation("Route only the specific subnets or hosts that must talk across the peering connection.")
        .reads(&[VpcPeeringConnection::KIND, RouteTable::KIND])
        .requirement("iso27001_2022", &["A.8.20", "A.8.21", "A.8.22"])
        .requirement("nist_csf_2.0", &["ra_5", "ac_5"])
        .requirement("cis_7.0", &["6.6"])
    }

    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
        let tables = inventory.typed::<RouteTable>()?;
        Ok(inventory
            .typed::<VpcPeeringConnection>()?
            .into_iter()
            .map(|(res, p)| {
                let id = &p.vpc_peering_connection_id;
                // Prowler only knows the requester's CIDR (it drops the accepter's),
                // and collects the peering routes of every table that routes to this
                // connection, including routes to other peering connections.
                let requester = p.requester_vpc_info.and_then(|i| i.cidr_block);
                let broad = tables
                    .iter()
                    .filter(|(r, t)| {
                        r.region == res.region
                            && t.routes
                                .iter()
                                .any(|x| x.vpc_peering_connection_id.as_deref() == Some(id))
                    })
                    .flat_map(|(_, t)| &t.routes)
                    .filter(|x| {
                        x.origin.as_deref() != Some("CreateRouteTable")
                            && x.vpc_peering_connection_id.is_some()
                    })
                    .filter_map(|x| x.destination_cidr_block.as_deref())
                    .any(|cidr| cidr == "0.0.0.0/0" || Some(cidr) == requester.as_deref());
                if broad {
                    Finding::fail(
                        &res,
                        format!(
                            "VPC Peering Connection {id} does not comply with least privilege access since it accepts whole VPCs CIDR in its route tables."
                        ),
                    )
                } else {
                    Finding::pass(
                        &res,
                        format!("VPC Peering Connection {id} comply with least privilege access."),
                    )
                }
            })
            .collect())
    }
}
