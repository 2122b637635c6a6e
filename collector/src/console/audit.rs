//! The audit log (administrators: every row; operators: the rows of their
//! tenants), newest first, with the API's filters and scoping
//! (`api::audit_log::scope` / `filter`); before/after states in a
//! disclosure, escaped.

pub mod fields;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use self::fields::{day, day_value, int, opt};
use super::Console;
use super::layout::{self, Page, Section, when};
use crate::api::audit_log::{FilterFields, filter, scope};
use crate::api::error::ApiError;
use crate::api::extract::Query;
use crate::audit::{Action, Row};
use crate::auth::Need;
use crate::http::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(audit))
}

/// Rows per page.
const PAGE: i64 = 50;

/// The filters, as the form sends them (blank fields are absent).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    actor: Option<String>,
    action: Option<String>,
    object_type: Option<String>,
    object_id: Option<String>,
    tenant: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// Rows older than this `seq` (the "older" link).
    before: Option<String>,
}

/// `GET /audit`.
async fn audit(State(state): State<AppState>, c: Console, Query(q): Query<AuditParams>) -> Page {
    let p = &c.auth.principal;
    // The tenants whose trail the caller may read (admins: all of them).
    let readable: Vec<String> = if p.admin {
        state
            .store
            .tenants()
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect()
    } else {
        p.grants()
            .iter()
            .filter(|g| Need::ReadAudit.allows(g.role))
            .map(|g| g.tenant.clone())
            .collect()
    };
    if !p.admin && readable.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the audit log is for administrators and operators",
        ));
    }
    let tenant = opt(q.tenant.clone());
    let tenant_ids = match (&tenant, p.admin) {
        (None, false) => {
            // Every tenant of theirs, each through the API's scoping.
            let mut ids = Vec::new();
            for name in &readable {
                ids.extend(
                    scope(&state, &c.auth, Some(name))
                        .await?
                        .unwrap_or_default(),
                );
            }
            Some(ids)
        }
        (t, _) => scope(&state, &c.auth, t.as_deref()).await?,
    };
    let from = day("from", q.from.clone())?;
    let to = day("to", q.to.clone())?.map(|d| d + fields::DAY_MS);
    let f = filter(
        FilterFields {
            actor: opt(q.actor.clone()),
            action: opt(q.action.clone()),
            object_type: opt(q.object_type.clone()),
            object_id: opt(q.object_id.clone()),
            from,
            to,
        },
        tenant_ids,
    )?;
    let before = int("before", q.before.clone())?;
    let mut rows = state.store.audit_log(&f, before, PAGE + 1).await?;
    let older = (rows.len() as i64 > PAGE).then(|| {
        rows.truncate(PAGE as usize);
        rows.last().map(|r| r.seq)
    });
    let names: HashMap<i64, String> = state
        .store
        .tenants()
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let body = html! {
        form.filters #audit-filters method="get" action="/audit" {
            label { "Actor id" input type="text" name="actor" maxlength="200" value=[f.actor_id.as_deref()]; }
            label { "Action"
                select name="action" {
                    option value="" { "any" }
                    @for a in Action::ALL {
                        option value=(a.as_str()) selected[f.action.as_deref() == Some(a.as_str())] { (a.as_str()) }
                    }
                }
            }
            label { "Object type" input type="text" name="object_type" maxlength="200" value=[f.object_type.as_deref()]; }
            label { "Object id" input type="text" name="object_id" maxlength="200" value=[f.object_id.as_deref()]; }
            label { "Tenant"
                select name="tenant" {
                    option value="" { @if p.admin { "any (every row)" } @else { "any of mine" } }
                    @for name in &readable {
                        option value=(name) selected[tenant.as_deref() == Some(name.as_str())] { (name) }
                    }
                }
            }
            label { "From" input type="date" name="from" value=(day_value(from)); }
            label { "To (inclusive)" input type="date" name="to" value=(day_value(to.map(|t| t - 1))); }
            button type="submit" { "Filter" }
            a href="/audit" { "Clear" }
        }
        (table(&rows, &names, c.auth.now))
        @if let Some(Some(seq)) = older {
            p.pager { a #older-page rel="next" href=(layout::with_param(&c.here, "before", &seq.to_string())) { "Older entries →" } }
        }
    };
    layout::page(&state, &c, None, Section::Audit, "Audit log", body).await
}

/// A stored JSON state, pretty when it parses.
fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_string())
}

fn table(rows: &[Row], tenants: &HashMap<i64, String>, now: i64) -> Markup {
    if rows.is_empty() {
        return layout::empty("No audit entries match these filters.");
    }
    html! {
        div.table-wrap { table.data #audit-table {
            thead { tr {
                th scope="col" { "Time" }
                th scope="col" { "Actor" }
                th scope="col" { "Action" }
                th scope="col" { "Object" }
                th scope="col" { "Tenant" }
                th scope="col" { "Source" }
                th scope="col" { "Request" }
                th scope="col" { "Change" }
            } }
            tbody {
                @for r in rows {
                    tr id={ "audit-" (r.seq) } {
                        td { (when(Some(r.at), now)) }
                        td.wrap {
                            (r.actor_type)
                            @if let Some(n) = &r.actor_name { " " (n) }
                            @if let Some(id) = &r.actor_id { " " span.muted { "(" (id) ")" } }
                        }
                        td { code { (r.action) } }
                        td.wrap { (r.object_type) @if let Some(id) = &r.object_id { " " code { (id) } } }
                        td { @match r.tenant_id {
                            Some(id) => (tenants.get(&id).cloned().unwrap_or_else(|| id.to_string())),
                            None => span.muted { "–" },
                        } }
                        td.wrap {
                            @match &r.source { Some(s) => (s), None => span.muted { "–" } }
                            @if let Some(ua) = &r.user_agent { br; span.muted { (ua) } }
                        }
                        td { @match &r.request_id { Some(id) => code { (id) }, None => span.muted { "–" } } }
                        td {
                            @if r.before_json.is_some() || r.after_json.is_some() {
                                details {
                                    summary { "before / after" }
                                    @if let Some(b) = &r.before_json { h3 { "Before" } pre.raw { (pretty(b)) } }
                                    @if let Some(a) = &r.after_json { h3 { "After" } pre.raw { (pretty(a)) } }
                                }
                            } @else { span.muted { "–" } }
                        }
                    }
                }
            }
        } }
    }
}
