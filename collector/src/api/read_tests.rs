//! The read endpoints over HTTP (router + `oneshot`, no socket), on the store
//! fixture: query parsing, the guard, cursors, and the raw batch response.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use crate::audit::Context;
use crate::auth::{AuditorScope, Role, secret};
use crate::http::{AppState, AuthSettings};
use crate::store::fixture::{CATALOG, T0, World, on_both_databases};
use crate::store::{SessionPolicy, ThrottlePolicy};

on_both_databases!(read_endpoints_over_http);

/// A user with `role` on `tenant` (admin when `None`), and a token for it.
async fn token(w: &World, email: &str, grant: Option<(i64, Role, Option<AuditorScope>)>) -> String {
    let ctx = Context::system(T0);
    let s = &w.store;
    let user = s
        .create_user(&ctx, email, "$argon2id$unused", grant.is_none())
        .await
        .unwrap();
    let role = match &grant {
        Some((tenant, role, scope)) => {
            s.set_grant(&ctx, user.id, *tenant, *role, scope.as_ref())
                .await
                .unwrap();
            *role
        }
        None => Role::Admin,
    };
    let (token, hash) = secret::new_token();
    s.create_api_token(&ctx, user.id, "t", &hash, role, None, i64::MAX)
        .await
        .unwrap();
    token
}

struct Client {
    app: axum::Router,
}

impl Client {
    async fn get(
        &self,
        token: Option<&str>,
        uri: &str,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut req = Request::get(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, body.to_vec())
    }

