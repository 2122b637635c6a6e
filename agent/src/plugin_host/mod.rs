//! The plugin host: runs check-pack components in a wasmtime sandbox.
//!
//! One [`Engine`] per host. Each component is verified (publisher signature,
//! see [`trust`]), compiled once (and cached on disk, see [`cache`]) and
//! pre-linked ([`InstancePre`]); every evaluation gets a fresh [`Store`] with
//! the pack's [`Limits`]: memory (all of the component's memories together),
//! wall clock, fuel, and the size of what crosses the boundary, checked before
//! the host copies it (see [`abi`]).
//!
//! The deadline holds for everything done on a plugin's behalf. Guest code is
//! interrupted by epoch ticks; host calls that wait (a WASI sleep or poll) run
//! as async host functions, and the whole evaluation is a future under a
//! timeout on the host's own single-threaded runtime, so a plugin blocked in
//! `std::thread::sleep` is dropped at its deadline like one spinning in a loop.
//!
//! Which pack runs a check id two packs declare is the operator's choice
//! ([`HostOptions::owners`]); without one, neither runs it and the conflict
//! is reported, so the outcome never depends on file names. Kinds that hold
//! secrets ([`SECRET_KINDS`]) are served only to packs listed in
//! [`HostOptions::read_secrets`].
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

mod abi;
pub mod cache;
mod inventory;
pub mod limits;
mod state;
pub mod trust;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Instance, InstancePre, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::HostWallClock;
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use abi::{Budget, List, RawCheckInfo, RawEvaluation, RawPackInfo, Refused};
pub use abi::{CheckInfo, Finding, HostResource, Severity, Status};
pub use inventory::InventoryView;
use limits::Limiter;
pub use limits::{LimitOverrides, Limits};
use state::HostState;
pub use trust::{Publisher, Signer, TrustError};

