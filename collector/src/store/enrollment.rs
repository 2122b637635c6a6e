//! Tenants, one-time enrollment tokens and enrolled agents.

use sqlx::Row;

use super::audit::append;
use super::{Store, StoreError, now_ms};
use crate::audit::{Action, Actor, Context, Event};

/// Why a token cannot be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    /// No such token.
    #[error("the enrollment token is not known to this collector")]
    Unknown,
    /// Redeemed as often as it may be.
    #[error("the enrollment token has already been used")]
    Used,
    /// Past its expiry.
    #[error("the enrollment token has expired")]
    Expired,
    /// Revoked by an operator.
    #[error("the enrollment token has been revoked")]
    Revoked,
}

impl TokenProblem {
    /// Stable machine-readable code, sent with the refusal.
    pub fn code(self) -> &'static str {
        match self {
            Self::Unknown => "token_unknown",
            Self::Used => "token_used",
            Self::Expired => "token_expired",
            Self::Revoked => "token_revoked",
        }
    }
}

/// An agent as recorded at enrollment.
#[derive(Debug, Clone)]
pub struct EnrolledAgent {
    /// Agent id.
    pub id: String,
    /// Tenant row id.
    pub tenant_id: i64,
    /// Tenant name.
    pub tenant: String,
    /// Raw Ed25519 public key.
    pub public_key: Vec<u8>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
}

impl Store {
    /// The id of tenant `name`, creating it if needed; `true` when created.
    pub async fn ensure_tenant(&self, name: &str) -> Result<(i64, bool), StoreError> {
        if let Some(row) = sqlx::query("SELECT id FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
        {
            return Ok((row.try_get(0)?, false));
        }
        let row = sqlx::query(
            "INSERT INTO tenants (name, created_at) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(name)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, true))
    }

    /// Record a token (by the SHA-256 of its secret) for `tenant_id`, made
    /// on the collector host (audited as the system).
    pub async fn insert_token(
        &self,
        tenant_id: i64,
        secret_sha256: &str,
        expires_at: i64,
        max_uses: u32,
    ) -> Result<(), StoreError> {
        let ctx = Context::system(now_ms());
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO enrollment_tokens (tenant_id, token_hash, created_at, expires_at, created_by,
                 max_uses)
             VALUES ($1, $2, $3, $4, 'cli', $5) RETURNING id",
        )
        .bind(tenant_id)
        .bind(secret_sha256)
        .bind(ctx.at)
        .bind(expires_at)
        .bind(i64::from(max_uses.max(1)))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        append(
            &mut tx,
            &ctx,
            &Event::new(Action::EnrollmentTokenCreated, "enrollment_token", id)
                .tenant(tenant_id)
                .after(serde_json::json!({
                    "expires_at": expires_at, "created_by": "cli", "max_uses": max_uses.max(1),
                })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Redeem a token and record the agent in one transaction. `issue` runs
    /// after the token is claimed and before the agent row is written; if it
    /// fails, nothing changes and the token stays usable. The claim is one
    /// conditional `UPDATE` of the use count: of concurrent enrollments with
    /// a token's last use, the database lets exactly one through.
    pub async fn enroll_agent<E>(
        &self,
        secret_sha256: &str,
        agent_id: &str,
        name: &str,
        issue: impl FnOnce() -> Result<(String, Vec<u8>), E>,
    ) -> Result<Result<(EnrolledAgent, String), EnrollFailure<E>>, StoreError> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE enrollment_tokens SET used_at = $1, agent_id = $2, uses = uses + 1
             WHERE token_hash = $3 AND uses < max_uses AND revoked_at IS NULL AND expires_at > $1
             RETURNING tenant_id",
        )
        .bind(now)
        .bind(agent_id)
        .bind(secret_sha256)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(claimed) = claimed else {
            let row = sqlx::query(
                "SELECT uses, max_uses, revoked_at FROM enrollment_tokens WHERE token_hash = $1",
            )
            .bind(secret_sha256)
            .fetch_optional(&mut *tx)
            .await?;
            let problem = match row {
                None => TokenProblem::Unknown,
                Some(r) if r.try_get::<i64, _>(0)? >= r.try_get::<i64, _>(1)? => TokenProblem::Used,
                Some(r) if r.try_get::<Option<i64>, _>(2)?.is_some() => TokenProblem::Revoked,
                Some(_) => TokenProblem::Expired,
            };
            return Ok(Err(EnrollFailure::Token(problem)));
        };
        let tenant_id: i64 = claimed.try_get(0)?;
        let (certificate_pem, public_key) = match issue() {
            Ok(v) => v,
            Err(e) => return Ok(Err(EnrollFailure::Issue(e))),
        };
        sqlx::query(
            "INSERT INTO agents (id, tenant_id, name, public_key, certificate_pem, enrolled_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(agent_id)
        .bind(tenant_id)
        .bind(name)
        .bind(&public_key)
        .bind(&certificate_pem)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let tenant: String = sqlx::query("SELECT name FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let ctx = Context {
            actor: Actor::Agent {
                id: agent_id.to_string(),
            },
            request_id: None,
            source: None,
            user_agent: None,
            at: now,
        };
        append(
            &mut tx,
            &ctx,
            &Event::new(Action::AgentEnrolled, "agent", agent_id)
                .tenant(tenant_id)
                .after(serde_json::json!({ "name": name })),
        )
        .await?;
        tx.commit().await?;
        let agent = EnrolledAgent {
            id: agent_id.to_string(),
            tenant_id,
            tenant,
            public_key,
            revoked_at: None,
        };
        Ok(Ok((agent, certificate_pem)))
    }

    /// Look up an enrolled agent.
    pub async fn agent(&self, agent_id: &str) -> Result<Option<EnrolledAgent>, StoreError> {
        let row = sqlx::query(
            "SELECT a.id, a.tenant_id, t.name, a.public_key, a.revoked_at
             FROM agents a JOIN tenants t ON t.id = a.tenant_id WHERE a.id = $1",
        )
        .bind(agent_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(EnrolledAgent {
                id: r.try_get(0)?,
                tenant_id: r.try_get(1)?,
                tenant: r.try_get(2)?,
                public_key: r.try_get(3)?,
                revoked_at: r.try_get(4)?,
            })
        })
        .transpose()
    }

    /// Revoke an agent from the collector host (audited as the system):
    /// its certificate is refused from then on.
    pub async fn revoke_agent(&self, agent_id: &str) -> Result<bool, StoreError> {
        let ctx = Context::system(now_ms());
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE agents SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL
             RETURNING tenant_id",
        )
        .bind(ctx.at)
        .bind(agent_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let tenant_id: i64 = row.try_get(0)?;
        append(
            &mut tx,
            &ctx,
            &Event::new(Action::AgentRevoked, "agent", agent_id).tenant(tenant_id),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Enrollment did not happen, and the database is unchanged.
#[derive(Debug)]
pub enum EnrollFailure<E> {
    /// The token cannot be redeemed.
    Token(TokenProblem),
    /// Issuing the certificate failed.
    Issue(E),
}
