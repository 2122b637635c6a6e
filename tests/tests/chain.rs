//! The batch chain over real mTLS, and scans in parts across two regions on
//! moto: replays and forks are refused with their codes, gaps are accepted
//! and kept, a reinstalled agent is a new identity; a two-region scan split
//! into parts stores both regions and retires a deleted asset of one region
//! only.

use citadel_e2e::{Agent, Backend, Collector, Enrolled, Moto, TestDb, seed_estate};
use citadel_wire::Batch;
use sqlx::Row;

fn batch(agent_id: &str, seq: u64, prev: Option<String>) -> Batch {
    citadel_e2e::chained_batch(agent_id, seq, prev)
}

async fn count(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn replays_forks_and_gaps_over_mtls_sqlite() {
    replays_forks_and_gaps(Backend::Sqlite).await;
}

#[tokio::test]
async fn replays_forks_and_gaps_over_mtls_postgres() {
    replays_forks_and_gaps(Backend::Postgres).await;
}

async fn replays_forks_and_gaps(backend: Backend) {
    let e = Enrolled::start(backend).await.unwrap();
    let id = e.identity.info.agent_id.clone();
    let sign = |b: &Batch| citadel_wire::sign(b, &e.identity.key).unwrap();

    let first = sign(&batch(&id, 1, None));
    let h1 = citadel_wire::sha256_hex(&first);
    let (status, reply) = e.post(first.clone()).await.unwrap();
    assert_eq!((status, reply["status"].as_str()), (200, Some("accepted")));
    let (status, reply) = e.post(first).await.unwrap();
    assert_eq!((status, reply["status"].as_str()), (200, Some("duplicate")));

    let refused = [
        // Number 1 again, under a new batch id.
        (batch(&id, 1, Some(h1.clone())), "chain_replay"),
        // Another batch 1: same place, same (no) parent, other bytes.
        (batch(&id, 1, None), "chain_fork"),
        // Number 2 not naming batch 1.
        (batch(&id, 2, Some("ab".repeat(32))), "chain_fork"),
        (batch(&id, 2, None), "chain_fork"),
    ];
    for (b, code) in refused {
        let (status, reply) = e.post(sign(&b)).await.unwrap();
        assert_eq!(
            (status, reply["code"].as_str()),
            (409, Some(code)),
            "{reply}"
        );
    }
    assert_eq!(count(&e.pool, "SELECT COUNT(*) FROM batches").await, 1);

    // Numbers 2 to 4 never come: batch 5 is accepted and the gap kept.
    let fifth = sign(&batch(&id, 5, Some("cd".repeat(32))));
    let (status, _) = e.post(fifth.clone()).await.unwrap();
    assert_eq!(status, 200, "{}", e.collector.log());
    let (status, _) = e
        .post(sign(&batch(&id, 6, Some(citadel_wire::sha256_hex(&fifth)))))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let gap = sqlx::query("SELECT first_seq, last_seq FROM chain_gaps WHERE agent_id = $1")
        .bind(&id)
        .fetch_all(&e.pool)
        .await
        .unwrap();
    assert_eq!(gap.len(), 1);
    assert_eq!((gap[0].get::<i64, _>(0), gap[0].get::<i64, _>(1)), (2, 4));
    // A late batch from inside the gap is a replay.
    let (status, reply) = e.post(sign(&batch(&id, 3, None))).await.unwrap();
    assert_eq!(
        (status, reply["code"].as_str()),
        (409, Some("chain_replay"))
    );

    // A reinstalled agent (fresh state) enrolls as a new identity and its
    // chain starts over at 1.
    let again = e.enroll_another("acme").unwrap();
    assert_ne!(again.info.agent_id, id);
    let b = batch(&again.info.agent_id, 1, None);
    let (status, _) = e
        .post_as(&again, citadel_wire::sign(&b, &again.key).unwrap())
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(count(&e.pool, "SELECT COUNT(*) FROM batches").await, 4);
}

const EAST: &str = "us-east-1";
const WEST: &str = "eu-west-1";

#[tokio::test]
async fn two_regions_in_parts_retire_assets_per_region() {
    let moto = Moto::start().unwrap();
    let east = seed_estate(&moto.endpoint, EAST).await.unwrap();
    let west = seed_estate(&moto.endpoint, WEST).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = TestDb::create(Backend::Sqlite).await.unwrap();
    let mut collector = Collector::init(&work.path().join("collector"), &db.url).unwrap();
    collector.start().unwrap();
    let agent = Agent::new(&work.path().join("agent"), &moto.endpoint, &[EAST, WEST]).unwrap();
    // Small parts, so the scan travels in several.
    let config = std::fs::read_to_string(&agent.config).unwrap();
    std::fs::write(
        &agent.config,
        format!("max_batch_bytes = 1048576\n{config}"),
    )
    .unwrap();
    let out = agent
        .enroll(&collector.api_url(), &collector.token("acme").unwrap())
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (report, code) = agent.scan(&[]).unwrap();
    assert_eq!(code, 0, "{report:#}\n{}", collector.log());
    let delivered = report["push"]["delivered"].as_array().unwrap();
    assert!(delivered.len() > 1, "one scan in parts: {report:#}");
    assert!(delivered.iter().all(|d| d["status"] == "accepted"));
    let pool = collector.pool().await.unwrap();
    let parts: Vec<(i64, i64)> = sqlx::query("SELECT part, parts FROM batches ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let n = parts.len() as i64;
    assert_eq!(parts, (0..n).map(|i| (i, n)).collect::<Vec<_>>());
    let regions: Vec<String> =
        sqlx::query("SELECT DISTINCT region FROM assets WHERE kind = 'ec2:volume' ORDER BY region")
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(regions, [WEST, EAST]);

    // The plain volume goes in one region; moto fails some calls on every
    // scan, but the volume lists of both regions answer in full.
    let ec2 = citadel_e2e::estate::client(&moto.endpoint, WEST).await;
    ec2.delete_volume()
        .volume_id(&west.plain_volume)
        .send()
        .await
        .unwrap();
    let (report, code) = agent.scan(&[]).unwrap();
    assert_eq!(code, 0, "{report:#}");
    let active = async |region: &str, id: &str| -> bool {
        sqlx::query(
            "SELECT CASE WHEN is_active THEN 1 ELSE 0 END FROM assets
             WHERE region = $1 AND external_id = $2",
        )
        .bind(region)
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap()
        .get::<i64, _>(0)
            == 1
    };
    assert!(!active(WEST, &west.plain_volume).await, "deleted, retired");
    assert!(active(EAST, &east.plain_volume).await);
    assert!(active(WEST, &west.encrypted_volume).await);
    assert!(active(EAST, &east.encrypted_volume).await);
    collector.stop();
}
