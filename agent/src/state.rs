//! `state/status.json`: what the agent last did, for `citadel-agent status`,
//! and the incidents (failed or skipped scans, quarantined files) waiting to
//! be reported in the next batch.
//!
//! Written by `run`, `scan` and `push` through [`StateFile`], atomically and
//! readable only by the agent's user. A damaged file is set aside and started
//! afresh: it holds no data the collector needs beyond pending incidents.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use citadel_wire::AgentIncident;
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;

/// Most incidents kept for the next batch, the "and N more" line included
/// (the collector accepts at most 64 per batch).
pub const MAX_INCIDENTS: usize = 64;
/// Longest incident message kept, in bytes (the collector's limit is 1000).
pub const MAX_MESSAGE: usize = 1000;

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// When, Unix ms.
    pub at: i64,
    /// Whether it worked.
    pub ok: bool,
    /// What happened, in a line.
    pub message: String,
}

/// The contents of `status.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentState {
    /// The last scan (or skipped scan).
    pub last_scan: Option<Outcome>,
    /// The last push attempt.
    pub last_push: Option<Outcome>,
    /// The last time the collector answered a push or a heartbeat, Unix ms.
    pub last_contact_at: Option<i64>,
    /// Incidents not yet carried by a batch, oldest first.
    pub incidents: Vec<AgentIncident>,
    /// Incidents dropped because the list was full; reported as a count.
    pub incidents_dropped: u64,
}

impl AgentState {
    /// Queue an incident for the next batch. Past the cap, only a count is
    /// kept, which the next batch reports.
    pub fn record(&mut self, kind: &str, at: i64, message: &str) {
        if self.incidents.len() + 1 >= MAX_INCIDENTS {
            self.incidents_dropped += 1;
            return;
        }
        self.incidents.push(AgentIncident {
            kind: kind.into(),
            at,
            message: shorten(message),
        });
    }

    /// The incidents a batch carries: the queued ones, plus one line for any
    /// that were dropped.
    pub fn for_batch(&self, now: i64) -> Vec<AgentIncident> {
        let mut out = self.incidents.clone();
        if self.incidents_dropped > 0 {
            out.push(AgentIncident {
                kind: "incidents_dropped".into(),
                at: now,
                message: format!(
                    "{} more incidents since the last batch were not kept",
                    self.incidents_dropped
                ),
            });
        }
        out
    }

    /// A batch carrying `sent` (from [`Self::for_batch`]) is safely spooled:
    /// forget them, keeping any queued since.
    pub fn reported(&mut self, sent: &[AgentIncident]) {
        let queued = sent
            .iter()
            .filter(|i| i.kind != "incidents_dropped")
            .count();
        let n = queued.min(self.incidents.len());
        self.incidents.drain(..n);
        if sent.iter().any(|i| i.kind == "incidents_dropped") {
            self.incidents_dropped = 0;
        }
    }
}

/// Cut a message to [`MAX_MESSAGE`] bytes on a character boundary.
fn shorten(s: &str) -> String {
    let mut end = s.len().min(MAX_MESSAGE);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// `status.json`, shared by the tasks of one process.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    state: Mutex<AgentState>,
}

impl StateFile {
    /// Load `state_dir/status.json`; a missing file is a fresh state and a
    /// damaged one is renamed aside (`status.json.damaged`) and started afresh.
    pub fn load(state_dir: &Path) -> Self {
        let path = state_dir.join("status.json");
        let state = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::error!(file = %path.display(), error = %e, "Damaged status file set aside.");
                let _ = std::fs::rename(&path, path.with_extension("json.damaged"));
                AgentState::default()
            }),
            Err(_) => AgentState::default(),
        };
        Self {
            path,
            state: Mutex::new(state),
        }
    }

    /// A copy of the state.
    pub fn get(&self) -> AgentState {
        self.lock().clone()
    }

    /// Change the state and write it through. A failed write is logged, not
    /// fatal: the file is a record of the service, not the service.
    pub fn update<T>(&self, f: impl FnOnce(&mut AgentState) -> T) -> T {
        let mut state = self.lock();
        let out = f(&mut state);
        let bytes = serde_json::to_vec_pretty(&*state).unwrap_or_default();
        if let Err(e) = write_atomic(&self.path, &bytes) {
            tracing::warn!(file = %self.path.display(), error = %e, "Cannot write the status file.");
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AgentState> {
        // A panic while holding the lock leaves a usable state (plain data).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Now, Unix ms.
pub fn now_ms() -> i64 {
    let ns = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    i64::try_from(ns).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incidents_are_capped_counted_and_drained() {
        let mut s = AgentState::default();
        for n in 0..100 {
            s.record("scan_failed", n, &"é".repeat(800));
        }
        assert_eq!(s.incidents.len(), MAX_INCIDENTS - 1);
        assert_eq!(s.incidents_dropped, 100 - (MAX_INCIDENTS as u64 - 1));
        assert!(s.incidents.iter().all(|i| i.message.len() <= MAX_MESSAGE));
        let sent = s.for_batch(1000);
        assert_eq!(sent.len(), MAX_INCIDENTS);
        assert_eq!(sent.last().unwrap().kind, "incidents_dropped");
        // One more arrives while the batch is being spooled.
        s.incidents_dropped = 0;
        s.incidents.truncate(2);
        let sent = s.for_batch(1000);
        s.record("push_failed", 5, "down");
        s.reported(&sent);
        assert_eq!(s.incidents.len(), 1);
        assert_eq!(s.incidents[0].kind, "push_failed");
    }

    #[test]
    fn state_file_round_trips_and_survives_damage() {
        let dir = tempfile::tempdir().unwrap();
        let f = StateFile::load(dir.path());
        f.update(|s| s.record("scan_failed", 1, "no credentials"));
        assert_eq!(StateFile::load(dir.path()).get().incidents.len(), 1);
        std::fs::write(dir.path().join("status.json"), b"{\"last_scan\": 3").unwrap();
        assert_eq!(StateFile::load(dir.path()).get(), AgentState::default());
        assert!(dir.path().join("status.json.damaged").exists());
    }
}
