//! Applied controls: the listing (filters and pages as in the API), one
//! control with what hangs off it, the operators' edit of its hand-set
//! fields, and the reviewers' "approve all evidence awaiting review".
//! Policies are a tab of the same section ([`policies`]).
//!
//! Edits carry the version the page was rendered from in a hidden field:
//! the console's If-Match. A stale one is the API's 412, shown as a page.

pub mod policies;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Page, Section, badge, count, csrf_field, segment, when};
use super::{Console, ConsoleForm};
use crate::api::edit::{self, MAX_NOTES, MAX_OWNER};
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::page;
use crate::auth::{Need, TenantAccess};
use crate::http::AppState;
use crate::store::controls::{
    COUNT_CAP, ControlChange, ControlDetail, ControlFilter, Posture, WorkStatus,
};
use crate::store::review::EvidenceRow;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/controls", get(list))
        .route("/t/{tenant}/controls/{id}", get(detail).post(edit))
        .route("/t/{tenant}/controls/{id}/approve", post(approve))
        .merge(policies::routes())
}

/// Sort of the control listing (the API's, so cursors are the same).
const SORT: &str = "name";
/// Evidence records shown on a control's page (the rest are a link away).
const EVIDENCE_SHOWN: i64 = 20;

/// Every posture, in the order the filter offers them.
const POSTURES: [Posture; 4] = [
    Posture::Passing,
    Posture::Partial,
    Posture::Issues,
    Posture::NotScanned,
];

/// `/t/{tenant}`, encoded.
pub(crate) fn tenant_base(t: &TenantAccess) -> String {
    format!("/t/{}", segment(t.name()))
}

/// A control's page.
pub(crate) fn control_href(t: &TenantAccess, id: i64) -> String {
    format!("{}/controls/{id}", tenant_base(t))
}

/// The findings of one check.
pub(crate) fn check_href(t: &TenantAccess, check_id: &str) -> String {
    format!("{}/findings?check={}", tenant_base(t), segment(check_id))
}

/// A requirement's page.
pub(crate) fn requirement_href(t: &TenantAccess, framework: &str, ref_id: &str) -> String {
    format!(
        "{}/frameworks/{}/requirements/{}",
        tenant_base(t),
        segment(framework),
        segment(ref_id)
    )
}

/// A control's scan posture as a badge (class by whitelist: `issues` is bad
/// here, which the shared badge does not know).
pub(crate) fn posture_badge(posture: &str) -> Markup {
    let class = match posture {
        "passing" => "good",
        "partial" => "warn",
        "issues" => "bad",
        _ => "neutral",
    };
    html! { span class={ "badge posture " (class) } { (posture.replace('_', " ")) } }
}

/// A hand-set status as people read it.
pub(crate) fn status_label(s: WorkStatus) -> String {
    s.as_str().replace('_', " ")
}

/// A hand-set status as a badge.
pub(crate) fn status_badge(s: WorkStatus) -> Markup {
    badge(s.as_str())
}

/// The "Applied controls | Policies" tabs of the section.
pub(crate) fn tabs(t: &TenantAccess, policies: bool) -> Markup {
    let base = tenant_base(t);
    html! {
        nav.tabs #controls-tabs aria-label="Controls and policies" {
            a href={ (base) "/controls" } aria-current=[(!policies).then_some("page")] { "Applied controls" }
            a href={ (base) "/policies" } aria-current=[policies.then_some("page")] { "Policies" }
        }
    }
}

/// An empty query parameter (a filter form's "any") is no parameter.
pub(crate) fn given(v: Option<String>) -> Option<String> {
    v.filter(|v| !v.is_empty())
}

/// A hand-set status from a form or query (422 when unknown).
pub(crate) fn work_status(field: &str, v: &str) -> Result<WorkStatus, ApiError> {
    WorkStatus::parse(v).ok_or_else(|| ApiError::invalid(format!("{field}: unknown status")))
}

/// The version a form was rendered from (its If-Match).
pub(crate) fn form_version(v: &str) -> Result<i64, ApiError> {
    v.trim()
        .parse()
        .map_err(|_| ApiError::invalid("the form's version is not a number"))
}

