//! Push spooled batches to the collector over mTLS, and send heartbeats.
//!
//! What a reply means for a batch ([`classify`]):
//!
//! | reply | outcome | the batch |
//! |---|---|---|
//! | 2xx with a readable acknowledgement | delivered | removed from the spool |
//! | 400 (schema, encoding), 403 (signature, identity), 409 (conflict), 422 | refused for good | moved to `spool/rejected/` |
//! | 413 (over the collector's size limit) | too large | kept; retried later |
//! | 408, 429, 5xx, any other status, network or TLS failure | retry | kept; retried with backoff |
//!
//! Only the documented refusals set a batch aside: an unexpected status (a
//! proxy's 404, say) must not cost a scan.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::backoff::parse_retry_after;
use crate::identity::Identity;
use crate::spool::Spool;
use crate::tls::{error_chain, reply_message};

/// Statuses after which a batch is refused for good: the collector will
/// never accept these bytes (a bad signature, a schema error, a conflict
/// with what it already holds). Resending them cannot help.
pub const PERMANENT_REFUSALS: [u16; 4] = [400, 403, 409, 422];

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

/// What one push attempt came to.
#[derive(Debug)]
pub enum PushOutcome {
    /// Acknowledged: the batch may leave the spool.
    Delivered(IngestReply),
    /// Refused for good (one of [`PERMANENT_REFUSALS`]).
    Refused {
        /// HTTP status.
        status: u16,
        /// The collector's explanation.
        message: String,
    },
    /// 413: the batch is over the collector's size limit. Kept and retried
    /// later for now; this is the hook where a batch gets split into
    /// smaller parts and re-spooled.
    TooLarge {
        /// The collector's explanation.
        message: String,
    },
    /// Try again later.
    Retry {
        /// What went wrong.
        reason: String,
        /// How long the collector asked the agent to wait (429, 503).
        retry_after: Option<Duration>,
    },
}

/// Map a reply onto an outcome. `retry_after` is the raw header value.
pub fn classify(status: u16, retry_after: Option<&str>, body: &str) -> PushOutcome {
    if (200..300).contains(&status) {
        return match serde_json::from_str::<IngestReply>(body) {
            Ok(reply) => PushOutcome::Delivered(reply),
            Err(e) => PushOutcome::Retry {
                reason: format!("unreadable collector reply ({status}): {e}"),
                retry_after: None,
            },
        };
    }
    let message = reply_message(body);
    if PERMANENT_REFUSALS.contains(&status) {
        return PushOutcome::Refused { status, message };
    }
    if status == 413 {
        return PushOutcome::TooLarge { message };
    }
    let retry_after = match status {
        429 | 503 => retry_after.and_then(|v| parse_retry_after(v, SystemTime::now())),
        _ => None,
    };
    PushOutcome::Retry {
        reason: format!("{status}: {message}"),
        retry_after,
    }
}

/// A client for the collector's ingest listener.
#[derive(Debug, Clone)]
pub struct Pusher {
    client: reqwest::Client,
    base: String,
}

impl Pusher {
    /// An mTLS client for `url` (the ingest URL) presenting `identity`.
    pub fn new(identity: &Identity, url: &str) -> Result<Self, rustls::Error> {
        Ok(Self {
            client: crate::tls::mtls_client(identity)?,
            base: url.trim_end_matches('/').to_string(),
        })
    }

    /// Send one signed batch.
    pub async fn push(&self, body: Vec<u8>) -> PushOutcome {
        let resp = self
            .client
            .post(format!("{}/v1/batches", self.base))
            .header("content-type", BATCH_MEDIA_TYPE)
            .body(body)
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                return PushOutcome::Retry {
                    reason: error_chain(&e),
                    retry_after: None,
                };
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.unwrap_or_default();
        classify(status, retry_after.as_deref(), &text)
    }

    /// Tell the collector this agent is alive. Returns the contact time it
    /// recorded (Unix ms).
    pub async fn heartbeat(&self) -> Result<i64, String> {
        #[derive(Deserialize)]
        struct Reply {
            seen_at: i64,
        }
        let resp = self
            .client
            .post(format!("{}/v1/heartbeat", self.base))
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("{status}: {}", reply_message(&text)));
        }
        serde_json::from_str::<Reply>(&text)
            .map(|r| r.seen_at)
            .map_err(|e| format!("unreadable heartbeat reply: {e}"))
    }
}

/// The HTTP media type of a signed batch (RFC 9052 §9): the collector
/// refuses other types with 415. (`citadel_wire::CONTENT_TYPE` is the
/// payload's type inside the envelope, not this.)
pub const BATCH_MEDIA_TYPE: &str = "application/cose; cose-type=\"cose-sign1\"";

