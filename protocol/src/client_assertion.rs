//! Client authentication with `private_key_jwt` (RFC 7523 §2.2 and §3, OpenID Connect Core
//! §9), under HelseID's rules (reference §2, "Bruk av client assertion"): `iss` = `sub` =
//! `client_id`, `aud` the issuer or the endpoint, `exp` at most 60 s ahead, a single-use `jti`,
//! asymmetric algorithms only, and a key the client has registered.
//!
//! This is the stateless part. Replay (`jti` seen before) needs memory and is checked by the
//! caller with the `jti` and `exp` returned here.

use serde_json::Value;
use thiserror::Error;

use crate::jose::{Alg, JoseError, Jws, PublicJwk, parse_compact};

/// `client_assertion_type` for a JWT client assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Longest accepted lifetime (`exp` − now), HelseID: "no more than 60 seconds in the future".
pub const MAX_LIFETIME_SECS: i64 = 60;
/// How far back `iat` may lie (HelseID's token-exchange doc: "not more than 120 seconds").
pub const MAX_AGE_SECS: i64 = 120;
/// Tolerated clock difference between client and STS.
pub const CLOCK_SKEW_SECS: i64 = 5;

/// `typ` values accepted: the current libraries' `client-authentication+jwt`, the older docs'
/// `JWT`, or none (KJ sends none). Other types are refused so that a DPoP proof or an access
/// token cannot pass as a client assertion.
pub const ACCEPTED_TYPS: [&str; 2] = ["client-authentication+jwt", "JWT"];

/// A key registered for a client, with the time it stops being accepted.
#[derive(Debug, Clone)]
pub struct RegisteredKey {
    pub jwk: PublicJwk,
    pub expires_at: Option<i64>,
}

/// What the assertion must match.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The `client_id` form parameter, if sent.
    pub client_id: Option<&'a str>,
    /// Audiences accepted: the issuer and the endpoint URL(s).
    pub audiences: &'a [String],
    pub now: i64,
}

/// A verified assertion.
#[derive(Debug, Clone)]
pub struct ClientAssertion {
    pub client_id: String,
    pub jti: String,
    pub exp: i64,
    pub alg: Alg,
    /// The registered key that verified it.
    pub kid: Option<String>,
    /// The structured claim (`assertion_details`, or the older `authorization_details`), raw.
    pub details: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AssertionError {
    #[error("client_assertion {0}")]
    Jose(#[from] JoseError),
    #[error("client_assertion has typ {0:?}; expected client-authentication+jwt (or JWT)")]
    Typ(String),
    #[error("client_assertion lacks the {0} claim")]
    MissingClaim(&'static str),
    #[error("client_assertion claim {0} has the wrong type")]
    ClaimType(&'static str),
    #[error("client_assertion iss {iss:?} is not its sub {sub:?}; both must be the client_id")]
    IssNotSub { iss: String, sub: String },
    #[error(
        "client_assertion is for client {assertion:?} but the request names client_id {form:?}"
    )]
    ClientIdMismatch { assertion: String, form: String },
    #[error("client_assertion aud {aud} is not accepted; use the issuer {expected}")]
    Audience { aud: String, expected: String },
    #[error("client_assertion expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error(
        "client_assertion exp {exp} is {ahead} s ahead; at most {MAX_LIFETIME_SECS} s are allowed"
    )]
    TooLong { exp: i64, ahead: i64 },
    #[error("client_assertion is not valid before nbf {nbf} (now {now})")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("client_assertion iat {iat} is in the future (now {now})")]
    IssuedInFuture { iat: i64, now: i64 },
    #[error("client_assertion iat {iat} is {age} s old; at most {MAX_AGE_SECS} s are allowed")]
    TooOld { iat: i64, age: i64 },
    #[error("client_assertion kid {0:?} is not a key registered for this client")]
    UnknownKid(String),
    #[error("client_assertion key {kid:?} expired at {expired_at}")]
    KeyExpired { kid: String, expired_at: i64 },
    #[error("client_assertion signature does not verify with any key registered for this client")]
    NoKeyVerifies,
    #[error("the client has no registered keys")]
    NoKeys,
}

