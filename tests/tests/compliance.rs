//! The collector's compliance pipeline, stage by stage, on SQLite and
//! PostgreSQL: batches signed by an enrolled agent go in over mTLS; applied
//! controls, posture, history, stale assets, ended relationships, policies and
//! evidence come out.

use std::collections::BTreeMap;

use citadel_e2e::{Backend, Enrolled, run_ok};
use citadel_wire::{
    Asset, Batch, CheckInfo, CheckResult, Integration, Relationship, Severity, Status,
};
use sqlx::{AnyPool, Row};

const EBS: &str = "ec2_ebs_volume_encryption";

fn arn(id: &str) -> String {
    format!("arn:aws:ec2:us-east-1:123456789012:volume/{id}")
}

fn ebs_check() -> CheckInfo {
    let mut requirements = BTreeMap::new();
    requirements.insert("soc2".to_string(), vec!["pi_1_5".to_string()]);
    requirements.insert(
        "iso27001_2022".to_string(),
        vec!["A.8.11".to_string(), "A.8.24".to_string()],
    );
    requirements.insert("pci_4.0".to_string(), vec!["3.5.1.20".to_string()]);
    CheckInfo {
        id: EBS.into(),
        plugin: "citadel-pack-ec2-network".into(),
        title: "EBS volume is encrypted".into(),
        description: "d".into(),
        severity: Severity::High,
        service: "ec2".into(),
        resource_type: "AwsEc2Volume".into(),
        remediation: "r".into(),
        requirements,
    }
}

/// A complete scan of the given volumes with their verdicts.
fn scan(agent_id: &str, seq: u64, volumes: &[(&str, Status)]) -> Batch {
    let mut b = Batch::example();
    b.agent_id = agent_id.into();
    b.batch_id = uuid::Uuid::now_v7();
    // Each scan its own: assets go inactive by what a whole scan saw.
    b.scan_id = uuid::Uuid::now_v7();
    b.seq = seq;
    b.integration = Integration {
        name: "prod".into(),
        provider: "aws".into(),
        account: "123456789012".into(),
        regions: vec!["us-east-1".into()],
    };
    b.checks = vec![ebs_check()];
    b.assets = volumes
        .iter()
        .map(|(id, _)| Asset {
            source: "aws".into(),
            source_id: arn(id),
            id: id.to_string(),
            kind: "ec2:volume".into(),
            name: Some(format!("disk {id}")),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            tags: BTreeMap::new(),
            raw: format!(r#"{{"VolumeId":"{id}"}}"#),
        })
        .collect();
    b.relationships = volumes
        .iter()
        .map(|(id, _)| Relationship {
            from: arn(id),
            kind: "attached_to".into(),
            to: "arn:aws:ec2:us-east-1:123456789012:instance/i-1".into(),
        })
        .collect();
    b.results = volumes
        .iter()
        .map(|(id, status)| CheckResult {
            check_id: EBS.into(),
            asset: arn(id),
            status: *status,
            status_extended: format!("EBS Snapshot {id} is {status:?}."),
            severity: Severity::High,
            observed_at: 1_767_225_601_000 + seq as i64,
        })
        .collect();
    b.complete = true;
    b
}

type World = Enrolled;

async fn world(backend: Backend) -> World {
    Enrolled::start(backend).await.unwrap()
}

async fn send(w: &World, batch: &Batch) -> serde_json::Value {
    send_bytes(w, chained(w, batch)).await
}

/// `batch` signed as the next link of the agent's chain: the collector
/// refuses a number used before or a `prev` that is not its last batch.
fn chained(w: &World, batch: &Batch) -> Vec<u8> {
    static HEADS: std::sync::Mutex<BTreeMap<String, (u64, String)>> =
        std::sync::Mutex::new(BTreeMap::new());
    let mut heads = HEADS.lock().unwrap();
    let mut b = batch.clone();
    let head = heads.get(&b.agent_id).cloned();
    b.seq = head.as_ref().map_or(1, |h| h.0 + 1);
    b.prev = head.map(|h| h.1);
    let bytes = citadel_wire::sign(&b, &w.identity.key).unwrap();
    heads.insert(
        b.agent_id.clone(),
        (b.seq, citadel_wire::sha256_hex(&bytes)),
    );
    bytes
}

async fn send_bytes(w: &World, bytes: Vec<u8>) -> serde_json::Value {
    let (status, body) = w.post(bytes).await.unwrap();
    assert_eq!(status, 200, "{body}\n{}", w.collector.log());
    body
}

async fn one<T>(pool: &AnyPool, sql: &'static str, bind: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    sqlx::query(sql)
        .bind(bind)
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0)
}

async fn table_counts(pool: &AnyPool) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "batches",
        "assets",
        "asset_relationships",
        "check_results",
        "check_result_history",
        "applied_controls",
        "control_requirement_mappings",
        "policies",
        "policy_controls",
        "evidence",
        "evidence_revisions",
        "evidence_controls",
    ] {
        out.push(
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t}")))
                .fetch_one(pool)
                .await
                .unwrap()
                .get(0),
        );
    }
    out
}

