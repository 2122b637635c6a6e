//! The compliance catalog: SCF controls, framework requirement trees, the SCF
//! STRM crosswalks, Citadel's policy templates and the curated check → SCF
//! corrections. The data ships in `catalog/` (see its NOTICE) and is compiled
//! into the binary; normalisation (relationship names, requirement ids,
//! coverage) happens here, in code, so the shipped files stay unmodified.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::Value;

/// Version of the bundled catalog (SCF release + Citadel data release).
pub const BUNDLED_VERSION: &str = "scf-2025.2.2+citadel-2026.11.1";

/// An SCF control.
#[derive(Debug, Clone)]
pub struct ScfControl {
    /// `GOV-01`.
    pub id: String,
    /// Control name.
    pub name: String,
    /// Domain code, e.g. `GOV`.
    pub domain_code: String,
    /// Domain name.
    pub domain_name: String,
}

/// One node of a framework's requirement tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// Requirement id as the framework writes it (`CC6.6`, `A.8.20`, `PR.AA-05`).
    pub ref_id: String,
    /// Parent requirement.
    pub parent: Option<String>,
    /// Title, where the licence allows shipping it (NIST only).
    pub name: Option<String>,
    /// Depth in the tree, from 1.
    pub depth: i64,
    /// A requirement, not a heading.
    pub assessable: bool,
}

/// A framework and its requirement tree.
#[derive(Debug, Clone)]
pub struct Framework {
    /// Citadel's id: `soc2`, `iso27001_2022`, `nist_csf_2.0`, `pci_dss_4.0.1`, `nist_800_53_r5`.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Version.
    pub version: &'static str,
    /// Nodes in document order.
    pub nodes: Vec<Node>,
}

/// SCF control ↔ framework requirement, from the STRM.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScfMapping {
    /// SCF control.
    pub scf_id: String,
    /// Framework.
    pub framework_id: &'static str,
    /// Requirement.
    pub ref_id: String,
    /// `equal`, `subset_of`, `superset_of`, `intersects_with` (requirement relative to control).
    pub relationship: &'static str,
    /// STRM strength, 0–10.
    pub strength: i64,
    /// `full` when the requirement lies inside the control, else `partial`.
    pub coverage: &'static str,
}

/// A policy template (Citadel's own text).
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyTemplate {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// One-line summary.
    pub summary: String,
    /// Markdown body.
    pub body: String,
    /// SCF controls the policy supports.
    pub scf: Vec<String>,
}

/// Curated corrections for one check.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Override {
    /// SCF controls to add.
    #[serde(default)]
    pub add: Vec<String>,
    /// Derived SCF controls to drop.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// The whole catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Catalog version.
    pub version: String,
    /// SCF controls.
    pub controls: Vec<ScfControl>,
    /// Frameworks.
    pub frameworks: Vec<Framework>,
    /// STRM mappings (relationship `none` dropped).
    pub mappings: Vec<ScfMapping>,
    /// Policy templates.
    pub templates: Vec<PolicyTemplate>,
    /// Corrections by check id.
    pub overrides: BTreeMap<String, Override>,
    /// Requirement → SCF controls, for derivation.
    by_requirement: HashMap<(String, String), Vec<usize>>,
    /// SCF control → its mappings.
    by_control: HashMap<String, Vec<usize>>,
}

macro_rules! bundled {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../catalog/", $path))
    };
}

/// The frameworks Citadel maps to, with their tree and STRM files.
const FRAMEWORKS: &[(&str, &str, &str, &str)] = &[
    (
        "soc2",
        "SOC 2 (AICPA TSC 2017, rev. 2022)",
        "2017",
        bundled!("frameworks/aicpa_tsc_2017_rev2022_ids.json"),
    ),
    (
        "iso27001_2022",
        "ISO/IEC 27001:2022",
        "2022",
        bundled!("frameworks/iso_iec_27001_2022_ids.json"),
    ),
    (
        "nist_csf_2.0",
        "NIST Cybersecurity Framework 2.0",
        "2.0",
        bundled!("frameworks/nist_csf_2_0.json"),
    ),
    (
        "pci_dss_4.0.1",
        "PCI DSS 4.0.1",
        "4.0.1",
        bundled!("frameworks/pci_dss_4_0_1_ids.json"),
    ),
    (
        "nist_800_53_r5",
        "NIST SP 800-53 Rev. 5",
        "5.1.1",
        bundled!("frameworks/nist_sp_800_53_r5.json"),
    ),
];

