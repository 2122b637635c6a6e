//! Schema upgrades keep what was stored: a database written by an earlier
//! version (migrations up to 0004) is filled with rows in that version's
//! shape, then opened by the current collector, which migrates it.

use std::collections::BTreeMap;

use citadel_collector::catalog::Catalog;
use citadel_collector::store::{IngestOutcome, Store};
use citadel_e2e::{Backend, TestDb};
use citadel_wire::{Asset, Batch, CheckInfo, CheckResult, Integration, Severity, Status};
use sqlx::{AnyPool, Row};

/// A result as the evidence revisions of 0002–0004 kept it: a JSON copy.
fn legacy_copy(status: Status) -> String {
    serde_json::to_string(&CheckResult {
        check_id: "chk_a".into(),
        asset: "arn:a".into(),
        status,
        status_extended: format!("vol-a is {}", status.as_str()),
        severity: Severity::Medium,
        observed_at: 100,
    })
    .unwrap()
}

/// Every row of `sql`, as a tuple.
async fn rows<T>(pool: &AnyPool, sql: &'static str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as(sql).fetch_all(pool).await.unwrap()
}

/// The first column of every row of `sql`.
async fn column(pool: &AnyPool, sql: &'static str) -> Vec<String> {
    sqlx::query_scalar(sql).fetch_all(pool).await.unwrap()
}

/// Insert one row, ids included (PostgreSQL's identity columns need leave).
async fn row(pool: &AnyPool, backend: Backend, table: &str, columns: &str, values: &str) {
    let overriding = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => "OVERRIDING SYSTEM VALUE",
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} ({columns}) {overriding} VALUES ({values})"
    )))
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("{table}: {e}"));
}

