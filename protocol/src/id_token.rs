//! ID token validation by a relying party: OpenID Connect Core 1.0 §3.1.3.7, one function
//! per step, with `sub` from §2 and `at_hash` from §3.1.3.8. The reference client, the STS
//! (as the relying party of the identity providers it federates to) and the conformance
//! runner's checks of identity providers judge ID tokens with these functions.
//!
//! [`validate`] runs the steps in this order, each refusal its own [`IdTokenError`] variant:
//!
//! 1. [`parse`]: a compact JWS (step 1; HelseID does not encrypt ID tokens, so a JWE is
//!    refused here);
//! 2. [`check_signature`]: an allow-listed asymmetric `alg`, never `none` or a MAC (steps 7,
//!    8), signed by the key of the issuer's JWKS that the header's `kid` names (step 6;
//!    without a `kid` only when the JWKS has one key, §10.1);
//! 3. [`check_issuer`]: `iss` is exactly the issuer (step 2);
//! 4. [`check_audience`]: `aud` contains the client id (step 3);
//! 5. [`check_authorized_party`]: with several audiences there is an `azp`, and an `azp` is
//!    the client id (steps 4, 5);
//! 6. [`check_nonce`]: `nonce` is the one sent in the authorization request (step 11);
//! 7. [`check_expiry`]: `exp` is present and not passed (step 9);
//! 8. [`check_issued_at`]: `iat` is present and not in the future (step 10);
//! 9. [`check_subject`]: `sub` is present and not empty (§2).
//!
//! The signature comes first so that nothing an unverified token says is judged or
//! repeated in an error. [`check_at_hash`] is separate: it needs the access token of the
//! same response.
//!
//! ## Leeway
//!
//! One leeway, [`LEEWAY_SECS`] = 60 s, for `exp` and `iat`. There used to be three
//! validators: the reference client and the conformance runner's IdP checks (IDP-EXP-01)
//! allowed 60 s, the STS towards its identity providers 5 s. 60 s is kept because the
//! testbed must not be stricter with an IdP in a login than its conformance runner is when
//! it tells the IdP's vendor the tokens pass; and because the tolerance costs nothing here:
//! an ID token is judged once, right after the code is redeemed, and the `nonce` already
//! ties it to that one login, so a minute of clock drift widens no replay window. It is also
//! the DPoP proof age the STS accepts ([`crate::dpop::MAX_AGE_SECS`]). See docs/fidelity.md.

use serde_json::{Map, Value};
use thiserror::Error;

use crate::jose::{Alg, JoseError, JwkError, Jws, PublicJwk, parse_compact, token_hash};

/// Clock difference tolerated when judging `exp` and `iat` (seconds).
pub const LEEWAY_SECS: i64 = 60;

/// What the relying party knows that the ID token must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The issuer the client talks to, exactly as in its discovery document.
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The `nonce` of the authorization request.
    pub nonce: &'a str,
    /// The current time (seconds since the epoch).
    pub now: i64,
}

/// Why an ID token was refused: one variant per step of OpenID Connect Core §3.1.3.7 (and
/// §2 for `sub`, §3.1.3.8 for `at_hash`). Claim values are shown as the JSON they were.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdTokenError {
    /// Step 1: not a compact JWS with JSON header and claims.
    #[error("the ID token {0}")]
    Malformed(JoseError),
    /// Steps 6 to 8: the algorithm, the key or the signature.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Step 2.
    #[error("iss is {}; it must be the issuer \"{expected}\"", shown(.got))]
    Issuer {
        got: Option<Value>,
        expected: String,
    },
    /// Step 3.
    #[error("aud is {}; it must name the client \"{client_id}\"", shown(.got))]
    Audience {
        got: Option<Value>,
        client_id: String,
    },
    /// Steps 4 and 5.
    #[error("{}", azp_text(.got, .client_id, *.audiences))]
    AuthorizedParty {
        got: Option<Value>,
        client_id: String,
        audiences: usize,
    },
    /// Step 11.
    #[error("nonce is {}; the authorization request sent \"{sent}\"", shown(.got))]
    Nonce { got: Option<Value>, sent: String },
    /// Step 9.
    #[error("{}", expiry_text(.exp, *.now))]
    Expired { exp: Option<Value>, now: i64 },
    /// Step 10.
    #[error("{}", issued_at_text(.iat, *.now))]
    IssuedAt { iat: Option<Value>, now: i64 },
    /// §2: `sub` is REQUIRED.
    #[error("sub is {}; an ID token must name its subject with a non-empty string", shown(.got))]
    Subject { got: Option<Value> },
    /// §3.1.3.8.
    #[error("at_hash is {got}; the hash of the access token is \"{expected}\"")]
    AtHash { got: Value, expected: String },
}

