//! Evidence as auditors work it: the queue (filtered, keyset pages by id),
//! one record with its review history and revisions, one revision exactly as
//! the agent signed it with the signature checked again, and review
//! decisions (one at a time, or every record of a control awaiting review).
//!
//! Auditors see only evidence linked to a control mapped to one of their
//! frameworks, with a revision received within their window, and only the
//! revisions within it (`sql::evidence_in_scope`).

use citadel_wire::{CheckResult, SignedBatch};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::audit::append;
use super::controls::work_status;
use super::page::PageRequest;
use super::policies::ControlRef;
use super::sql::{Filter, control_in_scope, evidence_in_scope};
use super::{Store, StoreError};
use crate::audit::{Action, Context, Event};
use crate::auth::TenantAccess;

/// An evidence record's review status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Awaiting (or reopened for) review.
    InReview,
    /// Accepted as proof.
    Approved,
    /// Not accepted.
    Rejected,
    /// Needs attention.
    Flagged,
}

impl ReviewStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InReview => "in_review",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Flagged => "flagged",
        }
    }
}

/// An evidence record as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EvidenceRow {
    /// Record id (its check result's id).
    pub id: i64,
    /// Check.
    pub check_id: String,
    /// The check's title.
    pub check_title: Option<String>,
    /// Review status.
    pub status: String,
    /// Updated by every scan.
    pub is_continuous: bool,
    /// Asset name (kept if the asset goes).
    pub asset_name: Option<String>,
    /// Asset kind.
    pub asset_type: String,
    /// Asset source id.
    pub asset_source_id: String,
    /// Created (Unix ms).
    pub created_at: i64,
    /// The latest revision's version (auditors: the latest in their
    /// window), which is also the number of revisions.
    pub latest_revision: Option<i64>,
    /// When the latest revision was received (Unix ms).
    pub updated_at: Option<i64>,
    /// The latest revision's result status.
    pub result_status: Option<String>,
    /// Who decided last.
    pub reviewer_id: Option<i64>,
    /// When (Unix ms).
    pub reviewed_at: Option<i64>,
    /// Review version (the ETag).
    pub review_version: i64,
}

/// Filters of the evidence queue.
#[derive(Debug, Clone, Default)]
pub struct EvidenceFilter {
    /// Review status.
    pub status: Option<ReviewStatus>,
    /// Linked to a control mapped to this framework …
    pub framework: Option<String>,
    /// … and this requirement of it.
    pub requirement: Option<String>,
    /// Linked to this applied control.
    pub control: Option<i64>,
    /// Of this check.
    pub check: Option<String>,
    /// Latest revision received at or after (Unix ms).
    pub from: Option<i64>,
    /// Latest revision received at or before (Unix ms).
    pub to: Option<i64>,
}

/// One review decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReviewRow {
    /// Row id.
    pub id: i64,
    /// Status before.
    pub previous_status: String,
    /// Status decided.
    pub status: String,
    /// Reviewer user id.
    pub reviewer_id: i64,
    /// Reviewer e-mail address.
    pub reviewer_email: Option<String>,
    /// Comment (empty when none was given).
    pub comment: String,
    /// The revision that was current.
    pub revision: Option<i64>,
    /// When (Unix ms).
    pub at: i64,
}

/// One revision in a record's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RevisionRow {
    /// Version, from 1.
    pub version: i64,
    /// Result status in it.
    pub status: String,
    /// The batch that carries it.
    pub batch_id: String,
    /// Received (Unix ms).
    pub created_at: i64,
}

/// One record with its reviews and revisions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EvidenceDetail {
    /// The record.
    #[serde(flatten)]
    pub evidence: EvidenceRow,
    /// The last decision's comment.
    pub review_comment: Option<String>,
    /// The last reviewer's e-mail address.
    pub reviewer_email: Option<String>,
    /// Every decision, oldest first.
    pub reviews: Vec<ReviewRow>,
    /// The newest 200 revisions, oldest first (auditors: within their
    /// window); every revision stays readable by its version.
    pub revisions: Vec<RevisionRow>,
    /// Controls it proves (auditors: of their frameworks).
    pub controls: Vec<ControlRef>,
}

/// One revision as signed, with the signature checked again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevisionDetail {
    /// Evidence record.
    pub evidence_id: i64,
    /// Version.
    pub version: i64,
    /// Result status.
    pub status: String,
    /// Received (Unix ms).
    pub created_at: i64,
    /// The result exactly as the agent signed it (`None` when the stored
    /// bytes no longer decode; see `problem`).
    #[schema(value_type = Option<Object>)]
    pub result: Option<CheckResult>,
    /// The batch that carries it.
    pub batch_id: String,
    /// SHA-256 of the batch's signed bytes, recorded at ingest.
    pub batch_sha256: String,
    /// Whether the stored bytes still have that SHA-256.
    pub sha256_matches: bool,
    /// The agent that signed it.
    pub agent_id: String,
    /// Plugin of the check, from the tenant's catalog.
    pub plugin: Option<String>,
    /// That plugin as the signed batch names it: version, SHA-256 of the
    /// component and its publisher's key (`None` when the signature does
    /// not verify or the batch does not name it).
    pub plugin_provenance: Option<PluginSeen>,
    /// Whether the stored batch's COSE signature verifies with the agent's
    /// enrolled key now.
    pub signature_verifies: bool,
    /// Why the result could not be read or the signature did not verify.
    pub problem: Option<String>,
}

