//! A tenant's fleet (operators and administrators): agents with their
//! health and certificate expiry, enrollment tokens, integrations; for
//! operators, revoking an agent (after a confirmation page), and making and
//! revoking enrollment tokens.

#[cfg(test)]
mod tests;
mod tokens;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::audit::fields::notice;
use super::layout::{self, Page, Section, badge, csrf_field, segment, when};
use super::{Console, ConsoleForm};
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::auth::{Need, TenantAccess};
use crate::http::AppState;
use crate::store::fleet::{AgentRow, EnrollmentTokenRow, IntegrationRow};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/fleet", get(fleet))
        .route(
            "/t/{tenant}/agents/{agent}/revoke",
            get(revoke_confirm).post(revoke),
        )
        .route("/t/{tenant}/enrollment-tokens", post(tokens::create))
        .route(
            "/t/{tenant}/enrollment-tokens/{id}/revoke",
            post(tokens::revoke),
        )
}

/// A certificate this close to expiry is shown as expiring (ms).
const EXPIRY_MS: i64 = 30 * 86_400_000;

fn base(t: &TenantAccess) -> String {
    format!("/t/{}", segment(t.name()))
}

/// A form without fields of its own (only the CSRF token).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirm {}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetParams {
    notice: Option<String>,
}

/// The tenant's agents with their certificate expiry read from the
/// certificate, as `GET /agents` does.
async fn agents(state: &AppState, t: &TenantAccess) -> Result<Vec<AgentRow>, ApiError> {
    let mut agents = state.store.agents(t).await?;
    for a in &mut agents {
        a.certificate_expires_at = crate::pki::certificate_not_after(&a.certificate_pem);
    }
    Ok(agents)
}

/// `GET /t/{tenant}/fleet`.
async fn fleet(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    Query(q): Query<FleetParams>,
) -> Page {
    let t = c.tenant(&state, &name, Need::ReadOperational).await?;
    let agents = agents(&state, &t).await?;
    let tokens = state.store.enrollment_tokens(&t).await?;
    let integrations = state.store.integrations(&t).await?;
    let operate = Need::Operate.allows(t.role());
    let now = c.auth.now;
    let body = html! {
        (notice(q.notice.as_deref()))
        section #agents {
            h2 { "Agents" }
            (agent_table(&t, &agents, operate, now))
        }
        section #enrollment-tokens {
            h2 { "Enrollment tokens" }
            (token_table(&c, &t, &tokens, operate, now))
            @if operate { (tokens::form(&c, &t)) }
        }
        section #integrations {
            h2 { "Integrations" }
            (integration_table(&integrations, now))
        }
    };
    let title = format!("{} fleet", t.name());
    layout::page(&state, &c, Some(&t), Section::Fleet, &title, body).await
}

fn agent_table(t: &TenantAccess, agents: &[AgentRow], operate: bool, now: i64) -> Markup {
    if agents.is_empty() {
        return layout::empty(
            "No agents are enrolled yet. Make an enrollment token below and run the command it shows.",
        );
    }
    html! {
        div.table-wrap { table.data #agents-table {
            thead { tr {
                th scope="col" { "Name" }
                th scope="col" { "Version" }
                th scope="col" { "Last seen" }
                th.num scope="col" { "Seq" }
                th.num scope="col" { "Missing batches" }
                th scope="col" { "Last batch" }
                th scope="col" { "Integrations in error" }
                th scope="col" { "Certificate expires" }
                th scope="col" { "State" }
                @if operate { th scope="col" { span.muted { "Actions" } } }
            } }
            tbody {
                @for a in agents {
                    tr id={ "agent-" (a.id) } {
                        td.wrap { strong { (a.name) } br; code.muted { (a.id) } }
                        td { @match &a.version { Some(v) => (v), None => span.muted { "–" } } }
                        td { (when(a.last_seen_at, now)) }
                        td.num { @match a.last_seq { Some(s) => (s), None => span.muted { "–" } } }
                        td.num {
                            @if a.missing_batches > 0 {
                                strong { (a.missing_batches) }
                                br; span.muted { "in " (a.chain_gaps) @if a.chain_gaps == 1 { " gap" } @else { " gaps" } }
                            } @else { span.muted { "0" } }
                        }
                        td { @match &a.last_batch_id { Some(b) => code { (b) }, None => span.muted { "none" } } }
                        td.wrap {
                            (a.integrations_in_error)
                            @if let Some(e) = &a.last_error { br; span.muted { (e) } }
                        }
                        td {
                            (when(a.certificate_expires_at, now))
                            @if a.revoked_at.is_none() && a.certificate_expires_at.is_some_and(|e| e - now < EXPIRY_MS) {
                                " " (badge("expiring"))
                            }
                        }
                        td { @match a.revoked_at {
                            Some(at) => { (badge("revoked")) " " (when(Some(at), now)) },
                            None => (badge("active")),
                        } }
                        @if operate {
                            td { @if a.revoked_at.is_none() {
                                a.revoke href={ (base(t)) "/agents/" (segment(&a.id)) "/revoke" } { "Revoke" }
                            } }
                        }
                    }
                }
            }
        } }
    }
}

