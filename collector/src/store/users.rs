//! Users, grants, tenants, sessions, API tokens and login throttling. Every
//! change writes its audit row in the same transaction.

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::audit::append;
use super::{Store, StoreError};
use crate::audit::{Action, Context, Event};
use crate::auth::{AuditorScope, Grant, Principal, Role, Via};

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserRow {
    /// Row id.
    pub id: i64,
    /// E-mail address.
    pub email: String,
    /// Global administrator.
    pub admin: bool,
    /// Created (Unix ms).
    pub created_at: i64,
    /// Disabled since (Unix ms).
    pub disabled_at: Option<i64>,
    /// Last successful sign-in (Unix ms).
    pub last_login_at: Option<i64>,
}

/// A grant as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GrantRow {
    /// User id.
    pub user_id: i64,
    /// Tenant name.
    pub tenant: String,
    /// Role.
    pub role: Role,
    /// Bounds, for auditors.
    pub auditor: Option<AuditorScope>,
    /// Created (Unix ms).
    pub created_at: i64,
}

/// A tenant as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TenantRow {
    /// Row id.
    pub id: i64,
    /// Name (unique; used in API paths).
    pub name: String,
    /// Created (Unix ms).
    pub created_at: i64,
}

/// An API token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiTokenRow {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Label.
    pub name: String,
    /// Role cap.
    pub role: Role,
    /// Tenant ids it is limited to (`None`: all of the owner's).
    pub tenants: Option<Vec<i64>>,
    /// Created (Unix ms).
    pub created_at: i64,
    /// Expires (Unix ms).
    pub expires_at: i64,
    /// Revoked (Unix ms).
    pub revoked_at: Option<i64>,
    /// Last used (Unix ms, to the minute).
    pub last_used_at: Option<i64>,
}

/// What login needs to check a password.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// User id.
    pub user_id: i64,
    /// E-mail address.
    pub email: String,
    /// PHC hash.
    pub password_hash: String,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
}

/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused this long ends (ms).
    pub idle_ms: i64,
    /// A session ends this long after sign-in, used or not (ms).
    pub absolute_ms: i64,
}

/// Login throttling thresholds.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Window failures are counted over (ms).
    pub window_ms: i64,
    /// Failures per account within the window before sign-in is refused.
    pub per_account: i64,
    /// Failures per source address within the window.
    pub per_source: i64,
}

/// `last_seen_at` / `last_used_at` are written at most this often: a write
/// per request would make every read a write transaction.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// Longest tenant name (it appears in URLs and log origins).
pub const MAX_TENANT_NAME: usize = 100;

fn flag(b: bool) -> i64 {
    i64::from(b)
}

fn role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Unreadable(format!("unknown role {s:?}")))
}

