//! The findings list: a tenant's check results as the API reads them, with
//! filters, several sorts and keyset pages, and one result with its history.
//! (`store/results.rs` is the other side: how ingest merges them.)
//!
//! Auditors see only results observed within their window, and only the
//! history entries recorded within it.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::page::{Cursor, PageRequest};
use super::query::{self, LIKE_ESCAPE, Where};
use super::{Store, StoreError};
use crate::auth::TenantAccess;

/// A result status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    /// Compliant.
    Pass,
    /// Not compliant.
    Fail,
    /// Could not be evaluated.
    Error,
    /// Did not apply.
    NotApplicable,
}

impl ResultStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Error => "error",
            Self::NotApplicable => "not_applicable",
        }
    }
}

/// A severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeverityLevel {
    /// Exploitable now, with severe impact.
    Critical,
    /// Serious exposure.
    High,
    /// Should be fixed.
    Medium,
    /// Hardening.
    Low,
    /// For information only.
    Informational,
}

impl SeverityLevel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
            Self::Informational => "informational",
        }
    }
}

/// Rank of `r.severity`, most severe first (anything unknown last).
const SEVERITY_RANK: &str = "CASE r.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1
    WHEN 'medium' THEN 2 WHEN 'low' THEN 3 WHEN 'informational' THEN 4 ELSE 5 END";

/// Orders of the findings list. Every order ends with the result id, so each
/// row has a unique position and keyset pages neither repeat nor skip rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
pub enum FindingSort {
    /// By id, ascending.
    #[default]
    #[serde(rename = "id")]
    Id,
    /// By id, descending (newest results first).
    #[serde(rename = "-id")]
    IdDesc,
    /// Critical first (critical > high > medium > low > informational), then id.
    #[serde(rename = "severity")]
    Severity,
    /// By check id, then id.
    #[serde(rename = "check")]
    Check,
    /// Most recently observed first, then id.
    #[serde(rename = "observed")]
    Observed,
}

impl FindingSort {
    /// The name in the API (and in cursors, which are refused by other sorts).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::IdDesc => "-id",
            Self::Severity => "severity",
            Self::Check => "check",
            Self::Observed => "observed",
        }
    }

    /// The cursor key of `row` under this sort.
    pub fn key(self, row: &FindingRow) -> Option<String> {
        match self {
            Self::Id | Self::IdDesc => None,
            Self::Severity => Some(severity_rank(&row.severity).to_string()),
            Self::Check => Some(row.check_id.clone()),
            Self::Observed => Some(row.observed_at.to_string()),
        }
    }

    /// Whether `cursor`'s key has this sort's shape (the API refuses others
    /// as bad cursors before asking the store).
    pub fn accepts(self, cursor: &Cursor) -> bool {
        match (self, &cursor.key) {
            (Self::Id | Self::IdDesc, None) | (Self::Check, Some(_)) => true,
            (Self::Severity, Some(k)) => k.parse::<i64>().is_ok_and(|r| (0..=5).contains(&r)),
            (Self::Observed, Some(k)) => k.parse::<i64>().is_ok(),
            _ => false,
        }
    }

    /// `ORDER BY` and the condition for rows after `after`.
    fn clauses(
        self,
        w: &mut Where,
        after: Option<&Cursor>,
    ) -> Result<(&'static str, String), StoreError> {
        let bad = || StoreError::Refused("the cursor does not fit the sort".into());
        let order = match self {
            Self::Id => "r.id",
            Self::IdDesc => "r.id DESC",
            Self::Severity => "sev_rank, r.id",
            Self::Check => "r.check_id, r.id",
            Self::Observed => "r.observed_at DESC, r.id",
        };
        let Some(after) = after else {
            return Ok((order, String::new()));
        };
        if !self.accepts(after) {
            return Err(bad());
        }
        let key = after.key.as_deref().unwrap_or_default();
        let int_key = || key.parse::<i64>().map_err(|_| bad());
        let cond = match self {
            Self::Id => format!("r.id > {}", w.int(after.id)),
            Self::IdDesc => format!("r.id < {}", w.int(after.id)),
            Self::Severity => {
                let (k, id) = (w.int(int_key()?), w.int(after.id));
                format!("({SEVERITY_RANK} > {k} OR ({SEVERITY_RANK} = {k} AND r.id > {id}))")
            }
            Self::Check => {
                let (k, id) = (w.text(key), w.int(after.id));
                format!("(r.check_id > {k} OR (r.check_id = {k} AND r.id > {id}))")
            }
            Self::Observed => {
                let (k, id) = (w.int(int_key()?), w.int(after.id));
                format!("(r.observed_at < {k} OR (r.observed_at = {k} AND r.id > {id}))")
            }
        };
        Ok((order, cond))
    }
}

