//! The batch chain of each agent, and the parts of a scan.
//!
//! Every batch names its sequence number and the SHA-256 of the agent's
//! previous signed batch. Ingest holds the agent's row (locked on
//! PostgreSQL, under the write lock on SQLite) while it checks the new
//! batch against the head of the chain, so two batches of one agent are
//! judged one after the other:
//! - the next number naming the head's hash extends the chain;
//! - a number already used, under a batch id not stored, is a replay, or a
//!   fork when it claims the same parent as the batch stored at that number;
//! - the next number naming another parent is a fork;
//! - a number further ahead is accepted, and the numbers skipped are kept as
//!   a gap for operators to see (batches the agent set aside or lost).

use sqlx::{AnyConnection, Row};

use super::{Backend, Store, StoreError};
use citadel_wire::Batch;

/// Why a batch does not continue its agent's chain. Nothing was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainRefusal {
    /// The sequence number was accepted before, in another batch.
    #[error("sequence number {seq} was already accepted (the chain is at {head}); a replay")]
    Replay {
        /// The batch's number.
        seq: u64,
        /// The agent's last accepted number.
        head: u64,
    },
    /// The batch claims a place in the chain that another batch holds, or
    /// names a previous batch that is not the last one accepted.
    #[error("batch {seq} forks the chain: {why}")]
    Fork {
        /// The batch's number.
        seq: u64,
        /// What differs.
        why: &'static str,
    },
}

impl ChainRefusal {
    /// Stable code for the refusal, in the reply to the agent.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Replay { .. } => "chain_replay",
            Self::Fork { .. } => "chain_fork",
        }
    }
}

/// Sequence numbers skipped by the batch that extends the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Gap {
    pub(super) first: u64,
    pub(super) last: u64,
}

/// Check `batch` against the head of its agent's chain, taking the agent's
/// row for the rest of the transaction on PostgreSQL. Returns the gap it
/// skips over, if any.
pub(super) async fn check(
    conn: &mut AnyConnection,
    backend: Backend,
    agent_id: &str,
    batch: &Batch,
) -> Result<Option<Gap>, StoreError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT last_seq, last_sha256 FROM agents WHERE id = $1{lock}"
    )))
    .bind(agent_id)
    .fetch_one(&mut *conn)
    .await?;
    let head = row.try_get::<Option<i64>, _>(0)?.unwrap_or(0).max(0) as u64;
    let head_sha: Option<String> = row.try_get(1)?;
    let seq = batch.seq;
    if seq == 0 {
        return Err(ChainRefusal::Fork {
            seq,
            why: "sequence numbers start at 1",
        }
        .into());
    }
    if seq <= head {
        let stored_prev: Option<Option<String>> =
            sqlx::query("SELECT prev FROM batches WHERE agent_id = $1 AND seq = $2 LIMIT 1")
                .bind(agent_id)
                .bind(seq as i64)
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
        return Err(match stored_prev {
            Some(prev) if prev == batch.prev => ChainRefusal::Fork {
                seq,
                why: "another batch with this number and the same previous batch was accepted",
            },
            _ => ChainRefusal::Replay { seq, head },
        }
        .into());
    }
    if seq == head + 1 {
        let broken = match (&head_sha, &batch.prev) {
            // The first batch names no previous one.
            _ if head == 0 => batch.prev.is_some(),
            (Some(want), got) => got.as_deref() != Some(want.as_str()),
            // A head stored before hashes were kept: nothing to compare.
            (None, _) => false,
        };
        if broken {
            return Err(ChainRefusal::Fork {
                seq,
                why: "it does not name the last accepted batch as its previous one",
            }
            .into());
        }
        return Ok(None);
    }
    Ok(Some(Gap {
        first: head + 1,
        last: seq - 1,
    }))
}