/// The framework ids people may filter by (Citadel's names, no aliases).
pub(crate) fn framework_ids(t: &TenantAccess) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = crate::posture::FRAMEWORK_ALIASES
        .iter()
        .filter(|(alias, id)| alias == id && t.allows_framework(id))
        .map(|(_, id)| *id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `GET /t/{tenant}/controls` parameters: the API's, with empty values as
/// "any" (what a filter form sends).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    posture: Option<String>,
    status: Option<String>,
    scf: Option<String>,
    framework: Option<String>,
    q: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

fn posture(v: &str) -> Result<Posture, ApiError> {
    POSTURES
        .into_iter()
        .find(|p| p.as_str() == v)
        .ok_or_else(|| ApiError::invalid("posture: unknown posture"))
}

async fn list(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    Query(q): Query<ListQuery>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let req = page::request(q.limit, given(q.cursor).as_deref(), SORT)?;
    let filter = ControlFilter {
        posture: given(q.posture).as_deref().map(posture).transpose()?,
        status: given(q.status)
            .as_deref()
            .map(|s| work_status("status", s))
            .transpose()?,
        scf: edit::id_filter("scf", given(q.scf), 32)?,
        framework: edit::framework_filter(given(q.framework))?,
        q: edit::id_filter("q", given(q.q), 200)?,
    };
    let rows = state.store.controls(&t, &filter, &req).await?;
    let page = page::page(rows, &req, SORT, |c| (Some(c.name.clone()), c.id));
    let now = c.auth.now;
    let body = html! {
        (tabs(&t, false))
        (filters(&t, &filter))
        @if page.items.is_empty() {
            (layout::empty(if c.here.contains('?') {
                "No applied control matches these filters."
            } else {
                "No applied controls yet: they appear when an agent's scan maps checks to controls."
            }))
        } @else {
            div.table-wrap {
                table.data #controls-table {
                    thead { tr {
                        th scope="col" { "Key" }
                        th scope="col" { "Name" }
                        th scope="col" { "Posture" }
                        th scope="col" { "Status" }
                        th.num scope="col" { "Passed" }
                        th.num scope="col" { "Failed" }
                        th.num scope="col" { "Errors" }
                        th.num scope="col" { "Results" }
                        th scope="col" { "Owner" }
                        th scope="col" { "Last scan" }
                    } }
                    tbody {
                        @for r in &page.items {
                            tr data-control=(r.id) {
                                td { a href=(control_href(&t, r.id)) { code { (r.key) } } }
                                td.wrap { (r.name) }
                                td { (posture_badge(&r.posture)) }
                                td { (status_badge(r.status)) }
                                td.num { (count(r.passed)) }
                                td.num { (count(r.failed)) }
                                td.num { (count(r.errors)) }
                                td.num { (count(r.total)) }
                                td.wrap { @match &r.owner { Some(o) => (o), None => span.muted { "–" } } }
                                td { (when(r.last_scan_at, now)) }
                            }
                        }
                    }
                }
            }
        }
        (layout::pager(&c.here, page.next_cursor.as_deref()))
    };
    layout::page(
        &state,
        &c,
        Some(&t),
        Section::Controls,
        "Applied controls",
        body,
    )
    .await
}

/// The filter form of the listing (GET, so no CSRF field).
fn filters(t: &TenantAccess, f: &ControlFilter) -> Markup {
    let base = tenant_base(t);
    html! {
        form.filters #control-filters method="get" action={ (base) "/controls" } {
            label { "Name or key" input type="search" name="q" value=[f.q.as_deref()] maxlength="200"; }
            label { "Posture"
                select name="posture" {
                    option value="" { "any" }
                    @for p in POSTURES {
                        option value=(p.as_str()) selected[f.posture == Some(p)] { (p.as_str().replace('_', " ")) }
                    }
                }
            }
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in WorkStatus::ALL {
                        option value=(s.as_str()) selected[f.status == Some(s)] { (status_label(s)) }
                    }
                }
            }
            label { "Framework"
                select name="framework" {
                    option value="" { "any" }
                    @for id in framework_ids(t) {
                        option value=(id) selected[f.framework.as_deref() == Some(id)] { (id) }
                    }
                }
            }
            @if let Some(scf) = &f.scf { input type="hidden" name="scf" value=(scf); }
            button type="submit" { "Filter" }
            a href={ (base) "/controls" } { "Clear" }
        }
    }
}

/// `GET /t/{tenant}/controls/{id}` parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailQuery {
    /// Evidence records just approved (after the approve form).
    approved: Option<u64>,
}

