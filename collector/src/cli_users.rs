//! `citadel-collector user …` and `audit verify`: accounts and the audit
//! chain, from the collector host. Changes made here are audited with the
//! system as their actor.

use std::io::BufRead;
use std::path::Path;

use anyhow::{Context as _, bail};

use crate::audit::Context;
use crate::auth::{Role, password};
use crate::cli::UserAction;
use crate::config::CollectorConfig;
use crate::store::{ChainReport, Store, StoreError, now_ms};

async fn open(dir: &Path) -> anyhow::Result<Store> {
    let config = CollectorConfig::load(dir)?;
    Ok(Store::open(&config.database_url_in(dir)).await?)
}

/// A password from standard input (first line), or a generated one; says
/// whether it was generated so the caller prints it once.
fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((password::generate(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    password::check(&p).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((p, false))
}

fn email_of(s: &str) -> anyhow::Result<String> {
    crate::api::session::normalise_email(s)
        .map_err(|_| anyhow::anyhow!("{s:?} is not an e-mail address"))
}

async fn user_id(store: &Store, email: &str) -> anyhow::Result<i64> {
    Ok(store
        .user_by_email(&email_of(email)?)
        .await?
        .with_context(|| format!("no user {email}"))?
        .id)
}

/// Run a `user` subcommand.
pub async fn user(dir: &Path, action: UserAction) -> anyhow::Result<()> {
    let store = open(dir).await?;
    let ctx = Context::system(now_ms());
    let result = run(&store, &ctx, action).await;
    store.close().await;
    result
}

async fn run(store: &Store, ctx: &Context, action: UserAction) -> anyhow::Result<()> {
    match action {
        UserAction::Create {
            email,
            admin,
            password_stdin,
        } => {
            let email = email_of(&email)?;
            let (pw, generated) = read_password(password_stdin)?;
            let hash = password::hash(&pw)?;
            match store.create_user(ctx, &email, &hash, admin).await {
                Ok(u) => {
                    let kind = if admin { "administrator" } else { "user" };
                    println!("Created {kind} {} (id {}).", u.email, u.id);
                    if generated {
                        println!("Password (shown once): {pw}");
                    }
                }
                Err(StoreError::Exists(_)) => bail!("a user {email} exists already"),
                Err(e) => return Err(e.into()),
            }
        }
        UserAction::List { json } => {
            let users = store.users().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                println!("{:<6} {:<40} {:<6} {:<9}", "id", "email", "admin", "state");
                for u in users {
                    println!(
                        "{:<6} {:<40} {:<6} {:<9}",
                        u.id,
                        u.email,
                        if u.admin { "yes" } else { "no" },
                        if u.disabled_at.is_some() {
                            "disabled"
                        } else {
                            "active"
                        }
                    );
                }
            }
        }
        UserAction::Disable { email } => {
            let id = user_id(store, &email).await?;
            store.set_user_disabled(ctx, id, true).await?;
            println!("Disabled {email}: its sessions ended and its API tokens stop working.");
        }
        UserAction::Enable { email } => {
            let id = user_id(store, &email).await?;
            store.set_user_disabled(ctx, id, false).await?;
            println!("Enabled {email}.");
        }
        UserAction::ResetPassword {
            email,
            password_stdin,
        } => {
            let id = user_id(store, &email).await?;
            let (pw, generated) = read_password(password_stdin)?;
            store.reset_password(ctx, id, &password::hash(&pw)?).await?;
            println!("Password of {email} reset; its sessions ended.");
            if generated {
                println!("New password (shown once): {pw}");
            }
        }
        UserAction::Grant {
            email,
            tenant,
            role,
        } => {
            let role = match Role::parse(&role) {
                Some(r @ (Role::Operator | Role::Viewer)) => r,
                _ => bail!(
                    "--role must be operator or viewer (auditors: PUT /api/v1/users/{{id}}/grants/{{tenant}})"
                ),
            };
            let id = user_id(store, &email).await?;
            let tenant_id = store
                .tenant_id(&tenant)
                .await?
                .with_context(|| format!("no tenant {tenant:?}"))?;
            store.set_grant(ctx, id, tenant_id, role, None).await?;
            println!("{email} is now {} on {tenant}.", role.as_str());
        }
    }
    Ok(())
}

/// `audit verify`.
pub async fn audit_verify(dir: &Path) -> anyhow::Result<()> {
    let store = open(dir).await?;
    let report = store.verify_audit().await;
    store.close().await;
    match report? {
        ChainReport::Intact(n) => {
            println!("Audit log intact: {n} rows, every hash and link verified.");
            Ok(())
        }
        ChainReport::Broken(b) => bail!("audit log broken at {b}"),
    }
}
