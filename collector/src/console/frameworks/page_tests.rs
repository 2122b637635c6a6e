//! The framework and requirement pages through the router, on both
//! databases: who sees what, the assessment form's edits and refusals.

use axum::http::StatusCode;

use super::requirement_anchor;
use crate::auth::{AuditorScope, Role};
use crate::console::layout::segment;
use crate::console::tests::{Browser, state};
use crate::store::AuditFilter;
use crate::store::fixture::{CATALOG, World, on_both_databases};

/// The fixture stores no requirement trees: load `framework`'s alone.
pub(crate) async fn load_requirements(w: &World, framework: &str) {
    let mut c = CATALOG.clone();
    c.controls.clear();
    c.mappings.clear();
    c.templates.clear();
    c.frameworks.retain(|f| f.id == framework);
    w.store.import_catalog(&c, "test", &[]).await.unwrap();
}

/// An auditor grant on acme for `frameworks`, any time.
pub(crate) fn auditor_of(
    w: &World,
    frameworks: &[&str],
) -> Option<(i64, Role, Option<AuditorScope>)> {
    Some((
        w.acme.access.id(),
        Role::Auditor,
        Some(AuditorScope {
            frameworks: frameworks.iter().map(|f| f.to_string()).collect(),
            from: 0,
            to: i64::MAX,
            expires_at: i64::MAX,
        }),
    ))
}

/// Scan acme again with one more check, the encryption check of the store
/// tests: its two frameworks derive SCF controls (mapped to assessable
/// requirements through the STRM) and the encryption policy, which the
/// fixture's own checks do not.
pub(crate) async fn scan_with_encryption(w: &mut World) {
    let mut batch = w.acme.next_batch(&[0, 2, 3, 4], &[(0, "attached_to", 2)]);
    let first = batch.checks[0].id.clone();
    let mut check = batch.checks[0].clone();
    check.id = "ec2_ebs_volume_encryption".into();
    check.title = "EBS volumes are encrypted".into();
    check.requirements = [("soc2", "cc_6_1"), ("iso27001_2022", "A.8.24")]
        .into_iter()
        .map(|(f, r)| (f.to_string(), vec![r.to_string()]))
        .collect();
    let results: Vec<_> = batch
        .results
        .iter()
        .filter(|r| r.check_id == first)
        .cloned()
        .map(|mut r| {
            r.check_id = check.id.clone();
            r
        })
        .collect();
    batch.checks.push(check);
    batch.results.extend(results);
    let store = w.store.clone();
    w.acme.ingest(&store, batch).await;
}

const SCRIPT: &str = "<script>alert(1)</script>";

on_both_databases!(frameworks_and_assessments);

