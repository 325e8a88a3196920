//! `POST /connect/introspect` (RFC 7662), for API owners who ask the STS instead of validating
//! tokens themselves. Any registered client may introspect after authenticating with
//! `private_key_jwt` (who may call it at HelseID is UNCONFIRMED; Duende lets API resources).
//! An active token's claims are returned with `active: true`, `scope` as a space-separated
//! string (RFC 7662 §2.2) and `token_type`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Sts;
use crate::access_token;
use crate::client_auth;
use crate::error::OAuthError;
use crate::form::Form;

pub async fn introspect(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, OAuthError> {
    let endpoint = sts.config.endpoint(protocol::endpoints::INTROSPECTION);
    client_auth::authenticate(&sts, &headers, &form, &endpoint)?;
    let token = form.require("token")?;
    let body = match access_token::verify(&sts, token) {
        Ok(mut claims) => {
            if let Some(Value::Array(scopes)) = claims.get("scope") {
                let joined = scopes
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ");
                claims.insert("scope".into(), json!(joined));
            }
            let token_type = if claims.contains_key("cnf") {
                "DPoP"
            } else {
                "Bearer"
            };
            claims.insert("token_type".into(), json!(token_type));
            claims.insert("active".into(), json!(true));
            Value::Object(claims)
        }
        Err(_) => json!({ "active": false }),
    };
    Ok(crate::token::no_store(Json(body).into_response()))
}
