//! The ID token (OIDC Core §2, §3.1.3.6) and the access token beside it.
//!
//! Claims: `iss`, `aud` (the client id), `sub`, `iat`, `exp`, `auth_time`, `nonce` (when the
//! request had one), `acr` and `amr` of the login method, the person's identifier in `pid`
//! (ID-porten's claim name) and the level again as `security_level` ("3"/"4"), so the STS need
//! not map `acr` strings. Signed RS256 with the IdP's key; `typ` `JWT`.

use aws_lc_rs::hmac;
use protocol::jose::b64_encode;
use protocol::signing::{KeyError, SigningKey};
use serde_json::{Map, Value, json};

use crate::descriptor::LoginMethod;

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