async fn frameworks_and_assessments(mut w: World) {
    load_requirements(&w, "soc2").await;
    scan_with_encryption(&mut w).await;
    let state = state(&w);
    let acme = w.acme.access.id();
    let admin = Browser::user(&w, state.clone(), "admin@example.com", None).await;
    let operator = Browser::user(
        &w,
        state.clone(),
        "operator@example.com",
        Some((acme, Role::Operator, None)),
    )
    .await;
    let viewer = Browser::on_acme(&w, state.clone(), Role::Viewer).await;
    let auditor = Browser::user(
        &w,
        state.clone(),
        "auditor@example.com",
        auditor_of(&w, &["soc2"]),
    )
    .await;

    // The listing: every framework for staff, the auditor's only for them.
    let r = admin.get("/t/acme/frameworks").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(r#"id="frameworks-table""#), "{}", r.body);
    assert!(r.body.contains(r#"href="/t/acme/frameworks/soc2""#));
    assert!(
        r.body
            .contains(r#"href="/t/acme/frameworks/iso27001_2022""#)
    );
    assert!(r.body.contains("<svg"));
    let r = auditor.get("/t/acme/frameworks").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(r#"href="/t/acme/frameworks/soc2""#));
    assert!(!r.body.contains("iso27001_2022"), "{}", r.body);
    for path in [
        "/t/acme/frameworks/iso27001_2022",
        "/t/acme/frameworks/iso27001_2022/requirements/A.5.1",
    ] {
        assert_eq!(
            auditor.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        admin.get("/t/acme/frameworks/hipaa").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .get("/t/acme/frameworks/soc2/requirements/CC99.9")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        viewer.get("/t/beta/frameworks").await.status,
        StatusCode::NOT_FOUND
    );

    // The tree: each node with its derived status and its controls.
    let detail = w
        .store
        .framework_detail(&w.acme.access, "soc2")
        .await
        .unwrap()
        .unwrap();
    let target = detail
        .requirements
        .iter()
        .find(|r| r.assessable && r.controls.iter().any(|c| !c.mappings.is_empty()))
        .expect("a requirement with a mapped control")
        .clone();
    let heading = detail
        .requirements
        .iter()
        .find(|r| !r.assessable)
        .unwrap()
        .clone();
    let mapped = target
        .controls
        .iter()
        .find(|c| !c.mappings.is_empty())
        .unwrap()
        .id;
    let mapped_checks = w
        .store
        .checks_of_controls(&w.acme.access, &[mapped])
        .await
        .unwrap();
    let check = &mapped_checks[&mapped][0].check_id;
    for b in [&admin, &auditor, &viewer] {
        let r = b.get("/t/acme/frameworks/soc2").await;
        assert!(
            r.body.contains(&format!(
                r#"<a href="/t/acme/findings?check={check}"><code>{check}</code></a>"#
            )),
            "the tree names the control's checks: {}",
            r.body
        );
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains(r#"id="requirement-tree""#), "{}", r.body);
        assert!(
            r.body.contains(r#"id="scan-coverage""#) && r.body.contains(r#"id="compliance-score""#)
        );
        let node = format!(
            r#"id="{}" data-status="{}""#,
            requirement_anchor(&target.ref_id),
            target.status
        );
        assert!(r.body.contains(&node), "{node}");
        assert!(
            r.body
                .contains(&format!(r#"href="/t/acme/controls/{mapped}""#))
        );
    }

    // One requirement: the viewer reads, the operator gets the form.
    let page = format!(
        "/t/acme/frameworks/soc2/requirements/{}",
        segment(&target.ref_id)
    );
    let r = viewer.get(&page).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(r#"id="requirement""#) && r.body.contains(r#"id="assessment""#));
    assert!(r.body.contains("/t/acme/findings?check="), "{}", r.body);
    assert!(!r.body.contains(r#"id="assessment-form""#));
    let r = auditor.get(&page).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains(r#"id="assessment-form""#));
    let r = operator.get(&page).await;
    assert!(r.body.contains(r#"id="assessment-form""#), "{}", r.body);
    assert!(r.body.contains(r#"name="version" value="""#));
    assert!(
        r.body
            .contains(&format!(r#"name="control_ids" value="{mapped}""#))
    );

    // Create (no version), with hostile text.
    let mapped_s = mapped.to_string();
    let answers = format!("Alerts reviewed?: yes\n{SCRIPT}: no");
    let form = |version: &'static str, result: &'static str| {
        vec![
            ("result", result),
            ("version", version),
            ("notes", "\"><img src=x onerror=alert(1)>"),
        ]
    };
    let mut create: Vec<(&str, &str)> = form("", "compliant");
    create.push(("answers", answers.as_str()));
    create.push(("control_ids", mapped_s.as_str()));
    let r = operator.post(&page, &create).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), page);
    let a = w
        .store
        .assessment(&w.acme.access, "soc2", &target.ref_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.version, a.score, a.answers.len()), (1, Some(0.5), 2));
    assert_eq!(
        a.controls.iter().map(|c| c.id).collect::<Vec<_>>(),
        [mapped]
    );
    let r = viewer.get(&page).await;
    assert!(
        r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        r.body
    );
    assert!(r.body.contains("&quot;&gt;&lt;img src=x"), "{}", r.body);
    assert!(
        r.body
            .contains(r#"by <span id="assessment-author">operator@example.com</span>"#),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains(SCRIPT) && !r.body.contains("<img src=x"),
        "{}",
        r.body
    );
    let r = operator.get(&page).await;
    assert!(r.body.contains(r#"name="version" value="1""#), "{}", r.body);
    assert!(!r.body.contains(SCRIPT));

    // Refusals change nothing: creating again (someone was first), a
    // stale version, other roles, a missing or wrong CSRF token, a heading.
    assert_eq!(
        operator
            .post(&page, &form("", "non_compliant"))
            .await
            .status,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        operator
            .post(&page, &form("7", "non_compliant"))
            .await
            .status,
        StatusCode::PRECONDITION_FAILED
    );
    let r = operator.post(&page, &form("7", "non_compliant")).await;
    assert!(r.body.contains("stale"), "{}", r.body);
    assert_eq!(
        viewer.post(&page, &form("1", "non_compliant")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        auditor
            .post(&page, &form("1", "non_compliant"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mut raw: Vec<(&str, &str)> = form("1", "non_compliant");
    assert_eq!(
        operator.post_raw(&page, &raw).await.status,
        StatusCode::FORBIDDEN
    );
    raw.push(("csrf", "forged"));
    assert_eq!(
        operator.post_raw(&page, &raw).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        operator.post(&page, &form("1", "splendid")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let heading_page = format!(
        "/t/acme/frameworks/soc2/requirements/{}",
        segment(&heading.ref_id)
    );
    let r = operator.get(&heading_page).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains(r#"id="assessment-form""#));
    assert_eq!(
        operator
            .post(&heading_page, &form("", "compliant"))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let same = w
        .store
        .assessment(&w.acme.access, "soc2", &target.ref_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(same, a);

    // Replace with the version read: links dropped, score from the result.
    let r = operator.post(&page, &form("1", "non_compliant")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let b = w
        .store
        .assessment(&w.acme.access, "soc2", &target.ref_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.version, b.score, b.controls.len()), (2, Some(0.0), 0));
    assert_eq!(
        operator.post(&page, &form("1", "compliant")).await.status,
        StatusCode::PRECONDITION_FAILED
    );

    // The store wrote one audit row per change, as the operator.
    let rows = w
        .store
        .audit_log(
            &AuditFilter {
                action: Some("assessment.update".into()),
                tenant_ids: Some(vec![acme]),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.actor_name.as_deref() == Some("operator@example.com"))
    );
    assert_eq!(
        rows[0].object_id.as_deref(),
        Some(format!("soc2:{}", target.ref_id).as_str())
    );

    // The framework's score moved; its scan coverage did not.
    let r = viewer.get("/t/acme/frameworks/soc2").await;
    assert!(r.body.contains("assessed: "), "{}", r.body);
}
