//! Python's `ipaddress.ip_network(cidr).is_global`; shared with other packs
//! through the SDK.

pub(crate) use citadel_plugin_sdk::aws::ip::is_global;
