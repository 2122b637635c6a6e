//! Typed views of AWS API objects as the agent serves them: the JSON shape of the
//! AWS API (`InstanceId`, `IpPermissions` …), with only the fields checks use.
//! Unknown fields are ignored and missing ones take their defaults, so a check
//! keeps working when the host adds data.

pub mod ec2;

use serde::de::DeserializeOwned;

/// An inventory kind with a typed document.
pub trait Kind: DeserializeOwned {
    /// The inventory kind string, e.g. `ec2:instance`.
    const KIND: &'static str;
}
