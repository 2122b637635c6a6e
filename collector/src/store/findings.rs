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
        // A record's id is its result's id (migration 0005): a primary-key
        // lookup, where `check_result_id` has no index (PostgreSQL scanned
        // the whole table, ~150 ms on a 1,000,000-result tenant).
        let sql = format!(
            "SELECT {FINDING_COLUMNS},
                 (SELECT e.id FROM evidence e WHERE e.id = r.id
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

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;

    use super::*;
    use crate::store::fixture::{CHECKS, T0, World, on_both_databases, walk};

    on_both_databases!(
        results_filters,
        results_sorts_and_pages,
        result_detail_history_evidence,
        results_within_auditor_window,
    );

    async fn list(w: &World, t: &TenantAccess, filter: FindingFilter) -> Vec<FindingRow> {
        w.store
            .findings(t, &filter, FindingSort::Id, &PageRequest::first(500))
            .await
            .unwrap()
    }

    /// (asset external index, check index) of each row, from its texts.
    fn cells(rows: &[FindingRow]) -> Vec<(String, String)> {
        rows.iter()
            .map(|r| {
                let asset = r.asset_source_id.rsplit('/').next().unwrap().to_string();
                (asset, r.check_id.clone())
            })
            .collect()
    }

    async fn results_filters(w: World) {
        let t = &w.acme.access;
        let f = FindingFilter::default;
        let all = list(&w, t, f()).await;
        assert_eq!(all.len(), 20);
        assert!(all.windows(2).all(|p| p[0].id < p[1].id));
        let beta = list(&w, &w.beta.access, f()).await;
        assert_eq!(beta.len(), 12);
        assert!(beta.iter().all(|b| all.iter().all(|a| a.id != b.id)));
        let scan2 = w.acme.batches[1].0.batch_id.to_string();
        let a0 = all
            .iter()
            .find(|r| r.asset_source_id.ends_with("x-0000"))
            .unwrap();
        assert_eq!(a0.batch_id, scan2);
        assert_eq!(a0.first_seen_at, T0 + 1000);
        assert_eq!(a0.observed_at, T0 + 2000);
        assert!(a0.check_title.starts_with("Fixture check"));

        let n = async |filter: FindingFilter| list(&w, t, filter).await.len();
        for status in [
            ResultStatus::Pass,
            ResultStatus::Fail,
            ResultStatus::Error,
            ResultStatus::NotApplicable,
        ] {
            let rows = list(
                &w,
                t,
                FindingFilter {
                    status: Some(status),
                    ..f()
                },
            )
            .await;
            let want = all.iter().filter(|r| r.status == status.as_str()).count();
            assert!(want > 0);
            assert_eq!(rows.len(), want);
            assert!(rows.iter().all(|r| r.status == status.as_str()));
        }
        let critical = list(
            &w,
            t,
            FindingFilter {
                severity: Some(SeverityLevel::Critical),
                ..f()
            },
        );
        assert!(critical.await.iter().all(|r| r.check_id == CHECKS[1]));
        let check = |c: &str| FindingFilter {
            check: Some(c.into()),
            ..f()
        };
        assert_eq!(n(check(CHECKS[0])).await, 5);
        assert_eq!(n(check("check_alph")).await, 0, "exact");
        let asset2 = w.acme.asset_id(&w.store, 2).await;
        let rows = list(
            &w,
            t,
            FindingFilter {
                asset: Some(asset2),
                ..f()
            },
        )
        .await;
        assert_eq!(rows.len(), 4);
        assert!(
            rows.iter()
                .all(|r| r.asset_id == asset2 && r.asset_kind == "ec2:instance")
        );
        let beta2 = w.beta.asset_id(&w.store, 2).await;
        assert_eq!(
            n(FindingFilter {
                asset: Some(beta2),
                ..f()
            })
            .await,
            0,
            "beta's asset"
        );
        assert_eq!(
            n(FindingFilter {
                region: Some("eu-west-1".into()),
                ..f()
            })
            .await,
            4
        );
        assert_eq!(
            n(FindingFilter {
                kind: Some("ec2:volume".into()),
                ..f()
            })
            .await,
            12
        );
        let both = FindingFilter {
            status: Some(ResultStatus::Fail),
            check: Some(CHECKS[0].into()),
            ..f()
        };
        let rows = list(&w, t, both).await;
        assert!(!rows.is_empty());
        assert!(
            rows.iter()
                .all(|r| r.status == "fail" && r.check_id == CHECKS[0])
        );

        // Controls and frameworks: each fixture check has a requirement
        // control of its own, mapped to its one requirement.
        let control: i64 = sqlx::query_scalar(
            "SELECT c.id FROM applied_controls c
             JOIN applied_control_checks k ON k.applied_control_id = c.id
             WHERE c.tenant_id = $1 AND k.check_id = $2",
        )
        .bind(t.id())
        .bind(CHECKS[1])
        .fetch_one(w.store.pool())
        .await
        .unwrap();
        let rows = list(
            &w,
            t,
            FindingFilter {
                control: Some(control),
                ..f()
            },
        )
        .await;
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|r| r.check_id == CHECKS[1]));
        assert_eq!(
            n(FindingFilter {
                control: Some(control),
                ..f()
            })
            .await,
            5,
            "same again"
        );
        assert_eq!(
            n(FindingFilter {
                control: Some(control),
                ..Default::default()
            })
            .await,
            5
        );
        let beta_control = list(
            &w,
            &w.beta.access,
            FindingFilter {
                control: Some(control),
                ..f()
            },
        );
        assert!(beta_control.await.is_empty(), "acme's control");
        let fw = |fw: &str, req: Option<&str>| FindingFilter {
            framework: Some(fw.into()),
            requirement: req.map(Into::into),
            ..f()
        };
        let soc2 = list(&w, t, fw("soc2", None)).await;
        assert_eq!(soc2.len(), 10);
        assert!(
            soc2.iter()
                .all(|r| r.check_id == CHECKS[0] || r.check_id == CHECKS[1])
        );
        let cc61 = list(&w, t, fw("soc2", Some("CC6.1"))).await;
        assert_eq!(cc61.len(), 5);
        assert!(cc61.iter().all(|r| r.check_id == CHECKS[0]));
        assert_eq!(n(fw("soc2", Some("CC6.6"))).await, 5);
        assert_eq!(n(fw("soc2", Some("CC9.9"))).await, 0);
        let pci = list(&w, t, fw("pci_dss_4.0.1", None)).await;
        assert_eq!(pci.len(), 5);
        assert!(pci.iter().all(|r| r.check_id == CHECKS[2]));
        assert_eq!(n(fw("nist_csf_2.0", None)).await, 0);
        let auditor = w.acme.auditor(&["soc2"], i64::MIN, i64::MAX);
        assert_eq!(list(&w, &auditor, fw("soc2", None)).await.len(), 10);
        assert!(
            list(&w, &auditor, fw("pci_dss_4.0.1", None))
                .await
                .is_empty(),
            "out of scope"
        );

        // Search: status text, asset source id, check id; wildcards are literal.
        let q = |q: &str| FindingFilter {
            q: Some(q.into()),
            ..f()
        };
        let done = list(&w, t, q("0%")).await;
        assert_eq!(cells(&done), vec![("x-0002".into(), CHECKS[3].to_string())]);
        assert_eq!(n(q("0_0")).await, 0, "_ is no wildcard");
        assert_eq!(n(q("X-0003")).await, 4, "asset source id, ignoring case");
        assert_eq!(n(q("CHECK_ALPHA")).await, 5);
        assert_eq!(n(q("checked by")).await, 19);
    }

    fn rank(r: &FindingRow) -> i64 {
        severity_rank(&r.severity)
    }

    async fn results_sorts_and_pages(w: World) {
        let t = &w.acme.access;
        let all = list(&w, t, FindingFilter::default()).await;
        let ordered = |mut rows: Vec<FindingRow>, sort: FindingSort| {
            match sort {
                FindingSort::Id => rows.sort_by_key(|r| r.id),
                FindingSort::IdDesc => rows.sort_by_key(|r| Reverse(r.id)),
                FindingSort::Severity => rows.sort_by_key(|r| (rank(r), r.id)),
                FindingSort::Check => {
                    rows.sort_by(|a, b| (&a.check_id, a.id).cmp(&(&b.check_id, b.id)))
                }
                FindingSort::Observed => rows.sort_by_key(|r| (Reverse(r.observed_at), r.id)),
            }
            rows.into_iter().map(|r| r.id).collect::<Vec<_>>()
        };
        let sorts = [
            FindingSort::Id,
            FindingSort::IdDesc,
            FindingSort::Severity,
            FindingSort::Check,
            FindingSort::Observed,
        ];
        for sort in sorts {
            let fetch = async |req: PageRequest| {
                w.store
                    .findings(t, &FindingFilter::default(), sort, &req)
                    .await
                    .unwrap()
            };
            let one = ordered(fetch(PageRequest::first(500)).await, FindingSort::Id);
            assert_eq!(one, ordered(all.clone(), FindingSort::Id));
            let want = ordered(all.clone(), sort);
            for limit in [1, 3, 7] {
                let got = walk(limit, sort.as_str(), fetch, |r| (sort.key(r), r.id)).await;
                let got: Vec<i64> = got.iter().map(|r| r.id).collect();
                assert_eq!(got, want, "{sort:?} in pages of {limit}");
            }
            // Filtered too: failing results in this order.
            let failing = FindingFilter {
                status: Some(ResultStatus::Fail),
                ..Default::default()
            };
            let got = walk(
                2,
                sort.as_str(),
                async |req: PageRequest| w.store.findings(t, &failing, sort, &req).await.unwrap(),
                |r| (sort.key(r), r.id),
            )
            .await;
            let want = ordered(
                all.iter().filter(|r| r.status == "fail").cloned().collect(),
                sort,
            );
            assert_eq!(got.iter().map(|r| r.id).collect::<Vec<_>>(), want);
        }
        // Ties: several results share a severity and an observation time.
        assert!(all.iter().filter(|r| r.observed_at == T0 + 2000).count() > 3);

        // A cursor of one sort is refused by another (the API checks the
        // sort name it carries; the store checks the key's shape).
        let req = crate::api::page::request(Some(2), None, "severity").unwrap();
        let rows = w
            .store
            .findings(t, &FindingFilter::default(), FindingSort::Severity, &req)
            .await
            .unwrap();
        let page = crate::api::page::page(rows, &req, "severity", |r| {
            (FindingSort::Severity.key(r), r.id)
        });
        let cursor = page.next_cursor.unwrap();
        for other in ["id", "-id", "check", "observed"] {
            let refused = crate::api::page::request(Some(2), Some(&cursor), other).unwrap_err();
            assert_eq!(refused.code(), "bad_cursor");
        }
        let by_id = Cursor {
            key: None,
            id: all[0].id,
        };
        let by_check = Cursor {
            key: Some("check_alpha".into()),
            id: all[0].id,
        };
        assert!(!FindingSort::Check.accepts(&by_id));
        assert!(!FindingSort::Severity.accepts(&by_check));
        assert!(!FindingSort::Observed.accepts(&by_check));
        assert!(!FindingSort::Id.accepts(&by_check));
        assert!(FindingSort::Severity.accepts(&Cursor {
            key: Some("2".into()),
            id: 1
        }));
        assert!(!FindingSort::Severity.accepts(&Cursor {
            key: Some("9".into()),
            id: 1
        }));
        for (sort, after) in [
            (FindingSort::Check, by_id),
            (FindingSort::Severity, by_check),
        ] {
            let req = PageRequest {
                after: Some(after),
                limit: 5,
            };
            let refused = w
                .store
                .findings(t, &FindingFilter::default(), sort, &req)
                .await;
            assert!(matches!(refused, Err(StoreError::Refused(_))));
        }
    }

    async fn result_detail_history_evidence(w: World) {
        let s = &w.store;
        let t = &w.acme.access;
        let all = list(&w, t, FindingFilter::default()).await;
        let find = |asset: &str, check: &str| {
            all.iter()
                .find(|r| r.asset_source_id.ends_with(asset) && r.check_id == check)
                .unwrap()
                .id
        };
        let (scan1, scan2) = (
            w.acme.batches[0].0.batch_id.to_string(),
            w.acme.batches[1].0.batch_id.to_string(),
        );
        // Asset 0's statuses move on in the rescan: pass → fail for check 0.
        let changed = find("x-0000", CHECKS[0]);
        let d = s.finding(t, changed).await.unwrap().unwrap();
        assert_eq!(d.result.status, "fail");
        assert_eq!(d.observations, 2);
        assert_eq!(d.evidence_id, Some(changed));
        let history: Vec<_> = d
            .history
            .iter()
            .map(|h| {
                (
                    h.previous_status.as_deref(),
                    h.status.as_str(),
                    h.batch_id.as_str(),
                )
            })
            .collect();
        assert_eq!(
            history,
            vec![
                (None, "pass", scan1.as_str()),
                (Some("pass"), "fail", scan2.as_str())
            ]
        );
        assert_eq!(d.history[1].changed_at, T0 + 2000);

        // Unchanged: one entry, two observations.
        let same = s
            .finding(t, find("x-0002", CHECKS[0]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(same.history.len(), 1);
        assert_eq!(same.observations, 2);

        // Another tenant's result does not exist for beta.
        assert!(s.finding(&w.beta.access, changed).await.unwrap().is_none());
        assert!(s.finding(t, i64::MAX).await.unwrap().is_none());

        // Auditors: the history within the window; nothing observed after it.
        let late = w.acme.auditor(&["soc2"], T0 + 1500, i64::MAX);
        let d = s.finding(&late, changed).await.unwrap().unwrap();
        assert_eq!(d.history.len(), 1);
        assert_eq!(d.history[0].status, "fail");
        let early = w.acme.auditor(&["soc2"], 0, T0 + 1500);
        assert!(s.finding(&early, changed).await.unwrap().is_none());
    }

    async fn results_within_auditor_window(w: World) {
        let t = &w.acme.access;
        let late = w.acme.auditor(&["soc2"], T0 + 1500, i64::MAX);
        let rows = list(&w, &late, FindingFilter::default()).await;
        assert_eq!(rows.len(), 16);
        assert!(rows.iter().all(|r| r.observed_at >= T0 + 1500));
        let first_scan = w.acme.auditor(&["soc2"], T0 + 1000, T0 + 1001);
        let rows = list(&w, &first_scan, FindingFilter::default()).await;
        assert_eq!(rows.len(), 4, "asset 1's results, last observed by scan 1");
        assert!(rows.iter().all(|r| r.asset_region == "eu-west-1"));
        // Every sort keeps to the window across pages.
        for sort in [FindingSort::Severity, FindingSort::Observed] {
            let got = walk(
                3,
                sort.as_str(),
                async |req: PageRequest| {
                    w.store
                        .findings(&late, &FindingFilter::default(), sort, &req)
                        .await
                        .unwrap()
                },
                |r| (sort.key(r), r.id),
            )
            .await;
            assert_eq!(got.len(), 16);
        }
        assert_eq!(list(&w, t, FindingFilter::default()).await.len(), 20);
    }
}
