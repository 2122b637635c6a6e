//! Command-line interface.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::identity::Identity;
use crate::plugin_host::{Publisher, trust};
use crate::scan::{self, ScanOptions};
use crate::spool::Spool;
use crate::state::StateFile;
use crate::{enroll, plugin_dev, push, summary};

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

    /// Log format on stderr: `plain` for people, `json` (one object a line) for log shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
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
    /// Run as a service: scan on the `[service]` schedule, push with backoff,
    /// send heartbeats, until SIGTERM or SIGINT (then exit 0).
    Run,
    /// Show identity, certificate expiry, spool depth, last scan and last push.
    Status {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
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
        /// Scan once and exit (default: scan every --interval; `run` is the
        /// service, with backoff and heartbeats).
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
    /// Verify the installed check packs and compile them into the plugin cache,
    /// so that the first scan does not pay for compiling them. Run it after
    /// installing or updating packs (in an image build, or before the service
    /// starts); scans compile whatever it did not.
    Prepare,
    /// Print the minimal read-only IAM policy that the installed check packs need.
    IamPolicy,
    /// Tools for check-pack authors: scaffold, build, test, sign, inspect, bench.
    Plugin {
        /// Action.
        #[command(subcommand)]
        action: PluginAction,
    },
}

/// Plugin author subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginAction {
    /// Scaffold a new check-pack crate on the SDK.
    New {
        /// Pack name (lowercase letters, digits, '-').
        name: String,
        /// Directory to create (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Use the SDK from this source directory instead of crates.io.
        #[arg(long)]
        sdk_path: Option<PathBuf>,
    },
    /// Build the pack in DIR as a WebAssembly component (wasm32-wasip2).
    Build {
        /// Pack crate directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Run the pack's component against its JSON fixtures and compare findings.
    Test {
        /// Pack crate directory (its `fixtures/` are used; the component is built unless --component).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Test this component instead of building DIR.
        #[arg(long)]
        component: Option<PathBuf>,
        /// Fixtures directory (default: DIR/fixtures).
        #[arg(long)]
        fixtures: Option<PathBuf>,
    },
    /// Create a publisher signing key pair (OUT.key, OUT.pub).
    Keygen {
        /// Output path prefix.
        #[arg(long)]
        out: PathBuf,
        /// Publisher name to suggest in agent.toml.
        #[arg(long)]
        name: String,
    },
    /// Sign a component (writes COMPONENT.sig).
    Sign {
        /// The .wasm component.
        component: PathBuf,
        /// Publisher private key (from `plugin keygen`).
        #[arg(long)]
        key: PathBuf,
        /// Publisher name recorded in the signature.
        #[arg(long)]
        publisher: String,
    },
    /// Check a component's signature against trusted keys (--key, or the config's trusted_publisher list).
    Verify {
        /// The .wasm component.
        component: PathBuf,
        /// Trusted publisher key (cpk1_…); repeatable.
        #[arg(long = "key")]
        keys: Vec<String>,
    },
    /// Show a component's identity, signature, checks and the capabilities it asks for.
    Inspect {
        /// The .wasm component.
        component: PathBuf,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure start-up, per-evaluation overhead and throughput of a component.
    Bench {
        /// The .wasm component.
        component: PathBuf,
        /// Synthetic resources for the throughput run.
        #[arg(long, default_value_t = 100_000)]
        resources: usize,
        /// Evaluations for the overhead measurement.
        #[arg(long, default_value_t = 2_000)]
        iterations: usize,
    },
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
                let report = match scan::scan_once(&config, &identity, &opts).await {
                    Ok(r) => r,
                    Err(e) if !once => {
                        // A repeating scan outlives a failed one; the next batch reports it.
                        tracing::error!(error = %e, "Scan failed.");
                        eprintln!("error: {e}");
                        tokio::time::sleep(Duration::from_secs(interval)).await;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
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
        Command::Prepare => {
            let config = load(&cli.config)?;
            let started = std::time::Instant::now();
            let (host, failures) = scan::load_plugins(&config).await?;
            for f in &failures {
                eprintln!("warning: plugin not loaded: {f}");
            }
            for p in host.plugins() {
                println!(
                    "{} {} ({} checks, signed by {})",
                    p.name,
                    p.version,
                    p.checks.len(),
                    p.signer.as_ref().map_or("nobody", |s| s.publisher.as_str())
                );
            }
            let checks: usize = host.plugins().iter().map(|p| p.checks.len()).sum();
            let cache = scan::host_options(&config).cache_dir;
            println!(
                "{} check pack(s) with {checks} checks verified and compiled in {:.2} s (cache: {}).",
                host.plugins().len(),
                started.elapsed().as_secs_f64(),
                cache.map_or("none".into(), |d| d.display().to_string())
            );
            if !failures.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::IamPolicy => {
            let config = load(&cli.config)?;
            let (host, failures) = scan::load_plugins(&config).await?;
            for f in failures {
                eprintln!("warning: plugin not loaded: {f}");
            }
            let (policy, unknown) = crate::discovery::iam_policy(&host.required_kinds());
            for u in unknown {
                eprintln!("warning: a check reads {u}, which discovery does not serve");
            }
            println!("{}", serde_json::to_string_pretty(&policy)?);
            Ok(())
        }
        Command::Plugin { action } => plugin(&cli.config, action).await,
        Command::Run => {
            let config = load(&cli.config)?;
            let identity = Identity::load(&config.state_dir)?;
            let stop = crate::service::stop_on_signals()?;
            crate::service::run(config, identity, stop).await
        }
        Command::Status { json } => {
            let config = load(&cli.config)?;
            let identity = Identity::load(&config.state_dir)?;
            let status = crate::status::gather(&config, &identity)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", crate::status::render(&status));
            }
            Ok(())
        }
        Command::Push => {
            let config = load(&cli.config)?;
            let identity = Identity::load(&config.state_dir)?;
            let spool = Spool::open_with(&config.state_dir, config.spool)?;
            let _lock = spool.lock()?;
            let state = StateFile::load(&config.state_dir);
            scan::report_quarantined(&spool, &state);
            let url = scan::ingest_url(&config, &identity);
            let report = push::push_spool(&identity, &spool, &url).await?;
            scan::record_push(&state, &report);
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

/// Trusted publishers: from `--key` arguments, else from the config file if there is one.
fn trust_list(config: &std::path::Path, keys: &[String]) -> anyhow::Result<Vec<Publisher>> {
    if !keys.is_empty() {
        return keys
            .iter()
            .map(|k| {
                let key = trust::parse_key(k).map_err(|e| anyhow::anyhow!("--key {k}: {e}"))?;
                Ok(Publisher {
                    name: "(--key)".into(),
                    key,
                })
            })
            .collect();
    }
    if config.exists() {
        return Ok(load(config)?.trusted);
    }
    Ok(Vec::new())
}

async fn plugin(config: &std::path::Path, action: PluginAction) -> anyhow::Result<()> {
    let config = config.to_path_buf();
    let blocking = move || -> anyhow::Result<()> {
        let config = config.as_path();
        match action {
            PluginAction::New {
                name,
                dir,
                sdk_path,
            } => {
                let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
                plugin_dev::new_pack(&name, &dir, sdk_path.as_deref())
            }
            PluginAction::Build { dir } => plugin_dev::build(&dir).map(|_| ()),
            PluginAction::Test {
                dir,
                component,
                fixtures,
            } => {
                let component = match component {
                    Some(c) => c,
                    None => plugin_dev::build(&dir)?,
                };
                let fixtures = fixtures.unwrap_or_else(|| dir.join("fixtures"));
                let mismatches = plugin_dev::test(&component, &fixtures)?;
                if mismatches > 0 {
                    anyhow::bail!("{mismatches} mismatch(es)");
                }
                Ok(())
            }
            PluginAction::Keygen { out, name } => plugin_dev::keygen(&out, &name),
            PluginAction::Sign {
                component,
                key,
                publisher,
            } => plugin_dev::sign(&component, &key, &publisher),
            PluginAction::Verify { component, keys } => {
                let trusted = trust_list(config, &keys)?;
                if !plugin_dev::verify(&component, &trusted)? {
                    std::process::exit(1);
                }
                Ok(())
            }
            PluginAction::Inspect { component, json } => {
                let trusted = trust_list(config, &[])?;
                plugin_dev::inspect(&component, &trusted, json)
            }
            PluginAction::Bench {
                component,
                resources,
                iterations,
            } => plugin_dev::bench(&component, resources, iterations),
        }
    };
    tokio::task::spawn_blocking(blocking).await?
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
