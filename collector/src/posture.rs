//! The framework view: for each requirement of a framework, a status derived
//! from the tenant's applied controls mapped to it, and the framework's
//! automated coverage.
//!
//! Status of a requirement, from the postures of its mapped controls that have
//! been scanned (posture other than `not_scanned`):
//! - none → `not_assessed`;
//! - all `passing` → `compliant`;
//! - all `issues` → `non_compliant`;
//! - otherwise → `partially_compliant`.
//!
//! Coverage is the share of assessable requirements with at least one scanned
//! control, i.e. with automated evidence behind them.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::Row;

use crate::store::{Store, StoreError};

/// Framework ids and the short names the CLI accepts for them.
pub const FRAMEWORK_ALIASES: &[(&str, &str)] = &[
    ("soc2", "soc2"),
    ("iso27001", "iso27001_2022"),
    ("iso27001_2022", "iso27001_2022"),
    ("csf", "nist_csf_2.0"),
    ("nist_csf_2.0", "nist_csf_2.0"),
    ("pci", "pci_dss_4.0.1"),
    ("pci_dss_4.0.1", "pci_dss_4.0.1"),
    ("800-53", "nist_800_53_r5"),
    ("nist_800_53_r5", "nist_800_53_r5"),
];

/// Resolve a framework name given on the command line.
pub fn framework_id(name: &str) -> Option<&'static str> {
    FRAMEWORK_ALIASES
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(name))
        .map(|(_, id)| *id)
}

/// One requirement's status.
#[derive(Debug, Clone, Serialize)]
pub struct RequirementStatus {
    /// Requirement id.
    pub ref_id: String,
    /// Title, where shipped.
    pub name: Option<String>,
    /// Whether it is a requirement (not a heading).
    pub assessable: bool,
    /// Depth in the tree.
    pub depth: i64,
    /// Derived status.
    pub status: &'static str,
    /// Mapped controls: (key, posture).
    pub controls: Vec<(String, String)>,
}

/// A framework's view for one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct FrameworkView {
    /// Framework id.
    pub framework: String,
    /// Tenant name.
    pub tenant: String,
    /// Requirements with at least one mapped control, in document order.
    pub requirements: Vec<RequirementStatus>,
    /// Requirement counts by status (assessable requirements only).
    pub counts: BTreeMap<&'static str, u64>,
    /// Assessable requirements.
    pub assessable: u64,
    /// Assessable requirements with automated evidence.
    pub covered: u64,
}

/// Status from mapped control postures (see the module docs).
pub fn requirement_status<'a>(postures: impl IntoIterator<Item = &'a str>) -> &'static str {
    let scanned: Vec<&str> = postures
        .into_iter()
        .filter(|p| *p != "not_scanned")
        .collect();
    if scanned.is_empty() {
        "not_assessed"
    } else if scanned.iter().all(|p| *p == "passing") {
        "compliant"
    } else if scanned.iter().all(|p| *p == "issues") {
        "non_compliant"
    } else {
        "partially_compliant"
    }
}

impl Store {
    /// The framework view of `framework_id` for tenant `tenant`.
    pub async fn framework_view(
        &self,
        tenant: &str,
        framework_id: &str,
    ) -> Result<FrameworkView, StoreError> {
        let mapped = sqlx::query(
            "SELECT DISTINCT m.ref_id, c.key, c.posture
             FROM control_requirement_mappings m
             JOIN applied_controls c ON c.id = m.applied_control_id
             JOIN tenants t ON t.id = c.tenant_id
             WHERE t.name = $1 AND m.framework_id = $2",
        )
        .bind(tenant)
        .bind(framework_id)
        .fetch_all(self.pool())
        .await?;
        let mut by_ref: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for r in mapped {
            by_ref
                .entry(r.try_get(0)?)
                .or_default()
                .push((r.try_get(1)?, r.try_get(2)?));
        }
        let nodes = sqlx::query(
            "SELECT ref_id, name, CASE WHEN assessable THEN 1 ELSE 0 END, depth
             FROM requirement_nodes WHERE framework_id = $1 ORDER BY position",
        )
        .bind(framework_id)
        .fetch_all(self.pool())
        .await?;
        let mut view = FrameworkView {
            framework: framework_id.to_string(),
            tenant: tenant.to_string(),
            requirements: Vec::new(),
            counts: BTreeMap::new(),
            assessable: 0,
            covered: 0,
        };
        for n in nodes {
            let ref_id: String = n.try_get(0)?;
            // Booleans travel as integers: the Any driver cannot read SQLite's BOOLEAN.
            let assessable = n.try_get::<i64, _>(2)? != 0;
            let mut controls = by_ref.remove(&ref_id).unwrap_or_default();
            controls.sort();
            let status = requirement_status(controls.iter().map(|(_, p)| p.as_str()));
            if assessable {
                view.assessable += 1;
                *view.counts.entry(status).or_default() += 1;
                if status != "not_assessed" {
                    view.covered += 1;
                }
            }
            if !controls.is_empty() {
                view.requirements.push(RequirementStatus {
                    ref_id,
                    name: n.try_get(1)?,
                    assessable,
                    depth: n.try_get(3)?,
                    status,
                    controls,
                });
            }
        }
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rule() {
        assert_eq!(requirement_status([]), "not_assessed");
        assert_eq!(requirement_status(["not_scanned"]), "not_assessed");
        assert_eq!(requirement_status(["passing", "not_scanned"]), "compliant");
        assert_eq!(requirement_status(["issues", "issues"]), "non_compliant");
        assert_eq!(
            requirement_status(["passing", "issues"]),
            "partially_compliant"
        );
        assert_eq!(requirement_status(["partial"]), "partially_compliant");
        assert_eq!(framework_id("SOC2"), Some("soc2"));
        assert_eq!(framework_id("pci"), Some("pci_dss_4.0.1"));
        assert_eq!(framework_id("hipaa"), None);
    }
}
