//! The control and policy pages through the router, on both databases:
//! who sees which form, edits that change the store, and refusals.

use axum::http::StatusCode;

use crate::auth::Role;
use crate::console::frameworks::page_tests::{auditor_of, scan_with_encryption};
use crate::console::tests::{Browser, Reply, state};
use crate::store::AuditFilter;
use crate::store::controls::{ControlFilter, WorkStatus};
use crate::store::fixture::{World, on_both_databases};
use crate::store::page::PageRequest;

const IMG: &str = "\"><img src=x onerror=alert(1)>";
const SCRIPT: &str = "<script>alert(1)</script>";

async fn audit_rows(w: &World, action: &str) -> Vec<crate::audit::Row> {
    w.store
        .audit_log(
            &AuditFilter {
                action: Some(action.into()),
                tenant_ids: Some(vec![w.acme.access.id()]),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap()
}

/// POST owned fields (with the CSRF token).
async fn send(b: &Browser, page: &str, fields: Vec<(&'static str, String)>) -> Reply {
    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(page, &f).await
}

struct People {
    admin: Browser,
    operator: Browser,
    viewer: Browser,
    auditor: Browser,
}

async fn people(w: &World) -> People {
    let state = state(w);
    let acme = w.acme.access.id();
    People {
        admin: Browser::user(w, state.clone(), "admin@example.com", None).await,
        operator: Browser::user(
            w,
            state.clone(),
            "operator@example.com",
            Some((acme, Role::Operator, None)),
        )
        .await,
        viewer: Browser::user(
            w,
            state.clone(),
            "viewer@example.com",
            Some((acme, Role::Viewer, None)),
        )
        .await,
        auditor: Browser::user(w, state, "auditor@example.com", auditor_of(w, &["soc2"])).await,
    }
}

on_both_databases!(controls_pages, policy_pages);

async fn controls_pages(w: World) {
    let p = people(&w).await;
    let all = w
        .store
        .controls(
            &w.acme.access,
            &ControlFilter::default(),
            &PageRequest::first(500),
        )
        .await
        .unwrap();
    let soc2 = w.acme.auditor(&["soc2"], 0, i64::MAX);
    let theirs = w
        .store
        .controls(&soc2, &ControlFilter::default(), &PageRequest::first(500))
        .await
        .unwrap();

    // The listing, its filters, its refusals.
    for b in [&p.admin, &p.viewer, &p.auditor] {
        let r = b.get("/t/acme/controls").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains(r#"id="controls-table""#), "{}", r.body);
        assert!(r.body.contains(r#"href="/t/acme/policies""#));
    }
    let r = p
        .admin
        .get("/t/acme/controls?q=req%3Asoc2&posture=&status=&framework=")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("req:soc2:cc_6_1"), "{}", r.body);
    assert!(!r.body.contains("req:pci"), "{}", r.body);
    let r = p.admin.get("/t/acme/controls?status=deprecated").await;
    assert!(r.body.contains("No applied control matches"), "{}", r.body);
    for bad in [
        "posture=great",
        "status=done",
        "framework=hipaa",
        "cursor=xyz",
        "sort=name",
    ] {
        let r = p.admin.get(&format!("/t/acme/controls?{bad}")).await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.status);
    }
    let r = p.admin.get("/t/acme/controls?limit=1").await;
    assert!(r.body.contains(r#"id="next-page""#), "{}", r.body);

    // One control: the forms each role may use, and no more.
    let mut control = None;
    for c in &theirs {
        let d = w.store.control_detail(&soc2, c.id).await.unwrap().unwrap();
        if d.evidence_in_review > 0 && !d.checks.is_empty() {
            control = Some(d);
            break;
        }
    }
    let d = control.expect("a soc2 control with evidence awaiting review");
    let id = d.control.id;
    let page = format!("/t/acme/controls/{id}");
    let r = p.viewer.get(&page).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(r#"id="control""#));
    assert!(r.body.contains(&format!(
        r#"href="/t/acme/findings?check={}""#,
        d.checks[0].check_id
    )));
    assert!(
        r.body.contains("/t/acme/frameworks/soc2/requirements/"),
        "{}",
        r.body
    );
    assert!(r.body.contains("/t/acme/evidence/"), "{}", r.body);
    assert!(!r.body.contains(r#"id="control-form""#));
    assert!(!r.body.contains(r#"id="approve-control-evidence""#));
    let r = p.operator.get(&page).await;
    assert!(r.body.contains(r#"id="control-form""#), "{}", r.body);
    assert!(!r.body.contains(r#"id="approve-control-evidence""#));
    assert!(
        r.body
            .contains(&format!(r#"name="version" value="{}""#, d.control.version))
    );
    let r = p.auditor.get(&page).await;
    assert!(
        r.body.contains(r#"id="approve-control-evidence""#),
        "{}",
        r.body
    );
    assert!(!r.body.contains(r#"id="control-form""#));
    let r = p.admin.get(&page).await;
    assert!(
        r.body.contains(r#"id="control-form""#)
            && r.body.contains(r#"id="approve-control-evidence""#)
    );
    if let Some(outside) = all.iter().find(|c| theirs.iter().all(|t| t.id != c.id)) {
        let r = p
            .auditor
            .get(&format!("/t/acme/controls/{}", outside.id))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        p.admin.get("/t/acme/controls/999999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        p.admin.get("/t/acme/controls/x").await.status,
        StatusCode::BAD_REQUEST
    );

    // The operator's edit, with hostile text, rendered inert.
    let v = d.control.version.to_string();
    let edit = |version: &str| {
        vec![
            ("status", "in_progress".to_string()),
            ("owner", IMG.to_string()),
            ("notes", format!("{SCRIPT}\nsecond line")),
            ("version", version.to_string()),
        ]
    };
    let r = send(&p.operator, &page, edit(&v)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), page);
    let after = w.store.control(&w.acme.access, id).await.unwrap().unwrap();
    assert_eq!(after.status, WorkStatus::InProgress);
    assert_eq!(after.owner.as_deref(), Some(IMG));
    assert_eq!(after.version, d.control.version + 1);
    for b in [&p.viewer, &p.operator] {
        let r = b.get(&page).await;
        assert!(
            r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{}",
            r.body
        );
        assert!(
            r.body
                .contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
            "{}",
            r.body
        );
        assert!(
            !r.body.contains(SCRIPT) && !r.body.contains("<img src=x"),
            "{}",
            r.body
        );
    }
    let r = p.admin.get("/t/acme/controls").await;
    assert!(r.body.contains("&quot;&gt;&lt;img src=x") && !r.body.contains("<img src=x"));

    // Refused: stale, read-only roles, no or a wrong CSRF token, nonsense.
    let r = send(&p.operator, &page, edit(&v)).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.body);
    assert!(r.body.contains(r#"id="error-code""#) && r.body.contains("stale"));
    let now = after.version.to_string();
    assert_eq!(
        send(&p.viewer, &page, edit(&now)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&p.auditor, &page, edit(&now)).await.status,
        StatusCode::FORBIDDEN
    );
    let fields = [("status", "active"), ("version", now.as_str())];
    assert_eq!(
        p.operator.post_raw(&page, &fields).await.status,
        StatusCode::FORBIDDEN
    );
    let forged = [
        ("csrf", "forged"),
        ("status", "active"),
        ("version", now.as_str()),
    ];
    assert_eq!(
        p.operator.post_raw(&page, &forged).await.status,
        StatusCode::FORBIDDEN
    );
    let r = p
        .operator
        .post(&page, &[("status", "done"), ("version", now.as_str())])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        w.store.control(&w.acme.access, id).await.unwrap().unwrap(),
        after
    );
    let rows = audit_rows(&w, "control.update").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].object_id.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(rows[0].actor_name.as_deref(), Some("operator@example.com"));

    // Approving the evidence awaiting review: reviewers only.
    let approve = format!("{page}/approve");
    assert_eq!(
        p.operator.post(&approve, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        p.viewer.post(&approve, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        p.auditor.post_raw(&approve, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let r = p.auditor.post(&approve, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location(),
        format!("{page}?approved={}", d.evidence_in_review)
    );
    let r = p.auditor.get(r.location()).await;
    assert!(r.body.contains(r#"id="approved-notice""#), "{}", r.body);
    assert!(r.body.contains("Nothing awaits review."), "{}", r.body);
    let done = w.store.control_detail(&soc2, id).await.unwrap().unwrap();
    assert_eq!(done.evidence_in_review, 0);
}

async fn policy_pages(mut w: World) {
    scan_with_encryption(&mut w).await;
    let p = people(&w).await;
    let policies = w.store.policies(&w.acme.access, None).await.unwrap();
    let policy = policies
        .iter()
        .find(|p| p.status == WorkStatus::ToDo)
        .expect("a policy to do")
        .clone();
    for b in [&p.admin, &p.viewer, &p.operator] {
        let r = b.get("/t/acme/policies").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains(r#"id="policies-table""#), "{}", r.body);
        assert!(
            r.body
                .contains(&format!(r#"href="/t/acme/policies/{}""#, policy.id))
        );
    }
    assert_eq!(
        p.auditor.get("/t/acme/policies").await.status,
        StatusCode::OK
    );
    let r = p.admin.get("/t/acme/policies?status=active").await;
    assert!(r.body.contains("No policy has this status."), "{}", r.body);
    assert!(
        p.admin
            .get("/t/acme/policies?status=done")
            .await
            .status
            .is_client_error()
    );

    let page = format!("/t/acme/policies/{}", policy.id);
    let r = p.viewer.get(&page).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(r#"id="policy-controls""#));
    assert!(!r.body.contains(r#"id="policy-form""#));
    let r = p.operator.get(&page).await;
    assert!(r.body.contains(r#"id="policy-form""#), "{}", r.body);
    // From to_do: stay, start, or hold; never straight to active.
    assert!(r.body.contains(r#"value="in_progress""#) && r.body.contains(r#"value="on_hold""#));
    assert!(!r.body.contains(r#"value="active""#) && !r.body.contains(r#"value="deprecated""#));

    let v = policy.version.to_string();
    let form = |status: &'static str, version: &str| {
        vec![
            ("status", status),
            ("owner", "CISO"),
            ("notes", SCRIPT),
            ("version", version),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect::<Vec<_>>()
    };
    // A step the workflow does not allow is the API's 409.
    assert_eq!(
        send(&p.operator, &page, form("active", &v)).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        send(&p.viewer, &page, form("in_progress", &v)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&p.auditor, &page, form("in_progress", &v))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let raw = [("status", "in_progress"), ("version", v.as_str())];
    assert_eq!(
        p.operator.post_raw(&page, &raw).await.status,
        StatusCode::FORBIDDEN
    );
    let r = send(&p.operator, &page, form("in_progress", &v)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), page);
    let d = w
        .store
        .policy_detail(&w.acme.access, policy.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.policy.status, d.policy.owner.as_deref(), d.policy.version),
        (WorkStatus::InProgress, Some("CISO"), policy.version + 1)
    );
    assert_eq!(
        send(&p.operator, &page, form("active", &v)).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    let r = p.viewer.get(&page).await;
    assert!(
        r.body.contains("&lt;script&gt;") && !r.body.contains(SCRIPT),
        "{}",
        r.body
    );
    let r = p.operator.get(&page).await;
    assert!(
        r.body.contains(r#"value="active""#),
        "in progress → active: {}",
        r.body
    );
    let rows = audit_rows(&w, "policy.update").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0].object_id.as_deref(),
        Some(policy.id.to_string().as_str())
    );
}
