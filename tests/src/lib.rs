//! End-to-end harness: a moto server standing in for AWS, a collector and an
//! agent run as the real binaries, talking real TLS.
//!
//! Binaries are looked up next to the running executable (`target/<profile>/`),
//! so `cargo build --bins` must have run; the check packs are looked up in
//! `target/wasm32-wasip2/plugin/` (or `CITADEL_PLUGINS_DIR`).
//! Everything started here is stopped when its handle is dropped.

pub mod browser;
pub mod estate;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub use estate::{Estate, seed_estate};

/// File name of the network check pack.
pub const PACK_FILE: &str = "citadel_pack_ec2_network.wasm";
/// File name of the compute check pack.
pub const COMPUTE_PACK_FILE: &str = "citadel_pack_ec2_compute.wasm";
/// File name of the storage check pack.
pub const STORAGE_PACK_FILE: &str = "citadel_pack_ec2_storage.wasm";
/// File name of the VPC check pack.
pub const VPC_PACK_FILE: &str = "citadel_pack_vpc.wasm";

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The `tests` package directory, read at run time: a build cache shared
/// between checkouts may hand us a binary compiled in another one.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

/// Directory holding this build's binaries (`CITADEL_BIN_DIR` overrides it,
/// for a copy of the binaries that a concurrent build cannot replace).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CITADEL_BIN_DIR") {
        return dir.into();
    }
    build_dir()
}

/// The profile directory of the running test executable (`target/<profile>/`).
fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current executable");
    let dir = exe.parent().expect("executable directory").to_path_buf();
    if dir.ends_with("deps") {
        dir.parent().expect("profile dir").to_path_buf()
    } else {
        dir
    }
}

/// Path of a workspace binary, with a hint when it has not been built.
pub fn bin(name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir().join(name);
    if !path.exists() {
        bail!(
            "{} is missing: run `cargo build --bins` first",
            path.display()
        );
    }
    Ok(path)
}

/// The directory holding built check packs.
pub fn plugins_build_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CITADEL_PLUGINS_DIR") {
        return dir.into();
    }
    let target = build_dir().parent().expect("target dir").to_path_buf();
    target.join("wasm32-wasip2").join("plugin")
}

/// Copy the built check packs into `dir` (created) and sign them with a fresh
/// publisher key, as a vendor would before shipping them. Returns the
/// publisher's public key (`cpk1_…`) for the agent's trust list.
pub fn install_pack(dir: &Path) -> anyhow::Result<String> {
    use citadel_agent::plugin_host::trust;
    std::fs::create_dir_all(dir)?;
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    for file in [
        PACK_FILE,
        COMPUTE_PACK_FILE,
        STORAGE_PACK_FILE,
        VPC_PACK_FILE,
    ] {
        let src = plugins_build_dir().join(file);
        if !src.exists() {
            bail!(
                "{} is missing: run `./x test` (it builds the check packs for wasm32-wasip2)",
                src.display()
            );
        }
        let dst = dir.join(file);
        std::fs::copy(&src, &dst)?;
        let sig = trust::sign(&std::fs::read(&dst)?, &key, "citadel");
        std::fs::write(trust::sig_path(&dst), serde_json::to_string_pretty(&sig)?)?;
    }
    Ok(trust::key_id(&key.verifying_key()))
}

pub(crate) fn wait_for_port(addr: SocketAddr, child: &mut Child, what: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited before listening on {addr}: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not listen on {addr} within 30 s")
}

/// Run a command to completion; fail with its output if it fails.
pub fn run_ok(cmd: &mut Command) -> anyhow::Result<Output> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// A moto server on a free port.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

impl Moto {
    /// Start `python3 -m moto.server` (override the interpreter with `CITADEL_PYTHON`).
    pub fn start() -> anyhow::Result<Self> {
        Self::launch(&["-m", "moto.server"])
    }

    /// Start moto through `parity/moto_server.py`, which adds the EC2
    /// account-setting and Client VPN calls plain moto lacks, so that no
    /// check ends in `error` for want of them.
    pub fn start_complete() -> anyhow::Result<Self> {
        let script = manifest_dir().join("../parity/moto_server.py");
        Self::launch(&[script.to_str().context("script path")?])
    }

