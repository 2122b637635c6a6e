//! The plugin host: runs check-pack components in a wasmtime sandbox.
//!
//! One [`Engine`] per host; each component is compiled once and pre-linked
//! ([`InstancePre`]); every evaluation gets a fresh [`Store`] with a memory cap
//! and a wall-clock deadline (epoch interruption). Plugins get no preopened
//! directories, no sockets, no environment and no arguments: the only way out
//! of the sandbox is the `inventory` and `log` imports of `wit/`.
//!
//! [`InstancePre`]: wasmtime::component::InstancePre

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::discovery::Resource;

mod bindings {
    wasmtime::component::bindgen!({
        world: "check-pack",
        path: "../wit",
    });
}

use bindings::citadel::checks::{inventory, log, types};

/// Memory a plugin instance may grow to.
const DEFAULT_MEMORY_LIMIT: usize = 64 << 20;
/// Wall-clock budget of one evaluation.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);
/// Epoch tick period; the deadline is counted in ticks.
const TICK: Duration = Duration::from_millis(10);
/// Most findings one evaluation may return.
const MAX_FINDINGS: usize = 1_000_000;
/// Longest text a plugin may return in one field.
const MAX_TEXT: usize = 16 * 1024;

/// Why a plugin or one of its evaluations failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Component path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Not a valid component, or it does not implement `citadel:checks/check-pack`.
    #[error("{path} is not a usable check pack: {message}")]
    Load {
        /// Component path.
        path: PathBuf,
        /// Compiler or linker message.
        message: String,
    },
    /// The guest trapped (panic, unreachable, out-of-bounds …).
    #[error("trap: {0}")]
    Trap(String),
    /// The evaluation ran past its deadline.
    #[error("timeout: evaluation exceeded {0:?}")]
    Timeout(Duration),
    /// The guest tried to grow memory past its cap.
    #[error("memory: plugin exceeded its {0} MiB memory limit")]
    OutOfMemory(usize),
    /// The check returned an error of its own.
    #[error("check failed: {0}")]
    Guest(String),
    /// The output broke the boundary's rules (sizes, unknown resources).
    #[error("rejected output: {0}")]
    Output(String),
}

/// Static metadata of one check, as the plugin declared it.
pub type CheckInfo = types::CheckInfo;
/// One verdict, as the plugin returned it (validated).
pub type Finding = types::Finding;
pub use types::{Severity, Status};

/// A loaded check pack.
pub struct Plugin {
    /// Name (file stem).
    pub name: String,
    /// Version (from the crate, or `0.0.0` when unknown).
    pub version: String,
    /// Hex SHA-256 of the component bytes.
    pub sha256: String,
    /// Checks it provides.
    pub checks: Vec<CheckInfo>,
    pre: bindings::CheckPackPre<HostState>,
}