async fn upgrade_keeps_results_history_and_evidence(backend: Backend) {
    let work = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend).await.unwrap();
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", work.path().join("old.db").display()),
        Backend::Postgres => db.url.clone(),
    };
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    match backend {
        Backend::Sqlite => {
            sqlx::migrate!("../migrations/sqlite")
                .run_to(4, &pool)
                .await
        }
        Backend::Postgres => {
            sqlx::migrate!("../migrations/postgres")
                .run_to(4, &pool)
                .await
        }
    }
    .unwrap();

    // Two batches of one agent. Result 3 (chk_a) failed, then passed; result
    // 40 (chk_b) failed once. Their evidence records were numbered the other
    // way round (3 ↔ 40), which the upgrade has to untangle. Result 41 has no
    // evidence record at all: it predates them.
    let text = |s: &str| format!("'{s}'");
    row(
        &pool,
        backend,
        "tenants",
        "id, name, created_at",
        "5, 'legacy', 1",
    )
    .await;
    let key = match backend {
        Backend::Sqlite => "x'00'",
        Backend::Postgres => "'\\x00'::bytea",
    };
    row(
        &pool,
        backend,
        "agents",
        "id, tenant_id, name, public_key, certificate_pem, enrolled_at",
        &format!("'agt-legacy', 5, 'old', {key}, 'pem', 1"),
    )
    .await;
    row(
        &pool,
        backend,
        "integrations",
        "id, tenant_id, agent_id, name, provider, account, regions, status, consecutive_errors",
        "9, 5, 'agt-legacy', 'aws-main', 'aws', '123', '[]', 'ok', 0",
    )
    .await;
    for check in ["chk_a", "chk_b", "chk_old"] {
        row(
            &pool,
            backend,
            "security_checks",
            "tenant_id, id, plugin, title, description, severity, service, resource_type,
             remediation, requirements, updated_at",
            &format!(
                "5, '{check}', 'p', 't', 'd', 'medium', 'ec2', 'AwsEc2Volume', 'r', '{{}}', 1"
            ),
        )
        .await;
    }
    row(
        &pool,
        backend,
        "assets",
        "id, tenant_id, integration_id, source, source_id, external_id, kind, name, region,
         account, tags, raw_source_data, first_seen_at, last_seen_at, last_batch_id, is_active",
        "11, 5, 9, 'aws', 'arn:a', 'vol-a', 'ec2:volume', 'vol-a', 'us-east-1', '123', '{}', '{}',
         1, 2, 'b-2', TRUE",
    )
    .await;
    for (n, batch) in [(1, "b-1"), (2, "b-2")] {
        row(
            &pool,
            backend,
            "batches",
            "id, tenant_id, agent_id, integration_id, seq, scan_id, sha256, received_at,
             started_at, finished_at, complete, summary",
            &format!(
                "'{batch}', 5, 'agt-legacy', 9, {n}, 'scan-{n}', 'sha-{n}', {}, 1, 2, TRUE, '{{}}'",
                n * 100
            ),
        )
        .await;
        row(
            &pool,
            backend,
            "batch_payloads",
            "batch_id, raw",
            &format!("'{batch}', {key}"),
        )
        .await;
    }
    for values in [
        "3, 5, 'chk_a', 11, 'pass', 'vol-a is pass', 'medium', 200, 100, 'b-2', 2",
        "40, 5, 'chk_b', 11, 'fail', 'no', 'medium', 200, 200, 'b-2', 1",
        // Stored before evidence existed (migration 0002 made no record for it).
        "41, 5, 'chk_old', 11, 'fail', 'old', 'medium', 50, 50, 'b-1', 1",
    ] {
        row(
            &pool,
            backend,
            "check_results",
            "id, tenant_id, check_id, asset_id, status, status_extended, severity, observed_at,
             first_seen_at, batch_id, observations",
            values,
        )
        .await;
    }
    for (id, result, previous, status, batch) in [
        (21, 3, "NULL", "'fail'", "b-1"),
        (22, 3, "'fail'", "'pass'", "b-2"),
        (23, 40, "NULL", "'fail'", "b-2"),
    ] {
        row(
            &pool,
            backend,
            "check_result_history",
            "id, check_result_id, previous_status, status, changed_at, batch_id",
            &format!("{id}, {result}, {previous}, {status}, 1, {}", text(batch)),
        )
        .await;
    }
    for (id, result, check) in [(40, 3, "chk_a"), (3, 40, "chk_b")] {
        row(
            &pool,
            backend,
            "evidence",
            "id, tenant_id, check_result_id, check_id, status, is_continuous, asset_name,
             asset_type, asset_source_id, created_at",
            &format!(
                "{id}, 5, {result}, '{check}', 'in_review', TRUE, 'vol-a', 'ec2:volume', 'arn:a', 1"
            ),
        )
        .await;
    }
    for (id, evidence, version, status, batch, copy) in [
        (50, 40, 1, Status::Fail, "b-1", legacy_copy(Status::Fail)),
        (51, 40, 2, Status::Pass, "b-2", legacy_copy(Status::Pass)),
        (52, 3, 1, Status::Fail, "b-2", legacy_copy(Status::Fail)),
    ] {
        row(
            &pool,
            backend,
            "evidence_revisions",
            "id, evidence_id, version, result_status, batch_id, raw_output, created_at",
            &format!(
                "{id}, {evidence}, {version}, '{}', '{batch}', {}, {}",
                status.as_str(),
                text(&copy.replace('\'', "''")),
                version * 100
            ),
        )
        .await;
    }
    pool.close().await;

    // The current collector migrates on open.
    let store = Store::open(&url).await.unwrap();
    let pool = store.pool();

    // Evidence takes its result's id; revisions follow their record.
    let ids: Vec<(i64, i64, String)> = rows(
        pool,
        "SELECT id, check_result_id, check_id FROM evidence ORDER BY id",
    )
    .await;
    assert_eq!(
        ids,
        vec![
            (3, 3, "chk_a".to_string()),
            (40, 40, "chk_b".to_string()),
            (41, 41, "chk_old".to_string())
        ]
    );
    let numbered: Vec<String> = column(pool, "SELECT id FROM batches ORDER BY number").await;
    assert_eq!(numbered, ["b-1", "b-2"], "numbered in order of receipt");
    let revisions: Vec<(i64, i64, String, String)> = rows(
        pool,
        "SELECT r.evidence_id, r.version, r.result_status, b.id FROM evidence_revisions r
         JOIN batches b ON b.number = r.batch_number ORDER BY r.evidence_id, r.version",
    )
    .await;
    let rev = |e: i64, v: i64, s: &str, b: &str| (e, v, s.to_string(), b.to_string());
    assert_eq!(
        revisions,
        vec![
            rev(3, 1, "fail", "b-1"),
            rev(3, 2, "pass", "b-2"),
            rev(40, 1, "fail", "b-2")
        ]
    );
    let latest: Vec<(i64, i64, String)> = rows(
        pool,
        "SELECT evidence_id, revisions, batch_id FROM evidence_latest ORDER BY evidence_id",
    )
    .await;
    assert_eq!(
        latest,
        vec![(3, 2, "b-2".to_string()), (40, 1, "b-2".to_string())]
    );
    // A revision written before 0004 still reads back from its copy.
    let first = store.evidence_revision(3, 1).await.unwrap().unwrap();
    assert_eq!(
        (first.status.as_str(), first.batch_id.as_str()),
        ("fail", "b-1")
    );
    assert_eq!(first.batch_sha256, "sha-1");
    assert_eq!(first.result.status_extended, "vol-a is fail");

    // Results and history name their batches by number now.
    let history: Vec<(i64, Option<String>, String, String)> = rows(
        pool,
        "SELECT h.check_result_id, h.previous_status, h.status, b.id FROM check_result_history h
         JOIN batches b ON b.number = h.batch_number ORDER BY h.id",
    )
    .await;
    assert_eq!(
        history,
        vec![
            (3, None, "fail".to_string(), "b-1".to_string()),
            (
                3,
                Some("fail".to_string()),
                "pass".to_string(),
                "b-2".to_string()
            ),
            (40, None, "fail".to_string(), "b-2".to_string()),
        ]
    );
    let result_batches: Vec<String> = column(
        pool,
        "SELECT b.id FROM check_results r JOIN batches b ON b.number = r.batch_number
         ORDER BY r.id",
    )
    .await;
    assert_eq!(result_batches, ["b-2", "b-2", "b-1"]);
    if backend == Backend::Sqlite {
        let broken = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(pool)
            .await
            .unwrap();
        assert!(broken.is_empty(), "{} foreign key violations", broken.len());
    }
    for view in [
        "evidence_controls",
        "applied_control_assets",
        "evidence_latest",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {view}")))
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{view}: {e}"));
    }

    // Ingest goes on where the old data left off: the next batch number, the
    // next revision of each record, and a first revision for result 41.
    let batch = next_scan();
    let raw = citadel_wire::sign(&batch, &ed25519_dalek::SigningKey::from_bytes(&[7; 32])).unwrap();
    let spans = citadel_wire::SignedBatch::parse(&raw)
        .unwrap()
        .result_spans()
        .unwrap();
    let catalog = Catalog::bundled().unwrap();
    let outcome = store
        .ingest(5, "agt-legacy", &raw, &batch, &spans, &catalog)
        .await
        .unwrap();
    let IngestOutcome::Accepted(summary) = outcome else {
        panic!("not accepted")
    };
    assert_eq!(summary.evidence_created, 0, "{summary:?}");
    assert_eq!(summary.evidence_revisions, 2, "{summary:?}");
    let latest: Vec<(i64, i64, String)> = rows(
        pool,
        "SELECT l.evidence_id, l.revisions, b.id FROM evidence_latest l
         JOIN batches b ON b.id = l.batch_id ORDER BY l.evidence_id",
    )
    .await;
    let now = batch.batch_id.to_string();
    assert_eq!(
        latest,
        vec![
            (3, 3, now.clone()),
            (40, 1, "b-2".to_string()),
            (41, 2, now.clone())
        ]
    );
    let number: i64 = sqlx::query("SELECT number FROM batches WHERE id = $1")
        .bind(&now)
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(number, 3);
    let third = store.evidence_revision(3, 3).await.unwrap().unwrap();
    assert_eq!(third.result, batch.results[0]);
    store.close().await;
}