/// The rank [`SEVERITY_RANK`] gives `severity`.
fn severity_rank(severity: &str) -> i64 {
    match severity {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        "informational" => 4,
        _ => 5,
    }
}

/// Filters of the findings list (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Status.
    pub status: Option<ResultStatus>,
    /// Severity.
    pub severity: Option<SeverityLevel>,
    /// Check id, exactly.
    pub check: Option<String>,
    /// Asset row id.
    pub asset: Option<i64>,
    /// Asset region, exactly.
    pub region: Option<String>,
    /// Asset kind, exactly.
    pub kind: Option<String>,
    /// Applied control id: results of the control's checks.
    pub control: Option<i64>,
    /// Framework id: results of checks whose controls map to one of its
    /// requirements (or to `requirement`, when given).
    pub framework: Option<String>,
    /// Requirement ref id within `framework`.
    pub requirement: Option<String>,
    /// Substring of the status text, asset source id or check id, ignoring case.
    pub q: Option<String>,
}

/// A result as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FindingRow {
    /// Row id.
    pub id: i64,
    /// Check id.
    pub check_id: String,
    /// Check title.
    pub check_title: String,
    /// Severity of the result.
    pub severity: String,
    /// `pass`, `fail`, `error` or `not_applicable`.
    pub status: String,
    /// The check's explanation.
    pub status_extended: String,
    /// Asset row id.
    pub asset_id: i64,
    /// Asset source id (ARN).
    pub asset_source_id: String,
    /// Asset name.
    pub asset_name: Option<String>,
    /// Asset kind.
    pub asset_kind: String,
    /// Asset region.
    pub asset_region: String,
    /// Last observed (Unix ms).
    pub observed_at: i64,
    /// First observed (Unix ms).
    pub first_seen_at: i64,
    /// The batch that reported it last.
    pub batch_id: String,
}

/// One status change of a result (or its first observation).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// Status before (`None` for the first observation).
    pub previous_status: Option<String>,
    /// Status from then on.
    pub status: String,
    /// When observed (Unix ms).
    pub changed_at: i64,
    /// The batch that reported it.
    pub batch_id: String,
}

/// One result in full.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FindingDetail {
    /// The result.
    #[serde(flatten)]
    pub result: FindingRow,
    /// Batches that observed it.
    pub observations: i64,
    /// Status changes, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Its evidence record (one per result).
    pub evidence_id: Option<i64>,
}

const FINDING_COLUMNS: &str = "r.id, r.check_id, COALESCE(c.title, r.check_id), r.severity,
    r.status, r.status_extended, a.id, a.source_id, a.name, a.kind, a.region, r.observed_at,
    r.first_seen_at, b.id, r.observations";

const FINDING_JOINS: &str = "FROM check_results r
    JOIN assets a ON a.id = r.asset_id
    JOIN batches b ON b.number = r.batch_number
    LEFT JOIN security_checks c ON c.tenant_id = r.tenant_id AND c.id = r.check_id";

fn finding_row(r: &sqlx::any::AnyRow) -> Result<FindingRow, StoreError> {
    Ok(FindingRow {
        id: r.try_get(0)?,
        check_id: r.try_get(1)?,
        check_title: r.try_get(2)?,
        severity: r.try_get(3)?,
        status: r.try_get(4)?,
        status_extended: r.try_get(5)?,
        asset_id: r.try_get(6)?,
        asset_source_id: r.try_get(7)?,
        asset_name: r.try_get(8)?,
        asset_kind: r.try_get(9)?,
        asset_region: r.try_get(10)?,
        observed_at: r.try_get(11)?,
        first_seen_at: r.try_get(12)?,
        batch_id: r.try_get(13)?,
    })
}

