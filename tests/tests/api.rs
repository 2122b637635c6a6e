//! The REST API end to end: a real collector process over TLS, on SQLite and
//! PostgreSQL. Sign-in, sessions and their expiry, CSRF, logout, login
//! throttling, API tokens and their scope, users and grants, the audit log
//! and its tamper evidence.

use citadel_e2e::{ApiClient, Backend, Collector, TestDb};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;

const ADMIN: &str = "admin@citadel.test";
const PASSWORD: &str = "correct horse battery staple";

/// A serving collector with an administrator signed in.
struct World {
    collector: Collector,
    admin: ApiClient,
    pool: sqlx::AnyPool,
    _db: TestDb,
    _work: tempfile::TempDir,
}

async fn world(backend: Backend) -> World {
    let work = tempfile::tempdir().unwrap();
    let db = TestDb::create(backend).await.unwrap();
    let mut collector = Collector::init(&work.path().join("collector"), &db.url).unwrap();
    collector.create_user(ADMIN, PASSWORD, true).unwrap();
    collector.start().unwrap();
    let mut admin = ApiClient::new(&collector).unwrap();
    let reply = admin.login(ADMIN, PASSWORD).await.unwrap();
    assert_eq!(reply.status, 200, "{:?}", reply.json);
    let pool = collector.pool().await.unwrap();
    World {
        collector,
        admin,
        pool,
        _db: db,
        _work: work,
    }
}

impl World {
    /// Create a user with `password` and sign them in.
    async fn user(&self, email: &str) -> ApiClient {
        let r = self
            .admin
            .post(
                "/api/v1/users",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.json);
        let mut c = ApiClient::new(&self.collector).unwrap();
        assert_eq!(c.login(email, PASSWORD).await.unwrap().status, 200);
        c
    }

    async fn user_id(&self, email: &str) -> i64 {
        let r = self.admin.get("/api/v1/users").await.unwrap();
        r.json
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["email"] == email)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    async fn grant(&self, email: &str, tenant: &str, grant: Value) {
        let id = self.user_id(email).await;
        let r = self
            .admin
            .send(
                Method::PUT,
                &format!("/api/v1/users/{id}/grants/{tenant}"),
                Some(grant),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.json);
    }

    async fn tenant(&self, name: &str) {
        let r = self
            .admin
            .post("/api/v1/tenants", json!({ "name": name }))
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.json);
    }

    async fn audit_count(&self, action: &str) -> i64 {
        sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(&self.pool)
            .await
            .unwrap()
            .get(0)
    }

    async fn audit_rows(&self) -> i64 {
        sqlx::query("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&self.pool)
            .await
            .unwrap()
            .get(0)
    }
}

fn problem(r: &citadel_e2e::ApiReply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.json);
    assert_eq!(r.json["code"], code, "{}", r.json);
    assert_eq!(
        r.headers["content-type"], "application/problem+json",
        "{}",
        r.json
    );
    assert!(r.headers.contains_key("x-request-id"));
    assert_eq!(
        r.json["request_id"].as_str(),
        r.headers["x-request-id"].to_str().ok()
    );
}

