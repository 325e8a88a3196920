//! JWT access tokens as a resource server reads them: the `Authorization` header (RFC 6750
//! §2.1, RFC 9449 §7.1), the claims every API checks (RFC 9068 §4, RFC 7519 §4.1, RFC 8725
//! §3.11) and HelseID's own (reference §3.4, §5, §6, §7.3).
//!
//! Each function is one step with a typed error, so an API composes the steps it needs: the
//! STS's Selvbetjening API (`mock_sts::resource`) and the reference API
//! (`helseid_reference::api`) both do. Signature verification is [`crate::jose`]'s, proofs are
//! [`crate::dpop`]'s.

use std::fmt;

use serde_json::{Map, Value};
use thiserror::Error;

use crate::claims;
use crate::tillitsrammeverk::{self, Attestation, AttestationError};

/// The `typ` values an API accepts, as HelseID writes them ("The API must verify that the typ
/// header value is at+jwt or JWT, and reject tokens carrying any other value"): RFC 9068's
/// `at+jwt`, and `JWT`, which HelseID's test-token service and older tokens carry.
pub const TYPS: [&str; 2] = ["at+jwt", "JWT"];
/// How much of a claim value an error message repeats.
const SHOWN_CHARS: usize = 64;

/// An authentication scheme for access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// RFC 6750: whoever holds the token may use it.
    Bearer,
    /// RFC 9449: the token is bound to a key, and each request carries a proof made with it.
    DPoP,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Bearer => "Bearer",
            Scheme::DPoP => "DPoP",
        }
    }

    /// Matches a scheme name case-insensitively, as HTTP authentication schemes are
    /// (RFC 9110 §11.1).
    pub fn parse(name: &str) -> Option<Scheme> {
        [Scheme::Bearer, Scheme::DPoP]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scheme and token of an `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials<'a> {
    pub scheme: Scheme,
    pub token: &'a str,
}

/// Why an `Authorization` header gave no token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthorizationError {
    /// A scheme other than Bearer and DPoP (Basic, Negotiate, ...). RFC 6750 §3.1 treats
    /// it as a request without credentials: a bare challenge, no error code.
    #[error("the Authorization scheme {0:?} is not one this API accepts (Bearer or DPoP)")]
    UnsupportedScheme(String),
    #[error("the Authorization header names the {0} scheme but carries no token")]
    MissingToken(Scheme),
    /// Not the `token68` syntax of RFC 9110 §11.2 (RFC 6750 §2.1's `b64token`).
    #[error("the {0} token in the Authorization header is not in token68 syntax")]
    MalformedToken(Scheme),
}

/// Reads `Authorization: <scheme> <token>` (RFC 6750 §2.1, RFC 9449 §7.1). Whitespace
/// around the token is tolerated; a token with inner spaces or characters outside
/// `token68` is not.
pub fn parse_authorization(value: &str) -> Result<Credentials<'_>, AuthorizationError> {
    let value = value.trim();
    let (name, token) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = Scheme::parse(name)
        .ok_or_else(|| AuthorizationError::UnsupportedScheme(shown(name).to_owned()))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthorizationError::MissingToken(scheme));
    }
    if !is_token68(token) {
        return Err(AuthorizationError::MalformedToken(scheme));
    }
    Ok(Credentials { scheme, token })
}

/// `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 9110 §11.2).
fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// Why a token's header or claims are not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClaimError {
    #[error(
        "the access token has typ \"{0}\"; an access token must have typ at+jwt or JWT (HelseID's rule for APIs), so a DPoP proof, a logout token or another kind of JWT is not accepted"
    )]
    Typ(String),
    #[error(
        "the access token has no typ header; it must be at+jwt or JWT (HelseID's rule for APIs)"
    )]
    MissingTyp,
    #[error("the access token has no {0} claim")]
    Missing(&'static str),
    #[error("the access token's {0} claim has the wrong type")]
    WrongType(&'static str),
    #[error("the access token was issued by {got:?}, not {expected}")]
    Issuer { got: String, expected: String },
    #[error("the access token expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("the access token is not valid before {nbf} (now {now})")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("the access token was issued in the future, at {iat} (now {now})")]
    IssuedInFuture { iat: i64, now: i64 },
    #[error("the access token's audience is {got}; this API's audience {expected} is not among it")]
    Audience { got: String, expected: String },
    #[error(
        "the access token has several audiences ({got}); this API accepts only tokens whose one audience is {expected}"
    )]
    SeveralAudiences { got: String, expected: String },
    #[error(
        "the access token names no user (no {} or {} claim); this API needs a logged-in user",
        claims::PID,
        claims::HPR_NUMBER
    )]
    NoUser,
    #[error(
        "the access token has no security level ({} or {}); this API needs a logged-in user and the level of the login",
        claims::SECURITY_LEVEL,
        claims::ASSURANCE_LEVEL
    )]
    NoUserLevel,
    #[error("the access token's cnf claim is not an object with a jkt string (RFC 9449 §6.1)")]
    Cnf,
}