impl Store {
    /// Tenant id by name. A name no tenant can have (over 100 bytes, or
    /// with control characters) is not looked up: PostgreSQL refuses text
    /// holding NUL, which would turn a hostile name into a 500.
    pub async fn tenant_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        if name.len() > MAX_TENANT_NAME || name.chars().any(char::is_control) {
            return Ok(None);
        }
        let row = sqlx::query("SELECT id FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Every tenant.
    pub async fn tenants(&self) -> Result<Vec<TenantRow>, StoreError> {
        let rows = sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TenantRow {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// Create tenant `name`; [`StoreError::Exists`] if it exists.
    pub async fn create_tenant(&self, ctx: &Context, name: &str) -> Result<TenantRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO tenants (name, created_at) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(ctx.at)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Exists(format!("tenant {name:?}")))?;
        let t = TenantRow {
            id: row.try_get(0)?,
            name: name.to_string(),
            created_at: ctx.at,
        };
        append(
            &mut tx,
            ctx,
            &Event::new(Action::TenantCreated, "tenant", t.id)
                .tenant(t.id)
                .after(&t),
        )
        .await?;
        tx.commit().await?;
        Ok(t)
    }

    /// Create a user; [`StoreError::Exists`] if the address is taken.
    pub async fn create_user(
        &self,
        ctx: &Context,
        email: &str,
        password_hash: &str,
        admin: bool,
    ) -> Result<UserRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO users (email, password_hash, is_admin, created_at, password_changed_at)
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (email) DO NOTHING RETURNING id",
        )
        .bind(email)
        .bind(password_hash)
        .bind(flag(admin))
        .bind(ctx.at)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Exists(format!("user {email:?}")))?;
        let user = UserRow {
            id: row.try_get(0)?,
            email: email.to_string(),
            admin,
            created_at: ctx.at,
            disabled_at: None,
            last_login_at: None,
        };
        append(
            &mut tx,
            ctx,
            &Event::new(Action::UserCreated, "user", user.id).after(&user),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Every user, by id.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, email, is_admin, created_at, disabled_at, last_login_at FROM users ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_row).collect()
    }

    /// One user by id.
    pub async fn user(&self, id: i64) -> Result<Option<UserRow>, StoreError> {
        sqlx::query(
            "SELECT id, email, is_admin, created_at, disabled_at, last_login_at FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user_row)
        .transpose()
    }

    /// One user by e-mail address.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        sqlx::query(
            "SELECT id, email, is_admin, created_at, disabled_at, last_login_at FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(user_row)
        .transpose()
    }

    /// Disable or re-enable a user. Disabling ends the user's sessions; its
    /// tokens stop working because resolving them checks the owner.
    pub async fn set_user_disabled(
        &self,
        ctx: &Context,
        id: i64,
        disabled: bool,
    ) -> Result<UserRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let before = locked_user(&mut tx, id).await?;
        let at = disabled.then_some(ctx.at);
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            end_sessions(&mut tx, id, ctx.at).await?;
        }
        let after = UserRow {
            disabled_at: at,
            ..before.clone()
        };
        let action = if disabled {
            Action::UserDisabled
        } else {
            Action::UserEnabled
        };
        append(
            &mut tx,
            ctx,
            &Event::new(action, "user", id).before(&before).after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Set a user's password hash; ends the user's sessions.
    pub async fn reset_password(
        &self,
        ctx: &Context,
        id: i64,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        locked_user(&mut tx, id).await?;
        sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(ctx.at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        end_sessions(&mut tx, id, ctx.at).await?;
        append(&mut tx, ctx, &Event::new(Action::PasswordReset, "user", id)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user's grants.
    pub async fn grants_of(&self, user_id: i64) -> Result<Vec<GrantRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT g.user_id, t.name, g.role, g.frameworks, g.window_from, g.window_to,
                 g.expires_at, g.created_at
             FROM grants g JOIN tenants t ON t.id = g.tenant_id
             WHERE g.user_id = $1 ORDER BY t.name",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let role = role(&r.try_get::<String, _>(2)?)?;
                Ok(GrantRow {
                    user_id: r.try_get(0)?,
                    tenant: r.try_get(1)?,
                    role,
                    auditor: auditor_scope(r, 3)?,
                    created_at: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// Create or replace a user's grant on a tenant.
    pub async fn set_grant(
        &self,
        ctx: &Context,
        user_id: i64,
        tenant_id: i64,
        role: Role,
        auditor: Option<&AuditorScope>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        locked_user(&mut tx, user_id).await?;
        let before = grant_json(&mut tx, user_id, tenant_id).await?;
        let frameworks = auditor.map(|a| serde_json::to_string(&a.frameworks).unwrap_or_default());
        sqlx::query(
            "INSERT INTO grants (user_id, tenant_id, role, frameworks, window_from, window_to,
                 expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = excluded.role,
                 frameworks = excluded.frameworks, window_from = excluded.window_from,
                 window_to = excluded.window_to, expires_at = excluded.expires_at",
        )
        .bind(user_id)
        .bind(tenant_id)
        .bind(role.as_str())
        .bind(frameworks)
        .bind(auditor.map(|a| a.from))
        .bind(auditor.map(|a| a.to))
        .bind(auditor.map(|a| a.expires_at))
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        let after = serde_json::json!({ "role": role, "auditor": auditor });
        let mut event = Event::new(Action::GrantSet, "grant", format!("{user_id}:{tenant_id}"))
            .tenant(tenant_id)
            .after(after);
        event.before = before;
        append(&mut tx, ctx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remove a user's grant on a tenant; [`StoreError::NotFound`] if none.
    pub async fn remove_grant(
        &self,
        ctx: &Context,
        user_id: i64,
        tenant_id: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let before = grant_json(&mut tx, user_id, tenant_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        sqlx::query("DELETE FROM grants WHERE user_id = $1 AND tenant_id = $2")
            .bind(user_id)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            ctx,
            &Event::new(
                Action::GrantRemoved,
                "grant",
                format!("{user_id}:{tenant_id}"),
            )
            .tenant(tenant_id)
            .before(before),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Open a sign-in attempt for the account keyed `email_key` (the
    /// SHA-256 of the address, so that an address typed by mistake into the
    /// wrong field is not kept verbatim) from `source`: `None` when the
    /// account or the address has failed too often within the window.
    /// Otherwise the attempt is recorded as a failure up front, before the
    /// password is checked, so that concurrent guesses count against the
    /// limit at once; a successful sign-in clears it.
    pub async fn login_begin(
        &self,
        email_key: &str,
        source: &str,
        now: i64,
        policy: ThrottlePolicy,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend == super::Backend::Postgres {
            // Count and insert as one step across collectors (SQLite's
            // immediate transaction already excludes other writers).
            sqlx::query("LOCK TABLE login_failures IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let since = now - policy.window_ms;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM login_failures WHERE email = $1 AND at > $3),
                    (SELECT COUNT(*) FROM login_failures WHERE source = $2 AND at > $3)",
        )
        .bind(email_key)
        .bind(source)
        .bind(since)
        .fetch_one(&mut *tx)
        .await?;
        let (account, from_source): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        if account >= policy.per_account || from_source >= policy.per_source {
            return Ok(None);
        }
        let id: i64 = sqlx::query(
            "INSERT INTO login_failures (email, source, at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(email_key)
        .bind(source)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// What a password check needs, by e-mail address.
    pub async fn credentials(&self, email: &str) -> Result<Option<Credentials>, StoreError> {
        let row =
            sqlx::query("SELECT id, email, password_hash, disabled_at FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(Credentials {
                user_id: r.try_get(0)?,
                email: r.try_get(1)?,
                password_hash: r.try_get(2)?,
                disabled: r.try_get::<Option<i64>, _>(3)?.is_some(),
            })
        })
        .transpose()
    }

    /// Audit a failed sign-in (its attempt stays counted). `user_id` is the
    /// account's id when the address belongs to one; an unknown address is
    /// named only by a prefix of its hash. The password is never recorded.
    pub async fn login_failed(
        &self,
        ctx: &Context,
        user_id: Option<i64>,
        email_key: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let event = match user_id {
            Some(id) => Event::new(Action::LoginFailed, "user", id),
            None => Event::new(
                Action::LoginFailed,
                "login",
                format!("sha256:{}", &email_key[..16.min(email_key.len())]),
            ),
        }
        .after(serde_json::json!({ "reason": reason }));
        append(&mut tx, ctx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Start a session for a user whose password checked out: the session
    /// row, the account's failure count reset, and the audit row.
    pub async fn start_session(
        &self,
        ctx: &Context,
        user_id: i64,
        email_key: &str,
        secret_hash: &str,
        policy: SessionPolicy,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO sessions (secret_hash, user_id, created_at, last_seen_at, expires_at,
                 source, user_agent)
             VALUES ($1, $2, $3, $3, $4, $5, $6) RETURNING id",
        )
        .bind(secret_hash)
        .bind(user_id)
        .bind(ctx.at)
        .bind(ctx.at + policy.absolute_ms)
        .bind(&ctx.source)
        .bind(&ctx.user_agent)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(ctx.at)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM login_failures WHERE email = $1")
            .bind(email_key)
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            ctx,
            &Event::new(Action::LoginSucceeded, "session", id),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// End a session (logout).
    pub async fn end_session(&self, ctx: &Context, session_id: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(ctx.at)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            ctx,
            &Event::new(Action::Logout, "session", session_id),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The principal behind a session secret's hash, if the session is live:
    /// not revoked, within its absolute and idle lifetimes, its user enabled.
    /// `csrf` is the token the session's state changes must carry.
    pub async fn session_principal(
        &self,
        secret_hash: &str,
        csrf: String,
        now: i64,
        policy: SessionPolicy,
    ) -> Result<Option<Principal>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT s.id, s.last_seen_at, u.id, u.email, u.is_admin
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.secret_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
                 AND s.last_seen_at > $3 AND u.disabled_at IS NULL",
        )
        .bind(secret_hash)
        .bind(now)
        .bind(now - policy.idle_ms)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let session_id: i64 = r.try_get(0)?;
        let last_seen: i64 = r.try_get(1)?;
        let user_id: i64 = r.try_get(2)?;
        if now - last_seen > TOUCH_INTERVAL_MS {
            self.touch(
                "UPDATE sessions SET last_seen_at = $1 WHERE id = $2",
                now,
                session_id,
            )
            .await;
        }
        let grants = self.principal_grants(user_id).await?;
        Ok(Some(Principal::new(
            user_id,
            r.try_get(3)?,
            r.try_get::<i64, _>(4)? != 0,
            Via::Session { session_id, csrf },
            grants,
            None,
            now,
        )))
    }

    /// The principal behind an API token's hash, if the token is live and
    /// its owner enabled.
    pub async fn token_principal(
        &self,
        secret_hash: &str,
        now: i64,
    ) -> Result<Option<Principal>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT t.id, t.role, t.tenants, t.last_used_at, u.id, u.email, u.is_admin, t.expires_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2
                 AND u.disabled_at IS NULL",
        )
        .bind(secret_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let token_id: i64 = r.try_get(0)?;
        let cap = role(&r.try_get::<String, _>(1)?)?;
        let tenants = json_ids(r.try_get(2)?)?;
        let last_used: Option<i64> = r.try_get(3)?;
        if last_used.is_none_or(|t| now - t > TOUCH_INTERVAL_MS) {
            self.touch(
                "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
                now,
                token_id,
            )
            .await;
        }
        let user_id: i64 = r.try_get(4)?;
        let user_admin = r.try_get::<i64, _>(6)? != 0;
        // An administrator's token capped below admin acts with that role on
        // every tenant (an administrator holds no grants of its own).
        let grants = if user_admin && cap != Role::Admin {
            self.tenants()
                .await?
                .into_iter()
                .map(|t| Grant {
                    tenant_id: t.id,
                    tenant: t.name,
                    role: cap,
                    auditor: None,
                })
                .collect()
        } else {
            self.principal_grants(user_id).await?
        };
        Ok(Some(Principal::new(
            user_id,
            r.try_get(5)?,
            user_admin,
            Via::Token {
                token_id,
                role: cap,
                expires_at: r.try_get(7)?,
            },
            grants,
            tenants.as_deref(),
            now,
        )))
    }

    /// Record a last-use time, best effort: a read must not fail because a
    /// long ingest holds SQLite's write lock (the time is refreshed on a
    /// later request).
    async fn touch(&self, sql: &'static str, now: i64, id: i64) {
        if let Err(e) = sqlx::query(sql)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await
        {
            tracing::debug!(error = %e, "Last-use time not recorded.");
        }
    }

    async fn principal_grants(&self, user_id: i64) -> Result<Vec<Grant>, StoreError> {
        let rows = sqlx::query(
            "SELECT g.tenant_id, t.name, g.role, g.frameworks, g.window_from, g.window_to,
                 g.expires_at
             FROM grants g JOIN tenants t ON t.id = g.tenant_id WHERE g.user_id = $1
             ORDER BY t.name",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Grant {
                    tenant_id: r.try_get(0)?,
                    tenant: r.try_get(1)?,
                    role: role(&r.try_get::<String, _>(2)?)?,
                    auditor: auditor_scope(r, 3)?,
                })
            })
            .collect()
    }

    /// Record a new API token (its hash).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_api_token(
        &self,
        ctx: &Context,
        user_id: i64,
        name: &str,
        secret_hash: &str,
        role: Role,
        tenants: Option<&[i64]>,
        expires_at: i64,
    ) -> Result<ApiTokenRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let tenants_json = tenants.map(|t| serde_json::to_string(t).unwrap_or_default());
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, name, secret_hash, role, tenants, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(secret_hash)
        .bind(role.as_str())
        .bind(tenants_json)
        .bind(ctx.at)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        let token = ApiTokenRow {
            id: row.try_get(0)?,
            user_id,
            name: name.to_string(),
            role,
            tenants: tenants.map(<[i64]>::to_vec),
            created_at: ctx.at,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        append(
            &mut tx,
            ctx,
            &Event::new(Action::ApiTokenCreated, "api_token", token.id).after(&token),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// API tokens of `user_id` (`None`: everyone's).
    pub async fn api_tokens(&self, user_id: Option<i64>) -> Result<Vec<ApiTokenRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, role, tenants, created_at, expires_at, revoked_at,
                 last_used_at
             FROM api_tokens WHERE $1 IS NULL OR user_id = $1 ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_row).collect()
    }

    /// Revoke an API token. With `owner`, only that user's token.
    pub async fn revoke_api_token(
        &self,
        ctx: &Context,
        id: i64,
        owner: Option<i64>,
    ) -> Result<ApiTokenRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1)
             WHERE id = $2 AND ($3 IS NULL OR user_id = $3)
             RETURNING id, user_id, name, role, tenants, created_at, expires_at, revoked_at,
                 last_used_at",
        )
        .bind(ctx.at)
        .bind(id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let token = token_row(&row)?;
        append(
            &mut tx,
            ctx,
            &Event::new(Action::ApiTokenRevoked, "api_token", id).after(&token),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }
}

fn user_row(r: &sqlx::any::AnyRow) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: r.try_get(0)?,
        email: r.try_get(1)?,
        admin: r.try_get::<i64, _>(2)? != 0,
        created_at: r.try_get(3)?,
        disabled_at: r.try_get(4)?,
        last_login_at: r.try_get(5)?,
    })
}

fn token_row(r: &sqlx::any::AnyRow) -> Result<ApiTokenRow, StoreError> {
    Ok(ApiTokenRow {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        name: r.try_get(2)?,
        role: role(&r.try_get::<String, _>(3)?)?,
        tenants: json_ids(r.try_get(4)?)?,
        created_at: r.try_get(5)?,
        expires_at: r.try_get(6)?,
        revoked_at: r.try_get(7)?,
        last_used_at: r.try_get(8)?,
    })
}

fn json_ids(text: Option<String>) -> Result<Option<Vec<i64>>, StoreError> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Unreadable(e.to_string())))
        .transpose()
}

