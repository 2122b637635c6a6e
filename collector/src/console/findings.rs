//! The findings pages: a tenant's check results with the API's filters,
//! sorts and keyset pages ([`list`]), one result with its history, evidence
//! and controls ([`detail`]), and the filtered view as CSV or JSON
//! ([`export`]).
//!
//! The filters are the API's `ResultsQuery`, checked the way the API checks
//! them ([`View::of`], shared with the API); the console only adds what browsers need: a filter
//! form submits every field, so empty values mean "no filter".

mod detail;
mod export;
#[cfg(test)]
pub(crate) mod tests;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use maud::{Markup, html};
use serde::de::DeserializeOwned;

use super::Console;
use super::layout::{self, Page, Section, badge, count, segment, when};
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::api::filter::{MAX_NAME, MAX_SEARCH};
use crate::api::findings::View;
use crate::api::page;
use crate::auth::{Need, TenantAccess};
use crate::http::AppState;
use crate::store::findings::FindingRow;

/// Routes of this module. The export paths are static segments, which axum
/// matches before `{id}` (a test checks it).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/findings", get(list))
        .route("/t/{tenant}/findings/export.csv", get(export::csv))
        .route("/t/{tenant}/findings/export.json", get(export::json))
        .route("/t/{tenant}/findings/{id}", get(detail::detail))
}

/// `/t/{tenant}`, encoded.
pub(crate) fn tenant_path(t: &TenantAccess) -> String {
    format!("/t/{}", segment(t.name()))
}

/// The query string of a filter form as `T`. Browsers submit every field
/// of a form, so values that are empty (after trimming) are dropped: an
/// empty field is no filter. `fix` sees every remaining (key, value) and
/// may rewrite the value or drop the pair (`None`). Control characters are
/// refused as the API's `Query` refuses them; unknown keys are refused by
/// `T` itself (the API's query structs deny them).
pub(crate) fn filter_query<T: DeserializeOwned>(
    raw: Option<&str>,
    fix: impl Fn(&str, String) -> Option<String>,
) -> Result<T, ApiError> {
    let invalid = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", m);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| invalid(format!("the query does not parse: {e}")))?;
    if pairs
        .iter()
        .any(|(k, v)| k.chars().chain(v.chars()).any(char::is_control))
    {
        return Err(invalid(
            "query parameters must not contain control characters".into(),
        ));
    }
    let kept: Vec<(String, String)> = pairs
        .into_iter()
        .filter_map(|(k, v)| {
            let v = v.trim().to_string();
            if v.is_empty() {
                return None;
            }
            fix(&k, v).map(|v| (k, v))
        })
        .collect();
    let encoded = serde_urlencoded::to_string(&kept).map_err(|e| invalid(e.to_string()))?;
    serde_urlencoded::from_str(&encoded).map_err(|e| invalid(e.to_string()))
}

/// Status and severity as the API names them (lower case), whatever case a
/// link used (`status=FAIL`).
fn lower_enums(key: &str, value: String) -> Option<String> {
    Some(match key {
        "status" | "severity" | "sort" => value.to_ascii_lowercase(),
        _ => value,
    })
}

/// The view of a request's query string (see [`filter_query`]).
pub(crate) fn parse_view(t: &TenantAccess, raw: Option<&str>) -> Result<View, ApiError> {
    View::of(t, filter_query(raw, lower_enums)?)
}

/// The statuses of the filter: (value, label).
const STATUSES: [(&str, &str); 4] = [
    ("pass", "pass"),
    ("fail", "fail"),
    ("error", "error"),
    ("not_applicable", "not applicable"),
];
/// The severities of the filter.
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "informational"];
/// The sorts: (value, label).
const SORTS: [(&str, &str); 5] = [
    ("id", "Oldest first"),
    ("-id", "Newest first"),
    ("severity", "Most severe first"),
    ("check", "By check"),
    ("observed", "Last observed first"),
];

async fn list(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let view = parse_view(&t, raw.as_deref())?;
    let rows = state
        .store
        .findings(&t, &view.filter, view.sort, &view.req)
        .await?;
    let sort = view.sort;
    let page = page::page(rows, &view.req, sort.as_str(), |r| (sort.key(r), r.id));
    let base = tenant_path(&t);
    let exports = export_query(&c.here);
    let here = c.here.clone();
    let body = html! {
        (filter_form(&t, &view))
        p.actions {
            a #export-csv href={ (base) "/findings/export.csv" (exports) } { "Export CSV" }
            a #export-json href={ (base) "/findings/export.json" (exports) } { "Export JSON" }
        }
        @if page.items.is_empty() {
            (layout::empty(if view.req.after.is_some() {
                "No more results."
            } else {
                "No results match these filters."
            }))
        } @else {
            p.muted #findings-count { "Showing " (count(page.items.len() as i64)) " results"
                @if page.next_cursor.is_some() { " (more on the next page)" } "." }
            (findings_table(&t, &page.items, c.auth.now, "findings-table", &|check| {
                layout::with_param(&here, "check", check)
            }))
        }
        (layout::pager(&c.here, page.next_cursor.as_deref()))
    };
    layout::page(&state, &c, Some(&t), Section::Findings, "Findings", body).await
}

