//! Per-evaluation store data and the host functions a plugin imports
//! (`citadel:checks/inventory` and `citadel:checks/log`).
//!
//! The imports are defined by hand on the linker, like the exports in
//! [`super::abi`], so the log can look at a message's length in the plugin's
//! memory before copying any of it.

use std::collections::BTreeSet;
use std::sync::Arc;

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, ResourceTable, WasmStr};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::InventoryView;
use super::abi::{HostResource, LogLevel, prefix};
use super::limits::Limiter;

/// Log lines kept per evaluation; the rest are counted and dropped.
pub(super) const MAX_LOG_LINES: usize = 1000;
/// Bytes of one log line kept.
const MAX_MESSAGE: usize = 512;
/// Bytes of log text kept per evaluation.
pub(super) const MAX_LOG_BYTES: usize = 256 << 10;

/// Per-evaluation store data.
pub(super) struct HostState {
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limiter: Limiter,
    /// Kinds the running check may read.
    pub(super) allowed: BTreeSet<String>,
    pub(super) inventory: Arc<InventoryView>,
    pub(super) plugin: String,
    /// The last error the plugin logged (its panic message, with the SDK).
    pub(super) last_error: Option<String>,
    /// Log lines emitted, kept or not.
    pub(super) log_lines: usize,
    /// Bytes of log text kept.
    pub(super) log_bytes: usize,
    /// Whether hitting the log limits was reported.
    pub(super) log_limit_said: bool,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Define `citadel:checks/{types,inventory,log}` on `linker`.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    // Types only; components that use them import the (empty) instance.
    linker.instance("citadel:checks/types@0.1.0")?;
    let mut inventory = linker.instance("citadel:checks/inventory@0.1.0")?;
    inventory.func_wrap(
        "resources",
        |cx: StoreContextMut<'_, HostState>, (kind,): (String,)| Ok((resources(cx.data(), &kind),)),
    )?;
    inventory.func_wrap(
        "config",
        |cx: StoreContextMut<'_, HostState>, (key,): (String,)| {
            Ok((cx.data().inventory.audit.get(&key).cloned(),))
        },
    )?;
    let mut log = linker.instance("citadel:checks/log@0.1.0")?;
    log.func_wrap(
        "emit",
        |mut cx: StoreContextMut<'_, HostState>, (level, message): (LogLevel, WasmStr)| {
            emit(&mut cx, level, &message);
            Ok(())
        },
    )?;
    Ok(())
}

fn resources(state: &HostState, kind: &str) -> Vec<HostResource> {
    if !state.allowed.contains(kind) {
        return Vec::new();
    }
    state
        .inventory
        .by_kind
        .get(kind)
        .cloned()
        .unwrap_or_default()
}

fn emit(cx: &mut StoreContextMut<'_, HostState>, level: LogLevel, message: &WasmStr) {
    let is_error = matches!(level, LogLevel::Error);
    let state = cx.data_mut();
    state.log_lines += 1;
    let keep = state.log_lines <= MAX_LOG_LINES && state.log_bytes < MAX_LOG_BYTES;
    if !keep && !state.log_limit_said {
        state.log_limit_said = true;
        tracing::warn!(plugin = %state.plugin, "Plugin log limit reached; dropping further lines.");
    }
    // Past the limits lines are counted, never copied; except errors, whose
    // last one explains a trap that may follow.
    if !keep && !is_error {
        return;
    }
    // Only a prefix is copied out of the plugin's memory. Invalid UTF-8 is
    // dropped rather than trapping: a log line is never worth a failed check.
    let Ok(text) = message.to_str(&*cx).map(|t| prefix(&t, MAX_MESSAGE)) else {
        return;
    };
    let state = cx.data_mut();
    if is_error {
        state.last_error = Some(text.clone());
    }
    if !keep {
        return;
    }
    state.log_bytes += text.len();
    let plugin = &state.plugin;
    match level {
        LogLevel::Debug => tracing::debug!(plugin, "{text}"),
        LogLevel::Info => tracing::info!(plugin, "{text}"),
        LogLevel::Warn => tracing::warn!(plugin, "{text}"),
        LogLevel::Error => tracing::error!(plugin, "{text}"),
    }
}