/// Why a request that authenticates its client some other way than `private_key_jwt` is
/// refused (HelseID: "HelseID will not authenticate clients by means of any other
/// authentication method, such as Mutual TLS, or Client Secret"), or `None` when it uses
/// none: the form's `client_secret` and the `Authorization` header are what it reads.
pub fn other_method(
    client_secret: Option<&str>,
    authorization: Option<&str>,
) -> Option<&'static str> {
    // `get`, not `[..6]`: the sixth byte may fall inside a multi-byte character.
    let basic = authorization
        .and_then(|a| a.get(..6))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic "));
    if basic {
        Some(
            "client_secret_basic is not accepted; HelseID authenticates clients only with private_key_jwt",
        )
    } else if client_secret.is_some_and(|s| !s.is_empty()) {
        Some(
            "client_secret is not accepted; HelseID authenticates clients only with private_key_jwt",
        )
    } else {
        None
    }
}

/// The `aud` values an assertion sent to `endpoint` may carry: the issuer, the token and PAR
/// endpoints, and the endpoint itself (HelseID's libraries use the issuer, older clients the
/// token endpoint; reference §2.3).
pub fn accepted_audiences(issuer: &str, endpoint: &str) -> Vec<String> {
    vec![
        issuer.to_owned(),
        format!("{issuer}{}", crate::endpoints::TOKEN),
        format!("{issuer}{}", crate::endpoints::PAR),
        endpoint.to_owned(),
    ]
}

/// Reads the client the assertion claims to be, before its keys are looked up. Only `sub`
/// is read; nothing is trusted until [`validate`] has run.
pub fn claimed_client(assertion: &str) -> Result<String, AssertionError> {
    let jws = parse_compact(assertion)?;
    jws.claim_str("sub")
        .or_else(|| jws.claim_str("iss"))
        .map(str::to_owned)
        .ok_or(AssertionError::MissingClaim("sub"))
}

/// Verifies a client assertion against the client's registered keys and the rules.
pub fn validate(
    assertion: &str,
    rules: &Rules<'_>,
    keys: &[RegisteredKey],
) -> Result<ClientAssertion, AssertionError> {
    let jws = parse_compact(assertion)?;
    let alg = jws.alg()?;
    if let Some(typ) = jws.header.get("typ") {
        let typ = typ.as_str().unwrap_or_default();
        if !ACCEPTED_TYPS.iter().any(|t| t.eq_ignore_ascii_case(typ)) {
            return Err(AssertionError::Typ(typ.to_owned()));
        }
    }
    let client_id = check_claims(&jws, rules)?;
    let kid = verify_with_registered(&jws, keys, rules.now)?;
    let jti = jws
        .claim_str("jti")
        .filter(|j| !j.is_empty())
        .ok_or(AssertionError::MissingClaim("jti"))?
        .to_owned();
    let exp = required_time(&jws, "exp")?;
    let details = jws
        .claims
        .get("assertion_details")
        .or_else(|| jws.claims.get("authorization_details"))
        .cloned();
    Ok(ClientAssertion {
        client_id,
        jti,
        exp,
        alg,
        kid,
        details,
    })
}

fn required_time(jws: &Jws<'_>, name: &'static str) -> Result<i64, AssertionError> {
    match jws.claim_time(name) {
        None => Err(AssertionError::MissingClaim(name)),
        Some(Err(())) => Err(AssertionError::ClaimType(name)),
        Some(Ok(t)) => Ok(t),
    }
}

fn optional_time(jws: &Jws<'_>, name: &'static str) -> Result<Option<i64>, AssertionError> {
    jws.claim_time(name)
        .transpose()
        .map_err(|()| AssertionError::ClaimType(name))
}

fn check_claims(jws: &Jws<'_>, rules: &Rules<'_>) -> Result<String, AssertionError> {
    let iss = jws
        .claim_str("iss")
        .ok_or(AssertionError::MissingClaim("iss"))?;
    let sub = jws
        .claim_str("sub")
        .ok_or(AssertionError::MissingClaim("sub"))?;
    if iss != sub {
        return Err(AssertionError::IssNotSub {
            iss: iss.into(),
            sub: sub.into(),
        });
    }
    if let Some(form) = rules.client_id
        && form != sub
    {
        return Err(AssertionError::ClientIdMismatch {
            assertion: sub.into(),
            form: form.into(),
        });
    }
    check_audience(jws, rules.audiences)?;

    // Saturating: the times are the client's, and `"iat": -1e300` reads as i64::MIN.
    let now = rules.now;
    let exp = required_time(jws, "exp")?;
    if exp <= now.saturating_sub(CLOCK_SKEW_SECS) {
        return Err(AssertionError::Expired { exp, now });
    }
    let ahead = exp.saturating_sub(now);
    if ahead > MAX_LIFETIME_SECS + CLOCK_SKEW_SECS {
        return Err(AssertionError::TooLong { exp, ahead });
    }
    if let Some(nbf) = optional_time(jws, "nbf")?
        && nbf > now.saturating_add(CLOCK_SKEW_SECS)
    {
        return Err(AssertionError::NotYetValid { nbf, now });
    }
    if let Some(iat) = optional_time(jws, "iat")? {
        if iat > now.saturating_add(CLOCK_SKEW_SECS) {
            return Err(AssertionError::IssuedInFuture { iat, now });
        }
        let age = now.saturating_sub(iat);
        if age > MAX_AGE_SECS + CLOCK_SKEW_SECS {
            return Err(AssertionError::TooOld { iat, age });
        }
    }
    Ok(sub.to_owned())
}

