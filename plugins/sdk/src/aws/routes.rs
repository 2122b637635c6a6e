//! Which subnets route to the Internet, by Prowler's rule, shared by every
//! pack that asks "is this subnet public?".
//!
//! A subnet's explicitly associated route table decides. A subnet without one
//! takes the region's main route tables — all of them, not only its VPC's main
//! table (Prowler asks for `association.main = true` without a VPC filter), and
//! any of them routing to an Internet gateway makes the subnet public.

use std::collections::{BTreeMap, BTreeSet};

use super::ec2::{RouteTable, Subnet};
use crate::Inventory;

/// Where a subnet's default routes go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InternetRoutes {
    /// `0.0.0.0/0` goes to an Internet gateway (`igw-…`).
    pub ipv4: bool,
    /// `::/0` goes to an Internet gateway (an egress-only `eigw-…` does not count).
    pub ipv6: bool,
}

impl InternetRoutes {
    /// The default routes of one route table.
    pub fn of(table: &RouteTable) -> Self {
        let igw = |g: &Option<String>| g.as_deref().is_some_and(|g| g.starts_with("igw-"));
        Self {
            ipv4: table.routes.iter().any(|r| {
                r.destination_cidr_block.as_deref() == Some("0.0.0.0/0") && igw(&r.gateway_id)
            }),
            ipv6: table.routes.iter().any(|r| {
                r.destination_ipv6_cidr_block.as_deref() == Some("::/0") && igw(&r.gateway_id)
            }),
        }
    }
}

/// Every discovered subnet's [`InternetRoutes`], keyed by (region, subnet id).
#[derive(Debug, Default)]
pub struct SubnetRoutes {
    known: BTreeSet<(String, String)>,
    explicit: BTreeMap<(String, String), InternetRoutes>,
    main: BTreeMap<String, InternetRoutes>,
}

impl SubnetRoutes {
    /// Read subnets and route tables (the check must read both kinds).
    pub fn from_inventory(inventory: &dyn Inventory) -> Result<Self, String> {
        let known = inventory
            .typed::<Subnet>()?
            .into_iter()
            .map(|(r, s)| (r.region, s.subnet_id))
            .collect();
        let mut explicit = BTreeMap::new();
        let mut main: BTreeMap<String, InternetRoutes> = BTreeMap::new();
        for (r, t) in inventory.typed::<RouteTable>()? {
            let routes = InternetRoutes::of(&t);
            for a in &t.associations {
                if let Some(subnet) = &a.subnet_id {
                    explicit.insert((r.region.clone(), subnet.clone()), routes);
                }
                if a.main {
                    let m = main.entry(r.region.clone()).or_default();
                    m.ipv4 |= routes.ipv4;
                    m.ipv6 |= routes.ipv6;
                }
            }
        }
        Ok(Self {
            known,
            explicit,
            main,
        })
    }

    /// The routes of a subnet discovery saw; `None` for one it did not see.
    pub fn of(&self, region: &str, subnet: &str) -> Option<InternetRoutes> {
        let key = (region.to_string(), subnet.to_string());
        if !self.known.contains(&key) {
            return None;
        }
        Some(match self.explicit.get(&key) {
            Some(r) => *r,
            None => self.main.get(region).copied().unwrap_or_default(),
        })
    }
}
