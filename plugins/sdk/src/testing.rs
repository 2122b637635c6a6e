//! Native test support: an [`Inventory`] loaded from a JSON fixture.
//!
//! ```json
//! {
//!   "config": { "max_ec2_instance_age_in_days": "180" },
//!   "resources": [
//!     { "kind": "ec2:volume", "id": "vol-1", "region": "us-east-1",
//!       "document": { "VolumeId": "vol-1", "Encrypted": true } }
//!   ]
//! }
//! ```
//! `uid` defaults to the ARN built from region, account (`123456789012`), kind and id,
//! so fixtures stay short.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{Inventory, Resource};

/// Account id used when a fixture does not give one (moto's default account).
pub const DEFAULT_ACCOUNT: &str = "123456789012";
/// Region used when a fixture does not give one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// An inventory read from JSON.
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    resources: Vec<Resource>,
    config: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFixture {
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    resources: Vec<RawResource>,
    /// Read by `citadel-agent plugin test`; ignored here.
    #[serde(default)]
    #[allow(dead_code)]
    checks: Option<Vec<String>>,
    /// Read by `citadel-agent plugin test`; ignored here.
    #[serde(default)]
    #[allow(dead_code)]
    expect: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResource {
    kind: String,
    id: String,
    uid: Option<String>,
    region: Option<String>,
    account: Option<String>,
    name: Option<String>,
    #[serde(default)]
    tags: Vec<(String, String)>,
    document: serde_json::Value,
}

impl Fixture {
    /// Parse a fixture document.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let raw: RawFixture = serde_json::from_str(json).map_err(|e| format!("fixture: {e}"))?;
        let resources = raw
            .resources
            .into_iter()
            .map(|r| {
                let region = r.region.unwrap_or_else(|| DEFAULT_REGION.into());
                let account = r.account.unwrap_or_else(|| DEFAULT_ACCOUNT.into());
                let uid = r
                    .uid
                    .unwrap_or_else(|| arn(&r.kind, &region, &account, &r.id));
                Resource {
                    uid,
                    id: r.id,
                    kind: r.kind,
                    region,
                    account,
                    name: r.name,
                    tags: r.tags,
                    document: r.document.to_string(),
                }
            })
            .collect();
        Ok(Self {
            resources,
            config: raw.config,
        })
    }

    /// Add a resource built from its document.
    pub fn with(mut self, kind: &str, id: &str, document: serde_json::Value) -> Self {
        self.resources.push(Resource {
            uid: arn(kind, DEFAULT_REGION, DEFAULT_ACCOUNT, id),
            id: id.into(),
            kind: kind.into(),
            region: DEFAULT_REGION.into(),
            account: DEFAULT_ACCOUNT.into(),
            name: None,
            tags: Vec::new(),
            document: document.to_string(),
        });
        self
    }

    /// Set an audit setting.
    pub fn with_config(mut self, key: &str, value: &str) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }
}

impl Inventory for Fixture {
    fn resources(&self, kind: &str) -> Vec<Resource> {
        self.resources
            .iter()
            .filter(|r| r.kind == kind)
            .cloned()
            .collect()
    }

    fn config(&self, key: &str) -> Option<String> {
        self.config.get(key).cloned()
    }
}

/// The ARN Prowler and the agent give a resource: `arn:aws:ec2:{region}:{account}:{type}/{id}`.
pub fn arn(kind: &str, region: &str, account: &str, id: &str) -> String {
    let (service, ty) = kind.split_once(':').unwrap_or(("ec2", kind));
    format!("arn:aws:{service}:{region}:{account}:{ty}/{id}")
}

/// A finding as check tests compare it: resource uid, status, status text.
pub type Verdict = (String, crate::Status, String);

/// Evaluate `check` over `inventory`: its findings as [`Verdict`]s, sorted so
/// tests do not depend on the order a check reports in. Panics if the check
/// fails (a test wants the verdicts).
pub fn verdicts(check: &dyn crate::Check, inventory: &dyn Inventory) -> Vec<Verdict> {
    let mut v: Vec<Verdict> = check
        .evaluate(inventory)
        .expect("the check evaluates")
        .into_iter()
        .map(|f| (f.resource_uid, f.status, f.status_extended))
        .collect();
    v.sort();
    v
}

/// One expected [`Verdict`].
pub fn verdict(uid: &str, status: crate::Status, text: &str) -> Verdict {
    (uid.to_string(), status, text.to_string())
}

/// A fixture holding just `resources` (a JSON array in the fixture format).
/// Panics on a malformed fixture.
pub fn fixture(resources: serde_json::Value) -> Fixture {
    Fixture::from_json(&serde_json::json!({ "resources": resources }).to_string())
        .expect("fixture parses")
}