const STRM: &[(&str, &str)] = &[
    ("soc2", bundled!("strm/scf_strm_aicpa_tsc_2017.json")),
    (
        "iso27001_2022",
        bundled!("strm/scf_strm_iso_27001_2022.json"),
    ),
    ("iso27002", bundled!("strm/scf_strm_iso_27002_2022.json")),
    ("nist_csf_2.0", bundled!("strm/scf_strm_nist_csf_2_0.json")),
    (
        "pci_dss_4.0.1",
        bundled!("strm/scf_strm_pci_dss_4_0_1.json"),
    ),
    (
        "nist_800_53_r5",
        bundled!("strm/scf_strm_nist_800_53_r5_1_1.json"),
    ),
];

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Normalise an STRM relationship; `None` for "no relationship".
fn relationship(text: &str) -> Option<&'static str> {
    match text.trim().to_ascii_lowercase().as_str() {
        "equal" => Some("equal"),
        "subset of" => Some("subset_of"),
        "superset of" => Some("superset_of"),
        "intersects with" => Some("intersects_with"),
        _ => None,
    }
}

/// Normalise an STRM requirement id to the tree's id for `strm` (a key of [`STRM`]).
/// Returns the framework it belongs to.
fn strm_ref(strm: &str, fde: &str) -> (&'static str, String) {
    let fde = fde.trim();
    match strm {
        // TSC points of focus: `CC1.1-POF3` is node `CC1.1.3`.
        "soc2" => (
            "soc2",
            match fde.split_once("-POF") {
                Some((base, n)) => format!("{base}.{n}"),
                None => fde.to_string(),
            },
        ),
        // ISO 27001 clauses: `4.1(a)(1)` → `4.1`, `10.0` → `10`.
        "iso27001_2022" => {
            let base = fde.split('(').next().unwrap_or(fde);
            (
                "iso27001_2022",
                base.strip_suffix(".0").unwrap_or(base).to_string(),
            )
        }
        // ISO 27002 controls are ISO 27001 Annex A: `5.15` → `A.5.15`.
        "iso27002" => (
            "iso27001_2022",
            format!("A.{}", fde.split('(').next().unwrap_or(fde)),
        ),
        "nist_csf_2.0" => ("nist_csf_2.0", fde.to_string()),
        "pci_dss_4.0.1" => ("pci_dss_4.0.1", fde.to_string()),
        _ => ("nist_800_53_r5", fde.to_string()),
    }
}

