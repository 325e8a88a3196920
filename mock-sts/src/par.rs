//! `POST /connect/par`: pushed authorization requests (RFC 9126), mandatory for HelseID's
//! login clients (reference §4.1). The client authenticates as at the token endpoint; the
//! validated request is kept under a one-time `request_uri` for `/connect/authorize`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use protocol::endpoints;
use serde_json::json;

use crate::Sts;
use crate::authorization_request;
use crate::client_auth::{self, internal};
use crate::error::OAuthError;
use crate::form::Form;

/// Prefix of request URIs (RFC 9126 §2.2; Duende's format).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// Lifetime of a pushed request (Duende's default; HelseID's UNCONFIRMED).
pub const LIFETIME_SECS: i64 = 600;

pub async fn par(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, OAuthError> {
    let endpoint = sts.config.endpoint(endpoints::PAR);
    if form.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri must not be sent to the PAR endpoint",
        ));
    }
    let auth = client_auth::authenticate(&sts, &headers, &form, &endpoint)?;
    let apis = sts.store.apis().map_err(internal)?;
    let now = sts.now();
    let get = |name: &str| form.get(name).map(str::to_owned);
    let resources: Vec<String> = form
        .all("resource")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let request = authorization_request::validate(
        &auth.client,
        &get,
        &resources,
        &apis,
        &sts.config.issuer,
        now,
    )?;
    // RFC 9126 §2.2: the request_uri must be infeasible to guess.
    let request_uri = format!(
        "{REQUEST_URI_PREFIX}{}",
        protocol::jose::random_hex::<16>().map_err(client_auth::rng_failed)?
    );
    sts.par_requests
        .insert(request_uri.clone(), request, now, now + LIFETIME_SECS)
        .map_err(|_| client_auth::replay_full())?;
    let body = json!({ "request_uri": request_uri, "expires_in": LIFETIME_SECS });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
