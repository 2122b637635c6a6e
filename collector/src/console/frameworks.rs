//! Frameworks: the ones the caller may see with their figures, and one
//! framework's requirement tree. A framework shows two numbers kept apart,
//! as the store computes them: the scan coverage (requirements with a
//! scanned control, the derived statuses) and the compliance score of the
//! people's assessments. One requirement and its assessment form are in
//! [`requirement`].

pub mod requirement;

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};

use super::Console;
use super::chart;
use super::controls::{check_href, control_href, posture_badge, requirement_href, tenant_base};
use super::layout::{self, Page, Section, badge, count, pct, segment};
use super::overview::requirement_segments;
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::api::frameworks::visible;
use crate::auth::{Need, TenantAccess};
use crate::http::AppState;
use crate::store::controls::LinkedCheck;
use crate::store::frameworks::{FrameworkSummary, RequirementControl, RequirementEntry};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{tenant}/frameworks", get(list))
        .route("/t/{tenant}/frameworks/{framework}", get(detail))
        .merge(requirement::routes())
}

/// A framework's page.
pub(crate) fn framework_href(t: &TenantAccess, id: &str) -> String {
    format!("{}/frameworks/{}", tenant_base(t), segment(id))
}

/// An element id for requirement `ref_id`: `req-` and the id with anything
/// but ASCII letters and digits as `-` (ids stay valid and stable).
pub(crate) fn requirement_anchor(ref_id: &str) -> String {
    let mut out = String::with_capacity(ref_id.len() + 4);
    out.push_str("req-");
    out.extend(
        ref_id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }),
    );
    out
}

