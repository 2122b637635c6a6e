//! Reading enrolled agents back, for the CLI, and recording their heartbeats.

use sqlx::Row;

use super::{Store, StoreError};

/// An enrolled agent, as `agent list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSummary {
    /// Agent id (`agt-…`).
    pub id: String,
    /// Tenant name.
    pub tenant: String,
    /// Host name given at enrollment.
    pub name: String,
    /// Enrollment time (Unix ms).
    pub enrolled_at: i64,
    /// Last contact (Unix ms): an accepted batch or a heartbeat, if any.
    pub last_seen_at: Option<i64>,
    /// Revocation time (Unix ms), if revoked.
    pub revoked_at: Option<i64>,
}

impl Store {
    /// Every enrolled agent of every tenant, in order of enrollment.
    pub async fn all_agents(&self) -> Result<Vec<AgentSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, t.name, a.name, a.enrolled_at, a.last_seen_at, a.revoked_at
             FROM agents a JOIN tenants t ON t.id = a.tenant_id ORDER BY a.enrolled_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AgentSummary {
                    id: r.try_get(0)?,
                    tenant: r.try_get(1)?,
                    name: r.try_get(2)?,
                    enrolled_at: r.try_get(3)?,
                    last_seen_at: r.try_get(4)?,
                    revoked_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Record a heartbeat: the agent was in touch at `now` (Unix ms). Never
    /// moves the time backwards, so a late heartbeat cannot hide a batch.
    pub async fn touch_agent(&self, agent_id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE agents SET last_seen_at = $1
             WHERE id = $2 AND (last_seen_at IS NULL OR last_seen_at < $1)",
        )
        .bind(now)
        .bind(agent_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Store {
    /// The ids of every revoked agent: what the TLS verifier refuses.
    pub async fn revoked_agent_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT id FROM agents WHERE revoked_at IS NOT NULL")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}

#[cfg(test)]
mod tests {
    use crate::ingest::{self, IngestError};
    use crate::pki::PeerAgent;
    use crate::store::testing::{Fixture, on_both_databases};

    async fn last_seen(f: &Fixture) -> Option<i64> {
        f.store().all_agents().await.unwrap()[0].last_seen_at
    }

    async fn heartbeat_records_contact(f: Fixture) {
        assert_eq!(last_seen(&f).await, None);
        let at = ingest::heartbeat(f.store(), &f.peer).await.unwrap();
        assert_eq!(last_seen(&f).await, Some(at));
        // An older time never replaces a newer one.
        f.store().touch_agent(&f.peer.agent_id, 5).await.unwrap();
        assert_eq!(last_seen(&f).await, Some(at));
        // Only an enrolled agent with its enrolled key may beat.
        let stranger = PeerAgent {
            agent_id: "agt-nobody".into(),
            public_key: f.peer.public_key.clone(),
        };
        let err = ingest::heartbeat(f.store(), &stranger).await.unwrap_err();
        assert!(matches!(err, IngestError::UnknownAgent(_)), "{err}");
        let wrong_key = PeerAgent {
            agent_id: f.peer.agent_id.clone(),
            public_key: vec![0; 32],
        };
        let err = ingest::heartbeat(f.store(), &wrong_key).await.unwrap_err();
        assert!(matches!(err, IngestError::KeyMismatch(_)), "{err}");
        assert_eq!(last_seen(&f).await, Some(at));
    }

    on_both_databases!(heartbeat_records_contact);
}
