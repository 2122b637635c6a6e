//! Frameworks for one tenant: each requirement's status derived from the
//! scan posture of its mapped controls (`posture::requirement_status`), the
//! automated coverage, and beside it (not merged into it) the compliance
//! score of the manual assessments (`assessments::compliance_score`).
//!
//! The two mapping systems are shown together, as seed 001 does for
//! display: a requirement lists the controls mapped to it
//! (`control_requirement_mappings`, auto or manual) and those linked by hand
//! in its assessment, each saying which way it is attached. Only mapped
//! controls enter the derived status.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::Row;

use super::assessments::{
    Answer, AssessmentResult, compliance_score, parse_answers, parse_result, requirement_score,
};
use super::controls::{WorkStatus, work_status};
use super::sql::{Filter, scope_frameworks};
use super::{Store, StoreError};
use crate::auth::TenantAccess;
use crate::posture::requirement_status;

/// A framework's figures for one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FrameworkSummary {
    /// Framework id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Assessable requirements by derived status (`compliant`,
    /// `partially_compliant`, `non_compliant`, `not_assessed`).
    pub requirement_counts: BTreeMap<String, u64>,
    /// Assessable requirements.
    pub assessable: u64,
    /// Assessable requirements with a scanned control (automated evidence).
    pub covered: u64,
    /// `covered` / `assessable`, in percent (0 when nothing is assessable).
    pub coverage_pct: f64,
    /// Requirements whose assessment counts toward the score.
    pub assessed: u64,
    /// Compliance score of the manual assessments, in percent; `None` when
    /// nothing is assessed.
    pub compliance_score_pct: Option<f64>,
}

/// How a control is attached to a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MappingSource {
    /// `auto` | `manual`.
    pub origin: String,
    /// `scf` | `check` | `manual`.
    pub source: String,
    /// `full` | `partial`.
    pub coverage: String,
}

/// A control attached to a requirement, by mapping or by assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RequirementControl {
    /// Row id.
    pub id: i64,
    /// Key.
    pub key: String,
    /// Name.
    pub name: String,
    /// Scan posture.
    pub posture: String,
    /// Hand-set status.
    pub status: WorkStatus,
    /// Its mappings to the requirement (empty when only the assessment links it).
    pub mappings: Vec<MappingSource>,
    /// Linked by hand in the requirement's assessment.
    pub assessment_link: bool,
}

/// A requirement's assessment in short (its linked controls are in the
/// requirement's `controls`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssessmentSummary {
    /// Result.
    pub result: AssessmentResult,
    /// Question → answer.
    pub answers: BTreeMap<String, Answer>,
    /// Notes.
    pub notes: Option<String>,
    /// Score (0–1), `None` when it does not count.
    pub score: Option<f64>,
    /// Last change (Unix ms).
    pub updated_at: i64,
    /// Author.
    pub updated_by: Option<i64>,
    /// Edit version.
    pub version: i64,
}

/// One node of the requirement tree.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RequirementEntry {
    /// Requirement id.
    pub ref_id: String,
    /// Parent node.
    pub parent_ref_id: Option<String>,
    /// Title, where shipped.
    pub name: Option<String>,
    /// Depth, from 1.
    pub depth: i64,
    /// A requirement, not a heading.
    pub assessable: bool,
    /// Weight in the compliance score.
    pub weight: i64,
    /// Status derived from the mapped controls' posture.
    pub status: String,
    /// Mapped and hand-linked controls.
    pub controls: Vec<RequirementControl>,
    /// The manual assessment, if any.
    pub assessment: Option<AssessmentSummary>,
}

/// A framework with its requirement tree.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FrameworkDetail {
    /// Figures.
    #[serde(flatten)]
    pub summary: FrameworkSummary,
    /// Every node, in document order.
    pub requirements: Vec<RequirementEntry>,
}

/// Per framework: the figures' inputs.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<String, u64>,
    assessable: u64,
    covered: u64,
    scores: Vec<(i64, Option<f64>)>,
}

