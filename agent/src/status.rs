//! `citadel-agent status`: who this agent is, how long its certificate
//! lasts, what waits in the spool, and how the last scan and push went.
//! Reads only; safe to run while `run` is running.

use std::fmt::Write;

use serde::Serialize;

use crate::config::Config;
use crate::identity::Identity;
use crate::spool::{Depth, Spool, SpoolLimits};
use crate::state::{AgentState, StateFile, now_ms};

/// Everything `status` shows.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Agent id.
    pub agent_id: String,
    /// Tenant.
    pub tenant: String,
    /// Where batches go.
    pub collector_url: String,
    /// End of the certificate's validity, Unix ms, when it can be read.
    pub certificate_expires_at: Option<i64>,
    /// Batches awaiting acknowledgement.
    pub spool: Depth,
    /// The spool's bounds.
    pub spool_max_batches: usize,
    /// The spool's bounds.
    pub spool_max_bytes: u64,
    /// Batches the collector refused for good (`spool/rejected/`).
    pub rejected: usize,
    /// Damaged files set aside (`spool/quarantine/`).
    pub quarantined: usize,
    /// Sequence number of the last batch created.
    pub chain_seq: u64,
    /// Last scan, last push, last contact and queued incidents.
    #[serde(flatten)]
    pub state: AgentState,
}

/// Gather the status.
pub fn gather(config: &Config, identity: &Identity) -> anyhow::Result<Status> {
    let spool = Spool::inspect(&config.state_dir, config.spool);
    let SpoolLimits {
        max_batches,
        max_bytes,
    } = spool.limits();
    let (rejected, quarantined) = spool.set_aside();
    Ok(Status {
        agent_id: identity.info.agent_id.clone(),
        tenant: identity.info.tenant.clone(),
        collector_url: crate::scan::ingest_url(config, identity),
        certificate_expires_at: not_after_ms(&identity.cert_der),
        spool: spool.depth().unwrap_or_default(),
        spool_max_batches: max_batches,
        spool_max_bytes: max_bytes,
        rejected,
        quarantined,
        chain_seq: spool.chain().map(|c| c.seq).unwrap_or_default(),
        state: StateFile::load(&config.state_dir).get(),
    })
}

/// The certificate's `notAfter`, Unix ms.
pub fn not_after_ms(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    cert.validity().not_after.timestamp().checked_mul(1000)
}

/// The status for a terminal.
pub fn render(s: &Status) -> String {
    let now = now_ms();
    let mut out = String::new();
    let _ = writeln!(out, "Agent:        {} (tenant {})", s.agent_id, s.tenant);
    let _ = writeln!(out, "Collector:    {}", s.collector_url);
    let cert = match s.certificate_expires_at {
        Some(t) if t <= now => format!("EXPIRED {}", when(t, now)),
        Some(t) => format!("expires {}", when(t, now)),
        None => "unreadable".into(),
    };
    let _ = writeln!(out, "Certificate:  {cert}");
    let _ = writeln!(
        out,
        "Spool:        {} batch(es), {} bytes (limits {} batches, {} bytes); {} rejected, {} quarantined; chain at seq {}",
        s.spool.batches,
        s.spool.bytes,
        s.spool_max_batches,
        s.spool_max_bytes,
        s.rejected,
        s.quarantined,
        s.chain_seq
    );
    for (label, o) in [
        ("Last scan:   ", &s.state.last_scan),
        ("Last push:   ", &s.state.last_push),
    ] {
        let line = match o {
            Some(o) => format!(
                "{} {}: {}",
                when(o.at, now),
                if o.ok { "ok" } else { "FAILED" },
                o.message
            ),
            None => "never".into(),
        };
        let _ = writeln!(out, "{label} {line}");
    }
    let contact = s
        .state
        .last_contact_at
        .map_or("never".into(), |t| when(t, now));
    let _ = writeln!(out, "Last contact: {contact}");
    if !s.state.incidents.is_empty() || s.state.incidents_dropped > 0 {
        let _ = writeln!(
            out,
            "Incidents for the next batch: {} (+{} not kept)",
            s.state.incidents.len(),
            s.state.incidents_dropped
        );
        for i in &s.state.incidents {
            let _ = writeln!(out, "  {} {}: {}", when(i.at, now), i.kind, i.message);
        }
    }
    out
}

/// A time as RFC 3339 with how long ago or ahead it is.
fn when(ms: i64, now: i64) -> String {
    let text = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string());
    let secs = (ms - now) / 1000;
    let span = |s: i64| match s {
        s if s >= 86_400 => format!("{} days", s / 86_400),
        s if s >= 3600 => format!("{} h", s / 3600),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    };
    if secs >= 0 {
        format!("{text} (in {})", span(secs))
    } else {
        format!("{text} ({} ago)", span(-secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_expiry_is_read() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["a".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2030, 1, 2);
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(not_after_ms(cert.der()), Some(1_893_542_400_000));
        assert_eq!(not_after_ms(b"junk"), None);
    }

    #[test]
    fn times_read_both_ways() {
        assert!(when(0, 90_000).ends_with("(1 min ago)"));
        assert!(when(86_400_000 * 3, 0).ends_with("(in 3 days)"));
    }
}
