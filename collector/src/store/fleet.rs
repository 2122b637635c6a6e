//! A tenant's fleet: agents, enrollment tokens, integrations.

use serde::Serialize;
use sqlx::Row;

use super::audit::append;
use super::{Store, StoreError};
use crate::audit::{Action, Context, Event};
use crate::auth::TenantAccess;

/// An agent as the fleet view shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentRow {
    /// Agent id (`agt-…`).
    pub id: String,
    /// Host name given at enrollment.
    pub name: String,
    /// Enrolled (Unix ms).
    pub enrolled_at: i64,
    /// Last batch received (Unix ms).
    pub last_seen_at: Option<i64>,
    /// Sequence number of its last batch.
    pub last_seq: Option<i64>,
    /// Gaps in its batch chain: times it skipped sequence numbers.
    pub chain_gaps: i64,
    /// Sequence numbers never received, over all gaps (batches the agent
    /// set aside or lost).
    pub missing_batches: i64,
    /// Revoked (Unix ms).
    pub revoked_at: Option<i64>,
    /// Its last batch's id.
    pub last_batch_id: Option<String>,
    /// Agent version reported in its last batch, when it reports one.
    pub version: Option<String>,
    /// Integrations of this agent with errors in their last scan.
    pub integrations_in_error: i64,
    /// The most recent error its integrations reported.
    pub last_error: Option<String>,
    /// Client certificate expiry (Unix ms).
    pub certificate_expires_at: Option<i64>,
    #[serde(skip)]
    pub(crate) certificate_pem: String,
}

/// An enrollment token as listed (never its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnrollmentTokenRow {
    /// Row id.
    pub id: i64,
    /// Created (Unix ms).
    pub created_at: i64,
    /// Expires (Unix ms).
    pub expires_at: i64,
    /// Redeemed (Unix ms).
    pub used_at: Option<i64>,
    /// The agent that redeemed it.
    pub agent_id: Option<String>,
    /// Revoked before use (Unix ms).
    pub revoked_at: Option<i64>,
    /// Who made it.
    pub created_by: Option<String>,
    /// Enrollments it allows.
    pub max_uses: i64,
    /// Enrollments made with it.
    pub uses: i64,
}

/// An integration (one scanned account of an agent).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IntegrationRow {
    /// Row id.
    pub id: i64,
    /// Agent.
    pub agent_id: String,
    /// Name in the agent's configuration.
    pub name: String,
    /// `aws`.
    pub provider: String,
    /// Account id.
    pub account: String,
    /// Regions scanned.
    pub regions: Vec<String>,
    /// `ok` or `degraded` (last scan had errors).
    pub status: String,
    /// Last batch (Unix ms).
    pub last_sync_at: Option<i64>,
    /// First error of the last scan.
    pub last_error: Option<String>,
    /// Scans in a row with errors.
    pub error_count: i64,
}

fn token_row(r: &sqlx::any::AnyRow) -> Result<EnrollmentTokenRow, StoreError> {
    Ok(EnrollmentTokenRow {
        id: r.try_get(0)?,
        created_at: r.try_get(1)?,
        expires_at: r.try_get(2)?,
        used_at: r.try_get(3)?,
        agent_id: r.try_get(4)?,
        revoked_at: r.try_get(5)?,
        created_by: r.try_get(6)?,
        max_uses: r.try_get(7)?,
        uses: r.try_get(8)?,
    })
}