/// The agent's next scan after the upgrade: chk_a and chk_old on vol-a.
fn next_scan() -> Batch {
    let mut b = Batch::example();
    b.agent_id = "agt-legacy".into();
    b.batch_id = uuid::Uuid::now_v7();
    b.seq = 3;
    b.integration = Integration {
        name: "aws-main".into(),
        provider: "aws".into(),
        account: "123".into(),
        regions: vec!["us-east-1".into()],
    };
    b.checks = ["chk_a", "chk_old"]
        .into_iter()
        .map(|id| CheckInfo {
            id: id.into(),
            plugin: "p".into(),
            title: "t".into(),
            description: "d".into(),
            severity: Severity::Medium,
            service: "ec2".into(),
            resource_type: "AwsEc2Volume".into(),
            remediation: "r".into(),
            requirements: BTreeMap::new(),
        })
        .collect();
    b.assets = vec![Asset {
        source: "aws".into(),
        source_id: "arn:a".into(),
        id: "vol-a".into(),
        kind: "ec2:volume".into(),
        name: Some("vol-a".into()),
        region: "us-east-1".into(),
        account: "123".into(),
        tags: BTreeMap::new(),
        raw: "{}".into(),
    }];
    b.relationships = Vec::new();
    b.results = ["chk_a", "chk_old"]
        .into_iter()
        .map(|check| CheckResult {
            check_id: check.into(),
            asset: "arn:a".into(),
            status: Status::Pass,
            status_extended: format!("vol-a passes {check}"),
            severity: Severity::Medium,
            observed_at: 300,
        })
        .collect();
    b.complete = false;
    b
}

#[tokio::test]
async fn upgrade_keeps_results_history_and_evidence_sqlite() {
    upgrade_keeps_results_history_and_evidence(Backend::Sqlite).await;
}

#[tokio::test]
async fn upgrade_keeps_results_history_and_evidence_postgres() {
    upgrade_keeps_results_history_and_evidence(Backend::Postgres).await;
}
