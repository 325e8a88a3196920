//! Token exchange (RFC 8693, reference §4.7): an API that received a user's access token (the
//! subject token) calls another API on the user's behalf. The API acts as a client (the
//! actor), authenticates as usual, presents the subject token and asks for the other API's
//! scopes; the new token carries the user's claims, the original client in
//! `helseid://claims/client/original_client_id` and the chain of actors in `act`.
//!
//! Error descriptions follow HelseID's (legacy) token-exchange profile.

use protocol::claims;
use protocol::oauth::ErrorCode;
use serde_json::{Map, Value, json};

use crate::Sts;
use crate::access_token;
use crate::client_auth::internal;
use crate::error::OAuthError;
use crate::store::Client;

pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const CLAIM_ORIGINAL_CLIENT: &str = "helseid://claims/client/original_client_id";
/// How deep the `act` chain may grow.
pub const MAX_EXCHANGES: usize = 3;

/// Exchanges `subject_token` for a token for the API of `scope`.
pub fn exchange(
    sts: &Sts,
    actor: &Client,
    subject_token: &str,
    subject_token_type: &str,
    scope: Option<&str>,
    jkt: Option<&str>,
) -> Result<Value, OAuthError> {
    if subject_token_type != ACCESS_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(format!(
            "subject_token_type {subject_token_type:?} is not supported; use {ACCESS_TOKEN_TYPE}"
        )));
    }
    let subject = access_token::verify(sts, subject_token)
        .map_err(|e| OAuthError::invalid_request(format!("invalid subject_token - {e}")))?;
    let subject_aud = subject
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let apis = sts.store.apis().map_err(internal)?;
    let owns = apis
        .iter()
        .any(|a| a.audience == subject_aud && a.token_exchange_clients.contains(&actor.client_id));
    if !owns {
        return Err(OAuthError::invalid_request(format!(
            "no audience matching configuration owner of client_id {} was found in subject token",
            actor.client_id
        )));
    }
    let depth = act_depth(subject.get("act"));
    if depth >= MAX_EXCHANGES {
        return Err(OAuthError::invalid_request(format!(
            "subject_token exchanged too many times ({MAX_EXCHANGES})"
        )));
    }
    let scopes: Vec<String> = scope
        .ok_or_else(|| OAuthError::invalid_request("parameter scope is missing"))?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let audiences: Vec<&str> = scopes
        .iter()
        .filter_map(|s| claims::resource_of(s))
        .collect();
    let audience = audiences.first().copied().unwrap_or_default();
    let one_api = !audience.is_empty()
        && audiences.len() == scopes.len()
        && audiences.iter().all(|a| *a == audience)
        && apis
            .iter()
            .any(|a| a.audience == audience && scopes.iter().all(|s| a.scopes.contains(s)));
    if !one_api {
        return Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "invalid scopes requested",
        ));
    }
    if let Some(s) = scopes.iter().find(|s| !actor.scopes.contains(s)) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!(
                "not permitted: client {} may not have scope {s:?}",
                actor.client_id
            ),
        ));
    }

    let now = sts.now();
    let mut c: Map<String, Value> = subject
        .iter()
        .filter(|(k, _)| {
            k.starts_with("helseid://")
                || k.starts_with("nhn:")
                || matches!(
                    k.as_str(),
                    "sub"
                        | "idp"
                        | "amr"
                        | "auth_time"
                        | "sid"
                        | "name"
                        | "given_name"
                        | "family_name"
                        | "middle_name"
                )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let original = subject
        .get(CLAIM_ORIGINAL_CLIENT)
        .or_else(|| subject.get("client_id"))
        .cloned()
        .unwrap_or(Value::Null);
    let lifetime = sts.config.access_token_lifetime;
    let jti = protocol::jose::random_id();
    c.insert("iss".into(), json!(sts.config.issuer));
    c.insert("nbf".into(), json!(now));
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + lifetime));
    c.insert("aud".into(), json!(audience));
    c.insert("scope".into(), json!(scopes));
    c.insert("client_id".into(), json!(actor.client_id));
    c.insert("jti".into(), json!(jti));
    c.insert(CLAIM_ORIGINAL_CLIENT.into(), original);
    let mut act = json!({
        "iss": sts.config.issuer,
        "client_id": actor.client_id,
        claims::ORGNR_PARENT: actor.tenancy.owner(),
    });
    if let Some(older) = subject.get("act") {
        act["act"] = older.clone();
    }
    c.insert("act".into(), act);
    if let Some(k) = jkt {
        c.insert("cnf".into(), json!({ "jkt": k }));
    }
    let token = access_token::sign(sts, "at+jwt", &Value::Object(c)).map_err(internal)?;
    sts.audit(
        now,
        "token_exchanged",
        Some(&actor.client_id),
        &json!({"jti": jti, "aud": audience, "depth": depth + 1}),
    )
    .map_err(internal)?;
    Ok(json!({
        "access_token": token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": lifetime,
        "scope": scopes.join(" "),
    }))
}

fn act_depth(act: Option<&Value>) -> usize {
    let mut depth = 0;
    let mut current = act;
    while let Some(a) = current {
        depth += 1;
        current = a.get("act");
    }
    depth
}