impl Store {
    /// One page of the tenant's results in `sort` order (up to
    /// `page.fetch()` rows). A cursor that does not fit the sort is
    /// [`StoreError::Refused`]; a framework the auditor may not see matches
    /// nothing.
    pub async fn findings(
        &self,
        t: &TenantAccess,
        filter: &FindingFilter,
        sort: FindingSort,
        page: &PageRequest,
    ) -> Result<Vec<FindingRow>, StoreError> {
        if let Some(fw) = &filter.framework
            && !t.allows_framework(fw)
        {
            return Ok(Vec::new());
        }
        let mut w = Where::new();
        let tenant = w.int(t.id());
        w.and(format!("r.tenant_id = {tenant}"));
        query::window(&mut w, "r.observed_at", t.window());
        if let Some(status) = filter.status {
            let p = w.text(status.as_str());
            w.and(format!("r.status = {p}"));
        }
        if let Some(severity) = filter.severity {
            let p = w.text(severity.as_str());
            w.and(format!("r.severity = {p}"));
        }
        if let Some(check) = &filter.check {
            let p = w.text(check);
            w.and(format!("r.check_id = {p}"));
        }
        if let Some(asset) = filter.asset {
            let p = w.int(asset);
            w.and(format!("r.asset_id = {p}"));
        }
        if let Some(region) = &filter.region {
            let p = w.text(region);
            w.and(format!("a.region = {p}"));
        }
        if let Some(kind) = &filter.kind {
            let p = w.text(kind);
            w.and(format!("a.kind = {p}"));
        }
        if let Some(control) = filter.control {
            let p = w.int(control);
            w.and(format!(
                "r.check_id IN (SELECT acc.check_id FROM applied_control_checks acc
                     JOIN applied_controls ac ON ac.id = acc.applied_control_id
                     WHERE ac.id = {p} AND ac.tenant_id = {tenant})"
            ));
        }
        if let Some(fw) = &filter.framework {
            let f = w.text(fw);
            let requirement = match &filter.requirement {
                Some(req) => format!(" AND m.ref_id = {}", w.text(req)),
                None => String::new(),
            };
            w.and(format!(
                "r.check_id IN (SELECT acc.check_id FROM control_requirement_mappings m
                     JOIN applied_controls ac ON ac.id = m.applied_control_id
                     JOIN applied_control_checks acc ON acc.applied_control_id = ac.id
                     WHERE ac.tenant_id = {tenant} AND m.framework_id = {f}{requirement})"
            ));
        }
        if let Some(q) = &filter.q {
            let p = w.text(query::contains_pattern(q));
            w.and(format!(
                "(LOWER(r.status_extended) LIKE {p} {LIKE_ESCAPE}
                  OR LOWER(a.source_id) LIKE {p} {LIKE_ESCAPE}
                  OR LOWER(r.check_id) LIKE {p} {LIKE_ESCAPE})"
            ));
        }
        let (order, after) = sort.clauses(&mut w, page.after.as_ref())?;
        if !after.is_empty() {
            w.and(after);
        }
        let limit = w.int(page.fetch());
        // The rank is a column so that ORDER BY can name it on both databases.
        let sql = format!(
            "SELECT {FINDING_COLUMNS}, {SEVERITY_RANK} AS sev_rank {FINDING_JOINS}{}
             ORDER BY {order} LIMIT {limit}",
            w.sql()
        );
        let rows = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(finding_row).collect()
    }

    /// One of the tenant's results with its history and evidence record.
    pub async fn finding(
        &self,
        t: &TenantAccess,
        id: i64,
    ) -> Result<Option<FindingDetail>, StoreError> {
        let mut w = Where::new();
        let tenant = w.int(t.id());
        let rid = w.int(id);
        w.and(format!("r.tenant_id = {tenant} AND r.id = {rid}"));
        query::window(&mut w, "r.observed_at", t.window());
        let sql = format!(
            "SELECT {FINDING_COLUMNS},
                 (SELECT e.id FROM evidence e WHERE e.check_result_id = r.id
                      AND e.tenant_id = r.tenant_id)
             {FINDING_JOINS}{}",
            w.sql()
        );
        let Some(row) = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let result = finding_row(&row)?;
        let observations: i64 = row.try_get(14)?;
        let evidence_id: Option<i64> = row.try_get(15)?;

        let mut w = Where::new();
        let rid = w.int(id);
        w.and(format!("h.check_result_id = {rid}"));
        query::window(&mut w, "h.changed_at", t.window());
        let sql = format!(
            "SELECT h.previous_status, h.status, h.changed_at, b.id
             FROM check_result_history h JOIN batches b ON b.number = h.batch_number{}
             ORDER BY h.id",
            w.sql()
        );
        let history = w
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|h| {
                Ok(HistoryEntry {
                    previous_status: h.try_get(0)?,
                    status: h.try_get(1)?,
                    changed_at: h.try_get(2)?,
                    batch_id: h.try_get(3)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(FindingDetail {
            result,
            observations,
            history,
            evidence_id,
        }))
    }
}
