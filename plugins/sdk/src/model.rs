//! The SDK's own types, independent of the generated bindings so that check code
//! and its tests never touch wit-bindgen.

use serde::{Deserialize, Serialize};

/// Severity of a failing check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Exploitable now, with severe impact.
    Critical,
    /// Serious exposure.
    High,
    /// Should be fixed.
    Medium,
    /// Hardening.
    Low,
    /// For information only.
    Informational,
}

/// Verdict on one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Compliant.
    Pass,
    /// Not compliant.
    Fail,
    /// No verdict possible.
    Error,
    /// The check does not apply.
    NotApplicable,
}

/// A discovered resource, as served by the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Globally unique id (ARN).
    pub uid: String,
    /// Short provider id (`i-…`).
    pub id: String,
    /// Inventory kind.
    pub kind: String,
    /// Region.
    pub region: String,
    /// Account.
    pub account: String,
    /// Display name.
    pub name: Option<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// The API object as JSON.
    pub document: String,
}

/// Metadata of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInfo {
    /// Stable id.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// What it checks and why.
    pub description: String,
    /// Severity of a failure.
    pub severity: Severity,
    /// Service, e.g. `ec2`.
    pub service: String,
    /// Resource type, e.g. `AwsEc2Instance`.
    pub resource_type: String,
    /// How to fix a failure.
    pub remediation: String,
    /// Inventory kinds read.
    pub reads: Vec<String>,
    /// Framework key → requirement ids.
    pub requirements: Vec<(String, Vec<String>)>,
}

impl CheckInfo {
    /// Start a check description; fill the rest with the builder methods.
    pub fn new(id: &str, title: &str, severity: Severity) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            description: String::new(),
            severity,
            service: String::new(),
            resource_type: String::new(),
            remediation: String::new(),
            reads: Vec::new(),
            requirements: Vec::new(),
        }
    }

    /// What the check verifies and why it matters.
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.into();
        self
    }

    /// The cloud service.
    pub fn service(mut self, service: &str) -> Self {
        self.service = service.into();
        self
    }

    /// The resource type evaluated.
    pub fn resource_type(mut self, resource_type: &str) -> Self {
        self.resource_type = resource_type.into();
        self
    }

    /// How to fix a failure.
    pub fn remediation(mut self, text: &str) -> Self {
        self.remediation = text.into();
        self
    }

    /// Inventory kinds the check reads; the host serves only declared kinds.
    pub fn reads(mut self, kinds: &[&str]) -> Self {
        self.reads = kinds.iter().map(|k| k.to_string()).collect();
        self
    }

    /// Requirement ids of one framework (`soc2`, `iso27001_2022`, `nist_csf_2.0`, `pci_4.0`, `cis_7.0` …).
    pub fn requirement(mut self, framework: &str, ids: &[&str]) -> Self {
        self.requirements.push((
            framework.into(),
            ids.iter().map(|i| i.to_string()).collect(),
        ));
        self
    }
}

/// A verdict on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Filled in by the SDK from the check that returned it.
    #[serde(default)]
    pub check_id: String,
    /// `uid` of the resource.
    pub resource_uid: String,
    /// Verdict.
    pub status: Status,
    /// Human explanation.
    pub status_extended: String,
    /// Per-finding severity override.
    #[serde(default)]
    pub severity: Option<Severity>,
}

impl Finding {
    /// A verdict with an explanation.
    pub fn new(resource: &Resource, status: Status, text: impl Into<String>) -> Self {
        Self {
            check_id: String::new(),
            resource_uid: resource.uid.clone(),
            status,
            status_extended: text.into(),
            severity: None,
        }
    }

    /// A passing verdict.
    pub fn pass(resource: &Resource, text: impl Into<String>) -> Self {
        Self::new(resource, Status::Pass, text)
    }

    /// A failing verdict.
    pub fn fail(resource: &Resource, text: impl Into<String>) -> Self {
        Self::new(resource, Status::Fail, text)
    }

    /// Override the check's severity for this finding.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }
}
