//! Console pages through the router (`oneshot`, no socket) on the store
//! fixture, signed in with real sessions. Page modules add their own tests
//! here or beside them with [`Browser`].

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use tower::ServiceExt;

use crate::audit::Context;
use crate::auth::{AuditorScope, Role, password, secret};
use crate::http::{AppState, AuthSettings};
use crate::store::fixture::{CATALOG, T0, World, on_both_databases};
use crate::store::{SessionPolicy, ThrottlePolicy};

/// The password of every fixture user made here.
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// The app state over the fixture's store.
pub(crate) fn state(w: &World) -> AppState {
    let dir = tempfile::tempdir().unwrap();
    crate::pki::create(dir.path(), &[]).unwrap();
    AppState {
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
    }
}

/// A signed-in user's view of the console.
pub(crate) struct Browser {
    app: axum::Router,
    cookie: Option<String>,
    /// The session's CSRF token.
    pub(crate) csrf: String,
}

/// A response, body as text.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    /// Where a redirect points.
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("")
    }
}

impl Browser {
    /// Not signed in.
    pub(crate) fn anonymous(state: AppState) -> Self {
        Self {
            app: crate::http::api_router(state),
            cookie: None,
            csrf: String::new(),
        }
    }

    /// A user with `role` on `tenant` (admin when `None`), signed in.
    pub(crate) async fn user(
        w: &World,
        state: AppState,
        email: &str,
        grant: Option<(i64, Role, Option<AuditorScope>)>,
    ) -> Self {
        let ctx = Context::system(T0);
        let s = &w.store;
        let hash = password::hash(PASSWORD).unwrap();
        let user = s
            .create_user(&ctx, email, &hash, grant.is_none())
            .await
            .unwrap();
        if let Some((tenant, role, scope)) = &grant {
            s.set_grant(&ctx, user.id, *tenant, *role, scope.as_ref())
                .await
                .unwrap();
        }
        let (session, digest) = secret::new_secret();
        let now = crate::store::now_ms();
        s.start_session(
            &Context::system(now),
            user.id,
            &secret::digest(email),
            &digest,
            state.auth.session,
        )
        .await
        .unwrap();
        Self {
            app: crate::http::api_router(state),
            csrf: secret::csrf_token(&session),
            cookie: Some(session),
        }
    }

    /// An operator or viewer of acme (`op@example.com`, `viewer@example.com`).
    pub(crate) async fn on_acme(w: &World, state: AppState, role: Role) -> Self {
        let email = match role {
            Role::Operator => "op@example.com",
            Role::Viewer => "viewer@example.com",
            Role::Auditor => "au@example.com",
            Role::Admin => "admin@example.com",
        };
        let grant = (role != Role::Admin).then(|| (w.acme.access.id(), role, None));
        Self::user(w, state, email, grant).await
    }

    async fn send(&self, req: axum::http::request::Builder, body: Body) -> Reply {
        let mut req = req;
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, format!("citadel_session={c}"));
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// GET `uri`.
    pub(crate) async fn get(&self, uri: &str) -> Reply {
        self.send(Request::get(uri), Body::empty()).await
    }

    /// POST a form to `uri`, with the session's CSRF token added.
    pub(crate) async fn post(&self, uri: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(uri, &all).await
    }

    /// POST a form to `uri` exactly as given.
    pub(crate) async fn post_raw(&self, uri: &str, fields: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.send(
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            Body::from(body),
        )
        .await
    }
}

on_both_databases!(overview_and_sign_in);

async fn overview_and_sign_in(w: World) {
    let state = state(&w);
    // Not signed in: every page sends you to sign in, and back.
    let anon = Browser::anonymous(state.clone());
    let r = anon.get("/t/acme").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?next=%2Ft%2Facme");
    let r = anon.get("/login?next=%2Ft%2Facme").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains(r#"name="next" value="/t/acme""#),
        "{}",
        r.body
    );
    assert_eq!(r.headers[header::CONTENT_SECURITY_POLICY], super::CSP);

    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let admin = Browser::user(&w, state.clone(), "admin@example.com", None).await;
    let r = admin.get("/t/acme").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"posture\""), "{}", r.body);
    assert!(r.body.contains("<svg"), "{}", r.body);
    // Failing results by severity, as the store counts them, each a link to
    // the filtered findings.
    let t = crate::auth::TenantAccess::system(w.acme.access.id(), "acme");
    let by_severity = w.store.failing_by_severity(&t).await.unwrap();
    assert!(!by_severity.is_empty());
    // As ingest kept them, equal to counting the results now.
    assert_eq!(
        by_severity,
        w.store.count_failing_by_severity(&t).await.unwrap()
    );
    for (severity, n) in &by_severity {
        let link = format!(
            "href=\"/t/acme/findings?status=fail&amp;severity={severity}\">{}</a>",
            super::layout::count(*n)
        );
        assert!(r.body.contains(&link), "{link} in {}", r.body);
    }
    assert_eq!(r.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(r.headers[header::REFERRER_POLICY], "same-origin");

    // A viewer of beta does not learn that acme exists.
    let viewer = Browser::user(
        &w,
        state.clone(),
        "viewer@example.com",
        Some((w.beta.access.id(), Role::Viewer, None)),
    )
    .await;
    let r = viewer.get("/t/acme").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("no such tenant"), "{}", r.body);
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    // Sign in with the form: a session cookie, and back where you were.
    let r = anon
        .post_raw(
            "/login",
            &[
                ("email", "viewer@example.com"),
                ("password", PASSWORD),
                ("next", "/t/beta"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/t/beta");
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("Secure")
            && cookie.contains("SameSite=Strict")
    );
    // A wrong password or a foreign `next` goes nowhere else.
    let r = anon
        .post_raw(
            "/login",
            &[
                ("email", "viewer@example.com"),
                ("password", "nope"),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?next=%2F&error=wrong");

    // Signing out needs the CSRF token, and ends the session.
    let r = viewer.post_raw("/logout", &[("csrf", "forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(viewer.get("/t/beta").await.status, StatusCode::OK);
    let r = viewer.post("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(viewer.get("/t/beta").await.status, StatusCode::SEE_OTHER);
}
