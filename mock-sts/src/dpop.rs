//! DPoP as the STS enforces it (reference §3): at the token endpoint with a mandatory server
//! nonce (RFC 9449 §8: 400 `use_dpop_nonce` with a `DPoP-Nonce` header), and at the STS's own
//! protected resources (the Selvbetjening API) with `ath` and `cnf.jkt` (RFC 9449 §7).
//!
//! Proof syntax and claims are checked by [`protocol::dpop`]; this module adds what needs
//! state: the nonce and the `jti` replay cache.

use axum::http::HeaderMap;
use protocol::dpop::{self, Proof, Rules};
use protocol::oauth::ErrorCode;

use crate::Sts;
use crate::client_auth::replay_full;
use crate::clock::time_of_day;
use crate::error::OAuthError;
use crate::replay::Replay;

/// The single `DPoP` header of a request, if any.
pub fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let mut values = headers.get_all("DPoP").iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "the request carries more than one DPoP header",
        ));
    }
    first.to_str().map(Some).map_err(|_| {
        OAuthError::new(
            ErrorCode::InvalidDpopProof,
            "the DPoP header is not visible ASCII",
        )
    })
}

/// Checks a token-endpoint proof: validity, then the nonce, then replay. Returns the proof
/// key's thumbprint.
pub fn at_token_endpoint(sts: &Sts, proof: &str, htu: &str) -> Result<Proof, OAuthError> {
    let now = sts.now();
    let rules = Rules {
        htm: "POST",
        htu,
        now,
        access_token: None,
    };
    let proof = dpop::validate(proof, &rules)
        .map_err(|e| OAuthError::new(ErrorCode::InvalidDpopProof, e.to_string()))?;
    match &proof.nonce {
        None => {
            return Err(OAuthError::new(
                ErrorCode::UseDpopNonce,
                "a DPoP nonce is required: repeat the request with a proof whose nonce is the DPoP-Nonce header of this response",
            )
            .with_nonce(sts.nonces.issue(now)));
        }
        Some(n) if !sts.nonces.is_valid(n, now) => {
            return Err(OAuthError::new(
                ErrorCode::UseDpopNonce,
                "the DPoP nonce is unknown or stale: repeat the request with the DPoP-Nonce header of this response",
            )
            .with_nonce(sts.nonces.issue(now)));
        }
        Some(_) => {}
    }
    remember(sts, &proof, now)?;
    Ok(proof)
}

/// Checks a proof presented with an access token at a protected resource of the STS.
pub fn at_resource(
    sts: &Sts,
    proof: &str,
    method: &str,
    htu: &str,
    access_token: &str,
    cnf_jkt: &str,
) -> Result<Proof, OAuthError> {
    let now = sts.now();
    let rules = Rules {
        htm: method,
        htu,
        now,
        access_token: Some(access_token),
    };
    let invalid = |e: dpop::DpopError| {
        OAuthError::unauthorized("DPoP", ErrorCode::InvalidDpopProof, e.to_string())
    };
    let proof = dpop::validate(proof, &rules).map_err(invalid)?;
    dpop::check_binding(&proof, cnf_jkt).map_err(invalid)?;
    remember(sts, &proof, now).map_err(|mut e| {
        e.status = axum::http::StatusCode::UNAUTHORIZED;
        e.challenge = Some("DPoP");
        e
    })?;
    Ok(proof)
}

fn remember(sts: &Sts, proof: &Proof, now: i64) -> Result<(), OAuthError> {
    let key = format!("{}\u{0}{}", proof.jkt, proof.jti);
    let until = proof.iat + dpop::MAX_AGE_SECS + 2 * dpop::CLOCK_SKEW_SECS;
    match sts.dpop_replay.check_and_insert(key, now, until) {
        Ok(()) => Ok(()),
        Err(Replay::Seen { at }) => Err(OAuthError::new(
            ErrorCode::InvalidDpopProof,
            format!(
                "DPoP proof jti {:?} was already used at {} UTC; every request needs a new proof",
                proof.jti,
                time_of_day(at)
            ),
        )),
        Err(Replay::Full) => Err(replay_full()),
    }
}