async fn list(State(state): State<AppState>, c: Console, Path(name): Path<String>) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let frameworks = state.store.frameworks(&t).await?;
    let body = html! {
        @if frameworks.is_empty() {
            (layout::empty("No frameworks are loaded (import the SCF catalog on the collector)."))
        } @else {
            p.muted {
                "Coverage counts the requirements with a scanned control; the score comes from "
                "the requirements' assessments alone. Neither enters the other."
            }
            div.table-wrap {
                table.data #frameworks-table {
                    thead { tr {
                        th scope="col" { "Framework" }
                        th scope="col" { "Requirements by scan status" }
                        th.num scope="col" { "Passing" }
                        th.num scope="col" { "Partial" }
                        th.num scope="col" { "Issues" }
                        th.num scope="col" { "Not scanned" }
                        th.num scope="col" { "Coverage" }
                        th.num scope="col" { "Compliance score" }
                        th.num scope="col" { "Assessed" }
                    } }
                    tbody {
                        @for f in &frameworks {
                            @let segs = requirement_segments(f);
                            tr data-framework=(f.id) {
                                th scope="row" { a href=(framework_href(&t, &f.id)) { (f.name) } " " span.muted { (f.version) } }
                                td.barcell { (chart::stacked_bar(&segs, &format!("{} requirements by status", f.name))) }
                                @for s in &segs { td.num { (count(s.value)) } }
                                td.num title={ (f.covered) " of " (f.assessable) " requirements" } { (pct(f.coverage_pct)) }
                                td.num { (score(f)) }
                                td.num { (count(f.assessed)) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(
        &state,
        &c,
        Some(&t),
        Section::Frameworks,
        "Frameworks",
        body,
    )
    .await
}

/// The compliance score, or a dash when nothing is assessed.
fn score(f: &FrameworkSummary) -> Markup {
    match f.compliance_score_pct {
        Some(p) => html! { (pct(p)) },
        None => html! { span.muted title="No requirement is assessed yet" { "–" } },
    }
}

/// A framework's two figures side by side, never merged.
pub(crate) fn figures(f: &FrameworkSummary) -> Markup {
    let segs = requirement_segments(f);
    html! {
        div.columns #framework-figures {
            section #scan-coverage {
                h2 { "Scan coverage" }
                p.figure { (pct(f.coverage_pct)) }
                p.muted { (count(f.covered)) " of " (count(f.assessable)) " requirements have a scanned control." }
                (chart::stacked_bar(&segs, &format!("{} requirements by scan status", f.name)))
                p.legend {
                    @for s in &segs { span class={ "key " (s.class) } {} (s.label) " " (count(s.value)) " " }
                }
            }
            section #compliance-score {
                h2 { "Compliance score (assessments)" }
                p.figure { (score(f)) }
                p.muted { (count(f.assessed)) " requirements assessed by hand count toward the score." }
            }
        }
    }
}

async fn detail(
    State(state): State<AppState>,
    c: Console,
    Path((name, framework)): Path<(String, String)>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let id = visible(&t, &framework)?;
    let d = state
        .store
        .framework_detail(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("framework"))?;
    let control_ids: Vec<i64> = d
        .requirements
        .iter()
        .flat_map(|n| n.controls.iter().map(|rc| rc.id))
        .collect();
    let checks = state.store.checks_of_controls(&t, &control_ids).await?;
    let tree = Tree::new(&t, id, &d.requirements, &checks);
    let body = html! {
        p { a href={ (tenant_base(&t)) "/frameworks" } { "← All frameworks" } " " span.muted { (d.summary.version) } }
        (figures(&d.summary))
        section #requirements {
            h2 { "Requirements" }
            @if d.requirements.is_empty() {
                (layout::empty("This framework's requirements are not loaded."))
            } @else {
                (tree.render())
            }
        }
    };
    layout::page(
        &state,
        &c,
        Some(&t),
        Section::Frameworks,
        &d.summary.name,
        body,
    )
    .await
}

/// The requirement tree: nodes in document order, children by parent.
struct Tree<'a> {
    t: &'a TenantAccess,
    framework: &'a str,
    nodes: &'a [RequirementEntry],
    /// The checks behind each control, by control id.
    checks: &'a BTreeMap<i64, Vec<LinkedCheck>>,
    children: HashMap<&'a str, Vec<usize>>,
    roots: Vec<usize>,
}

impl<'a> Tree<'a> {
    fn new(
        t: &'a TenantAccess,
        framework: &'a str,
        nodes: &'a [RequirementEntry],
        checks: &'a BTreeMap<i64, Vec<LinkedCheck>>,
    ) -> Self {
        let known: HashSet<&str> = nodes.iter().map(|n| n.ref_id.as_str()).collect();
        let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut roots = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            match n.parent_ref_id.as_deref() {
                // A node is its own parent only in broken data: a root then.
                Some(p) if known.contains(p) && p != n.ref_id => {
                    children.entry(p).or_default().push(i);
                }
                _ => roots.push(i),
            }
        }
        Self {
            t,
            framework,
            nodes,
            checks,
            children,
            roots,
        }
    }

    fn render(&self) -> Markup {
        let mut seen = HashSet::new();
        html! {
            ul.tree #requirement-tree {
                @for &i in &self.roots { (self.node(i, &mut seen)) }
            }
        }
    }

    /// One node and its subtree (each node once, whatever the data says).
    fn node(&self, i: usize, seen: &mut HashSet<usize>) -> Markup {
        if !seen.insert(i) {
            return html! {};
        }
        let n = &self.nodes[i];
        let kids: &[usize] = self
            .children
            .get(n.ref_id.as_str())
            .map_or(&[], Vec::as_slice);
        html! {
            li id=(requirement_anchor(&n.ref_id)) data-status=(n.status) class=(if n.assessable { "requirement" } else { "heading" }) {
                div.node {
                    (badge(&n.status)) " "
                    a.ref href=(requirement_href(self.t, self.framework, &n.ref_id)) { (n.ref_id) }
                    @if let Some(name) = &n.name { " " span.name { (name) } }
                    @if let Some(a) = &n.assessment {
                        " " span.assessed title="Assessment result" { "assessed: " (badge(a.result.as_str())) }
                    }
                }
                @if !n.controls.is_empty() {
                    ul.controls {
                        @for rc in &n.controls {
                            li {
                                (control_link(self.t, rc))
                                @if let Some(list) = self.checks.get(&rc.id) {
                                    " " span.checks {
                                        "checks: "
                                        @for (j, k) in list.iter().enumerate() {
                                            @if j > 0 { ", " }
                                            a href=(check_href(self.t, &k.check_id)) { code { (k.check_id) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !kids.is_empty() {
                    ul {
                        @for &k in kids { (self.node(k, seen)) }
                    }
                }
            }
        }
    }
}

/// A control attached to a requirement: link, posture, how it is attached.
pub(crate) fn control_link(t: &TenantAccess, rc: &RequirementControl) -> Markup {
    html! {
        a href=(control_href(t, rc.id)) { code { (rc.key) } } " " span.name { (rc.name) } " "
        (posture_badge(&rc.posture))
        @if rc.mappings.is_empty() {
            " " span.muted.attach { "linked by hand" }
        } @else {
            " " span.muted.attach {
                @for (i, m) in rc.mappings.iter().enumerate() {
                    @if i > 0 { "; " }
                    (m.origin) " · " (m.source) " · " (m.coverage)
                }
                @if rc.assessment_link { "; linked by hand" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_safe_ids() {
        assert_eq!(requirement_anchor("CC6.1"), "req-CC6-1");
        assert_eq!(
            requirement_anchor("\"><script>"),
            "req----script-",
            "nothing but letters, digits and dashes"
        );
    }
}

#[cfg(test)]
pub(crate) mod page_tests;
