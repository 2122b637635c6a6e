use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = citadel_collector::cli::Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CITADEL_COLLECTOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        citadel_collector::cli::LogFormat::Plain => logs.init(),
        citadel_collector::cli::LogFormat::Json => logs.json().init(),
    }
    match citadel_collector::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
