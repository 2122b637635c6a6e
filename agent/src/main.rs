use citadel_agent::cli::{Command, LogFormat};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let cli = citadel_agent::Cli::parse();
    // The service logs what it does (scans, pushes, retries); one-shot
    // commands only warnings, their output is the report.
    let default = match cli.command {
        Command::Run => "info",
        _ => "warn",
    };
    let filter = EnvFilter::try_from_env("CITADEL_AGENT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Plain => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let service = matches!(cli.command, Command::Run);
    if let Err(e) = citadel_agent::run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
    if service {
        // Do not wait for a plugin evaluation abandoned on SIGTERM: its
        // results were never going to be spooled. Everything durable is.
        std::process::exit(0);
    }
}
