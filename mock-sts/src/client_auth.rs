//! Authenticating the client of a back-channel request (token, revocation, introspection):
//! `private_key_jwt` only (reference §2.1: HelseID "will not authenticate clients by means of
//! any other authentication method, such as 'Mutual TLS', or 'Client Secret'").
//!
//! The rules of the assertion itself are [`protocol::client_assertion`]; this module finds the
//! client and its keys, and keeps the `jti` replay cache.

use axum::http::{HeaderMap, header};
use protocol::assertion_details::{self, Detail};
use protocol::client_assertion::{self, ASSERTION_TYPE, ClientAssertion, RegisteredKey, Rules};
use protocol::jose::PublicJwk;
use protocol::oauth::ErrorCode;

use crate::Sts;
use crate::clock::time_of_day;
use crate::error::OAuthError;
use crate::form::Form;
use crate::replay::Replay;
use crate::store::Client;

/// A client that proved who it is.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub client: Client,
    pub assertion: ClientAssertion,
    /// The understood entries of `assertion_details`.
    pub details: Vec<Detail>,
}

/// Authenticates the request's client. `endpoint` is the URL of the endpoint being called,
/// which (like the issuer) is an accepted `aud`.
pub fn authenticate(
    sts: &Sts,
    headers: &HeaderMap,
    form: &Form,
    endpoint: &str,
) -> Result<Authenticated, OAuthError> {
    refuse_other_methods(headers, form)?;
    let assertion_type = form.get("client_assertion_type").ok_or_else(|| {
        OAuthError::invalid_client(format!(
            "client_assertion_type is missing; HelseID authenticates clients only with private_key_jwt ({ASSERTION_TYPE})"
        ))
    })?;
    if assertion_type != ASSERTION_TYPE {
        return Err(OAuthError::invalid_client(format!(
            "client_assertion_type {assertion_type:?} is not supported; use {ASSERTION_TYPE}"
        )));
    }
    let assertion = form
        .get("client_assertion")
        .ok_or_else(|| OAuthError::invalid_client("client_assertion is missing"))?;
    let claimed = client_assertion::claimed_client(assertion)
        .map_err(|e| OAuthError::invalid_client(e.to_string()))?;
    // Selvbetjening changes whose propagation delay has passed take effect now.
    sts.store.apply_due_changes(sts.now()).map_err(internal)?;
    let client = sts
        .store
        .client(&claimed)
        .map_err(internal)?
        .ok_or_else(|| {
            OAuthError::invalid_client(format!("client {claimed:?} is not registered"))
        })?;
    if !client.confirmed {
        return Err(OAuthError::invalid_client(format!(
            "client {claimed:?} is a draft that has not been confirmed yet"
        )));
    }
    let keys = registered_keys(&client);
    let audiences = client_assertion::accepted_audiences(&sts.config.issuer, endpoint);
    let now = sts.now();
    let rules = Rules {
        client_id: form.get("client_id"),
        audiences: &audiences,
        now,
    };
    let verified = client_assertion::validate(assertion, &rules, &keys)
        .map_err(|e| OAuthError::invalid_client(e.to_string()))?;
    let details = match &verified.details {
        None => Vec::new(),
        Some(raw) => {
            assertion_details::parse(raw).map_err(|e| OAuthError::invalid_request(e.to_string()))?
        }
    };
    let replay_key = format!("{}\u{0}{}", verified.client_id, verified.jti);
    let until = verified.exp + client_assertion::CLOCK_SKEW_SECS;
    match sts
        .assertion_replay
        .check_and_insert(replay_key, now, until)
    {
        Ok(()) => {}
        Err(Replay::Seen { at }) => {
            return Err(OAuthError::invalid_client(format!(
                "client assertion jti {:?} was already used at {} UTC; every assertion must have a new jti",
                verified.jti,
                time_of_day(at)
            )));
        }
        Err(Replay::Full) => return Err(replay_full()),
    }
    Ok(Authenticated {
        client,
        assertion: verified,
        details,
    })
}

/// The client's keys as the validator wants them; a stored key that no longer parses is
/// skipped (it was checked when registered).
pub fn registered_keys(client: &Client) -> Vec<RegisteredKey> {
    client
        .keys
        .iter()
        .filter_map(|k| {
            PublicJwk::from_json(&k.jwk).ok().map(|jwk| RegisteredKey {
                jwk,
                expires_at: k.expires_at,
            })
        })
        .collect()
}

fn refuse_other_methods(headers: &HeaderMap, form: &Form) -> Result<(), OAuthError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match client_assertion::other_method(form.get("client_secret"), authorization) {
        Some(why) => Err(OAuthError::invalid_client(why)),
        None => Ok(()),
    }
}

pub(crate) fn replay_full() -> OAuthError {
    OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        "the replay cache is full; retry in a minute",
    )
    .with_status(axum::http::StatusCode::TOO_MANY_REQUESTS)
}

/// The CSPRNG failed while the STS made a secret (a `request_uri`, a refresh token). The
/// request was fine and nothing guessable was handed out: `temporarily_unavailable`, sent
/// as an OAuth error like any other refusal (not as a 5xx) so the client reads why and
/// retries.
pub(crate) fn rng_failed(e: protocol::jose::RngError) -> OAuthError {
    tracing::error!(error = %e, "no secret could be made");
    OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        format!("{e}, so the STS made no secret; retry"),
    )
}

/// A failure of the STS's own storage. It is reported, not hidden, but as a 503: the request
/// was fine.
pub(crate) fn internal(e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "storage failure");
    OAuthError::new(
        ErrorCode::TemporarilyUnavailable,
        format!("the testbed's storage failed: {e}"),
    )
    .with_status(axum::http::StatusCode::SERVICE_UNAVAILABLE)
}
