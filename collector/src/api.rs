//! The REST API (`/api/v1`), served on the server-authenticated TLS listener
//! beside enrollment. Handlers are thin: extract (our extractors, which
//! reject as problem+json) → authorize (the guard: [`tenant`] for tenant
//! routes, `require_admin` for administration) → one store call → JSON.
//!
//! Conventions: JSON bodies; keyset pagination (`limit`, `cursor` →
//! `next_cursor`); filters as query parameters; errors as RFC 9457
//! problem+json with a stable `code`; `x-request-id` on every response;
//! edits of hand-maintained objects take `If-Match` with the object's ETag
//! (412 when it changed); the OpenAPI 3.1 document is generated from the
//! handlers at `/api/v1/openapi.json`.

pub mod admin;
pub mod assets;
pub mod audit_log;
pub mod checks;
pub mod controls;
pub mod edit;
pub mod error;
pub mod evidence;
pub mod extract;
pub mod filter;
pub mod findings;
pub mod fleet;
pub mod frameworks;
pub mod mappings;
pub mod page;
pub mod policies;
pub mod problems;
pub mod scans;
pub mod scf;
pub mod session;
pub mod tokens;

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use self::error::{ApiError, REQUEST_ID};
use self::extract::Auth;
use self::problems::ServerErrors;
use crate::auth::{Need, TenantAccess};
use crate::http::AppState;

/// The caller's access to tenant `name` for `need` (404 when the caller has
/// no grant on it, 403 when the role does not allow `need`).
pub async fn tenant(
    state: &AppState,
    auth: &Auth,
    name: &str,
    need: Need,
) -> Result<TenantAccess, ApiError> {
    let id = if auth.principal.admin {
        state.store.tenant_id(name).await?
    } else {
        None
    };
    Ok(auth.principal.tenant(name, need, |_| id)?)
}

/// The API's routes (mounted under the API listener's router).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/auth/login", post(session::login))
        .route("/api/v1/auth/logout", post(session::logout))
        .route("/api/v1/me", get(session::me))
        .route(
            "/api/v1/tenants",
            get(admin::list_tenants).post(admin::create_tenant),
        )
        .route(
            "/api/v1/users",
            get(admin::list_users).post(admin::create_user),
        )
        .route(
            "/api/v1/users/{id}",
            get(admin::get_user).patch(admin::patch_user),
        )
        .route(
            "/api/v1/users/{id}/grants/{tenant}",
            put(admin::put_grant).delete(admin::delete_grant),
        )
        .route(
            "/api/v1/tokens",
            get(tokens::list_tokens).post(tokens::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(tokens::revoke_token))
        .route("/api/v1/tenants/{tenant}/agents", get(fleet::list_agents))
        .route(
            "/api/v1/tenants/{tenant}/agents/{agent}/revoke",
            post(fleet::revoke_agent),
        )
        .route(
            "/api/v1/tenants/{tenant}/enrollment-tokens",
            get(fleet::list_enrollment_tokens).post(fleet::create_enrollment_token),
        )
        .route(
            "/api/v1/tenants/{tenant}/enrollment-tokens/{id}",
            delete(fleet::revoke_enrollment_token),
        )
        .route(
            "/api/v1/tenants/{tenant}/integrations",
            get(fleet::list_integrations),
        )
        .route("/api/v1/audit-log", get(audit_log::list))
        .route(
            "/api/v1/tenants/{tenant}/controls",
            get(controls::list_controls),
        )
        .route(
            "/api/v1/tenants/{tenant}/controls/{id}",
            get(controls::get_control).patch(controls::patch_control),
        )
        .route(
            "/api/v1/tenants/{tenant}/controls/{id}/evidence/approve",
            post(evidence::approve_control_evidence),
        )
        .route(
            "/api/v1/tenants/{tenant}/policies",
            get(policies::list_policies),
        )
        .route(
            "/api/v1/tenants/{tenant}/policies/{id}",
            get(policies::get_policy).patch(policies::patch_policy),
        )
        .route(
            "/api/v1/tenants/{tenant}/frameworks",
            get(frameworks::list_frameworks),
        )
        .route(
            "/api/v1/tenants/{tenant}/frameworks/{framework}",
            get(frameworks::get_framework),
        )
        .route(
            "/api/v1/tenants/{tenant}/frameworks/{framework}/requirements/{ref}/assessment",
            get(frameworks::get_assessment).put(frameworks::put_assessment),
        )
        .route(
            "/api/v1/tenants/{tenant}/mappings",
            get(mappings::list_mappings)
                .post(mappings::add_mapping)
                .delete(mappings::remove_mapping),
        )
        .route(
            "/api/v1/tenants/{tenant}/evidence",
            get(evidence::list_evidence),
        )
        .route(
            "/api/v1/tenants/{tenant}/evidence/{id}",
            get(evidence::get_evidence),
        )
        .route(
            "/api/v1/tenants/{tenant}/evidence/{id}/revisions/{version}",
            get(evidence::get_revision),
        )
        .route(
            "/api/v1/tenants/{tenant}/evidence/{id}/review",
            post(evidence::review_evidence),
        )
        .route("/api/v1/tenants/{tenant}/assets", get(assets::list_assets))
        .route(
            "/api/v1/tenants/{tenant}/assets/{id}",
            get(assets::get_asset),
        )
        .route("/api/v1/tenants/{tenant}/checks", get(checks::list_checks))
        .route(
            "/api/v1/tenants/{tenant}/results",
            get(findings::list_results),
        )
        .route(
            "/api/v1/tenants/{tenant}/results/{id}",
            get(findings::get_result),
        )
        .route("/api/v1/tenants/{tenant}/batches", get(scans::list_batches))
        .route(
            "/api/v1/tenants/{tenant}/batches/{id}",
            get(scans::get_batch),
        )
        .route(
            "/api/v1/tenants/{tenant}/batches/{id}/raw",
            get(scans::get_batch_raw),
        )
        .route("/api/v1/tenants/{tenant}/scans", get(scans::list_scans))
        .route(
            "/api/v1/tenants/{tenant}/scans/{scan_id}",
            get(scans::get_scan),
        )
        .route("/api/v1/scf-controls", get(scf::list_scf_controls))
        .route("/api/v1/catalog/imports", get(scf::list_catalog_imports))
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(read_body))
        .layer(middleware::from_fn(security_headers))
}

