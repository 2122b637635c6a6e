//! Glue between the SDK types and the generated component bindings. Used by
//! [`crate::export_pack!`]; not for direct use.

use crate::{Check, Inventory, LogLevel, Resource};

wit_bindgen::generate!({
    world: "check-pack",
    path: "../../wit",
    pub_export_macro: true,
    export_macro_name: "__export_check_pack",
    default_bindings_module: "citadel_plugin_sdk::guest",
});

pub use citadel::checks::types::{
    CheckInfo as WitCheckInfo, Finding as WitFinding, PackInfo as WitPackInfo,
};
use citadel::checks::types::{Severity as WitSeverity, Status as WitStatus};

/// The inventory as served by the host through the `inventory` import.
struct HostInventory;

impl Inventory for HostInventory {
    fn resources(&self, kind: &str) -> Vec<Resource> {
        #[cfg(target_arch = "wasm32")]
        {
            citadel::checks::inventory::resources(kind)
                .into_iter()
                .map(|r| Resource {
                    uid: r.uid,
                    id: r.id,
                    kind: r.kind,
                    region: r.region,
                    account: r.account,
                    name: r.name,
                    tags: r.tags,
                    document: r.document,
                })
                .collect()
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = kind;
            Vec::new()
        }
    }

    fn config(&self, key: &str) -> Option<String> {
        #[cfg(target_arch = "wasm32")]
        {
            citadel::checks::inventory::config(key)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = key;
            None
        }
    }
}

/// Route panic messages to the host log before the guest aborts, so the
/// agent can say why a check trapped instead of only that it did.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            log(LogLevel::Error, &format!("panicked: {info}"))
        }));
    });
}

/// The `checks` export.
pub fn checks(list: &[&dyn Check]) -> Vec<WitCheckInfo> {
    install_panic_hook();
    list.iter()
        .map(|c| {
            let i = c.info();
            WitCheckInfo {
                id: i.id,
                title: i.title,
                description: i.description,
                severity: severity(i.severity),
                service: i.service,
                resource_type: i.resource_type,
                remediation: i.remediation,
                reads: i.reads,
                requirements: i.requirements,
            }
        })
        .collect()
}

/// The `evaluate` export.
pub fn evaluate(list: &[&dyn Check], id: &str) -> Result<Vec<WitFinding>, String> {
    install_panic_hook();
    let check = list
        .iter()
        .find(|c| c.info().id == id)
        .ok_or_else(|| format!("this pack has no check {id:?}"))?;
    let findings = check.evaluate(&HostInventory)?;
    Ok(findings
        .into_iter()
        .map(|f| WitFinding {
            check_id: id.to_string(),
            resource_uid: f.resource_uid,
            status: match f.status {
                crate::Status::Pass => WitStatus::Pass,
                crate::Status::Fail => WitStatus::Fail,
                crate::Status::Error => WitStatus::Error,
                crate::Status::NotApplicable => WitStatus::NotApplicable,
            },
            status_extended: f.status_extended,
            severity: f.severity.map(severity),
        })
        .collect())
}

fn severity(s: crate::Severity) -> WitSeverity {
    match s {
        crate::Severity::Critical => WitSeverity::Critical,
        crate::Severity::High => WitSeverity::High,
        crate::Severity::Medium => WitSeverity::Medium,
        crate::Severity::Low => WitSeverity::Low,
        crate::Severity::Informational => WitSeverity::Informational,
    }
}

pub(crate) fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        use citadel::checks::log::{Level, emit};
        let level = match level {
            LogLevel::Debug => Level::Debug,
            LogLevel::Info => Level::Info,
            LogLevel::Warn => Level::Warn,
            LogLevel::Error => Level::Error,
        };
        emit(level, message);
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}
