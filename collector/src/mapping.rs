//! Mapping: from a batch's check results to applied controls, requirement
//! mappings, policies and evidence. Runs inside the ingest transaction, after
//! results are stored, and only for what the batch touched.
//!
//! This module is the pure half: from the catalog and the batch's checks it
//! [`plan`]s the rows to write, and holds the [`posture`] rule. No database
//! here: the store's mapping stage (`store/mapping.rs`) executes the plan
//! (bulk inserts, control upserts, recount, evidence and revisions) inside
//! the ingest transaction.
//!
//! - Each check's Prowler-native requirements are resolved to framework
//!   requirements, and its SCF controls derived (see [`Catalog::derive_scf`]).
//! - **Stage A:** one applied control per SCF control of the batch's checks.
//!   **Stage B:** checks without an SCF control get one applied control per
//!   requirement they carry.
//! - Counts cover the current results, on active assets, of every check linked
//!   to the control; posture follows from them (see [`posture`]).
//! - Control → requirement mappings (origin `auto`) come from the STRM (source
//!   `scf`) and from the checks' own requirements (source `check`).
//! - SCF controls touched get policies from the templates that name them
//!   (status `to_do`, origin `scan`, one per tenant and template).
//! - Every result has one evidence record; each batch adds a revision holding
//!   the result as signed and the stored batch that proves it.
//! - Evidence ↔ control and control ↔ asset links are views over the check
//!   links (`evidence_controls`, `applied_control_assets`): consistent by
//!   construction and free at ingest.

use std::collections::{BTreeMap, BTreeSet};

use citadel_wire::CheckInfo;

use crate::catalog::{Catalog, PolicyTemplate};

/// Posture of an applied control from its counts:
/// no results → `not_scanned`; nothing failing or erroring → `passing`;
/// nothing passing → `issues`; both → `partial`.
pub fn posture(passed: i64, failed: i64, errors: i64) -> &'static str {
    match (passed, failed + errors) {
        (0, 0) => "not_scanned",
        (_, 0) => "passing",
        (0, _) => "issues",
        _ => "partial",
    }
}

/// What the mapping stage writes for one batch, borrowed from the catalog
/// and the batch.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    /// The batch's checks: their requirement and SCF rows are replaced by
    /// [`Plan::requirements`] and [`Plan::scf`].
    pub checks: Vec<&'a str>,
    /// Every check's Prowler-native requirements, in batch order.
    pub requirements: Vec<CheckRequirement<'a>>,
    /// Every check's SCF controls, in batch order.
    pub scf: Vec<CheckScf<'a>>,
    /// The applied controls the batch touches, by key.
    pub controls: Vec<Control<'a>>,
}

/// One requirement a check carries (a `check_requirements` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRequirement<'a> {
    /// Check id.
    pub check_id: &'a str,
    /// Prowler's framework key, e.g. `pci_4.0`.
    pub framework_key: &'a str,
    /// Prowler's requirement id, e.g. `1.2.8.17`.
    pub native_id: &'a str,
    /// The catalog's (framework id, requirement) for it, where it resolves.
    pub resolved: Option<(&'static str, String)>,
}

/// One SCF control of a check (a `check_scf` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckScf<'a> {
    /// Check id.
    pub check_id: &'a str,
    /// SCF control id.
    pub scf_id: String,
    /// `derived` from the STRM, or `curated` by an override.
    pub origin: &'static str,
}

/// An applied control to upsert, with its links.
#[derive(Debug, Clone)]
pub struct Control<'a> {
    /// Stable key per tenant: `scf:{scf id}` (stage A) or
    /// `req:{framework key}:{native id}` (stage B).
    pub key: String,
    /// The SCF control (stage A).
    pub scf_id: Option<String>,
    /// The framework key of the requirement (stage B).
    pub framework_key: Option<String>,
    /// The native requirement id (stage B).
    pub requirement_id: Option<String>,
    /// Display name.
    pub name: String,
    /// Checks of the batch linked to the control.
    pub checks: BTreeSet<&'a str>,
    /// Requirements the control maps to.
    pub requirements: BTreeSet<RequirementLink>,
    /// Policy templates that name the control's SCF control.
    pub policies: Vec<&'a PolicyTemplate>,
}

