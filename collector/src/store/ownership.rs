//! Which agent may write an asset: the one whose integration reported it.
//!
//! Assets and relationships are unique per tenant, so without this check any
//! agent of a tenant could overwrite another agent's assets and, through
//! them, its results. Another agent may take an asset over only once its
//! owner is revoked: a reinstalled agent enrolls as a new identity and, once
//! the old one is revoked, carries on where it stopped.

use std::collections::HashSet;

use citadel_wire::Batch;
use sqlx::{AnyConnection, Row};

use super::StoreError;

/// Refuse `batch` if it writes an asset or relationship owned by another,
/// unrevoked agent of `tenant_id`. Runs inside the ingest transaction.
pub(super) async fn refuse_foreign(
    conn: &mut AnyConnection,
    tenant_id: i64,
    agent_id: &str,
    batch: &Batch,
) -> Result<(), StoreError> {
    if !batch.assets.is_empty() {
        let foreign: HashSet<(String, String)> = sqlx::query(
            "SELECT a.source, a.source_id FROM assets a
             JOIN integrations i ON i.id = a.integration_id
             JOIN agents g ON g.id = i.agent_id
             WHERE a.tenant_id = $1 AND i.agent_id <> $2 AND g.revoked_at IS NULL",
        )
        .bind(tenant_id)
        .bind(agent_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
        if let Some(a) = batch
            .assets
            .iter()
            .find(|a| foreign.contains(&(a.source.clone(), a.source_id.clone())))
        {
            return Err(StoreError::NotOwner(format!(
                "asset {:?} is reported by another agent of this tenant; \
                 revoke that agent first to move the asset to this one",
                short(&a.source_id)
            )));
        }
    }
    if !batch.relationships.is_empty() {
        let foreign: HashSet<(String, String, String)> = sqlx::query(
            "SELECT r.from_source_id, r.kind, r.to_source_id FROM asset_relationships r
             JOIN integrations i ON i.id = r.integration_id
             JOIN agents g ON g.id = i.agent_id
             WHERE r.tenant_id = $1 AND i.agent_id <> $2 AND g.revoked_at IS NULL",
        )
        .bind(tenant_id)
        .bind(agent_id)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Result<_, sqlx::Error>>()?;
        if let Some(r) = batch
            .relationships
            .iter()
            .find(|r| foreign.contains(&(r.from.clone(), r.kind.clone(), r.to.clone())))
        {
            return Err(StoreError::NotOwner(format!(
                "relationship {:?} → {:?} is reported by another agent of this tenant",
                short(&r.from),
                short(&r.to)
            )));
        }
    }
    Ok(())
}

/// Ids in messages are cut short: they come from the batch.
fn short(s: &str) -> String {
    s.chars().take(120).collect()
}