/// Checks the JOSE `typ` header: one of [`TYPS`] (HelseID: "The API must verify that the typ
/// header value is at+jwt or JWT, and reject tokens carrying any other value"). Media types,
/// so compared case-insensitively with `application/` implied when there is no `/` (RFC 7515
/// §4.1.9): `AT+JWT` and `application/at+jwt` are `at+jwt`. A token without `typ` is refused
/// too: it cannot have been verified to be at+jwt or JWT (the reading is in docs/fidelity.md).
///
/// An ID token (`typ` `JWT`) passes this step; what keeps it out is its audience, the
/// client ([`check_audience`]).
pub fn check_typ(header: &Map<String, Value>) -> Result<(), ClaimError> {
    match header.get("typ") {
        None => Err(ClaimError::MissingTyp),
        Some(Value::String(t)) if is_access_token_typ(t) => Ok(()),
        Some(Value::String(t)) => Err(ClaimError::Typ(shown(t).to_owned())),
        Some(other) => Err(ClaimError::Typ(shown(&other.to_string()).to_owned())),
    }
}

/// Whether `typ` is one of [`TYPS`], compared as RFC 7515 §4.1.9 compares media types.
pub fn is_access_token_typ(typ: &str) -> bool {
    TYPS.iter().any(|t| same_typ(t, typ))
}

/// Whether two `typ` values name the same media type (RFC 7515 §4.1.9: case-insensitive,
/// `application/` implied when there is no `/`).
pub fn same_typ(a: &str, b: &str) -> bool {
    let full = |t: &str| {
        let t = t.to_ascii_lowercase();
        if t.contains('/') {
            t
        } else {
            format!("application/{t}")
        }
    };
    full(a) == full(b)
}

/// `iss` is exactly the configured issuer (RFC 9068 §4 step 2): no case folding, no
/// trailing-slash tolerance (HelseID's issuer has none, reference §1.1).
pub fn check_issuer(claims: &Map<String, Value>, issuer: &str) -> Result<(), ClaimError> {
    match claims.get("iss") {
        None => Err(ClaimError::Missing("iss")),
        Some(Value::String(iss)) if iss == issuer => Ok(()),
        Some(Value::String(iss)) => Err(ClaimError::Issuer {
            got: shown(iss).to_owned(),
            expected: issuer.to_owned(),
        }),
        Some(_) => Err(ClaimError::WrongType("iss")),
    }
}

/// A NumericDate claim (RFC 7519 §2): an integer, or a float cut to whole seconds.
fn time(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, ClaimError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(ClaimError::WrongType(name)),
        Some(_) => Err(ClaimError::WrongType(name)),
    }
}

