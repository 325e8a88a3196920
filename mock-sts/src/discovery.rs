//! Discovery (OpenID Connect Discovery 1.0 §3–4) in HelseID's document shape (reference §1.2),
//! naming only what the testbed implements; the JWKS (RFC 7517 §5) and HelseID's extra
//! `expired_jwks_uri` and `available_idps` documents. The paths are [`protocol::endpoints`], as
//! in the router.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use protocol::claims;
use protocol::endpoints;
use protocol::jose::Alg;
use serde_json::{Value, json};

use crate::Sts;
use crate::client_auth::internal;
use crate::error::OAuthError;
use crate::identity;

/// The discovery document for `sts`.
pub fn document_for(sts: &Sts) -> Value {
    let c = &sts.config;
    let algs: Vec<&str> = Alg::ALL.iter().map(|a| a.as_str()).collect();
    json!({
        "issuer": c.issuer,
        "jwks_uri": c.endpoint(endpoints::JWKS),
        "authorization_endpoint": c.endpoint(endpoints::AUTHORIZE),
        "token_endpoint": c.endpoint(endpoints::TOKEN),
        "userinfo_endpoint": c.endpoint(endpoints::USERINFO),
        "end_session_endpoint": c.endpoint(endpoints::END_SESSION),
        "revocation_endpoint": c.endpoint(endpoints::REVOCATION),
        "introspection_endpoint": c.endpoint(endpoints::INTROSPECTION),
        "pushed_authorization_request_endpoint": c.endpoint(endpoints::PAR),
        "require_pushed_authorization_requests": true,
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "claims_supported": [
            "name", "family_name", "given_name", "middle_name",
            claims::ASSURANCE_LEVEL,
            claims::PID,
            identity::CLAIM_PID_PSEUDONYM,
            claims::SECURITY_LEVEL,
            identity::CLAIM_NETWORK,
            claims::HPR_NUMBER,
            claims::CLIENT_NAME,
            claims::CLIENT_TENANCY,
            claims::ORGNR_PARENT,
            claims::ORGNR_CHILD,
            claims::ORGNR_SUPPLIER,
            claims::CLIENT_AMR,
        ],
        "scopes_supported": identity::USER_SCOPES
            .iter()
            .copied()
            .chain([crate::token::SCOPE_CLIENT_INFO])
            .collect::<Vec<_>>(),
        "grant_types_supported": [
            "authorization_code",
            "client_credentials",
            "refresh_token",
            crate::token_exchange::GRANT,
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "code_challenge_methods_supported": ["S256"],
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": algs,
        "prompt_values_supported": ["none", "login"],
        "acr_values_supported": ["Level3", "Level4"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": algs,
        "expired_jwks_uri": c.endpoint(endpoints::EXPIRED_JWKS),
        "available_idps": c.endpoint(endpoints::AVAILABLE_IDPS),
    })
}

pub async fn document(State(sts): State<Arc<Sts>>) -> Response {
    cached(Json(document_for(&sts)).into_response())
}

pub async fn jwks(State(sts): State<Arc<Sts>>) -> Result<Response, OAuthError> {
    let ring = sts.keys().map_err(internal)?;
    Ok(cached(Json(ring.jwks(sts.now())).into_response()))
}

/// Keys replaced by rotations and past their overlap (format UNCONFIRMED for HelseID; a JWKS).
pub async fn expired_jwks(State(sts): State<Arc<Sts>>) -> Result<Response, OAuthError> {
    let ring = sts.keys().map_err(internal)?;
    Ok(cached(Json(ring.expired_jwks(sts.now())).into_response()))
}

/// The identity providers users can log in with (format UNCONFIRMED for HelseID: a list of
/// their `idp` schemes, names and security levels).
pub async fn available_idps(State(sts): State<Arc<Sts>>) -> Response {
    cached(Json(json!(identity_providers(&sts))).into_response())
}

/// The bundled identity providers as `/connect/availableidps` and `/testbed/environment`
/// list them.
pub fn identity_providers(sts: &Sts) -> Vec<Value> {
    sts.federation
        .iter()
        .flat_map(|f| {
            f.upstreams.iter().map(|u| {
                json!({
                    "idp": u.scheme,
                    "also_selected_by": u.aliases,
                    "name": u.display_nb,
                    "name_en": u.display_en,
                    "security_levels": u.levels,
                    "issuer": f.public_issuer(u),
                    "test_pid_automation": u.test_automation,
                })
            })
        })
        .collect()
}

/// Duende lets clients cache metadata; a test STS whose keys rotate on command should be
/// re-read promptly, so one minute.
fn cached(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60, public"),
    );
    response
}
