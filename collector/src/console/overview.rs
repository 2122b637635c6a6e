//! A tenant's overview: posture per framework, failing results by severity,
//! the trend over the last scans, agents that need attention, latest scans.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};

use super::Console;
use super::chart::{self, Column, Segment};
use super::layout::{self, Page, Section, badge, count, pct, segment, when};
use crate::api::extract::Path;
use crate::auth::{Need, TenantAccess};
use crate::http::AppState;
use crate::store::fleet::AgentRow;
use crate::store::frameworks::FrameworkSummary;
use crate::store::page::PageRequest;
use crate::store::scans::ScanRow;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/t/{tenant}", get(overview))
}

/// Scans in the trend chart.
const TREND_SCANS: i64 = 12;
/// An agent unseen this long needs attention (ms).
const QUIET_MS: i64 = 2 * 3_600_000;
/// A certificate this close to expiry needs attention (ms).
const EXPIRY_MS: i64 = 30 * 86_400_000;

async fn overview(State(state): State<AppState>, c: Console, Path(name): Path<String>) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let store = &state.store;
    let frameworks = store.frameworks(&t).await?;
    let severities = store.failing_by_severity(&t).await?;
    let mut scans = store.scans(&t, &PageRequest::first(TREND_SCANS)).await?;
    scans.truncate(TREND_SCANS as usize);
    let mut agents = store.agents(&t).await?;
    for a in &mut agents {
        a.certificate_expires_at = crate::pki::certificate_not_after(&a.certificate_pem);
    }
    let now = c.auth.now;
    let body = html! {
        section #posture {
            h2 { "Posture by framework" }
            (posture(&t, &frameworks))
        }
        div.columns {
            section #severity {
                h2 { "Failing results by severity" }
                (severity_table(&t, &severities))
            }
            section #attention {
                h2 { "Agents that need attention" }
                (attention(&t, &agents, now))
            }
        }
        section #trend {
            h2 { "Results over the last scans" }
            (trend(&scans))
        }
        section #scans {
            h2 { "Latest scans" }
            (latest_scans(&scans, now))
        }
    };
    layout::page(
        &state,
        &c,
        Some(&t),
        Section::Overview,
        &format!("{} overview", t.name()),
        body,
    )
    .await
}

fn tenant_path(t: &TenantAccess) -> String {
    format!("/t/{}", segment(t.name()))
}

/// Requirement status segments of a framework (the store's status names).
pub fn requirement_segments(f: &FrameworkSummary) -> Vec<Segment> {
    let n = |k: &str| f.requirement_counts.get(k).copied().unwrap_or(0);
    vec![
        Segment {
            class: "pass",
            value: n("compliant"),
            label: "passing",
        },
        Segment {
            class: "warn",
            value: n("partially_compliant"),
            label: "partial",
        },
        Segment {
            class: "fail",
            value: n("non_compliant"),
            label: "issues",
        },
        Segment {
            class: "other",
            value: n("not_assessed"),
            label: "not scanned",
        },
    ]
}

fn posture(t: &TenantAccess, frameworks: &[FrameworkSummary]) -> Markup {
    if frameworks.is_empty() {
        return layout::empty(
            "No frameworks are loaded (import the SCF catalog on the collector).",
        );
    }
    let base = tenant_path(t);
    html! {
        table.data {
            thead { tr {
                th scope="col" { "Framework" }
                th scope="col" { "Requirements" }
                th.num scope="col" { "Passing" }
                th.num scope="col" { "Partial" }
                th.num scope="col" { "Issues" }
                th.num scope="col" { "Not scanned" }
                th.num scope="col" { "Coverage" }
                th.num scope="col" { "Score" }
            } }
            tbody {
                @for f in frameworks {
                    @let segs = requirement_segments(f);
                    tr data-framework=(f.id) {
                        th scope="row" { a href={ (base) "/frameworks/" (segment(&f.id)) } { (f.name) } " " span.muted { (f.version) } }
                        td.barcell { (chart::stacked_bar(&segs, &format!("{} requirements by status", f.name))) }
                        @for s in &segs { td.num { (count(s.value)) } }
                        td.num { (pct(f.coverage_pct)) }
                        td.num { @match f.compliance_score_pct { Some(p) => (pct(p)), None => span.muted { "–" } } }
                    }
                }
            }
        }
    }
}

