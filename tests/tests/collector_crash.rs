//! The collector killed with SIGKILL every two seconds while five agents
//! push 200 chained batches between them, each retrying its batch until the
//! collector answers: every batch is stored exactly once, with no gap, no
//! replay and no fork, on SQLite and on PostgreSQL.

use std::time::{Duration, Instant};

use citadel_e2e::{Agent, Backend, Collector, TestDb};
use sqlx::Row;

const AGENTS: usize = 5;
const BATCHES_PER_AGENT: u64 = 40;
/// The whole run, killing included, must end within this.
const DEADLINE: Duration = Duration::from_secs(240);

#[tokio::test]
async fn every_batch_stored_once_through_kills_sqlite() {
    crash_scenario(Backend::Sqlite).await;
}

#[tokio::test]
async fn every_batch_stored_once_through_kills_postgres() {
    crash_scenario(Backend::Postgres).await;
}

/// What one agent produced and the collector acknowledged.
struct Pushed {
    agent_id: String,
    /// SHA-256 of each batch, by sequence number from 1.
    produced: Vec<String>,
    /// Pushes that got no reply or a 5xx, retried.
    retries: u32,
}

async fn push_all(identity: citadel_agent::identity::Identity, url: String) -> Pushed {
    let client = citadel_agent::tls::mtls_client(&identity).unwrap();
    let agent_id = identity.info.agent_id.clone();
    let mut prev = None;
    let mut produced = Vec::new();
    let mut retries = 0;
    for seq in 1..=BATCHES_PER_AGENT {
        let mut b = citadel_e2e::chained_batch(&agent_id, seq, prev.take());
        b.results[0].observed_at += seq as i64;
        let bytes = citadel_wire::sign(&b, &identity.key).unwrap();
        let sha = citadel_wire::sha256_hex(&bytes);
        loop {
            let sent = client
                .post(format!("{url}/v1/batches"))
                .timeout(Duration::from_secs(10))
                .body(bytes.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => break,
                Ok(r) if r.status().is_client_error() => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    panic!("{agent_id} batch {seq} refused: {status} {text}");
                }
                _ => {
                    retries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        produced.push(sha.clone());
        prev = Some(sha);
    }
    Pushed {
        agent_id,
        produced,
        retries,
    }
}

async fn crash_scenario(backend: Backend) {
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend).await.unwrap();
    let mut collector = Collector::init(&work.path().join("collector"), &db.url).unwrap();
    collector.start().unwrap();
    let mut identities = Vec::new();
    for n in 0..AGENTS {
        let dir = work.path().join(format!("agent-{n}"));
        // Nothing listens on port 9: these agents never reach AWS.
        let agent = Agent::new(&dir, "http://127.0.0.1:9", &["us-east-1"]).unwrap();
        let out = agent
            .enroll(&collector.api_url(), &collector.token("acme").unwrap())
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        identities.push(citadel_agent::identity::Identity::load(&dir.join("state")).unwrap());
    }

    let url = collector.ingest_url();
    let pushers: Vec<_> = identities
        .into_iter()
        .map(|id| tokio::spawn(push_all(id, url.clone())))
        .collect();
    let mut kills = 0;
    while !pushers.iter().all(|p| p.is_finished()) {
        assert!(started.elapsed() < DEADLINE, "not done after {kills} kills");
        tokio::time::sleep(Duration::from_secs(2)).await;
        if pushers.iter().all(|p| p.is_finished()) {
            break;
        }
        collector.stop();
        kills += 1;
        collector.start().unwrap();
    }
    let mut pushed = Vec::new();
    for p in pushers {
        pushed.push(p.await.expect("a pusher failed"));
    }
    let retries: u32 = pushed.iter().map(|p| p.retries).sum();
    println!(
        "{backend:?}: {} batches from {AGENTS} agents through {kills} kills, {retries} retried pushes, {:.1} s",
        AGENTS as u64 * BATCHES_PER_AGENT,
        started.elapsed().as_secs_f64()
    );
    assert!(kills > 0, "the collector was never killed");

    let pool = collector.pool().await.unwrap();
    for p in &pushed {
        let stored: Vec<(i64, String)> =
            sqlx::query("SELECT seq, sha256 FROM batches WHERE agent_id = $1 ORDER BY seq")
                .bind(&p.agent_id)
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
        let expected: Vec<(i64, String)> = p
            .produced
            .iter()
            .enumerate()
            .map(|(n, sha)| (n as i64 + 1, sha.clone()))
            .collect();
        assert_eq!(stored, expected, "{}", p.agent_id);
        let gaps: i64 = sqlx::query("SELECT COUNT(*) FROM chain_gaps WHERE agent_id = $1")
            .bind(&p.agent_id)
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(gaps, 0);
    }
    let total: i64 = sqlx::query("SELECT COUNT(*) FROM batches")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, (AGENTS as u64 * BATCHES_PER_AGENT) as i64);
    collector.stop();
}
