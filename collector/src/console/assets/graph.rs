//! An asset's neighbourhood as server-rendered SVG: the asset in the
//! centre, one node per neighbour on a circle around it (edges to the same
//! neighbour share one line, labelled with their kinds), each neighbour a
//! link to its page. Colours and dashes come from the stylesheet through
//! fixed classes; every text is escaped by maud.

use std::collections::HashMap;
use std::f64::consts::PI;

use maud::{Markup, html};

use crate::auth::TenantAccess;
use crate::console::findings::tenant_path;
use crate::console::layout::count;
use crate::store::asset_graph::Neighbour;
use crate::store::assets::{AssetRow, RelationshipRow};

/// Most neighbours drawn; the rest are counted below the graph (and all
/// are in the table).
pub(super) const MAX_DRAWN: usize = 24;
/// Longest node label (characters).
const MAX_LABEL: usize = 22;

const W: f64 = 720.0;
const H: f64 = 460.0;

/// One neighbour and the edges to it.
struct Node<'a> {
    source_id: &'a str,
    asset_id: Option<i64>,
    kinds: Vec<&'a str>,
    /// Some edge to it is still seen.
    edge_active: bool,
}

/// The neighbours of `center` in the order their first edge comes.
fn nodes<'a>(center: &AssetRow, rels: &'a [RelationshipRow]) -> Vec<Node<'a>> {
    let mut out: Vec<Node<'a>> = Vec::new();
    for r in rels {
        let other = if r.direction == "outgoing" {
            r.to_source_id.as_str()
        } else {
            r.from_source_id.as_str()
        };
        if other == center.source_id {
            continue;
        }
        match out.iter_mut().find(|n| n.source_id == other) {
            Some(n) => {
                if !n.kinds.contains(&r.kind.as_str()) {
                    n.kinds.push(&r.kind);
                }
                n.edge_active |= r.is_active;
            }
            None => out.push(Node {
                source_id: other,
                asset_id: r.other_asset_id,
                kinds: vec![&r.kind],
                edge_active: r.is_active,
            }),
        }
    }
    out
}

/// `s` cut to `max` characters (with an ellipsis).
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// The last part of an ARN-like id (`…/vol-1`), for labels.
fn tail(source_id: &str) -> &str {
    source_id
        .rsplit(['/', ':'])
        .find(|p| !p.is_empty())
        .unwrap_or(source_id)
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// The graph of `center` and its neighbours (`neighbours` by asset id, for
/// names and states).
pub(super) fn graph(
    t: &TenantAccess,
    center: &AssetRow,
    rels: &[RelationshipRow],
    neighbours: &HashMap<i64, Neighbour>,
) -> Markup {
    let all = nodes(center, rels);
    let drawn = &all[..all.len().min(MAX_DRAWN)];
    let base = tenant_path(t);
    let (cx, cy) = (W / 2.0, H / 2.0);
    let n = drawn.len().max(1) as f64;
    let center_label = short(
        center
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(tail(&center.source_id)),
        MAX_LABEL,
    );
    html! {
        svg.graph #asset-graph viewBox={ "0 0 " (fmt(W)) " " (fmt(H)) } role="group"
            aria-label={ "Relationships of " (center_label) ": " (count(all.len() as i64)) " neighbours" } {
            @for (i, node) in drawn.iter().enumerate() {
                @let angle = -PI / 2.0 + 2.0 * PI * i as f64 / n;
                // Alternate radii when crowded, so that labels overlap less.
                @let radius = if drawn.len() > 12 && i % 2 == 1 { 200.0 } else { 160.0 };
                @let (x, y) = (cx + radius * angle.cos(), cy + radius * angle.sin());
                @let (lx, ly) = (cx + (radius * 0.55) * angle.cos(), cy + (radius * 0.55) * angle.sin());
                line class=(if node.edge_active { "edge" } else { "edge ended" })
                    x1=(fmt(cx)) y1=(fmt(cy)) x2=(fmt(x)) y2=(fmt(y)) {}
                text.elabel x=(fmt(lx)) y=(fmt(ly)) text-anchor="middle" { (short(&node.kinds.join(", "), 28)) }
            }
            g.center {
                circle class="node center" cx=(fmt(cx)) cy=(fmt(cy)) r="16" {
                    title { (center.kind) " " (center.source_id) }
                }
                text x=(fmt(cx)) y=(fmt(cy + 30.0)) text-anchor="middle" { (center_label) }
            }
            @for (i, node) in drawn.iter().enumerate() {
                @let angle = -PI / 2.0 + 2.0 * PI * i as f64 / n;
                @let radius = if drawn.len() > 12 && i % 2 == 1 { 200.0 } else { 160.0 };
                @let (x, y) = (cx + radius * angle.cos(), cy + radius * angle.sin());
                @let info = node.asset_id.and_then(|id| neighbours.get(&id));
                @let inactive = info.is_some_and(|n| !n.active);
                @let name = info.and_then(|n| n.name.as_deref()).filter(|n| !n.is_empty()).unwrap_or(tail(node.source_id));
                @let anchor = if angle.cos() > 0.2 { "start" } else if angle.cos() < -0.2 { "end" } else { "middle" };
                @let (tx, ty) = (x + 14.0 * angle.cos(), y + 14.0 * angle.sin() + if angle.sin() > 0.0 { 8.0 } else { 0.0 });
                @let circle = html! {
                    circle class=(if inactive { "node inactive" } else { "node" }) cx=(fmt(x)) cy=(fmt(y)) r="10" {
                        title {
                            @if let Some(i) = info { (i.kind) " " }
                            (node.source_id)
                            @if inactive { " (inactive)" }
                        }
                    }
                    text x=(fmt(tx)) y=(fmt(ty)) text-anchor=(anchor) { (short(name, MAX_LABEL)) }
                };
                @match node.asset_id {
                    Some(id) => a.neighbour href={ (base) "/assets/" (id) } { (circle) },
                    None => g.neighbour { (circle) },
                }
            }
        }
        @if all.len() > drawn.len() {
            p.muted #graph-more { "And " (count((all.len() - drawn.len()) as i64)) " more neighbours, listed in the table below." }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_short_and_tails_read_well() {
        assert_eq!(tail("arn:aws:ec2:us-east-1:1:volume/vol-1"), "vol-1");
        assert_eq!(tail("arn:aws:s3:::bucket"), "bucket");
        assert_eq!(short("abcdef", 4), "abc…");
        assert_eq!(short("abc", 4), "abc");
    }
}
