//! HelseID Selvbetjening API (reference §8), under `/selvbetjening`.

use std::sync::Arc;

use axum::Router;

use crate::Sts;

/// The routes of this API, relative to the issuer.
pub fn routes() -> Router<Arc<Sts>> {
    Router::new()
}
