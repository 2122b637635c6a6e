//! Every API route × every role × own and foreign tenant, on SQLite and
//! PostgreSQL. Two tenants (`acme`, `beta`) each get a signed scan from their
//! own agent; an operator, an auditor (SOC 2 only) and a viewer are granted
//! `acme`. Each request gets the status designed for the role; a refused
//! request changes nothing (the audit log does not grow); `beta`'s routes and
//! `beta`'s object ids under `acme`'s routes are 404 for everyone but
//! administrators (404 for them too when the id is another tenant's); and no
//! `acme` response ever carries `beta` data.

#![allow(clippy::needless_range_loop)] // roles are indexed in parallel arrays (clients, names, statuses)

use std::collections::BTreeMap;

use citadel_e2e::{ApiClient, Backend, Enrolled};
use citadel_wire::{
    Asset, Batch, CheckInfo, CheckResult, Integration, Relationship, Severity, Status,
};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;

const PASSWORD: &str = "correct horse battery staple";
const EBS: &str = "ec2_ebs_volume_encryption";

/// A complete scan of two volumes in `account`, one failing.
fn scan(agent_id: &str, account: &str, tag: &str) -> Batch {
    let mut requirements = BTreeMap::new();
    requirements.insert("soc2".to_string(), vec!["pi_1_5".to_string()]);
    requirements.insert("pci_4.0".to_string(), vec!["3.5.1.20".to_string()]);
    let arn = |v: &str| format!("arn:aws:ec2:us-east-1:{account}:volume/{v}");
    let mut b = Batch::example();
    b.agent_id = agent_id.into();
    b.batch_id = uuid::Uuid::now_v7();
    b.scan_id = uuid::Uuid::now_v7();
    b.integration = Integration {
        name: format!("{tag}-prod"),
        provider: "aws".into(),
        account: account.into(),
        regions: vec!["us-east-1".into()],
    };
    b.checks = vec![CheckInfo {
        id: EBS.into(),
        plugin: "ec2-storage".into(),
        title: "EBS volume is encrypted".into(),
        description: "d".into(),
        severity: Severity::High,
        service: "ec2".into(),
        resource_type: "AwsEc2Volume".into(),
        remediation: "r".into(),
        requirements,
    }];
    let vols = [
        (format!("vol-{tag}1"), Status::Fail),
        (format!("vol-{tag}2"), Status::Pass),
    ];
    b.assets = vols
        .iter()
        .map(|(v, _)| Asset {
            source: "aws".into(),
            source_id: arn(v),
            id: v.clone(),
            kind: "ec2:volume".into(),
            name: Some(format!("{tag} disk {v}")),
            region: "us-east-1".into(),
            account: account.into(),
            tags: BTreeMap::from([("owner".to_string(), tag.to_string())]),
            raw: format!(r#"{{"VolumeId":"{v}"}}"#),
        })
        .collect();
    b.relationships = vols
        .iter()
        .map(|(v, _)| Relationship {
            from: arn(v),
            kind: "attached_to".into(),
            to: format!("arn:aws:ec2:us-east-1:{account}:instance/i-{tag}"),
        })
        .collect();
    b.results = vols
        .iter()
        .map(|(v, s)| CheckResult {
            check_id: EBS.into(),
            asset: arn(v),
            status: *s,
            status_extended: format!("{tag}: volume {v} is {s:?}."),
            severity: Severity::High,
            observed_at: 1_767_225_601_000,
        })
        .collect();
    b
}

/// Ids of one tenant's objects.
#[derive(Debug, Clone, Default)]
struct Ids {
    agent: String,
    asset: i64,
    result: i64,
    batch: String,
    scan: String,
    control: i64,
    policy: i64,
    evidence: i64,
}

async fn ids(pool: &sqlx::AnyPool, tenant: &str) -> Ids {
    let q = |sql: &'static str| {
        let pool = pool.clone();
        let tenant = tenant.to_string();
        async move {
            sqlx::query(sql)
                .bind(tenant)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    };
    Ids {
        agent: q("SELECT a.id FROM agents a JOIN tenants t ON t.id = a.tenant_id WHERE t.name = $1 ORDER BY a.enrolled_at LIMIT 1").await.get(0),
        asset: q("SELECT a.id FROM assets a JOIN tenants t ON t.id = a.tenant_id WHERE t.name = $1 ORDER BY a.id LIMIT 1").await.get(0),
        result: q("SELECT r.id FROM check_results r JOIN tenants t ON t.id = r.tenant_id WHERE t.name = $1 ORDER BY r.id LIMIT 1").await.get(0),
        batch: q("SELECT b.id FROM batches b JOIN tenants t ON t.id = b.tenant_id WHERE t.name = $1 LIMIT 1").await.get(0),
        scan: q("SELECT b.scan_id FROM batches b JOIN tenants t ON t.id = b.tenant_id WHERE t.name = $1 LIMIT 1").await.get(0),
        control: q("SELECT c.id FROM applied_controls c JOIN tenants t ON t.id = c.tenant_id WHERE t.name = $1 AND c.key = 'scf:CRY-05'").await.get(0),
        policy: q("SELECT p.id FROM policies p JOIN tenants t ON t.id = p.tenant_id WHERE t.name = $1 ORDER BY p.id LIMIT 1").await.get(0),
        evidence: q("SELECT e.id FROM evidence e JOIN tenants t ON t.id = e.tenant_id WHERE t.name = $1 ORDER BY e.id LIMIT 1").await.get(0),
    }
}

/// What must happen before a request, so that repeating it is meaningful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prep {
    /// Nothing.
    None,
    /// Send `If-Match` with the ETag a GET of this path returns (as admin).
    IfMatch(&'static str),
    /// Replace `{etok}` with a fresh, unused enrollment token's id.
    EnrollmentToken,
    /// Replace `{dummy}` with a fresh agent of the tenant (never enrolled).
    DummyAgent,
    /// The manual mapping of the control to PI1.5 exists (for DELETE) …
    MappingPresent,
    /// … or does not (for POST).
    MappingAbsent,
}

struct Case {
    method: Method,
    /// With `{t}` for the tenant and `{asset}`, `{result}`, … for its ids.
    path: &'static str,
    body: Option<Value>,
    /// Statuses for admin, operator, auditor, viewer on their own tenant.
    expect: [u16; 4],
    prep: Prep,
}

fn case(method: Method, path: &'static str, expect: [u16; 4]) -> Case {
    Case {
        method,
        path,
        body: None,
        expect,
        prep: Prep::None,
    }
}

const READ: [u16; 4] = [200, 200, 200, 200];
const OPERATE: [u16; 4] = [200, 200, 403, 403];
const REVIEW: [u16; 4] = [200, 403, 200, 403];

fn cases() -> Vec<Case> {
    use Method as M;
    let with = |mut c: Case, body: Value, prep: Prep| {
        c.body = Some(body);
        c.prep = prep;
        c
    };
    vec![
        case(M::GET, "/api/v1/tenants/{t}/agents", READ),
        case(M::GET, "/api/v1/tenants/{t}/integrations", READ),
        case(
            M::GET,
            "/api/v1/tenants/{t}/enrollment-tokens",
            [200, 200, 403, 403],
        ),
        with(
            case(
                M::POST,
                "/api/v1/tenants/{t}/enrollment-tokens",
                [201, 201, 403, 403],
            ),
            json!({}),
            Prep::None,
        ),
        with(
            case(
                M::DELETE,
                "/api/v1/tenants/{t}/enrollment-tokens/{etok}",
                OPERATE,
            ),
            json!(null),
            Prep::EnrollmentToken,
        ),
        with(
            case(
                M::POST,
                "/api/v1/tenants/{t}/agents/{dummy}/revoke",
                [204, 204, 403, 403],
            ),
            json!(null),
            Prep::DummyAgent,
        ),
        case(M::GET, "/api/v1/tenants/{t}/assets", READ),
        case(M::GET, "/api/v1/tenants/{t}/assets/{asset}", READ),
        case(M::GET, "/api/v1/tenants/{t}/checks", READ),
        case(M::GET, "/api/v1/tenants/{t}/results", READ),
        case(M::GET, "/api/v1/tenants/{t}/results/{result}", READ),
        case(M::GET, "/api/v1/tenants/{t}/batches", READ),
        case(M::GET, "/api/v1/tenants/{t}/batches/{batch}", READ),
        case(M::GET, "/api/v1/tenants/{t}/batches/{batch}/raw", READ),
        case(M::GET, "/api/v1/tenants/{t}/scans", READ),
        case(M::GET, "/api/v1/tenants/{t}/scans/{scan}", READ),
        case(M::GET, "/api/v1/tenants/{t}/controls", READ),
        case(M::GET, "/api/v1/tenants/{t}/controls/{control}", READ),
        with(
            case(M::PATCH, "/api/v1/tenants/{t}/controls/{control}", OPERATE),
            json!({ "owner": "platform team", "notes": "reviewed" }),
            Prep::IfMatch("/api/v1/tenants/{t}/controls/{control}"),
        ),
        case(M::GET, "/api/v1/tenants/{t}/policies", READ),
        case(M::GET, "/api/v1/tenants/{t}/policies/{policy}", READ),
        with(
            case(M::PATCH, "/api/v1/tenants/{t}/policies/{policy}", OPERATE),
            json!({ "owner": "ciso" }),
            Prep::IfMatch("/api/v1/tenants/{t}/policies/{policy}"),
        ),
        case(M::GET, "/api/v1/tenants/{t}/frameworks", READ),
        case(M::GET, "/api/v1/tenants/{t}/frameworks/soc2", READ),
        case(
            M::GET,
            "/api/v1/tenants/{t}/frameworks/pci_dss_4.0.1",
            [200, 200, 404, 200],
        ),
        case(M::GET, "/api/v1/tenants/{t}/mappings", READ),
        with(
            case(
                M::POST,
                "/api/v1/tenants/{t}/mappings",
                [201, 201, 403, 403],
            ),
            json!({ "control_id": "{control}", "framework": "soc2", "requirement": "CC6.1.1" }),
            Prep::MappingAbsent,
        ),
        with(
            case(
                M::DELETE,
                "/api/v1/tenants/{t}/mappings?control={control}&framework=soc2&requirement=CC6.1.1",
                [204, 204, 403, 403],
            ),
            json!(null),
            Prep::MappingPresent,
        ),
        case(M::GET, "/api/v1/tenants/{t}/evidence", READ),
        case(M::GET, "/api/v1/tenants/{t}/evidence/{evidence}", READ),
        case(
            M::GET,
            "/api/v1/tenants/{t}/evidence/{evidence}/revisions/1",
            READ,
        ),
        with(
            case(
                M::POST,
                "/api/v1/tenants/{t}/evidence/{evidence}/review",
                REVIEW,
            ),
            json!({ "status": "flagged", "comment": "check the key policy" }),
            Prep::IfMatch("/api/v1/tenants/{t}/evidence/{evidence}"),
        ),
        with(
            case(
                M::POST,
                "/api/v1/tenants/{t}/controls/{control}/evidence/approve",
                REVIEW,
            ),
            json!(null),
            Prep::None,
        ),
        case(M::GET, "/api/v1/audit-log?tenant={t}", [200, 200, 403, 403]),
        case(M::GET, "/api/v1/scf-controls?limit=5", READ),
        case(M::GET, "/api/v1/catalog/imports", READ),
        case(M::GET, "/api/v1/me", READ),
    ]
}

fn fill(path: &str, t: &str, ids: &Ids, extra: &BTreeMap<&str, String>) -> String {
    let mut p = path
        .replace("{t}", t)
        .replace("{agent}", &ids.agent)
        .replace("{asset}", &ids.asset.to_string())
        .replace("{result}", &ids.result.to_string())
        .replace("{batch}", &ids.batch)
        .replace("{scan}", &ids.scan)
        .replace("{control}", &ids.control.to_string())
        .replace("{policy}", &ids.policy.to_string())
        .replace("{evidence}", &ids.evidence.to_string());
    for (k, v) in extra {
        p = p.replace(&format!("{{{k}}}"), v);
    }
    p
}

fn fill_body(body: &Option<Value>, ids: &Ids) -> Option<Value> {
    let b = body.as_ref().filter(|b| !b.is_null())?;
    let text = b
        .to_string()
        .replace("\"{control}\"", &ids.control.to_string());
    Some(serde_json::from_str(&text).unwrap())
}

struct World {
    e: Enrolled,
    admin: ApiClient,
    roles: [ApiClient; 4],
    acme: Ids,
    beta: Ids,
}

async fn world(backend: Backend) -> World {
    let e = Enrolled::start(backend).await.unwrap();
    let beta_identity = e.enroll_another("beta").unwrap();
    for (identity, account, tag) in [
        (&e.identity, "111111111111", "acme"),
        (&beta_identity, "222222222222", "beta"),
    ] {
        let batch = scan(&identity.info.agent_id, account, tag);
        let (status, body) = e
            .post_as(identity, citadel_wire::sign(&batch, &identity.key).unwrap())
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}\n{}", e.collector.log());
    }
    e.collector
        .create_user("admin@citadel.test", PASSWORD, true)
        .unwrap();
    let mut admin = ApiClient::new(&e.collector).unwrap();
    assert_eq!(
        admin
            .login("admin@citadel.test", PASSWORD)
            .await
            .unwrap()
            .status,
        200
    );
    let far = 4_102_444_800_000i64;
    let mut roles = Vec::new();
    for (email, grant) in [
        ("operator@citadel.test", Some(json!({ "role": "operator" }))),
        (
            "auditor@citadel.test",
            Some(
                json!({ "role": "auditor", "frameworks": ["soc2"], "from": 0, "to": far, "expires_at": far }),
            ),
        ),
        ("viewer@citadel.test", Some(json!({ "role": "viewer" }))),
    ] {
        let r = admin
            .post(
                "/api/v1/users",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.json);
        let id = r.json["id"].as_i64().unwrap();
        if let Some(g) = grant {
            let r = admin
                .send(
                    Method::PUT,
                    &format!("/api/v1/users/{id}/grants/acme"),
                    Some(g),
                )
                .await
                .unwrap();
            assert_eq!(r.status, 200, "{}", r.json);
        }
        let mut c = ApiClient::new(&e.collector).unwrap();
        assert_eq!(c.login(email, PASSWORD).await.unwrap().status, 200);
        roles.push(c);
    }
    let acme = ids(&e.pool, "acme").await;
    let beta = ids(&e.pool, "beta").await;
    let roles = [
        admin.clone(),
        roles.remove(0),
        roles.remove(0),
        roles.remove(0),
    ];
    World {
        e,
        admin,
        roles,
        acme,
        beta,
    }
}

