//! The evidence pages through the router, on both databases: who sees the
//! queue and the decision form, a decision through the form (history row,
//! audit row), stale and forged posts, and hostile comments rendered inert.

use axum::http::StatusCode;

use crate::auth::{AuditorScope, Role};
use crate::console::tests::{Browser, state};
use crate::store::fixture::{World, on_both_databases};
use crate::store::page::PageRequest;
use crate::store::review::EvidenceFilter;

const HOSTILE: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>";

/// The value of the hidden `tag` field of a page.
pub(crate) fn tag_of(body: &str) -> String {
    let at = body.find("name=\"tag\" value=\"").expect("a review form") + 18;
    body[at..].split('"').next().unwrap().to_string()
}

async fn evidence_review(w: World) {
    let state = state(&w);
    let now = crate::store::now_ms();
    let soc2 = w.acme.auditor(&["soc2"], 0, now + 86_400_000);
    let ids: Vec<i64> = w
        .store
        .evidence_list(&soc2, &EvidenceFilter::default(), &PageRequest::first(500))
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert!(!ids.is_empty(), "the fixture has soc2 evidence");
    let id = ids[0];
    let acme = w.acme.access.id();
    let admin = Browser::user(&w, state.clone(), "admin@example.com", None).await;
    let viewer = Browser::on_acme(&w, state.clone(), Role::Viewer).await;
    let operator = Browser::on_acme(&w, state.clone(), Role::Operator).await;
    let scope = AuditorScope {
        frameworks: vec!["soc2".into()],
        from: 0,
        to: now + 86_400_000,
        expires_at: now + 86_400_000,
    };
    let auditor = Browser::user(
        &w,
        state.clone(),
        "au@example.com",
        Some((acme, Role::Auditor, Some(scope))),
    )
    .await;

    // The queue: everyone who reads the tenant, filtered as the API filters.
    for b in [&admin, &viewer, &operator, &auditor] {
        let r = b.get("/t/acme/evidence").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body.contains("id=\"evidence-filters\"") && r.body.contains("id=\"evidence-table\""),
            "{}",
            r.body
        );
        assert!(
            r.body.contains(&format!("href=\"/t/acme/evidence/{id}\"")),
            "{}",
            r.body
        );
    }
    let r = auditor.get("/t/acme/evidence?framework=soc2&status=in_review&from=2020-01-01&to=2999-12-31&control=&check=&requirement=").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("<option value=\"soc2\" selected>"),
        "{}",
        r.body
    );
    for bad in [
        "requirement=CC7.2",
        "framework=hipaa",
        "from=yesterday",
        "status=done",
        "control=x",
    ] {
        let r = admin.get(&format!("/t/acme/evidence?{bad}")).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
    }
    let r = admin.get("/t/acme/evidence?status=approved").await;
    assert!(
        r.body.contains("class=\"empty\""),
        "nothing is approved yet: {}",
        r.body
    );

    // One record: the decision form for reviewers only.
    let path = format!("/t/acme/evidence/{id}");
    for b in [&viewer, &operator] {
        let r = b.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body.contains("id=\"evidence\"") && r.body.contains("id=\"revisions\""),
            "{}",
            r.body
        );
        assert!(!r.body.contains("review-form"), "{}", r.body);
    }
    let r = auditor.get(&path).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for id in ["review-form", "approve", "reject", "flag", "review-comment"] {
        assert!(r.body.contains(&format!("id=\"{id}\"")), "{id}: {}", r.body);
    }
    assert!(
        r.body.contains("/controls/"),
        "links to its controls: {}",
        r.body
    );
    let tag = tag_of(&r.body);
    let review = format!("{path}/review");

    // Refusals: no comment for a flag, no CSRF token, the wrong role.
    let r = auditor
        .post(
            &review,
            &[("tag", &tag), ("status", "flagged"), ("comment", " ")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = auditor
        .post_raw(&review, &[("tag", &tag), ("status", "approved")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = operator
        .post(&review, &[("tag", &tag), ("status", "approved")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = viewer
        .post(&review, &[("tag", &tag), ("status", "approved")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // A decision: the status, a history row, a notice; then the old tag is stale.
    let r = auditor
        .post(
            &review,
            &[("tag", &tag), ("status", "flagged"), ("comment", HOSTILE)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("{path}?notice=reviewed"));
    let r = auditor.get(r.location()).await;
    assert!(r.body.contains("id=\"notice\""), "{}", r.body);
    assert!(r.body.contains("id=\"review-history\""), "{}", r.body);
    assert!(r.body.contains("badge warn\">flagged"), "{}", r.body);
    assert!(
        r.body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains("<script>alert") && !r.body.contains("<img src=x"),
        "{}",
        r.body
    );
    assert_ne!(tag_of(&r.body), tag);
    let r = auditor
        .post(&review, &[("tag", &tag), ("status", "approved")])
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.body);
    let r = auditor
        .post(&review, &[("tag", "v1"), ("status", "approved")])
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.body);
    let r = viewer.get("/t/acme/evidence?status=flagged").await;
    assert!(
        r.body.contains(&format!("href=\"/t/acme/evidence/{id}\"")),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("au@example.com"),
        "the reviewer is named: {}",
        r.body
    );

    // The audit row, for the admin.
    let r = admin.get("/audit?action=evidence.review").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("id=\"audit-table\"") && r.body.contains("au@example.com"),
        "{}",
        r.body
    );
    assert!(r.body.contains("&lt;script&gt;"), "{}", r.body);
    assert!(!r.body.contains("<script>alert"), "{}", r.body);

    // A revision as signed.
    let r = auditor.get(&format!("{path}/revisions/1")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("id=\"signature\" data-verifies=\"true\""),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("id=\"signed-result\"") && r.body.contains("&quot;check_id&quot;"),
        "{}",
        r.body
    );
    assert_eq!(
        auditor.get(&format!("{path}/revisions/99")).await.status,
        StatusCode::NOT_FOUND
    );

    // Beyond the evidence, auditors see nothing of the operation.
    for page in ["/t/acme/fleet", "/audit", "/admin/users", "/admin/tokens"] {
        assert_eq!(
            auditor.get(page).await.status,
            StatusCode::FORBIDDEN,
            "{page}"
        );
    }
    // Another tenant's record is not there.
    let beta = Browser::user(
        &w,
        state.clone(),
        "beta@example.com",
        Some((w.beta.access.id(), Role::Viewer, None)),
    )
    .await;
    assert_eq!(beta.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        beta.get(&format!("/t/beta/evidence/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

on_both_databases!(evidence_review);
