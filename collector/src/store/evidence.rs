//! Reading evidence back: a revision with the result exactly as the agent
//! signed it.
//!
//! Revisions do not copy the result; they hold its byte range in the payload
//! of the stored batch (see migration 0004). Reading one therefore goes back to
//! the signed bytes, which is also what lets an auditor check the signature.

use citadel_wire::{CheckResult, SignedBatch};
use sqlx::Row;

use super::{Store, StoreError};

/// One revision of an evidence record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// 1 for the first observation, then one more per batch.
    pub version: i64,
    /// The result's status in this revision.
    pub status: String,
    /// The stored batch that carries the result.
    pub batch_id: String,
    /// SHA-256 of that batch's signed bytes.
    pub batch_sha256: String,
    /// When the revision was written (Unix ms).
    pub created_at: i64,
    /// The result as signed by the agent.
    pub result: CheckResult,
}

impl Store {
    /// Revision `version` of evidence record `evidence_id`, if there is one.
    pub async fn evidence_revision(
        &self,
        evidence_id: i64,
        version: i64,
    ) -> Result<Option<Revision>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT r.version, r.result_status, b.id, b.sha256, r.created_at,
                 r.result_offset, r.result_len, r.raw_output, p.raw
             FROM evidence_revisions r
             JOIN batches b ON b.number = r.batch_number
             JOIN batch_payloads p ON p.batch_id = b.id
             WHERE r.evidence_id = $1 AND r.version = $2",
        )
        .bind(evidence_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let offset: Option<i64> = row.try_get(5)?;
        let len: Option<i64> = row.try_get(6)?;
        let legacy: Option<String> = row.try_get(7)?;
        let result = match (offset, len, legacy) {
            (Some(offset), Some(len), _) => {
                let raw: Vec<u8> = row.try_get(8)?;
                let span = usize::try_from(offset).unwrap_or(usize::MAX)
                    ..usize::try_from(offset.saturating_add(len)).unwrap_or(usize::MAX);
                SignedBatch::parse(&raw)
                    .and_then(|signed| signed.result_at(span))
                    .map_err(|e| StoreError::Unreadable(e.to_string()))?
            }
            // Written before revisions pointed into the batch: a JSON copy.
            (_, _, Some(json)) => {
                serde_json::from_str(&json).map_err(|e| StoreError::Unreadable(e.to_string()))?
            }
            _ => {
                return Err(StoreError::Unreadable(
                    "revision has neither a range nor a copy".into(),
                ));
            }
        };
        Ok(Some(Revision {
            version: row.try_get(0)?,
            status: row.try_get(1)?,
            batch_id: row.try_get(2)?,
            batch_sha256: row.try_get(3)?,
            created_at: row.try_get(4)?,
            result,
        }))
    }
}
