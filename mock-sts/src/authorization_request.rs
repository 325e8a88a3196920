//! The authorization request of a login (OIDC Core §3.1.2.1 with HelseID's profile, reference
//! §4.1, §4.2, §4.5, §4.8): `response_type=code` only, PKCE with S256 only, an exactly
//! registered `redirect_uri`, scopes the client may have, API `resource`s, `acr_values`,
//! `prompt`, `max_age`, HelseID's `test_pid`/`test_security_level`/`on_behalf_of`, and a
//! request object (JAR, RFC 9101) signed with the client's key carrying `authorization_details`.
//!
//! [`validate`] turns the parameters into an [`AuthorizationRequest`] or an OAuth error; the
//! PAR endpoint stores the result for `/connect/authorize`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use protocol::assertion_details;
use protocol::client_assertion::RegisteredKey;
use protocol::jose::parse_compact;
use protocol::oauth::ErrorCode;

use crate::error::OAuthError;
use crate::identity;
use crate::store::{Api, Client};

/// Longest accepted lifetime of a request object (reference §4.5: "Max life of JWT is 60 seconds").
pub const REQUEST_OBJECT_MAX_LIFETIME: i64 = 60;
const SKEW: i64 = 5;

/// A validated login request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// APIs the client will want tokens for, in order.
    pub resources: Vec<String>,
    /// Required security level from `acr_values` (`Level3`, `Level4`, `High`, `Substantial`).
    pub min_level: Option<u8>,
    /// IdP preselected with `acr_values=idp:<scheme>`.
    pub idp: Option<String>,
    pub prompt: Option<Prompt>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub test_pid: Option<String>,
    pub test_security_level: Option<u8>,
    pub on_behalf_of: Option<String>,
    /// `authorization_details` of a request object (organisation, Tillitsrammeverk), raw.
    pub authorization_details: Option<Value>,
    /// `dpop_jkt`: the key the code will be bound to (RFC 9449 §10).
    pub dpop_jkt: Option<String>,
    pub ui_locales: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    None,
    Login,
}

/// Reads parameters either from the form or, when present, from the verified request object.
struct Params<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    object: Option<Map<String, Value>>,
}

impl Params<'_> {
    fn get(&self, name: &str) -> Option<String> {
        if let Some(obj) = &self.object
            && let Some(v) = obj.get(name)
        {
            return match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
        }
        (self.get)(name)
    }
}

/// Validates a login request for `client`. `get` reads a form parameter; `resources` are the
/// (repeatable) `resource` parameters.
pub fn validate(
    client: &Client,
    get: &dyn Fn(&str) -> Option<String>,
    resources: &[String],
    apis: &[Api],
    issuer: &str,
    now: i64,
) -> Result<AuthorizationRequest, OAuthError> {
    if client.redirect_uris.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!(
                "client {} has no redirect URIs, so it cannot log users in",
                client.client_id
            ),
        ));
    }
    let object = match get("request") {
        Some(jwt) => Some(request_object(client, &jwt, issuer, now)?),
        None => None,
    };
    let p = Params { get, object };

    match p.get("response_type").as_deref() {
        Some("code") => {}
        Some(other) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                format!(
                    "response_type {other:?} is not allowed; HelseID accepts only code (implicit and hybrid flows are not allowed)"
                ),
            ));
        }
        None => {
            return Err(OAuthError::invalid_request(
                "parameter response_type is missing",
            ));
        }
    }
    let redirect_uri = p
        .get("redirect_uri")
        .ok_or_else(|| OAuthError::invalid_request("parameter redirect_uri is missing"))?;
    if !client.redirect_uris.contains(&redirect_uri) {
        return Err(OAuthError::invalid_request(format!(
            "redirect_uri {redirect_uri:?} is not registered for client {} (registered: {})",
            client.client_id,
            client.redirect_uris.join(", ")
        )));
    }
    let code_challenge = p.get("code_challenge").ok_or_else(|| {
        OAuthError::invalid_request("parameter code_challenge is missing; HelseID requires PKCE")
    })?;
    match p.get("code_challenge_method").as_deref() {
        Some("S256") => {}
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "code_challenge_method {other:?} is not allowed; use S256"
            )));
        }
        None => {
            return Err(OAuthError::invalid_request(
                "parameter code_challenge_method is missing; use S256 (plain is not allowed)",
            ));
        }
    }
    if !protocol::pkce::valid_challenge(&code_challenge) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)",
        ));
    }
    let scopes: Vec<String> = p
        .get("scope")
        .ok_or_else(|| OAuthError::invalid_request("parameter scope is missing"))?
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == identity::SCOPE_OPENID) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "scope must include openid for a login",
        ));
    }
    for s in &scopes {
        if identity::is_user_scope(s) {
            continue;
        }
        if !apis.iter().any(|a| a.scopes.contains(s)) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("scope {s:?} is not a scope of any API in this environment"),
            ));
        }
        if !client.scopes.contains(s) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!("client {} is not allowed scope {s:?}", client.client_id),
            ));
        }
    }
    let mut resources: Vec<String> = resources.to_vec();
    if let Some(obj) = &p.object
        && let Some(r) = obj.get("resource")
    {
        resources = match r {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => resources,
        };
    }
    for r in &resources {
        if !apis.iter().any(|a| &a.audience == r) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!("resource {r:?} is not an API in this environment"),
            ));
        }
        if !scopes
            .iter()
            .any(|s| protocol::claims::resource_of(s) == Some(r.as_str()))
        {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!("resource {r:?} was requested but none of its scopes"),
            ));
        }
    }
    let (min_level, idp) = acr_values(p.get("acr_values").as_deref())?;
    let prompt = match p.get("prompt").as_deref() {
        None => None,
        Some("none") => Some(Prompt::None),
        Some("login") => Some(Prompt::Login),
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "prompt {other:?} is not supported; use none or login"
            )));
        }
    };
    let max_age = match p.get("max_age") {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            OAuthError::invalid_request(format!("max_age {v:?} is not a number of seconds"))
        })?),
    };
    let test_security_level = match p.get("test_security_level") {
        None => None,
        Some(v) => Some(match v.as_str() {
            "3" => 3,
            "4" => 4,
            _ => {
                return Err(OAuthError::invalid_request(format!(
                    "test_security_level {v:?} must be 3 or 4"
                )));
            }
        }),
    };
    let test_pid = p.get("test_pid");
    if let Some(pid) = &test_pid
        && let Err(e) = synthpop::nin::validate(pid)
    {
        return Err(OAuthError::invalid_request(format!(
            "test_pid {pid:?} is not a valid identity number: {e}"
        )));
    }
    let on_behalf_of = p.get("on_behalf_of");
    if let Some(org) = &on_behalf_of {
        assertion_details::org_number(org)
            .map_err(|e| OAuthError::invalid_request(format!("on_behalf_of: {e}")))?;
    }
    let authorization_details = p
        .object
        .as_ref()
        .and_then(|o| o.get("authorization_details").cloned());
    if let Some(d) = &authorization_details {
        // Parsed now so a malformed structure fails the request, not the later token call.
        let details = assertion_details::parse(d).map_err(|e| {
            OAuthError::new(
                ErrorCode::InvalidRequestObject,
                format!("authorization_details: {e}"),
            )
        })?;
        // A Tillitsrammeverk attestation is checked in full here too (RFC 9396 §5: details
        // that do not conform to their type are refused with invalid_authorization_details),
        // so a bad code is reported at PAR, naming the element, and not after the login.
        for detail in &details {
            if let assertion_details::Detail::Tillitsrammeverk(raw) = detail {
                protocol::tillitsrammeverk::validate(raw).map_err(|e| {
                    OAuthError::new(
                        ErrorCode::InvalidAuthorizationDetails,
                        format!("authorization_details: {e}"),
                    )
                })?;
            }
        }
    }
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        scopes,
        state: p.get("state"),
        nonce: p.get("nonce"),
        code_challenge,
        resources,
        min_level,
        idp,
        prompt,
        max_age,
        login_hint: p.get("login_hint"),
        test_pid,
        test_security_level,
        on_behalf_of,
        authorization_details,
        dpop_jkt: p.get("dpop_jkt"),
        ui_locales: p.get("ui_locales"),
    })
}

