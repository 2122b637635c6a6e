//! Command-line interface.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::catalog::Catalog;
use crate::config::{CollectorConfig, DEFAULT_MAX_BATCH_BYTES};
use crate::pki::{self, Authority};
use crate::serve::{self, Server};
use crate::store::{Store, now_ms};

/// Citadel collector: receives signed findings from agents over mTLS, verifies
/// and stores them for review.
#[derive(Debug, Parser)]
#[command(name = "citadel-collector", version, about, long_about = None)]
pub struct Cli {
    /// Data directory: collector.toml, CA and server keys, SQLite database.
    #[arg(
        short,
        long,
        global = true,
        env = "CITADEL_COLLECTOR_DIR",
        default_value = "citadel-collector"
    )]
    pub dir: PathBuf,

    /// Log lines as plain text or as one JSON object per line (for log
    /// collectors).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data directory: configuration, CA, server certificate, database.
    Init {
        /// Database URL (default: SQLite file citadel.db in the data directory).
        #[arg(long, default_value = "sqlite://citadel.db")]
        database_url: String,
        /// Agent ingest listener (mTLS).
        #[arg(long, default_value = "127.0.0.1:8443")]
        ingest_listen: SocketAddr,
        /// Enrollment/API listener (TLS).
        #[arg(long, default_value = "127.0.0.1:8444")]
        api_listen: SocketAddr,
        /// Host name agents use to reach this collector (added to the server certificate).
        #[arg(long, default_value = "localhost")]
        public_host: String,
        /// Extra DNS names or IP addresses for the server certificate.
        #[arg(long = "san")]
        sans: Vec<String>,
    },
    /// Manage enrollment tokens.
    Token {
        /// Token action.
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Manage enrolled agents.
    Agent {
        /// Agent action.
        #[command(subcommand)]
        action: AgentAction,
    },
    /// Serve agent ingest and enrollment until interrupted.
    Serve,
    /// Manage the compliance catalog (SCF controls, frameworks, mappings, policy templates).
    Catalog {
        /// Catalog action.
        #[command(subcommand)]
        action: CatalogAction,
    },
    /// A tenant's posture against one framework: requirement statuses and coverage.
    Posture {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// Framework: soc2, iso27001, csf, pci, 800-53 (or the full ids).
        #[arg(long)]
        framework: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// Also list requirements that are not assessed.
        #[arg(long)]
        all: bool,
    },
    /// Benchmarks on a fresh database: `ingest` throughput on synthetic signed
    /// batches (the default), or `api` / `console` latency on a
    /// 1,000,000-result tenant.
    Bench {
        /// What to measure.
        #[arg(value_enum, default_value = "ingest")]
        what: BenchKind,
        /// Database URL (default: a temporary SQLite file). Use an empty PostgreSQL database.
        #[arg(long)]
        database_url: Option<String>,
        /// `api`, `console`: assets in the tenant's scan.
        #[arg(long, default_value_t = 100_000)]
        api_assets: usize,
        /// `api`, `console`: checks per asset.
        #[arg(long, default_value_t = 10)]
        api_checks: usize,
        /// Batch sizes as ASSETSxCHECKS, comma-separated.
        #[arg(long, default_value = "2000x50,10000x50", value_delimiter = ',')]
        sizes: Vec<String>,
    },
    /// Manage operator and auditor accounts.
    User {
        /// User action.
        #[command(subcommand)]
        action: UserAction,
    },
    /// Check the audit log.
    Audit {
        /// Audit action.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Print stored check results of a tenant: counts by status and severity, then failures.
    Findings {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Benchmarks.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BenchKind {
    /// Ingest throughput.
    Ingest,
    /// API latency.
    Api,
    /// Console page latency (rendered HTML).
    Console,
}

/// Catalog actions.
#[derive(Debug, Subcommand)]
pub enum CatalogAction {
    /// Import the bundled catalog (idempotent), optionally with SCF control
    /// descriptions from your copy of the SCF catalogue (JSON with `controls[].scf_id`
    /// and `controls[].description`).
    Import {
        /// SCF catalogue file with control descriptions.
        #[arg(long)]
        scf_text: Option<PathBuf>,
    },
    /// Show the import log.
    Status,
}

/// User actions. Passwords are read from standard input (one line), or
/// generated and printed once; they never appear on the command line.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a user. The first one should be an administrator (`--admin`).
    Create {
        /// E-mail address (the sign-in name).
        email: String,
        /// Make the user a global administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: sessions end, API tokens stop working.
    Disable {
        /// E-mail address.
        email: String,
    },
    /// Enable a disabled user.
    Enable {
        /// E-mail address.
        email: String,
    },
    /// Set a new password (generated unless --password-stdin); ends the user's sessions.
    ResetPassword {
        /// E-mail address.
        email: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Grant a role on a tenant: operator or viewer (auditors: use the API,
    /// which takes their frameworks and window).
    Grant {
        /// E-mail address.
        email: String,
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// operator or viewer.
        #[arg(long)]
        role: String,
    },
}

/// Audit log actions.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Verify the hash chain; names the first broken row and exits 1 if any.
    Verify,
}

/// Token actions.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create an enrollment token for a tenant (created if new).
    Create {
        /// Tenant the enrolled agent will belong to.
        #[arg(long)]
        tenant: String,
        /// Hours until the token expires.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
        ttl_hours: u32,
        /// How many agents the token may enroll.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        uses: u32,
        /// Print as JSON (token, tenant, expiry, enrollment URL).
        #[arg(long)]
        json: bool,
    },
}

/// Agent actions.
#[derive(Debug, Subcommand)]
pub enum AgentAction {
    /// List enrolled agents.
    List,
    /// Revoke an agent: its batches are refused from now on.
    Revoke {
        /// Agent id (agt-…).
        agent_id: String,
    },
}

/// Run the CLI.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let dir = cli.dir;
    match cli.command {
        Command::Init {
            database_url,
            ingest_listen,
            api_listen,
            public_host,
            mut sans,
        } => {
            sans.push(public_host.clone());
            init(
                &dir,
                database_url,
                ingest_listen,
                api_listen,
                &public_host,
                &sans,
            )
            .await
        }
        Command::Token {
            action:
                TokenAction::Create {
                    tenant,
                    ttl_hours,
                    uses,
                    json,
                },
        } => token_create(&dir, &tenant, ttl_hours, uses, json).await,
        Command::Agent { action } => agent(&dir, action).await,
        Command::Serve => {
            let server = Server::bind(&dir).await?;
            let (ingest, api) = server.addresses();
            tracing::info!(%ingest, %api, "Collector listening.");
            eprintln!("citadel-collector: ingest (mTLS) on {ingest}, enrollment on {api}");
            server.run(serve::shutdown_signal()).await
        }
        Command::Findings { tenant, json } => findings(&dir, &tenant, json).await,
        Command::User { action } => crate::cli_users::user(&dir, action).await,
        Command::Audit {
            action: AuditAction::Verify,
        } => crate::cli_users::audit_verify(&dir).await,
        Command::Catalog { action } => catalog(&dir, action).await,
        Command::Bench {
            what,
            database_url,
            sizes,
            api_assets,
            api_checks,
        } => {
            let sizes = sizes
                .iter()
                .map(|s| {
                    let (a, c) = s
                        .split_once('x')
                        .with_context(|| format!("size {s:?}: expected ASSETSxCHECKS"))?;
                    Ok((a.trim().parse()?, c.trim().parse()?))
                })
                .collect::<anyhow::Result<Vec<(usize, usize)>>>()?;
            let tmp = tempfile::tempdir()?;
            let url = database_url.unwrap_or_else(|| {
                format!(
                    "sqlite://{}?mode=rwc",
                    tmp.path().join("bench.db").display()
                )
            });
            match what {
                BenchKind::Ingest => crate::bench::run(&url, &sizes).await,
                BenchKind::Api => {
                    crate::bench_api::run(
                        &url,
                        api_assets,
                        api_checks,
                        crate::bench_api::Suite::Api,
                    )
                    .await
                }
                BenchKind::Console => {
                    crate::bench_api::run(
                        &url,
                        api_assets,
                        api_checks,
                        crate::bench_api::Suite::Console,
                    )
                    .await
                }
            }
        }
        Command::Posture {
            tenant,
            framework,
            json,
            all,
        } => posture(&dir, &tenant, &framework, json, all).await,
    }
}

async fn init(
    dir: &Path,
    database_url: String,
    ingest_listen: SocketAddr,
    api_listen: SocketAddr,
    public_host: &str,
    sans: &[String],
) -> anyhow::Result<()> {
    if dir.join("collector.toml").exists() {
        bail!(
            "{} is already initialised (collector.toml exists)",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let host = if public_host.contains(':') {
        format!("[{public_host}]")
    } else {
        public_host.to_string()
    };
    let config = CollectorConfig {
        database_url,
        ingest_listen,
        api_listen,
        public_ingest_url: format!("https://{host}:{}", ingest_listen.port()),
        public_api_url: format!("https://{host}:{}", api_listen.port()),
        max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
        limits: Default::default(),
        revocation_refresh_secs: 30,
        auth: Default::default(),
    };
    pki::create(dir, sans)?;
    Store::open(&config.database_url_in(dir))
        .await?
        .close()
        .await;
    config.save(dir)?;
    let ca = Authority::load(dir)?;
    println!("Initialised {}", dir.display());
    println!(
        "  CA fingerprint (SHA-256): {}",
        hex::encode(ca.fingerprint())
    );
    println!("  ingest (mTLS):  {}", config.public_ingest_url);
    println!("  enrollment:     {}", config.public_api_url);
    println!(
        "Next: citadel-collector --dir {} token create --tenant NAME",
        dir.display()
    );
    Ok(())
}

async fn token_create(
    dir: &Path,
    tenant: &str,
    ttl_hours: u32,
    uses: u32,
    json: bool,
) -> anyhow::Result<()> {
    let tenant = tenant.trim();
    if tenant.is_empty() || tenant.len() > 100 || tenant.chars().any(char::is_control) {
        bail!("tenant name must be 1–100 printable characters");
    }
    let config = CollectorConfig::load(dir)?;
    let ca = Authority::load(dir)?;
    let store = Store::open(&config.database_url_in(dir)).await?;
    let (tenant_id, created) = store.ensure_tenant(tenant).await?;
    let (token, hash) = crate::http::new_token(&ca.fingerprint());
    let expires_at = now_ms() + i64::from(ttl_hours) * 3_600_000;
    store
        .insert_token(tenant_id, &hash, expires_at, uses)
        .await?;
    store.close().await;
    let expires = time::OffsetDateTime::from_unix_timestamp(expires_at / 1000)?
        .format(&time::format_description::well_known::Rfc3339)?;
    if json {
        let out = serde_json::json!({
            "token": token, "tenant": tenant, "expires_at": expires,
            "enroll_url": config.public_api_url, "max_uses": uses,
        });
        println!("{out}");
    } else {
        if created {
            println!("Created tenant {tenant:?}.");
        }
        let what = if uses == 1 {
            "One-time enrollment token".to_string()
        } else {
            format!("Enrollment token for up to {uses} agents")
        };
        println!("{what} for tenant {tenant:?}, valid until {expires}:\n");
        println!("  {token}\n");
        println!("Enroll an agent with:");
        println!(
            "  citadel-agent enroll --collector {} --token {token}",
            config.public_api_url
        );
    }
    Ok(())
}

async fn agent(dir: &Path, action: AgentAction) -> anyhow::Result<()> {
    let config = CollectorConfig::load(dir)?;
    let store = Store::open(&config.database_url_in(dir)).await?;
    match action {
        AgentAction::List => {
            let rows = store.all_agents().await?;
            println!(
                "{:<42} {:<16} {:<24} {:<10} last seen",
                "agent", "tenant", "name", "state"
            );
            for r in rows {
                println!(
                    "{:<42} {:<16} {:<24} {:<10} {}",
                    r.id,
                    r.tenant,
                    r.name,
                    if r.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    r.last_seen_at
                        .map(format_ms)
                        .unwrap_or_else(|| "never".into()),
                );
            }
        }
        AgentAction::Revoke { agent_id } => {
            if store.revoke_agent(&agent_id).await? {
                println!("Revoked {agent_id}; its batches are refused from now on.");
            } else {
                bail!("no active agent {agent_id}");
            }
        }
    }
    store.close().await;
    Ok(())
}

fn format_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// Non-passing results listed per check in the human `findings` output.
const PER_CHECK: usize = 3;

async fn findings(dir: &Path, tenant: &str, json: bool) -> anyhow::Result<()> {
    let config = CollectorConfig::load(dir)?;
    let store = Store::open(&config.database_url_in(dir)).await?;
    let list = store.tenant_findings(tenant).await?;
    store.close().await;
    if json {
        let list: Vec<serde_json::Value> = list
            .iter()
            .map(|f| {
                serde_json::json!({
                    "check_id": f.check_id,
                    "resource": f.resource,
                    "status": f.status,
                    "severity": f.severity,
                    "status_extended": f.status_extended,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    let mut counts = std::collections::BTreeMap::<(&str, &str), u64>::new();
    for f in &list {
        *counts
            .entry((f.status.as_str(), f.severity.as_str()))
            .or_default() += 1;
    }
    println!("Stored results for tenant {tenant:?}: {}", list.len());
    for ((status, severity), n) in &counts {
        println!("  {status:<15} {severity:<14} {n}");
    }
    let failing: Vec<_> = list.iter().filter(|f| f.status != "pass").collect();
    if !failing.is_empty() {
        println!(
            "\nNot passing ({}), by check (first {PER_CHECK} of each; all of them: --json):",
            failing.len()
        );
        let mut by_check = std::collections::BTreeMap::<&str, Vec<_>>::new();
        for f in &failing {
            by_check.entry(f.check_id.as_str()).or_default().push(f);
        }
        for (check, list) in &by_check {
            println!("  {check} ({})", list.len());
            for f in list.iter().take(PER_CHECK) {
                println!(
                    "    [{}] {}\n        {}",
                    f.status, f.resource, f.status_extended
                );
            }
            if list.len() > PER_CHECK {
                println!("    … and {} more", list.len() - PER_CHECK);
            }
        }
    }
    Ok(())
}

async fn catalog(dir: &Path, action: CatalogAction) -> anyhow::Result<()> {
    let config = CollectorConfig::load(dir)?;
    let store = Store::open(&config.database_url_in(dir)).await?;
    match action {
        CatalogAction::Import { scf_text } => {
            let catalog = Catalog::bundled()?;
            let (source, descriptions) = match &scf_text {
                Some(path) => (path.display().to_string(), read_scf_text(path)?),
                None => ("bundled".to_string(), Vec::new()),
            };
            let log = store
                .import_catalog(&catalog, &source, &descriptions)
                .await?;
            println!(
                "Catalog {}: {} created, {} updated, {} mappings added, {} control descriptions loaded",
                log.version, log.created, log.updated, log.mappings_added, log.descriptions
            );
        }
        CatalogAction::Status => {
            let rows = store.catalog_imports().await?;
            println!(
                "{:<34} {:<24} {:>8} {:>8} {:>9}  source",
                "version", "imported", "created", "updated", "mappings"
            );
            for r in rows {
                println!(
                    "{:<34} {:<24} {:>8} {:>8} {:>9}  {}",
                    r.version,
                    format_ms(r.imported_at),
                    r.created,
                    r.updated,
                    r.mappings_added,
                    r.source,
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

/// `(scf id, description)` pairs from a user-supplied SCF catalogue.
fn read_scf_text(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let controls = doc["controls"]
        .as_array()
        .with_context(|| format!("{}: no `controls` array", path.display()))?;
    let mut out = Vec::new();
    for c in controls {
        if let (Some(id), Some(d)) = (c["scf_id"].as_str(), c["description"].as_str())
            && id.len() <= 32
            && d.len() <= 64 * 1024
        {
            out.push((id.to_string(), d.to_string()));
        }
    }
    if out.is_empty() {
        bail!(
            "{}: no controls with scf_id and description",
            path.display()
        );
    }
    Ok(out)
}

async fn posture(
    dir: &Path,
    tenant: &str,
    framework: &str,
    json: bool,
    all: bool,
) -> anyhow::Result<()> {
    let Some(framework_id) = crate::posture::framework_id(framework) else {
        bail!("unknown framework {framework:?}: use soc2, iso27001, csf, pci or 800-53");
    };
    let config = CollectorConfig::load(dir)?;
    let store = Store::open(&config.database_url_in(dir)).await?;
    let view = store.framework_view(tenant, framework_id).await?;
    store.close().await;
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
        return Ok(());
    }
    let pct = if view.assessable == 0 {
        0.0
    } else {
        100.0 * view.covered as f64 / view.assessable as f64
    };
    println!("{} for tenant {:?}", view.framework, view.tenant);
    println!(
        "  automated coverage: {} of {} requirements ({pct:.1}%)",
        view.covered, view.assessable
    );
    for (status, n) in &view.counts {
        println!("  {status:<20} {n}");
    }
    println!();
    for r in &view.requirements {
        if !all && r.status == "not_assessed" {
            continue;
        }
        let controls: Vec<String> = r
            .controls
            .iter()
            .map(|(k, p)| format!("{k} ({p})"))
            .collect();
        println!(
            "  {:<22} {:<20} {}",
            r.ref_id,
            r.status,
            controls.join(", ")
        );
    }
    Ok(())
}
