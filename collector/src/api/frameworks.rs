//! Frameworks for a tenant (scan posture, coverage and the compliance score
//! side by side) and the manual requirement assessments behind the score.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::edit::{self, MAX_NOTES, MAX_REF, Tagged, tagged};
use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Json, Path};
use super::problems::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, PreconditionFailed,
    PreconditionRequired, Unauthenticated, Unprocessable, UnsupportedMediaType,
};
use super::tenant;
use crate::auth::{Need, TenantAccess};
use crate::http::AppState;
use crate::store::StoreError;
use crate::store::assessments::{Answer, AssessmentInput, AssessmentResult, AssessmentRow};
use crate::store::frameworks::{FrameworkDetail, FrameworkSummary};

/// Most answers per assessment.
pub const MAX_ANSWERS: usize = 100;
/// Longest question.
pub const MAX_QUESTION: usize = 200;
/// Most controls linked by one assessment.
pub const MAX_LINKED: usize = 100;

/// The framework of a path, if the caller may see it (404 otherwise, the
/// same for unknown frameworks and for those outside an auditor's grant).
pub fn visible(t: &TenantAccess, id: &str) -> Result<&'static str, ApiError> {
    edit::framework(id)
        .filter(|id| t.allows_framework(id))
        .ok_or_else(|| ApiError::not_found("framework"))
}

/// Every framework the caller may see, with the tenant's requirement counts
/// by derived status, coverage, and the compliance score of the assessments.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/frameworks", tag = "frameworks",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses((status = 200, body = Vec<FrameworkSummary>), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn list_frameworks(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Vec<FrameworkSummary>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    Ok(axum::Json(state.store.frameworks(&t).await?))
}

/// A framework's requirement tree in document order: each node's derived
/// status, its mapped and hand-linked controls, and its assessment.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/frameworks/{framework}", tag = "frameworks",
    params(("tenant" = String, Path, description = "Tenant name"),
           ("framework" = String, Path, description = "soc2, iso27001_2022, nist_csf_2.0, pci_dss_4.0.1 or nist_800_53_r5")),
    responses((status = 200, body = FrameworkDetail), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_framework(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, framework)): Path<(String, String)>,
) -> ApiResult<axum::Json<FrameworkDetail>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let id = visible(&t, &framework)?;
    let d = state
        .store
        .framework_detail(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("framework"))?;
    Ok(axum::Json(d))
}

/// The tenant's assessment of one requirement; `ETag` for edits.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/frameworks/{framework}/requirements/{ref}/assessment",
    tag = "frameworks",
    params(("tenant" = String, Path, description = "Tenant name"),
           ("framework" = String, Path, description = "Framework id"),
           ("ref" = String, Path, description = "Requirement id")),
    responses((status = 200, body = AssessmentRow, headers(("ETag" = String, description = "\"v<version>\""))), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_assessment(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, framework, ref_id)): Path<(String, String, String)>,
) -> ApiResult<Tagged<AssessmentRow>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let framework = visible(&t, &framework)?;
    if ref_id.len() > MAX_REF
        || state
            .store
            .requirement_assessable(framework, &ref_id)
            .await?
            .is_none()
    {
        return Err(ApiError::not_found("requirement"));
    }
    let a = state
        .store
        .assessment(&t, framework, &ref_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "this requirement has no assessment yet",
            )
        })?;
    Ok(tagged(a.version, a))
}

/// `PUT …/assessment` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentPut {
    /// `not_assessed`, `compliant`, `partially_compliant`, `non_compliant` or
    /// `not_applicable`.
    pub result: AssessmentResult,
    /// Question (up to 200 characters) → `yes`, `partial`, `no` or `n/a`;
    /// at most 100.
    #[serde(default)]
    pub answers: BTreeMap<String, Answer>,
    /// Notes, up to 10,000 characters.
    #[serde(default)]
    pub notes: Option<String>,
    /// Applied controls of this tenant to link by hand (at most 100);
    /// replaces the earlier links.
    #[serde(default)]
    pub control_ids: Vec<i64>,
}

/// Create (no `If-Match`; 201) or replace (`If-Match` with the ETag; 200)
/// the assessment of an assessable requirement (operators).
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/frameworks/{framework}/requirements/{ref}/assessment",
    tag = "frameworks", request_body = AssessmentPut,
    params(("tenant" = String, Path, description = "Tenant name"),
           ("framework" = String, Path, description = "Framework id"),
           ("ref" = String, Path, description = "Requirement id"),
           ("If-Match" = Option<String>, Header, description = "ETag from GET, to replace an assessment")),
    responses((status = 200, body = AssessmentRow, headers(("ETag" = String, description = "The new ETag"))),
              (status = 201, body = AssessmentRow, headers(("ETag" = String, description = "The new ETag"))), BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, PreconditionFailed, PayloadTooLarge, UnsupportedMediaType, Unprocessable, PreconditionRequired),
    security(("session" = []), ("token" = [])))]
pub async fn put_assessment(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, framework, ref_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(req): Json<AssessmentPut>,
) -> ApiResult<(StatusCode, Tagged<AssessmentRow>)> {
    let t = tenant(&state, &auth, &name, Need::Operate).await?;
    let framework = visible(&t, &framework)?;
    if ref_id.len() > MAX_REF {
        return Err(ApiError::not_found("requirement"));
    }
    if req.answers.len() > MAX_ANSWERS {
        return Err(ApiError::invalid(format!("at most {MAX_ANSWERS} answers")));
    }
    for q in req.answers.keys() {
        if q.trim().is_empty()
            || q.chars().count() > MAX_QUESTION
            || q.chars().any(char::is_control)
        {
            return Err(ApiError::invalid(format!(
                "questions are 1–{MAX_QUESTION} characters on one line"
            )));
        }
    }
    if req.control_ids.len() > MAX_LINKED {
        return Err(ApiError::invalid(format!(
            "link at most {MAX_LINKED} controls"
        )));
    }
    let input = AssessmentInput {
        result: req.result,
        answers: req.answers,
        notes: edit::text("notes", req.notes, MAX_NOTES)?,
        control_ids: req.control_ids,
    };
    let version = edit::if_match_optional(&headers)?;
    if version.is_none()
        && state
            .store
            .assessment(&t, framework, &ref_id)
            .await?
            .is_some()
    {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            "this requirement has an assessment: send If-Match with its ETag to replace it",
        ));
    }
    let row = state
        .store
        .put_assessment(
            &auth.context(),
            &t,
            Some(auth.principal.user_id),
            framework,
            &ref_id,
            version,
            &input,
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("requirement"),
            e => e.into(),
        })?;
    let status = if version.is_none() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, tagged(row.version, row)))
}
