//! The ID token checks: the signature by a published key (IDP-SIG-01) and the claims
//! (IDP-ISS-01 ... IDP-LEVEL-01), judged for every user's token.

use protocol::jose::{self, Alg, PublicJwk};
use serde_json::{Map, Value};

use super::{Attempt, CLOCK_SKEW, MAX_ID_TOKEN_LIFETIME, Run};
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
            Claim::Issuer => match c.get("iss").and_then(Value::as_str) {
                Some(iss) if iss == self.issuer => Ok("iss is the issuer".into()),
                Some(iss) => Err(format!(
                    "iss is {}, not {}",
                    shown(Some(iss)),
                    shown(Some(&self.issuer))
                )),
                None => Err("iss is missing".into()),
            },
            Claim::Subject => match c.get("sub") {
                Some(Value::String(sub)) if sub.is_empty() => Err("sub is empty".into()),
                Some(Value::String(sub)) if sub.chars().count() > MAX_SUB_LENGTH => Err(format!(
                    "sub is {} characters long; OpenID Connect Core §2 allows at most {MAX_SUB_LENGTH}",
                    sub.chars().count()
                )),
                Some(Value::String(_)) => Ok("sub is present".into()),
                Some(other) => Err(format!("sub is {}, not a string", shown_json(other))),
                None => Err("sub is missing".into()),
            },
            Claim::Audience => {
                let id = &self.idp.client_id;
                let auds: Vec<&str> = match c.get("aud") {
                    Some(Value::String(s)) => vec![s.as_str()],
                    Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                    _ => return Err("aud is missing".into()),
                };
                if !auds.contains(&id.as_str()) {
                    return Err(format!(
                        "aud is {}, which does not name {}",
                        shown_json(&c["aud"]),
                        shown(Some(id))
                    ));
                }
                match c.get("azp").and_then(Value::as_str) {
                    Some(azp) if azp != id => Err(format!(
                        "azp is {}, not {}",
                        shown(Some(azp)),
                        shown(Some(id))
                    )),
                    None if auds.len() > 1 => Err(format!(
                        "aud names {} audiences but there is no azp",
                        auds.len()
                    )),
                    _ => Ok("aud is the client".into()),
                }
            }
            Claim::Nonce => match c.get("nonce").and_then(Value::as_str) {
                Some(n) if n == t.user.nonce => Ok("nonce echoed".into()),
                Some(n) => Err(format!(
                    "nonce is {}; {} was sent",
                    shown(Some(n)),
                    shown(Some(&t.user.nonce))
                )),
                None => Err(format!(
                    "nonce is missing; {} was sent",
                    shown(Some(&t.user.nonce))
                )),
            },
            Claim::Times => {
                let time = |name: &str| c.get(name).and_then(Value::as_i64);
                let (Some(iat), Some(exp)) = (time("iat"), time("exp")) else {
                    return Err(format!(
                        "iat and exp must be numbers; iat is {}, exp is {}",
                        c.get("iat").map_or("missing".into(), shown_json),
                        c.get("exp").map_or("missing".into(), shown_json)
                    ));
                };
                if exp <= now {
                    Err(format!("exp is {exp}, {} s in the past", now - exp))
                } else if exp <= iat {
                    Err(format!("exp ({exp}) is not after iat ({iat})"))
                } else if iat > now + CLOCK_SKEW {
                    Err(format!("iat is {iat}, {} s in the future", iat - now))
                } else {
                    Ok(format!("valid for {} s more", exp - now))
                }
            }
            Claim::Lifetime => {
                let time = |name: &str| c.get(name).and_then(Value::as_i64);
                match (time("iat"), time("exp")) {
                    (Some(iat), Some(exp)) if exp - iat <= MAX_ID_TOKEN_LIFETIME => {
                        Ok(format!("lifetime {} s", exp - iat))
                    }
                    (Some(iat), Some(exp)) => Err(format!(
                        "lifetime {} s (exp - iat), more than {MAX_ID_TOKEN_LIFETIME} s",
                        exp - iat
                    )),
                    _ => Err("iat or exp is missing, so the lifetime is unknown".into()),
                }
            }
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
pub(super) fn sig(t: &Token<'_>, keys: &[PublicJwk]) -> Result<String, String> {
    let alg_text = t
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("(none given)");
    let Some(alg) = Alg::parse(alg_text) else {
        return Err(format!(
            "alg is {}; only the asymmetric RS, PS and ES algorithms are accepted",
            shown(Some(alg_text))
        ));
    };
    let jws = jose::parse_compact(t.raw).map_err(|e| format!("the ID token {e}"))?;
    let kid = t.header.get("kid").and_then(Value::as_str);
    let candidates: Vec<&PublicJwk> = match kid {
        Some(kid) => keys
            .iter()
            .filter(|k| k.kid.as_deref() == Some(kid))
            .collect(),
        None => keys.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(match kid {
            Some(kid) => format!(
                "signed by kid {}, which is not in the JWKS",
                shown(Some(kid))
            ),
            None => "no kid, and the JWKS has no key".into(),
        });
    }
    for key in &candidates {
        if jws.verify(key).is_ok() {
            return Ok(format!(
                "{alg} signature verifies with kid {}",
                key.kid.as_deref().unwrap_or("(none)")
            ));
        }
    }
    Err(format!(
        "the {alg} signature does not verify with {}",
        match kid {
            Some(kid) => format!("the JWKS key {}", shown(Some(kid))),
            None => format!("any of the {} JWKS keys", candidates.len()),
        }
    ))
}