/// `exp` is present and not past, give or take `leeway` seconds (RFC 9068 §4 step 6,
/// RFC 7519 §4.1.4). Returns `exp`.
pub fn check_expiry(claims: &Map<String, Value>, now: i64, leeway: i64) -> Result<i64, ClaimError> {
    let exp = time(claims, "exp")?.ok_or(ClaimError::Missing("exp"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(ClaimError::Expired { exp, now });
    }
    Ok(exp)
}

/// The token is already valid: `nbf` (RFC 7519 §4.1.5) and `iat` (an issue time in the
/// future is as suspicious) are not after `now + leeway`. Both claims are optional.
pub fn check_not_before(
    claims: &Map<String, Value>,
    now: i64,
    leeway: i64,
) -> Result<(), ClaimError> {
    if let Some(nbf) = time(claims, "nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(ClaimError::NotYetValid { nbf, now });
    }
    if let Some(iat) = time(claims, "iat")?
        && iat > now.saturating_add(leeway)
    {
        return Err(ClaimError::IssuedInFuture { iat, now });
    }
    Ok(())
}

/// The token's audience when it has exactly one: `aud` as a string or a one-element array.
pub fn single_audience(claims: &Map<String, Value>) -> Option<&str> {
    match claims.get("aud") {
        Some(Value::String(a)) => Some(a.as_str()),
        Some(Value::Array(list)) if list.len() == 1 => list[0].as_str(),
        _ => None,
    }
}

/// The token is for this API: `aud` is present and holds `audience` exactly, as a string or
/// in an array (HelseID: "The Access token must be rejected if the aud claim is missing" and
/// "if the aud claim does not contain an audience value that is an exact match to the
/// audience set up in HelseID Selvbetjening"). Whether it is the only audience is
/// [`check_sole_audience`].
pub fn check_audience(claims: &Map<String, Value>, audience: &str) -> Result<(), ClaimError> {
    let contains = match claims.get("aud") {
        None => return Err(ClaimError::Missing("aud")),
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        Some(_) => return Err(ClaimError::WrongType("aud")),
    };
    if contains {
        return Ok(());
    }
    Err(ClaimError::Audience {
        got: audience_text(claims),
        expected: audience.to_owned(),
    })
}

/// The token has no audience but this API's (HelseID: "The API should validate that it is the
/// only audience in the Access Token. Access Tokens with multiple audiences are not
/// recommended but may be acceptable in some cases."). Run after [`check_audience`]; an API
/// that accepts several audiences skips it. HelseID issues one audience per token.
pub fn check_sole_audience(claims: &Map<String, Value>, audience: &str) -> Result<(), ClaimError> {
    match claims.get("aud") {
        Some(Value::Array(list)) if list.iter().any(|a| a.as_str() != Some(audience)) => {
            Err(ClaimError::SeveralAudiences {
                got: audience_text(claims),
                expected: audience.to_owned(),
            })
        }
        _ => Ok(()),
    }
}

/// `aud` for a message: a string as it is, an array as its entries joined with ", ".
fn audience_text(claims: &Map<String, Value>) -> String {
    let text = match claims.get("aud") {
        Some(Value::String(a)) => a.clone(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|a| {
                a.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| a.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    shown(&text).to_owned()
}

/// The token names a logged-in user: `helseid://claims/identity/pid` or
/// `helseid://claims/hpr/hpr_number`. HelseID: "An API that requires information about a
/// logged in user must validate both the users identity (PID or HPR-number) and the security
/// level"; the level is [`check_user_level`]. A client-credentials token names no user.
pub fn check_user_identity(claims: &Map<String, Value>) -> Result<(), ClaimError> {
    if present(claims, claims::PID) || present(claims, claims::HPR_NUMBER) {
        Ok(())
    } else {
        Err(ClaimError::NoUser)
    }
}

/// The token says at what level the user logged in: `security_level` or `assurance_level`
/// (the other half of HelseID's rule, see [`check_user_identity`]). Comparing it with the
/// API's requirement is [`security_level`]'s caller's.
pub fn check_user_level(claims: &Map<String, Value>) -> Result<(), ClaimError> {
    if present(claims, claims::SECURITY_LEVEL) || present(claims, claims::ASSURANCE_LEVEL) {
        Ok(())
    } else {
        Err(ClaimError::NoUserLevel)
    }
}

/// A claim that is a string that is not blank, or a number (an HPR number may come as one).
fn present(claims: &Map<String, Value>, name: &str) -> bool {
    match claims.get(name) {
        Some(Value::String(v)) => !v.trim().is_empty(),
        Some(Value::Number(_)) => true,
        _ => false,
    }
}

/// The token's scopes: the JSON array HelseID writes (reference §5.3) or the
/// space-separated string of RFC 9068 §2.2.3 / RFC 8693 §4.2. Anything else gives none.
pub fn scopes(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("scope") {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => s.split_whitespace().collect(),
        _ => Vec::new(),
    }
}

/// Whether the token grants `scope`.
pub fn has_scope(claims: &Map<String, Value>, scope: &str) -> bool {
    scopes(claims).contains(&scope)
}

/// The scopes of `required` the token does not grant, in `required`'s order.
pub fn missing_scopes<'a>(claims: &Map<String, Value>, required: &'a [String]) -> Vec<&'a str> {
    let granted = scopes(claims);
    required
        .iter()
        .map(String::as_str)
        .filter(|s| !granted.contains(s))
        .collect()
}

/// Whether the token grants at least one of `wanted`.
pub fn grants_any_scope(claims: &Map<String, Value>, wanted: &[String]) -> bool {
    let granted = scopes(claims);
    wanted.iter().any(|s| granted.contains(&s.as_str()))
}

/// The key the token is bound to: `cnf.jkt` (RFC 9449 §6.1). `Ok(None)` for an unbound
/// token (no `cnf`); a `cnf` without a usable `jkt` is an error, not "unbound".
pub fn cnf_jkt(claims: &Map<String, Value>) -> Result<Option<&str>, ClaimError> {
    match claims.get("cnf") {
        None => Ok(None),
        Some(cnf) => cnf
            .get("jkt")
            .and_then(Value::as_str)
            .filter(|j| !j.is_empty())
            .map(Some)
            .ok_or(ClaimError::Cnf),
    }
}

/// A string claim, if the token has it as a string.
pub fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// Why `helseid://claims/identity/security_level` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the access token's {claim} claim is {0:?}, not a level 1 to 4", claim = claims::SECURITY_LEVEL)]
pub struct SecurityLevelError(pub String);

/// The user's security level (reference §5.1): the string `"3"`/`"4"` HelseID issues, or a
/// number. `None` when the token has no such claim (a machine-to-machine token).
pub fn security_level(claims: &Map<String, Value>) -> Option<Result<u8, SecurityLevelError>> {
    let value = claims.get(claims::SECURITY_LEVEL)?;
    let level = match value {
        Value::String(s) => s.trim().parse::<u8>().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        _ => None,
    };
    Some(
        level
            .filter(|l| (1..=4).contains(l))
            .ok_or_else(|| SecurityLevelError(shown(&value.to_string()).to_owned())),
    )
}

/// The organisation the client acts for (reference §6.1): the child unit
/// (`helseid://claims/client/claims/orgnr_child`) when the token names one, else the
/// parent (`.../orgnr_parent`). The supplier of a multi-tenant client is not it.
pub fn organisation(claims: &Map<String, Value>) -> Option<&str> {
    string_claim(claims, claims::ORGNR_CHILD)
        .filter(|o| !o.is_empty())
        .or_else(|| string_claim(claims, claims::ORGNR_PARENT).filter(|o| !o.is_empty()))
}

/// Why the `nhn:tillitsrammeverk:parameters` claim is not a well-formed attestation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TillitsrammeverkError {
    #[error(
        "the access token's {} claim is a string that is not a JSON object",
        claims::TILLITSRAMMEVERK
    )]
    NotJson,
    #[error(
        "the access token's {} claim is an array without an entry of that type",
        claims::TILLITSRAMMEVERK
    )]
    NoEntry,
    #[error("the access token's attestation: {0}")]
    Attestation(#[from] AttestationError),
}

