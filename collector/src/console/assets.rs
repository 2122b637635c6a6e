//! The inventory pages: a tenant's assets with the API's filters and keyset
//! pages ([`list`]), and one asset with its document, its neighbourhood as
//! a graph and its results ([`detail`]).
//!
//! The filters are the API's `AssetsQuery`, checked as the API checks them;
//! the form's `active` select (all / active / inactive) is the API's
//! optional boolean.

mod detail;
mod graph;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use maud::{Markup, html};

use super::Console;
use super::findings::{filter_query, tenant_path};
use super::layout::{self, Page, Section, badge, count, when};
use crate::api::assets::AssetsQuery;
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::api::filter::{self, MAX_NAME, MAX_SEARCH};
use crate::api::page;
use crate::auth::{Need, TenantAccess};
use crate::http::AppState;
use crate::store::assets::{AssetFilter, AssetRow};
use crate::store::page::PageRequest;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/assets", get(list))
        .route("/t/{tenant}/assets/{id}", get(detail::detail))
}

/// The form's `active` choice as the API's boolean (`all` is no filter).
fn active_choice(key: &str, value: String) -> Option<String> {
    if key != "active" {
        return Some(value);
    }
    match value.as_str() {
        "all" => None,
        "active" => Some("true".into()),
        "inactive" => Some("false".into()),
        _ => Some(value),
    }
}

/// The filter and page of a request's query, as `list_assets` checks them.
fn view(raw: Option<&str>) -> Result<(AssetFilter, PageRequest), ApiError> {
    let q: AssetsQuery = filter_query(raw, active_choice)?;
    let req = page::request(q.limit, q.cursor.as_deref(), "id")?;
    if req.after.as_ref().is_some_and(|c| c.key.is_some()) {
        return Err(filter::bad_cursor());
    }
    let filter = AssetFilter {
        kind: filter::text("kind", q.kind, MAX_NAME)?,
        region: filter::text("region", q.region, MAX_NAME)?,
        active: q.active,
        tag: crate::api::assets::tag(q.tag)?,
        q: filter::text("q", q.q, MAX_SEARCH)?,
    };
    Ok((filter, req))
}

async fn list(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let (filter, req) = view(raw.as_deref())?;
    let rows = state.store.assets(&t, &filter, &req).await?;
    let page = page::page(rows, &req, "id", |a| (None, a.id));
    let body = html! {
        (filter_form(&t, &filter))
        @if page.items.is_empty() {
            (layout::empty(if req.after.is_some() {
                "No more assets."
            } else {
                "No assets match these filters."
            }))
        } @else {
            p.muted #assets-count { "Showing " (count(page.items.len() as i64)) " assets"
                @if page.next_cursor.is_some() { " (more on the next page)" } "." }
            (assets_table(&t, &page.items, c.auth.now))
        }
        (layout::pager(&c.here, page.next_cursor.as_deref()))
    };
    layout::page(&state, &c, Some(&t), Section::Assets, "Assets", body).await
}

fn filter_form(t: &TenantAccess, f: &AssetFilter) -> Markup {
    let active = match f.active {
        None => "all",
        Some(true) => "active",
        Some(false) => "inactive",
    };
    let tag = f.tag.as_ref().map(|(k, v)| format!("{k}={v}"));
    html! {
        form.filters #assets-filters method="get" action={ (tenant_path(t)) "/assets" } {
            label { "Kind"
                input type="text" name="kind" value=[f.kind.as_deref()] size="16" maxlength=(MAX_NAME);
            }
            label { "Region"
                input type="text" name="region" value=[f.region.as_deref()] size="12" maxlength=(MAX_NAME);
            }
            label { "State"
                select name="active" {
                    @for (value, label) in [("all", "all"), ("active", "active"), ("inactive", "inactive")] {
                        option value=(value) selected[active == value] { (label) }
                    }
                }
            }
            label { "Tag (key=value)"
                input type="text" name="tag" value=[tag.as_deref()] size="16" maxlength="385";
            }
            label { "Search"
                input type="search" name="q" value=[f.q.as_deref()] size="18" maxlength=(MAX_SEARCH);
            }
            button type="submit" { "Filter" }
            a.clear href={ (tenant_path(t)) "/assets" } { "Clear" }
        }
    }
}

/// An asset named for people: its name, else its source id.
pub(crate) fn label(a: &AssetRow) -> &str {
    a.name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&a.source_id)
}

/// Tags as `key=value` chips, each a link to the list filtered by it.
fn tags(t: &TenantAccess, a: &AssetRow) -> Markup {
    let base = tenant_path(t);
    html! {
        @for (k, v) in &a.tags {
            @let pair = format!("{k}={v}");
            a.tag href={ (base) "/assets?" (serde_urlencoded::to_string([("tag", pair.as_str())]).unwrap_or_default()) } {
                (pair)
            }
            " "
        }
    }
}

fn assets_table(t: &TenantAccess, rows: &[AssetRow], now: i64) -> Markup {
    let base = tenant_path(t);
    html! {
        div.table-wrap {
            table.data #assets-table {
                thead { tr {
                    th scope="col" { "Asset" }
                    th scope="col" { "Kind" }
                    th scope="col" { "Region" }
                    th scope="col" { "Source id" }
                    th scope="col" { "Tags" }
                    th scope="col" { "Last seen" }
                    th scope="col" { "State" }
                } }
                tbody {
                    @for a in rows {
                        tr data-id=(a.id) class=[(!a.active).then_some("inactive")] {
                            td.wrap { a href={ (base) "/assets/" (a.id) } { (label(a)) } }
                            td { (a.kind) }
                            td { (a.region) }
                            td.wrap { code { (a.source_id) } }
                            td.wrap.tags { (tags(t, a)) }
                            td { (when(Some(a.last_seen_at), now)) }
                            td { (badge(if a.active { "active" } else { "inactive" })) }
                        }
                    }
                }
            }
        }
    }
}
