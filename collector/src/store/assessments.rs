//! Requirement assessments: seed 001's second mapping system, kept apart
//! from scan posture. A person records a result for a requirement, answers
//! to its questions, notes, and applied controls linked by hand. The
//! compliance score comes from these alone ([`compliance_score`]); controls
//! and their posture do not enter it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::audit::append;
use super::controls::work_status;
use super::policies::ControlRef;
use super::{Store, StoreError};
use crate::audit::{Action, Context, Event};
use crate::auth::TenantAccess;

/// A requirement's assessed result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentResult {
    /// Not assessed yet (left out of the score).
    NotAssessed,
    /// Met.
    Compliant,
    /// Partly met.
    PartiallyCompliant,
    /// Not met.
    NonCompliant,
    /// Does not apply (left out of the score).
    NotApplicable,
}

impl AssessmentResult {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAssessed => "not_assessed",
            Self::Compliant => "compliant",
            Self::PartiallyCompliant => "partially_compliant",
            Self::NonCompliant => "non_compliant",
            Self::NotApplicable => "not_applicable",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::NotAssessed,
            Self::Compliant,
            Self::PartiallyCompliant,
            Self::NonCompliant,
            Self::NotApplicable,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// An answer to one of a requirement's questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Answer {
    /// Counts 1.
    #[serde(rename = "yes")]
    Yes,
    /// Counts 0.5.
    #[serde(rename = "partial")]
    Partial,
    /// Counts 0.
    #[serde(rename = "no")]
    No,
    /// Left out.
    #[serde(rename = "n/a")]
    NotApplicable,
}

/// A requirement's score in 0..=1, or `None` when it does not count:
/// results `not_assessed` and `not_applicable` never count; otherwise the
/// mean of the answers (yes 1, partial 0.5, no 0, n/a left out) if any
/// answer is not n/a, else the result's value (compliant 1,
/// partially_compliant 0.5, non_compliant 0).
pub fn requirement_score<'a>(
    result: AssessmentResult,
    answers: impl IntoIterator<Item = &'a Answer>,
) -> Option<f64> {
    let from_result = match result {
        AssessmentResult::NotAssessed | AssessmentResult::NotApplicable => return None,
        AssessmentResult::Compliant => 1.0,
        AssessmentResult::PartiallyCompliant => 0.5,
        AssessmentResult::NonCompliant => 0.0,
    };
    let (sum, n) = answers
        .into_iter()
        .filter_map(|a| match a {
            Answer::Yes => Some(1.0),
            Answer::Partial => Some(0.5),
            Answer::No => Some(0.0),
            Answer::NotApplicable => None,
        })
        .fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    Some(if n > 0 {
        sum / f64::from(n)
    } else {
        from_result
    })
}

/// A framework's compliance score in 0..=1 from `(weight, score)` per
/// requirement: Σ weight × score / Σ weight over the requirements that
/// count (`Some` score); `None` when none does (or their weights sum to 0).
pub fn compliance_score(items: impl IntoIterator<Item = (i64, Option<f64>)>) -> Option<f64> {
    let (weighted, weights) = items
        .into_iter()
        .filter_map(|(w, s)| s.map(|s| (w.max(0) as f64, s)))
        .fold((0.0, 0.0), |(ws, w), (wi, si)| (ws + wi * si, w + wi));
    (weights > 0.0).then(|| weighted / weights)
}

/// An assessment as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssessmentRow {
    /// Framework id.
    pub framework_id: String,
    /// Requirement id.
    pub ref_id: String,
    /// Result.
    pub result: AssessmentResult,
    /// Question → answer.
    pub answers: BTreeMap<String, Answer>,
    /// Notes.
    pub notes: Option<String>,
    /// The requirement's score (0–1; `None` when it does not count).
    pub score: Option<f64>,
    /// Last change (Unix ms).
    pub updated_at: i64,
    /// User who made it.
    pub updated_by: Option<i64>,
    /// Edit version (the ETag).
    pub version: i64,
    /// Applied controls linked by hand.
    pub controls: Vec<ControlRef>,
}

/// What a PUT sets.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentInput {
    /// Result.
    pub result: AssessmentResult,
    /// Question → answer.
    pub answers: BTreeMap<String, Answer>,
    /// Notes.
    pub notes: Option<String>,
    /// Applied controls to link (replaces the earlier links).
    pub control_ids: Vec<i64>,
}

/// Parse stored answers.
pub(crate) fn parse_answers(text: &str) -> Result<BTreeMap<String, Answer>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Unreadable(format!("answers: {e}")))
}

/// Parse a stored result.
pub(crate) fn parse_result(s: &str) -> Result<AssessmentResult, StoreError> {
    AssessmentResult::parse(s).ok_or_else(|| StoreError::Unreadable(format!("result {s:?}")))
}