    fn launch(program: &[&str]) -> anyhow::Result<Self> {
        let python = std::env::var("CITADEL_PYTHON").unwrap_or_else(|_| "python3".into());
        let port = free_port();
        let port_arg = port.to_string();
        let mut args = program.to_vec();
        args.extend(["-H", "127.0.0.1", "-p", &port_arg]);
        let mut child = Command::new(&python)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting moto with {python} (pip install 'moto[server]')"))?;
        wait_for_port(SocketAddr::from(([127, 0, 0, 1], port)), &mut child, "moto")?;
        Ok(Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An initialised collector data directory, possibly serving.
#[derive(Debug)]
pub struct Collector {
    /// Data directory.
    pub dir: PathBuf,
    /// Ingest listener.
    pub ingest: SocketAddr,
    /// Enrollment listener.
    pub api: SocketAddr,
    child: Option<Child>,
}

impl Collector {
    /// `citadel-collector init` in `dir` on free ports with the given database.
    pub fn init(dir: &Path, database_url: &str) -> anyhow::Result<Self> {
        let ingest = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let api = SocketAddr::from(([127, 0, 0, 1], free_port()));
        run_ok(Command::new(bin("citadel-collector")?).args([
            "--dir",
            &dir.display().to_string(),
            "init",
            "--database-url",
            database_url,
            "--ingest-listen",
            &ingest.to_string(),
            "--api-listen",
            &api.to_string(),
            "--public-host",
            "127.0.0.1",
        ]))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            ingest,
            api,
            child: None,
        })
    }

    /// A `citadel-collector` command on this data directory.
    pub fn command(&self) -> anyhow::Result<Command> {
        let mut cmd = Command::new(bin("citadel-collector")?);
        cmd.arg("--dir").arg(&self.dir);
        Ok(cmd)
    }

    /// Start `serve` and wait until both listeners accept connections.
    pub fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::File::create(self.dir.join("serve.log"))?;
        let mut child = self
            .command()?
            .arg("serve")
            .env("CITADEL_COLLECTOR_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        wait_for_port(self.ingest, &mut child, "collector")?;
        wait_for_port(self.api, &mut child, "collector")?;
        self.child = Some(child);
        Ok(())
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }

    /// Enrollment URL.
    pub fn api_url(&self) -> String {
        format!("https://{}", self.api)
    }

    /// Ingest URL.
    pub fn ingest_url(&self) -> String {
        format!("https://{}", self.ingest)
    }

    /// `token create --tenant NAME`, returning the token.
    pub fn token(&self, tenant: &str) -> anyhow::Result<String> {
        let out = run_ok(
            self.command()?
                .args(["token", "create", "--json", "--tenant", tenant]),
        )?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok(v["token"].as_str().context("token in output")?.to_string())
    }

    /// Stop serving.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An agent's configuration directory.
#[derive(Debug)]
pub struct Agent {
    /// `agent.toml`
    pub config: PathBuf,
}

impl Agent {
    /// Write `agent.toml` (state and plugins under `dir`) scanning `regions` on moto.
    pub fn new(dir: &Path, moto_endpoint: &str, regions: &[&str]) -> anyhow::Result<Self> {
        Self::with_settings(dir, moto_endpoint, regions, "")
    }

    /// As [`Agent::new`], with extra TOML lines for the integration (e.g. `role_arn = …`).
    pub fn with_settings(
        dir: &Path,
        moto_endpoint: &str,
        regions: &[&str],
        integration: &str,
    ) -> anyhow::Result<Self> {
        let publisher = install_pack(&dir.join("plugins"))?;
        let regions: Vec<String> = regions.iter().map(|r| format!("{r:?}")).collect();
        let config = dir.join("agent.toml");
        std::fs::write(
            &config,
            format!(
                "plugins_dir = \"plugins\"\n\n[[integration]]\nname = \"demo\"\nregions = [{}]\nendpoint = \"{moto_endpoint}\"\n{integration}\n\n[[trusted_publisher]]\nname = \"citadel\"\nkey = \"{publisher}\"\n\n[plugins]\nread_secrets = [\"citadel-pack-ec2-compute\"]\n",
                regions.join(", ")
            ),
        )?;
        Ok(Self { config })
    }

    /// A `citadel-agent` command with this config and moto credentials.
    pub fn command(&self) -> anyhow::Result<Command> {
        let mut cmd = Command::new(bin("citadel-agent")?);
        cmd.arg("--config")
            .arg(&self.config)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE");
        Ok(cmd)
    }

    /// `enroll`.
    pub fn enroll(&self, collector_url: &str, token: &str) -> anyhow::Result<Output> {
        self.command()?
            .args([
                "enroll",
                "--collector",
                collector_url,
                "--token",
                token,
                "--hostname",
                "e2e-agent",
            ])
            .output()
            .context("running citadel-agent enroll")
    }

    /// `scan --once --json` with extra arguments; returns the parsed report
    /// and the exit code.
    pub fn scan(&self, extra: &[&str]) -> anyhow::Result<(serde_json::Value, i32)> {
        let out = self
            .command()?
            .args(["scan", "--once", "--json"])
            .args(extra)
            .output()?;
        let code = out.status.code().unwrap_or(-1);
        let report = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "scan printed no JSON report (exit {code}):\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        Ok((report, code))
    }
}

/// Which database a collector under test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the collector's data directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server of `CITADEL_TEST_POSTGRES`.
    Postgres,
}

/// A database for one test: a SQLite URL, or a PostgreSQL database created
/// for the test and dropped afterwards.
#[derive(Debug)]
pub struct TestDb {
    /// URL for `citadel-collector init --database-url`.
    pub url: String,
    postgres: Option<(String, String)>,
}

/// Server URL (any database) used to create per-test PostgreSQL databases.
pub fn postgres_admin_url() -> String {
    std::env::var("CITADEL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestDb {
    /// Create the database for `backend`.
    pub async fn create(backend: Backend) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => Ok(Self {
                url: "sqlite://citadel.db".into(),
                postgres: None,
            }),
            Backend::Postgres => {
                use sqlx::Connection;
                let admin = postgres_admin_url();
                let name = format!("citadel_test_{}", uuid::Uuid::now_v7().simple());
                let mut conn = sqlx::PgConnection::connect(&admin).await.with_context(|| {
                    format!("connecting to PostgreSQL at {admin} (set CITADEL_TEST_POSTGRES)")
                })?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await?;
                conn.close().await?;
                let (base, _) = admin
                    .rsplit_once('/')
                    .context("admin URL has no database")?;
                Ok(Self {
                    url: format!("{base}/{name}"),
                    postgres: Some((admin, name)),
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside async tests; use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
    }
}

impl Collector {
    /// The collector's database URL, resolved like the collector does.
    pub fn database_url(&self) -> anyhow::Result<String> {
        let config = citadel_collector::config::CollectorConfig::load(&self.dir)?;
        Ok(config.database_url_in(&self.dir))
    }

    /// A connection pool on the collector's database, for assertions.
    pub async fn pool(&self) -> anyhow::Result<sqlx::AnyPool> {
        sqlx::any::install_default_drivers();
        Ok(sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&self.database_url()?)
            .await?)
    }
}

/// A serving collector on a fresh database with one agent enrolled for
/// tenant `acme`. The agent has no AWS endpoint: tests hand-craft its batches.
pub struct Enrolled {
    /// The collector.
    pub collector: Collector,
    /// The agent's configuration.
    pub agent: Agent,
    /// The agent's key and certificate.
    pub identity: citadel_agent::identity::Identity,
    /// A pool on the collector's database, for assertions.
    pub pool: sqlx::AnyPool,
    _db: TestDb,
    /// Working directory (kept alive with the value).
    pub work: tempfile::TempDir,
}

impl Enrolled {
    /// Set everything up on `backend`.
    pub async fn start(backend: Backend) -> anyhow::Result<Self> {
        let work = tempfile::tempdir()?;
        let db = TestDb::create(backend).await?;
        let mut collector = Collector::init(&work.path().join("collector"), &db.url)?;
        collector.start()?;
        // Nothing listens on port 9: these agents never reach AWS.
        let agent = Agent::new(
            &work.path().join("agent"),
            "http://127.0.0.1:9",
            &["us-east-1"],
        )?;
        let out = agent.enroll(&collector.api_url(), &collector.token("acme")?)?;
        if !out.status.success() {
            bail!(
                "enrollment failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let identity = citadel_agent::identity::Identity::load(&work.path().join("agent/state"))?;
        let pool = collector.pool().await?;
        Ok(Self {
            collector,
            agent,
            identity,
            pool,
            _db: db,
            work,
        })
    }

    /// POST signed bytes to the ingest endpoint with the agent's mTLS identity;
    /// returns the HTTP status and the JSON reply.
    pub async fn post(&self, body: Vec<u8>) -> anyhow::Result<(u16, serde_json::Value)> {
        let client = citadel_agent::tls::mtls_client(&self.identity)?;
        let resp = client
            .post(format!("{}/v1/batches", self.collector.ingest_url()))
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(serde_json::Value::Null)))
    }
}

/// A client of the collector's REST API over TLS, trusting the collector's CA.
/// It keeps a session cookie and CSRF token after [`ApiClient::login`], or
/// sends a bearer token.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    /// `https://127.0.0.1:PORT`
    pub base: String,
    /// `citadel_session=…` after login.
    pub cookie: Option<String>,
    /// CSRF token of the session.
    pub csrf: Option<String>,
    /// `Authorization: Bearer` token.
    pub token: Option<String>,
}

/// A response: status, headers and the body parsed as JSON (`Null` if not JSON).
#[derive(Debug)]
pub struct ApiReply {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body as JSON.
    pub json: serde_json::Value,
    /// Raw body.
    pub bytes: Vec<u8>,
}

impl ApiClient {
    /// A client for `collector`'s API listener.
    pub fn new(collector: &Collector) -> anyhow::Result<Self> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let ca = CertificateDer::from_pem_file(collector.dir.join("ca.crt"))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca)?;
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            base: collector.api_url(),
            cookie: None,
            csrf: None,
            token: None,
        })
    }

    /// The same connection settings with a bearer token and no session.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            cookie: None,
            csrf: None,
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    /// Sign in; keeps the cookie and CSRF token. Returns the reply.
    pub async fn login(&mut self, email: &str, password: &str) -> anyhow::Result<ApiReply> {
        let reply = self
            .send(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                Some(serde_json::json!({ "email": email, "password": password })),
            )
            .await?;
        if reply.status == 200 {
            let set = reply
                .headers
                .get("set-cookie")
                .and_then(|v| v.to_str().ok())
                .context("login set no cookie")?;
            self.cookie = set.split(';').next().map(str::to_string);
            self.csrf = reply.json["csrf_token"].as_str().map(str::to_string);
        }
        Ok(reply)
    }

    /// A request builder with this client's credentials (and CSRF token).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(c) = &self.csrf {
            req = req.header("x-csrf-token", c);
        }
        req
    }

    /// Send and read the reply.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<ApiReply> {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req).await
    }

    /// Send a prepared request and read the reply.
    pub async fn read(req: reqwest::RequestBuilder) -> anyhow::Result<ApiReply> {
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?.to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Ok(ApiReply {
            status,
            headers,
            json,
            bytes,
        })
    }

    /// GET.
    pub async fn get(&self, path: &str) -> anyhow::Result<ApiReply> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> anyhow::Result<ApiReply> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
}

