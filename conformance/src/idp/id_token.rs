//! The ID token checks: the signature by a published key (IDP-SIG-01) and the claims
//! (IDP-ISS-01 ... IDP-LEVEL-01), judged for every user's token.

use protocol::id_token;
use protocol::jose;
use serde_json::{Map, Value};

use super::{Attempt, MAX_ID_TOKEN_LIFETIME, Run};
use crate::catalogue::{Check, IdpCheck};
use crate::report::{CheckResult, Exchange, fail, pass, shown, shown_json};

/// The checks that need the users' logins.
pub(super) const NEEDS_LOGINS: &[IdpCheck] = &[
    IdpCheck::Login01,
    IdpCheck::Sig01,
    IdpCheck::Iss01,
    IdpCheck::Sub01,
    IdpCheck::Aud01,
    IdpCheck::Nonce01,
    IdpCheck::Exp01,
    IdpCheck::Exp02,
    IdpCheck::Pid01,
    IdpCheck::Amr01,
    IdpCheck::Level01,
];

/// The longest `sub` (OIDC Core §2: "MUST NOT exceed 255 ASCII characters").
const MAX_SUB_LENGTH: usize = 255;

/// What a claim check reads from an ID token.
#[derive(Debug, Clone, Copy)]
pub(super) enum Claim {
    Issuer,
    /// sub: a string of 1 to 255 characters.
    Subject,
    Audience,
    Nonce,
    /// iat and exp present, in order, exp in the future.
    Times,
    Lifetime,
    /// The person's fødselsnummer or D-number (the scenario's identifier claim).
    Identifier,
    /// The authentication method (the scenario's method claim).
    Method,
    /// The security level (the scenario's level claim).
    Level,
}

/// An ID token as the claim checks read it.
pub(super) struct Token<'a> {
    pub user: &'a Attempt,
    pub raw: &'a str,
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub exchange: &'a Exchange,
}

