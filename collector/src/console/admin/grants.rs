//! One user and their grants (administrators): the grant form (auditors
//! with frameworks, a window and an expiry) checked by the API's
//! `grant_scope`, and removing a grant.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::{Confirm, NoticeParams};
use crate::api::admin::{GrantRequest, grant_scope};
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::auth::Role;
use crate::console::audit::fields::{day, day_end, notice, opt};
use crate::console::layout::{self, Page, Section, csrf_field, date, role_label, segment, when};
use crate::console::{Console, ConsoleForm};
use crate::http::AppState;
use crate::store::GrantRow;

/// `GET /admin/users/{id}`.
pub(super) async fn user(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<i64>,
    Query(q): Query<NoticeParams>,
) -> Page {
    c.auth.principal.require_admin()?;
    let u = state
        .store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let grants = state.store.grants_of(id).await?;
    let tenants = state.store.tenants().await?;
    let now = c.auth.now;
    let body = html! {
        (notice(q.notice.as_deref()))
        p { a href="/admin/users" { "← Users" } }
        section {
            h2 { "Account" }
            dl.facts #user {
                dt { "E-mail" } dd { (u.email) }
                dt { "Administrator" } dd { @if u.admin { "yes" } @else { "no" } }
                dt { "Created" } dd { (when(Some(u.created_at), now)) }
                dt { "State" } dd { @match u.disabled_at { Some(at) => { "disabled " (when(Some(at), now)) }, None => "active" } }
                dt { "Last sign-in" } dd { (when(u.last_login_at, now)) }
            }
        }
        section {
            h2 { "Grants" }
            (grant_table(&c, id, &grants))
        }
        section {
            h2 { "Grant access" }
            p.muted { "A grant replaces the user's earlier grant on that tenant. Auditors need frameworks, an observation window and an expiry; the other roles none of them." }
            form.stack #grant-form method="post" action={ "/admin/users/" (id) "/grants" } {
                (csrf_field(&c))
                label for="grant-tenant" { "Tenant" }
                select #grant-tenant name="tenant" required {
                    @for t in &tenants { option value=(t.name) { (t.name) } }
                }
                label for="grant-role" { "Role" }
                select #grant-role name="role" required {
                    @for r in [Role::Operator, Role::Auditor, Role::Viewer] {
                        option value=(r.as_str()) { (role_label(r)) }
                    }
                }
                label for="grant-frameworks" { "Auditors: frameworks (comma-separated ids, e.g. soc2, iso27001_2022)" }
                input #grant-frameworks type="text" name="frameworks" maxlength="1000";
                label for="grant-from" { "Auditors: window from" }
                input #grant-from type="date" name="from";
                label for="grant-to" { "Auditors: window to (inclusive)" }
                input #grant-to type="date" name="to";
                label for="grant-expires" { "Auditors: access ends (end of that day, UTC)" }
                input #grant-expires type="date" name="expires_at";
                div.actions { button type="submit" { "Save the grant" } }
            }
        }
    };
    let title = format!("User {}", u.email);
    layout::page(&state, &c, None, Section::Admin, &title, body).await
}

fn grant_table(c: &Console, user_id: i64, grants: &[GrantRow]) -> Markup {
    if grants.is_empty() {
        return layout::empty("No grants: the user reaches no tenant (unless an administrator).");
    }
    html! {
        table.data #grants-table {
            thead { tr {
                th scope="col" { "Tenant" }
                th scope="col" { "Role" }
                th scope="col" { "Frameworks" }
                th scope="col" { "Window" }
                th scope="col" { "Expires" }
                th scope="col" { "Granted" }
                th scope="col" { span.muted { "Actions" } }
            } }
            tbody {
                @for g in grants {
                    tr {
                        td { (g.tenant) }
                        td { (role_label(g.role)) }
                        @match &g.auditor {
                            Some(a) => {
                                td.wrap { (a.frameworks.join(", ")) }
                                td { (date(a.from)) " – " (date(a.to)) }
                                td { (layout::date_time(a.expires_at)) }
                            }
                            None => { td { "–" } td { "–" } td { "–" } }
                        }
                        td { (when(Some(g.created_at), c.auth.now)) }
                        td {
                            form.inline method="post" action={ "/admin/users/" (user_id) "/grants/" (segment(&g.tenant)) "/remove" } {
                                (csrf_field(c)) button.danger type="submit" { "Remove" }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantForm {
    tenant: String,
    role: String,
    frameworks: Option<String>,
    from: Option<String>,
    to: Option<String>,
    expires_at: Option<String>,
}

/// The form as the API's grant request (blank fields absent).
fn request(f: GrantForm) -> Result<GrantRequest, ApiError> {
    let role = Role::parse(f.role.trim()).ok_or_else(|| ApiError::invalid("unknown role"))?;
    let frameworks = opt(f.frameworks).map(|list| {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    Ok(GrantRequest {
        role,
        frameworks,
        from: day("from", f.from)?,
        to: day_end("to", f.to)?,
        expires_at: day_end("expires_at", f.expires_at)?,
    })
}

/// `POST /admin/users/{id}/grants`.
pub(super) async fn set(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: ConsoleForm<GrantForm>,
) -> Result<Response, ApiError> {
    let ConsoleForm { console: c, form } = form;
    c.auth.principal.require_admin()?;
    let tenant_id = state
        .store
        .tenant_id(form.tenant.trim())
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    let req = request(form)?;
    let scope = grant_scope(&req)?;
    state
        .store
        .set_grant(&c.auth.context(), id, tenant_id, req.role, scope.as_ref())
        .await?;
    Ok(crate::console::back(&format!(
        "/admin/users/{id}?notice=grant-set"
    )))
}

/// `POST /admin/users/{id}/grants/{tenant}/remove`.
pub(super) async fn remove(
    State(state): State<AppState>,
    Path((id, tenant)): Path<(i64, String)>,
    form: ConsoleForm<Confirm>,
) -> Result<Response, ApiError> {
    let c = form.console;
    c.auth.principal.require_admin()?;
    let tenant_id = state
        .store
        .tenant_id(&tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    state
        .store
        .remove_grant(&c.auth.context(), id, tenant_id)
        .await?;
    Ok(crate::console::back(&format!(
        "/admin/users/{id}?notice=grant-removed"
    )))
}
