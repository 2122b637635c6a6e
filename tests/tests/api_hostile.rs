//! Hostile input on every API route: malformed JSON, wrong media types, huge
//! bodies, bad cursors and limits, SQL metacharacters in filters, path
//! traversal and overflowing ids, over-long and control-character strings.
//! Each gets a 4xx problem with a code; nothing changes, and the audit log
//! is untouched.

use citadel_e2e::{ApiClient, ApiReply, Backend, Collector, TestDb};
use reqwest::Method;
use serde_json::json;
use sqlx::Row;

const ADMIN: &str = "admin@citadel.test";
const PASSWORD: &str = "correct horse battery staple";

/// Row counts of every table a bad request could touch.
async fn snapshot(pool: &sqlx::AnyPool) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in [
        "tenants",
        "users",
        "grants",
        "api_tokens",
        "enrollment_tokens",
        "audit_log",
        "applied_controls",
        "policies",
        "evidence_reviews",
        "requirement_assessments",
        "control_requirement_mappings",
    ] {
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t}")))
            .fetch_one(pool)
            .await
            .unwrap()
            .get(0);
        out.push((t.to_string(), n));
    }
    out
}

fn refused(r: &ApiReply, what: &str) {
    assert!(
        (400..500).contains(&r.status),
        "{what}: expected a 4xx, got {} {}",
        r.status,
        r.json
    );
    assert!(
        r.json["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{what}: {}",
        r.json
    );
    assert_eq!(
        r.headers["content-type"], "application/problem+json",
        "{what}"
    );
    let text = r.json.to_string().to_lowercase();
    for leak in [
        "sqlx",
        "sqlite",
        "postgres",
        "syntax error",
        "panicked",
        "database error",
    ] {
        assert!(!text.contains(leak), "{what}: internals in {}", r.json);
    }
}

async fn hostile(backend: Backend) {
    let work = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend).await.unwrap();
    let mut collector = Collector::init(&work.path().join("collector"), &db.url).unwrap();
    collector.create_user(ADMIN, PASSWORD, true).unwrap();
    collector.start().unwrap();
    let mut admin = ApiClient::new(&collector).unwrap();
    assert_eq!(admin.login(ADMIN, PASSWORD).await.unwrap().status, 200);
    assert_eq!(
        admin
            .post("/api/v1/tenants", json!({ "name": "acme" }))
            .await
            .unwrap()
            .status,
        201
    );
    let pool = collector.pool().await.unwrap();
    let before = snapshot(&pool).await;

    let raw = |method: Method, path: &str, ctype: &str, body: Vec<u8>| {
        admin
            .request(method, path)
            .header("content-type", ctype)
            .body(body)
    };
    // Bodies.
    for (path, method) in [
        ("/api/v1/tenants", Method::POST),
        ("/api/v1/users", Method::POST),
        ("/api/v1/tokens", Method::POST),
        ("/api/v1/tenants/acme/enrollment-tokens", Method::POST),
        ("/api/v1/users/1", Method::PATCH),
        ("/api/v1/users/1/grants/acme", Method::PUT),
    ] {
        let cases: Vec<(&str, &str, Vec<u8>)> = vec![
            ("truncated JSON", "application/json", b"{\"name\":".to_vec()),
            (
                "not JSON",
                "application/json",
                b"'; DROP TABLE users; --".to_vec(),
            ),
            ("wrong media type", "text/plain", b"{}".to_vec()),
            ("an array", "application/json", b"[1,2,3]".to_vec()),
            (
                "unknown fields",
                "application/json",
                br#"{"zzz_unknown": 1}"#.to_vec(),
            ),
            (
                "deep nesting",
                "application/json",
                format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            ),
            (
                "invalid UTF-8",
                "application/json",
                b"{\"name\":\"\xff\xfe\"}".to_vec(),
            ),
            (
                "a NUL in a string",
                "application/json",
                br#"{"name":"a\u0000b","email":"a\u0000@x.test"}"#.to_vec(),
            ),
        ];
        for (what, ctype, body) in cases {
            let r = ApiClient::read(raw(method.clone(), path, ctype, body))
                .await
                .unwrap();
            refused(&r, &format!("{method} {path}: {what}"));
        }
        // Over the body limit: 413. The collector refuses without reading the
        // rest, which may close the connection while the client still writes,
        // so each try gets a connection of its own.
        let mut fresh = ApiClient::new(&collector).unwrap();
        fresh.cookie = admin.cookie.clone();
        fresh.csrf = admin.csrf.clone();
        let huge = format!("{{\"name\":\"{}\"}}", "a".repeat(200_000));
        let req = fresh
            .request(method.clone(), path)
            .header("content-type", "application/json")
            .body(huge);
        match ApiClient::read(req).await {
            Ok(r) => {
                refused(&r, &format!("{method} {path}: huge body"));
                assert_eq!(r.status, 413);
            }
            Err(e) => eprintln!("{method} {path}: huge body: connection closed early: {e}"),
        }
    }
    // Strings that parse but must not be stored.
    for (path, body) in [
        ("/api/v1/tenants", json!({ "name": "x".repeat(10_000) })),
        ("/api/v1/tenants", json!({ "name": "../../etc/passwd" })),
        ("/api/v1/tenants", json!({ "name": "a\u{0}b" })),
        ("/api/v1/tenants", json!({ "name": "' OR 1=1 --" })),
        ("/api/v1/tenants", json!({ "name": "" })),
        (
            "/api/v1/users",
            json!({ "email": format!("{}@x.test", "a".repeat(1000)), "password": PASSWORD }),
        ),
        (
            "/api/v1/users",
            json!({ "email": "no-at-sign", "password": PASSWORD }),
        ),
        (
            "/api/v1/users",
            json!({ "email": "short@x.test", "password": "short" }),
        ),
        (
            "/api/v1/users",
            json!({ "email": "long@x.test", "password": "p".repeat(5000) }),
        ),
        (
            "/api/v1/tokens",
            json!({ "name": "t", "role": "superuser" }),
        ),
        (
            "/api/v1/tokens",
            json!({ "name": "t\n\rinjected", "role": "viewer" }),
        ),
        (
            "/api/v1/tokens",
            json!({ "name": "t", "role": "viewer", "ttl_days": -1 }),
        ),
        (
            "/api/v1/tenants/acme/enrollment-tokens",
            json!({ "ttl_hours": 1_000_000 }),
        ),
    ] {
        let r = admin.post(path, body.clone()).await.unwrap();
        refused(&r, &format!("POST {path} {body}"));
    }
    // Paths and queries.
    for path in [
        "/api/v1/tenants/..%2F..%2Fetc%2Fpasswd/agents",
        "/api/v1/tenants/acme%00/agents",
        "/api/v1/tenants/%27%20OR%201%3D1%20--/agents",
        "/api/v1/users/99999999999999999999999",
        "/api/v1/users/-1",
        "/api/v1/users/1%20OR%201=1",
        "/api/v1/tenants/acme/enrollment-tokens/abc",
        "/api/v1/audit-log?cursor=!!!",
        "/api/v1/audit-log?cursor=eyJzIjoic2VxIiwiayI6bnVsbCwiaSI6IjEgT1IgMT0xIn0",
        "/api/v1/audit-log?limit=0",
        "/api/v1/audit-log?limit=1000000",
        "/api/v1/audit-log?limit=abc",
        "/api/v1/audit-log?unknown=1",
        "/api/v1/audit-log?action=%27%20OR%201%3D1%20--",
        "/api/v1/audit-log?from=1e99",
        "/api/v1/nope",
        "/api/v1/../../etc/passwd",
        "/api/v1/tenants/acme/results?cursor=!!!",
        "/api/v1/tenants/acme/results?status=maybe",
        "/api/v1/tenants/acme/results?severity=%27%3B%20DROP%20TABLE%20check_results%3B--",
        "/api/v1/tenants/acme/results?sort=password",
        "/api/v1/tenants/acme/results?asset=1%20OR%201%3D1",
        "/api/v1/tenants/acme/results?limit=-5",
        "/api/v1/tenants/acme/results?q=a%00b",
        "/api/v1/tenants/acme/assets?active=perhaps",
        "/api/v1/tenants/acme/assets?tag=no-equals-sign",
        "/api/v1/tenants/acme/assets/..%2F1",
        "/api/v1/tenants/acme/assets/1e3",
        "/api/v1/tenants/acme/batches/..%2F..%2Fbatch_payloads/raw",
        "/api/v1/tenants/acme/controls?posture=excellent",
        "/api/v1/tenants/acme/controls/99999999999999999999",
        "/api/v1/tenants/acme/frameworks/..%2Fsoc2",
        "/api/v1/tenants/acme/frameworks/hipaa",
        "/api/v1/tenants/acme/evidence?status=burned",
        "/api/v1/tenants/acme/evidence?cursor=eyJzIjoiaWQiLCJrIjpudWxsLCJpIjotMX0x",
        "/api/v1/tenants/acme/evidence/1/revisions/abc",
        "/api/v1/tenants/acme/mappings?control=abc",
        "/api/v1/tenants/acme/scans/%27%20OR%20%271",
        "/api/v1/scf-controls?cursor=!!",
    ] {
        let r = admin.get(path).await.unwrap();
        refused(&r, &format!("GET {path}"));
    }
    // Edits with hostile bodies on tenant objects.
    for (method, path, body) in [
        (
            Method::PATCH,
            "/api/v1/tenants/acme/controls/1",
            json!({ "owner": "x".repeat(100_000) }),
        ),
        (
            Method::PATCH,
            "/api/v1/tenants/acme/controls/1",
            json!({ "status": "pwned" }),
        ),
        (
            Method::PATCH,
            "/api/v1/tenants/acme/policies/1",
            json!({ "status": "active; DROP TABLE policies" }),
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/mappings",
            json!({ "control_id": "1 OR 1=1", "framework": "soc2", "requirement": "CC6.1.1" }),
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/mappings",
            json!({ "control_id": 1, "framework": "../soc2", "requirement": "x".repeat(5000) }),
        ),
        (
            Method::PUT,
            "/api/v1/tenants/acme/frameworks/soc2/requirements/CC6.1.1/assessment",
            json!({ "result": "great", "answers": {} }),
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/evidence/1/review",
            json!({ "status": "approved", "comment": "c".repeat(10_000) }),
        ),
        (
            Method::POST,
            "/api/v1/tenants/acme/evidence/-1/review",
            json!({ "status": "approved" }),
        ),
    ] {
        let r = admin.send(method.clone(), path, Some(body)).await.unwrap();
        refused(&r, &format!("{method} {path}"));
    }
    // SQL metacharacters in a free-text filter: no error, just no rows.
    for path in [
        "/api/v1/tenants/acme/results?q=%27%20OR%20%271%27%3D%271",
        "/api/v1/tenants/acme/results?check=%27%3B%20DELETE%20FROM%20audit_log%3B--",
        "/api/v1/tenants/acme/assets?q=%25%25%25_",
        "/api/v1/tenants/acme/assets?tag=k%3D%27%20OR%201%3D1",
        "/api/v1/tenants/acme/controls?q=%27%29%20OR%20%28%271",
        "/api/v1/scf-controls?q=%27%20UNION%20SELECT%20password_hash%20FROM%20users--",
    ] {
        let r = admin.get(path).await.unwrap();
        assert_eq!(r.status, 200, "{path}: {}", r.json);
        assert!(!r.json.to_string().contains("argon2"), "{path}");
        if path.contains("tenants/acme") {
            assert_eq!(r.json["items"], json!([]), "{path}");
        }
    }
    let r = admin
        .get("/api/v1/audit-log?object_type=%27%20OR%20%271%27%3D%271")
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["items"], json!([]));
    // Wrong methods.
    for (method, path) in [
        (Method::DELETE, "/api/v1/me"),
        (Method::PUT, "/api/v1/tenants"),
        (Method::PATCH, "/api/v1/tokens"),
    ] {
        let r = admin.send(method.clone(), path, None).await.unwrap();
        refused(&r, &format!("{method} {path}"));
    }
    assert_eq!(
        snapshot(&pool).await,
        before,
        "a refused request changed something"
    );
    // The collector is still healthy.
    assert_eq!(admin.get("/api/v1/me").await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_input_sqlite() {
    hostile(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_input_postgres() {
    hostile(Backend::Postgres).await;
}
