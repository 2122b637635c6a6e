//! The compliance endpoints over HTTP, through the API router: extractors,
//! the guard, ETag / If-Match, status codes and audit rows, on both
//! databases.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::audit::{Action, Context};
use crate::auth::{AuditorScope, Role, secret};
use crate::http::{AppState, AuthSettings};
use crate::store::testing::{Fixture, catalog, on_both_databases};
use crate::store::{SessionPolicy, ThrottlePolicy};

/// An API token for `user` with `role`.
async fn token(store: &crate::store::Store, user: i64, role: Role) -> String {
    let (token, hash) = secret::new_token();
    store
        .create_api_token(
            &Context::system(1),
            user,
            "test",
            &hash,
            role,
            None,
            i64::MAX,
        )
        .await
        .unwrap();
    token
}

struct Api {
    router: axum::Router,
    operator: String,
    auditor: String,
    _ca: tempfile::TempDir,
}

/// A reply: status, ETag, JSON body (`Null` when empty).
struct Reply {
    status: StatusCode,
    etag: Option<String>,
    body: Value,
}

impl Api {
    async fn new(f: &Fixture) -> Self {
        let store = f.store().clone();
        let ctx = Context::system(1);
        store
            .set_grant(&ctx, f.operator_id, f.tenant_id, Role::Operator, None)
            .await
            .unwrap();
        let scope = AuditorScope {
            frameworks: vec!["pci_dss_4.0.1".into()],
            from: 0,
            to: i64::MAX,
            expires_at: i64::MAX,
        };
        store
            .set_grant(&ctx, f.auditor_id, f.tenant_id, Role::Auditor, Some(&scope))
            .await
            .unwrap();
        let operator = token(&store, f.operator_id, Role::Operator).await;
        let auditor = token(&store, f.auditor_id, Role::Auditor).await;
        let ca = tempfile::tempdir().unwrap();
        crate::pki::create(ca.path(), &[]).unwrap();
        let state = AppState {
            store,
            ca: Arc::new(crate::pki::Authority::load(ca.path()).unwrap()),
            public_ingest_url: "https://localhost:8443".into(),
            catalog: Arc::new(catalog().clone()),
            public_api_url: "https://localhost:8444".into(),
            guard: Default::default(),
            auth: AuthSettings {
                session: SessionPolicy {
                    idle_ms: 3_600_000,
                    absolute_ms: 43_200_000,
                },
                throttle: ThrottlePolicy {
                    window_ms: 900_000,
                    per_account: 10,
                    per_source: 50,
                },
            },
        };
        Self {
            router: crate::http::api_router(state),
            operator,
            auditor,
            _ca: ca,
        }
    }

    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        if_match: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/api/v1/tenants/acme{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some(tag) = if_match {
            req = req.header(header::IF_MATCH, tag);
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let etag = res
            .headers()
            .get(header::ETAG)
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Reply { status, etag, body }
    }

    async fn get(&self, token: &str, path: &str) -> Reply {
        self.call(token, Method::GET, path, None, None).await
    }
}

async fn compliance_endpoints(mut f: Fixture) {
    f.scan(2).await;
    let api = Api::new(&f).await;
    let (op, au) = (api.operator.as_str(), api.auditor.as_str());
    let cry05 = f.control_id("scf:CRY-05").await;

    // Controls: pages, strict filters, the auditor's frameworks.
    let r = api.get(op, "/controls?limit=2").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let cursor = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = api
        .get(op, &format!("/controls?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for bad in [
        "/controls?posture=great",
        "/controls?colour=red",
        "/controls?limit=0",
        "/controls?cursor=xyz",
    ] {
        assert_eq!(
            api.get(op, bad).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    assert_eq!(
        api.get(op, "/controls?framework=hipaa").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = api
        .get(op, "/controls?posture=partial&framework=soc2")
        .await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"] == "scf:CRY-05")
    );
    let soc2_only = f.control_id("req:soc2:cc_7_2").await;
    assert_eq!(
        api.get(au, &format!("/controls/{soc2_only}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Control edits: ETag, If-Match, the guard.
    let r = api.get(op, &format!("/controls/{cry05}")).await;
    assert_eq!(r.etag.as_deref(), Some("\"v1\""));
    assert_eq!(r.body["asset_count"], 2);
    let path = format!("/controls/{cry05}");
    let owner = json!({"owner": "Platform"});
    let r = api
        .call(op, Method::PATCH, &path, None, Some(owner.clone()))
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(r.body["code"], "precondition_required");
    let r = api
        .call(
            op,
            Method::PATCH,
            &path,
            Some("\"v1\""),
            Some(owner.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.etag.as_deref(), Some("\"v2\""));
    assert_eq!(r.body["owner"], "Platform");
    let r = api
        .call(
            op,
            Method::PATCH,
            &path,
            Some("\"v1\""),
            Some(json!({"owner": null})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::PRECONDITION_FAILED, Some("stale"))
    );
    for bad in [
        json!({}),
        json!({"owner": "x".repeat(201)}),
        json!({"notes": "x".repeat(10_001)}),
    ] {
        let r = api
            .call(op, Method::PATCH, &path, Some("\"v2\""), Some(bad))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
    let r = api
        .call(
            op,
            Method::PATCH,
            &path,
            Some("\"v2\""),
            Some(json!({"status": "done"})),
        )
        .await;
    assert!(r.status.is_client_error());
    let r = api
        .call(au, Method::PATCH, &path, Some("\"v2\""), Some(owner))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(f.audit(Action::ControlUpdated).await.len(), 1);

    // Policies: a refused transition is 409 and changes nothing.
    let r = api.get(op, "/policies?status=to_do").await;
    let policy = r.body.as_array().unwrap()[0]["id"].as_i64().unwrap();
    let path = format!("/policies/{policy}");
    let r = api.get(op, &path).await;
    assert_eq!(r.etag.as_deref(), Some("\"v1\""));
    assert!(!r.body["body"].as_str().unwrap().is_empty());
    let r = api
        .call(
            op,
            Method::PATCH,
            &path,
            Some("\"v1\""),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::CONFLICT, Some("refused"))
    );
    let r = api
        .call(
            op,
            Method::PATCH,
            &path,
            Some("\"v1\""),
            Some(json!({"status": "in_progress"})),
        )
        .await;
    assert_eq!(
        (r.status, r.etag.as_deref()),
        (StatusCode::OK, Some("\"v2\""))
    );
    assert_eq!(f.audit(Action::PolicyUpdated).await.len(), 1);

    // Frameworks: the auditor sees theirs only.
    let r = api.get(au, "/frameworks").await;
    let ids: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["pci_dss_4.0.1"]);
    for (token, path) in [
        (au, "/frameworks/soc2"),
        (op, "/frameworks/hipaa"),
        (op, "/frameworks/SOC2"),
    ] {
        assert_eq!(
            api.get(token, path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let r = api.get(op, "/frameworks/soc2").await;
    assert_eq!(r.status, StatusCode::OK);
    let target = r.body["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["assessable"] == true)
        .unwrap()["ref_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(r.body["compliance_score_pct"].is_null());

    // Assessments: create without If-Match, replace with it.
    let path = format!("/frameworks/soc2/requirements/{target}/assessment");
    assert_eq!(api.get(op, &path).await.status, StatusCode::NOT_FOUND);
    let body = json!({"result": "compliant", "answers": {"Documented?": "yes", "Tested?": "partial"},
                      "control_ids": [cry05]});
    let r = api
        .call(op, Method::PUT, &path, None, Some(body.clone()))
        .await;
    assert_eq!(
        (r.status, r.etag.as_deref()),
        (StatusCode::CREATED, Some("\"v1\"")),
        "{}",
        r.body
    );
    assert_eq!(r.body["score"], 0.75);
    let r = api
        .call(op, Method::PUT, &path, None, Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    let r = api
        .call(
            op,
            Method::PUT,
            &path,
            Some("\"v1\""),
            Some(json!({"result": "non_compliant"})),
        )
        .await;
    assert_eq!(
        (r.status, r.etag.as_deref()),
        (StatusCode::OK, Some("\"v2\""))
    );
    for bad in [
        json!({"result": "great"}),
        json!({"result": "compliant", "answers": {"Q": "maybe"}}),
        json!({"result": "compliant", "answers": {"x".repeat(201): "yes"}}),
        json!({"result": "compliant", "control_ids": [cry05 + 10_000]}),
    ] {
        let r = api
            .call(op, Method::PUT, &path, Some("\"v2\""), Some(bad))
            .await;
        assert!(r.status.is_client_error(), "{}", r.body);
    }
    let r = api.get(op, &path).await;
    assert_eq!(
        (r.etag.as_deref(), r.body["result"].as_str()),
        (Some("\"v2\""), Some("non_compliant"))
    );
    assert_eq!(
        api.call(
            op,
            Method::PUT,
            "/frameworks/soc2/requirements/CC99/assessment",
            None,
            Some(body)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let r = api.get(op, "/frameworks/soc2").await;
    assert_eq!(r.body["compliance_score_pct"], 0.0);
    assert_eq!(f.audit(Action::AssessmentUpdated).await.len(), 2);

    // Mappings.
    let new =
        json!({"control_id": soc2_only, "framework": "iso27001_2022", "requirement": "A.8.15"});
    let r = api
        .call(op, Method::POST, "/mappings", None, Some(new.clone()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = api
        .call(op, Method::POST, "/mappings", None, Some(new))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::CONFLICT, Some("exists"))
    );
    let r = api.get(op, &format!("/mappings?control={soc2_only}")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let r = api
        .call(
            op,
            Method::DELETE,
            &format!("/mappings?control={soc2_only}&framework=soc2&requirement=CC7.2"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::CONFLICT, Some("refused"))
    );
    let r = api
        .call(
            op,
            Method::DELETE,
            &format!("/mappings?control={soc2_only}&framework=iso27001_2022&requirement=A.8.15"),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.call(
            au,
            Method::POST,
            "/mappings",
            None,
            Some(json!({"control_id": 1, "framework": "soc2", "requirement": "CC1.1"}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // Evidence: the auditor's queue, a decision, a bulk approval.
    let r = api.get(au, "/evidence?status=in_review&limit=500").await;
    let queue: Vec<i64> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(queue.len(), 2, "the SCF check's records only");
    let path = format!("/evidence/{}", queue[0]);
    let r = api.get(au, &path).await;
    assert_eq!(r.etag.as_deref(), Some("\"v4294967297\""));
    let review = format!("{path}/review");
    let r = api
        .call(
            au,
            Method::POST,
            &review,
            Some("\"v4294967297\""),
            Some(json!({"status": "flagged"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = api
        .call(
            op,
            Method::POST,
            &review,
            Some("\"v4294967297\""),
            Some(json!({"status": "approved"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "operators do not review");
    let r = api
        .call(
            au,
            Method::POST,
            &review,
            Some("\"v4294967297\""),
            Some(json!({"status": "flagged", "comment": "Check the volume."})),
        )
        .await;
    assert_eq!(
        (r.status, r.etag.as_deref()),
        (StatusCode::OK, Some("\"v8589934593\"")),
        "{}",
        r.body
    );
    assert_eq!(r.body["status"], "flagged");
    let r = api
        .call(
            au,
            Method::POST,
            &review,
            Some("\"v4294967297\""),
            Some(json!({"status": "approved"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = api
        .call(
            au,
            Method::POST,
            &format!("/controls/{cry05}/evidence/approve"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.body["approved"].as_i64()),
        (StatusCode::OK, Some(1))
    );
    assert_eq!(f.audit(Action::EvidenceReviewed).await.len(), 2);
    let r = api.get(au, &format!("{path}/revisions/1")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["signature_verifies"], true);
    assert_eq!(r.body["plugin"], "test-pack");
    assert_eq!(
        r.body["result"]["check_id"],
        crate::store::testing::CHECK_SCF
    );
    assert_eq!(
        api.get(au, &format!("{path}/revisions/9")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get(au, "/evidence?requirement=CC7.2").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

on_both_databases!(compliance_endpoints);