/// A plugin as a signed batch names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PluginSeen {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Hex SHA-256 of the component that ran.
    pub sha256: String,
    /// Hex Ed25519 key of the publisher that signed it, if it was signed.
    pub signer: Option<String>,
}

/// A decision on one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// New status.
    pub status: ReviewStatus,
    /// Comment (required by the API for rejections and flags).
    pub comment: Option<String>,
}

const COLUMNS: &str = "e.id, e.check_id, s.title, e.status,
    CASE WHEN e.is_continuous THEN 1 ELSE 0 END, e.asset_name, e.asset_type, e.asset_source_id,
    e.created_at, l.version, l.created_at, l.result_status, e.reviewer_id, e.reviewed_at,
    e.review_version, e.review_comment";

/// The latest revision of record `evidence` (an SQL expression) that the
/// caller may see: for an auditor, the latest one up to the end of their
/// observation window, not one that arrived after it. Looked up on the
/// unique (evidence_id, version) index.
fn latest_revision(t: &TenantAccess, evidence: &str) -> String {
    let bound = match t.auditor() {
        // Our own integer, written as a literal.
        Some(a) => format!(" AND v.created_at <= {}", a.to),
        None => String::new(),
    };
    format!(
        "(SELECT MAX(v.version) FROM evidence_revisions v WHERE v.evidence_id = {evidence}{bound})"
    )
}

/// Evidence with its latest visible revision and its check. `e.id + 0`:
/// a page is a few rows looked up one by one; on the plain column
/// PostgreSQL merge-joins the revisions from the start of their index
/// (170 ms for a page of one check's records on a 1,000,000-result tenant).
fn from(t: &TenantAccess) -> String {
    format!(
        "evidence e
        LEFT JOIN evidence_revisions l ON l.evidence_id = e.id + 0 AND l.version = {}
        LEFT JOIN security_checks s ON s.tenant_id = e.tenant_id AND s.id = e.check_id",
        latest_revision(t, "e.id")
    )
}

fn evidence_row(r: &sqlx::any::AnyRow) -> Result<EvidenceRow, StoreError> {
    Ok(EvidenceRow {
        id: r.try_get(0)?,
        check_id: r.try_get(1)?,
        check_title: r.try_get(2)?,
        status: r.try_get(3)?,
        is_continuous: r.try_get::<i64, _>(4)? != 0,
        asset_name: r.try_get(5)?,
        asset_type: r.try_get(6)?,
        asset_source_id: r.try_get(7)?,
        created_at: r.try_get(8)?,
        latest_revision: r.try_get(9)?,
        updated_at: r.try_get(10)?,
        result_status: r.try_get(11)?,
        reviewer_id: r.try_get(12)?,
        reviewed_at: r.try_get(13)?,
        review_version: r.try_get(14)?,
    })
}

/// The review state recorded in the audit log.
fn review_state(
    status: &str,
    reviewer: Option<i64>,
    comment: Option<&str>,
    at: Option<i64>,
    version: i64,
) -> serde_json::Value {
    serde_json::json!({
        "status": status,
        "reviewer_id": reviewer,
        "review_comment": comment,
        "reviewed_at": at,
        "review_version": version,
    })
}

/// Rows per statement when recording bulk decisions.
const BULK_CHUNK: usize = 1000;

/// Check the COSE signature of stored batch bytes with the agent's key.
/// Returns the plugins the verified batch names.
fn verify_signature(
    raw: &[u8],
    agent_id: &str,
    public_key: &[u8],
) -> Result<Vec<PluginSeen>, String> {
    let signed = SignedBatch::parse(raw).map_err(|e| e.to_string())?;
    if signed.kid() != agent_id {
        return Err(format!(
            "signed as {:?}, stored as {agent_id:?}",
            signed.kid()
        ));
    }
    let key: [u8; 32] = public_key
        .try_into()
        .map_err(|_| "the agent's enrolled key is not an Ed25519 key".to_string())?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|_| "the agent's enrolled key is not an Ed25519 key".to_string())?;
    let batch = signed.verify(&key).map_err(|e| e.to_string())?;
    Ok(batch
        .plugins
        .into_iter()
        .map(|p| PluginSeen {
            name: p.name,
            version: p.version,
            sha256: p.sha256,
            signer: p.signer,
        })
        .collect())
}