impl World {
    async fn audit_rows(&self) -> i64 {
        sqlx::query("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&self.e.pool)
            .await
            .unwrap()
            .get(0)
    }

    /// Do what `prep` needs on `tenant`; returns path substitutions and an
    /// If-Match value.
    async fn prepare(
        &self,
        prep: Prep,
        tenant: &str,
        ids: &Ids,
        n: usize,
    ) -> (BTreeMap<&'static str, String>, Option<String>) {
        let mut extra = BTreeMap::new();
        let mut if_match = None;
        match prep {
            Prep::None => {}
            Prep::IfMatch(path) => {
                let r = self
                    .admin
                    .get(&fill(path, tenant, ids, &extra))
                    .await
                    .unwrap();
                if_match = r
                    .headers
                    .get("etag")
                    .map(|v| v.to_str().unwrap().to_string());
            }
            Prep::EnrollmentToken => {
                let r = self
                    .admin
                    .post(
                        &format!("/api/v1/tenants/{tenant}/enrollment-tokens"),
                        json!({}),
                    )
                    .await
                    .unwrap();
                let id = r.json["id"]
                    .as_i64()
                    .map_or("0".to_string(), |i| i.to_string());
                extra.insert("etok", id);
            }
            Prep::DummyAgent => {
                let id = format!("agt-dummy-{tenant}-{n}-{}", uuid::Uuid::now_v7().simple());
                sqlx::query(
                    "INSERT INTO agents (id, tenant_id, name, public_key, certificate_pem, enrolled_at)
                     SELECT $1, id, 'dummy', $2, '-', 0 FROM tenants WHERE name = $3",
                )
                .bind(&id)
                .bind(vec![0u8; 32])
                .bind(tenant)
                .execute(&self.e.pool)
                .await
                .unwrap();
                extra.insert("dummy", id);
            }
            Prep::MappingPresent | Prep::MappingAbsent => {
                let key = format!(
                    "/api/v1/tenants/{tenant}/mappings?control={}&framework=soc2&requirement=CC6.1.1",
                    ids.control
                );
                let _ = self.admin.send(Method::DELETE, &key, None).await.unwrap();
                if prep == Prep::MappingPresent {
                    let r = self
                        .admin
                        .post(
                            &format!("/api/v1/tenants/{tenant}/mappings"),
                            json!({ "control_id": ids.control, "framework": "soc2", "requirement": "CC6.1.1" }),
                        )
                        .await
                        .unwrap();
                    assert_eq!(r.status, 201, "{}", r.json);
                }
            }
        }
        (extra, if_match)
    }

    async fn call(
        &self,
        client: &ApiClient,
        c: &Case,
        tenant: &str,
        ids: &Ids,
        owner: &str,
        n: usize,
    ) -> citadel_e2e::ApiReply {
        // Prepared on the tenant that owns the ids, so that a request with
        // another tenant's ids carries that tenant's valid ETag.
        let (extra, if_match) = self.prepare(c.prep, owner, ids, n).await;
        let path = fill(c.path, tenant, ids, &extra);
        let mut req = client.request(c.method.clone(), &path);
        if let Some(b) = fill_body(&c.body, ids) {
            req = req.json(&b);
        }
        if let Some(m) = if_match {
            req = req.header("if-match", m);
        }
        ApiClient::read(req).await.unwrap()
    }
}

const ROLE_NAMES: [&str; 4] = ["admin", "operator", "auditor", "viewer"];

async fn matrix(backend: Backend) {
    let w = world(backend).await;
    let beta_markers = [
        w.beta.agent.clone(),
        "222222222222".to_string(),
        "vol-beta".to_string(),
        "beta-prod".to_string(),
    ];
    let mut checked = 0;
    for (n, c) in cases().iter().enumerate() {
        // Own tenant: refused roles first (nothing may change), then the others.
        let mut order: Vec<usize> = (0..4).collect();
        order.sort_by_key(|&r| (200..300).contains(&c.expect[r]));
        for r in order {
            let before = w.audit_rows().await;
            let reply = w.call(&w.roles[r], c, "acme", &w.acme, "acme", n).await;
            let what = format!("{} {} as {}", c.method, c.path, ROLE_NAMES[r]);
            assert_eq!(reply.status, c.expect[r], "{what}: {}", reply.json);
            let text = String::from_utf8_lossy(&reply.bytes);
            for m in &beta_markers {
                assert!(
                    !text.contains(m.as_str()),
                    "{what}: beta data {m:?} in {text}"
                );
            }
            if !(200..300).contains(&reply.status) {
                assert!(reply.json["code"].is_string(), "{what}: {}", reply.json);
                // Preparing a case may write as admin; the refused call itself not.
                let after = w.audit_rows().await;
                let prep_writes = match c.prep {
                    Prep::EnrollmentToken => 1,
                    Prep::MappingPresent => 2,
                    Prep::MappingAbsent => 1,
                    _ => 0,
                };
                assert!(
                    after - before <= prep_writes,
                    "{what}: a refused request was audited"
                );
            }
            checked += 1;
        }
        // Foreign tenant: 404 for every role that has no grant on beta.
        if !c.path.contains("{t}") {
            continue;
        }
        for r in 1..4 {
            let reply = w.call(&w.roles[r], c, "beta", &w.beta, "beta", n).await;
            let what = format!("{} {} on beta as {}", c.method, c.path, ROLE_NAMES[r]);
            assert_eq!(reply.status, 404, "{what}: {}", reply.json);
            assert_eq!(reply.json["code"], "not_found", "{what}");
            checked += 1;
        }
        // Beta's ids under acme's routes: 404 for everyone, admins included.
        let uses_ids = [
            "{asset}",
            "{result}",
            "{batch}",
            "{scan}",
            "{control}",
            "{policy}",
            "{evidence}",
        ]
        .iter()
        .any(|k| c.path.contains(k) || c.body.as_ref().is_some_and(|b| b.to_string().contains(k)));
        if uses_ids {
            // Every role allowed on acme: the role check passes, the id must not.
            for r in (0..4).filter(|&r| (200..300).contains(&c.expect[r])) {
                let reply = w.call(&w.roles[r], c, "acme", &w.beta, "beta", n).await;
                let what = format!(
                    "{} {} with beta's ids as {}",
                    c.method, c.path, ROLE_NAMES[r]
                );
                assert!(
                    reply.status == 404 || (c.body.is_some() && reply.status == 422),
                    "{what}: {} {}",
                    reply.status,
                    reply.json
                );
                checked += 1;
            }
        }
    }
    // Administration: admins only.
    for (method, path, body, admin_status) in [
        (Method::GET, "/api/v1/users", None, 200),
        (
            Method::POST,
            "/api/v1/tenants",
            Some(json!({ "name": "gamma" })),
            201,
        ),
        (Method::GET, "/api/v1/audit-log", None, 200),
    ] {
        for r in (0..4).rev() {
            let reply = w.roles[r]
                .send(method.clone(), path, body.clone())
                .await
                .unwrap();
            let expected = if r == 0 {
                admin_status
            } else if path == "/api/v1/audit-log" {
                422
            } else {
                403
            };
            assert_eq!(
                reply.status, expected,
                "{method} {path} as {}: {}",
                ROLE_NAMES[r], reply.json
            );
            checked += 1;
        }
    }
    // Every tenant listing shows each caller only its own tenants.
    for r in 1..4 {
        let reply = w.roles[r].get("/api/v1/tenants").await.unwrap();
        let names: Vec<&str> = reply
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["acme"], "{}", ROLE_NAMES[r]);
    }
    assert!(checked > 150, "{checked}");
    eprintln!("{checked} role × route × tenant checks");
}

