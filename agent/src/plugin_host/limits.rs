//! What one evaluation of a plugin may consume, and the limiter that enforces
//! memory and table growth while recording that a limit was hit (so a trap
//! caused by a refused allocation is reported as `memory`, not as a crash).

use std::time::Duration;

use serde::Deserialize;

/// Limits of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory, per instance and in total.
    pub memory_bytes: usize,
    /// Wall-clock budget.
    pub timeout: Duration,
    /// Fuel (roughly, wasm instructions) budget; deterministic, unlike time.
    pub fuel: u64,
    /// Most findings one evaluation may return.
    pub max_findings: usize,
    /// Longest string accepted from the plugin (status texts, names, ids).
    pub max_text_bytes: usize,
    /// Host memory one evaluation's output may take once copied out of the
    /// plugin (findings, check metadata); checked before each copy.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            timeout: Duration::from_secs(5),
            fuel: 50_000_000_000,
            max_findings: 1_000_000,
            max_text_bytes: 16 << 10,
            max_output_bytes: 256 << 20,
        }
    }
}

/// Overrides as written in `agent.toml` under `[limits.default]` or
/// `[limits.<pack name>]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// Memory cap in MiB.
    pub memory_mib: Option<u64>,
    /// Wall-clock budget in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Fuel budget.
    pub fuel: Option<u64>,
    /// Most findings per evaluation.
    pub max_findings: Option<u64>,
    /// Longest accepted string, in bytes.
    pub max_text_bytes: Option<u64>,
    /// Host memory for one evaluation's output, in MiB.
    pub max_output_mib: Option<u64>,
}

impl LimitOverrides {
    /// Apply on top of `base`, rejecting values outside sane bounds.
    pub fn apply(&self, base: Limits) -> Result<Limits, String> {
        let mut l = base;
        if let Some(m) = self.memory_mib {
            if !(1..=4096).contains(&m) {
                return Err(format!("memory_mib = {m}: must be 1–4096"));
            }
            l.memory_bytes = (m as usize) << 20;
        }
        if let Some(t) = self.timeout_ms {
            if !(10..=3_600_000).contains(&t) {
                return Err(format!("timeout_ms = {t}: must be 10–3600000"));
            }
            l.timeout = Duration::from_millis(t);
        }
        if let Some(f) = self.fuel {
            if f == 0 {
                return Err("fuel must be positive".into());
            }
            l.fuel = f;
        }
        if let Some(n) = self.max_findings {
            if n == 0 || n > 100_000_000 {
                return Err(format!("max_findings = {n}: must be 1–100000000"));
            }
            l.max_findings = n as usize;
        }
        if let Some(n) = self.max_text_bytes {
            if !(64..=16 << 20).contains(&n) {
                return Err(format!("max_text_bytes = {n}: must be 64–16777216"));
            }
            l.max_text_bytes = n as usize;
        }
        if let Some(m) = self.max_output_mib {
            if !(1..=4096).contains(&m) {
                return Err(format!("max_output_mib = {m}: must be 1–4096"));
            }
            l.max_output_bytes = (m as usize) << 20;
        }
        Ok(l)
    }
}

/// Enforces memory and table caps for one store and remembers refusals.
///
/// The memory cap is for the store as a whole: a component may hold several
/// core instances, each with memories of its own, and every growth is charged
/// against the sum of all of them, so sixteen memories do not get sixteen caps.
#[derive(Debug)]
pub struct Limiter {
    memory_bytes: usize,
    /// Bytes of linear memory the store's memories hold together.
    total: usize,
    /// Set when a memory growth was refused.
    pub memory_refused: bool,
}

impl Limiter {
    /// A limiter for `limits`.
    pub fn new(limits: &Limits) -> Self {
        Self {
            memory_bytes: limits.memory_bytes,
            total: 0,
            memory_refused: false,
        }
    }
}

/// Tables (function references) are small; this bounds them anyway.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // `current` is this memory's share of `total` (0 when it is created).
        let total = (self.total - current.min(self.total)).saturating_add(desired);
        if total > self.memory_bytes {
            self.memory_refused = true;
            return Ok(false);
        }
        self.total = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        16
    }
    fn tables(&self) -> usize {
        64
    }
    fn memories(&self) -> usize {
        16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two memories of 40 MiB each under a 64 MiB cap: the second is refused,
    /// because the cap is for all of a store's memories together.
    #[test]
    fn the_memory_cap_covers_all_memories_together() {
        let engine = wasmtime::Engine::default();
        let limits = Limits::default();
        assert_eq!(limits.memory_bytes, 64 << 20);
        let pages = (40 << 20) / 65536;
        let instantiate = |wat: &str| {
            let module = wasmtime::Module::new(&engine, wat).unwrap();
            let mut store = wasmtime::Store::new(&engine, Limiter::new(&limits));
            store.limiter(|l| l);
            let result = wasmtime::Instance::new(&mut store, &module, &[]).map(|_| ());
            (result, store.data().memory_refused)
        };
        let (one, refused) = instantiate(&format!("(module (memory {pages}))"));
        assert!(one.is_ok() && !refused, "{one:?}");
        let (two, refused) = instantiate(&format!("(module (memory {pages}) (memory {pages}))"));
        assert!(two.is_err() && refused, "{two:?}");

        // Growing one memory is charged by the difference, not the new size twice.
        let mut limiter = Limiter::new(&limits);
        use wasmtime::ResourceLimiter;
        assert!(limiter.memory_growing(0, 30 << 20, None).unwrap());
        assert!(limiter.memory_growing(30 << 20, 60 << 20, None).unwrap());
        assert!(!limiter.memory_growing(0, 8 << 20, None).unwrap());
        assert!(limiter.memory_refused);
    }

    #[test]
    fn overrides_apply_and_are_bounded() {
        let o = LimitOverrides {
            memory_mib: Some(128),
            timeout_ms: Some(250),
            ..Default::default()
        };
        let l = o.apply(Limits::default()).unwrap();
        assert_eq!(l.memory_bytes, 128 << 20);
        assert_eq!(l.timeout, Duration::from_millis(250));
        assert_eq!(l.fuel, Limits::default().fuel);
        assert!(
            LimitOverrides {
                memory_mib: Some(0),
                ..Default::default()
            }
            .apply(l)
            .is_err()
        );
        assert!(
            LimitOverrides {
                timeout_ms: Some(1),
                ..Default::default()
            }
            .apply(l)
            .is_err()
        );
    }
}
