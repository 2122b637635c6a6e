//! Test fixture for the read side of the store: a fresh database per test
//! (a temporary SQLite file, or a new PostgreSQL database that is dropped
//! afterwards), the bundled catalog, and two tenants whose agents sent small
//! synthetic signed batches through the real ingest path.
//!
//! PostgreSQL is reached at `CITADEL_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); tests fail, not skip,
//! when it is not there.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::LazyLock;

use citadel_wire::{
    Asset, Batch, CheckInfo, CheckResult, Integration, Relationship, Severity, Status,
};
use ed25519_dalek::SigningKey;
use sqlx::Connection;

use super::page::PageRequest;
use super::{Backend, IngestOutcome, IngestSummary, Store};
use crate::auth::{AuditorScope, Grant, Need, Principal, Role, TenantAccess, Via};
use crate::catalog::Catalog;
use crate::pki::PeerAgent;

/// Observation times of the fixture's results: scan `seq` observes at
/// `T0 + seq * 1000` (+0 or +1 by asset, so that sorts meet ties).
pub(crate) const T0: i64 = 1_767_225_600_000;

/// The fixture's check ids, in id order.
pub(crate) const CHECKS: [&str; 4] = ["check_alpha", "check_bravo", "check_charlie", "check_delta"];

/// The bundled catalog, parsed once for all tests.
pub(crate) static CATALOG: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::bundled().expect("bundled catalog"));

/// The part of the bundled catalog the fixture stores (importing all of it
/// took most of a test's time): the frameworks without their requirement
/// trees, no STRM mappings, every policy template, and the SCF controls of
/// domain IAC and of the templates. Ingest still maps with the whole catalog;
/// nothing it writes refers to the rows left out.
fn stored_catalog() -> Catalog {
    let mut c = CATALOG.clone();
    let wanted: std::collections::BTreeSet<&str> = c
        .templates
        .iter()
        .flat_map(|t| t.scf.iter().map(String::as_str))
        .collect();
    let controls = c
        .controls
        .iter()
        .filter(|s| s.domain_code == "IAC" || wanted.contains(s.id.as_str()))
        .cloned()
        .collect();
    c.controls = controls;
    c.mappings.clear();
    for f in &mut c.frameworks {
        f.nodes.clear();
    }
    c
}

/// One tenant of the fixture.
pub(crate) struct Tenant {
    /// Full access (as the system).
    pub(crate) access: TenantAccess,
    /// Its agent.
    pub(crate) peer: PeerAgent,
    key: SigningKey,
    seq: u64,
    prev: Option<String>,
    /// Every batch ingested for it: (batch, signed bytes, summary).
    pub(crate) batches: Vec<(Batch, Vec<u8>, IngestSummary)>,
}

/// The fixture: `acme` scanned twice (the rescan drops asset 1 and an edge and
/// changes some statuses), `beta` once with the same asset and check ids.
pub(crate) struct World {
    /// The store.
    pub(crate) store: Store,
    /// First tenant.
    pub(crate) acme: Tenant,
    /// Second tenant.
    pub(crate) beta: Tenant,
}

fn arn(n: usize) -> String {
    let kinds = ["volume", "volume", "instance", "security-group", "volume"];
    format!(
        "arn:aws:ec2:us-east-1:123456789012:{}/x-{n:04}",
        kinds[n % kinds.len()]
    )
}

fn asset(n: usize) -> Asset {
    let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let (kind, name, region, tags, raw) = match n {
        0 => (
            "ec2:volume",
            Some("data-vol"),
            "us-east-1",
            tags(&[("env", "prod"), ("team", "blue")]),
            r#"{"VolumeId":"x-0000","Encrypted":true}"#.to_string(),
        ),
        1 => (
            "ec2:volume",
            Some("Backup_Vol%"),
            "eu-west-1",
            tags(&[("env", "dev"), ("Team", "Blue")]),
            r#"{"VolumeId":"x-0001"}"#.to_string(),
        ),
        2 => (
            "ec2:instance",
            Some("web-1"),
            "us-east-1",
            tags(&[("env", "prod")]),
            r#"{"InstanceId":"x-0002"}"#.to_string(),
        ),
        3 => (
            "ec2:security-group",
            None,
            "us-east-1",
            tags(&[]),
            "not json <sg/>".to_string(),
        ),
        _ => (
            "ec2:volume",
            Some("spare"),
            "us-east-1",
            tags(&[("env", "prodx")]),
            "{}".to_string(),
        ),
    };
    Asset {
        source: "aws".into(),
        source_id: arn(n),
        id: format!("x-{n:04}"),
        kind: kind.into(),
        name: name.map(Into::into),
        region: region.into(),
        account: "123456789012".into(),
        tags,
        raw,
    }
}

