//! Evidence, the auditor's queue: listing, one record, one revision exactly
//! as signed (with the signature checked again), and review decisions.
//! Auditors see their frameworks' evidence within their window; decisions
//! are for auditors and administrators (`Need::Review`).

use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::edit::{self, MAX_REF, Tagged, tagged};
use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Json, Path, Query};
use super::page::{self, Page};
use super::problems::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, PreconditionFailed, PreconditionRequired,
    Unauthenticated, Unprocessable, UnsupportedMediaType,
};
use super::tenant;
use crate::auth::Need;
use crate::http::AppState;
use crate::store::review::{
    Decision, EvidenceDetail, EvidenceFilter, EvidenceRow, ReviewStatus, RevisionDetail, review_tag,
};

/// Sort of the evidence listing (cursors are tied to it).
const SORT: &str = "id";
/// Longest review comment.
pub const MAX_COMMENT: usize = 2_000;

/// `GET /evidence` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EvidenceQuery {
    /// Review status.
    pub status: Option<ReviewStatus>,
    /// Evidence of controls mapped to this framework …
    pub framework: Option<String>,
    /// … and this requirement of it (needs `framework`).
    pub requirement: Option<String>,
    /// Evidence of this applied control.
    pub control: Option<i64>,
    /// Evidence of this check.
    pub check: Option<String>,
    /// Latest revision received at or after (Unix ms).
    pub from: Option<i64>,
    /// Latest revision received at or before (Unix ms).
    pub to: Option<i64>,
    /// Page size (1–500, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The tenant's evidence by id, filtered (auditors: their frameworks'
/// evidence within their window).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/evidence", tag = "evidence",
    params(("tenant" = String, Path, description = "Tenant name"), EvidenceQuery),
    responses((status = 200, body = Page<EvidenceRow>), BadRequest, Unauthenticated, NotFound, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn list_evidence(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(q): Query<EvidenceQuery>,
) -> ApiResult<axum::Json<Page<EvidenceRow>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let req = page::request(q.limit, q.cursor.as_deref(), SORT)?;
    if q.requirement.is_some() && q.framework.is_none() {
        return Err(ApiError::invalid("requirement needs framework"));
    }
    let filter = EvidenceFilter {
        status: q.status,
        framework: edit::framework_filter(q.framework)?,
        requirement: edit::id_filter("requirement", q.requirement, MAX_REF)?,
        control: q.control,
        check: edit::id_filter("check", q.check, 200)?,
        from: q.from,
        to: q.to,
    };
    let rows = state.store.evidence_list(&t, &filter, &req).await?;
    Ok(axum::Json(page::page(rows, &req, SORT, |e| (None, e.id))))
}

/// One evidence record: review status, reviewer and comment, review
/// history, revisions, controls; `ETag` on the review version.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/evidence/{id}", tag = "evidence",
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = i64, Path, description = "Evidence id")),
    responses((status = 200, body = EvidenceDetail, headers(("ETag" = String, description = "Review version and latest revision"))), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_evidence(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult<Tagged<EvidenceDetail>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let d = state
        .store
        .evidence_detail(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("evidence record"))?;
    Ok(tagged(
        review_tag(d.evidence.review_version, d.evidence.latest_revision),
        d,
    ))
}

/// One revision: the result exactly as the agent signed it, the batch that
/// carries it, and whether the stored batch's signature still verifies with
/// the agent's enrolled key.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/evidence/{id}/revisions/{version}", tag = "evidence",
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = i64, Path, description = "Evidence id"),
           ("version" = i64, Path, description = "Revision version")),
    responses((status = 200, body = RevisionDetail), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_revision(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id, version)): Path<(String, i64, i64)>,
) -> ApiResult<axum::Json<RevisionDetail>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let r = state
        .store
        .evidence_revision_detail(&t, id, version)
        .await?
        .ok_or_else(|| ApiError::not_found("revision"))?;
    Ok(axum::Json(r))
}

/// `POST /evidence/{id}/review` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `approved`, `rejected`, `flagged` or `in_review` (reopen).
    pub status: ReviewStatus,
    /// 1–2,000 characters; required to reject or flag.
    pub comment: Option<String>,
}

/// A review decision as the API and the console accept it: the comment is
/// bounded text, and rejecting or flagging needs one.
pub fn decision(status: ReviewStatus, comment: Option<String>) -> Result<Decision, ApiError> {
    let comment = edit::text("comment", comment, MAX_COMMENT)?;
    if comment.is_none() && matches!(status, ReviewStatus::Rejected | ReviewStatus::Flagged) {
        return Err(ApiError::invalid(
            "say why: rejecting or flagging needs a comment",
        ));
    }
    Ok(Decision { status, comment })
}

/// Decide on an evidence record (auditors and administrators); needs
/// `If-Match` with the record's ETag.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/evidence/{id}/review", tag = "evidence",
    request_body = ReviewRequest,
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = i64, Path, description = "Evidence id"),
           ("If-Match" = String, Header, description = "ETag from GET")),
    responses((status = 200, body = EvidenceRow, headers(("ETag" = String, description = "The new ETag"))), BadRequest, Unauthenticated, Forbidden, NotFound, PreconditionFailed, PayloadTooLarge, UnsupportedMediaType, Unprocessable, PreconditionRequired),
    security(("session" = []), ("token" = [])))]
pub async fn review_evidence(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, i64)>,
    headers: HeaderMap,
    Json(req): Json<ReviewRequest>,
) -> ApiResult<Tagged<EvidenceRow>> {
    let t = tenant(&state, &auth, &name, Need::Review).await?;
    let version = edit::if_match(&headers)?;
    let decision = decision(req.status, req.comment)?;
    let row = state
        .store
        .review_evidence(
            &auth.context(),
            &t,
            auth.principal.user_id,
            id,
            version,
            &decision,
        )
        .await?;
    Ok(tagged(
        review_tag(row.review_version, row.latest_revision),
        row,
    ))
}

/// What a bulk approval did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Approved {
    /// Records approved.
    pub approved: usize,
}

/// Approve every evidence record of a control that awaits review (auditors
/// and administrators): one history row each, one audit row for all.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/controls/{id}/evidence/approve", tag = "evidence",
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = i64, Path, description = "Control id")),
    responses((status = 200, body = Approved), BadRequest, Unauthenticated, Forbidden, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn approve_control_evidence(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult<axum::Json<Approved>> {
    let t = tenant(&state, &auth, &name, Need::Review).await?;
    let ids = state
        .store
        .approve_control_evidence(&auth.context(), &t, auth.principal.user_id, id)
        .await?;
    Ok(axum::Json(Approved {
        approved: ids.len(),
    }))
}