impl Catalog {
    /// The catalog compiled into this binary.
    pub fn bundled() -> anyhow::Result<Self> {
        let scf: Value = serde_json::from_str(bundled!("scf/scf_controls_2025.2.2_ids.json"))?;
        let controls: Vec<ScfControl> = scf["controls"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| {
                Some(ScfControl {
                    id: str_field(c, "scf_id")?,
                    name: str_field(c, "name")?,
                    domain_code: str_field(c, "domain_code").unwrap_or_default(),
                    domain_name: str_field(c, "domain_name").unwrap_or_default(),
                })
            })
            .collect();
        anyhow::ensure!(
            controls.len() > 1000,
            "bundled SCF catalog has only {} controls",
            controls.len()
        );

        let mut frameworks = Vec::new();
        for (id, name, version, text) in FRAMEWORKS {
            let doc: Value = serde_json::from_str(text)?;
            let nodes = doc["nodes"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|n| {
                    Some(Node {
                        ref_id: str_field(n, "ref_id")?,
                        parent: str_field(n, "parent_ref_id"),
                        name: str_field(n, "name"),
                        depth: n["depth"].as_i64().unwrap_or(0),
                        assessable: n["assessable"].as_bool().unwrap_or(false),
                    })
                })
                .collect();
            frameworks.push(Framework {
                id,
                name,
                version,
                nodes,
            });
        }

        let mut mappings = BTreeSet::new();
        for (strm, text) in STRM {
            let doc: Value = serde_json::from_str(text)?;
            for r in doc["records"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let (Some(fde), Some(scf_id), Some(rel)) = (
                    str_field(r, "fde_id"),
                    str_field(r, "scf_id"),
                    str_field(r, "strm_relationship"),
                ) else {
                    continue;
                };
                let Some(relationship) = relationship(&rel) else {
                    continue;
                };
                let (framework_id, ref_id) = strm_ref(strm, &fde);
                let strength = r["strength_of_relationship"]
                    .as_str()
                    .and_then(|s| s.trim().parse().ok())
                    .or_else(|| r["strength_of_relationship"].as_i64())
                    .unwrap_or(0);
                let coverage = if matches!(relationship, "equal" | "subset_of") {
                    "full"
                } else {
                    "partial"
                };
                mappings.insert(ScfMapping {
                    scf_id,
                    framework_id,
                    ref_id,
                    relationship,
                    strength,
                    coverage,
                });
            }
        }
        // Several STRM rows can name the same pair; keep the strongest.
        let mut best: BTreeMap<(String, &'static str, String), ScfMapping> = BTreeMap::new();
        for m in mappings {
            let key = (m.scf_id.clone(), m.framework_id, m.ref_id.clone());
            match best.get(&key) {
                Some(old) if old.strength >= m.strength => {}
                _ => {
                    best.insert(key, m);
                }
            }
        }
        let mappings: Vec<ScfMapping> = best.into_values().collect();

        #[derive(Deserialize)]
        struct Templates {
            templates: Vec<PolicyTemplate>,
        }
        let templates =
            serde_json::from_str::<Templates>(bundled!("policy_templates.json"))?.templates;
        #[derive(Deserialize)]
        struct Overrides {
            checks: BTreeMap<String, Override>,
        }
        let overrides =
            serde_json::from_str::<Overrides>(bundled!("check_scf_overrides.json"))?.checks;
        Ok(Self::index(Self {
            version: BUNDLED_VERSION.to_string(),
            controls,
            frameworks,
            mappings,
            templates,
            overrides,
            by_requirement: HashMap::new(),
            by_control: HashMap::new(),
        }))
    }

    fn index(mut self) -> Self {
        self.by_requirement.clear();
        self.by_control.clear();
        for (i, m) in self.mappings.iter().enumerate() {
            self.by_requirement
                .entry((m.framework_id.to_string(), m.ref_id.clone()))
                .or_default()
                .push(i);
            self.by_control.entry(m.scf_id.clone()).or_default().push(i);
        }
        self
    }

    /// The framework with Citadel id `id`.
    pub fn framework(&self, id: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.id == id)
    }

    /// STRM mappings of one requirement.
    pub fn mappings_of(
        &self,
        framework_id: &str,
        ref_id: &str,
    ) -> impl Iterator<Item = &ScfMapping> {
        let key = (framework_id.to_string(), ref_id.to_string());
        self.by_requirement
            .get(&key)
            .into_iter()
            .flatten()
            .map(|&i| &self.mappings[i])
    }

    /// STRM mappings of one SCF control.
    pub fn mappings_for_control(&self, scf_id: &str) -> impl Iterator<Item = &ScfMapping> {
        self.by_control
            .get(scf_id)
            .into_iter()
            .flatten()
            .map(|&i| &self.mappings[i])
    }

    /// Resolve a Prowler-native requirement id (as checks carry them) to the
    /// requirement of one of the catalog's frameworks. See `catalog/README.md`.
    pub fn resolve(&self, framework_key: &str, native: &str) -> Option<(&'static str, String)> {
        let (framework_id, candidate) = match framework_key {
            // `cc_6_6` → `CC6.6`; `pi_1_5` → `PI1.5`.
            "soc2" => {
                let mut parts = native.split('_');
                let letters = parts.next()?.to_ascii_uppercase();
                let digits: Vec<&str> = parts.collect();
                ("soc2", format!("{letters}{}", digits.join(".")))
            }
            "iso27001_2022" => ("iso27001_2022", native.to_string()),
            // Prowler keeps `1.2.8.17` for "requirement 1.2.8, as checked on service 17".
            "pci_4.0" | "pci_dss_4.0.1" => {
                let trimmed = match native.matches('.').count() {
                    3 => native.rsplit_once('.').map(|(a, _)| a).unwrap_or(native),
                    _ => native,
                };
                ("pci_dss_4.0.1", trimmed.to_string())
            }
            // `rr_1` → the single CSF 2.0 subcategory `*.RR-01`, if there is one.
            "nist_csf_2.0" => {
                let (cat, n) = native.split_once('_')?;
                let n: u32 = n.parse().ok()?;
                let suffix = format!(".{}-{n:02}", cat.to_ascii_uppercase());
                let fw = self.framework("nist_csf_2.0")?;
                let mut hits = fw
                    .nodes
                    .iter()
                    .filter(|node| node.ref_id.ends_with(&suffix));
                let hit = hits.next()?;
                if hits.next().is_some() {
                    return None;
                }
                ("nist_csf_2.0", hit.ref_id.clone())
            }
            "nist_800_53_r5" => ("nist_800_53_r5", native.to_ascii_uppercase()),
            _ => return None,
        };
        let fw = self.framework(framework_id)?;
        fw.nodes
            .iter()
            .any(|n| n.ref_id == candidate)
            .then_some((fw.id, candidate))
    }

