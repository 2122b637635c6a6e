//! Evidence review: the queue (filtered like `GET /evidence`), one record
//! with the controls it proves, its revisions and review history, the
//! decision form for reviewers, and one revision exactly as signed.
//!
//! The decision carries the ETag the reviewer read (`review_tag`) as a
//! hidden field: a decision on a record that changed since, or that got a
//! newer revision, is refused (412) by the store, as in the API.

mod revision;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::audit::fields::{day, day_end, day_value, int, notice, opt};
use super::layout::{self, Page, Section, badge, csrf_field, segment, when};
use super::{Console, ConsoleForm};
use crate::api::edit::{self, MAX_REF};
use crate::api::error::ApiError;
use crate::api::extract::{Path, Query};
use crate::api::page;
use crate::auth::{Need, TenantAccess};
use crate::http::AppState;
use crate::store::review::{EvidenceDetail, EvidenceFilter, EvidenceRow, ReviewStatus, review_tag};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/evidence", get(list))
        .route("/t/{tenant}/evidence/{id}", get(detail))
        .route("/t/{tenant}/evidence/{id}/review", post(review))
        .route(
            "/t/{tenant}/evidence/{id}/revisions/{version}",
            get(revision::page),
        )
}

/// Sort of the queue (cursors are the API's, tied to it).
const SORT: &str = "id";
/// Longest check id filter (as the API).
const MAX_CHECK: usize = 200;

/// The queue's filters, as the form sends them (blank fields are absent).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    status: Option<String>,
    framework: Option<String>,
    requirement: Option<String>,
    control: Option<String>,
    check: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

const STATUSES: [ReviewStatus; 4] = [
    ReviewStatus::InReview,
    ReviewStatus::Approved,
    ReviewStatus::Rejected,
    ReviewStatus::Flagged,
];

fn review_status(v: Option<String>) -> Result<Option<ReviewStatus>, ApiError> {
    opt(v)
        .map(|s| {
            STATUSES
                .into_iter()
                .find(|st| st.as_str() == s)
                .ok_or_else(|| {
                    ApiError::invalid("status must be in_review, approved, rejected or flagged")
                })
        })
        .transpose()
}

/// The API's checks of `GET /evidence`, on the form's fields.
fn filter_of(q: &ListParams) -> Result<EvidenceFilter, ApiError> {
    let framework = opt(q.framework.clone());
    let requirement = opt(q.requirement.clone());
    if requirement.is_some() && framework.is_none() {
        return Err(ApiError::invalid("requirement needs framework"));
    }
    Ok(EvidenceFilter {
        status: review_status(q.status.clone())?,
        framework: edit::framework_filter(framework)?,
        requirement: edit::id_filter("requirement", requirement, MAX_REF)?,
        control: int("control", q.control.clone())?,
        check: edit::id_filter("check", opt(q.check.clone()), MAX_CHECK)?,
        from: day("from", q.from.clone())?,
        to: day_end("to", q.to.clone())?,
    })
}

fn base(t: &TenantAccess) -> String {
    format!("/t/{}", segment(t.name()))
}

/// `GET /t/{tenant}/evidence`: the review queue.
async fn list(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    Query(q): Query<ListParams>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let filter = filter_of(&q)?;
    let req = page::request(None, opt(q.cursor.clone()).as_deref(), SORT)?;
    let store = &state.store;
    let rows = store.evidence_list(&t, &filter, &req).await?;
    let p = page::page(rows, &req, SORT, |e| (None, e.id));
    let mut ids: Vec<i64> = p.items.iter().filter_map(|e| e.reviewer_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let reviewers = store.reviewer_emails(&t, &ids).await?;
    let frameworks = store.frameworks(&t).await?;
    let body = html! {
        form.filters #evidence-filters method="get" action={ (base(&t)) "/evidence" } {
            label { "Framework"
                select name="framework" {
                    option value="" { "any" }
                    @for f in &frameworks {
                        option value=(f.id) selected[filter.framework.as_deref() == Some(f.id.as_str())] { (f.name) }
                    }
                }
            }
            label { "Requirement" input type="text" name="requirement" value=[filter.requirement.as_deref()] maxlength="100"; }
            label { "Control id" input type="number" name="control" min="1" value=[filter.control]; }
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in STATUSES {
                        option value=(s.as_str()) selected[filter.status == Some(s)] { (s.as_str().replace('_', " ")) }
                    }
                }
            }
            label { "Updated from" input type="date" name="from" value=(day_value(filter.from)); }
            label { "Updated to" input type="date" name="to" value=(day_value(filter.to)); }
            label { "Check" input type="text" name="check" value=[filter.check.as_deref()] maxlength="200"; }
            button type="submit" { "Filter" }
            a href={ (base(&t)) "/evidence" } { "Clear" }
        }
        (queue(&t, &p.items, &reviewers, c.auth.now))
        (layout::pager(&c.here, p.next_cursor.as_deref()))
    };
    layout::page(
        &state,
        &c,
        Some(&t),
        Section::Evidence,
        "Evidence review",
        body,
    )
    .await
}