impl Store {
    /// The tenant's agents, newest first.
    pub async fn agents(&self, t: &TenantAccess) -> Result<Vec<AgentRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.name, a.enrolled_at, a.last_seen_at, a.last_seq, a.revoked_at,
                 (SELECT b.id FROM batches b WHERE b.agent_id = a.id ORDER BY b.number DESC LIMIT 1),
                 (SELECT COUNT(*) FROM integrations i WHERE i.agent_id = a.id AND i.consecutive_errors > 0),
                 (SELECT i.last_error FROM integrations i WHERE i.agent_id = a.id
                      AND i.last_error IS NOT NULL ORDER BY i.last_sync_at DESC LIMIT 1),
                 a.certificate_pem, a.version,
                 (SELECT COUNT(*) FROM chain_gaps g WHERE g.agent_id = a.id),
                 (SELECT CAST(COALESCE(SUM(g.last_seq - g.first_seq + 1), 0) AS BIGINT)
                      FROM chain_gaps g WHERE g.agent_id = a.id)
             FROM agents a WHERE a.tenant_id = $1 ORDER BY a.enrolled_at DESC, a.id",
        )
        .bind(t.id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AgentRow {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    enrolled_at: r.try_get(2)?,
                    last_seen_at: r.try_get(3)?,
                    last_seq: r.try_get(4)?,
                    chain_gaps: r.try_get(11)?,
                    missing_batches: r.try_get(12)?,
                    revoked_at: r.try_get(5)?,
                    last_batch_id: r.try_get(6)?,
                    version: r.try_get(10)?,
                    integrations_in_error: r.try_get(7)?,
                    last_error: r.try_get(8)?,
                    certificate_expires_at: None,
                    certificate_pem: r.try_get(9)?,
                })
            })
            .collect()
    }

    /// Revoke one of the tenant's agents; its batches are refused from now on.
    pub async fn revoke_tenant_agent(
        &self,
        ctx: &Context,
        t: &TenantAccess,
        agent_id: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE agents SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL",
        )
        .bind(ctx.at)
        .bind(agent_id)
        .bind(t.id())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let exists = sqlx::query("SELECT 1 FROM agents WHERE id = $1 AND tenant_id = $2")
                .bind(agent_id)
                .bind(t.id())
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match exists {
                Some(_) => StoreError::Refused("the agent is revoked already".into()),
                None => StoreError::NotFound,
            });
        }
        append(
            &mut tx,
            ctx,
            &Event::new(Action::AgentRevoked, "agent", agent_id).tenant(t.id()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant's newest 200 enrollment tokens, newest first (tokens are
    /// used once: old ones are history, in the audit log).
    pub async fn enrollment_tokens(
        &self,
        t: &TenantAccess,
    ) -> Result<Vec<EnrollmentTokenRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, created_at, expires_at, used_at, agent_id, revoked_at, created_by,
                 max_uses, uses
             FROM enrollment_tokens WHERE tenant_id = $1 ORDER BY id DESC LIMIT 200",
        )
        .bind(t.id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_row).collect()
    }

    /// Record an enrollment token (the SHA-256 of its secret).
    pub async fn create_enrollment_token(
        &self,
        ctx: &Context,
        t: &TenantAccess,
        secret_sha256: &str,
        expires_at: i64,
        max_uses: i64,
    ) -> Result<EnrollmentTokenRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let created_by = ctx
            .actor
            .columns()
            .2
            .or(Some(ctx.actor.columns().0.to_string()));
        let row = sqlx::query(
            "INSERT INTO enrollment_tokens (tenant_id, token_hash, created_at, expires_at, created_by,
                 max_uses)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id, created_at, expires_at, used_at, agent_id, revoked_at, created_by,
                 max_uses, uses",
        )
        .bind(t.id())
        .bind(secret_sha256)
        .bind(ctx.at)
        .bind(expires_at)
        .bind(created_by)
        .bind(max_uses)
        .fetch_one(&mut *tx)
        .await?;
        let token = token_row(&row)?;
        append(
            &mut tx,
            ctx,
            &Event::new(Action::EnrollmentTokenCreated, "enrollment_token", token.id)
                .tenant(t.id())
                .after(&token),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Revoke an enrollment token with uses left.
    pub async fn revoke_enrollment_token(
        &self,
        ctx: &Context,
        t: &TenantAccess,
        id: i64,
    ) -> Result<EnrollmentTokenRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE enrollment_tokens SET revoked_at = $1
             WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL AND uses < max_uses
             RETURNING id, created_at, expires_at, used_at, agent_id, revoked_at, created_by,
                 max_uses, uses",
        )
        .bind(ctx.at)
        .bind(id)
        .bind(t.id())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let exists =
                sqlx::query("SELECT 1 FROM enrollment_tokens WHERE id = $1 AND tenant_id = $2")
                    .bind(id)
                    .bind(t.id())
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match exists {
                Some(_) => StoreError::Refused("the token was used or revoked already".into()),
                None => StoreError::NotFound,
            });
        };
        let token = token_row(&row)?;
        append(
            &mut tx,
            ctx,
            &Event::new(Action::EnrollmentTokenRevoked, "enrollment_token", id)
                .tenant(t.id())
                .after(&token),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The tenant's integrations.
    pub async fn integrations(&self, t: &TenantAccess) -> Result<Vec<IntegrationRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, agent_id, name, provider, account, regions, status, last_sync_at,
                 last_error, consecutive_errors
             FROM integrations WHERE tenant_id = $1 ORDER BY name, id",
        )
        .bind(t.id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let regions: String = r.try_get(5)?;
                Ok(IntegrationRow {
                    id: r.try_get(0)?,
                    agent_id: r.try_get(1)?,
                    name: r.try_get(2)?,
                    provider: r.try_get(3)?,
                    account: r.try_get(4)?,
                    regions: serde_json::from_str(&regions).unwrap_or_default(),
                    status: r.try_get(6)?,
                    last_sync_at: r.try_get(7)?,
                    last_error: r.try_get(8)?,
                    error_count: r.try_get(9)?,
                })
            })
            .collect()
    }
}
