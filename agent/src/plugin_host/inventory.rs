//! The inventory as plugins see it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::abi::HostResource;
use crate::discovery::Resource;

/// The inventory as plugins see it: resources by kind, plus audit settings.
#[derive(Default)]
pub struct InventoryView {
    pub(super) by_kind: BTreeMap<String, Vec<HostResource>>,
    /// Kinds of each uid; per-region account settings share one uid across kinds.
    uids: BTreeMap<String, BTreeSet<String>>,
    pub(super) audit: BTreeMap<String, String>,
    /// What the plugin's wall clock says: the scan's start, since the Unix epoch.
    pub(super) now: Duration,
}

impl InventoryView {
    /// Index discovered resources for plugin calls.
    pub fn new(resources: &[Resource], audit: BTreeMap<String, String>) -> Self {
        let resources = resources
            .iter()
            .map(|r| HostResource {
                uid: r.uid.clone(),
                id: r.id.clone(),
                kind: r.kind.to_string(),
                region: r.region.clone(),
                account: r.account.clone(),
                name: r.name.clone(),
                tags: r.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                document: r.document.clone(),
            })
            .collect();
        Self::from_resources(resources, audit)
    }

    /// Index resources given directly (fixtures, benchmarks).
    pub fn from_resources(resources: Vec<HostResource>, audit: BTreeMap<String, String>) -> Self {
        let mut view = Self {
            audit,
            now: Self::default_now(),
            ..Default::default()
        };
        for r in resources {
            view.uids
                .entry(r.uid.clone())
                .or_default()
                .insert(r.kind.clone());
            view.by_kind.entry(r.kind.clone()).or_default().push(r);
        }
        view
    }

    fn default_now() -> Duration {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }

    pub(super) fn visible(&self, allowed: &BTreeSet<String>, uid: &str) -> bool {
        self.uids
            .get(uid)
            .is_some_and(|kinds| kinds.iter().any(|k| allowed.contains(k)))
    }
}
