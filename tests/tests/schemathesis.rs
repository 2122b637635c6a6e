//! API conformance: schemathesis (PyPI, v4) generates requests from the
//! collector's own OpenAPI document and checks that a real collector, on
//! SQLite and PostgreSQL, answers every one of them as documented: no 5xx,
//! only documented statuses and content types, bodies that fit the schemas.
//!
//! `./x setup` installs schemathesis; without it this test fails (it never
//! skips), saying how to install it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use citadel_e2e::{ApiClient, Backend, Collector, TestDb};
use serde_json::json;

const ADMIN: &str = "admin@citadel.test";
const PASSWORD: &str = "correct horse battery staple";

/// Test cases per operation and phase: enough to reach the odd inputs
/// (boundaries, wrong types, missing bodies) in seconds, not minutes.
const MAX_EXAMPLES: &str = "20";
/// Hard limit on one schemathesis run: about 20 s alone, under 60 s with
/// the other backend's run beside it on 2 cores.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// What this test asserts about every response: no 5xx; statuses, content
/// types and bodies as documented; 405 with `Allow` for other methods.
/// Not `negative_data_rejection`: a token name of 101 characters that ends
/// in a space is schema-invalid, yet fine once trimmed, as it should be.
/// Not `ignored_auth`: the bearer header given here overrides the invalid
/// credentials it would try (tests/api.rs covers authentication).
const CHECKS: &str = "not_a_server_error,status_code_conformance,\
content_type_conformance,response_schema_conformance,unsupported_method,\
allow_header_conformance";

/// Revoking an API token can hit the token schemathesis authenticates with
/// (ids are small integers, and schemathesis tries them): every later
/// request would get a (documented) 401 and test nothing. So this operation
/// runs alone, after all the others. Everything else is safe to fuzz with
/// the token: logout refuses tokens (422, they are not sessions), and a user
/// cannot disable themselves, so neither is excluded.
const SELF_REVOKING: &str = "DELETE /api/v1/tokens/{id}";

fn python() -> String {
    std::env::var("CITADEL_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Fail (never skip) when schemathesis is missing.
fn require_schemathesis() {
    let found = Command::new(python())
        .args(["-c", "import schemathesis"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "schemathesis is not installed for {}: run `./x setup` \
         (or `{} -m pip install 'schemathesis>=4,<5'`)",
        python(),
        python()
    );
}

/// Run `schemathesis run` with `args` against `collector`, with the bearer
/// `token`; panic with its output unless it passes.
fn schemathesis(collector: &Collector, work: &Path, token: &str, args: &[&str]) {
    let out = work.join("schemathesis.out");
    let log = std::fs::File::create(&out).unwrap();
    let spec = format!("{}/api/v1/openapi.json", collector.api_url());
    let ca = collector.dir.join("ca.crt");
    let mut child = Command::new(python())
        .args(["-m", "schemathesis.cli", "run", &spec])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // The collector's server certificate is for 127.0.0.1, issued by its CA.
        .arg("--tls-verify")
        .arg(&ca)
        .args(["--checks", CHECKS])
        // No stateful phase: it chains operations for minutes.
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--request-timeout", "10"])
        // Nothing remembered between runs, nothing written outside `work`.
        .args(["--generation-database", "none", "--no-color"])
        .args(args)
        .current_dir(work)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {} -m schemathesis.cli: {e}", python()));
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = std::fs::read_to_string(&out).unwrap_or_default();
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!(
            "schemathesis found problems ({s}):\n{output}\n--- collector log\n{}",
            collector.log()
        ),
        None => panic!(
            "schemathesis did not finish within {} s:\n{output}",
            RUN_TIMEOUT.as_secs()
        ),
    }
}

/// Inputs schemathesis found (or that a NUL would make it find only on
/// PostgreSQL, which refuses NUL in text: a 500) pinned here, since it
/// does not generate them every run: each is refused with a 4xx.
async fn refused_inputs(api: &ApiClient) {
    use reqwest::Method;
    let cases = [
        (Method::GET, "/api/v1/tenants/a%00b/agents", None),
        (
            Method::POST,
            "/api/v1/tenants/acme/agents/a%00b/revoke",
            None,
        ),
        (
            Method::DELETE,
            "/api/v1/tenants/a%00/enrollment-tokens/1",
            None,
        ),
        (
            Method::PUT,
            "/api/v1/users/1/grants/a%00",
            Some(json!({ "role": "viewer" })),
        ),
        (Method::GET, "/api/v1/audit-log?tenant=a%00", None),
        (
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "n", "role": "viewer", "tenants": ["a\u{0}"] })),
        ),
        // serde reads a struct from an array of its fields, too.
        (Method::POST, "/api/v1/tenants", Some(json!(["array"]))),
        (Method::PATCH, "/api/v1/users/1", Some(json!([false, null]))),
    ];
    for (method, path, body) in cases {
        let r = api.send(method.clone(), path, body).await.unwrap();
        assert!(
            (400..500).contains(&r.status),
            "{method} {path}: {} {}",
            r.status,
            r.json
        );
    }
}

async fn conformance(backend: Backend) {
    require_schemathesis();
    let work = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend).await.unwrap();
    let mut collector = Collector::init(&work.path().join("collector"), &db.url).unwrap();
    collector.create_user(ADMIN, PASSWORD, true).unwrap();
    collector.start().unwrap();
    let mut session = ApiClient::new(&collector).unwrap();
    let r = session.login(ADMIN, PASSWORD).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    let r = session
        .post(
            "/api/v1/tokens",
            json!({ "name": "schemathesis", "role": "admin" }),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    let token = r.json["token"].as_str().unwrap().to_string();

    // A little data, so that listings and lookups have something to return.
    let api = session.with_token(&token);
    let r = api
        .post("/api/v1/tenants", json!({ "name": "acme" }))
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    let r = api
        .post("/api/v1/tenants/acme/enrollment-tokens", json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.json);

    refused_inputs(&api).await;

    let start = Instant::now();
    schemathesis(
        &collector,
        work.path(),
        &token,
        &["--exclude-name", SELF_REVOKING],
    );
    schemathesis(
        &collector,
        work.path(),
        &token,
        &["--include-name", SELF_REVOKING],
    );
    eprintln!(
        "schemathesis on {backend:?} passed in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread")]
    async fn conformance() {
        super::conformance(citadel_e2e::Backend::Sqlite).await
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread")]
    async fn conformance() {
        super::conformance(citadel_e2e::Backend::Postgres).await
    }
}
