//! Command-line interface.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::identity::Identity;
use crate::scan::{self, ScanOptions};
use crate::spool::Spool;
use crate::{enroll, push, summary};

/// Citadel agent: scans an AWS account with sandboxed check plugins and sends
/// signed findings to a Citadel collector.
#[derive(Debug, Parser)]
#[command(name = "citadel-agent", version, about, long_about = None)]
pub struct Cli {
    /// Agent configuration file.
    #[arg(
        short,
        long,
        global = true,
        env = "CITADEL_AGENT_CONFIG",
        default_value = "agent.toml"
    )]
    pub config: PathBuf,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Obtain this agent's certificate from a collector with a one-time token.
    Enroll {
        /// The collector's enrollment URL, e.g. https://collector.example:8444
        #[arg(long)]
        collector: String,
        /// One-time token from `citadel-collector token create`.
        #[arg(long, env = "CITADEL_ENROLL_TOKEN", hide_env_values = true)]
        token: String,
        /// Name to record for this agent (default: the machine's hostname).
        #[arg(long)]
        hostname: Option<String>,
    },
    /// Discover, evaluate, sign and push findings.
    Scan {
        /// Scan once and exit (default: scan every --interval).
        #[arg(long)]
        once: bool,
        /// Seconds between scans when not --once.
        #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(60..))]
        interval: u64,
        /// Print the report as JSON instead of a human summary.
        #[arg(long)]
        json: bool,
        /// Also write the signed batch (COSE_Sign1) to this file.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Keep batches in the spool instead of pushing them.
        #[arg(long)]
        no_push: bool,
    },
    /// Push batches left in the spool by earlier scans.
    Push,
}

/// Run the CLI.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Enroll {
            collector,
            token,
            hostname,
        } => {
            let config = load(&cli.config)?;
            let hostname = hostname.unwrap_or_else(local_hostname);
            let info = enroll::enroll(&config.state_dir, &collector, &token, &hostname).await?;
            println!(
                "Enrolled as {} (tenant {}). Batches will be pushed to {}.",
                info.agent_id, info.tenant, info.ingest_url
            );
            Ok(())
        }
        Command::Scan {
            once,
            interval,
            json,
            output,
            no_push,
        } => {
            let config = load(&cli.config)?;
            let identity = Identity::load(&config.state_dir)?;
            let opts = ScanOptions {
                push: !no_push,
                output,
            };
            loop {
                let report = scan::scan_once(&config, &identity, &opts).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    print!("{}", summary::render(&report));
                }
                if once {
                    let undelivered = report
                        .push
                        .as_ref()
                        .is_some_and(|p| p.pending > 0 || !p.rejected.is_empty());
                    if undelivered {
                        std::process::exit(3);
                    }
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_secs(interval)).await;
            }
        }
        Command::Push => {
            let config = load(&cli.config)?;
            let identity = Identity::load(&config.state_dir)?;
            let spool = Spool::open(&config.state_dir)?;
            let url = config
                .collector_url
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_else(|| identity.info.ingest_url.clone());
            let report = push::push_spool(&identity, &spool, &url).await?;
            for d in &report.delivered {
                println!("{} {}", d.batch_id, d.status);
            }
            for (p, why) in &report.rejected {
                println!("rejected {}: {why}", p.display());
            }
            if let Some(why) = &report.deferred {
                println!("{} batch(es) still spooled: {why}", report.pending);
                std::process::exit(3);
            }
            Ok(())
        }
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    Config::load(path).with_context(|| "cannot load the agent configuration".to_string())
}

fn local_hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "citadel-agent".into())
}
