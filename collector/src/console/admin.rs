//! Administration: users (create with a generated password shown once,
//! disable, enable), a user's grants, and API tokens (every signed-in user
//! but auditors: their own; administrators: everyone's). The checks are the
//! API's (`api::admin`, `api::tokens`).

mod grants;
#[cfg(test)]
mod tests;
mod tokens;

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::audit::fields::notice;
use super::layout::{self, Page, Section, csrf_field, role_label, when};
use super::{Console, ConsoleForm};
use crate::api::admin::hash_off_thread;
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::session::normalise_email;
use crate::auth::password;
use crate::http::AppState;
use crate::store::{GrantRow, UserRow};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/{id}", get(grants::user))
        .route("/admin/users/{id}/disable", post(disable))
        .route("/admin/users/{id}/enable", post(enable))
        .route("/admin/users/{id}/grants", post(grants::set))
        .route(
            "/admin/users/{id}/grants/{tenant}/remove",
            post(grants::remove),
        )
        .route("/admin/tokens", get(tokens::list).post(tokens::create))
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeParams {
    notice: Option<String>,
}

/// A form without fields of its own (only the CSRF token).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {}

/// "acme: operator, beta: auditor".
fn grants_summary(grants: &[GrantRow]) -> String {
    grants
        .iter()
        .map(|g| format!("{}: {}", g.tenant, role_label(g.role)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /admin/users` (administrators).
async fn users(State(state): State<AppState>, c: Console, Query(q): Query<NoticeParams>) -> Page {
    c.auth.principal.require_admin()?;
    let users = state.store.users().await?;
    let mut grants: HashMap<i64, Vec<GrantRow>> = HashMap::new();
    for u in &users {
        grants.insert(u.id, state.store.grants_of(u.id).await?);
    }
    let body = html! {
        (notice(q.notice.as_deref()))
        p { a href="/admin/tokens" { "API tokens" } }
        section {
            h2 { "Users" }
            (user_table(&c, &users, &grants))
        }
        section {
            h2 { "New user" }
            form.stack #new-user method="post" action="/admin/users" {
                (csrf_field(&c))
                label for="new-user-email" { "E-mail address" }
                input #new-user-email type="email" name="email" required maxlength="254";
                label { input type="checkbox" name="admin" value="true"; " Administrator (everything, on every tenant)" }
                p.muted { "A password is generated and shown once; give it to the user to sign in." }
                div.actions { button type="submit" { "Create the user" } }
            }
        }
    };
    layout::page(&state, &c, None, Section::Admin, "Users", body).await
}

fn user_table(c: &Console, users: &[UserRow], grants: &HashMap<i64, Vec<GrantRow>>) -> Markup {
    if users.is_empty() {
        return layout::empty("No users.");
    }
    let now = c.auth.now;
    html! {
        div.table-wrap { table.data #users-table {
            thead { tr {
                th scope="col" { "E-mail" }
                th scope="col" { "Admin" }
                th scope="col" { "State" }
                th scope="col" { "Last sign-in" }
                th scope="col" { "Grants" }
                th scope="col" { span.muted { "Actions" } }
            } }
            tbody {
                @for u in users {
                    tr id={ "user-" (u.id) } {
                        td.wrap { a href={ "/admin/users/" (u.id) } { (u.email) } }
                        td { @if u.admin { "yes" } @else { "no" } }
                        td { @match u.disabled_at {
                            Some(at) => { (layout::badge("disabled")) " " (when(Some(at), now)) },
                            None => (layout::badge("active")),
                        } }
                        td { (when(u.last_login_at, now)) }
                        td.wrap { (grants_summary(grants.get(&u.id).map_or(&[][..], Vec::as_slice))) }
                        td {
                            @if u.disabled_at.is_some() {
                                form.inline method="post" action={ "/admin/users/" (u.id) "/enable" } {
                                    (csrf_field(c)) button.secondary type="submit" { "Enable" }
                                }
                            } @else if u.id != c.auth.principal.user_id {
                                form.inline method="post" action={ "/admin/users/" (u.id) "/disable" } {
                                    (csrf_field(c)) button.danger type="submit" { "Disable" }
                                }
                            }
                        }
                    }
                }
            }
        } }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    admin: Option<String>,
}

/// `POST /admin/users`: create a user with a generated password, shown
/// once on the page this returns (as `user create` does on the CLI).
async fn create_user(State(state): State<AppState>, form: ConsoleForm<NewUser>) -> Page {
    let ConsoleForm { console: c, form } = form;
    c.auth.principal.require_admin()?;
    let email = normalise_email(&form.email)?;
    let admin = form.admin.as_deref() == Some("true");
    let pw = password::generate();
    password::check(&pw).map_err(|e| ApiError::invalid(e.to_string()))?;
    let hash = hash_off_thread(pw.clone()).await?;
    let user = state
        .store
        .create_user(&c.auth.context(), &email, &hash, admin)
        .await?;
    let body = html! {
        section #new-user-result {
            h2 { "Created " (user.email) }
            p.notice { "Copy the password now: it is shown this once and cannot be read again." }
            p.secret #new-user-password { (pw) }
            p { a href={ "/admin/users/" (user.id) } { "Grant access to tenants" } " · " a href="/admin/users" { "Back to the users" } }
        }
    };
    layout::page(&state, &c, None, Section::Admin, "New user", body).await
}

async fn set_disabled(
    state: &AppState,
    c: &Console,
    id: i64,
    disabled: bool,
) -> Result<Response, ApiError> {
    c.auth.principal.require_admin()?;
    if disabled && id == c.auth.principal.user_id {
        return Err(ApiError::invalid("you cannot disable yourself"));
    }
    state
        .store
        .set_user_disabled(&c.auth.context(), id, disabled)
        .await?;
    let code = if disabled {
        "user-disabled"
    } else {
        "user-enabled"
    };
    Ok(super::back(&format!("/admin/users?notice={code}")))
}

/// `POST /admin/users/{id}/disable`.
async fn disable(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: ConsoleForm<Confirm>,
) -> Result<Response, ApiError> {
    set_disabled(&state, &form.console, id, true).await
}

/// `POST /admin/users/{id}/enable`.
async fn enable(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: ConsoleForm<Confirm>,
) -> Result<Response, ApiError> {
    set_disabled(&state, &form.console, id, false).await
}