impl Tally {
    /// Count one node.
    fn node(&mut self, assessable: bool, status: &str, weight: i64, score: Option<Option<f64>>) {
        if assessable {
            self.assessable += 1;
            *self.counts.entry(status.to_string()).or_default() += 1;
            if status != "not_assessed" {
                self.covered += 1;
            }
        }
        if let Some(score) = score {
            self.scores.push((weight, score));
        }
    }

    fn summary(self, id: String, name: String, version: String) -> FrameworkSummary {
        let assessed = self.scores.iter().filter(|(_, s)| s.is_some()).count() as u64;
        FrameworkSummary {
            id,
            name,
            version,
            requirement_counts: self.counts,
            assessable: self.assessable,
            covered: self.covered,
            coverage_pct: if self.assessable == 0 {
                0.0
            } else {
                self.covered as f64 * 100.0 / self.assessable as f64
            },
            assessed,
            compliance_score_pct: compliance_score(self.scores).map(|s| s * 100.0),
        }
    }
}

impl Store {
    /// Every framework the caller may see, with the tenant's figures.
    pub async fn frameworks(&self, t: &TenantAccess) -> Result<Vec<FrameworkSummary>, StoreError> {
        let mut f = Filter::default();
        if let Some(frameworks) = scope_frameworks(t) {
            let list = f.list(&frameworks);
            f.and(format!("id IN {list}"));
        }
        let sql = format!(
            "SELECT id, name, version FROM frameworks WHERE {} ORDER BY id",
            f.sql()
        );
        let frameworks = f.query(sql).fetch_all(&self.pool).await?;
        let mut postures: HashMap<(String, String), Vec<String>> = HashMap::new();
        for r in sqlx::query(
            "SELECT DISTINCT m.framework_id, m.ref_id, c.id, c.posture
             FROM control_requirement_mappings m
             JOIN applied_controls c ON c.id = m.applied_control_id
             WHERE c.tenant_id = $1",
        )
        .bind(t.id())
        .fetch_all(&self.pool)
        .await?
        {
            postures
                .entry((r.try_get(0)?, r.try_get(1)?))
                .or_default()
                .push(r.try_get(3)?);
        }
        let mut scores: HashMap<(String, String), Option<f64>> = HashMap::new();
        for r in sqlx::query(
            "SELECT framework_id, ref_id, result, answers FROM requirement_assessments
             WHERE tenant_id = $1",
        )
        .bind(t.id())
        .fetch_all(&self.pool)
        .await?
        {
            let result = parse_result(&r.try_get::<String, _>(2)?)?;
            let answers = parse_answers(&r.try_get::<String, _>(3)?)?;
            scores.insert(
                (r.try_get(0)?, r.try_get(1)?),
                requirement_score(result, answers.values()),
            );
        }
        let mut tallies: HashMap<String, Tally> = HashMap::new();
        for n in sqlx::query(
            "SELECT framework_id, ref_id, CASE WHEN assessable THEN 1 ELSE 0 END, weight
             FROM requirement_nodes",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let key: (String, String) = (n.try_get(0)?, n.try_get(1)?);
            let status =
                requirement_status(postures.get(&key).into_iter().flatten().map(String::as_str));
            tallies.entry(key.0.clone()).or_default().node(
                n.try_get::<i64, _>(2)? != 0,
                status,
                n.try_get(3)?,
                scores.get(&key).copied(),
            );
        }
        frameworks
            .iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                let tally = tallies.remove(&id).unwrap_or_default();
                Ok(tally.summary(id, r.try_get(1)?, r.try_get(2)?))
            })
            .collect()
    }

    /// Framework `id` with its requirement tree for the tenant, or `None`
    /// when it is unknown or the caller may not see it.
    pub async fn framework_detail(
        &self,
        t: &TenantAccess,
        id: &str,
    ) -> Result<Option<FrameworkDetail>, StoreError> {
        if !t.allows_framework(id) {
            return Ok(None);
        }
        let Some(fw) = sqlx::query("SELECT id, name, version FROM frameworks WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        // Mapped controls, one entry per control with all its mappings.
        let mut controls: HashMap<String, Vec<RequirementControl>> = HashMap::new();
        for r in sqlx::query(
            "SELECT m.ref_id, c.id, c.key, c.name, c.posture, c.status, m.origin, m.source,
                 m.coverage
             FROM control_requirement_mappings m
             JOIN applied_controls c ON c.id = m.applied_control_id
             WHERE c.tenant_id = $1 AND m.framework_id = $2
             ORDER BY m.ref_id, c.name, c.id, m.source",
        )
        .bind(t.id())
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            let list = controls.entry(r.try_get(0)?).or_default();
            let control_id: i64 = r.try_get(1)?;
            let mapping = MappingSource {
                origin: r.try_get(6)?,
                source: r.try_get(7)?,
                coverage: r.try_get(8)?,
            };
            match list.last_mut() {
                Some(last) if last.id == control_id => last.mappings.push(mapping),
                _ => list.push(RequirementControl {
                    id: control_id,
                    key: r.try_get(2)?,
                    name: r.try_get(3)?,
                    posture: r.try_get(4)?,
                    status: work_status(&r.try_get::<String, _>(5)?)?,
                    mappings: vec![mapping],
                    assessment_link: false,
                }),
            }
        }
        let mut assessments: HashMap<String, AssessmentSummary> = HashMap::new();
        for r in sqlx::query(
            "SELECT ref_id, result, answers, notes, updated_at, updated_by, version
             FROM requirement_assessments WHERE tenant_id = $1 AND framework_id = $2",
        )
        .bind(t.id())
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            let result = parse_result(&r.try_get::<String, _>(1)?)?;
            let answers = parse_answers(&r.try_get::<String, _>(2)?)?;
            assessments.insert(
                r.try_get(0)?,
                AssessmentSummary {
                    score: requirement_score(result, answers.values()),
                    result,
                    answers,
                    notes: r.try_get(3)?,
                    updated_at: r.try_get(4)?,
                    updated_by: r.try_get(5)?,
                    version: r.try_get(6)?,
                },
            );
        }
        // Controls linked by hand: marked on a mapped entry, or added.
        for r in sqlx::query(
            "SELECT rac.ref_id, c.id, c.key, c.name, c.posture, c.status
             FROM requirement_assessment_controls rac
             JOIN applied_controls c ON c.id = rac.applied_control_id AND c.tenant_id = rac.tenant_id
             WHERE rac.tenant_id = $1 AND rac.framework_id = $2 ORDER BY c.name, c.id",
        )
        .bind(t.id())
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            let list = controls.entry(r.try_get(0)?).or_default();
            let control_id: i64 = r.try_get(1)?;
            match list.iter_mut().find(|c| c.id == control_id) {
                Some(c) => c.assessment_link = true,
                None => list.push(RequirementControl {
                    id: control_id,
                    key: r.try_get(2)?,
                    name: r.try_get(3)?,
                    posture: r.try_get(4)?,
                    status: work_status(&r.try_get::<String, _>(5)?)?,
                    mappings: Vec::new(),
                    assessment_link: true,
                }),
            }
        }
        let mut tally = Tally::default();
        let mut requirements = Vec::new();
        for n in sqlx::query(
            "SELECT ref_id, parent_ref_id, name, depth, CASE WHEN assessable THEN 1 ELSE 0 END,
                 weight
             FROM requirement_nodes WHERE framework_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            let ref_id: String = n.try_get(0)?;
            let assessable = n.try_get::<i64, _>(4)? != 0;
            let weight: i64 = n.try_get(5)?;
            let attached = controls.remove(&ref_id).unwrap_or_default();
            let status = requirement_status(
                attached
                    .iter()
                    .filter(|c| !c.mappings.is_empty())
                    .map(|c| c.posture.as_str()),
            );
            let assessment = assessments.remove(&ref_id);
            tally.node(
                assessable,
                status,
                weight,
                assessment.as_ref().map(|a| a.score),
            );
            requirements.push(RequirementEntry {
                ref_id,
                parent_ref_id: n.try_get(1)?,
                name: n.try_get(2)?,
                depth: n.try_get(3)?,
                assessable,
                weight,
                status: status.to_string(),
                controls: attached,
                assessment,
            });
        }
        Ok(Some(FrameworkDetail {
            summary: tally.summary(fw.try_get(0)?, fw.try_get(1)?, fw.try_get(2)?),
            requirements,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::audit::Action;
    use crate::store::assessments::AssessmentInput;
    use crate::store::testing::{Fixture, on_both_databases};

    fn input(
        result: AssessmentResult,
        answers: &[(&str, Answer)],
        controls: &[i64],
    ) -> AssessmentInput {
        AssessmentInput {
            result,
            answers: answers
                .iter()
                .map(|(q, a)| (q.to_string(), *a))
                .collect::<BTreeMap<_, _>>(),
            notes: Some("Checked with the team.".into()),
            control_ids: controls.to_vec(),
        }
    }

    async fn frameworks_scores_and_assessments(mut f: Fixture) {
        f.scan(2).await;
        let store = f.store();
        let admin = f.admin();
        let ctx = f.operator_ctx(11_000);
        let list = store.frameworks(&admin).await.unwrap();
        let ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "iso27001_2022",
                "nist_800_53_r5",
                "nist_csf_2.0",
                "pci_dss_4.0.1",
                "soc2"
            ]
        );
        let soc2 = list.iter().find(|s| s.id == "soc2").unwrap().clone();
        assert!(soc2.covered >= 2 && soc2.covered <= soc2.assessable);
        assert_eq!(
            soc2.requirement_counts.values().sum::<u64>(),
            soc2.assessable
        );
        assert_eq!((soc2.assessed, soc2.compliance_score_pct), (0, None));

        let detail = store
            .framework_detail(&admin, "soc2")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(detail.summary, soc2);
        // CC7.2 is a criterion, a heading over its points of focus.
        let cc72 = detail
            .requirements
            .iter()
            .find(|r| r.ref_id == "CC7.2")
            .unwrap();
        assert!(!cc72.assessable);
        assert_eq!(
            cc72.status, "compliant",
            "every volume passes the soc2-only check"
        );
        let soc2_only = f.control_id("req:soc2:cc_7_2").await;
        let mapped = cc72.controls.iter().find(|c| c.id == soc2_only).unwrap();
        assert_eq!(mapped.mappings[0].source, "check");
        assert!(!mapped.assessment_link);
        let target = detail
            .requirements
            .iter()
            .find(|r| r.assessable && r.controls.iter().any(|c| !c.mappings.is_empty()))
            .unwrap()
            .ref_id
            .clone();
        let target = target.as_str();
        let heading = detail
            .requirements
            .iter()
            .find(|r| !r.assessable)
            .unwrap()
            .ref_id
            .clone();
        let lonely = detail
            .requirements
            .iter()
            .find(|r| r.assessable && r.controls.is_empty())
            .unwrap()
            .ref_id
            .clone();

        // Create: no If-Match; answers decide the score (yes + no = 0.5).
        let cry05 = f.control_id("scf:CRY-05").await;
        let created = store
            .put_assessment(
                &ctx,
                &admin,
                Some(f.operator_id),
                "soc2",
                target,
                None,
                &input(
                    AssessmentResult::Compliant,
                    &[("Alerts reviewed?", Answer::Yes), ("Runbook?", Answer::No)],
                    &[cry05, cry05],
                ),
            )
            .await
            .unwrap();
        assert_eq!((created.version, created.score), (1, Some(0.5)));
        assert_eq!(created.updated_by, Some(f.operator_id));
        assert_eq!(
            created.controls.iter().map(|c| c.id).collect::<Vec<_>>(),
            [cry05]
        );
        let rows = f.audit(Action::AssessmentUpdated).await;
        assert_eq!(rows.len(), 1);
        assert!(rows[0].before_json.is_none());
        assert_eq!(
            rows[0].object_id.as_deref(),
            Some(format!("soc2:{target}").as_str())
        );

        // Creating again, or a stale version, changes nothing.
        let other = input(AssessmentResult::NonCompliant, &[], &[]);
        for if_match in [None, Some(7)] {
            assert!(matches!(
                store
                    .put_assessment(
                        &ctx,
                        &admin,
                        Some(f.operator_id),
                        "soc2",
                        target,
                        if_match,
                        &other
                    )
                    .await,
                Err(StoreError::Stale)
            ));
        }
        assert_eq!(
            store
                .assessment(&admin, "soc2", target)
                .await
                .unwrap()
                .unwrap(),
            created
        );
        assert_eq!(f.audit(Action::AssessmentUpdated).await.len(), 1);

        // Refusals: a heading, an unknown requirement, another tenant's control.
        assert!(matches!(
            store
                .put_assessment(&ctx, &admin, None, "soc2", &heading, None, &other)
                .await,
            Err(StoreError::Refused(_))
        ));
        assert!(matches!(
            store
                .put_assessment(&ctx, &admin, None, "soc2", "CC99.9", None, &other)
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .put_assessment(
                    &ctx,
                    &admin,
                    None,
                    "soc2",
                    &lonely,
                    None,
                    &input(AssessmentResult::Compliant, &[], &[cry05 + 10_000])
                )
                .await,
            Err(StoreError::Invalid(_))
        ));

        // Update with If-Match; a requirement without mapped controls gets a
        // hand-linked one, which shows but does not derive its status.
        let updated = store
            .put_assessment(
                &ctx,
                &admin,
                Some(f.operator_id),
                "soc2",
                target,
                Some(1),
                &other,
            )
            .await
            .unwrap();
        assert_eq!((updated.version, updated.score), (2, Some(0.0)));
        assert!(updated.controls.is_empty());
        store
            .put_assessment(
                &ctx,
                &admin,
                None,
                "soc2",
                &lonely,
                None,
                &input(
                    AssessmentResult::Compliant,
                    &[("Q", Answer::NotApplicable)],
                    &[cry05],
                ),
            )
            .await
            .unwrap();
        let rows = f.audit(Action::AssessmentUpdated).await;
        assert_eq!(rows.len(), 3);
        let before: serde_json::Value =
            serde_json::from_str(rows[1].before_json.as_deref().unwrap()).unwrap();
        assert_eq!(before["control_ids"], serde_json::json!([cry05]));
        assert_eq!(before["result"], "compliant");

        // Score: the target 0 and the other 1, equal weights → 50 %; a
        // not_applicable one is left out.
        let heading_free = detail
            .requirements
            .iter()
            .find(|r| r.assessable && r.ref_id != lonely && r.ref_id != target)
            .unwrap()
            .ref_id
            .clone();
        store
            .put_assessment(
                &ctx,
                &admin,
                None,
                "soc2",
                &heading_free,
                None,
                &input(AssessmentResult::NotApplicable, &[("Q", Answer::No)], &[]),
            )
            .await
            .unwrap();
        let detail = store
            .framework_detail(&admin, "soc2")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(detail.summary.assessed, 2);
        assert_eq!(detail.summary.compliance_score_pct, Some(50.0));
        // The scan posture is untouched by the assessments.
        assert_eq!(detail.summary.covered, soc2.covered);
        assert_eq!(detail.summary.requirement_counts, soc2.requirement_counts);
        let entry = detail
            .requirements
            .iter()
            .find(|r| r.ref_id == lonely)
            .unwrap();
        assert_eq!(entry.status, "not_assessed");
        assert_eq!(entry.assessment.as_ref().unwrap().score, Some(1.0));
        assert_eq!(entry.controls.len(), 1);
        assert!(entry.controls[0].assessment_link && entry.controls[0].mappings.is_empty());
        let listed = store.frameworks(&admin).await.unwrap();
        assert_eq!(
            listed.iter().find(|s| s.id == "soc2").unwrap(),
            &detail.summary
        );

        // Auditors: their frameworks only.
        let iso = f.auditor(&["iso27001_2022"], i64::MIN, i64::MAX);
        let theirs = store.frameworks(&iso).await.unwrap();
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].id, "iso27001_2022");
        assert!(
            store
                .framework_detail(&iso, "soc2")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .assessment(&iso, "soc2", target)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .framework_detail(&admin, "hipaa")
                .await
                .unwrap()
                .is_none()
        );
        let iso_detail = store
            .framework_detail(&iso, "iso27001_2022")
            .await
            .unwrap()
            .unwrap();
        assert!(!iso_detail.requirements.is_empty());
    }

    on_both_databases!(frameworks_scores_and_assessments);
}
