//! The ID token (OIDC Core §2, §3.1.3.6) and the access token beside it.
//!
//! Claims: `iss`, `aud` (the client id), `sub`, `iat`, `exp`, `auth_time`, `nonce` (when the
//! request had one), `acr` and `amr` of the login method, the person's identifier in `pid`
//! (ID-porten's claim name) and the level again as `security_level` ("3"/"4"), so the STS need
//! not map `acr` strings. Signed RS256 with the IdP's key; `typ` `JWT`.

use std::collections::BTreeSet;

use aws_lc_rs::hmac;
use protocol::jose::b64_encode;
use protocol::signing::{KeyError, SigningKey};
use serde_json::{Map, Value, json};

use crate::descriptor::LoginMethod;
use crate::flaws::IdpFlaw;

/// Lifetime of ID tokens and access tokens.
pub const TOKEN_LIFETIME: i64 = 300;

/// `sub`: base64url(HMAC-SHA256(per-IdP key, pid)). Stable for a person at one IdP, different
/// between IdPs, and the pid cannot be read from it.
pub fn subject(key: &hmac::Key, pid: &str) -> String {
    b64_encode(hmac::sign(key, pid.as_bytes()).as_ref())
}

/// What an ID token says.
#[derive(Debug)]
pub struct IdTokenFacts<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub subject: &'a str,
    pub pid: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub now: i64,
    pub method: &'a LoginMethod,
}

pub fn claims(f: &IdTokenFacts<'_>) -> Value {
    let mut claims = json!({
        "iss": f.issuer,
        "aud": f.audience,
        "sub": f.subject,
        "iat": f.now,
        "exp": f.now + TOKEN_LIFETIME,
        "auth_time": f.auth_time,
        "acr": f.method.acr,
        "amr": f.method.amr,
        "pid": f.pid,
        "security_level": f.method.level.as_claim(),
    });
    if let (Some(nonce), Some(map)) = (f.nonce, claims.as_object_mut()) {
        map.insert("nonce".into(), json!(nonce));
    }
    claims
}

pub fn sign(key: &SigningKey, claims: &Value) -> Result<String, KeyError> {
    let mut header = Map::new();
    header.insert("typ".into(), json!("JWT"));
    key.sign_jwt(header, claims)
}

/// An unsigned JWT (`alg` `none`, empty signature; [`IdpFlaw::Unsigned`]).
pub fn unsigned(claims: &Value) -> String {
    let header = json!({ "alg": "none", "typ": "JWT" });
    format!(
        "{}.{}.",
        b64_encode(header.to_string().as_bytes()),
        b64_encode(claims.to_string().as_bytes())
    )
}

/// Breaks the claims in the ways `flaws` say (test only, [`crate::flaws`]).
pub fn apply_flaws(
    claims: &mut Value,
    flaws: &BTreeSet<IdpFlaw>,
    population: &synthpop::Population,
    now: i64,
) {
    let Some(map) = claims.as_object_mut() else {
        return;
    };
    for flaw in flaws {
        match flaw {
            IdpFlaw::WrongIssuer => {
                map.insert("iss".into(), json!("https://another-idp.example.invalid"));
            }
            IdpFlaw::WrongAudience => {
                map.insert("aud".into(), json!("another-relying-party"));
            }
            IdpFlaw::NoNonce => {
                map.remove("nonce");
            }
            IdpFlaw::NoSub => {
                map.remove("sub");
            }
            IdpFlaw::Expired => {
                map.insert("iat".into(), json!(now - 600));
                map.insert("exp".into(), json!(now - 300));
            }
            IdpFlaw::LongLived => {
                map.insert("exp".into(), json!(now + 24 * 3600));
            }
            IdpFlaw::InvalidPid => {
                if let Some(pid) = map.get("pid").and_then(Value::as_str) {
                    map.insert("pid".into(), json!(with_wrong_check_digit(pid)));
                }
            }
            IdpFlaw::OtherPersonsPid => {
                let own = map.get("pid").and_then(Value::as_str).map(str::to_owned);
                if let Some(other) = population
                    .persons()
                    .map(|p| p.pid.as_str().to_owned())
                    .find(|p| Some(p) != own.as_ref())
                {
                    map.insert("pid".into(), json!(other));
                }
            }
            IdpFlaw::NoAmr => {
                map.remove("amr");
            }
            IdpFlaw::NoLevel => {
                map.remove("security_level");
                map.remove("acr");
            }
            IdpFlaw::WrongLevel => {
                let other = match map.get("security_level").and_then(Value::as_str) {
                    Some("4") => "3",
                    _ => "4",
                };
                map.insert("security_level".into(), json!(other));
            }
            _ => {}
        }
    }
}

/// `pid` with its last check digit changed, so it no longer validates.
fn with_wrong_check_digit(pid: &str) -> String {
    let mut chars: Vec<char> = pid.chars().collect();
    if let Some(last) = chars.last_mut()
        && let Some(d) = last.to_digit(10)
    {
        *last = char::from_digit((d + 1) % 10, 10).unwrap_or('0');
    }
    chars.into_iter().collect()
}
