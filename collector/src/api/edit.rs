//! What the compliance handlers share: ETags and If-Match for hand-edited
//! objects, bounded text fields, ids of frameworks and requirements.
//!
//! An object's ETag is `"v<version>"`; an edit must send it back as
//! `If-Match` (428 when missing, 412 when it no longer matches, checked by
//! the store inside the write transaction).

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde::{Deserialize, Deserializer};

use super::error::ApiError;

/// Longest owner text.
pub const MAX_OWNER: usize = 200;
/// Longest notes text.
pub const MAX_NOTES: usize = 10_000;
/// Longest requirement id accepted.
pub const MAX_REF: usize = 100;

/// A JSON body with its ETag header.
pub type Tagged<T> = ([(HeaderName, HeaderValue); 1], axum::Json<T>);

/// The ETag of `version`.
pub fn etag(version: i64) -> HeaderValue {
    // Digits and quotes only: always a valid header value.
    HeaderValue::from_str(&format!("\"v{version}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

/// `body` with the ETag of `version`.
pub fn tagged<T>(version: i64, body: T) -> Tagged<T> {
    ([(header::ETAG, etag(version))], axum::Json(body))
}

/// The version an `If-Match` header names; `None` when there is none.
/// A value that is not one of our ETags can match nothing: 412.
pub fn if_match_optional(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let stale = || {
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "stale",
            "If-Match does not name the object's current ETag; read it again and retry",
        )
    };
    let text = value.to_str().map_err(|_| stale())?.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.strip_prefix("\"v")
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(stale)
}

/// The version `If-Match` names; 428 when the header is missing.
pub fn if_match(headers: &HeaderMap) -> Result<i64, ApiError> {
    if_match_optional(headers)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            "send If-Match with the ETag from reading the object",
        )
    })
}

/// Serde helper for fields that may be absent (`None`: keep), `null`
/// (`Some(None)`: clear) or set (`Some(Some(v))`).
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A one-line text of at most `max` characters, trimmed; empty means none.
pub fn line(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{field} is at most {max} characters on one line"
        )));
    }
    Ok((!v.is_empty()).then(|| v.to_string()))
}

/// A multi-line text of at most `max` characters; empty means none.
pub fn text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    if v.chars().count() > max
        || v.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ApiError::invalid(format!(
            "{field} is at most {max} characters of text"
        )));
    }
    Ok((!v.trim().is_empty()).then_some(v))
}

/// A framework id exactly as Citadel names it (not an alias), or `None`.
pub fn framework(id: &str) -> Option<&'static str> {
    crate::posture::framework_id(id).filter(|known| *known == id)
}

/// A framework id given as a filter: 422 when unknown.
pub fn framework_filter(id: Option<String>) -> Result<Option<String>, ApiError> {
    id.map(|id| {
        framework(&id)
            .map(str::to_string)
            .ok_or_else(|| ApiError::invalid(format!("unknown framework {:?}", truncate(&id))))
    })
    .transpose()
}

/// An identifier filter of at most `max` bytes, without control characters.
pub fn id_filter(field: &str, v: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    match v {
        Some(v) if v.is_empty() || v.len() > max || v.chars().any(char::is_control) => Err(
            ApiError::invalid(format!("{field} must be 1–{max} characters")),
        ),
        v => Ok(v),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn if_match_names_a_version_or_refuses() {
        assert_eq!(if_match(&with("\"v3\"")).unwrap(), 3);
        assert_eq!(if_match(&with("W/\"v12\"")).unwrap(), 12);
        assert_eq!(
            if_match(&HeaderMap::new()).unwrap_err().code(),
            "precondition_required"
        );
        assert_eq!(if_match_optional(&HeaderMap::new()).unwrap(), None);
        for bad in ["*", "v3", "\"3\"", "\"vx\"", "\"v1\", \"v2\""] {
            assert_eq!(if_match(&with(bad)).unwrap_err().code(), "stale", "{bad}");
        }
        assert_eq!(etag(7), "\"v7\"");
    }

    #[test]
    fn texts_are_bounded() {
        assert_eq!(
            line("owner", Some("  Ops ".into()), 200)
                .unwrap()
                .as_deref(),
            Some("Ops")
        );
        assert_eq!(line("owner", Some("  ".into()), 200).unwrap(), None);
        assert!(line("owner", Some("a\nb".into()), 200).is_err());
        assert!(line("owner", Some("é".repeat(201)), 200).is_err());
        assert!(line("owner", Some("é".repeat(200)), 200).is_ok());
        assert!(text("notes", Some("a\nb\tc".into()), 10).is_ok());
        assert!(text("notes", Some("a\u{0}".into()), 10).is_err());
        assert!(text("notes", Some("x".repeat(11)), 10).is_err());
        assert_eq!(framework("soc2"), Some("soc2"));
        assert_eq!(framework("SOC2"), None);
        assert_eq!(framework("pci"), None, "aliases are for the CLI");
        assert_eq!(
            framework_filter(Some("hipaa".into())).unwrap_err().code(),
            "invalid"
        );
    }
}