    /// Status and JSON body.
    async fn json(&self, token: &str, uri: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.get(Some(token), uri).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

async fn read_endpoints_over_http(w: World) {
    let dir = tempfile::tempdir().unwrap();
    crate::pki::create(dir.path(), &[]).unwrap();
    let state = AppState {
        store: w.store.clone(),
        ca: Arc::new(crate::pki::Authority::load(dir.path()).unwrap()),
        public_ingest_url: "https://collector.invalid:8443".into(),
        catalog: Arc::new(CATALOG.clone()),
        public_api_url: "https://collector.invalid:8444".into(),
        guard: Default::default(),
        auth: AuthSettings {
            session: SessionPolicy {
                idle_ms: 3_600_000,
                absolute_ms: 86_400_000,
            },
            throttle: ThrottlePolicy {
                window_ms: 60_000,
                per_account: 10,
                per_source: 100,
            },
        },
    };
    let c = Client {
        app: crate::api::router().with_state(state),
    };
    let admin = token(&w, "admin@example.com", None).await;
    let beta_viewer = token(
        &w,
        "viewer@example.com",
        Some((w.beta.access.id(), Role::Viewer, None)),
    )
    .await;
    let scope = AuditorScope {
        frameworks: vec!["soc2".into()],
        from: T0 + 1500,
        to: i64::MAX,
        expires_at: i64::MAX,
    };
    let auditor = token(
        &w,
        "auditor@example.com",
        Some((w.acme.access.id(), Role::Auditor, Some(scope))),
    )
    .await;
    let acme = "/api/v1/tenants/acme";

    // Results: pages in a sort, cursors bound to it, strict parameters.
    let (status, page) = c
        .json(&admin, &format!("{acme}/results?sort=-id&limit=5"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(items[0]["id"].as_i64() > items[4]["id"].as_i64());
    let cursor = page["next_cursor"].as_str().unwrap();
    let (status, next) = c
        .json(
            &admin,
            &format!("{acme}/results?sort=-id&limit=5&cursor={cursor}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(next["items"][0]["id"].as_i64() < items[4]["id"].as_i64());
    let (status, refused) = c
        .json(
            &admin,
            &format!("{acme}/results?sort=severity&cursor={cursor}"),
        )
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_cursor"))
    );
    for bad in ["status=bogus", "sort=newest", "nope=1", "asset=x"] {
        let (status, p) = c.json(&admin, &format!("{acme}/results?{bad}")).await;
        assert_eq!(
            (status, p["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{bad}"
        );
    }
    let (status, p) = c
        .json(&admin, &format!("{acme}/results?requirement=CC6.1"))
        .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid"))
    );
    let long = "x".repeat(201);
    let (status, _) = c.json(&admin, &format!("{acme}/results?q={long}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, p) = c
        .json(
            &admin,
            &format!("{acme}/results?framework=soc2&requirement=CC6.1&status=fail"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["check_id"] == "check_alpha" && r["status"] == "fail")
    );

    // Auditors: their frameworks and window only.
    let (status, p) = c
        .json(&auditor, &format!("{acme}/results?framework=pci_dss_4.0.1"))
        .await;
    assert_eq!(
        (status, p["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, p) = c.json(&auditor, &format!("{acme}/results?limit=500")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p["items"].as_array().unwrap().len(), 16);

    // Assets: boolean and tag filters from the query string.
    let (status, p) = c
        .json(&admin, &format!("{acme}/assets?active=false&tag=env%3Ddev"))
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let items = p["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["active"], false);
    let (status, _) = c.json(&admin, &format!("{acme}/assets?tag=novalue")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let beta_asset = w.beta.asset_id(&w.store, 0).await;
    let (status, _) = c.json(&admin, &format!("{acme}/assets/{beta_asset}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "beta's asset under acme");
    let (status, a) = c
        .json(
            &beta_viewer,
            &format!("/api/v1/tenants/beta/assets/{beta_asset}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(a["raw"]["Encrypted"], true);

    // The signed batch, byte for byte; no one else's.
    let (batch, bytes, _) = &w.acme.batches[0];
    let raw = format!("{acme}/batches/{}/raw", batch.batch_id);
    let (status, headers, body) = c.get(Some(&admin), &raw).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/cose");
    assert_eq!(
        headers["x-content-sha256"],
        citadel_wire::sha256_hex(bytes).as_str()
    );
    assert_eq!(&body, bytes);
    let (status, ..) = c.get(Some(&beta_viewer), &raw).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no grant on acme");
    let (status, ..) = c
        .get(
            Some(&beta_viewer),
            &format!("/api/v1/tenants/beta/batches/{}/raw", batch.batch_id),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "acme's batch under beta");
    let (status, p) = c.json(&admin, &format!("{acme}/batches/not-a-uuid")).await;
    assert_eq!(
        (status, p["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_path"))
    );
    let (status, b) = c
        .json(&admin, &format!("{acme}/batches/{}", batch.batch_id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b["summary"]["results"], 20);

    // Scans, checks, the SCF catalog.
    let (status, p) = c.json(&admin, &format!("{acme}/scans")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p["items"].as_array().unwrap().len(), 2);
    assert!(
        p["items"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Scan complete: ")
    );
    assert!(p["items"][0].get("last_number").is_none());
    let scan = format!("{acme}/scans/{}", batch.scan_id);
    let (status, s) = c.json(&admin, &scan).await;
    assert_eq!(
        (status, s["results_created"].as_u64()),
        (StatusCode::OK, Some(20))
    );
    let (status, _) = c
        .json(
            &beta_viewer,
            &format!("/api/v1/tenants/beta/scans/{}", batch.scan_id),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, checks) = c.json(&beta_viewer, "/api/v1/tenants/beta/checks").await;
    assert_eq!(
        (status, checks.as_array().map(Vec::len)),
        (StatusCode::OK, Some(4))
    );
    let (status, p) = c
        .json(&beta_viewer, "/api/v1/scf-controls?domain=IAC&limit=2")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p["items"].as_array().unwrap().len(), 2);
    let cursor = p["next_cursor"].as_str().unwrap();
    let (_, next) = c
        .json(
            &beta_viewer,
            &format!("/api/v1/scf-controls?domain=IAC&limit=2&cursor={cursor}"),
        )
        .await;
    assert!(next["items"][0]["id"].as_str() > p["items"][1]["id"].as_str());
    let (status, ..) = c.get(None, "/api/v1/scf-controls").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