async fn detail(
    State(state): State<AppState>,
    c: Console,
    Path((name, id)): Path<(String, i64)>,
    Query(q): Query<DetailQuery>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let d = state
        .store
        .control_detail(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("control"))?;
    let evidence = state
        .store
        .control_evidence_sample(&t, id, EVIDENCE_SHOWN)
        .await?;
    let body = html! {
        (tabs(&t, false))
        @if let Some(n) = q.approved {
            p.notice #approved-notice role="status" {
                (count(n)) " evidence " (if n == 1 { "record" } else { "records" }) " approved."
            }
        }
        (facts(&d, c.auth.now))
        div.columns {
            section #control-checks {
                h2 { "Checks" }
                (checks(&t, &d))
            }
            section #control-requirements {
                h2 { "Requirements" }
                (requirements(&t, &d))
            }
        }
        section #control-evidence {
            h2 { "Evidence" }
            (evidence_section(&t, &c, &d, &evidence))
        }
        section #control-assets {
            h2 { "Assets" }
            (assets(&t, &d))
        }
        section #control-policies {
            h2 { "Policies" }
            @if d.policies.is_empty() {
                (layout::empty("No policy names this control."))
            } @else {
                ul {
                    @for p in &d.policies {
                        li { a href={ (tenant_base(&t)) "/policies/" (p.id) } { (p.name) } " " (status_badge(p.status)) }
                    }
                }
            }
        }
        @if Need::Operate.allows(t.role()) {
            section #control-edit {
                h2 { "Edit" }
                (edit_form(&t, &c, &d))
            }
        }
    };
    layout::page(
        &state,
        &c,
        Some(&t),
        Section::Controls,
        &d.control.name,
        body,
    )
    .await
}

fn facts(d: &ControlDetail, now: i64) -> Markup {
    let r = &d.control;
    html! {
        section #control {
            dl.facts {
                dt { "Key" } dd { code { (r.key) } }
                dt { "Posture" } dd #control-posture { (posture_badge(&r.posture)) }
                dt { "Results" } dd {
                    (count(r.passed)) " passed · " (count(r.failed)) " failed · "
                    (count(r.errors)) " in error · " (count(r.total)) " in all"
                }
                dt { "Last scan" } dd { (when(r.last_scan_at, now)) }
                dt { "Status" } dd #control-status { (status_badge(r.status)) }
                dt { "Owner" } dd #control-owner { @match &r.owner { Some(o) => (o), None => span.muted { "none" } } }
                dt { "Notes" } dd #control-notes { @match &r.notes { Some(n) => p.prewrap { (n) }, None => span.muted { "none" } } }
                dt { "Category" } dd { (r.category) " · " (r.origin) }
                dt { "Version" } dd { (r.version) }
            }
        }
    }
}

fn checks(t: &TenantAccess, d: &ControlDetail) -> Markup {
    if d.checks.is_empty() {
        return layout::empty("No check validates this control.");
    }
    html! {
        table.data {
            thead { tr {
                th scope="col" { "Check" }
                th scope="col" { "Title" }
                th scope="col" { "Severity" }
                th scope="col" { "Plugin" }
            } }
            tbody {
                @for k in &d.checks {
                    tr {
                        td { a href=(check_href(t, &k.check_id)) { code { (k.check_id) } } }
                        td.wrap { @if let Some(title) = &k.title { (title) } }
                        td { @if let Some(s) = &k.severity { (badge(s)) } }
                        td { @if let Some(p) = &k.plugin { (p) } }
                    }
                }
            }
        }
    }
}

fn requirements(t: &TenantAccess, d: &ControlDetail) -> Markup {
    if d.requirements.is_empty() {
        return layout::empty("This control maps to no requirement you may see.");
    }
    html! {
        table.data {
            thead { tr {
                th scope="col" { "Framework" }
                th scope="col" { "Requirement" }
                th scope="col" { "Mapping" }
            } }
            tbody {
                @for r in &d.requirements {
                    tr {
                        td { a href={ (tenant_base(t)) "/frameworks/" (segment(&r.framework_id)) } { (r.framework_id) } }
                        td.wrap {
                            a href=(requirement_href(t, &r.framework_id, &r.ref_id)) { (r.ref_id) }
                            @if let Some(n) = &r.name { " " span.muted { (n) } }
                        }
                        td { (r.origin) " · " (r.source) " · " (r.coverage) }
                    }
                }
            }
        }
    }
}

fn evidence_section(
    t: &TenantAccess,
    c: &Console,
    d: &ControlDetail,
    rows: &[EvidenceRow],
) -> Markup {
    let base = tenant_base(t);
    html! {
        p {
            (capped(d.evidence_count)) " records, " (capped(d.evidence_in_review)) " awaiting review. "
            @if d.evidence_count > 0 {
                a #control-evidence-all href={ (base) "/evidence?control=" (d.control.id) } { "All evidence of this control" }
            }
        }
        @if !rows.is_empty() {
            table.data {
                thead { tr {
                    th scope="col" { "Record" }
                    th scope="col" { "Check" }
                    th scope="col" { "Asset" }
                    th scope="col" { "Result" }
                    th scope="col" { "Review" }
                    th scope="col" { "Updated" }
                } }
                tbody {
                    @for e in rows.iter().take(EVIDENCE_SHOWN as usize) {
                        tr {
                            td { a href={ (base) "/evidence/" (e.id) } { "#" (e.id) } }
                            td { a href=(check_href(t, &e.check_id)) { code { (e.check_id) } } }
                            td.wrap { (e.asset_name.as_deref().unwrap_or(&e.asset_source_id)) }
                            td { @if let Some(s) = &e.result_status { (badge(s)) } }
                            td { (badge(&e.status)) }
                            td { (when(e.updated_at, c.auth.now)) }
                        }
                    }
                }
            }
        }
        @if Need::Review.allows(t.role()) {
            @if d.evidence_in_review > 0 {
                form.actions #approve-control-evidence method="post" action={ (control_href(t, d.control.id)) "/approve" } {
                    (csrf_field(c))
                    button type="submit" { "Approve all evidence awaiting review (" (capped(d.evidence_in_review)) ")" }
                }
            } @else {
                p.muted { "Nothing awaits review." }
            }
        }
    }
}

