//! Keyset page requests, as the store's listings take them (the API encodes
//! and decodes the cursor).

/// Where a page starts: after the item with this sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Sort key of the last item seen (`None` when sorting by id alone).
    pub key: Option<String>,
    /// Id of the last item seen.
    pub id: i64,
}

/// A page to fetch. Listings return up to `limit + 1` rows; the extra row
/// tells the caller there is a next page.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Start after this item.
    pub after: Option<Cursor>,
    /// Page size (1..=500, checked by the API).
    pub limit: i64,
}

impl PageRequest {
    /// The first `limit` items.
    pub fn first(limit: i64) -> Self {
        Self { after: None, limit }
    }

    /// Rows to fetch: one more than the page holds.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}