async fn pipeline(backend: Backend) {
    let w = world(backend).await;
    let agent_id = w.identity.info.agent_id.clone();

    // Scan 1: one unencrypted, one encrypted volume.
    let first = send(
        &w,
        &scan(
            &agent_id,
            1,
            &[("vol-a", Status::Fail), ("vol-b", Status::Pass)],
        ),
    )
    .await;
    assert_eq!(first["status"], "accepted");
    let s = &first["summary"];
    assert_eq!(
        (
            s["results"].as_u64(),
            s["failed"].as_u64(),
            s["passed"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(s["evidence_created"], 2);
    assert_eq!(s["evidence_revisions"], 2);
    assert_eq!(s["history"], 2);
    assert!(s["controls_created"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["policies_created"].as_u64().unwrap() >= 1, "{s}");

    // Stage A: the curated SCF control for EBS encryption, with both results.
    let posture: String = one(
        &w.pool,
        "SELECT posture FROM applied_controls WHERE key = $1",
        "scf:CRY-05",
    )
    .await;
    assert_eq!(posture, "partial");
    let counts =
        sqlx::query("SELECT passed, failed, errors, total FROM applied_controls WHERE key = $1")
            .bind("scf:CRY-05")
            .fetch_one(&w.pool)
            .await
            .unwrap();
    assert_eq!(
        (
            counts.get::<i64, _>(0),
            counts.get::<i64, _>(1),
            counts.get::<i64, _>(3)
        ),
        (1, 1, 2)
    );
    // Requirement mappings from both sources.
    let sources: Vec<String> = sqlx::query(
        "SELECT DISTINCT m.source FROM control_requirement_mappings m
         JOIN applied_controls c ON c.id = m.applied_control_id WHERE c.key = $1 ORDER BY m.source",
    )
    .bind("scf:CRY-05")
    .fetch_all(&w.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert_eq!(sources, vec!["check".to_string(), "scf".to_string()]);
    let policy: String = one(
        &w.pool,
        "SELECT p.status FROM policies p WHERE p.template_id = $1",
        "encryption",
    )
    .await;
    assert_eq!(policy, "to_do");
    let policies_after_first: i64 = sqlx::query("SELECT COUNT(*) FROM policies")
        .fetch_one(&w.pool)
        .await
        .unwrap()
        .get(0);

    // Scan 2 (complete): vol-a fixed, vol-b gone.
    let second_batch = scan(&agent_id, 2, &[("vol-a", Status::Pass)]);
    let second = send(&w, &second_batch).await;
    let s = &second["summary"];
    assert_eq!(s["assets_deactivated"], 1, "{s}");
    assert_eq!(s["relationships_ended"], 1, "{s}");
    assert_eq!(
        s["policies_created"], 0,
        "policies are never duplicated: {s}"
    );
    assert_eq!(s["controls_created"], 0, "{s}");
    assert_eq!(s["history"], 1, "only vol-a changed status: {s}");
    let posture: String = one(
        &w.pool,
        "SELECT posture FROM applied_controls WHERE key = $1",
        "scf:CRY-05",
    )
    .await;
    assert_eq!(posture, "passing", "the deleted volume no longer counts");
    let active: i64 = one(
        &w.pool,
        "SELECT CASE WHEN is_active THEN 1 ELSE 0 END FROM assets WHERE external_id = $1",
        "vol-b",
    )
    .await;
    assert_eq!(active, 0);
    let ended: Option<i64> = one(
        &w.pool,
        "SELECT ended_at FROM asset_relationships WHERE from_source_id = $1",
        &arn("vol-b"),
    )
    .await;
    assert!(ended.is_some());
    let history: Vec<(Option<String>, String)> = sqlx::query(
        "SELECT h.previous_status, h.status FROM check_result_history h
         JOIN check_results r ON r.id = h.check_result_id JOIN assets a ON a.id = r.asset_id
         WHERE a.external_id = $1 ORDER BY h.id",
    )
    .bind("vol-a")
    .fetch_all(&w.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert_eq!(
        history,
        vec![
            (None, "fail".to_string()),
            (Some("fail".to_string()), "pass".to_string())
        ]
    );
    let revisions: i64 = one(
        &w.pool,
        "SELECT l.revisions FROM evidence_latest l JOIN evidence e ON e.id = l.evidence_id
         WHERE e.asset_source_id = $1",
        &arn("vol-a"),
    )
    .await;
    assert_eq!(revisions, 2);
    // Revision 2 gives back vol-a's result exactly as scan 2 signed it, and
    // names the stored batch that proves it.
    let evidence_id: i64 = one(
        &w.pool,
        "SELECT id FROM evidence WHERE asset_source_id = $1",
        &arn("vol-a"),
    )
    .await;
    let store = citadel_collector::store::Store::open(&w.collector.database_url().unwrap())
        .await
        .unwrap();
    let revision = store
        .evidence_revision(evidence_id, 2)
        .await
        .unwrap()
        .expect("revision 2 exists");
    let signed_result = second_batch
        .results
        .iter()
        .find(|r| r.asset == arn("vol-a"))
        .unwrap();
    assert_eq!(&revision.result, signed_result);
    assert_eq!(revision.status, "pass");
    assert_eq!(revision.batch_id, second_batch.batch_id.to_string());
    let sha: String = one(
        &w.pool,
        "SELECT sha256 FROM batches WHERE id = $1",
        &revision.batch_id,
    )
    .await;
    assert_eq!(revision.batch_sha256, sha);
    let first = store
        .evidence_revision(evidence_id, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.result.status, Status::Fail);
    assert!(
        store
            .evidence_revision(evidence_id, 3)
            .await
            .unwrap()
            .is_none()
    );
    store.close().await;
    let kept: String = one(
        &w.pool,
        "SELECT asset_name FROM evidence WHERE asset_source_id = $1",
        &arn("vol-b"),
    )
    .await;
    assert_eq!(kept, "disk vol-b", "evidence keeps its copy of the asset");
    let policies_now: i64 = sqlx::query("SELECT COUNT(*) FROM policies")
        .fetch_one(&w.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(policies_now, policies_after_first);

    // Re-ingesting changes nothing.
    let before = table_counts(&w.pool).await;
    let again = send(&w, &scan(&agent_id, 2, &[("vol-a", Status::Pass)])).await;
    assert_eq!(again["status"], "accepted", "a new batch id is a new scan");
    let after_rescan = table_counts(&w.pool).await;
    assert_eq!(after_rescan[0], before[0] + 1);
    assert_eq!(
        after_rescan[1..5],
        before[1..5],
        "rescans update, never duplicate"
    );
    let bytes = chained(&w, &scan(&agent_id, 3, &[("vol-a", Status::Pass)]));
    send_bytes(&w, bytes.clone()).await;
    let snapshot = table_counts(&w.pool).await;
    let dup = send_bytes(&w, bytes).await;
    assert_eq!(dup["status"], "duplicate");
    assert_eq!(table_counts(&w.pool).await, snapshot);

    // The framework view.
    let out = run_ok(w.collector.command().unwrap().args([
        "posture",
        "--tenant",
        "acme",
        "--framework",
        "iso27001",
        "--json",
    ]))
    .unwrap();
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a824 = view["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ref_id"] == "A.8.24")
        .expect("A.8.24");
    assert_eq!(a824["status"], "compliant", "{a824}");
    assert!(view["covered"].as_u64().unwrap() >= 1);
    assert!(view["assessable"].as_u64().unwrap() > 90);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_pipeline_sqlite() {
    pipeline(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_pipeline_postgres() {
    pipeline(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_import_is_idempotent_and_loads_descriptions() {
    let w = world(Backend::Sqlite).await;
    let out = run_ok(w.collector.command().unwrap().args(["catalog", "import"])).unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("0 created, 0 updated, 0 mappings added"),
        "{text}"
    );
    let scf = citadel_e2e::manifest_dir()
        .join("../../shared/reference/catalog/scf/scf_catalog_2025.2.2.json");
    if scf.exists() {
        let out = run_ok(w.collector.command().unwrap().args([
            "catalog",
            "import",
            "--scf-text",
            scf.to_str().unwrap(),
        ]))
        .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("1342 control descriptions loaded"));
        let d: Option<String> = one(
            &w.pool,
            "SELECT description FROM scf_controls WHERE id = $1",
            "GOV-01",
        )
        .await;
        assert!(d.unwrap().starts_with("Mechanisms exist"));
    }
    let imports: i64 = sqlx::query("SELECT COUNT(*) FROM catalog_imports")
        .fetch_one(&w.pool)
        .await
        .unwrap()
        .get(0);
    assert!(imports >= 2);
}

/// `citadel-collector bench` ingests its synthetic batches end to end on
/// both databases and reports each one (the numbers themselves are not
/// asserted: they are the benchmark's output, not a pass/fail line).
async fn bench_runs(backend: Backend) {
    let work = tempfile::tempdir().unwrap();
    let db = citadel_e2e::TestDb::create(backend).await.unwrap();
    let mut cmd = std::process::Command::new(citadel_e2e::bin("citadel-collector").unwrap());
    cmd.current_dir(work.path())
        .args(["bench", "--sizes", "30x4"]);
    if backend == Backend::Postgres {
        cmd.args(["--database-url", &db.url]);
    }
    let out = run_ok(&mut cmd).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("results/s")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("120 results, first scan"), "{text}");
    assert!(lines[1].contains("120 results, rescan"), "{text}");
    for line in lines {
        assert!(line.contains("120 evidence revisions"), "{line}");
        assert!(line.contains("s of checkpoint"), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_runs_sqlite() {
    bench_runs(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_runs_postgres() {
    bench_runs(Backend::Postgres).await;
}
