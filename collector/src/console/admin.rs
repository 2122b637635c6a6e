//! Console pages: admin (being written).

use axum::Router;

use crate::http::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
}