/// `?…` of `here` without its cursor and page size (an export is every
/// page), or nothing.
fn export_query(here: &str) -> String {
    let query = here.split_once('?').map_or("", |(_, q)| q);
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs.retain(|(k, v)| k != "cursor" && k != "limit" && !v.trim().is_empty());
    let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if q.is_empty() { q } else { format!("?{q}") }
}

/// A text field of the filter form.
fn text_field(label: &str, name: &str, value: Option<&str>, size: u32) -> Markup {
    html! {
        label { (label)
            input type="text" name=(name) value=[value] size=(size) maxlength=(MAX_NAME);
        }
    }
}

fn filter_form(t: &TenantAccess, v: &View) -> Markup {
    let f = &v.filter;
    let status = f.status.map(|s| s.as_str());
    let severity = f.severity.map(|s| s.as_str());
    let sort = v.sort.as_str();
    let control = f.control.map(|c| c.to_string());
    html! {
        form.filters #findings-filters method="get" action={ (tenant_path(t)) "/findings" } {
            @if let Some(asset) = f.asset {
                input type="hidden" name="asset" value=(asset);
            }
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for (value, label) in STATUSES {
                        option value=(value) selected[status == Some(value)] { (label) }
                    }
                }
            }
            label { "Severity"
                select name="severity" {
                    option value="" { "any" }
                    @for value in SEVERITIES {
                        option value=(value) selected[severity == Some(value)] { (value) }
                    }
                }
            }
            (text_field("Check", "check", f.check.as_deref(), 18))
            (text_field("Region", "region", f.region.as_deref(), 12))
            (text_field("Resource kind", "kind", f.kind.as_deref(), 14))
            label { "Control id"
                input type="number" name="control" value=[control.as_deref()] min="1" size="6";
            }
            (text_field("Framework", "framework", f.framework.as_deref(), 12))
            (text_field("Requirement", "requirement", f.requirement.as_deref(), 10))
            label { "Search"
                input type="search" name="q" value=[f.q.as_deref()] size="18" maxlength=(MAX_SEARCH);
            }
            label { "Sort"
                select name="sort" {
                    @for (value, label) in SORTS {
                        option value=(value) selected[sort == value] { (label) }
                    }
                }
            }
            button type="submit" { "Filter" }
            a.clear href={ (tenant_path(t)) "/findings" } { "Clear" }
        }
        @if let Some(asset) = f.asset {
            p.notice { "Results of "
                a href={ (tenant_path(t)) "/assets/" (asset) } { "asset #" (asset) } " only." }
        }
    }
}

/// The result's asset, named for people: its name, else its source id.
pub(crate) fn asset_label(r: &FindingRow) -> &str {
    r.asset_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&r.asset_source_id)
}

/// A table of results (`id` is its element id); `check_href` gives the link
/// of a check id (the list narrowed to that check).
pub(crate) fn findings_table(
    t: &TenantAccess,
    rows: &[FindingRow],
    now: i64,
    id: &str,
    check_href: &dyn Fn(&str) -> String,
) -> Markup {
    let base = tenant_path(t);
    html! {
        div.table-wrap {
            table.data.findings id=(id) {
                thead { tr {
                    th scope="col" { "Result" }
                    th scope="col" { "Status" }
                    th scope="col" { "Severity" }
                    th scope="col" { "Check" }
                    th scope="col" { "Asset" }
                    th scope="col" { "Region" }
                    th scope="col" { "Status text" }
                    th scope="col" { "Observed" }
                } }
                tbody {
                    @for r in rows {
                        tr data-id=(r.id) {
                            td.num { a href={ (base) "/findings/" (r.id) } { "#" (r.id) } }
                            td { (badge(&r.status)) }
                            td { (badge(&r.severity)) }
                            td.wrap {
                                a href=(check_href(&r.check_id)) title=(r.check_title) { (r.check_id) }
                            }
                            td.wrap {
                                a href={ (base) "/assets/" (r.asset_id) } title=(r.asset_source_id) { (asset_label(r)) }
                                br; span.muted { (r.asset_kind) }
                            }
                            td { (r.asset_region) }
                            td.wrap.status-text { (r.status_extended) }
                            td { (when(Some(r.observed_at), now)) }
                        }
                    }
                }
            }
        }
    }
}