fn check_audience(jws: &Jws<'_>, accepted: &[String]) -> Result<(), AssertionError> {
    let matches = |aud: &str| {
        let aud = aud.strip_suffix('/').unwrap_or(aud);
        accepted
            .iter()
            .any(|a| a.strip_suffix('/').unwrap_or(a) == aud)
    };
    let ok = match jws.claims.get("aud") {
        None => return Err(AssertionError::MissingClaim("aud")),
        Some(Value::String(s)) => matches(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(matches),
        Some(_) => return Err(AssertionError::ClaimType("aud")),
    };
    if ok {
        Ok(())
    } else {
        Err(AssertionError::Audience {
            aud: jws
                .claims
                .get("aud")
                .map(Value::to_string)
                .unwrap_or_default(),
            expected: accepted.first().cloned().unwrap_or_default(),
        })
    }
}

fn verify_with_registered(
    jws: &Jws<'_>,
    keys: &[RegisteredKey],
    now: i64,
) -> Result<Option<String>, AssertionError> {
    if keys.is_empty() {
        return Err(AssertionError::NoKeys);
    }
    let candidates: Vec<&RegisteredKey> = match jws.header_str("kid") {
        Some(kid) => {
            let found: Vec<_> = keys
                .iter()
                .filter(|k| k.jwk.kid.as_deref() == Some(kid))
                .collect();
            if found.is_empty() {
                return Err(AssertionError::UnknownKid(kid.to_owned()));
            }
            found
        }
        // No kid: try every key, as Duende does.
        None => keys.iter().collect(),
    };
    let mut expired = None;
    let mut last_err = None;
    for key in candidates {
        match jws.verify(&key.jwk) {
            Ok(_) => {
                if let Some(at) = key.expires_at
                    && at <= now
                {
                    expired = Some(AssertionError::KeyExpired {
                        kid: key.jwk.kid.clone().unwrap_or_else(|| key.jwk.thumbprint()),
                        expired_at: at,
                    });
                    continue;
                }
                return Ok(key.jwk.kid.clone());
            }
            Err(e @ JoseError::KeyAlgMismatch { .. }) => last_err = Some(e),
            Err(_) => {}
        }
    }
    Err(expired
        .or(last_err.map(AssertionError::Jose))
        .unwrap_or(AssertionError::NoKeyVerifies))
}

/// What a client puts in its assertion; [`build`] signs it.
#[derive(Debug, Clone)]
pub struct AssertionRequest<'a> {
    pub client_id: &'a str,
    pub audience: &'a str,
    pub now: i64,
    pub lifetime: i64,
    /// `assertion_details` to include.
    pub details: Option<Value>,
}

/// Builds a client assertion the way HelseID.Library does (`typ` `client-authentication+jwt`,
/// fresh `jti`). Used by the testbed's own clients, tests and load generator.
pub fn build(
    key: &crate::signing::SigningKey,
    req: &AssertionRequest<'_>,
) -> Result<String, crate::signing::KeyError> {
    let mut claims = serde_json::json!({
        "iss": req.client_id,
        "sub": req.client_id,
        "aud": req.audience,
        "iat": req.now,
        "nbf": req.now,
        "exp": req.now + req.lifetime,
        "jti": crate::jose::random_id(),
    });
    if let Some(details) = &req.details {
        claims["assertion_details"] = details.clone();
    }
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), "client-authentication+jwt".into());
    key.sign_jwt(header, &claims)
}

#[cfg(test)]
mod tests;
