//! HelseID's Test Token Service (reference §8, "TTT"), under `/ttt`.

use std::sync::Arc;

use axum::Router;

use crate::Sts;

/// The routes of this service, relative to the issuer.
pub fn routes() -> Router<Arc<Sts>> {
    Router::new()
}