fn token_state(k: &EnrollmentTokenRow, now: i64) -> &'static str {
    if k.revoked_at.is_some() {
        "revoked"
    } else if k.uses >= k.max_uses {
        "used"
    } else if k.expires_at <= now {
        "expired"
    } else {
        "active"
    }
}

fn token_table(
    c: &Console,
    t: &TenantAccess,
    tokens: &[EnrollmentTokenRow],
    operate: bool,
    now: i64,
) -> Markup {
    if tokens.is_empty() {
        return layout::empty("No enrollment tokens.");
    }
    html! {
        table.data #tokens-table {
            thead { tr {
                th.num scope="col" { "Id" }
                th scope="col" { "Created" }
                th scope="col" { "By" }
                th scope="col" { "Expires" }
                th scope="col" { "State" }
                th.num scope="col" { "Uses" }
                th scope="col" { "Agent" }
                @if operate { th scope="col" { span.muted { "Actions" } } }
            } }
            tbody {
                @for k in tokens {
                    @let state = token_state(k, now);
                    tr id={ "token-" (k.id) } {
                        td.num { (k.id) }
                        td { (when(Some(k.created_at), now)) }
                        td.wrap { @match &k.created_by { Some(b) => (b), None => span.muted { "–" } } }
                        td { (when(Some(k.expires_at), now)) }
                        td { (badge(state)) }
                        td.num { (k.uses) " of " (k.max_uses) }
                        td { @match &k.agent_id { Some(a) => code { (a) }, None => span.muted { "–" } } }
                        @if operate {
                            td { @if state == "active" {
                                form.inline method="post" action={ (base(t)) "/enrollment-tokens/" (k.id) "/revoke" } {
                                    (csrf_field(c))
                                    button.secondary type="submit" { "Revoke" }
                                }
                            } }
                        }
                    }
                }
            }
        }
    }
}

fn integration_table(rows: &[IntegrationRow], now: i64) -> Markup {
    if rows.is_empty() {
        return layout::empty("No integrations have reported yet.");
    }
    html! {
        div.table-wrap { table.data #integrations-table {
            thead { tr {
                th scope="col" { "Name" }
                th scope="col" { "Agent" }
                th scope="col" { "Provider" }
                th scope="col" { "Account" }
                th scope="col" { "Regions" }
                th scope="col" { "Status" }
                th scope="col" { "Last sync" }
                th scope="col" { "Last error" }
                th.num scope="col" { "Errors in a row" }
            } }
            tbody {
                @for i in rows {
                    tr {
                        td.wrap { (i.name) }
                        td { code { (i.agent_id) } }
                        td { (i.provider) }
                        td { (i.account) }
                        td.wrap { (i.regions.join(", ")) }
                        td { (badge(&i.status)) }
                        td { (when(i.last_sync_at, now)) }
                        td.wrap { @match &i.last_error { Some(e) => (e), None => span.muted { "–" } } }
                        td.num { (i.error_count) }
                    }
                }
            }
        } }
    }
}

/// `GET /t/{tenant}/agents/{agent}/revoke`: what revoking does, and the form.
async fn revoke_confirm(
    State(state): State<AppState>,
    c: Console,
    Path((name, agent)): Path<(String, String)>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Operate).await?;
    let a = agents(&state, &t)
        .await?
        .into_iter()
        .find(|a| a.id == agent)
        .ok_or_else(|| ApiError::not_found("agent"))?;
    let fleet = format!("{}/fleet", base(&t));
    let body = html! {
        section #revoke-confirm {
            h2 { "Revoke " (a.name) "?" }
            p { "Agent " code { (a.id) } " last reported " (when(a.last_seen_at, c.auth.now)) "." }
            p { "Once revoked, the collector refuses every batch this agent sends, and its certificate can no longer be used. "
                "Results it already sent stay. This cannot be undone: to bring the machine back, enroll it again with a new enrollment token." }
            @if a.revoked_at.is_some() {
                p.alert { "This agent is revoked already." }
            } @else {
                form.inline #revoke-form method="post" action={ (base(&t)) "/agents/" (segment(&a.id)) "/revoke" } {
                    (csrf_field(&c))
                    button.danger type="submit" { "Revoke the agent" }
                }
                " "
            }
            a #cancel href=(fleet) { "Cancel" }
        }
    };
    layout::page(
        &state,
        &c,
        Some(&t),
        Section::Fleet,
        "Revoke an agent",
        body,
    )
    .await
}

/// `POST /t/{tenant}/agents/{agent}/revoke` (operators).
async fn revoke(
    State(state): State<AppState>,
    Path((name, agent)): Path<(String, String)>,
    form: ConsoleForm<Confirm>,
) -> Result<Response, ApiError> {
    let c = form.console;
    let t = c.tenant(&state, &name, Need::Operate).await?;
    state
        .store
        .revoke_tenant_agent(&c.auth.context(), &t, &agent)
        .await?;
    state.guard.revoked.refresh_after_revoke(&state.store).await;
    Ok(super::back(&format!(
        "{}/fleet?notice=agent-revoked",
        base(&t)
    )))
}
