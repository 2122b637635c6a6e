//! What the review, fleet, audit and admin pages share about their forms:
//! HTML sends an empty field for every input left blank (absent here),
//! dates are `<input type=date>` days read as UTC, and the notices shown
//! after a change are fixed texts chosen by a code in the URL (never text
//! taken from it).

use maud::{Markup, html};
use time::{Date, Month};

use crate::api::error::ApiError;

/// A day in ms.
pub const DAY_MS: i64 = 86_400_000;

/// A field as given, trimmed; `None` when left blank.
pub fn opt(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// An integer field (`None` when blank; 422 when not a number).
pub fn int(field: &str, v: Option<String>) -> Result<Option<i64>, ApiError> {
    opt(v)
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::invalid(format!("{field} must be a whole number")))
        })
        .transpose()
}

/// The start (00:00 UTC, Unix ms) of day `YYYY-MM-DD` in field `field`.
pub fn day(field: &str, v: Option<String>) -> Result<Option<i64>, ApiError> {
    let Some(s) = opt(v) else { return Ok(None) };
    let bad = || ApiError::invalid(format!("{field} must be a date (YYYY-MM-DD)"));
    let mut parts = s.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    let d: u8 = d.parse().map_err(|_| bad())?;
    let month = Month::try_from(m).map_err(|_| bad())?;
    let date = Date::from_calendar_date(y, month, d).map_err(|_| bad())?;
    Ok(Some(date.midnight().assume_utc().unix_timestamp() * 1000))
}

/// The last millisecond of the day in `field` (for "up to and including").
pub fn day_end(field: &str, v: Option<String>) -> Result<Option<i64>, ApiError> {
    Ok(day(field, v)?.map(|start| start + DAY_MS - 1))
}

/// The value of a date input showing the UTC day of `ms`.
pub fn day_value(ms: Option<i64>) -> String {
    ms.map(super::super::layout::date).unwrap_or_default()
}

/// The fixed text of a notice code (`?notice=…` after a redirect).
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "reviewed" => "Your decision is recorded in the review history and the audit log.",
        "agent-revoked" => "The agent is revoked: the collector refuses its batches from now on.",
        "token-revoked" => "The enrollment token is revoked: it can no longer enroll an agent.",
        "user-disabled" => {
            "The user is disabled: their sessions ended and their API tokens stop working."
        }
        "user-enabled" => "The user is enabled again.",
        "grant-set" => "The grant is saved.",
        "grant-removed" => "The grant is removed.",
        "api-token-revoked" => "The API token is revoked.",
        _ => return None,
    })
}

/// A notice for `code`, if it is one of ours.
pub fn notice(code: Option<&str>) -> Markup {
    match code.and_then(notice_text) {
        Some(text) => html! { p.notice #notice role="status" { (text) } },
        None => html! {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_and_blank_is_absent() {
        assert_eq!(
            day("from", Some("1970-01-02".into())).unwrap(),
            Some(DAY_MS)
        );
        assert_eq!(
            day_end("to", Some("1970-01-01".into())).unwrap(),
            Some(DAY_MS - 1)
        );
        assert_eq!(day("from", Some("  ".into())).unwrap(), None);
        for bad in ["2026-13-01", "2026-02-30", "yesterday", "2026-1"] {
            assert_eq!(day("from", Some(bad.into())).unwrap_err().code(), "invalid");
        }
        assert_eq!(day_value(Some(DAY_MS)), "1970-01-02");
        assert_eq!(int("ttl", Some("x".into())).unwrap_err().code(), "invalid");
        assert!(notice(Some("<script>")).into_string().is_empty());
    }
}
