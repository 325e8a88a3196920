//! HelseID's Test Token Service (reference §8, "TTT"), under `/ttt`:
//! `POST /ttt/v2/create-test-token-with-key`, the testbed's stand-in for
//! `https://helseid-ttt.test.nhn.no/v2/create-test-token-with-key`.
//!
//! The request and response are the real service's wire model ([`protocol::ttt`]): the caller
//! authenticates with the `X-Auth-Key` header (here the STS's `api_key`), describes the token it
//! wants in a `TokenRequest` body and gets `{isError, successResponse: {accessTokenJwt,
//! dPoPProof}, errorResponse: {errorMessage}}` back. Like the real service, the token is signed
//! with the same key as the STS's "real" tokens, so an API that trusts this STS's JWKS accepts
//! it. Its header `typ` is `at+jwt` (as the STS's own tokens) unless `headerParameters.typ`
//! says `jwt`. What goes into the token, and the defaults, are described in the `claims`
//! submodule; the DPoP proof and its defects in the `proof` submodule.
//!
//! Where the testbed differs from the real service, on purpose:
//! * `iss` is always this STS's issuer, whatever `issuerEnvironment` asks for: a token naming
//!   `https://helseid-sts.test.nhn.no` would not verify against this STS's keys anyway, and
//!   APIs under test are configured with the testbed's issuer. (`setInvalidIssuer` still gives
//!   a wrong issuer.)
//! * Persontjenesten and the HPR register are the testbed's synthetic population (the seed
//!   recorded in the store), so look-ups only find synthetic persons.
//! * What the real service would ignore but the testbed cannot honour, or what contradicts
//!   itself (a name together with `getPersonFromPersontjenesten`, `cnfJkt` together with a
//!   generated DPoP proof, a defect without a proof, a DPoP key of an unsupported type), is
//!   refused with 400 and an `errorMessage` naming the field, never ignored.
//!
//! Errors are answered with the `TttResponse` error body: 401 for a missing or wrong key, 400
//! for a request that cannot be served (the real status codes are UNCONFIRMED), 500 for a
//! failure of the STS itself. Every issued token is written to the audit log
//! (`ttt_token_issued`).

mod claims;
mod proof;
mod tillitsrammeverk;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use protocol::jose::{self, Alg, constant_time_eq};
use protocol::signing::SigningKey;
use protocol::ttt::{
    AUTH_KEY_HEADER, InvalidDPoPProofParameters, IssuerEnvironment, TttRequestError, TttResponse,
    TttTokenRequest, TypHeader,
};
use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::Sts;
use crate::access_token;
use crate::keys::KEY_BITS;
use crate::token::no_store;

pub use claims::{
    DEFAULT_ACTOR_CLIENT_ID, DEFAULT_CLIENT_ID, EXPIRED_SINCE_SECS, INVALID_AUDIENCE,
    INVALID_ISSUER,
};
pub use proof::IAT_OFFSET_SECS;

/// Path of the service, relative to the issuer (the real one is `/v2/...` on its own host).
pub const PATH: &str = "/ttt/v2/create-test-token-with-key";

/// The routes of this service, relative to the issuer.
pub fn routes() -> Router<Arc<Sts>> {
    Router::new().route(PATH, post(create_test_token_with_key))
}

/// Why no token was made. Each variant's message is the `errorMessage` of the response.
#[derive(Debug, Error)]
pub enum TttError {
    #[error("the {AUTH_KEY_HEADER} header is missing; send the testbed's API key in it")]
    MissingKey,
    #[error("the {AUTH_KEY_HEADER} header does not hold this testbed's API key")]
    WrongKey,
    #[error("the request body is not UTF-8")]
    NotUtf8,
    #[error(transparent)]
    Request(#[from] TttRequestError),
    #[error("{first} and {second} cannot both be given: {why}")]
    Conflict {
        first: &'static str,
        second: &'static str,
        why: &'static str,
    },
    #[error("{option} needs {needed}")]
    Requires {
        option: &'static str,
        needed: &'static str,
    },
    #[error(
        "expirationParameters.{field} is {value}; a lifetime must be positive (ask for an expired token with setExpirationTimeAsExpired)"
    )]
    Lifetime { field: &'static str, value: i32 },
    #[error(
        "dPoPProofParameters.htmClaimValue {0:?} is not an HTTP method (RFC 9110 §9: GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, or PATCH; methods are case-sensitive)"
    )]
    Htm(String),
    #[error("dPoPProofParameters.htuClaimValue {value:?} {problem}")]
    Htu {
        value: String,
        problem: &'static str,
    },
    #[error("dPoPProofParameters.privateKeyForProofCreation {0}")]
    ProofKey(String),
    #[error(
        "dPoPProofParameters.privateKeyForProofCreation has kty {0:?}; the testbed signs DPoP proofs with RSA and EC keys only"
    )]
    UnsupportedProofKey(String),
    #[error(
        "dPoPProofParameters.invalidDPoPProofParameters is {0}, but no proof is made: set createDPoPTokenWithDPoPProof"
    )]
    DefectWithoutProof(&'static str),
    #[error("clientClaimsParameters.cnfPublicKey {0}")]
    CnfPublicKey(String),
    #[error(
        "pid {pid:?} is not a person of the testbed's synthetic population (seed {seed}, {size} persons): the testbed has no Persontjenesten; GET /testbed/environment lists test persons"
    )]
    UnknownPerson { pid: String, seed: u64, size: u64 },
    #[error(
        "pid {0:?} is not health personnel in the testbed's synthetic HPR register; GET /testbed/environment lists persons with an HPR number"
    )]
    NotPractitioner(String),
    #[error(
        "apiSpecificClaims type {0:?} is a claim the service sets itself; use the request's own parameters for it"
    )]
    ReservedClaim(String),
    #[error("the testbed failed: {0}")]
    Internal(String),
}