fn check(n: usize) -> CheckInfo {
    // One framework each (or none), so that each check gets a requirement
    // control of its own mapped to exactly its requirement.
    let (severity, requirements): (Severity, &[(&str, &str)]) = match n {
        0 => (Severity::High, &[("soc2", "cc_6_1")]),
        1 => (Severity::Critical, &[("soc2", "cc_6_6")]),
        2 => (Severity::Low, &[("pci_4.0", "1.2.8.17")]),
        _ => (Severity::Informational, &[]),
    };
    CheckInfo {
        id: CHECKS[n].into(),
        plugin: "fixture".into(),
        title: format!("Fixture check {n}"),
        description: "Synthetic.".into(),
        severity,
        service: "ec2".into(),
        resource_type: "AwsEc2Volume".into(),
        remediation: "None.".into(),
        requirements: requirements
            .iter()
            .map(|(f, r)| (f.to_string(), vec![r.to_string()]))
            .collect(),
    }
}

/// Status of check `c` on asset `a` in scan `seq`: every status occurs, and
/// the rescan changes some.
pub(crate) fn status(seq: u64, a: usize, c: usize) -> Status {
    let shift = if seq >= 2 && a == 0 { 1 } else { 0 };
    match (a + c + shift) % 4 {
        0 => Status::Pass,
        1 => Status::Fail,
        2 => Status::Error,
        _ => Status::NotApplicable,
    }
}

/// A complete scan of `assets` (indices) by every fixture check.
fn scan(
    agent_id: &str,
    seq: u64,
    prev: Option<String>,
    assets: &[usize],
    edges: &[(usize, &str, usize)],
) -> Batch {
    let checks: Vec<CheckInfo> = (0..CHECKS.len()).map(check).collect();
    let asset_list: Vec<Asset> = assets.iter().map(|&n| asset(n)).collect();
    let mut results = Vec::new();
    for (c, info) in checks.iter().enumerate() {
        for &a in assets {
            results.push(CheckResult {
                check_id: info.id.clone(),
                asset: arn(a),
                status: status(seq, a, c),
                status_extended: if a == 2 && c == 3 {
                    "Tagging 100% done".into()
                } else {
                    format!("Asset {a} checked by {}.", info.id)
                },
                severity: info.severity,
                observed_at: T0 + seq as i64 * 1000 + (a % 2) as i64,
            });
        }
    }
    Batch {
        version: citadel_wire::FORMAT_VERSION,
        batch_id: uuid::Uuid::now_v7(),
        agent_id: agent_id.into(),
        agent_version: None,
        seq,
        prev,
        scan_id: uuid::Uuid::now_v7(),
        part: 0,
        parts: 1,
        integration: Integration {
            name: "main".into(),
            provider: "aws".into(),
            account: "123456789012".into(),
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
        },
        started_at: T0 + seq as i64 * 1000 - 60_000,
        finished_at: T0 + seq as i64 * 1000 + 500,
        complete: true,
        complete_lists: Vec::new(),
        plugins: Vec::new(),
        checks,
        assets: asset_list,
        relationships: edges
            .iter()
            .map(|&(from, kind, to)| Relationship {
                from: arn(from),
                kind: kind.into(),
                to: arn(to),
            })
            .collect(),
        results,
        incidents: Vec::new(),
    }
}

impl Tenant {
    /// A tenant `name` with an agent signing with key `[key_byte; 32]`.
    pub(crate) async fn new(store: &Store, name: &str, key_byte: u8) -> Self {
        let key = SigningKey::from_bytes(&[key_byte; 32]);
        let (id, peer) = crate::bench::enroll(store, name, &key).await.unwrap();
        Self {
            access: TenantAccess::system(id, name),
            peer,
            key,
            seq: 0,
            prev: None,
            batches: Vec::new(),
        }
    }

    /// The agent's next batch: a complete scan of `assets` (fixture indices)
    /// with `edges`, by every fixture check.
    pub(crate) fn next_batch(&mut self, assets: &[usize], edges: &[(usize, &str, usize)]) -> Batch {
        self.seq += 1;
        scan(
            &self.peer.agent_id,
            self.seq,
            self.prev.clone(),
            assets,
            edges,
        )
    }

    /// Sign and ingest `batch` (made by [`Self::next_batch`]).
    pub(crate) async fn ingest(&mut self, store: &Store, batch: Batch) -> IngestSummary {
        let bytes = citadel_wire::sign(&batch, &self.key).unwrap();
        let (_, outcome) = crate::ingest::ingest(
            store,
            &CATALOG,
            &self.peer,
            bytes.clone().into(),
            &Default::default(),
        )
        .await
        .unwrap();
        let IngestOutcome::Accepted(summary) = outcome else {
            panic!("fixture batch not accepted")
        };
        self.prev = Some(citadel_wire::sha256_hex(&bytes));
        self.batches.push((batch, bytes, summary.clone()));
        // Receipt times differ between batches (auditor windows cut on them).
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        summary
    }