/// Loads plugins and runs their checks.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<HostState>,
    plugins: Vec<Plugin>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl PluginHost {
    /// A host with no plugins yet.
    pub fn new() -> Result<Self, PluginError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(512 * 1024);
        let engine = Engine::new(&config).map_err(|e| PluginError::Load {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        let mut linker = Linker::new(&engine);
        let link = |e: wasmtime::Error| PluginError::Load {
            path: PathBuf::new(),
            message: e.to_string(),
        };
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link)?;
        bindings::CheckPack::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(link)?;

        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (ticker_engine, stop) = (engine.clone(), stop_ticker.clone());
        std::thread::Builder::new()
            .name("citadel-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    ticker_engine.increment_epoch();
                }
            })
            .map_err(|e| PluginError::Load {
                path: PathBuf::new(),
                message: format!("cannot start the epoch thread: {e}"),
            })?;
        Ok(Self {
            engine,
            linker,
            plugins: Vec::new(),
            stop_ticker,
        })
    }

    /// Load every `*.wasm` in `dir`, in name order.
    pub fn load_dir(&mut self, dir: &Path) -> Result<(), PluginError> {
        let read = |source| PluginError::Read {
            path: dir.into(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        paths.sort();
        for path in paths {
            self.load(&path)?;
        }
        Ok(())
    }

    /// Compile and pre-link one component, and read its check list.
    pub fn load(&mut self, path: &Path) -> Result<&Plugin, PluginError> {
        let bytes = std::fs::read(path).map_err(|source| PluginError::Read {
            path: path.into(),
            source,
        })?;
        let load_err = |e: wasmtime::Error| PluginError::Load {
            path: path.into(),
            message: format!("{e:#}"),
        };
        let component = Component::new(&self.engine, &bytes).map_err(load_err)?;
        let pre = self.linker.instantiate_pre(&component).map_err(load_err)?;
        let pre = bindings::CheckPackPre::new(pre).map_err(load_err)?;
        let mut plugin = Plugin {
            name: String::new(),
            version: String::new(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            checks: Vec::new(),
            pre,
        };
        let (info, checks) = self
            .call(&plugin, BTreeSet::new(), Arc::default(), |pack, store| {
                Ok((pack.call_info(&mut *store)?, pack.call_checks(store)?))
            })
            .map_err(|e| PluginError::Load {
                path: path.into(),
                message: format!("listing checks failed: {e}"),
            })?;
        plugin.name = truncate(info.name);
        plugin.version = truncate(info.version);
        plugin.checks = checks;
        self.plugins.push(plugin);
        Ok(self.plugins.last().expect("just pushed"))
    }

    /// The loaded plugins.
    pub fn plugins(&self) -> &[Plugin] {
        &self.plugins
    }

    /// Run one check of one plugin over `inventory`.
    ///
    /// Only the kinds the check declared in `reads` are visible to it. Findings
    /// are validated: they must name this check and a resource the check could see.
    pub fn evaluate(
        &self,
        plugin: &Plugin,
        check: &CheckInfo,
        inventory: &Arc<InventoryView>,
    ) -> Result<Vec<Finding>, PluginError> {
        let allowed: BTreeSet<String> = check.reads.iter().cloned().collect();
        let id = check.id.clone();
        let findings = self.call(plugin, allowed.clone(), inventory.clone(), |pack, store| {
            pack.call_evaluate(store, &id)
        })?;
        let findings = findings.map_err(|e| PluginError::Guest(truncate(e)))?;
        if findings.len() > MAX_FINDINGS {
            return Err(PluginError::Output(format!(
                "{} findings exceed the limit of {MAX_FINDINGS}",
                findings.len()
            )));
        }
        let mut seen = BTreeSet::new();
        for f in &findings {
            if !seen.insert(f.resource_uid.as_str()) {
                return Err(PluginError::Output(format!(
                    "two findings for resource {:?}",
                    truncate(f.resource_uid.clone())
                )));
            }
            if f.check_id != check.id {
                return Err(PluginError::Output(format!(
                    "finding names check {:?} while evaluating {:?}",
                    truncate(f.check_id.clone()),
                    check.id
                )));
            }
            if f.status_extended.len() > MAX_TEXT {
                return Err(PluginError::Output("status text longer than 16 KiB".into()));
            }
            if !inventory.visible(&allowed, &f.resource_uid) {
                return Err(PluginError::Output(format!(
                    "finding for unknown resource {:?}",
                    truncate(f.resource_uid.clone())
                )));
            }
        }
        Ok(findings)
    }

    fn call<R>(
        &self,
        plugin: &Plugin,
        allowed: BTreeSet<String>,
        inventory: Arc<InventoryView>,
        f: impl FnOnce(&bindings::CheckPack, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let state = HostState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(DEFAULT_MEMORY_LIMIT)
                .instances(16)
                .tables(64)
                .memories(16)
                .build(),
            allowed,
            inventory,
            plugin: plugin.name.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(deadline_ticks(DEFAULT_DEADLINE));
        store.epoch_deadline_trap();
        let result = plugin
            .pre
            .instantiate(&mut store)
            .and_then(|pack| f(&pack, &mut store));
        result.map_err(|e| classify(e, &store))
    }
}

fn deadline_ticks(d: Duration) -> u64 {
    (d.as_millis() / TICK.as_millis()).max(1) as u64
}

fn classify(e: wasmtime::Error, store: &Store<HostState>) -> PluginError {
    let _ = store;
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => PluginError::Timeout(DEFAULT_DEADLINE),
            wasmtime::Trap::StackOverflow => PluginError::Trap("stack overflow".into()),
            other => {
                let msg = format!("{e:#}");
                if msg.contains("memory") && matches!(other, wasmtime::Trap::UnreachableCodeReached)
                {
                    PluginError::OutOfMemory(DEFAULT_MEMORY_LIMIT >> 20)
                } else {
                    PluginError::Trap(truncate(format!("{other}")))
                }
            }
        };
    }
    let msg = format!("{e:#}");
    if msg.contains("memory") && msg.contains("limit") {
        PluginError::OutOfMemory(DEFAULT_MEMORY_LIMIT >> 20)
    } else {
        PluginError::Trap(truncate(msg))
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > 512 {
        let mut cut = 512;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// The inventory as plugins see it: resources by kind, plus audit settings.
#[derive(Default)]
pub struct InventoryView {
    by_kind: BTreeMap<String, Vec<types::Resource>>,
    uids: BTreeMap<String, String>,
    audit: BTreeMap<String, String>,
}

impl InventoryView {
    /// Index discovered resources for plugin calls.
    pub fn new(resources: &[Resource], audit: BTreeMap<String, String>) -> Self {
        let mut by_kind: BTreeMap<String, Vec<types::Resource>> = BTreeMap::new();
        let mut uids = BTreeMap::new();
        for r in resources {
            uids.insert(r.uid.clone(), r.kind.to_string());
            by_kind
                .entry(r.kind.to_string())
                .or_default()
                .push(types::Resource {
                    uid: r.uid.clone(),
                    id: r.id.clone(),
                    kind: r.kind.to_string(),
                    region: r.region.clone(),
                    account: r.account.clone(),
                    name: r.name.clone(),
                    tags: r.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    document: r.document.clone(),
                });
        }
        Self {
            by_kind,
            uids,
            audit,
        }
    }

    fn visible(&self, allowed: &BTreeSet<String>, uid: &str) -> bool {
        self.uids
            .get(uid)
            .is_some_and(|kind| allowed.contains(kind))
    }
}

/// Per-evaluation store data.
struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    allowed: BTreeSet<String>,
    inventory: Arc<InventoryView>,
    plugin: String,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl inventory::Host for HostState {
    fn resources(&mut self, kind: String) -> Vec<types::Resource> {
        if !self.allowed.contains(&kind) {
            return Vec::new();
        }
        self.inventory
            .by_kind
            .get(&kind)
            .cloned()
            .unwrap_or_default()
    }

    fn config(&mut self, key: String) -> Option<String> {
        self.inventory.audit.get(&key).cloned()
    }
}

impl log::Host for HostState {
    fn emit(&mut self, level: log::Level, message: String) {
        let message = truncate(message);
        let plugin = &self.plugin;
        match level {
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}
