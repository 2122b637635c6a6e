//! One revision of an evidence record exactly as the agent signed it: the
//! result (pretty JSON, escaped), the batch and its SHA-256, and whether the
//! stored batch's signature still verifies with the agent's enrolled key.

use axum::extract::State;
use maud::html;

use super::base;
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::auth::Need;
use crate::console::Console;
use crate::console::layout::{self, Page, Section, badge, segment, when};
use crate::http::AppState;

/// `GET /t/{tenant}/evidence/{id}/revisions/{version}`.
pub(super) async fn page(
    State(state): State<AppState>,
    c: Console,
    Path((name, id, version)): Path<(String, i64, i64)>,
) -> Page {
    let t = c.tenant(&state, &name, Need::Read).await?;
    let r = state
        .store
        .evidence_revision_detail(&t, id, version)
        .await?
        .ok_or_else(|| ApiError::not_found("revision"))?;
    let signed = match &r.result {
        Some(result) => serde_json::to_string_pretty(result).map_err(ApiError::internal)?,
        None => String::new(),
    };
    let fleet = Need::ReadOperational.allows(t.role());
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let body = html! {
        p { a href={ (base(&t)) "/evidence/" (id) } { "← Evidence " (id) } }
        section {
            h2 { "Provenance" }
            p #signature data-verifies=(r.signature_verifies) {
                "Signature verifies: "
                strong { (yes_no(r.signature_verifies)) }
            }
            @if let Some(problem) = &r.problem {
                p.alert #revision-problem { (problem) }
            }
            dl.facts #revision {
                dt { "Version" } dd { (r.version) }
                dt { "Result" } dd { (badge(&r.status)) }
                dt { "Received" } dd { (when(Some(r.created_at), c.auth.now)) }
                dt { "Batch" } dd { code #batch-id { (r.batch_id) } }
                dt { "Batch SHA-256" } dd { code.wrap { (r.batch_sha256) } }
                dt { "Stored bytes match it" } dd #sha256-matches data-matches=(r.sha256_matches) { (yes_no(r.sha256_matches)) }
                dt { "Agent" } dd {
                    @if fleet {
                        a href={ (base(&t)) "/fleet#agent-" (segment(&r.agent_id)) } { code { (r.agent_id) } }
                    } @else {
                        code { (r.agent_id) }
                    }
                }
                dt { "Plugin" } dd { @match &r.plugin { Some(p) => (p), None => span.muted { "unknown" } } }
                @if let Some(p) = &r.plugin_provenance {
                    dt { "Plugin version" } dd #plugin-version { (p.version) }
                    dt { "Plugin SHA-256" } dd { code #plugin-digest { (p.sha256) } }
                    dt { "Plugin signer" } dd #plugin-signer {
                        @match &p.signer { Some(k) => code { (k) }, None => span.muted { "unsigned" } }
                    }
                }
            }
        }
        section {
            h2 { "The result as signed" }
            @if r.result.is_some() {
                pre.raw #signed-result { (signed) }
            } @else {
                (layout::empty("The stored result could not be read (see above)."))
            }
        }
    };
    let title = format!("Evidence {id}, revision {}", r.version);
    layout::page(&state, &c, Some(&t), Section::Evidence, &title, body).await
}