impl TttError {
    pub fn status(&self) -> StatusCode {
        match self {
            TttError::MissingKey | TttError::WrongKey => StatusCode::UNAUTHORIZED,
            TttError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for TttError {
    fn into_response(self) -> Response {
        if let TttError::Internal(detail) = &self {
            tracing::error!(%detail, "test token service");
        }
        no_store((self.status(), Json(TttResponse::error(self.to_string()))).into_response())
    }
}

fn internal(e: impl std::fmt::Display) -> TttError {
    TttError::Internal(e.to_string())
}

/// A token the service made.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    /// The DPoP proof, when one was asked for.
    pub dpop_proof: Option<String>,
}

pub async fn create_test_token_with_key(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let issued = authenticate(&sts, &headers)
        .and_then(|()| parse(&body))
        .and_then(|request| issue(&sts, &request));
    match issued {
        Ok(t) => no_store(Json(TttResponse::success(t.access_token, t.dpop_proof)).into_response()),
        Err(e) => e.into_response(),
    }
}

/// Checks `X-Auth-Key` against the configured API key, in constant time.
pub fn authenticate(sts: &Sts, headers: &HeaderMap) -> Result<(), TttError> {
    let key = headers
        .get(AUTH_KEY_HEADER)
        .ok_or(TttError::MissingKey)?
        .as_bytes();
    if constant_time_eq(key, sts.config.api_key.as_bytes()) {
        Ok(())
    } else {
        Err(TttError::WrongKey)
    }
}

/// Reads the body as the real service does (any casing of the property names, enums as
/// numbers or names), refusing unknown top-level fields.
pub fn parse(body: &[u8]) -> Result<TttTokenRequest, TttError> {
    let text = std::str::from_utf8(body).map_err(|_| TttError::NotUtf8)?;
    Ok(TttTokenRequest::from_json(text)?)
}

/// Makes the token (and proof) `request` describes, signs it and records it in the audit log.
pub fn issue(sts: &Sts, request: &TttTokenRequest) -> Result<Issued, TttError> {
    let now = sts.now();
    let dpop = if request.create_dpop_token_with_dpop_proof == Some(true) {
        Some(proof::plan(request.dpop_proof_parameters.as_ref())?)
    } else {
        if let Some(defect) = request
            .dpop_proof_parameters
            .as_ref()
            .and_then(|p| p.invalid_dpop_proof_parameters)
            .filter(|d| *d != InvalidDPoPProofParameters::None)
        {
            return Err(TttError::DefectWithoutProof(defect.wire_name()));
        }
        None
    };
    let claims = claims::build(sts, request, dpop.as_ref().map(|d| d.token_jkt()), now)?;
    let typ = request
        .header_parameters
        .as_ref()
        .and_then(|h| h.typ)
        .unwrap_or(TypHeader::AtJwt);
    let invalid_key = request.sign_jwt_with_invalid_signing_key == Some(true);
    let access_token = if invalid_key {
        sign_with_foreign_key(typ, &claims)?
    } else {
        access_token::sign(sts, typ.as_str(), &Value::Object(claims.clone())).map_err(internal)?
    };
    let dpop_proof = match &dpop {
        Some(plan) => Some(plan.proof(&access_token, now)?),
        None => None,
    };
    let client_id = claims.get("client_id").and_then(Value::as_str);
    sts.audit(
        now,
        "ttt_token_issued",
        client_id,
        &json!({
            "jti": claims.get("jti"),
            "iss": claims.get("iss"),
            "aud": claims.get("aud"),
            "exp": claims.get("exp"),
            "typ": typ.as_str(),
            "issuer_environment": request
                .issuer_environment
                .unwrap_or(IssuerEnvironment::Test)
                .wire_name(),
            "dpop": dpop.is_some(),
            "invalid_dpop_proof": dpop.as_ref().map(|d| d.defect().wire_name()),
            "signed_with_invalid_key": invalid_key,
        }),
    )
    .map_err(internal)?;
    Ok(Issued {
        access_token,
        dpop_proof,
    })
}

/// `signJwtWithInvalidSigningKey`: a fresh RS256 key whose `kid` no JWKS publishes.
fn sign_with_foreign_key(typ: TypHeader, claims: &Map<String, Value>) -> Result<String, TttError> {
    let key =
        SigningKey::generate_rsa(KEY_BITS, Alg::RS256, jose::random_id()).map_err(internal)?;
    let mut header = Map::new();
    header.insert("typ".into(), json!(typ.as_str()));
    key.sign_jwt(header, &Value::Object(claims.clone()))
        .map_err(internal)
}
