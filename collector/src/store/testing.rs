//! Test fixture for the store's API functions: a fresh database (a SQLite
//! file, or a PostgreSQL database created for the test and dropped after
//! it), the bundled catalog, one tenant with an enrolled agent, and signed
//! batches ingested through the real pipeline (verify, decode, store, map).
//!
//! PostgreSQL: `CITADEL_TEST_POSTGRES` names the server (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); `off` skips those tests.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use citadel_wire::{Asset, Batch, CheckInfo, CheckResult, Integration, Severity, Status};
use ed25519_dalek::SigningKey;
use sqlx::Connection;

use super::{AuditFilter, IngestOutcome, IngestSummary, Store};
use crate::audit::{Action, Actor, Context};
use crate::auth::{AuditorScope, Grant, Need, Principal, Role, TenantAccess, Via};
use crate::catalog::Catalog;
use crate::pki::PeerAgent;

/// The bundled catalog, parsed once per test binary.
pub(crate) fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::bundled().expect("bundled catalog"))
}

/// What the fixture imports into each database: the requirement trees and
/// the policy templates (with the SCF controls they name), which the API's
/// store functions read. Not the STRM rows or the other SCF controls: ingest
/// maps with the in-memory catalog, nothing here reads them back, and
/// importing them cost seconds per PostgreSQL test.
fn stored_catalog() -> Catalog {
    let mut c = catalog().clone();
    c.mappings.clear();
    let named: std::collections::BTreeSet<String> = c
        .templates
        .iter()
        .flat_map(|t| t.scf.iter().cloned())
        .collect();
    c.controls.retain(|s| named.contains(&s.id));
    c
}