async fn read_assessment(
    conn: &mut sqlx::AnyConnection,
    tenant: i64,
    framework: &str,
    ref_id: &str,
) -> Result<Option<AssessmentRow>, StoreError> {
    let Some(r) = sqlx::query(
        "SELECT result, answers, notes, updated_at, updated_by, version
         FROM requirement_assessments WHERE tenant_id = $1 AND framework_id = $2 AND ref_id = $3",
    )
    .bind(tenant)
    .bind(framework)
    .bind(ref_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let result = parse_result(&r.try_get::<String, _>(0)?)?;
    let answers = parse_answers(&r.try_get::<String, _>(1)?)?;
    let controls = sqlx::query(
        "SELECT c.id, c.key, c.name, c.posture, c.status
         FROM requirement_assessment_controls rac
         JOIN applied_controls c ON c.id = rac.applied_control_id AND c.tenant_id = rac.tenant_id
         WHERE rac.tenant_id = $1 AND rac.framework_id = $2 AND rac.ref_id = $3
         ORDER BY c.name, c.id",
    )
    .bind(tenant)
    .bind(framework)
    .bind(ref_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|c| {
        Ok(ControlRef {
            id: c.try_get(0)?,
            key: c.try_get(1)?,
            name: c.try_get(2)?,
            posture: c.try_get(3)?,
            status: work_status(&c.try_get::<String, _>(4)?)?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(AssessmentRow {
        framework_id: framework.to_string(),
        ref_id: ref_id.to_string(),
        score: requirement_score(result, answers.values()),
        result,
        answers,
        notes: r.try_get(2)?,
        updated_at: r.try_get(3)?,
        updated_by: r.try_get(4)?,
        version: r.try_get(5)?,
        controls,
    }))
}

fn audit_state(a: &AssessmentRow) -> serde_json::Value {
    serde_json::json!({
        "result": a.result,
        "answers": a.answers,
        "notes": a.notes,
        "control_ids": a.controls.iter().map(|c| c.id).collect::<Vec<_>>(),
        "version": a.version,
    })
}

impl Store {
    /// Whether requirement `ref_id` of `framework` exists: `None` if not,
    /// else whether it is assessable.
    pub async fn requirement_assessable(
        &self,
        framework: &str,
        ref_id: &str,
    ) -> Result<Option<bool>, StoreError> {
        let row = sqlx::query(
            "SELECT CASE WHEN assessable THEN 1 ELSE 0 END FROM requirement_nodes
             WHERE framework_id = $1 AND ref_id = $2",
        )
        .bind(framework)
        .bind(ref_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?
            .map(|v| v != 0))
    }

    /// The tenant's assessment of a requirement (`None` when there is none,
    /// or the caller is an auditor of other frameworks).
    pub async fn assessment(
        &self,
        t: &TenantAccess,
        framework: &str,
        ref_id: &str,
    ) -> Result<Option<AssessmentRow>, StoreError> {
        if !t.allows_framework(framework) {
            return Ok(None);
        }
        let mut conn = self.pool.acquire().await?;
        read_assessment(&mut conn, t.id(), framework, ref_id).await
    }

    /// Create (`if_match` `None`; [`StoreError::Stale`] if one exists) or
    /// replace (`if_match` the current version) the tenant's assessment of
    /// an assessable requirement, with its audit row. `user_id` is recorded
    /// as the author.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_assessment(
        &self,
        ctx: &Context,
        t: &TenantAccess,
        user_id: Option<i64>,
        framework: &str,
        ref_id: &str,
        if_match: Option<i64>,
        input: &AssessmentInput,
    ) -> Result<AssessmentRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let node = sqlx::query(
            "SELECT CASE WHEN assessable THEN 1 ELSE 0 END FROM requirement_nodes
             WHERE framework_id = $1 AND ref_id = $2",
        )
        .bind(framework)
        .bind(ref_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        if node.try_get::<i64, _>(0)? == 0 {
            return Err(StoreError::Refused(format!(
                "{ref_id} is a heading of {framework}, not an assessable requirement"
            )));
        }
        let mut ids = input.control_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        if !ids.is_empty() {
            // Our own integers, written as literals.
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            let found: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM applied_controls WHERE tenant_id = $1 AND id IN ({})",
                list.join(", ")
            )))
            .bind(t.id())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
            if found != ids.len() as i64 {
                return Err(StoreError::Invalid(
                    "control_ids names a control this tenant does not have".into(),
                ));
            }
        }
        let before = read_assessment(&mut tx, t.id(), framework, ref_id).await?;
        let answers = serde_json::to_string(&input.answers)
            .map_err(|e| StoreError::Unreadable(e.to_string()))?;
        match (&before, if_match) {
            (None, None) => {
                let done = sqlx::query(
                    "INSERT INTO requirement_assessments (tenant_id, framework_id, ref_id, result,
                         answers, notes, updated_at, updated_by, version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)
                     ON CONFLICT (tenant_id, framework_id, ref_id) DO NOTHING",
                )
                .bind(t.id())
                .bind(framework)
                .bind(ref_id)
                .bind(input.result.as_str())
                .bind(&answers)
                .bind(input.notes.as_deref())
                .bind(ctx.at)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                // Someone created it since this request read it.
                if done.rows_affected() == 0 {
                    return Err(StoreError::Stale);
                }
            }
            (Some(b), Some(v)) if b.version == v => {
                let done = sqlx::query(
                    "UPDATE requirement_assessments SET result = $1, answers = $2, notes = $3,
                         updated_at = $4, updated_by = $5, version = version + 1
                     WHERE tenant_id = $6 AND framework_id = $7 AND ref_id = $8 AND version = $9",
                )
                .bind(input.result.as_str())
                .bind(&answers)
                .bind(input.notes.as_deref())
                .bind(ctx.at)
                .bind(user_id)
                .bind(t.id())
                .bind(framework)
                .bind(ref_id)
                .bind(v)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Stale);
                }
                sqlx::query(
                    "DELETE FROM requirement_assessment_controls
                     WHERE tenant_id = $1 AND framework_id = $2 AND ref_id = $3",
                )
                .bind(t.id())
                .bind(framework)
                .bind(ref_id)
                .execute(&mut *tx)
                .await?;
            }
            _ => return Err(StoreError::Stale),
        }
        for id in &ids {
            sqlx::query(
                "INSERT INTO requirement_assessment_controls (tenant_id, framework_id, ref_id,
                     applied_control_id) VALUES ($1, $2, $3, $4)",
            )
            .bind(t.id())
            .bind(framework)
            .bind(ref_id)
            .bind(*id)
            .execute(&mut *tx)
            .await?;
        }
        let after = read_assessment(&mut tx, t.id(), framework, ref_id)
            .await?
            .ok_or_else(|| StoreError::Unreadable("assessment vanished".into()))?;
        let mut event = Event::new(
            Action::AssessmentUpdated,
            "requirement_assessment",
            format!("{framework}:{ref_id}"),
        )
        .tenant(t.id())
        .after(audit_state(&after));
        event.before = before.as_ref().map(audit_state);
        append(&mut tx, ctx, &event).await?;
        tx.commit().await?;
        self.committed();
        Ok(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use AssessmentResult as R;

    #[test]
    fn requirement_scores() {
        assert_eq!(requirement_score(R::NotAssessed, &[Answer::Yes]), None);
        assert_eq!(requirement_score(R::NotApplicable, &[]), None);
        assert_eq!(requirement_score(R::Compliant, &[]), Some(1.0));
        assert_eq!(requirement_score(R::PartiallyCompliant, &[]), Some(0.5));
        assert_eq!(requirement_score(R::NonCompliant, &[]), Some(0.0));
        // Answers win over the result; n/a answers are left out.
        let answers = [
            Answer::Yes,
            Answer::Partial,
            Answer::No,
            Answer::NotApplicable,
        ];
        assert_eq!(requirement_score(R::Compliant, &answers), Some(0.5));
        assert_eq!(
            requirement_score(R::NonCompliant, &[Answer::Yes, Answer::Yes]),
            Some(1.0)
        );
        // Only n/a answers: the result decides.
        assert_eq!(
            requirement_score(R::PartiallyCompliant, &[Answer::NotApplicable]),
            Some(0.5)
        );
    }

    #[test]
    fn compliance_is_weighted_over_what_counts() {
        assert_eq!(compliance_score([]), None);
        assert_eq!(compliance_score([(3, None), (1, None)]), None);
        assert_eq!(compliance_score([(0, Some(1.0))]), None);
        assert_eq!(
            compliance_score([(1, Some(1.0)), (1, Some(0.0))]),
            Some(0.5)
        );
        // 3 × 1 + 1 × 0 over 4; the unassessed weight 10 is left out.
        assert_eq!(
            compliance_score([(3, Some(1.0)), (1, Some(0.0)), (10, None)]),
            Some(0.75)
        );
        assert_eq!(
            compliance_score([(2, Some(0.5)), (2, Some(1.0))]),
            Some(0.75)
        );
    }

    #[test]
    fn answers_and_results_use_their_wire_names() {
        let a: BTreeMap<String, Answer> =
            serde_json::from_str(r#"{"q1":"yes","q2":"partial","q3":"no","q4":"n/a"}"#).unwrap();
        assert_eq!(a["q4"], Answer::NotApplicable);
        assert!(serde_json::from_str::<Answer>(r#""maybe""#).is_err());
        for r in [
            R::NotAssessed,
            R::Compliant,
            R::PartiallyCompliant,
            R::NonCompliant,
            R::NotApplicable,
        ] {
            assert_eq!(R::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}
