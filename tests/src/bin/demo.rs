//! `citadel-demo`: the whole product on one machine. Starts moto as a stand-in
//! for AWS, seeds a small estate, initialises a collector on SQLite, enrolls an
//! agent, scans, pushes over mTLS and shows what the collector stored.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, bail};
use citadel_e2e::estate::close_open_ssh;
use citadel_e2e::{Agent, ApiClient, Collector, Moto, run_ok, seed_estate};
use clap::Parser;

/// Run a Citadel demo: moto-served AWS estate → agent → collector (SQLite).
#[derive(Debug, Parser)]
#[command(name = "citadel-demo", version, about)]
struct Args {
    /// Working directory for the collector and agent (default: a new temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Region to seed and scan.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Keep the collector and moto running after the scan until Ctrl-C.
    #[arg(long)]
    serve: bool,
}

fn step(text: &str) {
    println!("\n==> {text}");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _tmp;
    let dir = match &args.dir {
        Some(d) => {
            if d.exists() && std::fs::read_dir(d)?.next().is_some() {
                bail!("{} is not empty; choose a new --dir", d.display());
            }
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            _tmp = tempfile::Builder::new().prefix("citadel-demo-").tempdir()?;
            _tmp.path().to_path_buf()
        }
    };

    step("Starting moto (AWS API stand-in) on 127.0.0.1");
    let moto = Moto::start_complete()?;
    println!("    {}", moto.endpoint);

    step(&format!("Seeding a demo estate in {}", args.region));
    let estate = seed_estate(&moto.endpoint, &args.region).await?;
    println!(
        "    security groups {} (SSH open to the Internet), {} (SSH from 10/8)",
        estate.open_sg, estate.closed_sg
    );
    println!(
        "    instances {} (public IP), {} (private)",
        estate.public_instance, estate.private_instance
    );
    println!(
        "    volumes {} (unencrypted), {} (encrypted)",
        estate.plain_volume, estate.encrypted_volume
    );
    println!(
        "    VPC {} with a flow log and an EC2 endpoint {}; default VPC {} without either",
        estate.internal_vpc, estate.ec2_endpoint, estate.default_vpc
    );
    println!(
        "    endpoint service {} (allows an untrusted account), peering {} (routes a whole VPC)",
        estate.endpoint_service, estate.peering
    );
    println!(
        "    transit gateways {} (auto-accepts attachments), {} (does not)",
        estate.open_tgw, estate.reviewed_tgw
    );

    step("Initialising a collector (SQLite)");
    let mut collector = Collector::init(&dir.join("collector"), "sqlite://citadel.db")?;
    collector.start()?;
    println!("    data in {}", collector.dir.display());
    println!(
        "    ingest (mTLS) {}   enrollment {}",
        collector.ingest_url(),
        collector.api_url()
    );

    step("Enrolling an agent with a one-time token");
    let token = collector.token("demo")?;
    let agent = Agent::new(&dir.join("agent"), &moto.endpoint, &[&args.region])?;
    let out = agent.enroll(&collector.api_url(), &token)?;
    if !out.status.success() {
        bail!(
            "enrollment failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    print!("    {}", String::from_utf8_lossy(&out.stdout));

    let scan = |label: &str| {
        step(label);
        let status = agent
            .command()?
            .args(["scan", "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .context("running the agent")?;
        if !status.success() {
            bail!(
                "the scan failed ({status}); collector log:\n{}",
                collector.log()
            );
        }
        let out = run_ok(
            collector
                .command()?
                .args(["findings", "--tenant", "demo", "--json"]),
        )?;
        let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
        let n = |s: &str| list.iter().filter(|f| f["status"] == s).count();
        println!(
            "    stored {} results: {} pass, {} fail, {} error, {} not applicable",
            list.len(),
            n("pass"),
            n("fail"),
            n("error"),
            n("not_applicable")
        );
        anyhow::Ok(())
    };
    scan("Scanning: discovery → WebAssembly checks → signed batch → push")?;

    step("A fix between scans: SSH on the web security group now only from 10/8");
    close_open_ssh(&moto.endpoint, &estate).await?;
    scan("Scanning again: the fixed finding passes, history and trends fill in")?;

    step("Creating an administrator and reading posture through the REST API");
    let email = "admin@demo.citadel.test";
    let out = run_ok(
        collector
            .command()?
            .args(["user", "create", email, "--admin"]),
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("Password (shown once): "))
        .context("user create printed no password")?
        .to_string();
    let mut api = ApiClient::new(&collector)?;
    let login = api.login(email, &password).await?;
    if login.status != 200 {
        bail!("sign-in failed: {}", login.json);
    }
    let frameworks = api.get("/api/v1/tenants/demo/frameworks").await?;
    if frameworks.status != 200 {
        bail!("posture request failed: {}", frameworks.json);
    }
    println!(
        "    {:<34} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "framework", "compliant", "partial", "failing", "coverage", "score"
    );
    for f in frameworks.json.as_array().into_iter().flatten() {
        let count = |k: &str| f["requirement_counts"][k].as_u64().unwrap_or(0);
        println!(
            "    {:<34} {:>9} {:>9} {:>9} {:>8.1}% {:>9}",
            f["name"].as_str().unwrap_or("?"),
            count("compliant"),
            count("partially_compliant"),
            count("non_compliant"),
            f["coverage_pct"].as_f64().unwrap_or(0.0),
            f["compliance_score_pct"]
                .as_f64()
                .map_or("–".to_string(), |s| format!("{s:.0}%")),
        );
    }
    let queue = api
        .get("/api/v1/tenants/demo/evidence?status=in_review&limit=500")
        .await?;
    println!(
        "    evidence awaiting review: {}{}",
        queue.json["items"].as_array().map_or(0, Vec::len),
        if queue.json["next_cursor"].is_string() {
            "+"
        } else {
            ""
        }
    );
    println!("\n    console:  {}/", collector.api_url());
    println!(
        "    API:      {}/api/v1 (OpenAPI: {}/api/v1/openapi.json)",
        collector.api_url(),
        collector.api_url()
    );
    println!("    sign in:  {email} / {password}");
    println!(
        "    CA:       {} (the collector's own CA; trust it to call the API)",
        collector.dir.join("ca.crt").display()
    );

    if args.serve {
        step("Collector and moto keep running; press Ctrl-C to stop");
        println!("    agent config: {}", agent.config.display());
        tokio::signal::ctrl_c().await?;
    } else if args.dir.is_some() {
        println!("\nFiles kept in {}.", dir.display());
    }
    Ok(())
}
