//! Refusals at the trust boundary between agents and the collector: bad
//! signatures, wrong identities, missing client certificates and bad tokens.
//! Each refusal must be clear and leave the database unchanged.

use std::sync::Arc;

use citadel_agent::identity::Identity;
use citadel_e2e::{Agent, Backend, Collector, Enrolled};
use citadel_wire::Batch;
use ed25519_dalek::SigningKey;
use sqlx::{AnyPool, Row};

/// Nothing listens here: these agents never reach AWS.
const NO_AWS: &str = "http://127.0.0.1:9";

type Setup = Enrolled;

async fn setup() -> Setup {
    setup_on(Backend::Sqlite).await
}

async fn setup_on(backend: Backend) -> Setup {
    Enrolled::start(backend).await.unwrap()
}

async fn count(pool: &AnyPool, table: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0)
}

fn batch_for(agent_id: &str) -> Batch {
    let mut b = Batch::example();
    b.agent_id = agent_id.to_string();
    b.batch_id = uuid::Uuid::now_v7();
    b
}

/// POST a body to the ingest endpoint with the agent's mTLS identity.
async fn post(s: &Setup, body: Vec<u8>) -> (u16, serde_json::Value) {
    s.post(body).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_checked_against_the_client_certificate_sqlite() {
    batch_checks(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_checked_against_the_client_certificate_postgres() {
    batch_checks(Backend::Postgres).await;
}

async fn batch_checks(backend: Backend) {
    let s = setup_on(backend).await;
    let agent_id = s.identity.info.agent_id.clone();

    // Signed with a key that is not the certificate's.
    let stranger = SigningKey::from_bytes(&[9; 32]);
    let forged = citadel_wire::sign(&batch_for(&agent_id), &stranger).unwrap();
    let (status, body) = post(&s, forged).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("signature does not verify"),
        "{body}"
    );

    // Signed by this agent's key but claiming to be another agent.
    let other = citadel_wire::sign(&batch_for("agt-someone-else"), &s.identity.key).unwrap();
    let (status, body) = post(&s, other).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("client certificate belongs to"),
        "{body}"
    );

    // Garbage and tampered bytes.
    let (status, _) = post(&s, b"not cbor".to_vec()).await;
    assert_eq!(status, 400);
    let mut tampered = citadel_wire::sign(&batch_for(&agent_id), &s.identity.key).unwrap();
    let n = tampered.len();
    tampered[n - 70] ^= 1; // inside the payload, before the signature
    let (status, body) = post(&s, tampered).await;
    assert!(status == 400 || status == 403, "{status} {body}");

    // Nothing of the above was stored.
    for table in [
        "batches",
        "assets",
        "check_results",
        "integrations",
        "security_checks",
    ] {
        assert_eq!(count(&s.pool, table).await, 0, "{table}");
    }

    // A good batch is stored once, however often it is sent.
    let good = citadel_wire::sign(&batch_for(&agent_id), &s.identity.key).unwrap();
    let (status, body) = post(&s, good.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["summary"]["results"], 1);
    assert_eq!(body["summary"]["assets_created"], 1);
    let (status, again) = post(&s, good).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["batch_id"], body["batch_id"]);
    assert_eq!(again["summary"], body["summary"]);
    assert_eq!(count(&s.pool, "batches").await, 1);
    assert_eq!(count(&s.pool, "check_results").await, 1);
    assert_eq!(count(&s.pool, "check_result_history").await, 1);

    // A batch id reused for other content is a conflict, not a silent overwrite.
    let mut changed = batch_for(&agent_id);
    changed.batch_id = uuid::Uuid::parse_str(body["batch_id"].as_str().unwrap()).unwrap();
    changed.results[0].status = citadel_wire::Status::Pass;
    let (status, body) = post(&s, citadel_wire::sign(&changed, &s.identity.key).unwrap()).await;
    assert_eq!(status, 409, "{body}");
    let status_now: String = sqlx::query("SELECT status FROM check_results")
        .fetch_one(&s.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(status_now, "fail");

    // A revoked agent is refused even with a valid certificate and signature.
    citadel_e2e::run_ok(
        s.collector
            .command()
            .unwrap()
            .args(["agent", "revoke", &agent_id]),
    )
    .unwrap();
    let late = citadel_wire::sign(&batch_for(&agent_id), &s.identity.key).unwrap();
    let (status, body) = post(&s, late).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    assert_eq!(count(&s.pool, "batches").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_requires_a_client_certificate_from_this_collector() {
    let s = setup().await;
    let good = citadel_wire::sign(&batch_for(&s.identity.info.agent_id), &s.identity.key).unwrap();

    // Trusts the collector, presents no certificate.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            s.identity.ca_der.clone(),
        ))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let anonymous = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .unwrap();
    let url = format!("{}/v1/batches", s.collector.ingest_url());
    let err = anonymous.post(&url).body(good.clone()).send().await;
    assert!(
        err.is_err(),
        "a connection without a client certificate must be refused: {err:?}"
    );

    // The enrollment listener does not take batches at all.
    let api = citadel_agent::tls::mtls_client(&s.identity).unwrap();
    let resp = api
        .post(format!("{}/v1/batches", s.collector.api_url()))
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);

    // A certificate from another collector's CA is refused too.
    let work = tempfile::tempdir().unwrap();
    let mut other = Collector::init(&work.path().join("collector"), "sqlite://citadel.db").unwrap();
    other.start().unwrap();
    let foreign_agent = Agent::new(&work.path().join("agent"), NO_AWS, &["us-east-1"]).unwrap();
    let out = foreign_agent
        .enroll(&other.api_url(), &other.token("acme").unwrap())
        .unwrap();
    assert!(out.status.success());
    let mut foreign = Identity::load(&work.path().join("agent").join("state")).unwrap();
    foreign.ca_der = s.identity.ca_der.clone(); // trust our collector, present the foreign cert
    let client = citadel_agent::tls::mtls_client(&foreign).unwrap();
    let batch = citadel_wire::sign(&batch_for(&foreign.info.agent_id), &foreign.key).unwrap();
    assert!(client.post(&url).body(batch).send().await.is_err());

    assert_eq!(count(&s.pool, "batches").await, 0);
    assert!(
        s.collector.log().contains("TLS handshake failed"),
        "{}",
        s.collector.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_tokens_are_single_use_and_checked() {
    let s = setup().await;
    let work = tempfile::tempdir().unwrap();
    let newcomer =
        |name: &str| Agent::new(&work.path().join(name), NO_AWS, &["us-east-1"]).unwrap();
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).to_string();
    let fp = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&s.identity.ca_der));

    // A made-up secret with the right CA pin.
    let out = newcomer("a")
        .enroll(
            &s.collector.api_url(),
            &format!("ctk1_{fp}_{}", "ab".repeat(24)),
        )
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not known"), "{}", stderr(&out));

    // The token the first agent used.
    let used: i64 = sqlx::query("SELECT COUNT(*) FROM enrollment_tokens WHERE used_at IS NOT NULL")
        .fetch_one(&s.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(used, 1);
    let token = s.collector.token("acme").unwrap();
    let out = newcomer("b")
        .enroll(&s.collector.api_url(), &token)
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = newcomer("c")
        .enroll(&s.collector.api_url(), &token)
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already been used"),
        "{}",
        stderr(&out)
    );

    // An expired token.
    let token = s.collector.token("acme").unwrap();
    sqlx::query("UPDATE enrollment_tokens SET expires_at = 0 WHERE used_at IS NULL")
        .execute(&s.pool)
        .await
        .unwrap();
    let out = newcomer("d")
        .enroll(&s.collector.api_url(), &token)
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("expired"), "{}", stderr(&out));

    // A token pinning another CA: the agent refuses to talk to this collector.
    let forged = format!("ctk1_{}_{}", "00".repeat(32), "ab".repeat(24));
    let out = newcomer("e")
        .enroll(&s.collector.api_url(), &forged)
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not match the fingerprint"),
        "{}",
        stderr(&out)
    );

    // Malformed.
    let out = newcomer("f")
        .enroll(&s.collector.api_url(), "hello")
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("malformed enrollment token"),
        "{}",
        stderr(&out)
    );

    // Only the two legitimate enrollments exist; refused agents hold no identity.
    assert_eq!(count(&s.pool, "agents").await, 2);
    assert!(!work.path().join("c/state/identity.json").exists());
    let _ = &s.agent;
}
