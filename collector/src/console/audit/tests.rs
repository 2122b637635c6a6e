//! The audit log page on both databases: administrators read every row,
//! operators their tenants' rows only, others nothing; filters and the
//! "older" pager; hostile values rendered inert.

use axum::http::StatusCode;

use crate::audit::Context;
use crate::auth::Role;
use crate::console::tests::{Browser, state};
use crate::store::fixture::{World, on_both_databases};

async fn audit_log(w: World) {
    let state = state(&w);
    let ctx = Context::system(crate::store::now_ms());
    // A hostile e-mail address, and a tenant-less row about it.
    w.store
        .create_user(
            &ctx,
            "\"><img src=x onerror=alert(1)>@x.example",
            "-",
            false,
        )
        .await
        .unwrap();
    let admin = Browser::user(&w, state.clone(), "admin@example.com", None).await;
    let operator = Browser::on_acme(&w, state.clone(), Role::Operator).await;
    let viewer = Browser::on_acme(&w, state.clone(), Role::Viewer).await;

    let r = admin.get("/audit").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("id=\"audit-filters\"") && r.body.contains("id=\"audit-table\""),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("user.create") && r.body.contains("agent.enroll"),
        "{}",
        r.body
    );
    assert!(r.body.contains("&quot;&gt;&lt;img src=x"), "{}", r.body);
    assert!(!r.body.contains("<img src=x"), "{}", r.body);
    assert!(
        r.body.contains("<details>") && r.body.contains("class=\"raw\""),
        "{}",
        r.body
    );

    // Operators: their tenants' rows, never user administration.
    let r = operator.get("/audit").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("agent.enroll"), "{}", r.body);
    assert!(!r.body.contains("<code>user.create</code>"), "{}", r.body);
    assert_eq!(
        operator.get("/audit?tenant=acme").await.status,
        StatusCode::OK
    );
    assert_eq!(
        operator.get("/audit?tenant=beta").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(viewer.get("/audit").await.status, StatusCode::FORBIDDEN);

    // Filters as in the API.
    let r = admin.get("/audit?action=user.create&actor=&object_type=user&object_id=&tenant=&from=2020-01-01&to=2999-01-01").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("<code>agent.enroll</code>"), "{}", r.body);
    assert!(
        r.body.contains("<option value=\"user.create\" selected>"),
        "{}",
        r.body
    );
    for bad in ["action=nope", "from=someday", "before=x", "tenant=nowhere"] {
        let r = admin.get(&format!("/audit?{bad}")).await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.status);
    }
    let r = admin.get("/audit?action=agent.enroll&to=2000-01-01").await;
    assert!(r.body.contains("class=\"empty\""), "{}", r.body);

    // Pages: "older" names the last row shown.
    for n in 0..55 {
        w.store
            .create_user(&ctx, &format!("u{n}@example.com"), "-", false)
            .await
            .unwrap();
    }
    let r = admin.get("/audit?action=user.create").await;
    let at = r.body.find("id=\"older-page\"").expect("an older page");
    let href = &r.body[at..];
    let href = href[href.find("href=\"").unwrap() + 6..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(
        href.starts_with("/audit?action=user.create&before="),
        "{href}"
    );
    let r = admin.get(&href).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("id=\"older-page\""), "{}", r.body);
    assert!(
        r.body.contains("admin@example.com") || r.body.contains("u0@example.com"),
        "{}",
        r.body
    );
}

on_both_databases!(audit_log);
