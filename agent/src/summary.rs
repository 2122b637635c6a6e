//! The human summary printed after a scan.

use std::fmt::Write;

use crate::scan::ScanReport;

/// Most failing or erroring findings listed per integration.
const MAX_LISTED: usize = 40;

/// Render the report for a terminal.
pub(crate) fn render(report: &ScanReport) -> String {
    let mut out = String::new();
    for e in &report.plugin_errors {
        let _ = writeln!(out, "PLUGIN NOT LOADED {e}");
    }
    for i in &report.integrations {
        if let Some(why) = &i.skipped {
            let _ = writeln!(out, "SCAN SKIPPED {why}");
            continue;
        }
        let _ = writeln!(
            out,
            "Scan of integration {:?}: account {}, regions {} ({} ms)",
            i.name,
            i.account,
            i.regions.join(", "),
            i.duration_ms
        );
        let kinds: Vec<String> = i
            .resources
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let total: usize = i.resources.values().sum();
        let _ = writeln!(out, "  discovered {total} resources: {}", kinds.join(", "));
        for e in &i.discovery_errors {
            let _ = writeln!(out, "  DISCOVERY ERROR {e}");
        }
        for e in &i.check_errors {
            let _ = writeln!(out, "  CHECK ERROR {e}");
        }
        let statuses: Vec<String> = i
            .by_status
            .iter()
            .map(|(s, n)| format!("{} {n}", s.to_uppercase()))
            .collect();
        let _ = writeln!(
            out,
            "  findings: {} ({})",
            i.findings.len(),
            statuses.join(", ")
        );
        if !i.failed_by_severity.is_empty() {
            let order = ["critical", "high", "medium", "low", "informational"];
            let sev: Vec<String> = order
                .iter()
                .filter_map(|s| i.failed_by_severity.get(*s).map(|n| format!("{s} {n}")))
                .collect();
            let _ = writeln!(out, "  failed by severity: {}", sev.join(", "));
        }
        // Passing findings are counted above; list what needs attention, capped.
        let attention: Vec<_> = i
            .findings
            .iter()
            .filter(|f| f.status.as_str() != "pass")
            .collect();
        for f in attention.iter().take(MAX_LISTED) {
            let _ = writeln!(
                out,
                "    {:<5} {:<8} {}  {}\n          {}",
                f.status.as_str().to_uppercase(),
                f.severity.as_str(),
                f.check_id,
                f.resource,
                f.status_extended
            );
        }
        if attention.len() > MAX_LISTED {
            let _ = writeln!(
                out,
                "    … and {} more (all findings: --json)",
                attention.len() - MAX_LISTED
            );
        }
        let _ = writeln!(
            out,
            "  batch {} (seq {}) signed and spooled",
            i.batch_id, i.seq
        );
        if let Some(p) = &i.output {
            let _ = writeln!(out, "  written to {}", p.display());
        }
    }
    if let Some(p) = &report.push {
        for d in &p.delivered {
            let _ = writeln!(
                out,
                "Collector: batch {} {}",
                d["batch_id"].as_str().unwrap_or("?"),
                d["status"].as_str().unwrap_or("?")
            );
        }
        for r in &p.rejected {
            let _ = writeln!(out, "Collector REJECTED {r}");
        }
        if let Some(why) = &p.deferred {
            let _ = writeln!(
                out,
                "Push deferred ({} batch(es) kept in the spool): {why}",
                p.pending
            );
        }
    }
    out
}