fn assets(t: &TenantAccess, d: &ControlDetail) -> Markup {
    if d.assets.is_empty() {
        return layout::empty("This control covers no asset yet.");
    }
    html! {
        p { (capped(d.asset_count)) " assets"
            @if d.asset_count > d.assets.len() as i64 { ", the first " (d.assets.len()) " by id" } "." }
        table.data {
            thead { tr {
                th scope="col" { "Asset" }
                th scope="col" { "Kind" }
                th scope="col" { "Region" }
                th scope="col" { "Source id" }
            } }
            tbody {
                @for a in &d.assets {
                    tr.inactive[!a.is_active] {
                        td.wrap { a href={ (tenant_base(t)) "/assets/" (a.id) } { (a.name.as_deref().unwrap_or(&a.source_id)) } @if !a.is_active { " " span.badge { "gone" } } }
                        td { (a.kind) }
                        td { (a.region) }
                        td.wrap { code { (a.source_id) } }
                    }
                }
            }
        }
    }
}

fn edit_form(t: &TenantAccess, c: &Console, d: &ControlDetail) -> Markup {
    let r = &d.control;
    html! {
        form.stack #control-form method="post" action=(control_href(t, r.id)) {
            (csrf_field(c))
            input type="hidden" name="version" value=(r.version);
            label for="control-status-field" { "Status" }
            select #control-status-field name="status" {
                @for s in WorkStatus::ALL {
                    option value=(s.as_str()) selected[s == r.status] { (status_label(s)) }
                }
            }
            label for="control-owner-field" { "Owner" }
            input #control-owner-field type="text" name="owner" maxlength=(MAX_OWNER) value=[r.owner.as_deref()];
            label for="control-notes-field" { "Notes" }
            textarea #control-notes-field name="notes" maxlength=(MAX_NOTES) rows="5" { (r.notes.as_deref().unwrap_or("")) }
            div.actions { button type="submit" { "Save" } }
        }
    }
}

/// The edit form of hand-maintained work: an applied control's or a
/// policy's status, owner and notes, at the version it was read at.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WorkForm {
    status: String,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    version: String,
}

/// A [`WorkForm`], checked as the API checks its edits.
pub(super) struct WorkEdit {
    /// The version it was read at.
    pub(super) version: i64,
    /// New status.
    pub(super) status: WorkStatus,
    /// New owner (`None` clears it).
    pub(super) owner: Option<String>,
    /// New notes (`None` clears them).
    pub(super) notes: Option<String>,
}

impl WorkForm {
    pub(super) fn check(self) -> Result<WorkEdit, ApiError> {
        Ok(WorkEdit {
            version: form_version(&self.version)?,
            status: work_status("status", &self.status)?,
            owner: edit::line("owner", Some(self.owner.unwrap_or_default()), MAX_OWNER)?,
            notes: edit::text("notes", Some(self.notes.unwrap_or_default()), MAX_NOTES)?,
        })
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
    let change = ControlChange {
        status: Some(e.status),
        owner: Some(e.owner),
        notes: Some(e.notes),
    };
    state
        .store
        .update_control(&c.auth.context(), &t, id, version, &change)
        .await?;
    Ok(super::back(&control_href(&t, id)))
}

/// The approve form has nothing but its CSRF field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

async fn approve(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, i64)>,
    ConsoleForm { console: c, .. }: ConsoleForm<NoFields>,
) -> Result<Response, ApiError> {
    let t = c.tenant(&state, &name, Need::Review).await?;
    let ids = state
        .store
        .approve_control_evidence(&c.auth.context(), &t, c.auth.principal.user_id, id)
        .await?;
    Ok(super::back(&format!(
        "{}?approved={}",
        control_href(&t, id),
        ids.len()
    )))
}

#[cfg(test)]
mod tests;

/// A count the store stops at [`COUNT_CAP`] + 1, for people: "10,000+".
fn capped(n: i64) -> String {
    if n > COUNT_CAP {
        format!("{}+", count(COUNT_CAP))
    } else {
        count(n)
    }
}