fn queue(
    t: &TenantAccess,
    rows: &[EvidenceRow],
    reviewers: &HashMap<i64, String>,
    now: i64,
) -> Markup {
    if rows.is_empty() {
        return layout::empty("No evidence matches these filters.");
    }
    let base = base(t);
    html! {
        div.table-wrap { table.data #evidence-table {
            thead { tr {
                th scope="col" { "Check" }
                th scope="col" { "Asset" }
                th scope="col" { "Result" }
                th scope="col" { "Review" }
                th scope="col" { "Updated" }
                th scope="col" { "Reviewer" }
            } }
            tbody {
                @for e in rows {
                    tr data-evidence=(e.id) {
                        td.wrap {
                            a href={ (base) "/evidence/" (e.id) } { (e.check_title.as_deref().unwrap_or(&e.check_id)) }
                            br; span.muted { (e.check_id) }
                        }
                        td.wrap { (e.asset_name.as_deref().unwrap_or(&e.asset_source_id)) br; span.muted { (e.asset_type) } }
                        td { @match &e.result_status { Some(s) => (badge(s)), None => span.muted { "–" } } }
                        td { (badge(&e.status)) }
                        td { (when(e.updated_at, now)) }
                        td.wrap { (reviewer(e.reviewer_id, reviewers.get(&e.reviewer_id.unwrap_or(0)).map(String::as_str))) }
                    }
                }
            }
        } }
    }
}

fn reviewer(id: Option<i64>, email: Option<&str>) -> Markup {
    match (id, email) {
        (_, Some(e)) => html! { (e) },
        (Some(id), None) => html! { "user " (id) },
        (None, None) => html! { span.muted { "–" } },
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailParams {
    notice: Option<String>,
}

/// `GET /t/{tenant}/evidence/{id}`: one record.
async fn detail(
    State(state): State<AppState>,
    c: Console,
    Path((name, id)): Path<(String, i64)>,
    Query(q): Query<DetailParams>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let d = state
        .store
        .evidence_detail(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("evidence record"))?;
    let now = c.auth.now;
    let e = &d.evidence;
    let title = format!(
        "Evidence {}: {}",
        e.id,
        e.check_title.as_deref().unwrap_or(&e.check_id)
    );
    let body = html! {
        (notice(q.notice.as_deref()))
        p { a href={ (base(&t)) "/evidence" } { "← Review queue" } }
        section {
            h2 { "Record" }
            (facts(&d, now))
        }
        @if Need::Review.allows(t.role()) {
            section { h2 { "Decision" } (review_form(&c, &t, &d)) }
        }
        section {
            h2 { "Controls it proves" }
            (controls(&t, &d))
        }
        section {
            h2 { "Revisions" }
            (revisions(&t, &d, now))
        }
        section {
            h2 { "Review history" }
            (history(&t, &d, now))
        }
    };
    layout::page(&state, &c, Some(&t), Section::Evidence, &title, body).await
}

fn facts(d: &EvidenceDetail, now: i64) -> Markup {
    let e = &d.evidence;
    html! {
        dl.facts #evidence {
            dt { "Check" } dd { (e.check_title.as_deref().unwrap_or("")) " " code { (e.check_id) } }
            dt { "Asset" } dd { (e.asset_name.as_deref().unwrap_or("(unnamed)")) " " span.muted { (e.asset_type) } }
            dt { "Asset source id" } dd { code { (e.asset_source_id) } }
            dt { "Review status" } dd #review-status { (badge(&e.status)) }
            dt { "Latest result" } dd { @match &e.result_status { Some(s) => (badge(s)), None => span.muted { "–" } } }
            dt { "Kind" } dd { @if e.is_continuous { "continuous (updated by every scan)" } @else { "point in time" } }
            dt { "Created" } dd { (when(Some(e.created_at), now)) }
            dt { "Updated" } dd { (when(e.updated_at, now)) }
            dt { "Reviewer" } dd { (reviewer(e.reviewer_id, d.reviewer_email.as_deref())) }
            dt { "Reviewed" } dd { (when(e.reviewed_at, now)) }
            dt { "Comment" } dd.wrap { @match &d.review_comment { Some(c) => (c), None => span.muted { "–" } } }
        }
    }
}

fn review_form(c: &Console, t: &TenantAccess, d: &EvidenceDetail) -> Markup {
    let e = &d.evidence;
    let tag = review_tag(e.review_version, e.latest_revision);
    html! {
        form.stack #review-form method="post" action={ (base(t)) "/evidence/" (e.id) "/review" } {
            (csrf_field(c))
            input type="hidden" name="tag" value=(tag);
            label for="review-comment" { "Comment (needed to reject or flag)" }
            textarea #review-comment name="comment" maxlength="2000" {}
            div.actions {
                button #approve type="submit" name="status" value="approved" { "Approve" }
                button.danger #reject type="submit" name="status" value="rejected" { "Reject" }
                button.secondary #flag type="submit" name="status" value="flagged" { "Flag" }
            }
        }
    }
}

