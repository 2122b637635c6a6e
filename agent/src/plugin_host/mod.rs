//! The plugin host: runs check-pack components in a wasmtime sandbox.
//!
//! One [`Engine`] per host. Each component is verified (publisher signature,
//! see [`trust`]), compiled once (and cached on disk, see [`cache`]) and
//! pre-linked ([`InstancePre`]); every evaluation gets a fresh [`Store`] with
//! the pack's [`Limits`]: memory, wall clock (epoch interruption), fuel, and
//! the size of what crosses the boundary.
//!
//! What a plugin can reach: the `inventory` and `log` imports of `wit/`, and
//! the WASI interfaces the Rust standard library links against, backed by
//! nothing: no preopened directories, no sockets or name lookup, no
//! environment variables or arguments, empty stdin. Its stdout and stderr go
//! to bounded in-memory pipes whose contents are logged after the call. The
//! wall clock is frozen at the scan's start so checks that compare ages are
//! reproducible within a scan; randomness is available (harmless and some
//! hash maps want it).
//!
//! [`InstancePre`]: wasmtime::component::InstancePre

pub mod cache;
pub mod limits;
pub mod trust;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxView, WasiView};

use crate::discovery::Resource;
use limits::Limiter;
pub use limits::{LimitOverrides, Limits};
pub use trust::{Publisher, Signer, TrustError};

mod bindings {
    wasmtime::component::bindgen!({
        world: "check-pack",
        path: "../wit",
    });
}

use bindings::citadel::checks::{inventory, log, types};

/// Epoch tick period; deadlines are counted in ticks.
const TICK: Duration = Duration::from_millis(10);
/// Largest component file accepted.
const MAX_COMPONENT_BYTES: u64 = 64 << 20;
/// Most checks one pack may declare.
const MAX_CHECKS: usize = 10_000;
/// Bytes of stdout/stderr kept per evaluation.
const PIPE_CAPACITY: usize = 64 << 10;
/// Native stack available to wasm code.
const MAX_WASM_STACK: usize = 512 << 10;

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
    /// Signature missing, wrong, or from an untrusted key.
    #[error("{path} refused: {error}")]
    Untrusted {
        /// Component path.
        path: PathBuf,
        /// What is wrong with the signature.
        error: TrustError,
    },
    /// Not a valid component, or it does not implement `citadel:checks/check-pack`.
    #[error("{path} is not a usable check pack: {message}")]
    Load {
        /// Component path.
        path: PathBuf,
        /// Compiler or linker message.
        message: String,
    },
    /// The guest trapped (panic, unreachable, stack overflow …).
    #[error("trap: {0}")]
    Trap(String),
    /// The evaluation ran past its deadline.
    #[error("timeout: evaluation exceeded {0:?}")]
    Timeout(Duration),
    /// The evaluation ran out of fuel.
    #[error("fuel: evaluation used up its budget of {0} units")]
    Fuel(u64),
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
/// A resource as plugins receive it.
pub type HostResource = types::Resource;
pub use types::{Severity, Status};

/// How the host treats plugins.
#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    /// Keys whose signatures are accepted.
    pub trusted: Vec<Publisher>,
    /// Load unsigned components (local development only). A component that
    /// has a signature must still verify.
    pub allow_unsigned: bool,
    /// Limits for packs without their own.
    pub default_limits: Limits,
    /// Limits by pack name.
    pub pack_limits: BTreeMap<String, Limits>,
    /// Where compiled components are cached; none disables the cache.
    pub cache_dir: Option<PathBuf>,
}

/// A loaded check pack.
pub struct Plugin {
    /// Name the pack declares.
    pub name: String,
    /// Version the pack declares.
    pub version: String,
    /// Hex SHA-256 of the component bytes.
    pub sha256: String,
    /// Who signed it; `None` only when unsigned plugins are allowed.
    pub signer: Option<Signer>,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// Checks it provides.
    pub checks: Vec<CheckInfo>,
    /// Limits of its evaluations.
    pub limits: Limits,
    pre: bindings::CheckPackPre<HostState>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("sha256", &self.sha256)
            .field("checks", &self.checks.len())
            .finish_non_exhaustive()
    }
}