/// The token's Tillitsrammeverk attestation (reference §7.3), checked with
/// [`tillitsrammeverk::validate`] (which ignores what the STS adds in enrichment: names,
/// texts, authorities, `identifier`, `hpr_nr`, `attestation`). The claim may be a JSON
/// object, a JSON string holding one (how .NET claim mapping hands it over), or an RFC 9396
/// array holding an entry of its type. `None` when the token has no such claim.
pub fn tillitsrammeverk(
    claims: &Map<String, Value>,
) -> Option<Result<Attestation, TillitsrammeverkError>> {
    let value = claims.get(claims::TILLITSRAMMEVERK)?;
    Some(read_attestation(value))
}

fn read_attestation(value: &Value) -> Result<Attestation, TillitsrammeverkError> {
    match value {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(inner @ (Value::Object(_) | Value::Array(_))) => read_attestation(&inner),
            _ => Err(TillitsrammeverkError::NotJson),
        },
        Value::Array(entries) => {
            let entry = entries
                .iter()
                .find(|e| e.get("type").and_then(Value::as_str) == Some(claims::TILLITSRAMMEVERK))
                .ok_or(TillitsrammeverkError::NoEntry)?;
            Ok(tillitsrammeverk::validate(entry)?)
        }
        other => Ok(tillitsrammeverk::validate(other)?),
    }
}

/// The start of a value an error message repeats: never a megabyte, never a whole token.
fn shown(s: &str) -> &str {
    match s.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

#[cfg(test)]
mod tests;