impl Run<'_> {
    /// One of the claim checks for one token: `Ok(what was fine)` or `Err(what was wrong)`.
    pub(super) fn claim_check(
        &self,
        claim: Claim,
        t: &Token<'_>,
        now: i64,
    ) -> Result<String, String> {
        let c = &t.claims;
        let names = &self.idp.claims;
        match claim {
            // The OpenID Connect Core §3.1.3.7 steps are protocol::id_token's, the ones the
            // STS judges the bundled IdPs' tokens with.
            Claim::Issuer => id_token::check_issuer(c, &self.issuer)
                .map(|()| "iss is the issuer".into())
                .map_err(|e| e.to_string()),
            Claim::Subject => {
                id_token::check_subject(c).map_err(|e| e.to_string())?;
                let length = c["sub"].as_str().map_or(0, |s| s.chars().count());
                if length > MAX_SUB_LENGTH {
                    return Err(format!(
                        "sub is {length} characters long; OpenID Connect Core §2 allows at most {MAX_SUB_LENGTH}"
                    ));
                }
                Ok("sub is present".into())
            }
            Claim::Audience => {
                let id = &self.idp.client_id;
                id_token::check_audience(c, id).map_err(|e| e.to_string())?;
                id_token::check_authorized_party(c, id).map_err(|e| e.to_string())?;
                Ok("aud is the client".into())
            }
            Claim::Nonce => id_token::check_nonce(c, &t.user.nonce)
                .map(|()| "nonce echoed".into())
                .map_err(|e| e.to_string()),
            Claim::Times => times(c, now),
            Claim::Lifetime => lifetime(c),
            Claim::Identifier => {
                let name = &names.identifier;
                match c.get(name) {
                    Some(Value::String(pid)) => {
                        let facts = crate::scenario::personal_number(pid)
                            .map_err(|e| format!("{name}: {e}"))?;
                        if *pid != t.user.pid {
                            Err(format!(
                                "{name} is {}, a valid {} but not the user's {}",
                                shown(Some(pid)),
                                facts.kind.label(),
                                shown(Some(&t.user.pid))
                            ))
                        } else {
                            Ok(format!("{name} is the user's {}", facts.kind.label()))
                        }
                    }
                    Some(other) => Err(format!(
                        "{name} is {}, not a string of 11 digits",
                        shown_json(other)
                    )),
                    None => Err(format!("{name} is missing")),
                }
            }
            Claim::Method => {
                let name = &names.method;
                let held: Vec<&str> = match c.get(name) {
                    Some(Value::Array(a))
                        if !a.is_empty()
                            && a.iter().all(|v| v.as_str().is_some_and(|s| !s.is_empty())) =>
                    {
                        a.iter().filter_map(Value::as_str).collect()
                    }
                    Some(Value::String(s)) if !s.is_empty() && name != "amr" => vec![s.as_str()],
                    Some(Value::String(s)) if !s.is_empty() => {
                        return Err(format!(
                            "amr is the string {}; OIDC Core §2 makes it an array of strings",
                            shown(Some(s))
                        ));
                    }
                    Some(other) => {
                        return Err(format!("{name} is {}, not a method", shown_json(other)));
                    }
                    None => return Err(format!("{name} is missing")),
                };
                let value = shown_json(&c[name.as_str()]);
                let missing: Vec<&str> = t
                    .user
                    .amr
                    .iter()
                    .map(String::as_str)
                    .filter(|m| !held.contains(m))
                    .collect();
                match (missing.as_slice(), t.user.amr.is_empty()) {
                    ([], true) => Ok(format!("{name} is {value}")),
                    ([], false) => Ok(format!("{name} is {value} as expected")),
                    (missing, _) => Err(format!(
                        "{name} is {value}; the scenario expects {} for this user",
                        missing
                            .iter()
                            .map(|m| shown(Some(m)))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )),
                }
            }
            Claim::Level => {
                let name = &names.level;
                let level = match c.get(name) {
                    Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    Some(other) => {
                        return Err(format!("{name} is {}, not a level", shown_json(other)));
                    }
                    None => return Err(format!("{name} is missing")),
                };
                match &t.user.level {
                    Some(want) if *want != level => Err(format!(
                        "{name} is {}; the scenario expects {} for this user",
                        shown(Some(&level)),
                        shown(Some(want))
                    )),
                    Some(_) => Ok(format!("{name} is {} as expected", shown(Some(&level)))),
                    None => Ok(format!("{name} is {}", shown(Some(&level)))),
                }
            }
        }
    }
}

pub(super) fn read_token<'a>(
    user: &'a Attempt,
    raw: &'a str,
    exchange: &'a Exchange,
) -> Result<Token<'a>, (&'a Attempt, &'a Exchange, String)> {
    match jose::parse_compact(raw) {
        Ok(jws) => Ok(Token {
            user,
            raw,
            header: jws.header,
            claims: jws.claims,
            exchange,
        }),
        Err(e) => Err((user, exchange, format!("the ID token {e}"))),
    }
}