/// Move the head of the agent's chain to the batch just stored, and keep
/// the gap it skipped.
pub(super) async fn advance(
    conn: &mut AnyConnection,
    agent_id: &str,
    batch_id: &str,
    seq: u64,
    sha256: &str,
    gap: Option<Gap>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE agents SET last_seq = $1, last_sha256 = $2 WHERE id = $3")
        .bind(seq as i64)
        .bind(sha256)
        .bind(agent_id)
        .execute(&mut *conn)
        .await?;
    if let Some(gap) = gap {
        tracing::warn!(
            agent = agent_id,
            first = gap.first,
            last = gap.last,
            "Batch chain gap: sequence numbers never received."
        );
        sqlx::query(
            "INSERT INTO chain_gaps (agent_id, first_seq, last_seq, batch_id, detected_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(agent_id)
        .bind(gap.first as i64)
        .bind(gap.last as i64)
        .bind(batch_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Whether the parts received, as `(part, parts)` pairs, cover the whole
/// scan. A part `i` of `n` covers `[i/n, (i+1)/n)`: a part the agent split
/// again after the collector refused it as too large (part `i` of `n` into
/// `k` parts `i·k + j` of `n·k`) covers the same span as the original, so
/// the scan is whole once the spans meet, whichever parts came and in what
/// order.
pub(crate) fn covers_scan(parts: &[(u32, u32)]) -> bool {
    let valid: Vec<(u128, u128)> = parts
        .iter()
        .filter(|&&(i, n)| n > 0 && i < n)
        .map(|&(i, n)| (u128::from(i), u128::from(n)))
        .collect();
    // Spans as integers over a common denominator. Part counts are u32, but
    // their least common multiple can overflow; such a scan is not
    // something an agent produces, so it counts as not whole.
    let mut denom: u128 = 1;
    for &(_, n) in &valid {
        let l = denom / gcd(denom, n);
        match l.checked_mul(n) {
            Some(v) if v <= u128::from(u64::MAX) => denom = v,
            _ => return false,
        }
    }
    let mut spans: Vec<(u128, u128)> = valid
        .iter()
        .map(|&(i, n)| (i * (denom / n), (i + 1) * (denom / n)))
        .collect();
    spans.sort_unstable();
    let mut reached = 0;
    for (start, end) in spans {
        if start > reached {
            return false;
        }
        reached = reached.max(end);
    }
    reached == denom
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Gaps in an agent's chain, for the fleet view.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ChainGaps {
    /// Gaps recorded.
    pub count: i64,
    /// Sequence numbers never received, over all gaps.
    pub missing: i64,
    /// The latest gap, as `[first, last]` sequence numbers.
    pub last: Option<[i64; 2]>,
    /// When the latest gap was noticed (Unix ms).
    pub last_detected_at: Option<i64>,
}

impl Store {
    /// The gaps in `agent_id`'s chain.
    pub async fn chain_gaps(&self, agent_id: &str) -> Result<ChainGaps, StoreError> {
        let totals = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(last_seq - first_seq + 1), 0) AS BIGINT)
             FROM chain_gaps WHERE agent_id = $1",
        )
        .bind(agent_id)
        .fetch_one(&self.pool)
        .await?;
        let last = sqlx::query(
            "SELECT first_seq, last_seq, detected_at FROM chain_gaps
             WHERE agent_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(agent_id)
        .fetch_optional(&self.pool)
        .await?;
        let (last, last_detected_at) = match last {
            Some(r) => (Some([r.try_get(0)?, r.try_get(1)?]), Some(r.try_get(2)?)),
            None => (None, None),
        };
        Ok(ChainGaps {
            count: totals.try_get(0)?,
            missing: totals.try_get(1)?,
            last,
            last_detected_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::covers_scan;

    #[test]
    fn parts_cover_a_scan_in_any_order_and_after_a_split() {
        assert!(covers_scan(&[(0, 1)]));
        assert!(covers_scan(&[(2, 3), (0, 3), (1, 3)]));
        assert!(!covers_scan(&[(0, 3), (2, 3)]));
        assert!(!covers_scan(&[]));
        // Part 1 of 3 split in two: parts 2 and 3 of 6.
        assert!(covers_scan(&[(0, 3), (3, 6), (2, 3), (2, 6)]));
        assert!(!covers_scan(&[(0, 3), (3, 6), (2, 3)]));
        // The original arriving too changes nothing.
        assert!(covers_scan(&[(0, 3), (1, 3), (2, 6), (2, 3)]));
        // Nonsense pairs count for nothing.
        assert!(!covers_scan(&[(1, 1), (0, 0)]));
        // Counts whose common multiple is out of range.
        assert!(!covers_scan(&[
            (0, u32::MAX),
            (0, u32::MAX - 1),
            (0, u32::MAX - 2)
        ]));
    }
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod store_tests;
