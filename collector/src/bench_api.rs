//! `citadel-collector bench api` and `bench console`: latency on a large
//! tenant. One tenant gets a synthetic scan of 100,000 assets × 10 checks
//! (1,000,000 results, ingested through the real pipeline), then each
//! request below is sent through the router in-process and p50 / p95 / p99
//! are printed: for `api`, 1,000 times each (an API token, the guard, the
//! store, JSON); for `console`, 300 times each (a session cookie, the
//! guard, the store, the rendered page). No network: this measures the
//! collector, not the loopback.

use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use ed25519_dalek::SigningKey;
use tower::ServiceExt;

use crate::audit::Context;
use crate::auth::{Role, secret};
use crate::catalog::Catalog;
use crate::http::{self, AppState, AuthSettings};
use crate::pki::{Authority, PeerAgent};
use crate::store::Store;

/// Which requests to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    /// The REST API, 1,000 requests each.
    Api,
    /// Console pages, 300 requests each.
    Console,
}

/// Run the API benchmark on a fresh database at `url`, with a scan of
/// `assets` × `checks` results.
pub async fn run(url: &str, assets: usize, checks: usize, suite: Suite) -> anyhow::Result<()> {
    let store = Store::open(url).await?;
    let catalog = std::sync::Arc::new(Catalog::bundled()?);
    store.import_catalog(&catalog, "bundled", &[]).await?;
    let tenant = "bench";
    let (tenant_id, _) = store.ensure_tenant(tenant).await?;
    let key = SigningKey::from_bytes(&[42; 32]);
    let secret_hash = format!("{:x}", uuid::Uuid::now_v7().as_u128());
    store
        .insert_token(tenant_id, &secret_hash, i64::MAX, 1)
        .await?;
    let agent_id = format!("agt-bench-{}", uuid::Uuid::now_v7());
    let public_key = key.verifying_key().as_bytes().to_vec();
    let pk = public_key.clone();
    store
        .enroll_agent(&secret_hash, &agent_id, "bench", || {
            Ok::<_, std::convert::Infallible>(("-".to_string(), pk))
        })
        .await?
        .map_err(|_| anyhow::anyhow!("bench enrollment failed"))?;
    let peer = PeerAgent {
        agent_id: agent_id.clone(),
        public_key,
    };
    println!(
        "{suite:?} benchmark on {:?}: one tenant, {assets} assets × {checks} checks = {} results",
        store.backend(),
        assets * checks
    );
    let started = Instant::now();
    let batch = crate::bench::synthetic_batch(&agent_id, 1, assets, checks);
    let bytes = citadel_wire::sign(&batch, &key)?;
    drop(batch);
    let unbounded = crate::ingest::PartLimits {
        max_assets: usize::MAX,
        max_results: usize::MAX,
    };
    crate::ingest::ingest(&store, &catalog, &peer, bytes.into(), &unbounded).await?;
    store.checkpoint().await?;
    println!("  ingested in {:.1} s", started.elapsed().as_secs_f64());
    // Ingest refreshes PostgreSQL's statistics in the background after a
    // large batch; measure with them in place.
    store.analyze().await?;

    let ctx = Context::system(crate::store::now_ms());
    let user = store
        .create_user(&ctx, "bench@citadel.invalid", "-", true)
        .await?;
    let (token, hash) = secret::new_token();
    store
        .create_api_token(&ctx, user.id, "bench", &hash, Role::Admin, None, i64::MAX)
        .await?;

    let dir = tempfile::tempdir()?;
    crate::pki::create(dir.path(), &["localhost".to_string()])?;
    let state = AppState {
        store: store.clone(),
        ca: std::sync::Arc::new(Authority::load(dir.path())?),
        public_ingest_url: "https://localhost:8443".into(),
        catalog,
        public_api_url: "https://localhost:8444".into(),
        guard: Default::default(),
        auth: AuthSettings {
            session: crate::config::AuthConfig::default().session(),
            throttle: crate::config::AuthConfig::default().throttle(),
        },
    };
    let (session, session_hash) = secret::new_secret();
    store
        .start_session(&ctx, user.id, "bench", &session_hash, state.auth.session)
        .await?;
    let router = http::api_router(state);
    let get = |path: String| {
        let router = router.clone();
        let token = token.clone();
        let session = session.clone();
        async move {
            let req = if path.starts_with("/api/") {
                Request::get(&path).header("authorization", format!("Bearer {token}"))
            } else {
                Request::get(&path).header("cookie", format!("citadel_session={session}"))
            };
            let res = router.oneshot(req.body(Body::empty())?).await?;
            let status = res.status();
            let body = axum::body::to_bytes(res.into_body(), 64 << 20).await?;
            anyhow::ensure!(
                status.is_success(),
                "{path}: {status}: {}",
                String::from_utf8_lossy(&body)
            );
            anyhow::Ok(body)
        }
    };
    let json = |path: String| {
        let get = &get;
        async move {
            anyhow::Ok(serde_json::from_slice::<serde_json::Value>(
                &get(path).await?,
            )?)
        }
    };

    // A cursor deep in the findings: walk 20 pages of 500 first.
    let base = format!("/api/v1/tenants/{tenant}");
    let mut cursor = String::new();
    for _ in 0..20 {
        let v = json(format!("{base}/results?limit=500{cursor}")).await?;
        let next = v["next_cursor"].as_str().unwrap_or_default();
        cursor = format!("&cursor={next}");
    }
    let (cases, requests) = match suite {
        Suite::Api => (
            vec![
                ("findings, first page", format!("{base}/results?limit=50")),
                (
                    "findings, filtered (fail, one check)",
                    format!("{base}/results?limit=50&status=fail&check=bench_check_003"),
                ),
                (
                    "findings, page 10,000 results deep (cursor)",
                    format!("{base}/results?limit=50{cursor}"),
                ),
                ("posture per framework", format!("{base}/frameworks")),
                (
                    "framework detail (SOC 2 requirement tree)",
                    format!("{base}/frameworks/soc2"),
                ),
                (
                    "evidence review queue, first page",
                    format!("{base}/evidence?status=in_review&limit=50"),
                ),
            ],
            1_000,
        ),
        Suite::Console => {
            let first = |v: serde_json::Value| v["items"][0]["id"].as_i64().unwrap_or(0);
            let result = first(json(format!("{base}/results?limit=1&status=fail")).await?);
            let asset = first(json(format!("{base}/assets?limit=1")).await?);
            let control = first(json(format!("{base}/controls?limit=1")).await?);
            let evidence = first(json(format!("{base}/evidence?limit=1")).await?);
            let t = format!("/t/{tenant}");
            (
                vec![
                    ("overview", t.clone()),
                    ("frameworks", format!("{t}/frameworks")),
                    (
                        "framework (SOC 2 requirement tree)",
                        format!("{t}/frameworks/soc2"),
                    ),
                    ("findings, first page", format!("{t}/findings")),
                    (
                        "findings, filtered (fail, one check)",
                        format!("{t}/findings?status=fail&check=bench_check_003"),
                    ),
                    (
                        "findings, 10,000 results deep (cursor)",
                        format!("{t}/findings?{}", cursor.trim_start_matches('&')),
                    ),
                    ("finding", format!("{t}/findings/{result}")),
                    ("assets, first page", format!("{t}/assets")),
                    ("asset (document and graph)", format!("{t}/assets/{asset}")),
                    ("applied controls", format!("{t}/controls")),
                    ("applied control", format!("{t}/controls/{control}")),
                    ("policies", format!("{t}/policies")),
                    (
                        "evidence review queue",
                        format!("{t}/evidence?status=in_review"),
                    ),
                    (
                        "evidence review queue, one control",
                        format!("{t}/evidence?control={control}"),
                    ),
                    (
                        "evidence review queue, one check",
                        format!("{t}/evidence?check=bench_check_003"),
                    ),
                    ("evidence item", format!("{t}/evidence/{evidence}")),
                    ("fleet", format!("{t}/fleet")),
                    ("audit log", "/audit".to_string()),
                ],
                300,
            )
        }
    };
    println!(
        "  {:<46} {:>9} {:>9} {:>9} {:>9}",
        "request", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (label, path) in cases {
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let t = Instant::now();
            get(path.clone()).await?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
        println!(
            "  {label:<46} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            pct(0.50),
            pct(0.95),
            pct(0.99),
            times[times.len() - 1]
        );
    }
    store.close().await;
    Ok(())
}