/// Why the signature step (§3.1.3.7 steps 6 to 8) refused the token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// No `alg`, or one outside the asymmetric allow-list (`none`, HS256, ...).
    #[error("the ID token {0}")]
    Alg(JoseError),
    #[error(
        "the ID token names no kid, and the issuer's JWKS has {0} keys; with other than one key a kid is required (OpenID Connect Core §10.1)"
    )]
    NoKid(usize),
    #[error("the ID token's kid \"{0}\" is not in the issuer's JWKS")]
    UnknownKid(String),
    /// The key is there but refused: too short, private members, unknown type, ...
    #[error("{} {error}", key_name(.kid))]
    UnusableKey {
        kid: Option<String>,
        error: JwkError,
    },
    #[error("the ID token is signed with {alg}, which {} ({kty}) cannot verify", key_name(.kid))]
    KeyAlgMismatch {
        kid: Option<String>,
        alg: Alg,
        kty: &'static str,
    },
    #[error("the ID token's {alg} signature does not verify with {}", key_name(.kid))]
    BadSignature { kid: Option<String>, alg: Alg },
}

/// The key that verified the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBy {
    pub alg: Alg,
    /// The key's `kid` (`None` for a JWKS of one key without one).
    pub kid: Option<String>,
}

fn shown(value: &Option<Value>) -> String {
    match value {
        None => "missing".into(),
        Some(v) => v.to_string(),
    }
}

fn key_name(kid: &Option<String>) -> String {
    match kid {
        Some(kid) => format!("the issuer's JWKS key \"{kid}\""),
        None => "the issuer's only JWKS key (it has no kid)".into(),
    }
}

fn azp_text(got: &Option<Value>, client_id: &str, audiences: usize) -> String {
    match got {
        None => format!(
            "aud names {audiences} audiences but there is no azp; it must be the client \"{client_id}\""
        ),
        Some(azp) => format!("azp is {azp}; it must be the client \"{client_id}\""),
    }
}

fn expiry_text(exp: &Option<Value>, now: i64) -> String {
    time_text("exp", exp, "expires", |exp| {
        format!(
            "the ID token expired at {exp}, {} s ago (now {now}, {LEEWAY_SECS} s leeway)",
            now.saturating_sub(exp)
        )
    })
}

fn issued_at_text(iat: &Option<Value>, now: i64) -> String {
    time_text("iat", iat, "was issued", |iat| {
        format!(
            "iat {iat} is {} s in the future (now {now}, {LEEWAY_SECS} s leeway)",
            iat.saturating_sub(now)
        )
    })
}

/// What is wrong with the time claim `name`: missing, not a number, or (`judged`) its value.
fn time_text(
    name: &str,
    got: &Option<Value>,
    when: &str,
    judged: impl FnOnce(i64) -> String,
) -> String {
    match got {
        None => format!("{name} is missing; an ID token must say when it {when}"),
        Some(v) => numeric_date(v)
            .map_or_else(|| format!("{name} is {v}, not a number of seconds"), judged),
    }
}

