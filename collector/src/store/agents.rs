//! Reading enrolled agents back, for the CLI.

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
    /// Last accepted batch (Unix ms), if any.
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
