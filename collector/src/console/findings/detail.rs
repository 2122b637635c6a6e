//! One check result: what was found where, how its status changed, and
//! the trail from it to the compliance side: its evidence record and that
//! record's revisions, the controls the record proves and the requirements
//! those controls map to. All through the API's store functions, so an
//! auditor sees exactly their frameworks and window.

use axum::extract::State;
use maud::{Markup, html};

use super::{asset_label, tenant_path};
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::auth::{Need, TenantAccess};
use crate::console::Console;
use crate::console::layout::{self, Page, Section, badge, count, segment, when};
use crate::http::AppState;
use crate::store::controls::RequirementLink;
use crate::store::findings::{FindingDetail, HistoryEntry};
use crate::store::policies::ControlRef;
use crate::store::review::EvidenceDetail;

/// Controls shown with their requirements.
const MAX_CONTROLS: usize = 20;

pub(super) async fn detail(
    State(state): State<AppState>,
    c: Console,
    Path((name, id)): Path<(String, i64)>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let store = &state.store;
    let d = store
        .finding(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("result"))?;
    let evidence = match d.evidence_id {
        Some(e) => store.evidence_detail(&t, e).await?,
        None => None,
    };
    let mut controls = Vec::new();
    if let Some(e) = &evidence {
        let shown: Vec<_> = e.controls.iter().take(MAX_CONTROLS).collect();
        let ids: Vec<i64> = shown.iter().map(|c| c.id).collect();
        let mut requirements = store.requirements_of_controls(&t, &ids).await?;
        for cref in shown {
            let links = requirements.remove(&cref.id).unwrap_or_default();
            controls.push((cref.clone(), links));
        }
    }
    let now = c.auth.now;
    let body = html! {
        (facts(&t, &d, now))
        section #history {
            h2 { "Status history" }
            (history(&d.history, now))
        }
        section #evidence {
            h2 { "Evidence" }
            (evidence_part(&t, &d, evidence.as_ref(), now))
        }
        section #controls {
            h2 { "Controls and requirements" }
            (controls_part(&t, &d, evidence.as_ref(), &controls))
        }
    };
    let title = format!("Result #{}", d.result.id);
    layout::page(&state, &c, Some(&t), Section::Findings, &title, body).await
}

fn facts(t: &TenantAccess, d: &FindingDetail, now: i64) -> Markup {
    let r = &d.result;
    let base = tenant_path(t);
    html! {
        dl.facts #finding {
            dt { "Check" }
            dd {
                a href={ (base) "/findings?check=" (segment(&r.check_id)) } { code { (r.check_id) } }
                " " (r.check_title)
            }
            dt { "Severity" } dd { (badge(&r.severity)) }
            dt { "Status" } dd { (badge(&r.status)) }
            dt { "Status text" } dd.status-text { (r.status_extended) }
            dt { "Asset" }
            dd {
                a href={ (base) "/assets/" (r.asset_id) } { (asset_label(r)) }
                " " span.muted { (r.asset_kind) }
                br; code.wrap { (r.asset_source_id) }
            }
            dt { "Region" } dd { (r.asset_region) }
            dt { "First seen" } dd { (when(Some(r.first_seen_at), now)) }
            dt { "Observed" } dd { (when(Some(r.observed_at), now)) }
            dt { "Observations" } dd { (count(d.observations)) }
            dt { "Last batch" } dd { code { (r.batch_id) } }
        }
    }
}

fn history(entries: &[HistoryEntry], now: i64) -> Markup {
    if entries.is_empty() {
        return layout::empty("No status changes within your view.");
    }
    html! {
        table.data #status-history {
            thead { tr {
                th scope="col" { "When" }
                th scope="col" { "From" }
                th scope="col" { "To" }
                th scope="col" { "Batch" }
            } }
            tbody {
                @for h in entries {
                    tr {
                        td { (when(Some(h.changed_at), now)) }
                        td { @match &h.previous_status {
                            Some(s) => (badge(s)),
                            None => span.muted { "first observation" },
                        } }
                        td { (badge(&h.status)) }
                        td { code { (h.batch_id) } }
                    }
                }
            }
        }
    }
}

fn evidence_part(
    t: &TenantAccess,
    d: &FindingDetail,
    evidence: Option<&EvidenceDetail>,
    now: i64,
) -> Markup {
    let base = tenant_path(t);
    let Some(eid) = d.evidence_id else {
        return layout::empty("This result has no evidence record.");
    };
    let Some(e) = evidence else {
        return html! {
            p { "Evidence record "
                a #evidence-link href={ (base) "/evidence/" (eid) } { "#" (eid) }
                " (outside your audit scope or not yet readable)." }
        };
    };
    html! {
        p { "Evidence record "
            a #evidence-link href={ (base) "/evidence/" (eid) } { "#" (eid) }
            ", review status " (badge(&e.evidence.status)) "." }
        @if e.revisions.is_empty() {
            (layout::empty("No revisions within your view."))
        } @else {
            table.data #evidence-revisions {
                thead { tr {
                    th scope="col" { "Revision" }
                    th scope="col" { "Result status" }
                    th scope="col" { "Received" }
                    th scope="col" { "Batch" }
                } }
                tbody {
                    @for v in &e.revisions {
                        tr {
                            td.num { a href={ (base) "/evidence/" (eid) "/revisions/" (v.version) } { "v" (v.version) } }
                            td { (badge(&v.status)) }
                            td { (when(Some(v.created_at), now)) }
                            td { code { (v.batch_id) } }
                        }
                    }
                }
            }
        }
    }
}

fn controls_part(
    t: &TenantAccess,
    d: &FindingDetail,
    evidence: Option<&EvidenceDetail>,
    controls: &[(ControlRef, Vec<RequirementLink>)],
) -> Markup {
    let base = tenant_path(t);
    let check = &d.result.check_id;
    let fallback = html! {
        p { a #check-controls href={ (base) "/findings?check=" (segment(check)) } {
            "Every result of " (check) } }
    };
    let Some(e) = evidence else { return fallback };
    if controls.is_empty() {
        return html! {
            (layout::empty("The evidence record proves no control within your view."))
            (fallback)
        };
    }
    html! {
        table.data #finding-controls {
            thead { tr {
                th scope="col" { "Control" }
                th scope="col" { "Posture" }
                th scope="col" { "Requirements" }
            } }
            tbody {
                @for (cref, reqs) in controls {
                    tr {
                        td.wrap {
                            a href={ (base) "/controls/" (cref.id) } { (cref.name) }
                            br; span.muted { (cref.key) }
                        }
                        td { (badge(&cref.posture)) }
                        td.wrap {
                            @if reqs.is_empty() { span.muted { "none in your view" } }
                            ul.reqs {
                                @for r in reqs {
                                    li {
                                        a href={ (base) "/frameworks/" (segment(&r.framework_id)) "/requirements/" (segment(&r.ref_id)) } {
                                            (r.framework_id) " " (r.ref_id)
                                        }
                                        @if let Some(n) = &r.name { " " span.muted { (n) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if e.controls.len() > controls.len() {
            p.muted { "And " (count((e.controls.len() - controls.len()) as i64)) " more controls; see the "
                a href={ (base) "/evidence/" (e.evidence.id) } { "evidence record" } "." }
        }
    }
}
