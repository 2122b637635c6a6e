//! Write Citadel check packs as plain Rust functions over typed inventory.
//!
//! A pack is a `cdylib` crate built for `wasm32-wasip2`. Each check is a type
//! implementing [`Check`]; [`export_pack!`] turns a list of them into the
//! `citadel:checks/check-pack` component exports. Check logic only sees the
//! [`Inventory`] trait, so the same code runs natively in `cargo test` against
//! JSON fixtures ([`testing::Fixture`]) and inside the agent's sandbox.
//!
//! ```
//! use citadel_plugin_sdk::aws::{Kind, ec2::Volume};
//! use citadel_plugin_sdk::{Check, CheckInfo, Finding, Inventory, Severity};
//!
//! struct VolumeEncrypted;
//!
//! impl Check for VolumeEncrypted {
//!     fn info(&self) -> CheckInfo {
//!         CheckInfo::new("my_volume_encrypted", "EBS volume is encrypted", Severity::High)
//!             .service("ec2")
//!             .resource_type("AwsEc2Volume")
//!             .reads(&[Volume::KIND])
//!     }
//!
//!     fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String> {
//!         Ok(inventory
//!             .typed::<Volume>()?
//!             .into_iter()
//!             .map(|(res, v)| {
//!                 if v.encrypted {
//!                     Finding::pass(&res, format!("{} is encrypted.", res.id))
//!                 } else {
//!                     Finding::fail(&res, format!("{} is not encrypted.", res.id))
//!                 }
//!             })
//!             .collect())
//!     }
//! }
//!
//! let fixture = citadel_plugin_sdk::testing::Fixture::from_json(r#"{
//!   "resources": [{"kind": "ec2:volume", "id": "vol-1", "document": {"VolumeId": "vol-1", "Encrypted": false}}]
//! }"#).unwrap();
//! let findings = VolumeEncrypted.evaluate(&fixture).unwrap();
//! assert_eq!(findings[0].status, citadel_plugin_sdk::Status::Fail);
//! ```

pub mod aws;
mod model;
pub mod testing;

#[doc(hidden)]
pub mod guest;

pub use model::{CheckInfo, Finding, Resource, Severity, Status};

/// One check: static metadata plus an evaluation over the inventory.
pub trait Check {
    /// Metadata: id, title, severity, the inventory kinds it reads, requirement ids.
    fn info(&self) -> CheckInfo;

    /// Evaluate every relevant resource. Return `Err` only when no verdict is
    /// possible at all; per-resource problems become [`Status::Error`] findings.
    fn evaluate(&self, inventory: &dyn Inventory) -> Result<Vec<Finding>, String>;
}

/// What a check can read. The agent implements it over the sandbox boundary; tests
/// implement it with [`testing::Fixture`].
pub trait Inventory {
    /// All resources of one kind, e.g. `ec2:instance`.
    fn resources(&self, kind: &str) -> Vec<Resource>;

    /// An audit setting from the agent configuration, if set.
    fn config(&self, key: &str) -> Option<String>;
}

impl dyn Inventory + '_ {
    /// Resources of `T::KIND`, each with its document parsed into `T`.
    ///
    /// Fails if a document does not parse: the host produced something this
    /// check does not understand, and no verdict would be trustworthy.
    pub fn typed<T: aws::Kind>(&self) -> Result<Vec<(Resource, T)>, String> {
        self.resources(T::KIND)
            .into_iter()
            .map(|r| {
                let doc = serde_json::from_str(&r.document)
                    .map_err(|e| format!("{} {}: unreadable document: {e}", T::KIND, r.uid))?;
                Ok((r, doc))
            })
            .collect()
    }

    /// A numeric audit setting, or `default` when unset or not a number.
    pub fn config_u64(&self, key: &str, default: u64) -> u64 {
        self.config(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }
}

/// Log a line into the agent's log (inside the sandbox) or to stderr (native tests).
pub fn log(level: LogLevel, message: &str) {
    guest::log(level, message);
}

/// Severity of a [`log`] line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Detail for plugin authors.
    Debug,
    /// Normal progress.
    Info,
    /// Something looks wrong but evaluation goes on.
    Warn,
    /// Something failed.
    Error,
}

/// Export a list of checks as this crate's component.
///
/// ```ignore
/// citadel_plugin_sdk::export_pack!(PortCheck, PublicIp, VolumeEncryption);
/// ```
#[macro_export]
macro_rules! export_pack {
    ($($check:expr),+ $(,)?) => {
        #[doc(hidden)]
        pub fn __citadel_checks() -> ::std::vec::Vec<&'static dyn $crate::Check> {
            ::std::vec![$(&$check),+]
        }

        #[cfg(target_arch = "wasm32")]
        struct __CitadelPack;

        #[cfg(target_arch = "wasm32")]
        impl $crate::guest::Guest for __CitadelPack {
            fn info() -> $crate::guest::WitPackInfo {
                $crate::guest::WitPackInfo {
                    name: ::std::string::String::from(::std::env!("CARGO_PKG_NAME")),
                    version: ::std::string::String::from(::std::env!("CARGO_PKG_VERSION")),
                }
            }
            fn checks() -> ::std::vec::Vec<$crate::guest::WitCheckInfo> {
                $crate::guest::checks(&__citadel_checks())
            }
            fn evaluate(
                id: ::std::string::String,
            ) -> ::std::result::Result<::std::vec::Vec<$crate::guest::WitFinding>, ::std::string::String> {
                $crate::guest::evaluate(&__citadel_checks(), &id)
            }
        }

        #[cfg(target_arch = "wasm32")]
        $crate::guest::__export_check_pack!(__CitadelPack);
    };
}