/// A NumericDate (RFC 7519 §2): a JSON number, fractions cut off. Unlike client assertions
/// ([`Jws::claim_time`] reads HelseID's example `"iat": "1677743803"`), OpenID Connect Core
/// §2 makes `exp` and `iat` numbers, so a string is refused.
pub fn numeric_date(value: &Value) -> Option<i64> {
    let n = value.as_number()?;
    n.as_i64()
        .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

/// Step 1: reads the token as a compact JWS with JSON header and claims. Nothing is
/// verified yet.
pub fn parse(token: &str) -> Result<Jws<'_>, IdTokenError> {
    parse_compact(token).map_err(IdTokenError::Malformed)
}

/// Steps 6 to 8: the header's `alg` is on the asymmetric allow-list (never `none`, never a
/// MAC), and the signature verifies with the key of `jwks` (a JWK Set, RFC 7517 §5) that the
/// header's `kid` names; without a `kid`, with the JWKS's only key (§10.1). A key the JWKS
/// has but that cannot be used (an RSA key under 2048 bits, private members, ...) is
/// reported as such.
pub fn check_signature(jws: &Jws<'_>, jwks: &Value) -> Result<SignedBy, IdTokenError> {
    let alg = jws.alg().map_err(SignatureError::Alg)?;
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let kid = jws.header_str("kid");
    let candidates: Vec<&Value> = match kid {
        Some(kid) => keys
            .iter()
            .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            .collect(),
        None if keys.len() == 1 => keys.iter().collect(),
        None => return Err(SignatureError::NoKid(keys.len()).into()),
    };
    let kid = kid.map(str::to_owned);
    if candidates.is_empty() {
        return Err(SignatureError::UnknownKid(kid.unwrap_or_default()).into());
    }
    // A JWKS may hold several keys under one kid (an RSA and an EC key); any may verify. A
    // usable key's verdict says more than an unusable key's.
    let (mut refused, mut unusable) = (None, None);
    for candidate in candidates {
        let kid = candidate
            .get("kid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match PublicJwk::from_json(candidate) {
            Err(error) => {
                unusable.get_or_insert(SignatureError::UnusableKey { kid, error });
            }
            Ok(key) => match jws.verify(&key) {
                Ok(alg) => return Ok(SignedBy { alg, kid }),
                Err(JoseError::KeyAlgMismatch { alg, kty }) => {
                    refused.get_or_insert(SignatureError::KeyAlgMismatch { kid, alg, kty });
                }
                Err(_) => {
                    refused.get_or_insert(SignatureError::BadSignature { kid, alg });
                }
            },
        }
    }
    Err(refused
        .or(unusable)
        .unwrap_or(SignatureError::BadSignature { kid, alg })
        .into())
}

/// Step 2: `iss` is exactly `issuer` (no trailing-slash tolerance: OpenID Connect compares
/// issuers as strings).
pub fn check_issuer(claims: &Map<String, Value>, issuer: &str) -> Result<(), IdTokenError> {
    string_claim_is(claims, "iss", issuer).map_err(|got| IdTokenError::Issuer {
        got,
        expected: issuer.to_owned(),
    })
}

/// `Ok` when the claim `name` is the string `expected`, else the claim as it was.
fn string_claim_is(
    claims: &Map<String, Value>,
    name: &str,
    expected: &str,
) -> Result<(), Option<Value>> {
    match claims.get(name) {
        Some(Value::String(value)) if value == expected => Ok(()),
        got => Err(got.cloned()),
    }
}