/// A component in the plugins directory that was not loaded.
#[derive(Debug)]
pub struct LoadFailure {
    /// The component.
    pub path: PathBuf,
    /// Why.
    pub error: PluginError,
}

/// Loads plugins and runs their checks.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<HostState>,
    options: HostOptions,
    cache: Option<cache::Cache>,
    plugins: Vec<Plugin>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

fn setup_error(e: impl std::fmt::Display) -> PluginError {
    PluginError::Load {
        path: PathBuf::new(),
        message: e.to_string(),
    }
}

impl PluginHost {
    /// A host with no plugins yet.
    pub fn new(options: HostOptions) -> Result<Self, PluginError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.consume_fuel(true);
        config.max_wasm_stack(MAX_WASM_STACK);
        let engine = Engine::new(&config).map_err(setup_error)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(setup_error)?;
        bindings::CheckPack::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(setup_error)?;
        let cache = match &options.cache_dir {
            Some(dir) => match cache::Cache::open(dir, &engine) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "Plugin cache unavailable.");
                    None
                }
            },
            None => None,
        };

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
            .map_err(|e| setup_error(format!("cannot start the epoch thread: {e}")))?;
        Ok(Self {
            engine,
            linker,
            options,
            cache,
            plugins: Vec::new(),
            stop_ticker,
        })
    }

    /// Load every `*.wasm` in `dir`, in name order. A component that cannot
    /// be loaded is skipped and reported; the others still load.
    pub fn load_dir(&mut self, dir: &Path) -> Result<Vec<LoadFailure>, PluginError> {
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
        let mut failures = Vec::new();
        for path in paths {
            if let Err(error) = self.load(&path) {
                tracing::error!(plugin = %path.display(), %error, "Plugin not loaded.");
                failures.push(LoadFailure { path, error });
            }
        }
        Ok(failures)
    }

    /// Verify, compile and pre-link one component, and read its check list.
    pub fn load(&mut self, path: &Path) -> Result<&Plugin, PluginError> {
        let bytes = self.read_component(path)?;
        let untrusted = |error| PluginError::Untrusted {
            path: path.into(),
            error,
        };
        let signer = match trust::read_sig(path).map_err(untrusted)? {
            Some(sig) => {
                Some(trust::verify(&bytes, &sig, &self.options.trusted).map_err(untrusted)?)
            }
            None if self.options.allow_unsigned => {
                tracing::warn!(plugin = %path.display(), "Loading an unsigned plugin (allow_unsigned_plugins).");
                None
            }
            None => {
                return Err(untrusted(TrustError::Unsigned(
                    trust::sig_path(path).display().to_string(),
                )));
            }
        };
        self.load_verified(path, &bytes, signer)
    }

    /// Load a component without looking at its signature: for authors'
    /// tools (`plugin test`, `inspect`, `bench`), never for scans.
    pub fn load_unchecked(&mut self, path: &Path) -> Result<&Plugin, PluginError> {
        let bytes = self.read_component(path)?;
        self.load_verified(path, &bytes, None)
    }

    fn read_component(&self, path: &Path) -> Result<Vec<u8>, PluginError> {
        let read = |source| PluginError::Read {
            path: path.into(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read)?.len();
        if size > MAX_COMPONENT_BYTES {
            return Err(PluginError::Load {
                path: path.into(),
                message: format!(
                    "{size} bytes is larger than the {MAX_COMPONENT_BYTES}-byte limit"
                ),
            });
        }
        std::fs::read(path).map_err(read)
    }

    fn load_verified(
        &mut self,
        path: &Path,
        bytes: &[u8],
        signer: Option<Signer>,
    ) -> Result<&Plugin, PluginError> {
        let load_err = |e: wasmtime::Error| PluginError::Load {
            path: path.into(),
            message: format!("{e:#}"),
        };
        let sha256 = hex::encode(Sha256::digest(bytes));
        let component = match self
            .cache
            .as_ref()
            .and_then(|c| c.load(&self.engine, &sha256))
        {
            Some(c) => c,
            None => {
                let c = Component::new(&self.engine, bytes).map_err(load_err)?;
                if let Some(cache) = &self.cache {
                    cache.store(&sha256, &c);
                }
                c
            }
        };
        let pre = self.linker.instantiate_pre(&component).map_err(load_err)?;
        let pre = bindings::CheckPackPre::new(pre).map_err(load_err)?;
        let mut plugin = Plugin {
            name: String::new(),
            version: String::new(),
            sha256,
            signer,
            path: path.into(),
            checks: Vec::new(),
            limits: self.options.default_limits,
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
        let bad = |message: String| PluginError::Load {
            path: path.into(),
            message,
        };
        validate_name(&info.name).map_err(|m| bad(format!("pack name: {m}")))?;
        if info.version.is_empty() || info.version.len() > 64 {
            return Err(bad("pack version must be 1–64 characters".into()));
        }
        if checks.is_empty() || checks.len() > MAX_CHECKS {
            return Err(bad(format!(
                "declares {} checks (1–{MAX_CHECKS} allowed)",
                checks.len()
            )));
        }
        let mut ids = BTreeSet::new();
        for c in &checks {
            validate_name(&c.id).map_err(|m| bad(format!("check id: {m}")))?;
            if !ids.insert(c.id.clone()) {
                return Err(bad(format!("check {} is declared twice", c.id)));
            }
            let text = c.title.len() + c.description.len() + c.remediation.len();
            if text > 64 << 10 {
                return Err(bad(format!("check {}: metadata larger than 64 KiB", c.id)));
            }
        }
        if let Some(other) = self.plugins.iter().find(|p| p.name == info.name) {
            return Err(bad(format!(
                "a pack named {:?} is already loaded from {}",
                info.name,
                other.path.display()
            )));
        }
        if let Some(clash) = self
            .plugins
            .iter()
            .flat_map(|p| &p.checks)
            .find(|c| ids.contains(&c.id))
        {
            return Err(bad(format!(
                "check {} is already provided by another pack",
                clash.id
            )));
        }
        plugin.limits = self
            .options
            .pack_limits
            .get(&info.name)
            .copied()
            .unwrap_or(self.options.default_limits);
        plugin.name = info.name;
        plugin.version = info.version;
        plugin.checks = checks;
        tracing::info!(plugin = %plugin.name, version = %plugin.version, checks = plugin.checks.len(),
            signer = plugin.signer.as_ref().map(|s| s.publisher.as_str()).unwrap_or("unsigned"), "Plugin loaded.");
        self.plugins.push(plugin);
        Ok(self.plugins.last().expect("just pushed"))
    }

    /// The loaded plugins.
    pub fn plugins(&self) -> &[Plugin] {
        &self.plugins
    }

    /// Keep only the checks whose id `keep` accepts, e.g. a selection of
    /// checks to run; plugins left without checks are dropped.
    pub fn retain_checks(&mut self, keep: impl Fn(&str) -> bool) {
        for plugin in &mut self.plugins {
            plugin.checks.retain(|c| keep(&c.id));
        }
        self.plugins.retain(|p| !p.checks.is_empty());
    }

    /// Every resource kind some loaded check reads.
    pub fn required_kinds(&self) -> BTreeSet<String> {
        self.plugins
            .iter()
            .flat_map(|p| &p.checks)
            .flat_map(|c| c.reads.iter().cloned())
            .collect()
    }

    /// Run one check of one plugin over `inventory`.
    ///
    /// Only the kinds the check declared in `reads` are visible to it. Findings
    /// are validated: they must name the check being run, name resources the
    /// check could see, once each, and stay within the pack's size limits.
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
        let max_text = plugin.limits.max_text_bytes;
        let findings = findings.map_err(|e| PluginError::Guest(truncate(e)))?;
        if findings.len() > plugin.limits.max_findings {
            return Err(PluginError::Output(format!(
                "{} findings exceed the limit of {}",
                findings.len(),
                plugin.limits.max_findings
            )));
        }
        let mut seen = BTreeSet::new();
        for f in &findings {
            if f.check_id != check.id {
                return Err(PluginError::Output(format!(
                    "finding names check {:?} while evaluating {:?}",
                    truncate(f.check_id.clone()),
                    check.id
                )));
            }
            if f.status_extended.len() > max_text || f.resource_uid.len() > max_text {
                return Err(PluginError::Output(format!(
                    "a finding has a string longer than {max_text} bytes"
                )));
            }
            if !inventory.visible(&allowed, &f.resource_uid) {
                return Err(PluginError::Output(format!(
                    "finding for unknown resource {:?}",
                    truncate(f.resource_uid.clone())
                )));
            }
            if !seen.insert(f.resource_uid.as_str()) {
                return Err(PluginError::Output(format!(
                    "two findings for resource {:?}",
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
        let limits = plugin.limits;
        let stdout = MemoryOutputPipe::new(PIPE_CAPACITY);
        let stderr = MemoryOutputPipe::new(PIPE_CAPACITY);
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenClock(inventory.now))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter::new(&limits),
            allowed,
            inventory,
            plugin: plugin.name.clone(),
            last_error: None,
            log_lines: 0,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline((limits.timeout.as_millis() / TICK.as_millis()).max(1) as u64 + 1);
        store.epoch_deadline_trap();
        store.set_fuel(limits.fuel).expect("fuel is enabled");
        let result = plugin
            .pre
            .instantiate(&mut store)
            .and_then(|pack| f(&pack, &mut store));
        for (stream, pipe) in [("stdout", &stdout), ("stderr", &stderr)] {
            let text = pipe.contents();
            if !text.is_empty() {
                let text = truncate(String::from_utf8_lossy(&text).into_owned());
                tracing::info!(plugin = %plugin.name, stream, "{}", text.trim_end());
            }
        }
        result.map_err(|e| classify(e, &store, &limits))
    }
}

/// A wall clock stopped at one instant.
struct FrozenClock(Duration);

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

fn validate_name(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 128 {
        return Err(format!(
            "{:?} must be 1–128 characters",
            truncate(s.to_string())
        ));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "{s:?} may hold only letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

fn classify(e: wasmtime::Error, store: &Store<HostState>, limits: &Limits) -> PluginError {
    let state = store.data();
    if state.limiter.memory_refused {
        return PluginError::OutOfMemory(limits.memory_bytes >> 20);
    }
    let detail = state
        .last_error
        .as_deref()
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => PluginError::Timeout(limits.timeout),
        Some(wasmtime::Trap::OutOfFuel) => PluginError::Fuel(limits.fuel),
        Some(wasmtime::Trap::StackOverflow) => PluginError::Trap("stack overflow".into()),
        Some(trap) => PluginError::Trap(truncate(format!("{trap}{detail}"))),
        None => PluginError::Trap(truncate(format!("{e:#}{detail}"))),
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
    /// Kinds of each uid; per-region account settings share one uid across kinds.
    uids: BTreeMap<String, BTreeSet<String>>,
    audit: BTreeMap<String, String>,
    /// What the plugin's wall clock says: the scan's start, since the Unix epoch.
    now: Duration,
}

impl InventoryView {
    /// Index discovered resources for plugin calls.
    pub fn new(resources: &[Resource], audit: BTreeMap<String, String>) -> Self {
        let resources = resources
            .iter()
            .map(|r| types::Resource {
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

    fn visible(&self, allowed: &BTreeSet<String>, uid: &str) -> bool {
        self.uids
            .get(uid)
            .is_some_and(|kinds| kinds.iter().any(|k| allowed.contains(k)))
    }
}

/// Per-evaluation store data.
struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    allowed: BTreeSet<String>,
    inventory: Arc<InventoryView>,
    plugin: String,
    /// The last error the plugin logged (its panic message, with the SDK).
    last_error: Option<String>,
    log_lines: usize,
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

/// Log lines kept per evaluation; the rest are dropped.
const MAX_LOG_LINES: usize = 1000;

impl log::Host for HostState {
    fn emit(&mut self, level: log::Level, message: String) {
        let message = truncate(message);
        if matches!(level, log::Level::Error) {
            self.last_error = Some(message.clone());
        }
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            if self.log_lines == MAX_LOG_LINES + 1 {
                tracing::warn!(plugin = %self.plugin, "Plugin log limit reached; dropping further lines.");
            }
            return;
        }
        let plugin = &self.plugin;
        match level {
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}