fn severity_table(t: &TenantAccess, rows: &[(String, i64)]) -> Markup {
    if rows.is_empty() {
        return layout::empty("No failing results.");
    }
    let base = tenant_path(t);
    html! {
        table.data.compact {
            tbody {
                @for (severity, n) in rows {
                    tr {
                        th scope="row" { (badge(severity)) }
                        td.num { a href={ (base) "/findings?status=fail&severity=" (segment(severity)) } { (count(*n)) } }
                    }
                }
            }
        }
    }
}

/// Why an agent needs attention, if it does.
fn trouble(a: &AgentRow, now: i64) -> Vec<String> {
    if a.revoked_at.is_some() {
        return Vec::new();
    }
    let mut why = Vec::new();
    match a.last_seen_at {
        None => why.push("never seen".to_string()),
        Some(seen) if now - seen > QUIET_MS => {
            why.push(format!("not seen since {}", layout::relative(seen, now)));
        }
        Some(_) => {}
    }
    if a.integrations_in_error > 0 {
        why.push(match &a.last_error {
            Some(e) => format!("errors: {e}"),
            None => "errors in its last scan".into(),
        });
    }
    if let Some(exp) = a.certificate_expires_at
        && exp - now < EXPIRY_MS
    {
        why.push(format!(
            "certificate expires {}",
            layout::relative(exp, now)
        ));
    }
    why
}

fn attention(t: &TenantAccess, agents: &[AgentRow], now: i64) -> Markup {
    let troubled: Vec<(&AgentRow, Vec<String>)> = agents
        .iter()
        .map(|a| (a, trouble(a, now)))
        .filter(|(_, why)| !why.is_empty())
        .collect();
    if troubled.is_empty() {
        return layout::empty(if agents.is_empty() {
            "No agents are enrolled yet."
        } else {
            "All agents reported recently and without errors."
        });
    }
    let fleet = Need::ReadOperational.allows(t.role());
    html! {
        ul.attention {
            @for (a, why) in &troubled {
                li {
                    @if fleet { a href={ (tenant_path(t)) "/fleet#agent-" (a.id) } { (a.name) } } @else { strong { (a.name) } }
                    " — " (why.join("; "))
                }
            }
        }
    }
}

fn trend(scans: &[ScanRow]) -> Markup {
    if scans.is_empty() {
        return layout::empty("No scans yet. Enroll an agent and let it scan.");
    }
    let columns: Vec<Column> = scans
        .iter()
        .rev()
        .map(|s| Column {
            label: layout::date_time(s.received_at)[5..16].to_string(),
            segments: vec![
                Segment {
                    class: "pass",
                    value: s.checks_passed,
                    label: "passed",
                },
                Segment {
                    class: "fail",
                    value: s.checks_failed,
                    label: "failed",
                },
                Segment {
                    class: "other",
                    value: s.checks_error + s.checks_not_applicable,
                    label: "error or n/a",
                },
            ],
        })
        .collect();
    html! {
        (chart::trend(&columns, "Results per scan: passed, failed, error or not applicable"))
        p.legend { span.key.pass {} "passed " span.key.fail {} "failed " span.key.other {} "error or n/a" }
    }
}

fn latest_scans(scans: &[ScanRow], now: i64) -> Markup {
    if scans.is_empty() {
        return layout::empty("No scans yet.");
    }
    html! {
        table.data #scan-list {
            thead { tr {
                th scope="col" { "Received" }
                th scope="col" { "Integration" }
                th scope="col" { "Summary" }
                th.num scope="col" { "Assets" }
                th.num scope="col" { "Results" }
                th.num scope="col" { "Passed" }
                th.num scope="col" { "Failed" }
                th.num scope="col" { "Error" }
                th.num scope="col" { "Evidence" }
                th.num scope="col" { "Duration" }
            } }
            tbody {
                @for s in scans.iter().take(5) {
                    tr {
                        td { (when(Some(s.received_at), now)) }
                        td { (s.integration) @if !s.complete { " " span.badge.warn title="Some discovery calls failed" { "partial" } } }
                        td { (s.message) }
                        td.num title={ (s.assets_created) " new, " (s.assets_updated) " seen again, " (s.assets_deactivated) " gone" } { (count(s.total_assets)) }
                        td.num { (count(s.results_created)) }
                        td.num { (count(s.checks_passed)) }
                        td.num { (count(s.checks_failed)) }
                        td.num { (count(s.checks_error)) }
                        td.num title={ (s.evidence_created) " new, " (s.evidence_updated) " updated" } { (count(s.evidence_created + s.evidence_updated)) }
                        td.num { (format!("{:.1} s", s.duration_seconds)) }
                    }
                }
            }
        }
    }
}
