//! The planner without a database: stage A vs stage B, requirement
//! resolution, policy templates, controls shared by several checks.

use std::collections::{BTreeMap, BTreeSet};

use citadel_wire::{CheckInfo, Severity};

use super::{CheckScf, RequirementLink, plan, posture};
use crate::catalog::{Catalog, Override};

/// A check carrying `requirements` as (Prowler framework key, native ids).
fn check(id: &str, requirements: &[(&str, &[&str])]) -> CheckInfo {
    CheckInfo {
        id: id.into(),
        plugin: "test".into(),
        title: id.into(),
        description: String::new(),
        severity: Severity::Medium,
        service: "ec2".into(),
        resource_type: "AwsEc2Volume".into(),
        remediation: String::new(),
        requirements: requirements
            .iter()
            .map(|(fw, ids)| (fw.to_string(), ids.iter().map(|s| s.to_string()).collect()))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn link(framework_id: &'static str, ref_id: &str, source: &'static str) -> RequirementLink {
    RequirementLink {
        framework_id,
        ref_id: ref_id.into(),
        source,
        coverage: "full",
    }
}

/// Requirements in two frameworks that the STRM relates to common SCF
/// controls (CRY-01, CRY-03, CRY-05, CRY-09).
const TWO_FRAMEWORKS: &[(&str, &[&str])] = &[("soc2", &["cc_6_1"]), ("iso27001_2022", &["A.8.24"])];

#[test]
fn posture_rule() {
    assert_eq!(posture(0, 0, 0), "not_scanned");
    assert_eq!(posture(3, 0, 0), "passing");
    assert_eq!(posture(0, 2, 0), "issues");
    assert_eq!(posture(0, 0, 1), "issues");
    assert_eq!(posture(1, 1, 0), "partial");
    assert_eq!(posture(1, 0, 1), "partial");
}

#[test]
fn requirements_resolve_where_the_catalog_knows_the_framework() {
    let catalog = Catalog::bundled().unwrap();
    let checks = [check(
        "some_check",
        &[("pci_4.0", &["1.2.8.17"]), ("cis_7.0", &["6.3"])],
    )];
    let plan = plan(&catalog, &checks);
    assert_eq!(plan.checks, ["some_check"]);
    let rows: Vec<_> = plan
        .requirements
        .iter()
        .map(|r| (r.check_id, r.framework_key, r.native_id, r.resolved.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            ("some_check", "cis_7.0", "6.3", None),
            (
                "some_check",
                "pci_4.0",
                "1.2.8.17",
                Some(("pci_dss_4.0.1", "1.2.8".to_string()))
            ),
        ]
    );
}

#[test]
fn checks_without_an_scf_control_get_one_control_per_requirement() {
    let catalog = Catalog::bundled().unwrap();
    // One framework only: derivation needs two, so no SCF control (stage B).
    let checks = [check(
        "some_check",
        &[("soc2", &["cc_6_6"]), ("cis_7.0", &["6.3"])],
    )];
    let plan = plan(&catalog, &checks);
    assert!(plan.scf.is_empty());
    let keys: Vec<&str> = plan.controls.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["req:cis_7.0:6.3", "req:soc2:cc_6_6"]);
    let soc2 = &plan.controls[1];
    assert_eq!(soc2.scf_id, None);
    assert_eq!(soc2.framework_key.as_deref(), Some("soc2"));
    assert_eq!(soc2.requirement_id.as_deref(), Some("cc_6_6"));
    assert_eq!(soc2.name, "soc2 cc_6_6");
    assert_eq!(soc2.checks, BTreeSet::from(["some_check"]));
    assert_eq!(
        soc2.requirements,
        BTreeSet::from([link("soc2", "CC6.6", "check")])
    );
    assert!(soc2.policies.is_empty());
    // Unresolved: a control, but nothing to map it to.
    assert!(plan.controls[0].requirements.is_empty());
}

#[test]
fn checks_with_scf_controls_get_one_control_per_scf_control() {
    let catalog = Catalog::bundled().unwrap();
    let checks = [check("ec2_ebs_volume_encryption", TWO_FRAMEWORKS)];
    let plan = plan(&catalog, &checks);
    let derived = catalog.derive_scf(
        "ec2_ebs_volume_encryption",
        &[
            ("iso27001_2022", "A.8.24".to_string()),
            ("soc2", "CC6.1".to_string()),
        ],
    );
    assert!(
        derived
            .iter()
            .any(|(id, o)| id == "CRY-05" && *o == "curated")
    );
    assert!(derived.iter().any(|(_, o)| *o == "derived"));
    let expected: Vec<CheckScf> = derived
        .iter()
        .map(|(scf_id, origin)| CheckScf {
            check_id: "ec2_ebs_volume_encryption",
            scf_id: scf_id.clone(),
            origin,
        })
        .collect();
    assert_eq!(plan.scf, expected);
    // Stage A only: no per-requirement controls.
    let keys: Vec<String> = plan.controls.iter().map(|c| c.key.clone()).collect();
    let scf_keys: Vec<String> = derived.iter().map(|(id, _)| format!("scf:{id}")).collect();
    assert_eq!(keys, scf_keys);
    let cry = plan
        .controls
        .iter()
        .find(|c| c.key == "scf:CRY-05")
        .unwrap();
    assert_eq!(cry.scf_id.as_deref(), Some("CRY-05"));
    assert_eq!(cry.framework_key, None);
    assert!(cry.name.starts_with("CRY-05 "), "{}", cry.name);
    // The STRM's mappings of the control, and the check's own requirements.
    for m in catalog.mappings_for_control("CRY-05") {
        assert!(cry.requirements.contains(&RequirementLink {
            framework_id: m.framework_id,
            ref_id: m.ref_id.clone(),
            source: "scf",
            coverage: m.coverage,
        }));
    }
    assert!(cry.requirements.contains(&link("soc2", "CC6.1", "check")));
    assert!(
        cry.requirements
            .contains(&link("iso27001_2022", "A.8.24", "check"))
    );
}

#[test]
fn scf_controls_pick_the_policy_templates_that_name_them() {
    let mut catalog = Catalog::bundled().unwrap();
    let named = catalog.templates[0].scf[0].clone();
    let unnamed = catalog
        .controls
        .iter()
        .map(|c| c.id.clone())
        .find(|id| catalog.templates.iter().all(|t| !t.scf.contains(id)))
        .unwrap();
    catalog.overrides.insert(
        "test_check".into(),
        Override {
            add: vec![named.clone(), unnamed.clone()],
            remove: Vec::new(),
        },
    );
    let checks = [check("test_check", &[])];
    let plan = plan(&catalog, &checks);
    let policies = |scf: &str| -> Vec<&str> {
        plan.controls
            .iter()
            .find(|c| c.scf_id.as_deref() == Some(scf))
            .unwrap()
            .policies
            .iter()
            .map(|t| t.id.as_str())
            .collect()
    };
    let expected: Vec<&str> = catalog
        .templates
        .iter()
        .filter(|t| t.scf.contains(&named))
        .map(|t| t.id.as_str())
        .collect();
    assert!(expected.contains(&catalog.templates[0].id.as_str()));
    assert_eq!(policies(&named), expected);
    assert!(policies(&unnamed).is_empty());
}

#[test]
fn controls_shared_by_several_checks_are_planned_once() {
    let catalog = Catalog::bundled().unwrap();
    let alone = [check("check_a", TWO_FRAMEWORKS)];
    let one = plan(&catalog, &alone);
    assert!(!one.controls.is_empty());
    let checks = [
        check("check_a", TWO_FRAMEWORKS),
        check("check_b", TWO_FRAMEWORKS),
        check("check_c", &[("soc2", &["cc_6_6"])]),
        check("check_d", &[("soc2", &["cc_6_6"])]),
    ];
    let both = plan(&catalog, &checks);
    // Every row per check, but each control once, linked to all its checks.
    assert_eq!(both.requirements.len(), 6);
    assert_eq!(both.scf.len(), 2 * one.scf.len());
    assert_eq!(both.controls.len(), one.controls.len() + 1);
    for c in &both.controls {
        let expected = if c.scf_id.is_some() {
            ["check_a", "check_b"]
        } else {
            ["check_c", "check_d"]
        };
        assert_eq!(c.checks, BTreeSet::from(expected), "{}", c.key);
    }
    let ids =
        |c: &super::Control| -> Vec<String> { c.policies.iter().map(|t| t.id.clone()).collect() };
    let shared = both.controls.iter().filter(|c| c.scf_id.is_some());
    for (a, b) in one.controls.iter().zip(shared) {
        assert_eq!(a.key, b.key);
        assert_eq!(a.requirements, b.requirements);
        assert_eq!(ids(a), ids(b));
    }
}
