//! Push spooled batches to the collector over mTLS.

use std::path::PathBuf;

use serde::Deserialize;

use crate::identity::Identity;
use crate::spool::Spool;

/// The collector's acknowledgement.
#[derive(Debug, Clone, Deserialize)]
pub struct IngestReply {
    /// Batch id.
    pub batch_id: String,
    /// `accepted` or `duplicate`.
    pub status: String,
    /// Counts from the collector's pipeline.
    #[serde(default)]
    pub summary: serde_json::Value,
}

/// What happened to each spooled batch.
#[derive(Debug, Default)]
pub struct PushReport {
    /// Acknowledged batches.
    pub delivered: Vec<IngestReply>,
    /// Batches the collector refused for good (moved aside), with its reason.
    pub rejected: Vec<(PathBuf, String)>,
    /// Why pushing stopped early, leaving batches spooled for the next run.
    pub deferred: Option<String>,
    /// Batches still spooled.
    pub pending: usize,
}

/// Push every spooled batch, oldest first. Stops at the first transport or
/// server failure, leaving the rest spooled; a batch refused with a 4xx is moved
/// aside so it cannot block the queue.
pub async fn push_spool(
    identity: &Identity,
    spool: &Spool,
    url: &str,
) -> std::io::Result<PushReport> {
    let mut report = PushReport::default();
    let client = match crate::tls::mtls_client(identity) {
        Ok(c) => c,
        Err(e) => {
            report.deferred = Some(format!("TLS set-up failed: {e}"));
            report.pending = spool.pending()?.len();
            return Ok(report);
        }
    };
    let endpoint = format!("{}/v1/batches", url.trim_end_matches('/'));
    let mut resplit = false;
    for path in spool.pending()? {
        let body = std::fs::read(&path)?;
        let resp = client
            .post(&endpoint)
            .header("content-type", "application/cose; cose-type=\"cose-sign1\"")
            .body(body)
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                report.deferred = Some(crate::enroll::error_chain(&e));
                break;
            }
        };
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() {
            match serde_json::from_str::<IngestReply>(&text) {
                Ok(reply) => {
                    spool.ack(&path)?;
                    report.delivered.push(reply);
                }
                Err(e) => {
                    report.deferred = Some(format!("unreadable collector reply: {e}"));
                    break;
                }
            }
        } else if status.as_u16() == 413 && crate::parts::resplit_spooled(identity, spool, &path)? {
            // Split smaller at the end of the chain: pushed on the next round.
            resplit = true;
        } else if status.is_client_error() && status.as_u16() != 429 {
            let moved = spool.reject(&path)?;
            report
                .rejected
                .push((moved, format!("{status}: {}", reply_message(&text))));
        } else {
            report.deferred = Some(format!("{status}: {}", reply_message(&text)));
            break;
        }
    }
    report.pending = spool.pending()?.len();
    if resplit && report.deferred.is_none() {
        // The smaller parts, now at the end of the spool. Each round cuts
        // parts in half, and a single asset is never split, so this ends.
        let more = Box::pin(push_spool(identity, spool, url)).await?;
        report.delivered.extend(more.delivered);
        report.rejected.extend(more.rejected);
        (report.deferred, report.pending) = (more.deferred, more.pending);
    }
    Ok(report)
}

/// The `error` field of a JSON error reply, or the body itself, shortened.
pub(crate) fn reply_message(body: &str) -> String {
    let msg = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| body.to_string());
    msg.chars().take(500).collect()
}
