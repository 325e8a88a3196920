//! `/connect/userinfo` (OIDC Core §5.3): the user's claims for a DPoP access token from a
//! login, including `helseid://claims/hpr/hpr_details`, which HelseID gives only here
//! (reference §5.2; HelseID.Samples set `GetClaimsFromUserInfoEndpoint`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use protocol::oauth::ErrorCode;
use serde_json::Value;

use crate::Sts;
use crate::client_auth::internal;
use crate::error::OAuthError;
use crate::identity::{self, User};
use crate::resource::{self, Protected};

pub async fn userinfo(
    State(sts): State<Arc<Sts>>,
    method: Method,
    headers: HeaderMap,
) -> Result<Json<Value>, OAuthError> {
    let caller = resource::authenticate(
        &sts,
        &headers,
        &method,
        protocol::endpoints::USERINFO,
        &Protected {
            audience: "",
            scope: identity::SCOPE_OPENID,
        },
    )?;
    let subject = caller
        .claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidToken,
                "the access token is not about a user (no sub)",
            )
            .with_status(StatusCode::UNAUTHORIZED)
        })?;
    let user: User = sts
        .store
        .user(subject)
        .map_err(internal)?
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| {
            OAuthError::new(ErrorCode::InvalidToken, "the user of this token is unknown")
                .with_status(StatusCode::UNAUTHORIZED)
        })?;
    let scopes: Vec<String> = match caller.claims.get("scope") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let wants_hpr = scopes
        .iter()
        .any(|s| s == identity::SCOPE_HPR || s == identity::SCOPE_HPR_DETAILS);
    let details = if wants_hpr {
        sts.population()
            .ok()
            .and_then(|p| identity::hpr_details(&p, &user.pid))
    } else {
        None
    };
    let mut claims = user.claims(&scopes, None);
    if let Some(d) = details {
        claims.insert(identity::CLAIM_HPR_DETAILS.into(), d);
    }
    claims.retain(|k, _| !matches!(k.as_str(), "auth_time"));
    Ok(Json(Value::Object(claims)))
}
