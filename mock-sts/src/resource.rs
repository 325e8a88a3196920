//! Authenticating the caller of a protected resource of the STS (the Selvbetjening API, and
//! whatever the STS serves later) with a DPoP-bound access token the STS issued itself:
//! `Authorization: DPoP <access token>` plus a `DPoP` proof carrying `ath`, whose key is the
//! token's `cnf.jkt` (RFC 9449 §7.1), with the error responses of RFC 6750 §3 and
//! RFC 9449 §7.1: 401 and `WWW-Authenticate: DPoP error="invalid_token"` (or
//! `"invalid_dpop_proof"`) when the token or proof is missing or bad, 403
//! `insufficient_scope` when a good token does not grant this resource.
//!
//! Only DPoP tokens are accepted, never Bearer ones, as HelseID's DPoP APIs do (reference
//! §3.5 point 1: "either DPoP or Bearer tokens, never both"). HelseID's exact
//! resource-server error texts are UNCONFIRMED (reference §3.5, last paragraph).

use axum::http::{HeaderMap, Method, StatusCode, header};
use protocol::access_token::{
    AuthorizationError, Credentials, Scheme, has_scope, parse_authorization, single_audience,
};
use protocol::oauth::ErrorCode;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::Sts;
use crate::access_token::{self, TokenError};
use crate::client_auth::internal;
use crate::dpop;
use crate::error::OAuthError;

/// The scheme this module challenges with and accepts.
pub const SCHEME: &str = "DPoP";

/// What a resource demands of the token.
#[derive(Debug, Clone, Copy)]
pub struct Protected<'a> {
    /// The token's one `aud` (HelseID tokens have exactly one, reference §4.4); empty for
    /// "any audience" (userinfo).
    pub audience: &'a str,
    /// A scope the token must carry.
    pub scope: &'a str,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's `client_id`: the client the request acts as.
    pub client_id: String,
    /// The key the token is bound to (`cnf.jkt`), which signed the request's proof.
    pub jkt: String,
    pub claims: Map<String, Value>,
}

/// Why a token was not accepted. The proof's own failures are [`OAuthError`]s from
/// [`dpop::at_resource`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResourceError {
    #[error(
        "the request has no Authorization header; send `Authorization: DPoP <access token>` and a DPoP proof"
    )]
    MissingToken,
    #[error("the request has more than one Authorization header")]
    ManyAuthorizations,
    #[error("the Authorization header is not visible ASCII")]
    Unreadable,
    #[error("the DPoP token in the Authorization header is not in token68 syntax")]
    Malformed,
    #[error(
        "the Authorization scheme is {0:?}; this API accepts only DPoP-bound access tokens (`Authorization: DPoP <access token>`)"
    )]
    Scheme(String),
    #[error("{0}")]
    Token(TokenError),
    #[error(
        "the access token is not DPoP-bound (it has no cnf.jkt); this API accepts only DPoP tokens"
    )]
    NotBound,
    #[error("the access token has no client_id")]
    NoClientId,
    #[error("the request has no DPoP header; a DPoP token must come with a DPoP proof")]
    MissingProof,
    #[error("the access token is for audience {got}, not {expected}")]
    Audience { got: String, expected: String },
    #[error("the access token lacks the scope {0}")]
    Scope(String),
}

impl From<ResourceError> for OAuthError {
    fn from(e: ResourceError) -> OAuthError {
        let description = e.to_string();
        match e {
            ResourceError::Token(TokenError::Keys(_)) => internal(description),
            ResourceError::MissingProof => {
                OAuthError::unauthorized(SCHEME, ErrorCode::InvalidDpopProof, description)
            }
            ResourceError::Audience { .. } | ResourceError::Scope(_) => {
                OAuthError::unauthorized(SCHEME, ErrorCode::InsufficientScope, description)
                    .with_status(StatusCode::FORBIDDEN)
            }
            _ => OAuthError::unauthorized(SCHEME, ErrorCode::InvalidToken, description),
        }
    }
}

/// Authenticates a request to the resource at `path` (relative to the issuer, as routed):
/// the token first (it must be this STS's, unexpired, unrevoked and DPoP-bound), then the
/// proof for this method and URL, then what the token grants. The proof is checked before
/// the grant so that a proof is spent (replay cache) whatever the outcome.
pub fn authenticate(
    sts: &Sts,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    protected: &Protected<'_>,
) -> Result<Caller, OAuthError> {
    let token = dpop_token(headers)?;
    let claims = access_token::verify(sts, token).map_err(ResourceError::Token)?;
    let jkt = claims
        .get("cnf")
        .and_then(|c| c.get("jkt"))
        .and_then(Value::as_str)
        .ok_or(ResourceError::NotBound)?
        .to_owned();
    let proof = dpop::proof_header(headers)
        .map_err(|e| OAuthError::unauthorized(SCHEME, e.code, e.description))?
        .ok_or(ResourceError::MissingProof)?;
    let htu = sts.config.endpoint(path);
    dpop::at_resource(sts, proof, method.as_str(), &htu, token, &jkt)?;
    check_grant(&claims, protected)?;
    let client_id = claims
        .get("client_id")
        .and_then(Value::as_str)
        .ok_or(ResourceError::NoClientId)?
        .to_owned();
    Ok(Caller {
        client_id,
        jkt,
        claims,
    })
}

