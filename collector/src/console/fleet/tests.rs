//! The fleet pages through the router, on both databases: who sees them,
//! revoking an agent after confirming, enrollment tokens shown once, and
//! hostile agent names rendered inert.

use axum::http::StatusCode;

use crate::auth::{AuditorScope, Role};
use crate::console::tests::{Browser, state};
use crate::store::fixture::{World, on_both_databases};

const HOSTILE: &str = "<script>alert(1)</script>";

async fn fleet_pages(w: World) {
    let state = state(&w);
    let now = crate::store::now_ms();
    let acme = w.acme.access.id();
    // An agent enrolled under a hostile name.
    w.store
        .insert_token(acme, "hostile-token", i64::MAX, 1)
        .await
        .unwrap();
    w.store
        .enroll_agent("hostile-token", "agt-hostile", HOSTILE, || {
            Ok::<_, std::convert::Infallible>(("-".to_string(), vec![1u8; 32]))
        })
        .await
        .unwrap()
        .map_err(|_| "enrollment")
        .unwrap();
    let operator = Browser::on_acme(&w, state.clone(), Role::Operator).await;
    let viewer = Browser::on_acme(&w, state.clone(), Role::Viewer).await;
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
    let admin = Browser::user(&w, state.clone(), "admin@example.com", None).await;

    let r = operator.get("/t/acme/fleet").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for id in [
        "agents-table",
        "agent-agt-hostile",
        "tokens-table",
        "new-enrollment-token",
        "integrations-table",
    ] {
        assert!(r.body.contains(&format!("id=\"{id}\"")), "{id}: {}", r.body);
    }
    let agent = &w.acme.peer.agent_id;
    assert!(
        r.body.contains(&format!("id=\"agent-{agent}\"")),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(&format!("href=\"/t/acme/agents/{agent}/revoke\"")),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(HOSTILE), "{}", r.body);
    // Admins see it too; viewers and auditors do not.
    assert_eq!(admin.get("/t/acme/fleet").await.status, StatusCode::OK);
    for b in [&viewer, &auditor] {
        assert_eq!(b.get("/t/acme/fleet").await.status, StatusCode::FORBIDDEN);
        assert_eq!(
            b.get(&format!("/t/acme/agents/{agent}/revoke"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        operator.get("/t/beta/fleet").await.status,
        StatusCode::NOT_FOUND
    );

    // Revoking: a confirmation page, then the POST (operators only).
    let revoke = format!("/t/acme/agents/{agent}/revoke");
    let r = operator.get(&revoke).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("id=\"revoke-confirm\"") && r.body.contains("id=\"revoke-form\""),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("href=\"/t/acme/fleet\""),
        "a way back: {}",
        r.body
    );
    assert_eq!(
        operator
            .get("/t/acme/agents/agt-nobody/revoke")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        auditor.post(&revoke, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        viewer.post(&revoke, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        operator.post_raw(&revoke, &[]).await.status,
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    let r = operator.post(&revoke, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/t/acme/fleet?notice=agent-revoked");
    let r = operator.get(r.location()).await;
    assert!(r.body.contains("id=\"notice\""), "{}", r.body);
    assert!(
        !r.body.contains(&format!("href=\"{revoke}\"")),
        "no second revoke: {}",
        r.body
    );
    assert_eq!(
        operator.post(&revoke, &[]).await.status,
        StatusCode::CONFLICT
    );

    // A new enrollment token: the secret once, with the enroll command.
    let r = operator
        .post("/t/acme/enrollment-tokens", &[("ttl_hours", "48")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "no-store");
    let at = r.body.find("id=\"new-token-secret\">").expect("the secret") + 22;
    let secret = r.body[at..].split('<').next().unwrap().to_string();
    assert!(secret.starts_with("ctk1_"), "{secret}");
    assert!(
        r.body.contains(&format!(
            "citadel-agent enroll --collector https://collector.invalid:8444 --token {secret}"
        )),
        "{}",
        r.body
    );
    let r = operator.get("/t/acme/fleet").await;
    assert!(!r.body.contains(&secret), "never shown again");
    for bad in ["0", "721", "soon"] {
        let r = operator
            .post("/t/acme/enrollment-tokens", &[("ttl_hours", bad)])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(
        auditor
            .post("/t/acme/enrollment-tokens", &[("ttl_hours", "1")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let newest = w.store.enrollment_tokens(&w.acme.access).await.unwrap()[0].id;
    let revoke_token = format!("/t/acme/enrollment-tokens/{newest}/revoke");
    assert!(
        r.body.contains(&format!("action=\"{revoke_token}\"")),
        "{}",
        r.body
    );
    assert_eq!(
        viewer.post(&revoke_token, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let r = operator.post(&revoke_token, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/t/acme/fleet?notice=token-revoked");
    assert!(
        w.store.enrollment_tokens(&w.acme.access).await.unwrap()[0]
            .revoked_at
            .is_some()
    );
}

on_both_databases!(fleet_pages);
