//! The findings list (`/results`): a tenant's check results with filters,
//! sorts and keyset pages, and one result with its history.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{Auth, Path, Query};
use super::filter::{self, MAX_NAME, MAX_SEARCH};
use super::page::{self, Page};
use super::problems::{BadRequest, Forbidden, NotFound, Unauthenticated, Unprocessable};
use super::tenant;
use crate::auth::{Need, TenantAccess};
use crate::http::AppState;
use crate::store::findings::{
    FindingDetail, FindingFilter, FindingRow, FindingSort, ResultStatus, SeverityLevel,
};
use crate::store::page::PageRequest;

/// Query of `GET results`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// Page size (1–500, default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page (only valid with the same sort).
    pub cursor: Option<String>,
    /// `id` (default), `-id`, `severity` (critical first), `check`, `observed` (newest first).
    #[param(inline)]
    pub sort: Option<FindingSort>,
    /// Result status.
    #[param(inline)]
    pub status: Option<ResultStatus>,
    /// Result severity.
    #[param(inline)]
    pub severity: Option<SeverityLevel>,
    /// Check id, exactly.
    pub check: Option<String>,
    /// Asset id.
    pub asset: Option<i64>,
    /// Asset region, exactly.
    pub region: Option<String>,
    /// Asset kind, exactly.
    pub kind: Option<String>,
    /// Applied control id: results of the control's checks.
    pub control: Option<i64>,
    /// Framework id: results of checks whose controls map to one of its
    /// requirements (auditors: frameworks of their grant only).
    pub framework: Option<String>,
    /// Requirement ref id (needs `framework`): results of checks whose
    /// controls map to it.
    pub requirement: Option<String>,
    /// Substring of the status text, asset source id or check id (ignoring case).
    pub q: Option<String>,
}

/// The tenant's check results (auditors: those observed within their window).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/results", tag = "findings",
    params(("tenant" = String, Path, description = "Tenant name"), ResultsQuery),
    responses((status = 200, body = Page<FindingRow>), BadRequest, Unauthenticated, Forbidden, NotFound, Unprocessable),
    security(("session" = []), ("token" = [])))]
pub async fn list_results(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> ApiResult<axum::Json<Page<FindingRow>>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let View { filter, sort, req } = View::of(&t, q)?;
    let rows = state.store.findings(&t, &filter, sort, &req).await?;
    Ok(axum::Json(page::page(rows, &req, sort.as_str(), |r| {
        (sort.key(r), r.id)
    })))
}

/// A findings view: the filter, the sort and the page, checked as
/// `GET results` checks them (the console's findings views too).
#[derive(Debug, Clone)]
pub struct View {
    /// The filters.
    pub filter: FindingFilter,
    /// The order.
    pub sort: FindingSort,
    /// The page.
    pub req: PageRequest,
}

impl View {
    /// The view `q` asks for, as the API's `list_results` validates it:
    /// bounded texts, a cursor that fits the sort, `requirement` only with
    /// `framework`, and an auditor's frameworks only.
    pub fn of(t: &TenantAccess, q: ResultsQuery) -> Result<Self, ApiError> {
        let sort = q.sort.unwrap_or_default();
        let req = page::request(q.limit, q.cursor.as_deref(), sort.as_str())?;
        if req.after.as_ref().is_some_and(|c| !sort.accepts(c)) {
            return Err(filter::bad_cursor());
        }
        let filter = FindingFilter {
            status: q.status,
            severity: q.severity,
            check: filter::text("check", q.check, MAX_NAME)?,
            asset: q.asset,
            region: filter::text("region", q.region, MAX_NAME)?,
            kind: filter::text("kind", q.kind, MAX_NAME)?,
            control: q.control,
            framework: filter::text("framework", q.framework, MAX_NAME)?,
            requirement: filter::text("requirement", q.requirement, MAX_NAME)?,
            q: filter::text("q", q.q, MAX_SEARCH)?,
        };
        if filter.requirement.is_some() && filter.framework.is_none() {
            return Err(ApiError::invalid("requirement needs framework"));
        }
        if let Some(fw) = &filter.framework
            && !t.allows_framework(fw)
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this framework is outside your audit scope",
            ));
        }
        Ok(Self { filter, sort, req })
    }
}

/// One check result with its status history and evidence record id.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/results/{id}", tag = "findings",
    params(("tenant" = String, Path, description = "Tenant name"), ("id" = i64, Path, description = "Result id")),
    responses((status = 200, body = FindingDetail), BadRequest, Unauthenticated, NotFound),
    security(("session" = []), ("token" = [])))]
pub async fn get_result(
    State(state): State<AppState>,
    auth: Auth,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult<axum::Json<FindingDetail>> {
    let t = tenant(&state, &auth, &name, Need::Read).await?;
    let result = state
        .store
        .finding(&t, id)
        .await?
        .ok_or_else(|| ApiError::not_found("result"))?;
    Ok(axum::Json(result))
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use crate::api::ApiDoc;

    /// The document names the sorts and filters and the raw batch's media
    /// type, and every schema it refers to is in it.
    #[test]
    fn openapi_describes_the_read_endpoints() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let results = &doc["paths"]["/api/v1/tenants/{tenant}/results"]["get"];
        let params: Vec<&str> = results["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for p in [
            "tenant",
            "limit",
            "cursor",
            "sort",
            "status",
            "framework",
            "requirement",
            "q",
        ] {
            assert!(params.contains(&p), "{p} in {params:?}");
        }
        let sort = results["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "sort")
            .unwrap();
        let sorts = serde_json::to_string(sort).unwrap();
        for s in [
            "\"id\"",
            "\"-id\"",
            "\"severity\"",
            "\"check\"",
            "\"observed\"",
        ] {
            assert!(sorts.contains(s), "{sorts}");
        }
        let raw =
            &doc["paths"]["/api/v1/tenants/{tenant}/batches/{id}/raw"]["get"]["responses"]["200"];
        let body = &raw["content"]["application/cose"]["schema"];
        assert_eq!(body["format"], "binary", "{raw}");
        assert!(raw["headers"].get("x-content-sha256").is_some(), "{raw}");
        // Every reference resolves (an enum used only in query parameters,
        // for instance, is not collected into the components).
        fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                        out.push(r);
                    }
                    m.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        for r in all {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "dangling {r}"
            );
        }
        let scan = serde_json::to_string(&doc["components"]["schemas"]["ScanRow"]).unwrap();
        for f in [
            "policies_skipped",
            "snapshots_captured",
            "duration_seconds",
            "arns_skipped",
        ] {
            assert!(scan.contains(f), "{f}");
        }
        assert!(!scan.contains("last_number"), "internal");
    }
}