/// A database for one test.
pub(crate) struct TestDb {
    pub(crate) store: Store,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A fresh SQLite file.
    pub(crate) async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        Self {
            store: Store::open(&url).await.unwrap(),
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` when PostgreSQL tests are off.
    pub(crate) async fn postgres() -> Option<Self> {
        let admin = std::env::var("CITADEL_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        if admin == "off" {
            return None;
        }
        let name = format!("citadel_t_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL for tests (set CITADEL_TEST_POSTGRES, or =off to skip)");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let (base, _) = admin.rsplit_once('/').expect("admin URL names a database");
        let store = Store::open(&format!("{base}/{name}")).await.unwrap();
        Some(Self {
            store,
            _dir: None,
            postgres: Some((admin, name)),
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
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

/// Run `case` on SQLite and on PostgreSQL, as `mod <case> { sqlite, postgres }`.
macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                let db = $crate::store::testing::TestDb::sqlite().await;
                super::$case($crate::store::testing::Fixture::new(db).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(db) = $crate::store::testing::TestDb::postgres().await {
                    super::$case($crate::store::testing::Fixture::new(db).await).await;
                }
            }
        }
    )*};
}
pub(crate) use on_both_databases;

/// Tenant `acme` with an enrolled agent, an operator and an auditor user,
/// and the bundled catalog imported.
pub(crate) struct Fixture {
    pub(crate) db: TestDb,
    pub(crate) tenant_id: i64,
    pub(crate) key: SigningKey,
    pub(crate) peer: PeerAgent,
    pub(crate) operator_id: i64,
    pub(crate) auditor_id: i64,
    seq: u64,
    /// Hash of the last batch ingested, the next one's `prev`.
    prev: std::sync::Mutex<Option<String>>,
}

/// The checks of [`Fixture::batch`]: one with an SCF control (curated
/// CRY-05 and whatever its requirements derive), one that resolves to a
/// single SOC 2 requirement only (a stage-B control).
pub(crate) const CHECK_SCF: &str = "ec2_ebs_volume_encryption";
/// See [`CHECK_SCF`].
pub(crate) const CHECK_REQ: &str = "test_soc2_only";

impl Fixture {
    /// Set up tenant, agent and users in `db`.
    pub(crate) async fn new(db: TestDb) -> Self {
        let store = &db.store;
        store
            .import_catalog(&stored_catalog(), "bundled", &[])
            .await
            .unwrap();
        let (tenant_id, _) = store.ensure_tenant("acme").await.unwrap();
        store
            .insert_token(tenant_id, "secret-hash", i64::MAX, 1)
            .await
            .unwrap();
        let key = SigningKey::from_bytes(&[7; 32]);
        let agent_id = "agt-test".to_string();
        let public_key = key.verifying_key().as_bytes().to_vec();
        let pk = public_key.clone();
        store
            .enroll_agent("secret-hash", &agent_id, "test", || {
                Ok::<_, std::convert::Infallible>(("-".to_string(), pk))
            })
            .await
            .unwrap()
            .map_err(|_| "enrollment failed")
            .unwrap();
        let ctx = Context::system(1);
        let operator_id = store
            .create_user(&ctx, "op@example.com", "x", false)
            .await
            .unwrap()
            .id;
        let auditor_id = store
            .create_user(&ctx, "audit@example.com", "x", false)
            .await
            .unwrap()
            .id;
        Self {
            db,
            tenant_id,
            key,
            peer: PeerAgent {
                agent_id,
                public_key,
            },
            operator_id,
            auditor_id,
            seq: 0,
            prev: Default::default(),
        }
    }

    /// The store.
    pub(crate) fn store(&self) -> &Store {
        &self.db.store
    }

    /// Admin access to the tenant.
    pub(crate) fn admin(&self) -> TenantAccess {
        TenantAccess::system(self.tenant_id, "acme")
    }

    /// Auditor access limited to `frameworks` and the window `from..=to`.
    pub(crate) fn auditor(&self, frameworks: &[&str], from: i64, to: i64) -> TenantAccess {
        let p = Principal::new(
            self.auditor_id,
            "audit@example.com".into(),
            false,
            Via::Session {
                session_id: 1,
                csrf: String::new(),
            },
            vec![Grant {
                tenant_id: self.tenant_id,
                tenant: "acme".into(),
                role: Role::Auditor,
                auditor: Some(AuditorScope {
                    frameworks: frameworks.iter().map(|f| f.to_string()).collect(),
                    from,
                    to,
                    expires_at: i64::MAX,
                }),
            }],
            None,
            0,
        );
        p.tenant("acme", Need::Review, |_| None).unwrap()
    }

    /// An audit context of the operator at `at`.
    pub(crate) fn operator_ctx(&self, at: i64) -> Context {
        Context {
            actor: Actor::User {
                id: self.operator_id,
                email: "op@example.com".into(),
            },
            request_id: None,
            source: None,
            user_agent: None,
            at,
        }
    }

    /// An audit context of the auditor at `at`.
    pub(crate) fn auditor_ctx(&self, at: i64) -> Context {
        Context {
            actor: Actor::User {
                id: self.auditor_id,
                email: "audit@example.com".into(),
            },
            request_id: None,
            source: None,
            user_agent: None,
            at,
        }
    }

    /// A complete scan of `assets` volumes by the two test checks; the
    /// first asset fails [`CHECK_SCF`], everything else passes.
    pub(crate) fn batch(&mut self, assets: usize) -> Batch {
        self.seq += 1;
        let check = |id: &str, reqs: &[(&str, &str)]| CheckInfo {
            id: id.into(),
            plugin: "test-pack".into(),
            title: format!("Test check {id}"),
            description: "Synthetic.".into(),
            severity: Severity::High,
            service: "ec2".into(),
            resource_type: "AwsEc2Volume".into(),
            remediation: "None.".into(),
            requirements: reqs
                .iter()
                .map(|(f, r)| (f.to_string(), vec![r.to_string()]))
                .collect(),
        };
        let checks = vec![
            check(
                CHECK_SCF,
                &[("soc2", "cc_6_1"), ("iso27001_2022", "A.8.24")],
            ),
            check(CHECK_REQ, &[("soc2", "cc_7_2")]),
        ];
        let asset_list: Vec<Asset> = (0..assets)
            .map(|n| Asset {
                source: "aws".into(),
                source_id: format!("arn:aws:ec2:us-east-1:123456789012:volume/vol-{n:03}"),
                id: format!("vol-{n:03}"),
                kind: "ec2:volume".into(),
                name: Some(format!("volume {n}")),
                region: "us-east-1".into(),
                account: "123456789012".into(),
                tags: BTreeMap::new(),
                raw: "{}".into(),
            })
            .collect();
        let mut results = Vec::new();
        for c in &checks {
            for (n, a) in asset_list.iter().enumerate() {
                let fail = c.id == CHECK_SCF && n == 0;
                results.push(CheckResult {
                    check_id: c.id.clone(),
                    asset: a.source_id.clone(),
                    status: if fail { Status::Fail } else { Status::Pass },
                    status_extended: format!("{} on {}", c.id, a.id),
                    severity: Severity::High,
                    observed_at: 1_767_225_600_000 + self.seq as i64,
                });
            }
        }
        Batch {
            version: citadel_wire::FORMAT_VERSION,
            batch_id: uuid::Uuid::now_v7(),
            agent_id: self.peer.agent_id.clone(),
            agent_version: None,
            seq: self.seq,
            prev: self.prev.lock().unwrap().clone(),
            scan_id: uuid::Uuid::now_v7(),
            part: 0,
            parts: 1,
            integration: Integration {
                name: "main".into(),
                provider: "aws".into(),
                account: "123456789012".into(),
                regions: vec!["us-east-1".into()],
            },
            started_at: 1_767_225_600_000,
            finished_at: 1_767_225_660_000,
            complete: true,
            complete_lists: Vec::new(),
            plugins: Vec::new(),
            checks,
            assets: asset_list,
            relationships: Vec::new(),
            results,
            incidents: Vec::new(),
        }
    }

    /// Sign and ingest `batch` as the fixture's agent.
    pub(crate) async fn ingest(&self, batch: &Batch) -> IngestSummary {
        let bytes = citadel_wire::sign(batch, &self.key).unwrap();
        let (_, outcome) = crate::ingest::ingest(
            self.store(),
            catalog(),
            &self.peer,
            bytes.clone().into(),
            &Default::default(),
        )
        .await
        .unwrap();
        *self.prev.lock().unwrap() = Some(citadel_wire::sha256_hex(&bytes));
        match outcome {
            IngestOutcome::Accepted(s) => s,
            IngestOutcome::Duplicate(_) => panic!("duplicate batch"),
        }
    }

    /// Hash of the last batch accepted from the fixture's agent.
    pub(crate) fn prev(&self) -> Option<String> {
        self.prev.lock().unwrap().clone()
    }

    /// Sign and push `batch` as the fixture's agent, refusals included;
    /// an accepted batch becomes the next one's `prev`.
    pub(crate) async fn push(
        &self,
        batch: &Batch,
    ) -> Result<IngestOutcome, crate::ingest::IngestError> {
        let bytes = citadel_wire::sign(batch, &self.key).unwrap();
        let (_, outcome) = crate::ingest::ingest(
            self.store(),
            catalog(),
            &self.peer,
            bytes.clone().into(),
            &Default::default(),
        )
        .await?;
        if matches!(outcome, IngestOutcome::Accepted(_)) {
            *self.prev.lock().unwrap() = Some(citadel_wire::sha256_hex(&bytes));
        }
        Ok(outcome)
    }

    /// Audit rows of `action`, oldest first.
    pub(crate) async fn audit(&self, action: Action) -> Vec<crate::audit::Row> {
        let filter = AuditFilter {
            action: Some(action.as_str().into()),
            ..Default::default()
        };
        let mut rows = self.store().audit_log(&filter, None, 1000).await.unwrap();
        rows.reverse();
        rows
    }

    /// The id of the applied control with `key`.
    pub(crate) async fn control_id(&self, key: &str) -> i64 {
        sqlx::query("SELECT id FROM applied_controls WHERE tenant_id = $1 AND key = $2")
            .bind(self.tenant_id)
            .bind(key)
            .fetch_one(self.store().pool())
            .await
            .map(|r| sqlx::Row::get::<i64, _>(&r, 0))
            .unwrap()
    }

    /// Ingest a fresh scan of `assets` volumes.
    pub(crate) async fn scan(&mut self, assets: usize) -> IngestSummary {
        let batch = self.batch(assets);
        self.ingest(&batch).await
    }
}
