//! Retry timing: exponential backoff with full jitter, and `Retry-After`.
//!
//! Full jitter (a delay drawn uniformly from zero to the current ceiling)
//! spreads a fleet of agents that lost the collector at the same moment, so
//! they do not all come back in the same second. The ceiling doubles with
//! each consecutive failure up to a cap and falls back to the base after a
//! success.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// The longest `Retry-After` honoured. A collector (or a proxy in front of
/// it) asking for more is capped, so a bad header cannot park the agent for
/// a week.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Consecutive failures and the ceiling they have reached.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

/// When to try again, and why that long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// How long to wait.
    pub delay: Duration,
    /// The backoff ceiling the delay was drawn under (logged, so that an
    /// operator sees it grow to the cap during an outage).
    pub ceiling: Duration,
    /// Consecutive failures so far, this one included.
    pub attempt: u32,
}

impl Backoff {
    /// Start at `base`, never exceed `cap` (a cap below the base is raised to it).
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap: cap.max(base),
            failures: 0,
        }
    }

    /// A success: the next failure starts from the base again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The ceiling for the next failure: `base · 2^failures`, capped.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Record a failure and draw the delay before the next attempt. A
    /// `Retry-After` from the server is a floor: the agent never comes back
    /// sooner than asked (up to [`MAX_RETRY_AFTER`]).
    pub fn fail(&mut self, retry_after: Option<Duration>, rng: &mut impl Rng) -> Retry {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        let jittered = Duration::from_millis(rng.gen_range(0..=millis(ceiling)));
        let floor = retry_after.unwrap_or_default().min(MAX_RETRY_AFTER);
        Retry {
            delay: jittered.max(floor),
            ceiling,
            attempt: self.failures,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Parse a `Retry-After` header: delay-seconds or an HTTP date (RFC 9110
/// §10.2.3). A date in the past means "now"; anything else is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is still "a long time".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn full_jitter_stays_under_a_ceiling_that_doubles_to_the_cap() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(4));
        let ceilings: Vec<u64> = (0..7)
            .map(|_| {
                let r = b.fail(None, &mut rng);
                assert!(r.delay <= r.ceiling, "{r:?}");
                millis(r.ceiling)
            })
            .collect();
        assert_eq!(ceilings, [500, 1000, 2000, 4000, 4000, 4000, 4000]);
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(500));
        // Many failures neither overflow nor pass the cap.
        for _ in 0..200 {
            assert!(b.fail(None, &mut rng).delay <= Duration::from_secs(4));
        }
    }

    #[test]
    fn jitter_covers_the_whole_range() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let delays: Vec<Duration> = (0..400)
            .map(|_| {
                let mut b = Backoff::new(Duration::from_secs(8), Duration::from_secs(8));
                b.fail(None, &mut rng).delay
            })
            .collect();
        assert!(delays.iter().any(|d| *d < Duration::from_secs(1)));
        assert!(delays.iter().any(|d| *d > Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_is_a_floor_with_a_cap() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(20));
        let r = b.fail(Some(Duration::from_secs(30)), &mut rng);
        assert_eq!(r.delay, Duration::from_secs(30));
        let r = b.fail(Some(Duration::from_secs(86_400 * 7)), &mut rng);
        assert_eq!(r.delay, MAX_RETRY_AFTER);
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let p = |v: &str| parse_retry_after(v, now);
        assert_eq!(p("120"), Some(Duration::from_secs(120)));
        assert_eq!(p(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            p("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            p("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(p("Sun, 06 Nov 1994 08:00:00 GMT"), Some(Duration::ZERO));
        for bad in ["", "-5", "1.5", "soon", "Sun, 06 Nov 1994"] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }
}
