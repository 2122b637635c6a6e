use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let filter = EnvFilter::try_from_env("CITADEL_AGENT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = citadel_agent::Cli::parse();
    if let Err(e) = citadel_agent::run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