/// The `aud` claim's audiences: a string or an array of strings (RFC 7519 §4.1.3).
fn audiences(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Step 3: `aud` (a string or an array) contains `client_id`.
pub fn check_audience(claims: &Map<String, Value>, client_id: &str) -> Result<(), IdTokenError> {
    if audiences(claims).contains(&client_id) {
        Ok(())
    } else {
        Err(IdTokenError::Audience {
            got: claims.get("aud").cloned(),
            client_id: client_id.to_owned(),
        })
    }
}

/// Steps 4 and 5: with several audiences an `azp` is present, and an `azp` that is present
/// is `client_id`.
pub fn check_authorized_party(
    claims: &Map<String, Value>,
    client_id: &str,
) -> Result<(), IdTokenError> {
    let audiences = audiences(claims).len();
    match claims.get("azp") {
        Some(Value::String(azp)) if azp == client_id => Ok(()),
        None if audiences <= 1 => Ok(()),
        got => Err(IdTokenError::AuthorizedParty {
            got: got.cloned(),
            client_id: client_id.to_owned(),
            audiences,
        }),
    }
}

/// Step 11: `nonce` is the one the authorization request sent. `sent` empty: the request
/// sent none (HelseID: nonce "may be used"; the rule applies "if a nonce value was sent"),
/// so there is nothing to correlate.
pub fn check_nonce(claims: &Map<String, Value>, sent: &str) -> Result<(), IdTokenError> {
    if sent.is_empty() {
        return Ok(());
    }
    string_claim_is(claims, "nonce", sent).map_err(|got| IdTokenError::Nonce {
        got,
        sent: sent.to_owned(),
    })
}

/// Step 9: `exp` is present and `now` is before it, give or take [`LEEWAY_SECS`].
pub fn check_expiry(claims: &Map<String, Value>, now: i64) -> Result<(), IdTokenError> {
    let exp = claims.get("exp");
    match exp.and_then(numeric_date) {
        Some(exp) if exp > now.saturating_sub(LEEWAY_SECS) => Ok(()),
        _ => Err(IdTokenError::Expired {
            exp: exp.cloned(),
            now,
        }),
    }
}

/// Step 10: `iat` is present and not later than `now` plus [`LEEWAY_SECS`]. (How old a token
/// may be is the client's choice; `exp` already bounds it.)
pub fn check_issued_at(claims: &Map<String, Value>, now: i64) -> Result<(), IdTokenError> {
    let iat = claims.get("iat");
    match iat.and_then(numeric_date) {
        Some(iat) if iat <= now.saturating_add(LEEWAY_SECS) => Ok(()),
        _ => Err(IdTokenError::IssuedAt {
            iat: iat.cloned(),
            now,
        }),
    }
}

/// §2: `sub` is present and a non-empty string.
pub fn check_subject(claims: &Map<String, Value>) -> Result<(), IdTokenError> {
    match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => Ok(()),
        got => Err(IdTokenError::Subject { got: got.cloned() }),
    }
}

/// Every step of §3.1.3.7 in the order of the module documentation; the claims of a token
/// that passes them all.
pub fn validate(
    token: &str,
    jwks: &Value,
    expected: &Expected<'_>,
) -> Result<Map<String, Value>, IdTokenError> {
    let jws = parse(token)?;
    check_signature(&jws, jwks)?;
    let claims = &jws.claims;
    check_issuer(claims, expected.issuer)?;
    check_audience(claims, expected.client_id)?;
    check_authorized_party(claims, expected.client_id)?;
    check_nonce(claims, expected.nonce)?;
    check_expiry(claims, expected.now)?;
    check_issued_at(claims, expected.now)?;
    check_subject(claims)?;
    Ok(jws.claims)
}

/// §3.1.3.8: an ID token's `at_hash`, when it has one (it is optional in the code flow), is
/// the hash of the access token of the same response, so a response whose tokens do not
/// belong together is refused. Call it after [`validate`]: this reads the token without
/// verifying it.
pub fn check_at_hash(id_token: &str, access_token: &str) -> Result<(), IdTokenError> {
    let jws = parse(id_token)?;
    let Some(at_hash) = jws.claims.get("at_hash") else {
        return Ok(());
    };
    let alg = jws.alg().map_err(SignatureError::Alg)?;
    let expected = token_hash(alg, access_token);
    if at_hash.as_str() == Some(expected.as_str()) {
        Ok(())
    } else {
        Err(IdTokenError::AtHash {
            got: at_hash.clone(),
            expected,
        })
    }
}

#[cfg(test)]
mod tests;
