//! `citadel-agent run`: the long-running service.
//!
//! Two loops share the spool and the status file:
//! - the **scan loop** scans every `scan_interval` plus up to `scan_jitter`,
//!   spools a batch per integration and wakes the push loop. A failed scan is
//!   logged and queued as an incident for the next batch; the loop goes on.
//! - the **push loop** delivers spooled batches oldest first. A failure is
//!   retried with exponential backoff and full jitter, never sooner than a
//!   `Retry-After` on 429 or 503; each retry logs its delay and ceiling. With
//!   nothing to send and no contact for `heartbeat_interval`, it sends a
//!   heartbeat.
//!
//! SIGTERM or SIGINT stops both at their next step: a scan in progress is
//! abandoned (its batch is spooled whole or not at all), a push in flight is
//! dropped (the batch stays spooled; the collector deduplicates by batch id
//! if it had arrived). Then `run` returns and the process exits 0.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Notify, watch};

use crate::backoff::Backoff;
use crate::config::Config;
use crate::identity::Identity;
use crate::push::{PushOutcome, Pusher};
use crate::scan::{self, ingest_url};
use crate::spool::Spool;
use crate::state::{Outcome, StateFile, now_ms};

/// Run until `stop` turns true.
pub async fn run(
    config: Config,
    identity: Identity,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let spool = Arc::new(Spool::open_with(&config.state_dir, config.spool)?);
    let _lock = spool.lock()?;
    let state = Arc::new(StateFile::load(&config.state_dir));
    scan::report_quarantined(&spool, &state);
    let url = ingest_url(&config, &identity);
    let pusher = Pusher::new(&identity, &url)?;
    let wake = Arc::new(Notify::new());
    tracing::info!(
        agent = %identity.info.agent_id, collector = %url,
        scan_interval_s = config.service.scan_interval.as_secs(),
        scan_jitter_s = config.service.scan_jitter.as_secs(),
        "Agent service started."
    );
    let config = Arc::new(config);
    let identity = Arc::new(identity);
    let scans = tokio::spawn(scan_loop(
        config.clone(),
        identity.clone(),
        spool.clone(),
        state.clone(),
        wake.clone(),
        stop.clone(),
    ));
    let pushes = tokio::spawn(push_loop(
        config.service,
        identity.clone(),
        pusher,
        spool,
        state,
        wake,
        stop.clone(),
    ));
    let _ = stop.wait_for(|s| *s).await;
    tracing::info!("Stopping.");
    // Both loops watch the same signal and end at their next await.
    let _ = scans.await;
    let _ = pushes.await;
    tracing::info!("Agent service stopped.");
    Ok(())
}

/// Resolve when `stop` is (or becomes) true, or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn scan_loop(
    config: Arc<Config>,
    identity: Arc<Identity>,
    spool: Arc<Spool>,
    state: Arc<StateFile>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let scanned = tokio::select! {
            r = scan::scan_to_spool(&config, &identity, &spool, &state, None) => r,
            () = stopped(&mut stop) => {
                tracing::info!("Scan abandoned: stopping.");
                return;
            }
        };
        match &scanned {
            Ok((reports, plugin_errors)) => {
                for e in plugin_errors {
                    tracing::warn!(error = %e, "Plugin not loaded.");
                }
                tracing::info!(batches = reports.len(), "Scan finished.");
            }
            Err(e) => tracing::error!(error = %e, "Scan failed; the next batch reports it."),
        }
        scan::record_scan(&state, &scanned);
        wake.notify_one();
        let s = config.service;
        let jitter_ms = rand::thread_rng().gen_range(0..=millis(s.scan_jitter));
        let next = s.scan_interval + Duration::from_millis(jitter_ms);
        tracing::info!(next_scan_in_ms = millis(next), "Next scan scheduled.");
        tokio::select! {
            () = tokio::time::sleep(next) => {}
            () = stopped(&mut stop) => return,
        }
    }
}