async fn sessions(backend: Backend) {
    let w = world(backend).await;
    let me = w.admin.get("/api/v1/me").await.unwrap();
    assert_eq!(me.status, 200);
    assert_eq!(me.json["email"], ADMIN);
    assert_eq!(me.json["admin"], true);

    // The cookie is HttpOnly, Secure, SameSite=Strict.
    let mut again = ApiClient::new(&w.collector).unwrap();
    let r = again.login(ADMIN, PASSWORD).await.unwrap();
    let cookie = r.headers["set-cookie"].to_str().unwrap().to_string();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }

    // No credentials, a junk cookie, a junk token: 401 with WWW-Authenticate.
    let anon = ApiClient::new(&w.collector).unwrap();
    let r = anon.get("/api/v1/me").await.unwrap();
    problem(&r, 401, "unauthenticated");
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    let mut junk = anon.clone();
    junk.cookie = Some("citadel_session=0123456789abcdef0123456789abcdef".into());
    problem(
        &junk.get("/api/v1/me").await.unwrap(),
        401,
        "unauthenticated",
    );
    problem(
        &anon
            .with_token("cat1_nottherealthing0000000000000")
            .get("/api/v1/me")
            .await
            .unwrap(),
        401,
        "unauthenticated",
    );

    // CSRF: a cookie-authenticated state change without the token, with a
    // wrong one, or from another origin, is refused and changes nothing.
    let audit_before = w.audit_rows().await;
    let mut no_csrf = w.admin.clone();
    no_csrf.csrf = None;
    let body = json!({ "name": "csrf-victim" });
    problem(
        &no_csrf.post("/api/v1/tenants", body.clone()).await.unwrap(),
        403,
        "csrf",
    );
    let mut wrong = w.admin.clone();
    wrong.csrf = Some("0".repeat(64));
    problem(
        &wrong.post("/api/v1/tenants", body.clone()).await.unwrap(),
        403,
        "csrf",
    );
    let cross = w
        .admin
        .request(Method::POST, "/api/v1/tenants")
        .header("origin", "https://evil.example")
        .json(&body);
    problem(&ApiClient::read(cross).await.unwrap(), 403, "csrf");
    assert_eq!(w.audit_rows().await, audit_before);
    let tenants = w.admin.get("/api/v1/tenants").await.unwrap();
    assert!(!tenants.json.to_string().contains("csrf-victim"));
    // With the token it works.
    assert_eq!(
        w.admin.post("/api/v1/tenants", body).await.unwrap().status,
        201
    );

    // Idle and absolute expiry (time moved in the database: the collector
    // compares the stored times with its clock).
    let mut idle = ApiClient::new(&w.collector).unwrap();
    idle.login(ADMIN, PASSWORD).await.unwrap();
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 3600000 WHERE revoked_at IS NULL AND id = (SELECT MAX(id) FROM sessions)")
        .execute(&w.pool)
        .await
        .unwrap();
    problem(
        &idle.get("/api/v1/me").await.unwrap(),
        401,
        "unauthenticated",
    );
    let mut old = ApiClient::new(&w.collector).unwrap();
    old.login(ADMIN, PASSWORD).await.unwrap();
    sqlx::query("UPDATE sessions SET expires_at = 1 WHERE id = (SELECT MAX(id) FROM sessions)")
        .execute(&w.pool)
        .await
        .unwrap();
    problem(
        &old.get("/api/v1/me").await.unwrap(),
        401,
        "unauthenticated",
    );

    // Logout ends the session for good, and is audited.
    let logouts = w.audit_count("auth.logout").await;
    let r = again
        .send(Method::POST, "/api/v1/auth/logout", None)
        .await
        .unwrap();
    assert_eq!(r.status, 204);
    assert!(
        r.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    problem(
        &again.get("/api/v1/me").await.unwrap(),
        401,
        "unauthenticated",
    );
    assert_eq!(w.audit_count("auth.logout").await, logouts + 1);
    assert!(w.audit_count("auth.login").await >= 4);
}