pub(super) fn token_evidence(
    tokens: &[Result<Token<'_>, (&Attempt, &Exchange, String)>],
) -> Vec<Exchange> {
    tokens
        .iter()
        .map(|t| match t {
            Ok(t) => t.exchange.clone(),
            Err((_, e, _)) => (*e).clone(),
        })
        .collect()
}

/// Judges every user's ID token with `judge`; fails on the first user it finds wrong.
pub(super) fn judge_tokens(
    c: &Check,
    tokens: &[Result<Token<'_>, (&Attempt, &Exchange, String)>],
    judge: impl Fn(&Token<'_>) -> Result<String, String>,
) -> CheckResult {
    let evidence = token_evidence(tokens);
    let mut fine = Vec::new();
    let mut wrong = Vec::new();
    for t in tokens {
        match t {
            Ok(token) => match judge(token) {
                Ok(what) => fine.push((token.user.pid.clone(), what)),
                Err(why) => wrong.push(format!("user {}: {why}", token.user.pid)),
            },
            Err((user, _, why)) => wrong.push(format!("user {}: {why}", user.pid)),
        }
    }
    if wrong.is_empty() {
        pass(c, summarise(&fine), evidence)
    } else {
        fail(c, wrong.join("; "), evidence)
    }
}

/// `user A: x; user B: x` as `every user (2): x`; different findings stay listed.
pub(super) fn summarise(per_user: &[(String, String)]) -> String {
    match per_user {
        [] => String::new(),
        [(user, what)] => format!("user {user}: {what}"),
        [(_, first), rest @ ..] if rest.iter().all(|(_, w)| w == first) => {
            format!("every user ({}): {first}", per_user.len())
        }
        _ => per_user
            .iter()
            .map(|(user, what)| format!("user {user}: {what}"))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// IDP-SIG-01 for one token.
pub(super) fn sig(t: &Token<'_>, jwks: &Value) -> Result<String, String> {
    let jws = id_token::parse(t.raw).map_err(|e| e.to_string())?;
    let signed = id_token::check_signature(&jws, jwks).map_err(|e| e.to_string())?;
    Ok(format!(
        "{} signature verifies with kid {}",
        signed.alg,
        signed.kid.as_deref().unwrap_or("(the JWKS's only key)")
    ))
}

/// IDP-EXP-01: `iat` and `exp` are NumericDates (RFC 7519 §2: JSON numbers, fractions
/// allowed), in order, `exp` not past and `iat` not ahead (protocol's ID-token rules).
fn times(c: &Map<String, Value>, now: i64) -> Result<String, String> {
    id_token::check_expiry(c, now).map_err(|e| e.to_string())?;
    id_token::check_issued_at(c, now).map_err(|e| e.to_string())?;
    let time = |name: &str| c.get(name).and_then(id_token::numeric_date);
    match (time("iat"), time("exp")) {
        (Some(iat), Some(exp)) if exp <= iat => {
            Err(format!("exp ({exp}) is not after iat ({iat})"))
        }
        (Some(_), Some(exp)) => Ok(format!("valid for {} s more", exp - now)),
        _ => Err(format!(
            "iat and exp must be numbers (RFC 7519 NumericDate); iat is {}, exp is {}",
            c.get("iat").map_or("missing".into(), shown_json),
            c.get("exp").map_or("missing".into(), shown_json)
        )),
    }
}

/// IDP-EXP-02: `exp - iat` at most [`MAX_ID_TOKEN_LIFETIME`].
fn lifetime(c: &Map<String, Value>) -> Result<String, String> {
    let time = |name: &str| c.get(name).and_then(id_token::numeric_date);
    match (time("iat"), time("exp")) {
        (Some(iat), Some(exp)) if exp - iat <= MAX_ID_TOKEN_LIFETIME => {
            Ok(format!("lifetime {} s", exp - iat))
        }
        (Some(iat), Some(exp)) => Err(format!(
            "lifetime {} s (exp - iat), more than {MAX_ID_TOKEN_LIFETIME} s",
            exp - iat
        )),
        _ => Err("iat or exp is missing or not a number, so the lifetime is unknown".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn times_are_numeric_dates_with_or_without_fractions() {
        let now = 1_800_000_000;
        let whole = claims(json!({"iat": now - 5, "exp": now + 300}));
        assert!(times(&whole, now).is_ok());
        assert_eq!(lifetime(&whole), Ok("lifetime 305 s".into()));
        // RFC 7519 §2: "non-integer values can be represented".
        let fractions = claims(json!({"iat": now as f64 - 4.5, "exp": now as f64 + 299.75}));
        assert!(
            times(&fractions, now).is_ok(),
            "{:?}",
            times(&fractions, now)
        );
        assert!(lifetime(&fractions).is_ok());
        // A string is no NumericDate; a missing exp or an exp before iat fails.
        let text = claims(json!({"iat": "1800000000", "exp": now + 300}));
        assert!(times(&text, now).is_err());
        assert!(times(&claims(json!({"iat": now})), now).is_err());
        let backwards = claims(json!({"iat": now, "exp": now - 1}));
        assert!(times(&backwards, now).is_err());
        assert!(lifetime(&claims(json!({"iat": now, "exp": now + 86_400}))).is_err());
    }
}