async fn push_loop(
    service: crate::config::Service,
    identity: Arc<Identity>,
    pusher: Pusher,
    spool: Arc<Spool>,
    state: Arc<StateFile>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(service.retry_initial, service.retry_max);
    // Whether the last attempt failed: an outage is reported once, when it starts.
    let mut failing = false;
    loop {
        if *stop.borrow() {
            return;
        }
        let next = match spool.pending() {
            Ok(p) => p.into_iter().next(),
            Err(e) => {
                tracing::error!(error = %e, "Cannot list the spool.");
                None
            }
        };
        let Some(path) = next else {
            idle(&service, &pusher, &state, &wake, &mut stop).await;
            continue;
        };
        let body = match std::fs::read(&path) {
            Ok(b) => b,
            // Acknowledged or set aside meanwhile: look again.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "Cannot read a spooled batch.");
                Vec::new()
            }
        };
        let outcome = if body.is_empty() {
            PushOutcome::Retry {
                reason: format!("cannot read {}", path.display()),
                retry_after: None,
            }
        } else {
            tokio::select! {
                o = pusher.push(body) => o,
                () = stopped(&mut stop) => return,
            }
        };
        let at = now_ms();
        let (reason, retry_after) = match outcome {
            PushOutcome::Delivered(reply) => {
                if let Err(e) = spool.ack(&path) {
                    tracing::error!(file = %path.display(), error = %e, "Cannot remove an acknowledged batch.");
                }
                tracing::info!(batch = %reply.batch_id, status = %reply.status, "Batch delivered.");
                if failing {
                    tracing::info!("The collector is reachable again.");
                }
                failing = false;
                backoff.reset();
                state.update(|s| {
                    s.last_contact_at = Some(at);
                    s.last_push = Some(Outcome {
                        at,
                        ok: true,
                        message: format!("batch {} {}", reply.batch_id, reply.status),
                    });
                });
                continue;
            }
            PushOutcome::Refused { status, message } => {
                let why = format!("{} refused ({status}): {message}", path.display());
                tracing::error!(file = %path.display(), status, %message, "Batch refused for good; set aside in spool/rejected.");
                if let Err(e) = spool.reject(&path) {
                    tracing::error!(file = %path.display(), error = %e, "Cannot set a refused batch aside.");
                }
                state.update(|s| {
                    s.last_contact_at = Some(at);
                    s.record("batch_refused", at, &why);
                    s.last_push = Some(Outcome {
                        at,
                        ok: false,
                        message: why.clone(),
                    });
                });
                continue;
            }
            // Split smaller at the end of the chain (pushed next, in
            // order); a batch of one asset that is still too large waits.
            PushOutcome::TooLarge { message } => {
                match crate::parts::resplit_spooled(&identity, &spool, &path) {
                    Ok(true) => continue,
                    Ok(false) => (
                        format!("413 (batch too large, cannot split): {message}"),
                        None,
                    ),
                    Err(e) => (format!("413 (batch too large), split failed: {e}"), None),
                }
            }
            PushOutcome::Retry {
                reason,
                retry_after,
            } => (reason, retry_after),
        };
        let retry = backoff.fail(retry_after, &mut rand::thread_rng());
        tracing::warn!(
            error = %reason,
            attempt = retry.attempt,
            retry_in_ms = millis(retry.delay),
            retry_ceiling_ms = millis(retry.ceiling),
            retry_after_ms = retry_after.map(millis),
            "Push failed; retrying."
        );
        let first = !failing;
        failing = true;
        state.update(|s| {
            if first {
                s.record("push_failed", at, &reason);
            }
            s.last_push = Some(Outcome {
                at,
                ok: false,
                message: reason.clone(),
            });
        });
        tokio::select! {
            () = tokio::time::sleep(retry.delay) => {}
            () = stopped(&mut stop) => return,
        }
    }
}

/// Nothing to send: wait for a new batch, sending a heartbeat whenever the
/// collector has not heard from us for `heartbeat_interval`.
async fn idle(
    service: &crate::config::Service,
    pusher: &Pusher,
    state: &StateFile,
    wake: &Notify,
    stop: &mut watch::Receiver<bool>,
) {
    let since = state
        .get()
        .last_contact_at
        .map_or(i64::MAX, |t| now_ms().saturating_sub(t));
    let due = u64::try_from(since).is_ok_and(|s| s >= millis(service.heartbeat_interval))
        || since == i64::MAX;
    if due {
        let beat = tokio::select! {
            r = pusher.heartbeat() => r,
            () = stopped(stop) => return,
        };
        match beat {
            Ok(seen_at) => {
                tracing::debug!(seen_at, "Heartbeat sent.");
                state.update(|s| s.last_contact_at = Some(now_ms()));
            }
            // Not retried with backoff: the next idle turn tries again.
            Err(e) => tracing::warn!(error = %e, "Heartbeat failed."),
        }
    }
    tokio::select! {
        () = wake.notified() => {}
        () = tokio::time::sleep(service.heartbeat_interval) => {}
        () = stopped(stop) => {}
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A stop signal that turns true on SIGTERM or SIGINT.
pub fn stop_on_signals() -> std::io::Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "Signal received.");
        let _ = tx.send(true);
        // Keep the sender alive so receivers see `true`, not a closed channel.
        std::future::pending::<()>().await;
    });
    Ok(rx)
}