/// Most checks one control's queue is merged from, page by page.
const MAX_CHECK_BRANCHES: usize = 200;

/// The first `fetch` records matching `f` among those of `checks`, by id:
/// one page per check, each read in order from the (tenant, check, id)
/// index, merged ([`Filter::per_check`]).
fn by_checks(f: &mut Filter, t: &TenantAccess, checks: &[String], fetch: i64) -> String {
    let base = f.sql();
    let from = from(t);
    let union = f.per_check(checks, |check| {
        format!(
            "SELECT {COLUMNS} FROM {from} WHERE {base} AND e.check_id = {check}
             ORDER BY e.id LIMIT {fetch}"
        )
    });
    format!("{union} ORDER BY 1 LIMIT {fetch}")
}

/// The ETag version of an evidence record's review: its review version and
/// its latest revision together, so that a decision made on what a reviewer
/// read fails (412) once a newer revision has arrived. Opaque to clients.
pub fn review_tag(review_version: i64, latest_revision: Option<i64>) -> i64 {
    (review_version << 32) | (latest_revision.unwrap_or(0) & 0xffff_ffff)
}

impl Store {
    /// A page of the tenant's evidence by id, filtered (auditors: within
    /// their scope).
    pub async fn evidence_list(
        &self,
        t: &TenantAccess,
        filter: &EvidenceFilter,
        page: &PageRequest,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        let mut f = Filter::default();
        let tenant = f.arg(t.id());
        f.and(format!("e.tenant_id = {tenant}"));
        evidence_in_scope(&mut f, t, "e.id");
        if let Some(s) = filter.status {
            let s = f.arg(s.as_str());
            f.and(format!("e.status = {s}"));
        }
        if let Some(fw) = &filter.framework {
            let fw = f.arg(fw.as_str());
            let requirement = match &filter.requirement {
                Some(r) => format!(" AND m.ref_id = {}", f.arg(r.as_str())),
                None => String::new(),
            };
            f.and(format!(
                "EXISTS (SELECT 1 FROM evidence_controls ec
                         JOIN control_requirement_mappings m ON m.applied_control_id = ec.applied_control_id
                         WHERE ec.evidence_id = e.id AND m.framework_id = {fw}{requirement})"
            ));
        }
        // A control's records are those of its checks: looked up first, so
        // each check's records are read in id order from its index below.
        let control_checks = match filter.control {
            Some(c) => Some(
                self.checks_of_controls(t, &[c])
                    .await?
                    .remove(&c)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| l.check_id)
                    .collect::<Vec<_>>(),
            ),
            None => None,
        };
        if let Some(check) = &filter.check {
            let check = f.arg(check.as_str());
            f.and(format!("e.check_id = {check}"));
        }
        if let Some(from) = filter.from {
            let from = f.arg(from);
            f.and(format!("l.created_at >= {from}"));
        }
        if let Some(to) = filter.to {
            let to = f.arg(to);
            f.and(format!("l.created_at <= {to}"));
        }
        if let Some(after) = &page.after {
            let id = f.arg(after.id);
            f.and(format!("e.id > {id}"));
        }
        let sql = match control_checks {
            None => format!(
                "SELECT {COLUMNS} FROM {} WHERE {} ORDER BY e.id LIMIT {}",
                from(t),
                f.sql(),
                page.fetch()
            ),
            Some(checks) if checks.is_empty() => return Ok(Vec::new()),
            // SQLite caps a compound SELECT at 500 terms.
            Some(checks) if checks.len() > MAX_CHECK_BRANCHES => {
                let list = f.list(&checks);
                f.and(format!("e.check_id IN {list}"));
                format!(
                    "SELECT {COLUMNS} FROM {} WHERE {} ORDER BY e.id LIMIT {}",
                    from(t),
                    f.sql(),
                    page.fetch()
                )
            }
            Some(checks) => by_checks(&mut f, t, &checks, page.fetch()),
        };
        let rows = f.query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(evidence_row).collect()
    }

    /// Up to `limit` evidence records of control `control_id` (auditors:
    /// within their scope), by id: the first page of the queue filtered by
    /// the control.
    pub async fn control_evidence_sample(
        &self,
        t: &TenantAccess,
        control_id: i64,
        limit: i64,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        let filter = EvidenceFilter {
            control: Some(control_id),
            ..EvidenceFilter::default()
        };
        let mut rows = self
            .evidence_list(t, &filter, &PageRequest::first(limit.clamp(1, 500)))
            .await?;
        rows.truncate(limit.clamp(1, 500) as usize);
        Ok(rows)
    }

    /// One record in the caller's scope with its reviews, revisions and
    /// controls, or `None`.
    pub async fn evidence_detail(
        &self,
        t: &TenantAccess,
        id: i64,
    ) -> Result<Option<EvidenceDetail>, StoreError> {
        let mut f = Filter::default();
        let (tenant, eid) = (f.arg(t.id()), f.arg(id));
        f.and(format!("e.tenant_id = {tenant} AND e.id = {eid}"));
        evidence_in_scope(&mut f, t, "e.id");
        let sql = format!(
            "SELECT {COLUMNS}, u.email FROM {} LEFT JOIN users u ON u.id = e.reviewer_id
             WHERE {}",
            from(t),
            f.sql()
        );
        let Some(r) = f.query(sql).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let evidence = evidence_row(&r)?;
        let reviews = sqlx::query(
            "SELECT r.id, r.previous_status, r.status, r.reviewer_id, u.email, r.comment,
                 r.revision, r.at
             FROM evidence_reviews r JOIN evidence e ON e.id = r.evidence_id
             LEFT JOIN users u ON u.id = r.reviewer_id
             WHERE r.evidence_id = $1 AND e.tenant_id = $2 ORDER BY r.id",
        )
        .bind(id)
        .bind(t.id())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ReviewRow {
                id: r.try_get(0)?,
                previous_status: r.try_get(1)?,
                status: r.try_get(2)?,
                reviewer_id: r.try_get(3)?,
                reviewer_email: r.try_get(4)?,
                comment: r.try_get(5)?,
                revision: r.try_get(6)?,
                at: r.try_get(7)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let (from, to) = t.window();
        let revisions = sqlx::query(
            "SELECT r.version, r.result_status, b.id, r.created_at
             FROM evidence_revisions r JOIN batches b ON b.number = r.batch_number
             WHERE r.evidence_id = $1 AND b.tenant_id = $2
                 AND r.created_at >= $3 AND r.created_at <= $4
             ORDER BY r.version DESC LIMIT 200",
        )
        .bind(id)
        .bind(t.id())
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(RevisionRow {
                version: r.try_get(0)?,
                status: r.try_get(1)?,
                batch_id: r.try_get(2)?,
                created_at: r.try_get(3)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let mut revisions = revisions;
        revisions.reverse();
        let mut f = Filter::default();
        let (tenant, eid) = (f.arg(t.id()), f.arg(id));
        f.and(format!("ec.evidence_id = {eid} AND c.tenant_id = {tenant}"));
        control_in_scope(&mut f, t, "c.id");
        let sql = format!(
            "SELECT c.id, c.key, c.name, c.posture, c.status FROM evidence_controls ec
             JOIN applied_controls c ON c.id = ec.applied_control_id
             WHERE {} ORDER BY c.name, c.id",
            f.sql()
        );
        let controls = f
            .query(sql)
            .fetch_all(&self.pool)
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
        Ok(Some(EvidenceDetail {
            evidence,
            review_comment: r.try_get(15)?,
            reviewer_email: r.try_get(16)?,
            reviews,
            revisions,
            controls,
        }))
    }

    /// Revision `version` of record `id` as signed (through
    /// [`Store::evidence_revision`]), with the stored batch's signature
    /// checked again against the agent's enrolled key; `None` when the
    /// record or revision is not in the caller's scope.
    pub async fn evidence_revision_detail(
        &self,
        t: &TenantAccess,
        id: i64,
        version: i64,
    ) -> Result<Option<RevisionDetail>, StoreError> {
        let mut f = Filter::default();
        let (tenant, eid, v) = (f.arg(t.id()), f.arg(id), f.arg(version));
        f.and(format!(
            "e.tenant_id = {tenant} AND e.id = {eid} AND r.version = {v} AND b.tenant_id = {tenant}"
        ));
        evidence_in_scope(&mut f, t, "e.id");
        let (from, to) = t.window();
        let (from, to) = (f.arg(from), f.arg(to));
        f.and(format!("r.created_at >= {from} AND r.created_at <= {to}"));
        let sql = format!(
            "SELECT r.version, r.result_status, r.created_at, b.id, b.sha256, b.agent_id,
                 a.public_key, p.raw, s.plugin
             FROM evidence e
             JOIN evidence_revisions r ON r.evidence_id = e.id
             JOIN batches b ON b.number = r.batch_number
             JOIN agents a ON a.id = b.agent_id
             JOIN batch_payloads p ON p.batch_id = b.id
             LEFT JOIN security_checks s ON s.tenant_id = e.tenant_id AND s.id = e.check_id
             WHERE {}",
            f.sql()
        );
        let Some(r) = f.query(sql).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let agent_id: String = r.try_get(5)?;
        let public_key: Vec<u8> = r.try_get(6)?;
        let raw: Vec<u8> = r.try_get(7)?;
        let batch_sha256: String = r.try_get(4)?;
        let sha256_matches = citadel_wire::sha256_hex(&raw) == batch_sha256;
        let mut problems = Vec::new();
        // The result through the one reader of signed revisions (it reads the
        // payload again: a second read of one batch, for one revision view).
        let result = match self.evidence_revision(id, version).await {
            Ok(rev) => rev.map(|rev| rev.result),
            Err(StoreError::Unreadable(why)) => {
                problems.push(format!("the stored result does not decode: {why}"));
                None
            }
            Err(e) => return Err(e),
        };
        // Checking the signature decodes the whole batch: off the async workers.
        let agent = agent_id.clone();
        let verified =
            tokio::task::spawn_blocking(move || verify_signature(&raw, &agent, &public_key))
                .await
                .map_err(|e| StoreError::Unreadable(format!("signature check failed: {e}")))?;
        if let Err(why) = &verified {
            problems.push(format!("the signature does not verify: {why}"));
        }
        let plugin: Option<String> = r.try_get(8)?;
        let plugin_provenance = match (&verified, &plugin) {
            (Ok(seen), Some(name)) => seen.iter().find(|p| &p.name == name).cloned(),
            _ => None,
        };
        Ok(Some(RevisionDetail {
            evidence_id: id,
            version: r.try_get(0)?,
            status: r.try_get(1)?,
            created_at: r.try_get(2)?,
            result,
            batch_id: r.try_get(3)?,
            batch_sha256,
            sha256_matches,
            agent_id,
            plugin,
            plugin_provenance,
            signature_verifies: verified.is_ok(),
            problem: (!problems.is_empty()).then(|| problems.join("; ")),
        }))
    }

    /// Decide on record `id` if its ETag (see [`review_tag`]) is still `if_match`
    /// ([`StoreError::Stale`] otherwise): the record's status, reviewer and
    /// comment, a row in its review history and the audit row, in one
    /// transaction. `reviewer_id` is the deciding user.
    pub async fn review_evidence(
        &self,
        ctx: &Context,
        t: &TenantAccess,
        reviewer_id: i64,
        id: i64,
        if_match: i64,
        decision: &Decision,
    ) -> Result<EvidenceRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut f = Filter::default();
        let (tenant, eid) = (f.arg(t.id()), f.arg(id));
        f.and(format!("e.tenant_id = {tenant} AND e.id = {eid}"));
        evidence_in_scope(&mut f, t, "e.id");
        let latest = latest_revision(t, "e.id");
        let sql = format!(
            "SELECT e.status, e.reviewer_id, e.review_comment, e.reviewed_at, e.review_version,
                 COALESCE({latest}, 0)
             FROM evidence e WHERE {}",
            f.sql()
        );
        let before = f
            .query(sql)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let previous: String = before.try_get(0)?;
        let version: i64 = before.try_get(4)?;
        let latest: i64 = before.try_get(5)?;
        if review_tag(version, Some(latest)) != if_match {
            return Err(StoreError::Stale);
        }
        // The decision is about the revisions the reviewer saw: a revision
        // that arrived since makes the ETag stale (checked again here, in
        // the write transaction).
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE evidence SET status = $1, reviewer_id = $2, review_comment = $3,
                 reviewed_at = $4, review_version = review_version + 1
             WHERE id = $5 AND tenant_id = $6 AND review_version = $7
                 AND COALESCE({}, 0) = $8",
            latest_revision(t, "$5")
        )))
        .bind(decision.status.as_str())
        .bind(reviewer_id)
        .bind(decision.comment.as_deref())
        .bind(ctx.at)
        .bind(id)
        .bind(t.id())
        .bind(version)
        .bind(latest)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO evidence_reviews (evidence_id, previous_status, status, reviewer_id,
                 comment, revision, at)
             VALUES ($1, $2, $3, $4, $5, {}, $6)",
            latest_revision(t, "$1")
        )))
        .bind(id)
        .bind(&previous)
        .bind(decision.status.as_str())
        .bind(reviewer_id)
        .bind(decision.comment.as_deref().unwrap_or(""))
        .bind(ctx.at)
        .execute(&mut *tx)
        .await?;
        let before_state = review_state(
            &previous,
            before.try_get(1)?,
            before.try_get::<Option<String>, _>(2)?.as_deref(),
            before.try_get(3)?,
            version,
        );
        let after_state = review_state(
            decision.status.as_str(),
            Some(reviewer_id),
            decision.comment.as_deref(),
            Some(ctx.at),
            version + 1,
        );
        append(
            &mut tx,
            ctx,
            &Event::new(Action::EvidenceReviewed, "evidence", id)
                .tenant(t.id())
                .before(before_state)
                .after(after_state),
        )
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM {} WHERE e.id = $1 AND e.tenant_id = $2",
            from(t)
        )))
        .bind(id)
        .bind(t.id())
        .fetch_one(&mut *tx)
        .await?;
        let after = evidence_row(&row)?;
        tx.commit().await?;
        self.committed();
        Ok(after)
    }

    /// Approve every record of control `control_id` that awaits review
    /// (auditors: within their scope), each with its review history row,
    /// under one audit row naming them; returns their ids.
    pub async fn approve_control_evidence(
        &self,
        ctx: &Context,
        t: &TenantAccess,
        reviewer_id: i64,
        control_id: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut f = Filter::default();
        let (tenant, cid) = (f.arg(t.id()), f.arg(control_id));
        f.and(format!("c.tenant_id = {tenant} AND c.id = {cid}"));
        control_in_scope(&mut f, t, "c.id");
        let sql = format!("SELECT 1 FROM applied_controls c WHERE {}", f.sql());
        f.query(sql)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;

        let mut f = Filter::default();
        let (reviewer, at) = (f.arg(reviewer_id), f.arg(ctx.at));
        let (tenant, cid) = (f.arg(t.id()), f.arg(control_id));
        f.and(format!("e.tenant_id = {tenant} AND e.status = 'in_review'"));
        f.and(format!(
            "EXISTS (SELECT 1 FROM evidence_controls ec
                     WHERE ec.evidence_id = e.id AND ec.applied_control_id = {cid})"
        ));
        evidence_in_scope(&mut f, t, "e.id");
        // The status is checked on the updated row itself as well, so that
        // a decision committed meanwhile is never overwritten.
        let sql = format!(
            "UPDATE evidence SET status = 'approved', reviewer_id = {reviewer},
                 review_comment = NULL, reviewed_at = {at}, review_version = review_version + 1
             WHERE status = 'in_review' AND tenant_id = {tenant}
                 AND id IN (SELECT e.id FROM evidence e WHERE {})
             RETURNING id",
            f.sql()
        );
        let mut ids: Vec<i64> = f
            .query(sql)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        ids.sort_unstable();
        if ids.is_empty() {
            return Ok(ids);
        }
        for chunk in ids.chunks(BULK_CHUNK) {
            // Our own integers, written as literals.
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO evidence_reviews (evidence_id, previous_status, status, reviewer_id,
                     comment, revision, at)
                 SELECT e.id, 'in_review', 'approved', $1, '', {}, $2
                 FROM evidence e WHERE e.id IN ({})",
                latest_revision(t, "e.id"),
                list.join(", ")
            )))
            .bind(reviewer_id)
            .bind(ctx.at)
            .execute(&mut *tx)
            .await?;
        }
        append(
            &mut tx,
            ctx,
            &Event::new(Action::EvidenceReviewed, "applied_control", control_id)
                .tenant(t.id())
                .before(serde_json::json!({ "status": "in_review", "evidence_ids": ids }))
                .after(serde_json::json!({
                    "status": "approved",
                    "count": ids.len(),
                    "evidence_ids": ids,
                    "reviewer_id": reviewer_id,
                })),
        )
        .await?;
        tx.commit().await?;
        self.committed();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::now_ms;
    use crate::store::page::Cursor;
    use crate::store::testing::{CHECK_REQ, CHECK_SCF, Fixture, on_both_databases};

    async fn list(store: &Store, t: &TenantAccess, filter: EvidenceFilter) -> Vec<EvidenceRow> {
        store
            .evidence_list(t, &filter, &PageRequest::first(100))
            .await
            .unwrap()
    }

    async fn evidence_queue_and_reviews(mut f: Fixture) {
        let t0 = now_ms();
        f.scan(3).await;
        let t1 = now_ms();
        let store = f.store();
        let admin = f.admin();
        let all = list(store, &admin, EvidenceFilter::default()).await;
        assert_eq!(all.len(), 6);
        assert!(
            all.iter()
                .all(|e| e.status == "in_review" && e.latest_revision == Some(1))
        );
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
        let of = |check: &str| -> Vec<i64> {
            all.iter()
                .filter(|e| e.check_id == check)
                .map(|e| e.id)
                .collect()
        };
        let (scf_ids, req_ids) = (of(CHECK_SCF), of(CHECK_REQ));
        let ids = |rows: Vec<EvidenceRow>| rows.into_iter().map(|e| e.id).collect::<Vec<_>>();

        // Filters.
        let cry05 = f.control_id("scf:CRY-05").await;
        assert_eq!(
            ids(list(
                store,
                &admin,
                EvidenceFilter {
                    check: Some(CHECK_SCF.into()),
                    ..Default::default()
                }
            )
            .await),
            scf_ids
        );
        assert_eq!(
            ids(list(
                store,
                &admin,
                EvidenceFilter {
                    control: Some(cry05),
                    ..Default::default()
                }
            )
            .await),
            scf_ids
        );
        let cc72 = ids(list(
            store,
            &admin,
            EvidenceFilter {
                framework: Some("soc2".into()),
                requirement: Some("CC7.2".into()),
                ..Default::default()
            },
        )
        .await);
        assert!(req_ids.iter().all(|id| cc72.contains(id)));
        for (from, to, n) in [
            (Some(t0), Some(t1), 6),
            (Some(t1 + 1), None, 0),
            (None, Some(t0 - 1), 0),
        ] {
            let rows = list(
                store,
                &admin,
                EvidenceFilter {
                    from,
                    to,
                    ..Default::default()
                },
            )
            .await;
            assert_eq!(rows.len(), n, "{from:?}..{to:?}");
        }
        let first = store
            .evidence_list(&admin, &EvidenceFilter::default(), &PageRequest::first(4))
            .await
            .unwrap();
        assert_eq!(first.len(), 5, "a page of 4 and one more");
        let next = store
            .evidence_list(
                &admin,
                &EvidenceFilter::default(),
                &PageRequest {
                    after: Some(Cursor {
                        key: None,
                        id: first[3].id,
                    }),
                    limit: 4,
                },
            )
            .await
            .unwrap();
        assert_eq!(ids(next), all[4..].iter().map(|e| e.id).collect::<Vec<_>>());

        // A rescan adds a revision; the detail lists both.
        f.scan(3).await;
        let store = f.store();
        let target = scf_ids[0];
        let d = store
            .evidence_detail(&admin, target)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            d.revisions.iter().map(|r| r.version).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(d.reviews.is_empty());
        assert!(d.controls.iter().any(|c| c.id == cry05));
        assert_eq!(d.evidence.review_version, 1);

        // One decision: record, history and audit row together.
        let ctx = f.auditor_ctx(20_000);
        let seen = store
            .evidence_detail(&admin, target)
            .await
            .unwrap()
            .unwrap()
            .evidence
            .latest_revision;
        let tag = review_tag(1, seen);
        let reject = Decision {
            status: ReviewStatus::Rejected,
            comment: Some("Wrong volume.".into()),
        };
        let after = store
            .review_evidence(&ctx, &admin, f.auditor_id, target, tag, &reject)
            .await
            .unwrap();
        assert_eq!(
            (
                after.status.as_str(),
                after.review_version,
                after.reviewer_id,
                after.reviewed_at
            ),
            ("rejected", 2, Some(f.auditor_id), Some(20_000))
        );
        let d = store
            .evidence_detail(&admin, target)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.review_comment.as_deref(), Some("Wrong volume."));
        assert_eq!(d.reviewer_email.as_deref(), Some("audit@example.com"));
        assert_eq!(d.reviews.len(), 1);
        let r = &d.reviews[0];
        assert_eq!(
            (
                r.previous_status.as_str(),
                r.status.as_str(),
                r.revision,
                r.comment.as_str()
            ),
            ("in_review", "rejected", Some(2), "Wrong volume.")
        );
        let rows = f.audit(Action::EvidenceReviewed).await;
        assert_eq!(rows.len(), 1);
        let before: serde_json::Value =
            serde_json::from_str(rows[0].before_json.as_deref().unwrap()).unwrap();
        let logged: serde_json::Value =
            serde_json::from_str(rows[0].after_json.as_deref().unwrap()).unwrap();
        assert_eq!(
            (before["status"].as_str(), before["review_version"].as_i64()),
            (Some("in_review"), Some(1))
        );
        assert_eq!(
            (logged["status"].as_str(), logged["review_version"].as_i64()),
            (Some("rejected"), Some(2))
        );

        // Stale: nothing changes.
        let approve = Decision {
            status: ReviewStatus::Approved,
            comment: None,
        };
        assert!(matches!(
            store
                .review_evidence(&ctx, &admin, f.auditor_id, target, tag, &approve)
                .await,
            Err(StoreError::Stale)
        ));
        let same = store
            .evidence_detail(&admin, target)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (same.evidence.status.as_str(), same.reviews.len()),
            ("rejected", 1)
        );
        assert_eq!(f.audit(Action::EvidenceReviewed).await.len(), 1);

        // Bulk approval of the control: the two records still in review,
        // one history row each, one audit row.
        let approved = store
            .approve_control_evidence(&ctx, &admin, f.auditor_id, cry05)
            .await
            .unwrap();
        assert_eq!(approved, scf_ids[1..].to_vec());
        for id in &approved {
            let d = store.evidence_detail(&admin, *id).await.unwrap().unwrap();
            assert_eq!(
                (d.evidence.status.as_str(), d.evidence.review_version),
                ("approved", 2)
            );
            assert_eq!(d.reviews.len(), 1);
            assert_eq!(
                (d.reviews[0].status.as_str(), d.reviews[0].revision),
                ("approved", Some(2))
            );
        }
        assert_eq!(
            store
                .evidence_detail(&admin, target)
                .await
                .unwrap()
                .unwrap()
                .evidence
                .status,
            "rejected"
        );
        let rows = f.audit(Action::EvidenceReviewed).await;
        assert_eq!(rows.len(), 2);
        let logged: serde_json::Value =
            serde_json::from_str(rows[1].after_json.as_deref().unwrap()).unwrap();
        assert_eq!(logged["count"], 2);
        assert_eq!(logged["evidence_ids"], serde_json::json!(approved));
        assert_eq!(rows[1].object_type, "applied_control");
        assert!(
            store
                .approve_control_evidence(&ctx, &admin, f.auditor_id, cry05)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(f.audit(Action::EvidenceReviewed).await.len(), 2);
        assert!(matches!(
            store
                .approve_control_evidence(&ctx, &admin, f.auditor_id, cry05 + 10_000)
                .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            list(
                store,
                &admin,
                EvidenceFilter {
                    status: Some(ReviewStatus::Approved),
                    ..Default::default()
                }
            )
            .await
            .len(),
            2
        );

        // Auditors: their frameworks' evidence within their window.
        let pci = f.auditor(&["pci_dss_4.0.1"], t0, i64::MAX);
        let seen = ids(list(store, &pci, EvidenceFilter::default()).await);
        assert_eq!(
            seen, scf_ids,
            "the soc2-only check's evidence is out of scope"
        );
        assert!(
            store
                .evidence_detail(&pci, req_ids[0])
                .await
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            store
                .review_evidence(
                    &ctx,
                    &pci,
                    f.auditor_id,
                    req_ids[0],
                    review_tag(1, Some(1)),
                    &approve
                )
                .await,
            Err(StoreError::NotFound)
        ));
        let soc2_only = f.control_id("req:soc2:cc_7_2").await;
        assert!(matches!(
            store
                .approve_control_evidence(&ctx, &pci, f.auditor_id, soc2_only)
                .await,
            Err(StoreError::NotFound)
        ));
        // Only the first scan lies in a window that ends at t1.
        let early = f.auditor(&["pci_dss_4.0.1"], t0, t1);
        let d = store
            .evidence_detail(&early, target)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            d.revisions.iter().map(|r| r.version).collect::<Vec<_>>(),
            [1]
        );
        assert!(
            store
                .evidence_revision_detail(&early, target, 2)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .evidence_revision_detail(&early, target, 1)
                .await
                .unwrap()
                .is_some()
        );
        let later = f.auditor(&["pci_dss_4.0.1"], now_ms() + 1, i64::MAX);
        assert!(
            list(store, &later, EvidenceFilter::default())
                .await
                .is_empty()
        );
        assert!(
            store
                .evidence_detail(&later, target)
                .await
                .unwrap()
                .is_none()
        );
    }

    async fn revisions_verify_their_signature(mut f: Fixture) {
        f.scan(1).await;
        let store = f.store();
        let admin = f.admin();
        let rows = list(
            store,
            &admin,
            EvidenceFilter {
                check: Some(CHECK_SCF.into()),
                ..Default::default()
            },
        )
        .await;
        let id = rows[0].id;
        let rev = store
            .evidence_revision_detail(&admin, id, 1)
            .await
            .unwrap()
            .unwrap();
        assert!(rev.signature_verifies, "{:?}", rev.problem);
        assert!(rev.sha256_matches && rev.problem.is_none());
        assert_eq!(rev.agent_id, f.peer.agent_id);
        assert_eq!(rev.plugin.as_deref(), Some("test-pack"));
        let result = rev.result.clone().unwrap();
        assert_eq!(result.check_id, CHECK_SCF);
        assert_eq!(result.status, citadel_wire::Status::Fail);
        assert_eq!(rev.status, "fail");
        assert!(
            store
                .evidence_revision_detail(&admin, id, 2)
                .await
                .unwrap()
                .is_none()
        );

        // Tampered bytes: a flipped signature byte, then an edited result.
        let raw: Vec<u8> = sqlx::query("SELECT raw FROM batch_payloads WHERE batch_id = $1")
            .bind(&rev.batch_id)
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get(0);
        let mut flipped = raw.clone();
        *flipped.last_mut().unwrap() ^= 0x01;
        let text = format!("{CHECK_SCF} on vol-000").into_bytes();
        let at = raw
            .windows(text.len())
            .position(|w| w == text.as_slice())
            .unwrap();
        let mut edited = raw.clone();
        edited[at + text.len() - 1] = b'9';
        for (tampered, changed_result) in [(flipped, false), (edited, true)] {
            sqlx::query("UPDATE batch_payloads SET raw = $1 WHERE batch_id = $2")
                .bind(tampered)
                .bind(&rev.batch_id)
                .execute(store.pool())
                .await
                .unwrap();
            let bad = store
                .evidence_revision_detail(&admin, id, 1)
                .await
                .unwrap()
                .unwrap();
            assert!(!bad.signature_verifies && !bad.sha256_matches);
            assert!(bad.problem.unwrap().contains("signature"));
            let shown = bad.result.unwrap();
            assert_eq!(shown != result, changed_result);
        }
    }

    on_both_databases!(evidence_queue_and_reviews, revisions_verify_their_signature);
}