/// What happened to each spooled batch.
#[derive(Debug, Default)]
pub struct PushReport {
    /// Acknowledged batches.
    pub delivered: Vec<IngestReply>,
    /// Batches the collector refused for good (moved aside), with its reason.
    pub rejected: Vec<(PathBuf, String)>,
    /// Why pushing stopped early, leaving batches spooled for the next run.
    pub deferred: Option<String>,
    /// How long the collector asked to wait, when it did.
    pub retry_after: Option<Duration>,
    /// Batches still spooled.
    pub pending: usize,
}

/// Push every spooled batch, oldest first, once. Stops at the first batch
/// that must be retried, leaving it and the rest spooled in order; a batch
/// refused for good is moved aside so it cannot block the queue.
pub async fn push_spool(
    identity: &Identity,
    spool: &Spool,
    url: &str,
) -> std::io::Result<PushReport> {
    let mut report = PushReport::default();
    let pusher = match Pusher::new(identity, url) {
        Ok(p) => p,
        Err(e) => {
            report.deferred = Some(format!("TLS set-up failed: {e}"));
            report.pending = spool.pending()?.len();
            return Ok(report);
        }
    };
    let mut resplit = false;
    for path in spool.pending()? {
        let body = std::fs::read(&path)?;
        match pusher.push(body).await {
            PushOutcome::Delivered(reply) => {
                spool.ack(&path)?;
                report.delivered.push(reply);
            }
            PushOutcome::Refused { status, message } => {
                let moved = spool.reject(&path)?;
                report
                    .rejected
                    .push((moved, format!("{status}: {message}")));
            }
            // Split smaller at the end of the chain: pushed on the next round.
            PushOutcome::TooLarge { message } => {
                if !crate::parts::resplit_spooled(identity, spool, &path)? {
                    report.deferred = Some(format!("413 (batch too large): {message}"));
                    break;
                }
                resplit = true;
            }
            PushOutcome::Retry {
                reason,
                retry_after,
            } => {
                report.deferred = Some(reason);
                report.retry_after = retry_after;
                break;
            }
        }
    }
    if resplit && report.deferred.is_none() {
        // The smaller parts, now at the end of the spool. Each round cuts
        // parts in half, and a single asset is never split, so this ends.
        let more = Box::pin(push_spool(identity, spool, url)).await?;
        report.delivered.extend(more.delivered);
        report.rejected.extend(more.rejected);
        (report.deferred, report.retry_after) = (more.deferred, more.retry_after);
    }
    report.pending = spool.pending()?.len();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACK: &str = r#"{"batch_id":"b1","status":"accepted","summary":{}}"#;

    #[test]
    fn replies_map_onto_outcomes() {
        assert!(
            matches!(classify(200, None, ACK), PushOutcome::Delivered(r) if r.batch_id == "b1")
        );
        assert!(matches!(
            classify(200, None, "<html>"),
            PushOutcome::Retry { .. }
        ));
        for s in PERMANENT_REFUSALS {
            assert!(
                matches!(classify(s, None, r#"{"error":"no"}"#), PushOutcome::Refused { status, ref message } if status == s && message == "no"),
                "{s}"
            );
        }
        assert!(matches!(
            classify(413, None, ""),
            PushOutcome::TooLarge { .. }
        ));
        for s in [408, 429, 500, 502, 503, 504, 404, 401] {
            assert!(
                matches!(classify(s, None, ""), PushOutcome::Retry { .. }),
                "{s}"
            );
        }
    }

    #[test]
    fn retry_after_only_on_429_and_503() {
        let after = |s: u16, v: &str| match classify(s, Some(v), "") {
            PushOutcome::Retry { retry_after, .. } => retry_after,
            other => panic!("{other:?}"),
        };
        assert_eq!(after(429, "7"), Some(Duration::from_secs(7)));
        assert_eq!(after(503, "2"), Some(Duration::from_secs(2)));
        assert_eq!(after(429, "whenever"), None);
        assert_eq!(after(500, "7"), None);
    }

    #[test]
    fn replies_are_shortened_and_name_their_code() {
        let long = format!(r#"{{"error":"{}"}}"#, "x".repeat(10_000));
        match classify(400, None, &long) {
            PushOutcome::Refused { message, .. } => assert_eq!(message.len(), 500),
            other => panic!("{other:?}"),
        }
        match classify(409, None, r#"{"error":"seq reused","code":"chain_replay"}"#) {
            PushOutcome::Refused { message, .. } => {
                assert_eq!(message, "chain_replay: seq reused")
            }
            other => panic!("{other:?}"),
        }
    }
}