#[tokio::test(flavor = "multi_thread")]
async fn role_matrix_sqlite() {
    matrix(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn role_matrix_postgres() {
    matrix(Backend::Postgres).await;
}

/// An auditor sees only its frameworks and its window, and nothing once
/// the grant has expired; grants are read per request, so changes apply to
/// the auditor's running session at once.
/// Replace the auditor's grant on acme (as the admin).
async fn regrant_auditor(w: &World, grant: Value) {
    let users = w.admin.get("/api/v1/users").await.unwrap();
    let id = users
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "auditor@citadel.test")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = w
        .admin
        .send(
            Method::PUT,
            &format!("/api/v1/users/{id}/grants/acme"),
            Some(grant),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
}

async fn auditor_bounds(backend: Backend) {
    let w = world(backend).await;
    let auditor = &w.roles[2];
    let items = |r: &citadel_e2e::ApiReply| r.json["items"].as_array().map_or(0, Vec::len);
    let results = auditor.get("/api/v1/tenants/acme/results").await.unwrap();
    assert_eq!(items(&results), 2, "{}", results.json);
    let frameworks = auditor
        .get("/api/v1/tenants/acme/frameworks")
        .await
        .unwrap();
    let ids: Vec<&str> = frameworks
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["soc2"]);
    assert_eq!(
        auditor
            .get("/api/v1/tenants/acme/frameworks/pci_dss_4.0.1")
            .await
            .unwrap()
            .status,
        404
    );

    // A window that ends before the scan was observed.
    let far = 4_102_444_800_000i64;
    regrant_auditor(&w, json!({ "role": "auditor", "frameworks": ["soc2"], "from": 0, "to": 1_000, "expires_at": far })).await;
    let results = auditor.get("/api/v1/tenants/acme/results").await.unwrap();
    assert_eq!(results.status, 200);
    assert_eq!(items(&results), 0, "outside the window: {}", results.json);
    let evidence = auditor.get("/api/v1/tenants/acme/evidence").await.unwrap();
    assert_eq!(items(&evidence), 0, "outside the window: {}", evidence.json);
    // Expired: the tenant is gone for the auditor.
    regrant_auditor(&w, json!({ "role": "auditor", "frameworks": ["soc2"], "from": 0, "to": far, "expires_at": 1_000 })).await;
    let r = auditor.get("/api/v1/tenants/acme/results").await.unwrap();
    assert_eq!(r.status, 404, "{}", r.json);
    let me = auditor.get("/api/v1/me").await.unwrap();
    assert_eq!(me.json["grants"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn auditor_bounds_sqlite() {
    auditor_bounds(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn auditor_bounds_postgres() {
    auditor_bounds(Backend::Postgres).await;
}

/// A review decision is about the revisions the reviewer read: a rescan that
/// adds a revision makes the record's ETag stale, and the decision is refused
/// (412) until the reviewer reads it again.
async fn stale_review(backend: Backend) {
    let w = world(backend).await;
    let path = format!("/api/v1/tenants/acme/evidence/{}", w.acme.evidence);
    let seen = w.admin.get(&path).await.unwrap();
    let tag = seen.headers["etag"].to_str().unwrap().to_string();
    // An auditor whose observation window closes before the rescan.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let far = 4_102_444_800_000i64;
    regrant_auditor(&w, json!({ "role": "auditor", "frameworks": ["soc2"], "from": 0, "to": now, "expires_at": far })).await;
    let auditor = &w.roles[2];
    let auditor_seen = auditor.get(&path).await.unwrap();
    assert_eq!(auditor_seen.status, 200, "{}", auditor_seen.json);
    let auditor_tag = auditor_seen.headers["etag"].to_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let mut rescan = scan(&w.e.identity.info.agent_id, "111111111111", "acme");
    rescan.seq = 2;
    // The next link of the agent's chain: it names the first batch.
    rescan.prev = sqlx::query("SELECT last_sha256 FROM agents WHERE id = $1")
        .bind(&w.e.identity.info.agent_id)
        .fetch_one(&w.e.pool)
        .await
        .unwrap()
        .get(0);
    let (status, body) =
        w.e.post_as(
            &w.e.identity,
            citadel_wire::sign(&rescan, &w.e.identity.key).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let review = |tag: String| {
        let req = w
            .admin
            .request(Method::POST, &format!("{path}/review"))
            .header("if-match", tag)
            .json(&json!({ "status": "approved" }));
        ApiClient::read(req)
    };
    // The auditor sees the record as it stood when the window closed, and
    // decides on that: the later revision is not theirs to see.
    let r = auditor.get(&path).await.unwrap();
    assert_eq!(
        r.json["revisions"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.json
    );
    assert_eq!(r.json["latest_revision"], 1, "{}", r.json);
    assert_eq!(r.headers["etag"].to_str().unwrap(), auditor_tag);
    let latest = w.admin.get(&path).await.unwrap();
    assert_eq!(
        latest.json["revisions"].as_array().map(Vec::len),
        Some(2),
        "{}",
        latest.json
    );
    assert_eq!(latest.json["latest_revision"], 2, "{}", latest.json);

    let r = review(tag.clone()).await.unwrap();
    assert_eq!(r.status, 412, "{}", r.json);
    assert_eq!(r.json["code"], "stale");
    let fresh = w.admin.get(&path).await.unwrap();
    let new_tag = fresh.headers["etag"].to_str().unwrap().to_string();
    assert_ne!(new_tag, tag);
    let r = review(new_tag).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["status"], "approved");
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_review_sqlite() {
    stale_review(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_review_postgres() {
    stale_review(Backend::Postgres).await;
}