/// Read the whole request body before the handler runs. A handler that
/// answers without reading it (a 401 before the JSON, a 405, a GET sent a
/// body) leaves it in the socket if it had not arrived yet, and hyper then
/// closes the connection after the response without `Connection: close`:
/// the client's next request on it fails (schemathesis found this).
async fn read_body(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, crate::http::MAX_API_BYTES).await {
        Ok(bytes) => next.run(Request::from_parts(parts, bytes.into())).await,
        Err(_) => {
            let mut res = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "request bodies are at most {} KiB",
                    crate::http::MAX_API_BYTES >> 10
                ),
            )
            .into_response();
            // The rest of the body is still unread: say that the
            // connection ends here.
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            res
        }
    }
}

/// 404 for any path that is no route.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API route")
}

/// 405, with the `Allow` header RFC 9110 requires (axum leaves it out when
/// the fallback is ours): the methods the OpenAPI document has for the
/// path, which `tests::every_route_is_documented` keeps equal to the routes.
async fn method_not_allowed(path: Option<MatchedPath>) -> Response {
    static ALLOW: LazyLock<HashMap<String, HeaderValue>> = LazyLock::new(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .into_iter()
            .filter_map(|(path, item)| {
                let methods: Vec<&str> = [
                    ("GET, HEAD", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, served)| served.then_some(m))
                .collect();
                Some((path, HeaderValue::from_str(&methods.join(", ")).ok()?))
            })
            .collect()
    });
    let mut res = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
    .into_response();
    if let Some(allow) = path.and_then(|p| ALLOW.get(p.as_str())) {
        res.headers_mut().insert(header::ALLOW, allow.clone());
    }
    res
}

/// API responses are never cached and never sniffed or framed.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=63072000"),
    );
    res
}

