//! Each IdP's discovery document (OpenID Connect Discovery 1.0 §3–4, naming only what the IdP
//! implements) and its JWKS (RFC 7517 §5).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::oauth::ErrorCode;
use serde_json::{Value, json};

use crate::error::TokenError;
use crate::{Idp, IdpFlaw, Shared};

/// Claims the ID tokens carry.
pub const CLAIMS: [&str; 11] = [
    "iss",
    "aud",
    "sub",
    "iat",
    "exp",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "pid",
    "security_level",
];

pub fn document_for(idp: &Idp) -> Value {
    json!({
        "issuer": idp.issuer,
        "authorization_endpoint": idp.endpoint("/authorize"),
        "token_endpoint": idp.endpoint("/token"),
        "jwks_uri": idp.endpoint("/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid"],
        "claims_supported": CLAIMS,
        "acr_values_supported": idp.descriptor.acr_values(),
        "ui_locales_supported": ["nb", "en"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
}

fn unknown(name: &str) -> TokenError {
    TokenError::not_found(format!("no identity provider named {name:?}"))
}

pub async fn document(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> Result<Response, TokenError> {
    let (_, idp) = shared.idp(&name).ok_or_else(|| unknown(&name))?;
    let mut doc = document_for(idp);
    if let Some(map) = doc.as_object_mut() {
        if shared.flawed(IdpFlaw::DiscoveryIssuerMismatch) {
            map.insert("issuer".into(), json!(format!("{}/other", idp.issuer)));
        }
        if shared.flawed(IdpFlaw::NoPkceAdvertised) {
            map.remove("code_challenge_methods_supported");
        }
    }
    Ok(cached(Json(doc).into_response()))
}

pub async fn jwks(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> Result<Response, TokenError> {
    let (_, idp) = shared.idp(&name).ok_or_else(|| unknown(&name))?;
    let jwks = if shared.flawed(IdpFlaw::PrivateKeyInJwks) {
        idp.jwks_with_private_key()
    } else {
        idp.jwks()
    };
    let jwks = jwks.map_err(|e| TokenError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        ..TokenError::new(
            ErrorCode::TemporarilyUnavailable,
            format!("the signing key could not be made: {e}"),
        )
    })?;
    Ok(cached(Json(jwks).into_response()))
}

/// Keys change only at a restart; relying parties may cache for a minute.
fn cached(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=60, public"),
    );
    response
}
