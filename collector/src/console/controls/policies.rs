//! Policies: the listing, one policy with its template text and controls,
//! and the operators' form that moves it along the workflow. The form
//! offers only the statuses `policy_transition_allowed` permits from the
//! current one; the store checks the transition again on write.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use super::{
    WorkForm, control_href, given, posture_badge, status_badge, status_label, tabs, tenant_base,
    work_status,
};
use crate::api::edit::{MAX_NOTES, MAX_OWNER};
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::auth::{Need, TenantAccess};
use crate::console::layout::{self, Page, Section, count, csrf_field, when};
use crate::console::{Console, ConsoleForm};
use crate::http::AppState;
use crate::store::controls::WorkStatus;
use crate::store::policies::{PolicyChange, PolicyDetail, policy_transition_allowed};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/policies", get(list))
        .route("/t/{tenant}/policies/{id}", get(detail).post(edit))
}

fn policy_href(t: &TenantAccess, id: i64) -> String {
    format!("{}/policies/{id}", tenant_base(t))
}

/// `GET /t/{tenant}/policies` parameters (the API's `status`, empty = any).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    Query(q): Query<ListQuery>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let status = given(q.status)
        .as_deref()
        .map(|s| work_status("status", s))
        .transpose()?;
    let rows = state.store.policies(&t, status).await?;
    let base = tenant_base(&t);
    let now = c.auth.now;
    let body = html! {
        (tabs(&t, true))
        form.filters #policy-filters method="get" action={ (base) "/policies" } {
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in WorkStatus::ALL {
                        option value=(s.as_str()) selected[status == Some(s)] { (status_label(s)) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        @if rows.is_empty() {
            (layout::empty(if status.is_some() {
                "No policy has this status."
            } else {
                "No policies yet: they are made from templates when scans map controls."
            }))
        } @else {
            div.table-wrap {
                table.data #policies-table {
                    thead { tr {
                        th scope="col" { "Policy" }
                        th scope="col" { "Template" }
                        th scope="col" { "Status" }
                        th scope="col" { "Owner" }
                        th.num scope="col" { "Controls" }
                        th scope="col" { "Last edited" }
                    } }
                    tbody {
                        @for p in &rows {
                            tr data-policy=(p.id) {
                                td.wrap { a href=(policy_href(&t, p.id)) { (p.name) } }
                                td { code { (p.template_id) } }
                                td { (status_badge(p.status)) }
                                td.wrap { @match &p.owner { Some(o) => (o), None => span.muted { "–" } } }
                                td.num { (count(p.control_count)) }
                                td { (when(p.updated_at, now)) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(&state, &c, Some(&t), Section::Controls, "Policies", body).await
}

async fn detail(
    State(state): State<AppState>,
    c: Console,
    Path((name, id)): Path<(String, i64)>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let d = state
        .store
        .policy_detail(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    let p = &d.policy;
    let body = html! {
        (tabs(&t, true))
        section #policy {
            dl.facts {
                dt { "Status" } dd #policy-status { (status_badge(p.status)) }
                dt { "Owner" } dd #policy-owner { @match &p.owner { Some(o) => (o), None => span.muted { "none" } } }
                dt { "Notes" } dd #policy-notes { @match &p.notes { Some(n) => p.prewrap { (n) }, None => span.muted { "none" } } }
                dt { "Template" } dd { (d.template_title) " " span.muted { code { (p.template_id) } " v" (d.template_version) } }
                dt { "Last edited" } dd { (when(p.updated_at, c.auth.now)) }
                dt { "Version" } dd { (p.version) }
            }
            p { (d.summary) }
            details.policy-text {
                summary { "Template text" }
                pre.policy-body { (d.body) }
            }
        }
        section #policy-controls {
            h2 { "Controls" }
            (controls(&t, &d))
        }
        @if Need::Operate.allows(t.role()) {
            section #policy-edit {
                h2 { "Edit" }
                (edit_form(&t, &c, &d))
            }
        }
    };
    layout::page(&state, &c, Some(&t), Section::Controls, &p.name, body).await
}

fn controls(t: &TenantAccess, d: &PolicyDetail) -> Markup {
    if d.controls.is_empty() {
        return layout::empty("This policy supports no control you may see.");
    }
    html! {
        table.data {
            thead { tr {
                th scope="col" { "Key" }
                th scope="col" { "Name" }
                th scope="col" { "Posture" }
                th scope="col" { "Status" }
            } }
            tbody {
                @for k in &d.controls {
                    tr {
                        td { a href=(control_href(t, k.id)) { code { (k.key) } } }
                        td.wrap { (k.name) }
                        td { (posture_badge(&k.posture)) }
                        td { (status_badge(k.status)) }
                    }
                }
            }
        }
    }
}

/// The statuses a policy may be set to from `from`: itself first, then the
/// workflow's next steps.
fn next_statuses(from: WorkStatus) -> Vec<WorkStatus> {
    std::iter::once(from)
        .chain(
            WorkStatus::ALL
                .into_iter()
                .filter(|to| *to != from && policy_transition_allowed(from, *to)),
        )
        .collect()
}

fn edit_form(t: &TenantAccess, c: &Console, d: &PolicyDetail) -> Markup {
    let p = &d.policy;
    html! {
        form.stack #policy-form method="post" action=(policy_href(t, p.id)) {
            (csrf_field(c))
            input type="hidden" name="version" value=(p.version);
            label for="policy-status-field" { "Status" }
            select #policy-status-field name="status" {
                @for s in next_statuses(p.status) {
                    option value=(s.as_str()) selected[s == p.status] {
                        @if s == p.status { (status_label(s)) " (current)" } @else { "→ " (status_label(s)) }
                    }
                }
            }
            label for="policy-owner-field" { "Owner" }
            input #policy-owner-field type="text" name="owner" maxlength=(MAX_OWNER) value=[p.owner.as_deref()];
            label for="policy-notes-field" { "Notes" }
            textarea #policy-notes-field name="notes" maxlength=(MAX_NOTES) rows="5" { (p.notes.as_deref().unwrap_or("")) }
            div.actions { button type="submit" { "Save" } }
        }
    }
}

async fn edit(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, i64)>,
    ConsoleForm { console: c, form }: ConsoleForm<WorkForm>,
) -> Result<Response, ApiError> {
    let t = c.tenant(&state, &name, Need::Operate).await?;
    let e = form.check()?;
    let version = e.version;
    let change = PolicyChange {
        status: Some(e.status),
        owner: Some(e.owner),
        notes: Some(e.notes),
    };
    state
        .store
        .update_policy(&c.auth.context(), &t, id, version, &change)
        .await?;
    Ok(crate::console::back(&policy_href(&t, id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_offers_the_workflow_only() {
        use WorkStatus::*;
        assert_eq!(next_statuses(ToDo), [ToDo, InProgress, OnHold]);
        assert_eq!(next_statuses(Active), [Active, Deprecated]);
        assert_eq!(next_statuses(OnHold), [OnHold, ToDo, InProgress]);
    }
}