/// Give every request an id (random, 16 hex characters), visible to the
/// handlers and errors (task-local) and returned as `x-request-id`.
pub async fn request_id(req: Request, next: Next) -> Response {
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let id = hex::encode(bytes);
    let mut res = REQUEST_ID.scope(id.clone(), next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI document", content_type = "application/json")))]
pub async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("API token (cat1_…)"))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                extract::SESSION_COOKIE,
                "Session cookie from POST /api/v1/auth/login; state changes also need x-csrf-token",
            ))),
        );
    }
}

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Citadel collector API", description = "Posture, findings, evidence and administration of a Citadel collector."),
    paths(
        openapi,
        session::login, session::logout, session::me,
        admin::list_tenants, admin::create_tenant, admin::list_users, admin::create_user,
        admin::get_user, admin::patch_user, admin::put_grant, admin::delete_grant,
        tokens::list_tokens, tokens::create_token, tokens::revoke_token,
        fleet::list_agents, fleet::revoke_agent, fleet::list_enrollment_tokens,
        fleet::create_enrollment_token, fleet::revoke_enrollment_token, fleet::list_integrations,
        audit_log::list,
        controls::list_controls, controls::get_control, controls::patch_control,
        policies::list_policies, policies::get_policy, policies::patch_policy,
        frameworks::list_frameworks, frameworks::get_framework,
        frameworks::get_assessment, frameworks::put_assessment,
        mappings::list_mappings, mappings::add_mapping, mappings::remove_mapping,
        evidence::list_evidence, evidence::get_evidence, evidence::get_revision,
        evidence::review_evidence, evidence::approve_control_evidence,
        assets::list_assets, assets::get_asset, checks::list_checks,
        findings::list_results, findings::get_result,
        scans::list_batches, scans::get_batch, scans::get_batch_raw, scans::list_scans,
        scans::get_scan, scf::list_scf_controls, scf::list_catalog_imports,
    ),
    // Enums that appear only in query parameters are referenced but not
    // collected by utoipa on their own.
    components(schemas(
        error::Problem,
        crate::store::controls::Posture,
        crate::store::controls::WorkStatus,
        crate::store::review::ReviewStatus,
    )),
    modifiers(&Security, &ServerErrors),
    tags(
        (name = "auth", description = "Sign-in and the caller"),
        (name = "admin", description = "Tenants, users, grants"),
        (name = "tokens", description = "API tokens"),
        (name = "fleet", description = "Agents, enrollment tokens, integrations"),
        (name = "audit", description = "The audit trail"),
        (name = "controls", description = "Applied controls: posture, links, hand-edited status"),
        (name = "policies", description = "Policies and their workflow"),
        (name = "frameworks", description = "Frameworks: scan posture, coverage, requirement assessments and the compliance score"),
        (name = "mappings", description = "Control → requirement mappings, automatic and manual"),
        (name = "evidence", description = "Evidence review: the auditor's queue, signed revisions, decisions"),
        (name = "inventory", description = "Assets and the checks agents declared"),
        (name = "findings", description = "Check results and their history"),
        (name = "scans", description = "Stored batches (signed bytes included) and scans"),
        (name = "catalog", description = "The SCF control catalog"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

#[cfg(test)]
mod compliance_tests;
#[cfg(test)]
mod read_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route registered in [`router`] is in the OpenAPI document with
    /// the same methods, and the reverse (kanidm's check, on our source).
    #[test]
    fn every_route_is_documented() {
        let source = include_str!("api.rs");
        let body = source
            .split("pub fn router()")
            .nth(1)
            .and_then(|s| s.split("\n}\n").next())
            .expect("router body");
        let mut routes = std::collections::BTreeSet::new();
        for chunk in body.split(".route(").skip(1) {
            let path = chunk.split('"').nth(1).expect("route path").to_string();
            if path.contains('*') {
                continue;
            }
            for method in ["get", "post", "put", "patch", "delete"] {
                if chunk.contains(&format!("{method}(")) {
                    routes.insert((method.to_string(), path.clone()));
                }
            }
        }
        let doc = ApiDoc::openapi();
        let mut documented = std::collections::BTreeSet::new();
        let json = serde_json::to_value(&doc.paths).unwrap();
        for (path, item) in json.as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.clone(), path.clone()));
            }
        }
        assert_eq!(routes, documented, "routes (left) vs OpenAPI (right)");
        assert!(routes.len() > 20);
    }

    /// Every error response is documented as problem+json, and every
    /// operation documents what its extractors reject with (see
    /// [`problems`]): schemathesis checks the same against a running
    /// collector, this catches it at `cargo test`.
    #[test]
    fn every_operation_documents_its_problems() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let name = format!("{method} {path}");
                let responses = op["responses"].as_object().unwrap();
                for (status, r) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                    let content = r["content"].as_object();
                    let types: Vec<&str> = content
                        .map(|c| c.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    assert_eq!(types, [problems::PROBLEM_JSON], "{name} {status}");
                    assert_eq!(
                        r["content"][problems::PROBLEM_JSON]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{name} {status}"
                    );
                }
                let mut needs = vec!["5XX"];
                if op.get("security").is_some() {
                    needs.push("401");
                    if method != "get" {
                        needs.push("403");
                    }
                }
                if op.get("parameters").is_some() {
                    needs.push("400");
                }
                if op.get("requestBody").is_some() {
                    needs.extend(["400", "413", "415", "422"]);
                }
                for status in needs {
                    assert!(
                        responses.contains_key(status),
                        "{name} does not document {status}"
                    );
                }
            }
        }
    }
}
