//! Checking the query parameters of listings: bounded texts and cursors
//! that fit the sort.

use axum::http::StatusCode;

use super::error::ApiError;

/// Longest free-text search (`q`).
pub const MAX_SEARCH: usize = 200;
/// Longest identifier-like filter (kind, region, check id, framework, …).
pub const MAX_NAME: usize = 200;

/// `value` of parameter `name` if given: 1 to `max` characters, no control
/// characters.
pub fn text(name: &str, value: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    match value {
        None => Ok(None),
        Some(v)
            if !v.is_empty() && v.chars().count() <= max && !v.chars().any(char::is_control) =>
        {
            Ok(Some(v))
        }
        Some(_) => Err(ApiError::invalid(format!(
            "{name} must be 1–{max} characters without control characters"
        ))),
    }
}

/// The refusal of a cursor made for another listing or sort.
pub fn bad_cursor() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_cursor",
        "the cursor is not one this listing issued (or the sort changed)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_bounded() {
        assert_eq!(text("q", None, 3).unwrap(), None);
        assert_eq!(
            text("q", Some("abc".into()), 3).unwrap().as_deref(),
            Some("abc")
        );
        for bad in ["", "abcd", "a\nb"] {
            assert_eq!(
                text("q", Some(bad.into()), 3).unwrap_err().code(),
                "invalid"
            );
        }
    }
}
