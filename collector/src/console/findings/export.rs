//! The filtered findings view as a download: every page of it, read from
//! the store in pages of [`PAGE`] up to [`CAP`] rows (a larger view says
//! it was cut: a trailing CSV line, and the `X-Export-Truncated` header on
//! both formats). The CSV is RFC 4180 with a header row; text cells that a
//! spreadsheet would run as a formula get a leading apostrophe. The JSON is
//! an array of the API's `FindingRow` objects.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::View;
use crate::api::error::ApiError;
use crate::api::extract::Path;
use crate::auth::{Need, TenantAccess};
use crate::console::Console;
use crate::http::AppState;
use crate::store::Store;
use crate::store::findings::{FindingFilter, FindingRow, FindingSort};
use crate::store::page::{Cursor, PageRequest};

/// Rows read per store call.
const PAGE: i64 = 500;
/// Most rows in one export.
pub(super) const CAP: usize = 100_000;
/// Set (to the cap) when an export was cut.
const TRUNCATED: HeaderName = HeaderName::from_static("x-export-truncated");

/// The CSV columns, in order.
pub(super) const COLUMNS: [&str; 11] = [
    "id",
    "status",
    "severity",
    "check_id",
    "check_title",
    "asset_source_id",
    "asset_kind",
    "region",
    "status_extended",
    "first_seen",
    "observed",
];

pub(super) async fn csv(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (t, rows, cut) = rows_of(&state, &c, &name, raw.as_deref()).await?;
    let mut out = String::with_capacity(rows.len() * 200 + 200);
    push_row(&mut out, COLUMNS.iter().map(|c| c.to_string()));
    for r in &rows {
        push_row(&mut out, csv_cells(r).into_iter());
    }
    if cut {
        out.push_str(&format!(
            "# truncated: only the first {CAP} rows are exported\r\n"
        ));
    }
    Ok(download(&t, "csv", "text/csv; charset=utf-8", out, cut))
}

pub(super) async fn json(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (t, rows, cut) = rows_of(&state, &c, &name, raw.as_deref()).await?;
    let body = serde_json::to_string(&rows).map_err(ApiError::internal)?;
    Ok(download(&t, "json", "application/json", body, cut))
}

/// Guard, parse the view (the list's filters and sort; its cursor and page
/// size are ignored: an export is every page), read it.
async fn rows_of(
    state: &AppState,
    c: &Console,
    name: &str,
    raw: Option<&str>,
) -> Result<(TenantAccess, Vec<FindingRow>, bool), ApiError> {
    let t = c.tenant(state, name, Need::Read).await?;
    let q = super::filter_query(raw, |k, v| {
        (k != "cursor" && k != "limit").then(|| super::lower_enums(k, v))?
    })?;
    let view = View::of(&t, q)?;
    // Exports read in id order whatever the view's sort: keyset pages on
    // the (tenant, id) index, where another sort would sort the whole
    // filtered set again for every page.
    let (rows, cut) = collect(&state.store, &t, &view.filter, FindingSort::Id, PAGE, CAP).await?;
    Ok((t, rows, cut))
}

/// Every row of the view, `page` at a time, up to `cap`; and whether there
/// were more.
pub(super) async fn collect(
    store: &Store,
    t: &TenantAccess,
    filter: &FindingFilter,
    sort: FindingSort,
    page: i64,
    cap: usize,
) -> Result<(Vec<FindingRow>, bool), ApiError> {
    let mut out: Vec<FindingRow> = Vec::new();
    let mut req = PageRequest::first(page);
    loop {
        let mut rows = store.findings(t, filter, sort, &req).await?;
        let more = rows.len() as i64 > page;
        rows.truncate(page as usize);
        for r in rows {
            if out.len() == cap {
                return Ok((out, true));
            }
            out.push(r);
        }
        let Some(last) = out.last().filter(|_| more) else {
            return Ok((out, false));
        };
        req.after = Some(Cursor {
            key: sort.key(last),
            id: last.id,
        });
    }
}

fn download(t: &TenantAccess, ext: &str, mime: &'static str, body: String, cut: bool) -> Response {
    let disposition = format!(
        "attachment; filename=\"findings-{}.{ext}\"",
        file_name(t.name())
    );
    let mut res = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response();
    if cut {
        res.headers_mut()
            .insert(TRUNCATED, HeaderValue::from(CAP as u64));
    }
    res
}

/// A tenant name as a file name: letters, digits, `-`, `_` and `.` only.
fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `2026-01-01T00:00:01Z` (UTC).
pub(super) fn iso(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn csv_cells(r: &FindingRow) -> [String; 11] {
    [
        r.id.to_string(),
        text_cell(&r.status),
        text_cell(&r.severity),
        text_cell(&r.check_id),
        text_cell(&r.check_title),
        text_cell(&r.asset_source_id),
        text_cell(&r.asset_kind),
        text_cell(&r.asset_region),
        text_cell(&r.status_extended),
        iso(r.first_seen_at),
        iso(r.observed_at),
    ]
}

/// A text cell that a spreadsheet would read as a formula (or as a
/// command, after a tab or carriage return) is made plain text.
pub(super) fn text_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// One RFC 4180 record: cells with a comma, quote or line break quoted,
/// quotes doubled, CRLF at the end.
pub(super) fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        if cell.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&cell);
        }
    }
    out.push_str("\r\n");
}
