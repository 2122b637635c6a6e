//! Per-client rate limits: a token bucket per key (an agent id, a source
//! address). Refusals carry how long to wait, for `Retry-After`.
//!
//! Kept in memory: a restart forgets them, which only ever lets a client
//! through sooner. With several collectors each applies its own bucket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::config::LimitsConfig;
use crate::ingest::PartLimits;
use crate::revocation::RevokedAgents;

/// The limits the handlers apply, built once from `[limits]`.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Largest batch body, in bytes.
    pub max_batch_bytes: usize,
    /// Time to receive a batch body once its headers are in.
    pub ingest_body_timeout: Duration,
    /// Time for an API request, body included.
    pub api_request_timeout: Duration,
    /// Items per batch part.
    pub parts: PartLimits,
    /// Batches per agent.
    pub agent_rate: RateLimiter,
    /// Enrollment attempts per source address.
    pub enroll_rate: RateLimiter,
    /// Enrollments in progress at once.
    pub enroll_slots: Arc<Semaphore>,
    /// Agents refused at the handshake.
    pub revoked: RevokedAgents,
}

impl Guard {
    /// From the configuration.
    pub fn new(l: &LimitsConfig, max_batch_bytes: usize) -> Self {
        Self {
            max_batch_bytes,
            ingest_body_timeout: Duration::from_secs(l.ingest_body_timeout_secs.max(1)),
            api_request_timeout: Duration::from_secs(l.api_request_timeout_secs.max(1)),
            parts: PartLimits {
                max_assets: l.max_assets_per_part,
                max_results: l.max_results_per_part,
            },
            agent_rate: RateLimiter::new(l.agent_batches_per_minute, l.agent_batch_burst),
            // A few tries at once from one address, then the per-minute rate.
            enroll_rate: RateLimiter::new(l.enrollments_per_minute, l.enrollments_per_minute),
            enroll_slots: Arc::new(Semaphore::new(l.enrollment_concurrency.max(1))),
            revoked: RevokedAgents::default(),
        }
    }
}

impl Default for Guard {
    fn default() -> Self {
        Self::new(
            &LimitsConfig::default(),
            crate::config::DEFAULT_MAX_BATCH_BYTES,
        )
    }
}

/// Keys tracked at most; when full, buckets that have refilled are dropped
/// (they hold no information), so an attacker cycling keys costs a bounded
/// amount of memory.
const MAX_KEYS: usize = 100_000;

/// Token buckets by key, shared by the handlers of one listener.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `per_minute` on average, up to `burst` at once (both at least 1).
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Arc::default(),
        }
    }

    /// Take one token for `key`; `Err(wait)` when there is none yet.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        // A poisoned lock only means another request panicked mid-update of
        // a counter: the counters are still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| b.tokens + rate * now.duration_since(b.at).as_secs_f64() < burst);
        }
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let refilled = b.tokens + self.per_second * now.duration_since(b.at).as_secs_f64();
        b.tokens = refilled.min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_second))
        }
    }
}

/// `Retry-After` in whole seconds, rounded up so a client that honours it
/// finds a token.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_applies_per_key() {
        let l = RateLimiter::new(60, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            l.check_at("a", t0).unwrap();
        }
        let wait = l.check_at("a", t0).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        assert_eq!(retry_after_secs(wait), 1);
        // Another key has its own bucket.
        l.check_at("b", t0).unwrap();
        // One token a second comes back, never more than the burst.
        l.check_at("a", t0 + Duration::from_millis(1001)).unwrap();
        assert!(l.check_at("a", t0 + Duration::from_millis(1002)).is_err());
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            l.check_at("a", later).unwrap();
        }
        assert!(l.check_at("a", later).is_err());
    }
}