    async fn scan(&mut self, store: &Store, assets: &[usize], edges: &[(usize, &str, usize)]) {
        let batch = self.next_batch(assets, edges);
        self.ingest(store, batch).await;
    }

    /// An auditor's access to this tenant: `frameworks`, window `from..=to`.
    pub(crate) fn auditor(&self, frameworks: &[&str], from: i64, to: i64) -> TenantAccess {
        let grant = Grant {
            tenant_id: self.access.id(),
            tenant: self.access.name().to_string(),
            role: Role::Auditor,
            auditor: Some(AuditorScope {
                frameworks: frameworks.iter().map(|f| f.to_string()).collect(),
                from,
                to,
                expires_at: i64::MAX,
            }),
        };
        let via = Via::Session {
            session_id: 1,
            csrf: String::new(),
        };
        Principal::new(
            1,
            "auditor@example.com".into(),
            false,
            via,
            vec![grant],
            None,
            0,
        )
        .tenant(self.access.name(), Need::Read, |_| None)
        .unwrap()
    }

    /// Row id of this tenant's asset `n`.
    pub(crate) async fn asset_id(&self, store: &Store, n: usize) -> i64 {
        sqlx::query_scalar("SELECT id FROM assets WHERE tenant_id = $1 AND source_id = $2")
            .bind(self.access.id())
            .bind(arn(n))
            .fetch_one(store.pool())
            .await
            .unwrap()
    }
}

impl World {
    async fn build(store: Store) -> Self {
        store
            .import_catalog(
                &stored_catalog(),
                "fixture",
                &[("IAC-01".into(), "Identity 100% managed_centrally.".into())],
            )
            .await
            .unwrap();
        let mut acme = Tenant::new(&store, "acme", 7).await;
        let mut beta = Tenant::new(&store, "beta", 8).await;
        let edges = [(0, "attached_to", 2), (2, "protected_by", 3)];
        acme.scan(&store, &[0, 1, 2, 3, 4], &edges).await;
        beta.scan(&store, &[0, 2, 3], &edges[..1]).await;
        // The rescan no longer sees asset 1 nor the edge to the security group.
        acme.scan(&store, &[0, 2, 3, 4], &edges[..1]).await;
        Self { store, acme, beta }
    }
}

/// Drops a test database when the test ends, passed or failed (on a thread
/// of its own: `Drop` cannot await, and it also runs while unwinding).
struct Dropper {
    admin: String,
    name: String,
}

impl Drop for Dropper {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let mut conn = sqlx::AnyConnection::connect(&admin).await?;
                // FORCE: the test's pool may still hold connections.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .map(|_| ())
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// Run `test` on a fresh database of `backend` with the fixture loaded.
pub(crate) async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(World) -> Fut,
    Fut: Future<Output = ()>,
{
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let (url, _dropper) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}/t.db?mode=rwc", dir.path().display()),
            None,
        ),
        Backend::Postgres => {
            let admin = std::env::var("CITADEL_TEST_POSTGRES")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let name = format!("citadel_t_{}", uuid::Uuid::now_v7().simple());
            let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            let url = format!("{base}/{name}");
            (url, Some(Dropper { admin, name }))
        }
    };
    let store = Store::open(&url).await.unwrap();
    test(World::build(store.clone()).await).await;
    store.close().await;
}

/// Every item of a listing, page by page through the API's cursors (encoded
/// and decoded as clients see them), `limit` items at a time; checks that no
/// page is larger and that the last one says so.
pub(crate) async fn walk<T>(
    limit: i64,
    sort: &str,
    fetch: impl AsyncFn(PageRequest) -> Vec<T>,
    key: impl Fn(&T) -> (Option<String>, i64),
) -> Vec<T> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let req = crate::api::page::request(Some(limit), cursor.as_deref(), sort).unwrap();
        let page = crate::api::page::page(fetch(req.clone()).await, &req, sort, &key);
        assert!(page.items.len() as i64 <= limit);
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
        assert!(out.len() < 100_000, "the listing does not end");
    }
}

/// One `#[tokio::test]` per backend for each named `async fn(World)`:
/// `sqlite::<name>` and `postgres::<name>`.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::store::fixture::run($crate::store::Backend::Sqlite, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    $crate::store::fixture::run($crate::store::Backend::Postgres, super::$name).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_databases;
