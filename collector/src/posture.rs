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
//!
//! The rules only: [`crate::store::Store::framework_view`] reads the rows.

use std::collections::BTreeMap;

use serde::Serialize;

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

impl FrameworkView {
    /// An empty view of `framework` for `tenant`: requirements are added in
    /// document order with [`FrameworkView::add`].
    pub fn new(framework: &str, tenant: &str) -> Self {
        Self {
            framework: framework.to_string(),
            tenant: tenant.to_string(),
            requirements: Vec::new(),
            counts: BTreeMap::new(),
            assessable: 0,
            covered: 0,
        }
    }

    /// Add one requirement of the framework with its mapped controls as
    /// (key, posture): counted if assessable, listed if anything maps to it.
    pub fn add(
        &mut self,
        ref_id: String,
        name: Option<String>,
        assessable: bool,
        depth: i64,
        mut controls: Vec<(String, String)>,
    ) {
        controls.sort();
        let status = requirement_status(controls.iter().map(|(_, p)| p.as_str()));
        if assessable {
            self.assessable += 1;
            *self.counts.entry(status).or_default() += 1;
            if status != "not_assessed" {
                self.covered += 1;
            }
        }
        if !controls.is_empty() {
            self.requirements.push(RequirementStatus {
                ref_id,
                name,
                assessable,
                depth,
                status,
                controls,
            });
        }
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

    #[test]
    fn view_counts_assessable_requirements_and_lists_mapped_ones() {
        let control = |key: &str, posture: &str| (key.to_string(), posture.to_string());
        let mut view = FrameworkView::new("soc2", "acme");
        view.add(
            "CC6".into(),
            None,
            false,
            0,
            vec![control("scf:A", "passing")],
        );
        view.add(
            "CC6.1".into(),
            Some("Access".into()),
            true,
            1,
            vec![control("scf:B", "issues"), control("scf:A", "passing")],
        );
        view.add("CC6.2".into(), None, true, 1, Vec::new());
        view.add(
            "CC6.3".into(),
            None,
            true,
            1,
            vec![control("scf:C", "not_scanned")],
        );
        assert_eq!((view.assessable, view.covered), (3, 1));
        assert_eq!(
            view.counts,
            BTreeMap::from([("not_assessed", 2), ("partially_compliant", 1)])
        );
        let listed: Vec<(&str, &str)> = view
            .requirements
            .iter()
            .map(|r| (r.ref_id.as_str(), r.status))
            .collect();
        assert_eq!(
            listed,
            [
                ("CC6", "compliant"),
                ("CC6.1", "partially_compliant"),
                ("CC6.3", "not_assessed")
            ]
        );
        // Controls sorted by key.
        assert_eq!(view.requirements[1].controls[0].0, "scf:A");
    }
}