impl Collector {
    /// `user create EMAIL [--admin] --password-stdin` with `password`.
    pub fn create_user(&self, email: &str, password: &str, admin: bool) -> anyhow::Result<()> {
        use std::io::Write as _;
        let mut cmd = self.command()?;
        cmd.args(["user", "create", email, "--password-stdin"]);
        if admin {
            cmd.arg("--admin");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .context("stdin")?
            .write_all(format!("{password}\n").as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "user create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}

impl Enrolled {
    /// Enroll another agent, for tenant `tenant`; returns its identity.
    pub fn enroll_another(
        &self,
        tenant: &str,
    ) -> anyhow::Result<citadel_agent::identity::Identity> {
        let dir = self.work.path().join(format!("agent-{tenant}"));
        let agent = Agent::new(&dir, "http://127.0.0.1:9", &["us-east-1"])?;
        let out = agent.enroll(&self.collector.api_url(), &self.collector.token(tenant)?)?;
        if !out.status.success() {
            bail!(
                "enrollment failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(citadel_agent::identity::Identity::load(&dir.join("state"))?)
    }

    /// POST signed bytes as `identity`; returns the status and JSON reply.
    pub async fn post_as(
        &self,
        identity: &citadel_agent::identity::Identity,
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let client = citadel_agent::tls::mtls_client(identity)?;
        let resp = client
            .post(format!("{}/v1/batches", self.collector.ingest_url()))
            .body(body)
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(serde_json::Value::Null)))
    }
}

/// Give `b`'s assets (and the results and relationships naming them) ids of
/// `owner`'s own: an agent may only write assets no other live agent of the
/// tenant reports, so test agents sharing `Batch::example` would collide.
pub fn own_assets(b: &mut citadel_wire::Batch, owner: &str) {
    let rename = |s: &mut String| *s = format!("{s}-{owner}");
    for a in &mut b.assets {
        rename(&mut a.source_id);
        rename(&mut a.id);
    }
    for r in &mut b.relationships {
        rename(&mut r.from);
    }
    for r in &mut b.results {
        rename(&mut r.asset);
    }
}

/// `Batch::example` as agent `agent_id`'s batch `seq` after `prev`, with
/// fresh batch and scan ids and assets of its own ([`own_assets`]).
pub fn chained_batch(agent_id: &str, seq: u64, prev: Option<String>) -> citadel_wire::Batch {
    let mut b = citadel_wire::Batch::example();
    b.agent_id = agent_id.to_string();
    b.batch_id = uuid::Uuid::now_v7();
    b.scan_id = uuid::Uuid::now_v7();
    (b.seq, b.prev) = (seq, prev);
    own_assets(&mut b, agent_id);
    b
}
