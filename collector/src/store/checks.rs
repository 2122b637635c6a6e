//! A tenant's check catalog, as its agents declared it, with how its results
//! stand.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::query::{self, Where};
use super::{Store, StoreError};
use crate::auth::TenantAccess;

/// Results by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StatusCounts {
    /// Passed.
    pub pass: i64,
    /// Failed.
    pub fail: i64,
    /// Could not be evaluated.
    pub error: i64,
    /// Did not apply.
    pub not_applicable: i64,
}

/// Four aggregate columns counting the rows of `alias` (a `check_results`
/// row) by status, in [`StatusCounts`] order, named `n_pass`, `n_fail`,
/// `n_error`, `n_na`: read them with [`status_counts`]. SUM of an integer CASE is a BIGINT on PostgreSQL, so
/// it reads back as `i64` on both databases (SUM of a BIGINT would be NUMERIC).
pub(crate) fn status_sums(alias: &str) -> String {
    [
        ("pass", "n_pass"),
        ("fail", "n_fail"),
        ("error", "n_error"),
        ("not_applicable", "n_na"),
    ]
    .iter()
    .map(|(s, name)| {
        format!("COALESCE(SUM(CASE WHEN {alias}.status = '{s}' THEN 1 ELSE 0 END), 0) AS {name}")
    })
    .collect::<Vec<_>>()
    .join(", ")
}

/// The four columns of [`status_sums`] starting at `first`.
pub(crate) fn status_counts(
    r: &sqlx::any::AnyRow,
    first: usize,
) -> Result<StatusCounts, StoreError> {
    Ok(StatusCounts {
        pass: r.try_get(first)?,
        fail: r.try_get(first + 1)?,
        error: r.try_get(first + 2)?,
        not_applicable: r.try_get(first + 3)?,
    })
}

/// A check of the tenant's catalog.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckRow {
    /// Check id (Prowler's for ported checks).
    pub id: String,
    /// Plugin that declared it.
    pub plugin: String,
    /// One-line title.
    pub title: String,
    /// What it verifies.
    pub description: String,
    /// Default severity of a failure.
    pub severity: String,
    /// Cloud service.
    pub service: String,
    /// Resource type evaluated.
    pub resource_type: String,
    /// How to fix a failure.
    pub remediation: String,
    /// Framework key → requirement ids, as the plugin declared them.
    pub requirements: BTreeMap<String, Vec<String>>,
    /// Last declared (Unix ms).
    pub updated_at: i64,
    /// Its current results by status (for auditors: those observed within
    /// the window).
    pub results: StatusCounts,
}

/// Most checks listed: catalogs are a few hundred checks; this bounds the
/// response if a plugin declares many more.
pub const MAX_CHECKS: i64 = 5_000;

impl Store {
    /// The tenant's checks by id, with result counts.
    pub async fn checks(&self, t: &TenantAccess) -> Result<Vec<CheckRow>, StoreError> {
        let mut w = Where::new();
        let tenant = w.int(t.id());
        w.and(format!("r.tenant_id = {tenant}"));
        query::window(&mut w, "r.observed_at", t.window());
        let limit = w.int(MAX_CHECKS);
        let sql = format!(
            "SELECT c.id, c.plugin, c.title, c.description, c.severity, c.service,
                 c.resource_type, c.remediation, c.requirements, c.updated_at,
                 COALESCE(n.n_pass, 0), COALESCE(n.n_fail, 0), COALESCE(n.n_error, 0),
                 COALESCE(n.n_na, 0)
             FROM security_checks c
             LEFT JOIN (SELECT r.check_id, {sums} FROM check_results r{filter}
                        GROUP BY r.check_id) n
                 ON n.check_id = c.id
             WHERE c.tenant_id = {tenant} ORDER BY c.id LIMIT {limit}",
            sums = status_sums("r"),
            filter = w.sql(),
        );
        let rows = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let requirements: String = r.try_get(8)?;
                Ok(CheckRow {
                    id: r.try_get(0)?,
                    plugin: r.try_get(1)?,
                    title: r.try_get(2)?,
                    description: r.try_get(3)?,
                    severity: r.try_get(4)?,
                    service: r.try_get(5)?,
                    resource_type: r.try_get(6)?,
                    remediation: r.try_get(7)?,
                    requirements: serde_json::from_str(&requirements)
                        .map_err(|e| StoreError::Unreadable(e.to_string()))?,
                    updated_at: r.try_get(9)?,
                    results: status_counts(r, 10)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use citadel_wire::Status;

    use super::*;
    use crate::store::fixture::{self, CHECKS, T0, World, on_both_databases};

    on_both_databases!(checks_count_their_results);

    /// Counts of check `c` over `(seq, asset)` observations.
    fn expected(c: usize, seen: &[(u64, usize)]) -> StatusCounts {
        let mut n = StatusCounts::default();
        for &(seq, a) in seen {
            match fixture::status(seq, a, c) {
                Status::Pass => n.pass += 1,
                Status::Fail => n.fail += 1,
                Status::Error => n.error += 1,
                Status::NotApplicable => n.not_applicable += 1,
            }
        }
        n
    }

    async fn checks_count_their_results(w: World) {
        let s = &w.store;
        let acme = s.checks(&w.acme.access).await.unwrap();
        assert_eq!(
            acme.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            CHECKS
        );
        let seen = [(2, 0), (1, 1), (2, 2), (2, 3), (2, 4)];
        for (c, row) in acme.iter().enumerate() {
            assert_eq!(row.results, expected(c, &seen), "{}", row.id);
        }
        assert_eq!(acme[0].severity, "high");
        assert_eq!(acme[0].requirements["soc2"], vec!["cc_6_1".to_string()]);

        // The auditor's window leaves out asset 1, last observed by scan 1.
        let auditor = w.acme.auditor(&["soc2"], T0 + 1500, i64::MAX);
        for (c, row) in s.checks(&auditor).await.unwrap().iter().enumerate() {
            assert_eq!(row.results, expected(c, &[(2, 0), (2, 2), (2, 3), (2, 4)]));
        }
        let before = w.acme.auditor(&["soc2"], 0, T0);
        let none = s.checks(&before).await.unwrap();
        assert_eq!(none.len(), CHECKS.len(), "the catalog itself has no time");
        assert!(none.iter().all(|c| c.results == StatusCounts::default()));

        // Beta counts its own results only.
        for (c, row) in s.checks(&w.beta.access).await.unwrap().iter().enumerate() {
            assert_eq!(row.results, expected(c, &[(1, 0), (1, 2), (1, 3)]));
        }
    }
}