/// The token of `Authorization: DPoP <token>` (RFC 9449 §7.1). The scheme is matched
/// case-insensitively, as HTTP authentication schemes are (RFC 9110 §11.1).
pub fn dpop_token(headers: &HeaderMap) -> Result<&str, ResourceError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or(ResourceError::MissingToken)?;
    if values.next().is_some() {
        return Err(ResourceError::ManyAuthorizations);
    }
    let value = value.to_str().map_err(|_| ResourceError::Unreadable)?;
    match parse_authorization(value) {
        Ok(Credentials {
            scheme: Scheme::DPoP,
            token,
        }) => Ok(token),
        Ok(Credentials { scheme, .. }) => Err(ResourceError::Scheme(scheme.as_str().to_owned())),
        Err(AuthorizationError::UnsupportedScheme(scheme)) => Err(ResourceError::Scheme(scheme)),
        Err(AuthorizationError::MissingToken(Scheme::DPoP)) => Err(ResourceError::MissingToken),
        Err(AuthorizationError::MalformedToken(Scheme::DPoP)) => Err(ResourceError::Malformed),
        Err(
            AuthorizationError::MissingToken(scheme) | AuthorizationError::MalformedToken(scheme),
        ) => Err(ResourceError::Scheme(scheme.as_str().to_owned())),
    }
}

/// Checks that the token is for this resource: exactly one audience, this one (reference
/// §3.5 point 2), and the required scope. `scope` is read as the JSON array the STS writes
/// or as an RFC 8693 space-separated string.
pub fn check_grant(
    claims: &Map<String, Value>,
    protected: &Protected<'_>,
) -> Result<(), ResourceError> {
    // An empty audience accepts any of this STS's tokens (the userinfo endpoint).
    if !protected.audience.is_empty() && single_audience(claims) != Some(protected.audience) {
        return Err(ResourceError::Audience {
            got: claims.get("aud").map(Value::to_string).unwrap_or_default(),
            expected: protected.audience.to_owned(),
        });
    }
    if !has_scope(claims, protected.scope) {
        return Err(ResourceError::Scope(protected.scope.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn headers(auth: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for a in auth {
            h.append(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    #[test]
    fn reads_only_the_dpop_scheme() {
        assert_eq!(dpop_token(&headers(&["DPoP abc"])), Ok("abc"));
        assert_eq!(dpop_token(&headers(&["dpop  abc "])), Ok("abc"));
        assert_eq!(
            dpop_token(&headers(&["Bearer abc"])),
            Err(ResourceError::Scheme("Bearer".into()))
        );
        assert_eq!(dpop_token(&headers(&[])), Err(ResourceError::MissingToken));
        assert_eq!(
            dpop_token(&headers(&["DPoP"])),
            Err(ResourceError::MissingToken)
        );
        assert_eq!(
            dpop_token(&headers(&["DPoP a", "DPoP b"])),
            Err(ResourceError::ManyAuthorizations)
        );
    }

    #[test]
    fn grant_needs_the_one_audience_and_the_scope() {
        let p = Protected {
            audience: "nhn:selvbetjening",
            scope: "nhn:selvbetjening/client",
        };
        let claims = |v: Value| v.as_object().unwrap().clone();
        let ok = claims(json!({"aud": "nhn:selvbetjening", "scope": ["nhn:selvbetjening/client"]}));
        assert_eq!(check_grant(&ok, &p), Ok(()));
        let string_scope =
            claims(json!({"aud": ["nhn:selvbetjening"], "scope": "a nhn:selvbetjening/client"}));
        assert_eq!(check_grant(&string_scope, &p), Ok(()));
        let two = claims(
            json!({"aud": ["nhn:selvbetjening", "x"], "scope": ["nhn:selvbetjening/client"]}),
        );
        assert!(matches!(
            check_grant(&two, &p),
            Err(ResourceError::Audience { .. })
        ));
        let other =
            claims(json!({"aud": "nhn:testbed-api", "scope": ["nhn:selvbetjening/client"]}));
        assert!(matches!(
            check_grant(&other, &p),
            Err(ResourceError::Audience { .. })
        ));
        let no_scope = claims(json!({"aud": "nhn:selvbetjening", "scope": []}));
        assert_eq!(
            check_grant(&no_scope, &p),
            Err(ResourceError::Scope("nhn:selvbetjening/client".into()))
        );
    }

    #[test]
    fn errors_map_to_rfc_6750_statuses() {
        let e: OAuthError = ResourceError::Scheme("Bearer".into()).into();
        assert_eq!(
            (e.status, e.code, e.challenge),
            (
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidToken,
                Some(SCHEME)
            )
        );
        let e: OAuthError = ResourceError::Scope("s".into()).into();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::FORBIDDEN, ErrorCode::InsufficientScope)
        );
        let e: OAuthError = ResourceError::MissingProof.into();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::UNAUTHORIZED, ErrorCode::InvalidDpopProof)
        );
    }
}
