//! `POST /connect/revocation` (RFC 7009). The caller authenticates like at the token endpoint;
//! a token it was issued is revoked (its `jti` recorded), so introspection and the STS's own
//! APIs refuse it from then on. Unknown, foreign or malformed tokens get 200 as RFC 7009 §2.2
//! and Duende prescribe, so a client learns nothing about other clients' tokens.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use protocol::oauth::ErrorCode;
use serde_json::json;

use crate::Sts;
use crate::access_token;
use crate::client_auth::{self, internal};
use crate::error::OAuthError;
use crate::form::Form;

pub async fn revoke(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, OAuthError> {
    let endpoint = sts.config.endpoint(protocol::endpoints::REVOCATION);
    let auth = client_auth::authenticate(&sts, &headers, &form, &endpoint)?;
    let token = form.require("token")?;
    if let Some(hint) = form.get("token_type_hint")
        && hint != "access_token"
        && hint != "refresh_token"
    {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedTokenType,
            format!("token_type_hint {hint:?} is not supported; use access_token or refresh_token"),
        ));
    }
    if let Ok(claims) = access_token::verify(&sts, token) {
        let owner = claims
            .get("client_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let jti = claims
            .get("jti")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or_default();
        if owner == auth.client.client_id && !jti.is_empty() {
            sts.store.revoke(jti, exp).map_err(internal)?;
            sts.audit(
                sts.now(),
                "token_revoked",
                Some(owner),
                &json!({ "jti": jti }),
            )
            .map_err(internal)?;
        }
    }
    Ok(StatusCode::OK.into_response())
}
