//! Enrollment tokens from the console (operators): the form, the page that
//! shows a new token's secret once (rendered straight from the POST, never
//! stored, never logged, not cached), and revoking an unused token.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::{Confirm, base};
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::auth::{Need, TenantAccess};
use crate::console::audit::fields::int;
use crate::console::layout::{self, Page, Section, csrf_field, when};
use crate::console::{Console, ConsoleForm};
use crate::http::AppState;

/// The new-token form.
pub(super) fn form(c: &Console, t: &TenantAccess) -> Markup {
    html! {
        form.filters #new-enrollment-token method="post" action={ (base(t)) "/enrollment-tokens" } {
            (csrf_field(c))
            label { "Valid for (hours, 1–720)"
                input type="number" name="ttl_hours" min="1" max="720" value="24" required;
            }
            label { "Agents it enrolls (1–1000)"
                input type="number" name="max_uses" min="1" max="1000" value="1" required;
            }
            button type="submit" { "Make an enrollment token" }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewToken {
    ttl_hours: Option<String>,
    max_uses: Option<String>,
}

/// `POST /t/{tenant}/enrollment-tokens`: make one, show its secret once.
pub(super) async fn create(
    State(state): State<AppState>,
    Path(name): Path<String>,
    form: ConsoleForm<NewToken>,
) -> Page {
    let ConsoleForm { console: c, form } = form;
    let t = c.tenant(&state, &name, Need::Operate).await?;
    let ttl = int("ttl_hours", form.ttl_hours)?;
    let uses = int("max_uses", form.max_uses)?;
    let created = crate::api::fleet::issue_enrollment_token(&state, &c.auth, &t, ttl, uses).await?;
    let command = format!(
        "citadel-agent enroll --collector {} --token {}",
        created.enroll_url, created.token
    );
    let body = html! {
        section #new-enrollment-token-result {
            h2 { "Enrollment token " (created.record.id) }
            p.notice { "Copy the token now: it is shown this once and cannot be read again." }
            p.secret #new-token-secret { (created.token) }
            p { "It enrolls " (if created.record.max_uses == 1 { "one agent".to_string() } else { format!("up to {} agents", created.record.max_uses) }) " and expires " (when(Some(created.record.expires_at), c.auth.now)) ". On the machine to enroll, run:" }
            pre.raw #enroll-command { (command) }
            p { a href={ (base(&t)) "/fleet" } { "Back to the fleet" } }
        }
    };
    layout::page(
        &state,
        &c,
        Some(&t),
        Section::Fleet,
        "New enrollment token",
        body,
    )
    .await
}

/// `POST /t/{tenant}/enrollment-tokens/{id}/revoke` (operators).
pub(super) async fn revoke(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, i64)>,
    form: ConsoleForm<Confirm>,
) -> Result<Response, ApiError> {
    let c = form.console;
    let t = c.tenant(&state, &name, Need::Operate).await?;
    state
        .store
        .revoke_enrollment_token(&c.auth.context(), &t, id)
        .await?;
    Ok(crate::console::back(&format!(
        "{}/fleet?notice=token-revoked",
        base(&t)
    )))
}
