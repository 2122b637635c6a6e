//! Keyset pagination. A page ends with an opaque `next_cursor` naming the
//! last item's sort key and id; the next request passes it back as `cursor`.
//! Pages stay stable while new rows arrive, and a deep page costs what the
//! first one does (no OFFSET).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use crate::store::page::{Cursor, PageRequest};

/// Items per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: i64 = 50;
/// Most items per page.
pub const MAX_LIMIT: i64 = 500;
/// Longest cursor accepted.
const MAX_CURSOR: usize = 512;

/// One page of a listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    /// Sort the cursor was made for.
    s: String,
    /// Sort key of the last item (absent when sorting by id).
    k: Option<String>,
    /// Id of the last item.
    i: i64,
}

/// Parse `limit` and `cursor` for a listing sorted by `sort`.
pub fn request(
    limit: Option<i64>,
    cursor: Option<&str>,
    sort: &str,
) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "bad_limit",
            format!("limit must be 1–{MAX_LIMIT}"),
        ));
    }
    let after = cursor.map(|c| decode(c, sort)).transpose()?;
    Ok(PageRequest { after, limit })
}

fn decode(cursor: &str, sort: &str) -> Result<Cursor, ApiError> {
    let bad = || {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "bad_cursor",
            "the cursor is not one this listing issued (or the sort changed)",
        )
    };
    if cursor.len() > MAX_CURSOR {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if wire.s != sort {
        return Err(bad());
    }
    Ok(Cursor {
        key: wire.k,
        id: wire.i,
    })
}

/// Make a page from `limit + 1` fetched rows: the extra row only says that
/// there is a next page. `key` gives an item's (sort key, id).
pub fn page<T>(
    mut rows: Vec<T>,
    req: &PageRequest,
    sort: &str,
    key: impl Fn(&T) -> (Option<String>, i64),
) -> Page<T> {
    let more = rows.len() as i64 > req.limit;
    rows.truncate(usize::try_from(req.limit).unwrap_or(usize::MAX));
    let next_cursor = more.then(|| rows.last()).flatten().map(|last| {
        let (k, i) = key(last);
        let wire = Wire {
            s: sort.to_string(),
            k,
            i,
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
    });
    Page {
        items: rows,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let req = request(Some(2), None, "id").unwrap();
        let p = page(vec![1i64, 2, 3], &req, "id", |i| (None, *i));
        assert_eq!(p.items, vec![1, 2]);
        let c = p.next_cursor.unwrap();
        let next = request(Some(2), Some(&c), "id").unwrap();
        assert_eq!(next.after.unwrap().id, 2);
        for bad in ["", "!!", "eyJ9", &c[..c.len() - 2]] {
            assert_eq!(
                request(None, Some(bad), "id").unwrap_err().code(),
                "bad_cursor"
            );
        }
        assert_eq!(
            request(None, Some(&c), "severity").unwrap_err().code(),
            "bad_cursor"
        );
        assert_eq!(
            request(Some(0), None, "id").unwrap_err().code(),
            "bad_limit"
        );
        assert_eq!(
            request(Some(100_000), None, "id").unwrap_err().code(),
            "bad_limit"
        );
        let last = page(vec![1i64], &req, "id", |i| (None, *i));
        assert!(last.next_cursor.is_none());
    }
}