/// The auditor scope in columns `first..first + 4` (frameworks, from, to,
/// expiry), if the grant has one.
fn auditor_scope(r: &sqlx::any::AnyRow, first: usize) -> Result<Option<AuditorScope>, StoreError> {
    let frameworks: Option<String> = r.try_get(first)?;
    let Some(frameworks) = frameworks else {
        return Ok(None);
    };
    Ok(Some(AuditorScope {
        frameworks: serde_json::from_str(&frameworks)
            .map_err(|e| StoreError::Unreadable(e.to_string()))?,
        from: r.try_get::<Option<i64>, _>(first + 1)?.unwrap_or(0),
        to: r.try_get::<Option<i64>, _>(first + 2)?.unwrap_or(0),
        expires_at: r.try_get::<Option<i64>, _>(first + 3)?.unwrap_or(0),
    }))
}

async fn locked_user(conn: &mut AnyConnection, id: i64) -> Result<UserRow, StoreError> {
    sqlx::query(
        "SELECT id, email, is_admin, created_at, disabled_at, last_login_at FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(user_row)
    .transpose()?
    .ok_or(StoreError::NotFound)
}

async fn end_sessions(conn: &mut AnyConnection, user_id: i64, at: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(at)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn grant_json(
    conn: &mut AnyConnection,
    user_id: i64,
    tenant_id: i64,
) -> Result<Option<serde_json::Value>, StoreError> {
    let row = sqlx::query(
        "SELECT role, frameworks, window_from, window_to, expires_at FROM grants
         WHERE user_id = $1 AND tenant_id = $2",
    )
    .bind(user_id)
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(serde_json::json!({
            "role": r.try_get::<String, _>(0)?,
            "auditor": auditor_scope(&r, 1)?,
        }))
    })
    .transpose()
}