async fn throttling(backend: Backend) {
    let w = world(backend).await;
    w.user("victim@citadel.test").await;
    let mut c = ApiClient::new(&w.collector).unwrap();
    for _ in 0..5 {
        let r = c
            .login("victim@citadel.test", "Guess-Number-42!")
            .await
            .unwrap();
        problem(&r, 401, "unauthenticated");
        assert!(c.cookie.is_none());
    }
    // Locked now, even with the right password; the failures are audited
    // without the password (the refusals themselves are not: a flood of
    // them must not grow the append-only log).
    let r = c.login("Victim@Citadel.test", PASSWORD).await.unwrap();
    problem(&r, 429, "throttled");
    let r = c.login(" victim@citadel.TEST ", PASSWORD).await.unwrap();
    problem(&r, 429, "throttled");
    assert_eq!(w.audit_count("auth.login_failed").await, 5);
    // Attempts are counted by a hash of the address, never the address.
    let plain: i64 = sqlx::query("SELECT COUNT(*) FROM login_failures WHERE email LIKE '%@%'")
        .fetch_one(&w.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(plain, 0);
    let leaked: i64 = sqlx::query(
        "SELECT COUNT(*) FROM audit_log WHERE after_json LIKE $1 OR before_json LIKE $1",
    )
    .bind("%Guess-Number%")
    .fetch_one(&w.pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(leaked, 0);
    // Unknown accounts get the same answer as wrong passwords, and are
    // audited by a hash prefix only.
    let r = c.login("nobody@citadel.test", PASSWORD).await.unwrap();
    problem(&r, 401, "unauthenticated");
    assert_eq!(r.json["detail"], "wrong e-mail address or password");
    let named: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE object_id LIKE '%nobody%'")
        .fetch_one(&w.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(named, 0);
    // Other accounts are not affected; the window passing lets the victim in.
    let mut admin = ApiClient::new(&w.collector).unwrap();
    assert_eq!(admin.login(ADMIN, PASSWORD).await.unwrap().status, 200);
    sqlx::query("UPDATE login_failures SET at = at - 3600000")
        .execute(&w.pool)
        .await
        .unwrap();
    assert_eq!(
        c.login("victim@citadel.test", PASSWORD)
            .await
            .unwrap()
            .status,
        200
    );
}

async fn tokens(backend: Backend) {
    let w = world(backend).await;
    w.tenant("acme").await;
    w.tenant("beta").await;
    let op = w.user("op@citadel.test").await;
    w.grant("op@citadel.test", "acme", json!({ "role": "operator" }))
        .await;
    w.grant("op@citadel.test", "beta", json!({ "role": "viewer" }))
        .await;
    let op = {
        // Grants are read per request: the old session sees them.
        op
    };

    // An operator may mint a viewer token for acme; not an operator token
    // on beta, not an admin token, not a tenant it lacks.
    let r = op
        .post(
            "/api/v1/tokens",
            json!({ "name": "ci", "role": "viewer", "tenants": ["acme"] }),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    let token = r.json["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("cat1_"));
    let token_id = r.json["id"].as_i64().unwrap();
    for (body, code) in [
        (
            json!({ "name": "x", "role": "operator", "tenants": ["beta"] }),
            "forbidden",
        ),
        (json!({ "name": "x", "role": "operator" }), "forbidden"),
        (json!({ "name": "x", "role": "admin" }), "forbidden"),
        (
            json!({ "name": "x", "role": "viewer", "tenants": ["gamma"] }),
            "not_found",
        ),
        (json!({ "name": "", "role": "viewer" }), "invalid"),
        (
            json!({ "name": "x", "role": "viewer", "ttl_days": 9999 }),
            "invalid",
        ),
    ] {
        let r = op.post("/api/v1/tokens", body.clone()).await.unwrap();
        assert_eq!(r.json["code"], code, "{body}: {}", r.json);
    }
    // The token never appears in the database or the audit log.
    let stored: i64 = sqlx::query("SELECT COUNT(*) FROM api_tokens WHERE secret_hash = $1")
        .bind(&token)
        .fetch_one(&w.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0);
    let leaked: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE after_json LIKE $1")
        .bind(format!("%{}%", &token[5..]))
        .fetch_one(&w.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(leaked, 0);

    // The token reads acme, cannot operate, cannot see beta.
    let bot = op.with_token(&token);
    let me = bot.get("/api/v1/me").await.unwrap();
    assert_eq!(me.status, 200, "{}", me.json);
    assert_eq!(me.json["via"], "token");
    assert_eq!(
        me.json["grants"],
        json!([{ "tenant": "acme", "role": "viewer", "auditor": null }])
    );
    assert_eq!(
        bot.get("/api/v1/tenants/acme/agents").await.unwrap().status,
        200
    );
    problem(
        &bot.post("/api/v1/tenants/acme/enrollment-tokens", json!({}))
            .await
            .unwrap(),
        403,
        "forbidden",
    );
    problem(
        &bot.get("/api/v1/tenants/beta/agents").await.unwrap(),
        404,
        "not_found",
    );
    // A token cannot mint a broader token, nor an unlimited one.
    let r = bot
        .post("/api/v1/tokens", json!({ "name": "y", "role": "operator" }))
        .await
        .unwrap();
    problem(&r, 403, "forbidden");
    let r = bot
        .post("/api/v1/tokens", json!({ "name": "y", "role": "viewer" }))
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["tenants"].as_array().unwrap().len(), 1);

    // last_used_at is recorded; revocation takes effect on the next request.
    let list = op.get("/api/v1/tokens").await.unwrap();
    let mine = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == token_id)
        .unwrap()
        .clone();
    assert!(mine["last_used_at"].as_i64().is_some(), "{mine}");
    let r = op
        .send(Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    problem(
        &bot.get("/api/v1/me").await.unwrap(),
        401,
        "unauthenticated",
    );
    assert_eq!(w.audit_count("api_token.revoke").await, 1);
    assert_eq!(w.audit_count("api_token.create").await, 2);

    // Disabling the owner stops its tokens and sessions.
    let r = op
        .post("/api/v1/tokens", json!({ "name": "z", "role": "viewer" }))
        .await
        .unwrap();
    let z = op.with_token(r.json["token"].as_str().unwrap());
    assert_eq!(z.get("/api/v1/me").await.unwrap().status, 200);
    let id = w.user_id("op@citadel.test").await;
    let r = w
        .admin
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({ "disabled": true })),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    problem(&z.get("/api/v1/me").await.unwrap(), 401, "unauthenticated");
    problem(&op.get("/api/v1/me").await.unwrap(), 401, "unauthenticated");

    // Auditors get no API tokens.
    let aud = w.user("aud@citadel.test").await;
    w.grant(
        "aud@citadel.test",
        "acme",
        json!({ "role": "auditor", "frameworks": ["soc2"], "from": 0, "to": 4102444800000i64,
                "expires_at": 4102444800000i64 }),
    )
    .await;
    problem(&aud.get("/api/v1/tokens").await.unwrap(), 403, "forbidden");
    problem(
        &aud.get("/api/v1/tenants/acme/enrollment-tokens")
            .await
            .unwrap(),
        403,
        "forbidden",
    );
}

async fn audit_chain(backend: Backend) {
    let w = world(backend).await;
    w.tenant("acme").await;
    let r = w
        .admin
        .post(
            "/api/v1/tenants/acme/enrollment-tokens",
            json!({ "ttl_hours": 2 }),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.json);
    assert!(r.json["token"].as_str().unwrap().starts_with("ctk1_"));
    let id = r.json["id"].as_i64().unwrap();
    let r = w
        .admin
        .send(
            Method::DELETE,
            &format!("/api/v1/tenants/acme/enrollment-tokens/{id}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(r.json["revoked_at"].as_i64().is_some());

    // The log through the API, newest first, filtered and paged.
    let r = w.admin.get("/api/v1/audit-log?limit=2").await.unwrap();
    assert_eq!(r.status, 200, "{}", r.json);
    let items = r.json["items"].as_array().unwrap();
    assert_eq!(items[0]["action"], "enrollment_token.revoke");
    assert_eq!(items[1]["action"], "enrollment_token.create");
    assert_eq!(items[0]["actor_type"], "user");
    assert_eq!(items[0]["actor_name"], ADMIN);
    assert!(items[0]["request_id"].as_str().is_some());
    assert_eq!(items[0]["source"], "127.0.0.1");
    let next = r.json["next_cursor"].as_str().unwrap();
    let r = w
        .admin
        .get(&format!("/api/v1/audit-log?limit=500&cursor={next}"))
        .await
        .unwrap();
    let rest = r.json["items"].as_array().unwrap();
    assert!(
        rest.iter()
            .all(|i| i["seq"].as_i64() < items[1]["seq"].as_i64())
    );
    assert!(r.json["next_cursor"].is_null());
    let r = w
        .admin
        .get("/api/v1/audit-log?action=tenant.create&tenant=acme")
        .await
        .unwrap();
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1, "{}", r.json);

    // Intact: audit verify agrees.
    let out = w
        .collector
        .command()
        .unwrap()
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact"));

    // The database refuses edits and deletions of audit rows.
    for sql in [
        "UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ] {
        let err = sqlx::query(sql).execute(&w.pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    if backend == Backend::Postgres {
        let err = sqlx::query("TRUNCATE audit_log")
            .execute(&w.pool)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }

    // Someone drops the triggers and edits a row: verify names it.
    let drops: &[&str] = match backend {
        Backend::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
        Backend::Postgres => &["DROP TRIGGER audit_log_no_update ON audit_log"],
    };
    for d in drops {
        sqlx::query(sqlx::AssertSqlSafe(*d))
            .execute(&w.pool)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 2")
        .execute(&w.pool)
        .await
        .unwrap();
    let out = w
        .collector
        .command()
        .unwrap()
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("row 2"), "{err}");
    // Removing a row is caught at the next one.
    sqlx::query("UPDATE audit_log SET actor_name = $1 WHERE seq = 2")
        .bind(ADMIN)
        .execute(&w.pool)
        .await
        .ok();
    sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(&w.pool)
        .await
        .unwrap();
    let out = w
        .collector
        .command()
        .unwrap()
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("row 2") || err.contains("row 4"), "{err}");
}

async fn cli_users(backend: Backend) {
    let w = world(backend).await;
    let run = |args: &[&str]| {
        let out = w.collector.command().unwrap().args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, out, _) = run(&["user", "create", "gen@citadel.test"]);
    assert!(ok);
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("Password (shown once): "))
        .unwrap()
        .to_string();
    let mut c = ApiClient::new(&w.collector).unwrap();
    assert_eq!(
        c.login("gen@citadel.test", &password).await.unwrap().status,
        200
    );
    let (ok, _, err) = run(&["user", "create", "gen@citadel.test"]);
    assert!(!ok && err.contains("exists"), "{err}");
    let (ok, out, _) = run(&["user", "list", "--json"]);
    assert!(ok);
    let users: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert!(!out.contains("argon2"), "no hashes in listings");
    let (ok, _, _) = run(&["user", "disable", "gen@citadel.test"]);
    assert!(ok);
    problem(&c.get("/api/v1/me").await.unwrap(), 401, "unauthenticated");
    let mut again = ApiClient::new(&w.collector).unwrap();
    problem(
        &again.login("gen@citadel.test", &password).await.unwrap(),
        401,
        "unauthenticated",
    );
    assert!(run(&["user", "enable", "gen@citadel.test"]).0);
    let (ok, out, _) = run(&["user", "reset-password", "gen@citadel.test"]);
    assert!(ok);
    let fresh = out
        .lines()
        .find_map(|l| l.strip_prefix("New password (shown once): "))
        .unwrap();
    problem(
        &again.login("gen@citadel.test", &password).await.unwrap(),
        401,
        "unauthenticated",
    );
    assert_eq!(
        again.login("gen@citadel.test", fresh).await.unwrap().status,
        200
    );
    let system: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE actor_type = 'system'")
        .fetch_one(&w.pool)
        .await
        .unwrap()
        .get(0);
    assert!(
        system >= 5,
        "CLI changes are audited as the system: {system}"
    );
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() { super::$name(citadel_e2e::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() { super::$name(citadel_e2e::Backend::Postgres).await })*
        }
    };
}

on_both!(sessions, throttling, tokens, audit_chain, cli_users);