/// `acr_values`: levels (`Level3`, `Level4`, `Substantial`, `High`) and `idp:<scheme>`.
/// Other values (ID-porten's `amr:` preselectors, Buypass's `bp:amr:sc`) are passed over.
fn acr_values(v: Option<&str>) -> Result<(Option<u8>, Option<String>), OAuthError> {
    let mut level = None;
    let mut idp = None;
    for value in v.unwrap_or_default().split_whitespace() {
        match value {
            "Level4" | "High" | "high" => level = Some(4),
            "Level3" | "Substantial" | "substantial" => level = level.or(Some(3)),
            other => {
                if let Some(scheme) = other.strip_prefix("idp:") {
                    idp = Some(scheme.to_owned());
                }
            }
        }
    }
    Ok((level, idp))
}

/// Verifies a request object: signed by one of the client's keys, `iss` the client,
/// `aud` the issuer, at most 60 s of life.
fn request_object(
    client: &Client,
    jwt: &str,
    issuer: &str,
    now: i64,
) -> Result<Map<String, Value>, OAuthError> {
    let bad = |m: String| OAuthError::new(ErrorCode::InvalidRequestObject, m);
    let jws = parse_compact(jwt).map_err(|e| bad(format!("request object {e}")))?;
    let keys: Vec<RegisteredKey> = crate::client_auth::registered_keys(client);
    let kid = jws.header_str("kid");
    let verified = keys
        .iter()
        .filter(|k| kid.is_none() || k.jwk.kid.as_deref() == kid)
        .filter(|k| k.expires_at.is_none_or(|at| at > now))
        .any(|k| jws.verify(&k.jwk).is_ok());
    if !verified {
        jws.alg().map_err(|e| bad(format!("request object {e}")))?;
        return Err(bad(
            "the request object's signature does not verify with any key of the client".into(),
        ));
    }
    let claims = &jws.claims;
    if jws.claim_str("iss") != Some(client.client_id.as_str()) {
        return Err(bad("the request object's iss must be the client_id".into()));
    }
    if let Some(cid) = jws.claim_str("client_id")
        && cid != client.client_id
    {
        return Err(bad(
            "the request object's client_id is another client".into()
        ));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a.trim_end_matches('/') == issuer,
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .any(|a| a.trim_end_matches('/') == issuer),
        _ => false,
    };
    if !aud_ok {
        return Err(bad(format!(
            "the request object's aud must be the issuer {issuer}"
        )));
    }
    let exp = match jws.claim_time("exp") {
        Some(Ok(t)) => t,
        _ => return Err(bad("the request object lacks exp".into())),
    };
    if exp <= now - SKEW {
        return Err(bad(format!(
            "the request object expired at {exp} (now {now})"
        )));
    }
    if exp - now > REQUEST_OBJECT_MAX_LIFETIME + SKEW {
        return Err(bad(format!(
            "the request object's exp is {} s ahead; at most {REQUEST_OBJECT_MAX_LIFETIME} s are allowed",
            exp - now
        )));
    }
    if let Some(Ok(nbf)) = jws.claim_time("nbf")
        && nbf > now + SKEW
    {
        return Err(bad(format!("the request object is not valid before {nbf}")));
    }
    Ok(jws.claims.clone())
}
