//! The token endpoint for the authorization code grant (RFC 6749 §4.1.3–4.1.4, OIDC Core
//! §3.1.3), with PKCE (RFC 7636 §4.5–4.6).
//!
//! Checks, in order:
//! 1. a form body (`application/x-www-form-urlencoded`), no parameter twice (RFC 6749 §3.1);
//! 2. `grant_type=authorization_code`;
//! 3. the client authenticates with its secret (`client_secret_basic` or `_post`);
//! 4. `code` is known to this IdP and was issued to this client;
//! 5. it has not been redeemed before (§4.1.2: single use);
//! 6. it is at most 60 s old;
//! 7. `redirect_uri` equals the one in the authorization request (§4.1.3);
//! 8. `code_verifier` is well formed and hashes to the `code_challenge` (RFC 7636 §4.6).
//!
//! From step 4 on the code is spent whatever the outcome: a code presented with the wrong
//! verifier or redirect URI may have been stolen, and RFC 6749 §10.5 wants a leaked code
//! useless.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::jose::random_id;
use protocol::oauth::ErrorCode;
use protocol::pkce;
use serde::Serialize;

use crate::client_auth;
use crate::error::{TokenError, no_store};
use crate::form;
use crate::id_token::{self, IdTokenFacts, TOKEN_LIFETIME};
use crate::state::{CODE_LIFETIME, CodeState, IssuedCode};
use crate::{IdpFlaw, Shared};

/// The successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    id_token: String,
    token_type: &'static str,
    expires_in: i64,
}

/// `POST /idp/{idp}/token`.
pub async fn token(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TokenError> {
    let (index, idp) = shared
        .idp(&name)
        .ok_or_else(|| TokenError::not_found(format!("no identity provider named {name:?}")))?;

    // Step 1.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(TokenError::invalid_request(format!(
            "the body must be application/x-www-form-urlencoded, not {:?}",
            if content_type.is_empty() {
                "(none)"
            } else {
                content_type
            }
        )));
    }
    let form = form::parse(&body).map_err(TokenError::invalid_request)?;

    // Step 2.
    match form.get("grant_type") {
        Some("authorization_code") => {}
        None => return Err(TokenError::invalid_request("grant_type is missing")),
        Some(other) => {
            return Err(TokenError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type {other:?} is not supported; only authorization_code"),
            ));
        }
    }

    // Step 3.
    let client = client_auth::authenticate(
        &headers,
        &form,
        &shared.clients,
        shared.flawed(IdpFlaw::AnyClientSecret),
    )?;

    let code = form
        .get("code")
        .ok_or_else(|| TokenError::invalid_request("code is missing"))?;
    let now = shared.now();

    // Steps 4 and 5, and spending the code, under one lock.
    let issued: IssuedCode = {
        let mut codes = shared.store.codes();
        let Some((_, entry)) = codes.get_mut(code, now) else {
            return Err(TokenError::invalid_grant(
                "the code is unknown to this identity provider (never issued here, or forgotten 10 minutes after issue)",
            ));
        };
        if entry.idp != index {
            return Err(TokenError::invalid_grant(
                "the code was issued by another identity provider",
            ));
        }
        if entry.client_id != client.client_id {
            entry.state = CodeState::Redeemed;
            return Err(TokenError::invalid_grant(format!(
                "the code was issued to another client, not {:?}",
                client.client_id
            )));
        }
        if entry.state == CodeState::Redeemed && !shared.flawed(IdpFlaw::ReusableCode) {
            return Err(TokenError::invalid_grant(
                "the code has already been used; codes are single-use",
            ));
        }
        entry.state = CodeState::Redeemed;
        entry.clone()
    };

    // Step 6.
    let age = now - issued.issued_at;
    if age > CODE_LIFETIME {
        return Err(TokenError::invalid_grant(format!(
            "the code expired: it was issued {age} s ago and lives {CODE_LIFETIME} s"
        )));
    }

    // Step 7.
    match form.get("redirect_uri") {
        Some(uri) if uri == issued.redirect_uri => {}
        Some(uri) => {
            return Err(TokenError::invalid_grant(format!(
                "redirect_uri {uri:?} differs from the one in the authorization request"
            )));
        }
        None => {
            return Err(TokenError::invalid_grant(
                "redirect_uri is missing; it must repeat the one in the authorization request",
            ));
        }
    }

    // Step 8.
    match form.get("code_verifier") {
        None if shared.flawed(IdpFlaw::PkceOptional) => {}
        None => {
            return Err(TokenError::invalid_grant(
                "code_verifier is missing; the authorization request carried a PKCE challenge",
            ));
        }
        Some(verifier) => {
            if !pkce::valid_verifier(verifier) {
                return Err(TokenError::invalid_grant(
                    "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)",
                ));
            }
            if !pkce::verifies(verifier, &issued.code_challenge)
                && !shared.flawed(IdpFlaw::IgnoresPkce)
            {
                return Err(TokenError::invalid_grant(
                    "code_verifier does not match the code_challenge (S256)",
                ));
            }
        }
    }

    let Some(method) = idp.descriptor.method(issued.method) else {
        return Err(TokenError::invalid_grant(
            "the login method of this code is no longer offered",
        ));
    };
    let subject = id_token::subject(&idp.sub_key, &issued.pid);
    let mut claims = id_token::claims(&IdTokenFacts {
        issuer: &idp.issuer,
        audience: &client.client_id,
        subject: &subject,
        pid: &issued.pid,
        nonce: issued.nonce.as_deref(),
        auth_time: issued.auth_time,
        now,
        method,
    });
    id_token::apply_flaws(&mut claims, &shared.flaws, &shared.population, now);
    if shared.flawed(IdpFlaw::FirstMethodAmr)
        && let (Some(first), Some(map)) = (idp.descriptor.methods.first(), claims.as_object_mut())
    {
        map.insert("amr".into(), serde_json::json!(first.amr));
    }
    let key = if shared.flawed(IdpFlaw::UnpublishedKey) {
        &idp.unpublished_key
    } else {
        &idp.key
    };
    let signed = if shared.flawed(IdpFlaw::Unsigned) {
        Ok(id_token::unsigned(&claims))
    } else {
        key.get().and_then(|key| id_token::sign(key, &claims))
    };
    let id_token = signed.map_err(|e| TokenError {
        // Making or using the key does not fail in practice; if it ever does, it is the
        // server's fault and says so.
        status: StatusCode::INTERNAL_SERVER_ERROR,
        ..TokenError::new(
            ErrorCode::TemporarilyUnavailable,
            format!("signing failed: {e}"),
        )
    })?;
    let response = TokenResponse {
        // Opaque: the IdPs have no API to present it to.
        access_token: format!("{}{}", random_id(), random_id()),
        id_token,
        token_type: "Bearer",
        expires_in: TOKEN_LIFETIME,
    };
    Ok(no_store(Json(response).into_response()))
}