    /// SCF controls for a check with these resolved requirements: the controls
    /// the STRM relates to its requirements in at least two different
    /// frameworks, plus curated additions, minus curated removals.
    pub fn derive_scf(
        &self,
        check_id: &str,
        requirements: &[(&'static str, String)],
    ) -> Vec<(String, &'static str)> {
        let mut frameworks_per_control: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (fw, ref_id) in requirements {
            for m in self.mappings_of(fw, ref_id) {
                frameworks_per_control
                    .entry(m.scf_id.as_str())
                    .or_default()
                    .insert(m.framework_id);
            }
        }
        let mut out: BTreeMap<String, &'static str> = frameworks_per_control
            .into_iter()
            .filter(|(_, fws)| fws.len() >= 2)
            .map(|(id, _)| (id.to_string(), "derived"))
            .collect();
        if let Some(o) = self.overrides.get(check_id) {
            for r in &o.remove {
                out.remove(r);
            }
            for a in &o.add {
                out.insert(a.clone(), "curated");
            }
        }
        out.into_iter().collect()
    }

    /// SCF control by id.
    pub fn control(&self, id: &str) -> Option<&ScfControl> {
        self.controls.iter().find(|c| c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_catalog_loads_and_normalises() {
        let c = Catalog::bundled().unwrap();
        assert_eq!(c.controls.len(), 1342);
        assert_eq!(c.frameworks.len(), 5);
        assert!(c.templates.len() >= 15);
        for t in &c.templates {
            for s in &t.scf {
                assert!(
                    c.control(s).is_some(),
                    "template {} names unknown SCF control {s}",
                    t.id
                );
            }
        }
        // TSC points of focus and ISO 27002 → Annex A.
        assert!(
            c.mappings
                .iter()
                .any(|m| m.framework_id == "soc2" && m.ref_id == "CC1.1.3")
        );
        assert!(
            c.mappings
                .iter()
                .any(|m| m.framework_id == "iso27001_2022" && m.ref_id.starts_with("A.8."))
        );
        assert!(c.mappings.iter().all(|m| m.relationship != "none"));
        assert!(
            c.mappings
                .iter()
                .filter(|m| m.relationship == "equal")
                .all(|m| m.coverage == "full")
        );
    }

    #[test]
    fn prowler_ids_resolve_to_framework_requirements() {
        let c = Catalog::bundled().unwrap();
        assert_eq!(c.resolve("soc2", "cc_6_6"), Some(("soc2", "CC6.6".into())));
        assert_eq!(
            c.resolve("iso27001_2022", "A.8.20"),
            Some(("iso27001_2022", "A.8.20".into()))
        );
        assert_eq!(
            c.resolve("pci_4.0", "1.2.8.17"),
            Some(("pci_dss_4.0.1", "1.2.8".into()))
        );
        assert_eq!(
            c.resolve("nist_csf_2.0", "rr_1"),
            Some(("nist_csf_2.0", "GV.RR-01".into()))
        );
        // CSF 1.1 ids that CSF 2.0 dropped, and frameworks outside the catalog, stay unresolved.
        assert_eq!(c.resolve("nist_csf_2.0", "ac_3"), None);
        assert_eq!(c.resolve("cis_7.0", "6.3"), None);
    }

    #[test]
    fn derivation_needs_two_frameworks_and_honours_overrides() {
        let c = Catalog::bundled().unwrap();
        let reqs = vec![
            ("soc2", "CC6.6".to_string()),
            ("iso27001_2022", "A.8.20".to_string()),
        ];
        let derived = c.derive_scf("some_check", &reqs);
        for (id, origin) in &derived {
            assert_eq!(*origin, "derived");
            let fws: BTreeSet<&str> = reqs
                .iter()
                .flat_map(|(f, r)| c.mappings_of(f, r))
                .filter(|m| &m.scf_id == id)
                .map(|m| m.framework_id)
                .collect();
            assert!(fws.len() >= 2, "{id}");
        }
        let curated = c.derive_scf("ec2_ebs_volume_encryption", &[]);
        assert_eq!(curated, vec![("CRY-05".to_string(), "curated")]);
    }
}
