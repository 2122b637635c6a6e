//! The administration pages on both databases: users (created with a
//! password shown once that signs in), disabling, grants, API tokens shown
//! once; refusals for other roles and without CSRF; hostile e-mail
//! addresses rendered inert.

use axum::http::StatusCode;

use crate::audit::Context;
use crate::auth::{AuditorScope, Role};
use crate::console::tests::{Browser, state};
use crate::store::fixture::{World, on_both_databases};

fn between<'a>(body: &'a str, start: &str) -> &'a str {
    let at = body
        .find(start)
        .unwrap_or_else(|| panic!("{start}: {body}"))
        + start.len();
    body[at..].split('<').next().unwrap()
}

async fn admin_pages(w: World) {
    let state = state(&w);
    let now = crate::store::now_ms();
    let acme = w.acme.access.id();
    let ctx = Context::system(now);
    let hostile = w
        .store
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

    let r = admin.get("/admin/users").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("id=\"users-table\"") && r.body.contains("id=\"new-user\""),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("acme: operator"),
        "grants summary: {}",
        r.body
    );
    assert!(
        r.body
            .contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;@x.example"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("<img src=x"), "{}", r.body);
    for b in [&operator, &auditor] {
        assert_eq!(b.get("/admin/users").await.status, StatusCode::FORBIDDEN);
        assert_eq!(
            b.get(&format!("/admin/users/{}", hostile.id)).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            b.post("/admin/users", &[("email", "x@example.com")])
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }

    // A new user: the password once, and it signs in.
    assert_eq!(
        admin
            .post_raw("/admin/users", &[("email", "new@example.com")])
            .await
            .status,
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    let r = admin
        .post("/admin/users", &[("email", " New@Example.com ")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let password = between(&r.body, "id=\"new-user-password\">").to_string();
    assert_eq!(password.len(), 20, "{password}");
    let anon = Browser::anonymous(state.clone());
    let r = anon
        .post_raw(
            "/login",
            &[
                ("email", "new@example.com"),
                ("password", &password),
                ("next", "/admin/tokens"),
            ],
        )
        .await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, "/admin/tokens")
    );
    assert!(!admin.get("/admin/users").await.body.contains(&password));
    assert_eq!(
        admin
            .post("/admin/users", &[("email", "new@example.com")])
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        admin
            .post("/admin/users", &[("email", "not-an-address")])
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let new_id = w
        .store
        .user_by_email("new@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;

    // Disable and enable.
    let r = admin
        .post(&format!("/admin/users/{new_id}/disable"), &[])
        .await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, "/admin/users?notice=user-disabled")
    );
    assert!(
        w.store
            .user(new_id)
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_some()
    );
    let r = admin
        .post(&format!("/admin/users/{new_id}/enable"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        w.store
            .user(new_id)
            .await
            .unwrap()
            .unwrap()
            .disabled_at
            .is_none()
    );
    assert_eq!(
        operator
            .post(&format!("/admin/users/{new_id}/disable"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Grants.
    let page = format!("/admin/users/{new_id}");
    let r = admin.get(&page).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("id=\"grant-form\"") && r.body.contains("No grants"),
        "{}",
        r.body
    );
    let grants = format!("{page}/grants");
    let blank = [
        ("frameworks", ""),
        ("from", ""),
        ("to", ""),
        ("expires_at", ""),
    ];
    let mut operator_grant = vec![("tenant", "acme"), ("role", "operator")];
    operator_grant.extend_from_slice(&blank);
    let r = admin.post(&grants, &operator_grant).await;
    assert_eq!(
        (r.status, r.location()),
        (
            StatusCode::SEE_OTHER,
            format!("{page}?notice=grant-set").as_str()
        )
    );
    let r = admin.get(&page).await;
    assert!(
        r.body.contains("id=\"grants-table\"") && r.body.contains("<td>operator</td>"),
        "{}",
        r.body
    );
    let r = admin
        .post(
            &grants,
            &[
                ("tenant", "beta"),
                ("role", "auditor"),
                ("frameworks", "soc2"),
            ],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "auditors need a window"
    );
    let r = admin
        .post(
            &grants,
            &[
                ("tenant", "beta"),
                ("role", "auditor"),
                ("frameworks", "soc2, iso27001_2022"),
                ("from", "2026-01-01"),
                ("to", "2026-06-30"),
                ("expires_at", "2099-01-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let g = w.store.grants_of(new_id).await.unwrap();
    let a = g
        .iter()
        .find(|g| g.tenant == "beta")
        .unwrap()
        .auditor
        .clone()
        .unwrap();
    assert_eq!(a.frameworks, vec!["soc2", "iso27001_2022"]);
    assert_eq!(crate::console::layout::date(a.to), "2026-06-30");
    let r = admin
        .post(
            &grants,
            &[
                ("tenant", "acme"),
                ("role", "viewer"),
                ("frameworks", "soc2"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        admin
            .post(&grants, &[("tenant", "nowhere"), ("role", "viewer")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .post(&grants, &[("tenant", "acme"), ("role", "admin")])
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = admin.post(&format!("{page}/grants/beta/remove"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(w.store.grants_of(new_id).await.unwrap().len(), 1);
    assert_eq!(
        operator
            .post(&format!("{page}/grants/acme/remove"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // API tokens: anyone but auditors; the secret once.
    assert_eq!(
        auditor.get("/admin/tokens").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        auditor
            .post("/admin/tokens", &[("name", "x"), ("role", "viewer")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = operator.get("/admin/tokens").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("id=\"new-api-token\"") && r.body.contains("No API tokens"),
        "{}",
        r.body
    );
    let r = operator
        .post(
            "/admin/tokens",
            &[
                ("name", "<script>alert(1)</script>"),
                ("role", "viewer"),
                ("tenants", "acme"),
                ("ttl_days", "7"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let secret = between(&r.body, "id=\"new-api-token-secret\">").to_string();
    assert!(!secret.is_empty());
    let r = operator.get("/admin/tokens").await;
    assert!(!r.body.contains(&secret), "never shown again");
    assert!(
        r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            && !r.body.contains("<script>alert"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("<td class=\"wrap\">acme</td>"),
        "{}",
        r.body
    );
    for bad in [
        vec![("name", "x"), ("role", "admin")],
        vec![("name", "x"), ("role", "operator"), ("tenants", "beta")],
    ] {
        let r = operator.post("/admin/tokens", &bad).await;
        assert!(r.status.is_client_error(), "{bad:?}: {}", r.status);
    }
    assert_eq!(
        operator
            .post(
                "/admin/tokens",
                &[("name", "x"), ("role", "viewer"), ("ttl_days", "999")]
            )
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let token = w.store.api_tokens(None).await.unwrap()[0].id;
    let revoke = format!("/admin/tokens/{token}/revoke");
    assert!(
        r.body.contains(&format!("action=\"{revoke}\"")),
        "{}",
        r.body
    );
    assert_eq!(
        operator.post_raw(&revoke, &[]).await.status,
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    let r = operator.post(&revoke, &[]).await;
    assert_eq!(
        (r.status, r.location()),
        (
            StatusCode::SEE_OTHER,
            "/admin/tokens?notice=api-token-revoked"
        )
    );
    assert!(
        w.store.api_tokens(None).await.unwrap()[0]
            .revoked_at
            .is_some()
    );
    // Admins see everyone's.
    let r = admin.get("/admin/tokens").await;
    assert!(r.body.contains("op@example.com"), "{}", r.body);
}

on_both_databases!(admin_pages);