/// Inventory kinds whose documents may hold secrets (user data scripts):
/// served only to packs the operator lists in [`HostOptions::read_secrets`],
/// and not discovered at all when no loaded pack may read them.
pub const SECRET_KINDS: &[&str] = &[
    crate::discovery::INSTANCE_USER_DATA,
    crate::discovery::LAUNCH_TEMPLATE_USER_DATA,
];

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
/// Host memory a pack's name, version and check list may take.
const MAX_CHECKS_BYTES: usize = 64 << 20;
/// Longest string in a pack's check list.
const MAX_CHECK_TEXT: usize = 64 << 10;
/// Most kinds one check may read, and most requirement ids it may map to.
const MAX_READS: usize = 64;
const MAX_REQUIREMENTS: usize = 4096;

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
    /// The check reads a kind its pack may not read.
    #[error("denied: {0}")]
    Denied(String),
    /// Several packs declare a check and no owner is configured: none runs it.
    #[error(
        "check {check} is declared by {}; none runs it until [plugins] owners names one",
        packs.join(" and ")
    )]
    Contested {
        /// The check id.
        check: String,
        /// Packs declaring it.
        packs: Vec<String>,
    },
}

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
    /// Check id → the pack that runs it, for ids several packs declare.
    pub owners: BTreeMap<String, String>,
    /// Packs that may read [`SECRET_KINDS`].
    pub read_secrets: BTreeSet<String>,
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
    /// Checks it runs: those it declares, less those another pack owns.
    pub checks: Vec<CheckInfo>,
    /// Limits of its evaluations.
    pub limits: Limits,
    /// Every check it declares.
    declared: Vec<CheckInfo>,
    pre: InstancePre<HostState>,
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
    /// Drives evaluations (timers of WASI sleeps, the deadline). Only `None`
    /// once dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
        // Hosts are dropped from async code too, where a blocking shutdown panics.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
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
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(setup_error)?;
        state::add_to_linker(&mut linker).map_err(setup_error)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| setup_error(format!("cannot start the plugin runtime: {e}")))?;
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
            runtime: Some(runtime),
        })
    }

    /// Load every `*.wasm` in `dir`. A component that cannot be loaded is
    /// skipped and reported; the others still load. Check ids claimed by
    /// several packs without a configured owner are reported too (none of
    /// those packs runs them), as are owners naming a pack that does not
    /// declare the check.
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
        for (check, packs) in self.contested() {
            let error = PluginError::Contested { check, packs };
            tracing::error!(%error, "Check not run.");
            failures.push(LoadFailure {
                path: dir.into(),
                error,
            });
        }
        for (check, owner) in &self.options.owners {
            let declares = |p: &Plugin| p.declared.iter().any(|c| &c.id == check);
            if !self.plugins.iter().any(|p| &p.name == owner && declares(p)) {
                tracing::warn!(
                    check,
                    owner,
                    "[plugins] owners names a pack that does not provide this check; ignored."
                );
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
        let limits = self.options.default_limits;
        let (info, checks) = self
            .call(
                &pre,
                "",
                &limits,
                BTreeSet::new(),
                Arc::default(),
                async |store, instance, deadline| {
                    let _budget = Budget::new(MAX_CHECKS_BYTES, MAX_CHECK_TEXT, deadline).enter();
                    let info = instance
                        .get_typed_func::<(), (RawPackInfo,)>(&mut *store, "info")?
                        .call_async(&mut *store, ())
                        .await?
                        .0;
                    let checks = instance
                        .get_typed_func::<(), (List<RawCheckInfo>,)>(&mut *store, "checks")?
                        .call_async(&mut *store, ())
                        .await?
                        .0;
                    Ok((info, checks))
                },
            )
            .map_err(|e| PluginError::Load {
                path: path.into(),
                message: format!("listing checks failed: {e}"),
            })?;
        let (name, version) = (info.name.0, info.version.0);
        let checks: Vec<CheckInfo> = checks.0.into_iter().map(CheckInfo::from).collect();
        let bad = |message: String| PluginError::Load {
            path: path.into(),
            message,
        };
        validate_name(&name).map_err(|m| bad(format!("pack name: {m}")))?;
        if version.is_empty() || version.len() > 64 {
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
            let requirements: usize = c.requirements.iter().map(|(_, ids)| ids.len()).sum();
            if c.reads.len() > MAX_READS || requirements > MAX_REQUIREMENTS {
                return Err(bad(format!(
                    "check {}: at most {MAX_READS} kinds read and {MAX_REQUIREMENTS} requirement ids",
                    c.id
                )));
            }
        }
        if let Some(other) = self.plugins.iter().find(|p| p.name == name) {
            return Err(bad(format!(
                "a pack named {:?} is already loaded from {}",
                name,
                other.path.display()
            )));
        }
        let limits = self
            .options
            .pack_limits
            .get(&name)
            .copied()
            .unwrap_or(self.options.default_limits);
        let plugin = Plugin {
            name,
            version,
            sha256,
            signer,
            path: path.into(),
            checks: Vec::new(),
            limits,
            declared: checks,
            pre,
        };
        tracing::info!(plugin = %plugin.name, version = %plugin.version, checks = plugin.declared.len(),
            signer = plugin.signer.as_ref().map(|s| s.publisher.as_str()).unwrap_or("unsigned"), "Plugin loaded.");
        self.plugins.push(plugin);
        self.resolve_owners();
        Ok(self.plugins.last().expect("just pushed"))
    }

    /// Give every declared check id to one pack: the only one declaring it,
    /// or the owner configured for it; an id several packs declare without a
    /// configured owner (among them) goes to none.
    fn resolve_owners(&mut self) {
        let mut claims: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for p in &self.plugins {
            for c in &p.declared {
                claims.entry(&c.id).or_default().push(&p.name);
            }
        }
        let winners: BTreeMap<String, String> = claims
            .into_iter()
            .filter_map(|(id, packs)| {
                let winner = match packs[..] {
                    [one] => Some(one),
                    _ => self
                        .options
                        .owners
                        .get(id)
                        .map(String::as_str)
                        .filter(|o| packs.contains(o)),
                };
                winner.map(|w| (id.to_string(), w.to_string()))
            })
            .collect();
        for p in &mut self.plugins {
            p.checks = p
                .declared
                .iter()
                .filter(|c| winners.get(&c.id) == Some(&p.name))
                .cloned()
                .collect();
        }
    }

    /// Check ids several loaded packs declare that no configured owner
    /// settles, with the packs declaring each; none of them runs these.
    pub fn contested(&self) -> Vec<(String, Vec<String>)> {
        let mut claims: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for p in &self.plugins {
            for c in &p.declared {
                claims.entry(&c.id).or_default().push(p.name.clone());
            }
        }
        let owned: BTreeSet<&str> = self
            .plugins
            .iter()
            .flat_map(|p| &p.checks)
            .map(|c| c.id.as_str())
            .collect();
        claims
            .into_iter()
            .filter(|(id, packs)| packs.len() > 1 && !owned.contains(id))
            .map(|(id, packs)| (id.to_string(), packs))
            .collect()
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
            plugin.declared.retain(|c| keep(&c.id));
        }
        self.plugins.retain(|p| !p.checks.is_empty());
    }

    /// Every resource kind some loaded check reads and may be served:
    /// [`SECRET_KINDS`] only for packs allowed to read them.
    pub fn required_kinds(&self) -> BTreeSet<String> {
        self.plugins
            .iter()
            .flat_map(|p| p.checks.iter().map(move |c| (p, c)))
            .flat_map(|(p, c)| c.reads.iter().filter(move |k| self.may_read(p, k)).cloned())
            .collect()
    }

    fn may_read(&self, plugin: &Plugin, kind: &str) -> bool {
        !SECRET_KINDS.contains(&kind) || self.options.read_secrets.contains(&plugin.name)
    }

    /// Run one check of one plugin over `inventory`.
    ///
    /// Only the kinds the check declared in `reads` are visible to it, and a
    /// check reading a secret kind its pack may not read is not run at all.
    /// Findings are validated: they must name the check being run, name
    /// resources the check could see, once each, and stay within the pack's
    /// size limits, which are checked before each copy out of the plugin.
    pub fn evaluate(
        &self,
        plugin: &Plugin,
        check: &CheckInfo,
        inventory: &Arc<InventoryView>,
    ) -> Result<Vec<Finding>, PluginError> {
        if let Some(kind) = check.reads.iter().find(|k| !self.may_read(plugin, k)) {
            return Err(PluginError::Denied(format!(
                "reads {kind}, which may hold secrets; list {:?} in [plugins] read_secrets to allow it",
                plugin.name
            )));
        }
        let allowed: BTreeSet<String> = check.reads.iter().cloned().collect();
        let limits = plugin.limits;
        let id = check.id.as_str();
        let outcome = self.call(
            &plugin.pre,
            &plugin.name,
            &limits,
            allowed.clone(),
            inventory.clone(),
            async |store, instance, deadline| {
                let _budget =
                    Budget::new(limits.max_output_bytes, limits.max_text_bytes, deadline).enter();
                Ok(instance
                    .get_typed_func::<(&str,), (RawEvaluation,)>(&mut *store, "evaluate")?
                    .call_async(&mut *store, (id,))
                    .await?
                    .0)
            },
        )?;
        let findings: Vec<Finding> = match outcome {
            Ok(list) => list.0.into_iter().map(Finding::from).collect(),
            Err(message) => return Err(PluginError::Guest(truncate(message.0))),
        };
        if findings.len() > limits.max_findings {
            return Err(PluginError::Output(format!(
                "{} findings exceed the limit of {}",
                findings.len(),
                limits.max_findings
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

    /// Instantiate `pre` in a fresh store under `limits` and run `op` on it,
    /// all within the deadline: `op` gets it to bound its own copying.
    fn call<R>(
        &self,
        pre: &InstancePre<HostState>,
        plugin: &str,
        limits: &Limits,
        allowed: BTreeSet<String>,
        inventory: Arc<InventoryView>,
        op: impl AsyncFnOnce(&mut Store<HostState>, Instance, Instant) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
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
            limiter: Limiter::new(limits),
            allowed,
            inventory,
            plugin: plugin.to_string(),
            last_error: None,
            log_lines: 0,
            log_bytes: 0,
            log_limit_said: false,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline((limits.timeout.as_millis() / TICK.as_millis()).max(1) as u64 + 1);
        store.epoch_deadline_trap();
        store.set_fuel(limits.fuel).expect("fuel is enabled");
        let deadline = Instant::now() + limits.timeout;
        let run = async {
            let instance = pre.instantiate_async(&mut store).await?;
            op(&mut store, instance, deadline).await
        };
        // The epoch deadline stops guest code; this one stops host waits. The
        // small grace lets the epoch trap, the more precise report, win a tie.
        let runtime = self.runtime.as_ref().expect("only None once dropped");
        let result =
            runtime.block_on(async { tokio::time::timeout(limits.timeout + 2 * TICK, run).await });
        for (stream, pipe) in [("stdout", &stdout), ("stderr", &stderr)] {
            let text = pipe.contents();
            if !text.is_empty() {
                let text = truncate(String::from_utf8_lossy(&text).into_owned());
                tracing::info!(plugin, stream, "{}", text.trim_end());
            }
        }
        match result {
            Ok(r) => r.map_err(|e| classify(e, &store, limits)),
            Err(_elapsed) => Err(PluginError::Timeout(limits.timeout)),
        }
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
    match e.downcast_ref::<Refused>() {
        Some(Refused::Output(m)) => return PluginError::Output(m.clone()),
        Some(Refused::Timeout) => return PluginError::Timeout(limits.timeout),
        None => {}
    }
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
