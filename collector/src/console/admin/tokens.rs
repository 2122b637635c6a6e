//! API tokens (every signed-in user but auditors): one's own tokens
//! (administrators: everyone's), a form that mints one through the API's
//! `tokens::mint` (so a token never exceeds its maker) and shows its secret
//! once, and revoking.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::{Confirm, NoticeParams};
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::tokens::{NewToken, mint, refuse_auditors};
use crate::auth::Role;
use crate::console::audit::fields::{int, notice, opt};
use crate::console::layout::{self, Page, Section, csrf_field, role_label, when};
use crate::console::{Console, ConsoleForm};
use crate::http::AppState;
use crate::store::ApiTokenRow;

/// `GET /admin/tokens`.
pub(super) async fn list(
    State(state): State<AppState>,
    c: Console,
    Query(q): Query<NoticeParams>,
) -> Page {
    let p = &c.auth.principal;
    refuse_auditors(p)?;
    let owner = (!p.admin).then_some(p.user_id);
    let tokens = state.store.api_tokens(owner).await?;
    let tenants: HashMap<i64, String> = state
        .store
        .tenants()
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let owners: HashMap<i64, String> = if p.admin {
        state
            .store
            .users()
            .await?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect()
    } else {
        HashMap::from([(p.user_id, p.email.clone())])
    };
    let roles: &[Role] = if p.admin {
        &[Role::Viewer, Role::Operator, Role::Admin]
    } else {
        &[Role::Viewer, Role::Operator]
    };
    let body = html! {
        (notice(q.notice.as_deref()))
        @if p.admin { p { a href="/admin/users" { "Users" } } }
        section {
            h2 { @if p.admin { "Every API token" } @else { "Your API tokens" } }
            (table(&c, &tokens, &tenants, &owners))
        }
        section {
            h2 { "New API token" }
            p.muted { "A token acts for you, with at most your role on each tenant it names. Send it as " code { "Authorization: Bearer …" } "." }
            form.stack #new-api-token method="post" action="/admin/tokens" {
                (csrf_field(&c))
                label for="token-name" { "Name" }
                input #token-name type="text" name="name" required maxlength="100";
                label for="token-role" { "Role cap" }
                select #token-role name="role" {
                    @for r in roles { option value=(r.as_str()) { (role_label(*r)) } }
                }
                label for="token-tenants" { "Tenants (comma-separated names; blank: every tenant you reach)" }
                input #token-tenants type="text" name="tenants" maxlength="2000";
                label for="token-ttl" { "Valid for (days, 1–365)" }
                input #token-ttl type="number" name="ttl_days" min="1" max="365" value="90";
                div.actions { button type="submit" { "Create the token" } }
            }
        }
    };
    layout::page(&state, &c, None, Section::Admin, "API tokens", body).await
}

fn table(
    c: &Console,
    tokens: &[ApiTokenRow],
    tenants: &HashMap<i64, String>,
    owners: &HashMap<i64, String>,
) -> Markup {
    if tokens.is_empty() {
        return layout::empty("No API tokens.");
    }
    let now = c.auth.now;
    html! {
        div.table-wrap { table.data #api-tokens-table {
            thead { tr {
                th scope="col" { "Name" }
                th scope="col" { "Owner" }
                th scope="col" { "Role" }
                th scope="col" { "Tenants" }
                th scope="col" { "Created" }
                th scope="col" { "Expires" }
                th scope="col" { "Last used" }
                th scope="col" { "State" }
                th scope="col" { span.muted { "Actions" } }
            } }
            tbody {
                @for k in tokens {
                    @let live = k.revoked_at.is_none() && k.expires_at > now;
                    tr id={ "api-token-" (k.id) } {
                        td.wrap { (k.name) }
                        td.wrap { (owners.get(&k.user_id).cloned().unwrap_or_else(|| format!("user {}", k.user_id))) }
                        td { (role_label(k.role)) }
                        td.wrap { @match &k.tenants {
                            Some(ids) => (ids.iter().map(|id| tenants.get(id).cloned().unwrap_or_else(|| id.to_string())).collect::<Vec<_>>().join(", ")),
                            None => span.muted { "all of the owner's" },
                        } }
                        td { (when(Some(k.created_at), now)) }
                        td { (when(Some(k.expires_at), now)) }
                        td { (when(k.last_used_at, now)) }
                        td { @if k.revoked_at.is_some() { (layout::badge("revoked")) } @else if live { (layout::badge("active")) } @else { (layout::badge("expired")) } }
                        td { @if k.revoked_at.is_none() {
                            form.inline method="post" action={ "/admin/tokens/" (k.id) "/revoke" } {
                                (csrf_field(c)) button.danger type="submit" { "Revoke" }
                            }
                        } }
                    }
                }
            }
        } }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenForm {
    name: String,
    role: String,
    tenants: Option<String>,
    ttl_days: Option<String>,
}

/// `POST /admin/tokens`: mint a token, show its secret once.
pub(super) async fn create(State(state): State<AppState>, form: ConsoleForm<TokenForm>) -> Page {
    let ConsoleForm { console: c, form } = form;
    refuse_auditors(&c.auth.principal)?;
    let role = Role::parse(form.role.trim()).ok_or_else(|| ApiError::invalid("unknown role"))?;
    let tenants = opt(form.tenants).map(|list| {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    let req = NewToken {
        name: form.name,
        role,
        tenants,
        ttl_days: int("ttl_days", form.ttl_days)?,
    };
    let created = mint(&state, &c.auth, req).await?;
    let body = html! {
        section #new-api-token-result {
            h2 { "Token " (created.record.name) }
            p.notice { "Copy the token now: it is shown this once and cannot be read again." }
            p.secret #new-api-token-secret { (created.token) }
            p { "Role " (role_label(created.record.role)) ", expires " (when(Some(created.record.expires_at), c.auth.now)) "." }
            p { a href="/admin/tokens" { "Back to the API tokens" } }
        }
    };
    layout::page(&state, &c, None, Section::Admin, "New API token", body).await
}

/// `POST /admin/tokens/{id}/revoke` (one's own; administrators: any).
pub(super) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: ConsoleForm<Confirm>,
) -> Result<Response, ApiError> {
    let c = form.console;
    let p = &c.auth.principal;
    refuse_auditors(p)?;
    let owner = (!p.admin).then_some(p.user_id);
    state
        .store
        .revoke_api_token(&c.auth.context(), id, owner)
        .await?;
    Ok(crate::console::back(
        "/admin/tokens?notice=api-token-revoked",
    ))
}
