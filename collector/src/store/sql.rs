//! WHERE clauses of filtered listings, built from optional filters: every
//! value is bound as a parameter (`$N`, numbered in order), and clauses are
//! our own text. Also the auditor-scope fragments that several areas share.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use crate::auth::TenantAccess;

/// A bound value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    /// An integer.
    Int(i64),
    /// A text.
    Text(String),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Self::Text(v.to_string())
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

/// Clauses joined with AND, and the values they bind.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    /// Bind `v`; returns its placeholder (`$N`).
    pub(crate) fn arg(&mut self, v: impl Into<Arg>) -> String {
        self.args.push(v.into());
        format!("${}", self.args.len())
    }

    /// Add a clause (our own SQL; values only through [`Self::arg`]).
    pub(crate) fn and(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// `(a, b, …)` of placeholders for `values`; `(NULL)` when empty, which
    /// matches nothing.
    pub(crate) fn list(&mut self, values: &[String]) -> String {
        if values.is_empty() {
            return "(NULL)".into();
        }
        let marks: Vec<String> = values.iter().map(|v| self.arg(v.as_str())).collect();
        format!("({})", marks.join(", "))
    }

    /// One subquery per check of `checks`, joined with UNION ALL:
    /// `branch(check)` is its SQL, given the check's placeholder. Each
    /// branch is wrapped (`SELECT * FROM (…) AS bN`) so that it may carry
    /// its own ORDER BY and LIMIT on both databases.
    ///
    /// Why: the rows of a control are those of its few checks, and each
    /// check's rows are one range of a (tenant, check, …) index. A single
    /// `check_id IN (…)` or a join from the control leads the planners
    /// (PostgreSQL's hash join over a scan of the whole tenant, SQLite's
    /// sort of every row) to read far more than the page or count needs.
    pub(crate) fn per_check(
        &mut self,
        checks: &[String],
        branch: impl Fn(&str) -> String,
    ) -> String {
        let branches: Vec<String> = checks
            .iter()
            .enumerate()
            .map(|(i, check)| {
                let check = self.arg(check.as_str());
                format!("SELECT * FROM ({}) AS b{i}", branch(&check))
            })
            .collect();
        branches.join(" UNION ALL ")
    }

    /// The clauses joined with AND (`1 = 1` when there are none).
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }

    /// `sql` with the values bound, in order.
    pub(crate) fn query(&self, sql: String) -> Query<'static, Any, AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in &self.args {
            q = match a {
                Arg::Int(i) => q.bind(*i),
                Arg::Text(t) => q.bind(t.clone()),
            };
        }
        q
    }
}

/// `text` as a LIKE pattern matching it anywhere, with `!` escaping the
/// pattern characters (use with `ESCAPE '!'`).
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '!') {
            p.push('!');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The frameworks an auditor may see (`None`: no limit).
pub(crate) fn scope_frameworks(t: &TenantAccess) -> Option<Vec<String>> {
    t.auditor().map(|a| a.frameworks.clone())
}

/// For auditors, limit applied control `control` (an SQL expression of its
/// id) to controls mapped to one of the auditor's frameworks.
pub(crate) fn control_in_scope(f: &mut Filter, t: &TenantAccess, control: &str) {
    if let Some(frameworks) = scope_frameworks(t) {
        let list = f.list(&frameworks);
        f.and(format!(
            "EXISTS (SELECT 1 FROM control_requirement_mappings sm
                     WHERE sm.applied_control_id = {control} AND sm.framework_id IN {list})"
        ));
    }
}

/// For auditors, limit policy `policy` (an SQL expression of its id) to
/// policies with a control mapped to one of their frameworks.
pub(crate) fn policy_in_scope(f: &mut Filter, t: &TenantAccess, policy: &str) {
    if let Some(frameworks) = scope_frameworks(t) {
        let list = f.list(&frameworks);
        f.and(format!(
            "EXISTS (SELECT 1 FROM policy_controls spc
                     JOIN control_requirement_mappings sm ON sm.applied_control_id = spc.applied_control_id
                     WHERE spc.policy_id = {policy} AND sm.framework_id IN {list})"
        ));
    }
}

/// For auditors, limit evidence record `evidence` (an SQL expression of its
/// id) to records linked to a control mapped to one of their frameworks and
/// with a revision received within their window.
pub(crate) fn evidence_in_scope(f: &mut Filter, t: &TenantAccess, evidence: &str) {
    let Some(frameworks) = scope_frameworks(t) else {
        return;
    };
    let list = f.list(&frameworks);
    f.and(format!(
        "EXISTS (SELECT 1 FROM evidence_controls sec
                 JOIN control_requirement_mappings sm ON sm.applied_control_id = sec.applied_control_id
                 WHERE sec.evidence_id = {evidence} AND sm.framework_id IN {list})"
    ));
    let (from, to) = t.window();
    let (from, to) = (f.arg(from), f.arg(to));
    f.and(format!(
        "EXISTS (SELECT 1 FROM evidence_revisions sr WHERE sr.evidence_id = {evidence}
                 AND sr.created_at >= {from} AND sr.created_at <= {to})"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_in_order_and_patterns_escape() {
        let mut f = Filter::default();
        let a = f.arg(1);
        let list = f.list(&["x".into(), "y".into()]);
        f.and(format!("a = {a}"));
        f.and(format!("b IN {list}"));
        assert_eq!(f.sql(), "a = $1 AND b IN ($2, $3)");
        assert_eq!(Filter::default().list(&[]), "(NULL)");
        assert_eq!(Filter::default().sql(), "1 = 1");
        assert_eq!(contains_pattern("50%_A!"), "%50!%!_a!!%");
    }
}
