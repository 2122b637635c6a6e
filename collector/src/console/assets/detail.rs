//! One asset: its facts, the provider document as discovered, its
//! relationships (a graph and, for keyboards and screen readers, a table)
//! and its results.

use std::collections::HashMap;

use axum::extract::State;
use maud::{Markup, html};

use super::graph;
use super::{label, tags};
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::auth::{Need, TenantAccess};
use crate::console::Console;
use crate::console::findings::{findings_table, tenant_path};
use crate::console::layout::{self, Page, Section, badge, count, segment, when};
use crate::http::AppState;
use crate::store::asset_graph::Neighbour;
use crate::store::assets::{AssetDetail, MAX_RELATIONSHIPS, RelationshipRow};
use crate::store::findings::{FindingFilter, FindingRow, FindingSort};
use crate::store::page::PageRequest;

/// Results shown on the asset's page (the rest on the filtered list).
const FINDINGS: i64 = 50;
/// Longest document shown (characters); longer ones are cut with a note.
const MAX_RAW: usize = 256 << 10;

pub(super) async fn detail(
    State(state): State<AppState>,
    c: Console,
    Path((name, id)): Path<(String, i64)>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let store = &state.store;
    let a = store
        .asset(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("asset"))?;
    let mut others: Vec<i64> = a
        .relationships
        .iter()
        .filter_map(|r| r.other_asset_id)
        .filter(|o| *o != id)
        .collect();
    others.sort_unstable();
    others.dedup();
    let neighbours: HashMap<i64, Neighbour> = store
        .neighbours(&t, &others)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let filter = FindingFilter {
        asset: Some(id),
        ..FindingFilter::default()
    };
    let mut findings = store
        .findings(&t, &filter, FindingSort::Id, &PageRequest::first(FINDINGS))
        .await?;
    let more = findings.len() as i64 > FINDINGS;
    findings.truncate(FINDINGS as usize);
    let now = c.auth.now;
    let body = html! {
        (facts(&t, &a, now))
        section #document {
            h2 { "Document as discovered" }
            (raw_document(&a.raw))
        }
        section #relationships {
            h2 { "Relationships" }
            (relationships(&t, &a, &neighbours, now))
        }
        section #findings {
            h2 { "Results" }
            (results(&t, id, &findings, more, now))
        }
    };
    let title = format!("Asset {}", label(&a.asset));
    layout::page(&state, &c, Some(&t), Section::Assets, &title, body).await
}

fn facts(t: &TenantAccess, d: &AssetDetail, now: i64) -> Markup {
    let a = &d.asset;
    let findings = format!("{}/findings?asset={}", tenant_path(t), a.id);
    let n = &d.results;
    html! {
        dl.facts #asset {
            dt { "Source id" } dd { code { (a.source_id) } }
            dt { "External id" } dd { code { (a.external_id) } }
            dt { "Kind" } dd { (a.kind) }
            dt { "Name" } dd { @match &a.name { Some(n) => (n), None => span.muted { "none" } } }
            dt { "Region" } dd { (a.region) }
            dt { "Account" } dd { (a.account) }
            dt { "Source" } dd { (a.source) }
            dt { "Tags" } dd.tags {
                @if a.tags.is_empty() { span.muted { "none" } } @else { (tags(t, a)) }
            }
            dt { "First seen" } dd { (when(Some(a.first_seen_at), now)) }
            dt { "Last seen" } dd { (when(Some(a.last_seen_at), now)) }
            dt { "State" } dd {
                (badge(if a.active { "active" } else { "inactive" }))
                @if !a.active { " " span.muted { "a complete scan no longer saw it" } }
            }
            dt { "Results" } dd {
                a href={ (findings) "&status=fail" } { (count(n.fail)) " failing" } ", "
                a href={ (findings) "&status=pass" } { (count(n.pass)) " passing" } ", "
                a href={ (findings) "&status=error" } { (count(n.error)) " in error" } ", "
                a href={ (findings) "&status=not_applicable" } { (count(n.not_applicable)) " not applicable" }
            }
        }
    }
}

/// The document, pretty-printed when it is JSON, as text (escaped).
fn raw_document(raw: &serde_json::Value) -> Markup {
    let text = match raw {
        serde_json::Value::String(s) => s.clone(),
        v => serde_json::to_string_pretty(v).unwrap_or_default(),
    };
    let cut = text.chars().count() > MAX_RAW;
    let shown: String = if cut {
        text.chars().take(MAX_RAW).collect()
    } else {
        text
    };
    html! {
        pre.raw #raw-document { (shown) }
        @if cut { p.notice { "The document is longer; the first " (count(MAX_RAW as i64)) " characters are shown." } }
    }
}

/// The other end of an edge, named for people.
fn other_label<'a>(
    r: &'a RelationshipRow,
    neighbours: &'a HashMap<i64, Neighbour>,
) -> (&'a str, &'a str) {
    let source = if r.direction == "outgoing" {
        &r.to_source_id
    } else {
        &r.from_source_id
    };
    let name = r
        .other_asset_id
        .and_then(|id| neighbours.get(&id))
        .and_then(|n| n.name.as_deref())
        .filter(|n| !n.is_empty())
        .unwrap_or(source);
    (name, source)
}

fn relationships(
    t: &TenantAccess,
    d: &AssetDetail,
    neighbours: &HashMap<i64, Neighbour>,
    now: i64,
) -> Markup {
    if d.relationships.is_empty() {
        return layout::empty("No relationships to other assets were discovered.");
    }
    let base = tenant_path(t);
    html! {
        (graph::graph(t, &d.asset, &d.relationships, neighbours))
        @if d.relationships_truncated {
            p.notice { "Only the first " (count(MAX_RELATIONSHIPS)) " relationships are shown." }
        }
        div.table-wrap {
            table.data #relationships-table {
                thead { tr {
                    th scope="col" { "Direction" }
                    th scope="col" { "Kind" }
                    th scope="col" { "Other asset" }
                    th scope="col" { "Edge" }
                    th scope="col" { "Discovered" }
                    th scope="col" { "Ended" }
                } }
                tbody {
                    @for r in &d.relationships {
                        @let (name, source) = other_label(r, neighbours);
                        tr {
                            td { @if r.direction == "outgoing" { "→ to" } @else { "← from" } }
                            td { (r.kind) }
                            td.wrap {
                                @match r.other_asset_id {
                                    Some(id) => a href={ (base) "/assets/" (id) } { (name) },
                                    None => span { (name) " " span.muted { "(not in the inventory)" } },
                                }
                                @if name != source { br; code.muted { (source) } }
                                @if let Some(n) = r.other_asset_id.and_then(|id| neighbours.get(&id)) {
                                    @if !n.active { " " (badge("inactive")) }
                                }
                            }
                            td { (badge(if r.is_active { "active" } else { "ended" })) }
                            td { (when(Some(r.discovered_at), now)) }
                            td { @match r.ended_at { Some(e) => (when(Some(e), now)), None => span.muted { "–" } } }
                        }
                    }
                }
            }
        }
    }
}

fn results(t: &TenantAccess, id: i64, rows: &[FindingRow], more: bool, now: i64) -> Markup {
    let base = tenant_path(t);
    let all = format!("{base}/findings?asset={id}");
    if rows.is_empty() {
        return layout::empty("No results for this asset within your view.");
    }
    html! {
        (findings_table(t, rows, now, "asset-findings", &|check| {
            format!("{base}/findings?asset={id}&check={}", segment(check))
        }))
        p { a #asset-findings-link href=(all) {
            @if more { "All results of this asset →" } @else { "These results in the findings list →" }
        } }
    }
}