/// A control → requirement mapping (origin `auto`).
///
/// Ordered by its fields in order: where two links name the same
/// requirement, the store keeps the first it writes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequirementLink {
    /// Framework id.
    pub framework_id: &'static str,
    /// Requirement id in that framework.
    pub ref_id: String,
    /// `scf` (from the STRM) or `check` (the check's own requirement).
    pub source: &'static str,
    /// `full` or `partial`.
    pub coverage: &'static str,
}

/// Plan the mapping stage for a batch's checks.
pub fn plan<'a>(catalog: &'a Catalog, checks: &'a [CheckInfo]) -> Plan<'a> {
    let mut controls: BTreeMap<String, Control<'a>> = BTreeMap::new();
    let mut requirements = Vec::new();
    let mut scf_rows = Vec::new();

    for check in checks {
        // 1. Requirements, resolved where the catalog knows the framework.
        let mut resolved = Vec::new();
        let mut native = Vec::new();
        for (fw_key, ids) in &check.requirements {
            for id in ids {
                let hit = catalog.resolve(fw_key, id);
                requirements.push(CheckRequirement {
                    check_id: &check.id,
                    framework_key: fw_key,
                    native_id: id,
                    resolved: hit.clone(),
                });
                native.push((fw_key, id, hit.clone()));
                if let Some(h) = hit {
                    resolved.push(h);
                }
            }
        }
        // 2. SCF controls of the check.
        let scf = catalog.derive_scf(&check.id, &resolved);
        for (scf_id, origin) in &scf {
            scf_rows.push(CheckScf {
                check_id: &check.id,
                scf_id: scf_id.clone(),
                origin,
            });
        }
        let native_reqs: BTreeSet<RequirementLink> = resolved
            .iter()
            .map(|(fw, r)| RequirementLink {
                framework_id: fw,
                ref_id: r.clone(),
                source: "check",
                coverage: "full",
            })
            .collect();
        // 3. Stage A, or stage B when no SCF control applies.
        if !scf.is_empty() {
            for (scf_id, _) in &scf {
                let key = format!("scf:{scf_id}");
                let c = controls.entry(key.clone()).or_insert_with(|| {
                    let name = catalog
                        .control(scf_id)
                        .map(|c| c.name.clone())
                        .unwrap_or_else(|| scf_id.clone());
                    let requirements = catalog
                        .mappings_for_control(scf_id)
                        .map(|m| RequirementLink {
                            framework_id: m.framework_id,
                            ref_id: m.ref_id.clone(),
                            source: "scf",
                            coverage: m.coverage,
                        })
                        .collect();
                    // 5. Policies for the SCF control.
                    let policies = catalog
                        .templates
                        .iter()
                        .filter(|t| t.scf.iter().any(|s| s == scf_id))
                        .collect();
                    Control {
                        key,
                        scf_id: Some(scf_id.clone()),
                        framework_key: None,
                        requirement_id: None,
                        name: format!("{scf_id} {name}"),
                        checks: BTreeSet::new(),
                        requirements,
                        policies,
                    }
                });
                c.checks.insert(&check.id);
                c.requirements.extend(native_reqs.iter().cloned());
            }
        } else {
            for (fw_key, id, hit) in &native {
                let key = format!("req:{fw_key}:{id}");
                let c = controls.entry(key.clone()).or_insert_with(|| Control {
                    key,
                    scf_id: None,
                    framework_key: Some(fw_key.to_string()),
                    requirement_id: Some(id.to_string()),
                    name: format!("{fw_key} {id}"),
                    checks: BTreeSet::new(),
                    requirements: hit
                        .iter()
                        .map(|(fw, r)| RequirementLink {
                            framework_id: fw,
                            ref_id: r.clone(),
                            source: "check",
                            coverage: "full",
                        })
                        .collect(),
                    policies: Vec::new(),
                });
                c.checks.insert(&check.id);
            }
        }
    }

    Plan {
        checks: checks.iter().map(|c| c.id.as_str()).collect(),
        requirements,
        scf: scf_rows,
        controls: controls.into_values().collect(),
    }
}

#[cfg(test)]
mod tests;