fn controls(t: &TenantAccess, d: &EvidenceDetail) -> Markup {
    if d.controls.is_empty() {
        return layout::empty("It is linked to no control you can see.");
    }
    html! {
        ul #evidence-controls {
            @for c in &d.controls {
                li { a href={ (base(t)) "/controls/" (c.id) } { (c.key) " " (c.name) } " " (badge(&c.posture)) }
            }
        }
    }
}

fn revisions(t: &TenantAccess, d: &EvidenceDetail, now: i64) -> Markup {
    if d.revisions.is_empty() {
        return layout::empty("No revisions you can see.");
    }
    let id = d.evidence.id;
    html! {
        table.data #revisions {
            thead { tr {
                th.num scope="col" { "Version" }
                th scope="col" { "Result" }
                th scope="col" { "Batch" }
                th scope="col" { "Received" }
            } }
            tbody {
                @for r in &d.revisions {
                    tr {
                        td.num { a href={ (base(t)) "/evidence/" (id) "/revisions/" (r.version) } { (r.version) } }
                        td { (badge(&r.status)) }
                        td { code { (r.batch_id) } }
                        td { (when(Some(r.created_at), now)) }
                    }
                }
            }
        }
    }
}

fn history(t: &TenantAccess, d: &EvidenceDetail, now: i64) -> Markup {
    if d.reviews.is_empty() {
        return layout::empty("No decisions yet.");
    }
    let id = d.evidence.id;
    html! {
        table.data #review-history {
            thead { tr {
                th scope="col" { "Who" }
                th scope="col" { "Decision" }
                th scope="col" { "Comment" }
                th scope="col" { "When" }
                th.num scope="col" { "Revision" }
            } }
            tbody {
                @for r in &d.reviews {
                    tr {
                        td.wrap { (reviewer(Some(r.reviewer_id), r.reviewer_email.as_deref())) }
                        td { (badge(&r.previous_status)) " → " (badge(&r.status)) }
                        td.wrap { @if r.comment.is_empty() { span.muted { "–" } } @else { (r.comment) } }
                        td { (when(Some(r.at), now)) }
                        td.num { @match r.revision {
                            Some(v) => a href={ (base(t)) "/evidence/" (id) "/revisions/" (v) } { (v) },
                            None => span.muted { "–" },
                        } }
                    }
                }
            }
        }
    }
}

/// The decision form's fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewForm {
    status: ReviewStatus,
    comment: Option<String>,
    /// The record's ETag as read (`review_tag`).
    tag: String,
}

/// `POST /t/{tenant}/evidence/{id}/review`: decide (auditors, admins).
async fn review(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, i64)>,
    form: ConsoleForm<ReviewForm>,
) -> Result<Response, ApiError> {
    let ConsoleForm { console: c, form } = form;
    let t = c.tenant(&state, &name, Need::Review).await?;
    let if_match = form.tag.trim().parse::<i64>().map_err(|_| {
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "stale",
            "the form does not name the record's current version; read it again and retry",
        )
    })?;
    let decision = crate::api::evidence::decision(form.status, form.comment)?;
    let ctx = c.auth.context();
    state
        .store
        .review_evidence(&ctx, &t, c.auth.principal.user_id, id, if_match, &decision)
        .await?;
    Ok(super::back(&format!(
        "{}/evidence/{id}?notice=reviewed",
        base(&t)
    )))
}
