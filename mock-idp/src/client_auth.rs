//! Client authentication at the token endpoint with a client secret (RFC 6749 §2.3.1): HTTP
//! Basic (`client_secret_basic`, id and secret form-urlencoded before base64) or the body
//! (`client_secret_post`). One method per request (§2.3: "MUST NOT use more than one
//! authentication method in each request"); secrets compared in constant time.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::jose::constant_time_eq;

use crate::RegisteredRp;
use crate::error::TokenError;
use crate::form::{Params, decode_component};

/// The registered client the request authenticates as. `any_secret` skips the secret's
/// comparison ([`crate::IdpFlaw::AnyClientSecret`], test only).
pub fn authenticate<'a>(
    headers: &HeaderMap,
    form: &Params,
    clients: &'a [RegisteredRp],
    any_secret: bool,
) -> Result<&'a RegisteredRp, TokenError> {
    let basic = basic_credentials(headers)?;
    let post = form.get("client_secret");
    let (client_id, secret, is_basic) = match (basic, post) {
        (Some(_), Some(_)) => {
            return Err(TokenError::invalid_request(
                "the client authenticated twice (Authorization: Basic and client_secret in the body); use one method",
            ));
        }
        (Some((id, secret)), None) => {
            if form.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(TokenError::invalid_request(
                    "client_id in the body differs from the one in the Authorization header",
                ));
            }
            (id, secret, true)
        }
        (None, Some(secret)) => {
            let id = form.get("client_id").ok_or_else(|| {
                TokenError::invalid_client("client_secret was sent without client_id", false)
            })?;
            (id.to_owned(), secret.to_owned(), false)
        }
        (None, None) => {
            return Err(TokenError::invalid_client(
                "no client authentication: use client_secret_basic (Authorization: Basic) or client_secret_post (client_id and client_secret in the body)",
                false,
            ));
        }
    };
    let client = clients
        .iter()
        .find(|c| c.client_id == client_id)
        .ok_or_else(|| {
            TokenError::invalid_client(format!("unknown client {client_id:?}"), is_basic)
        })?;
    if !any_secret && !constant_time_eq(client.client_secret.as_bytes(), secret.as_bytes()) {
        return Err(TokenError::invalid_client(
            format!("wrong client secret for client {client_id:?}"),
            is_basic,
        ));
    }
    Ok(client)
}

/// The id and secret of an `Authorization: Basic` header, if there is one.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, TokenError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = |why: &str| TokenError::invalid_client(format!("Authorization header: {why}"), true);
    let value = value.to_str().map_err(|_| bad("not ASCII"))?;
    let (scheme, encoded) = value.split_once(' ').ok_or_else(|| bad("no scheme"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad("only the Basic scheme is accepted here"));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad("not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad("not UTF-8"))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| bad("no ':' between client id and secret"))?;
    let id = decode_component(id).map_err(|e| bad(&e))?;
    let secret = decode_component(secret).map_err(|e| bad(&e))?;
    Ok(Some((id, secret)))
}
