//! DPoP proofs (RFC 9449 §4.2 syntax, §4.3 checks) as HelseID uses them (reference §3,
//! "Formatering av DPoP-bevis"): `typ` `dpop+jwt`, an allow-listed asymmetric `alg`, a public
//! `jwk` in the header, `jti`, `htm`, `htu` (compared without query and fragment), `iat` in a
//! short window, `nonce` at the token endpoint and `ath` at APIs.
//!
//! Stateless: the caller checks the nonce it issued and the `jti` replay cache, with the
//! values returned here. The same function serves the STS's token endpoint, the Selvbetjening
//! API (a DPoP-protected resource), the reference API (`helseid_reference::api`, with its own
//! `iat` window through [`validate_with`]) and the conformance checks of APIs.

use thiserror::Error;

use crate::jose::{Alg, JoseError, JwkError, PublicJwk, parse_compact, sha256_b64};

/// How old a proof may be (Duende's default `ProofTokenValidityDuration`).
pub const MAX_AGE_SECS: i64 = 60;
/// Clock difference tolerated in both directions.
pub const CLOCK_SKEW_SECS: i64 = 5;

/// What the request the proof accompanies looks like.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The request's method.
    pub htm: &'a str,
    /// The request's URL as the server is known externally.
    pub htu: &'a str,
    pub now: i64,
    /// At an API: the access token the proof must be bound to (`ath`).
    pub access_token: Option<&'a str>,
}

/// A proof whose signature and claims are valid.
#[derive(Debug, Clone)]
pub struct Proof {
    /// RFC 7638 thumbprint of the proof key (`cnf.jkt`).
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
    pub alg: Alg,
    pub nonce: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DpopError {
    #[error("DPoP proof {0}")]
    Jose(#[from] JoseError),
    #[error("DPoP proof has typ {0:?}; it must be dpop+jwt")]
    Typ(String),
    #[error("DPoP proof lacks the typ header; it must be dpop+jwt")]
    MissingTyp,
    #[error("DPoP proof lacks the jwk header")]
    MissingJwk,
    #[error("DPoP proof jwk {0}")]
    Jwk(JwkError),
    #[error("DPoP proof lacks the {0} claim")]
    MissingClaim(&'static str),
    #[error("DPoP proof claim {0} has the wrong type")]
    ClaimType(&'static str),
    #[error("DPoP proof htm {got:?} does not match the request method {expected}")]
    Htm { got: String, expected: String },
    #[error("DPoP proof htu {got:?} does not match the request URL {expected}")]
    Htu { got: String, expected: String },
    #[error("DPoP proof iat {iat} is {age} s old; older proofs are not accepted")]
    TooOld { iat: i64, age: i64 },
    #[error("DPoP proof iat {iat} is in the future (now {now})")]
    InFuture { iat: i64, now: i64 },
    #[error("DPoP proof ath does not match the access token")]
    Ath,
    #[error("DPoP proof key does not match the access token's cnf.jkt")]
    Jkt,
}

/// How wide the `iat` window is (RFC 9449 §4.3 step 11, §11.1), and which request-binding
/// checks [`validate_with`] makes.
///
/// Turning a check off is for building deliberately flawed targets (the reference API's
/// `Flaw`s, which show that a conformance check catches the omission); a real validator
/// uses [`Policy::STRICT`] or [`Policy::window`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The oldest proof accepted: `now - iat` at most this (seconds).
    pub max_age: i64,
    /// The furthest future `iat` accepted: `iat - now` at most this (seconds).
    pub max_future: i64,
    /// Step 8: `htm` is the request's method.
    pub check_htm: bool,
    /// Step 9: `htu` is the request's URL.
    pub check_htu: bool,
    /// Step 11: `iat` is inside the window.
    pub check_iat: bool,
    /// Step 12 (at a resource): `ath` is the hash of the access token.
    pub check_ath: bool,
}

impl Policy {
    /// What [`validate`] applies: [`MAX_AGE_SECS`] plus [`CLOCK_SKEW_SECS`] into the past,
    /// [`CLOCK_SKEW_SECS`] into the future, every check on.
    pub const STRICT: Policy = Policy::window(MAX_AGE_SECS + CLOCK_SKEW_SECS, CLOCK_SKEW_SECS);

    /// Every check on, with this `iat` window.
    pub const fn window(max_age: i64, max_future: i64) -> Policy {
        Policy {
            max_age,
            max_future,
            check_htm: true,
            check_htu: true,
            check_iat: true,
            check_ath: true,
        }
    }
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::STRICT
    }
}

/// Verifies a DPoP proof for one request.
pub fn validate(proof: &str, rules: &Rules<'_>) -> Result<Proof, DpopError> {
    validate_with(proof, rules, &Policy::STRICT)
}

/// Verifies a DPoP proof for one request under `policy`: RFC 9449 §4.3's list, less what
/// needs state (step 1 the single header is the caller's, step 10 the nonce and step 12's
/// `jti` replay cache too; the proof's `jti` and `nonce` are returned for them):
///
/// 2. one well-formed JWS (`parse_compact`);
/// 3. the claims `jti`, `htm`, `htu`, `iat` (and `ath` at a resource) are present;
/// 4. `typ` is `dpop+jwt`;
/// 5. `alg` is an allow-listed asymmetric algorithm (never `none` or HS*);
/// 6. the signature verifies with the header's `jwk`;
/// 7. that `jwk` holds no private key;
/// 8. `htm` matches the request method;
/// 9. `htu` matches the request URL, without query and fragment;
/// 11. `iat` lies inside the policy's window;
/// 12. `ath` is the hash of the access token, when one is presented (§7.1).
pub fn validate_with(proof: &str, rules: &Rules<'_>, policy: &Policy) -> Result<Proof, DpopError> {
    let jws = parse_compact(proof)?;
    match jws.header.get("typ") {
        None => return Err(DpopError::MissingTyp),
        // serde_json has already unescaped `dpop\u002Bjwt`.
        Some(typ) => {
            let typ = typ.as_str().unwrap_or_default();
            if !is_dpop_typ(typ) {
                return Err(DpopError::Typ(typ.to_owned()));
            }
        }
    }
    let alg = jws.alg()?;
    let jwk = jws.header.get("jwk").ok_or(DpopError::MissingJwk)?;
    let key = PublicJwk::from_json(jwk).map_err(DpopError::Jwk)?;
    jws.verify(&key)?;

    let jti = jws
        .claim_str("jti")
        .filter(|j| !j.is_empty())
        .ok_or(DpopError::MissingClaim("jti"))?
        .to_owned();
    let htm = claim(&jws, "htm")?;
    if policy.check_htm && htm != rules.htm {
        return Err(DpopError::Htm {
            got: htm.into(),
            expected: rules.htm.into(),
        });
    }
    let htu = claim(&jws, "htu")?;
    if policy.check_htu && !htu_matches(htu, rules.htu) {
        return Err(DpopError::Htu {
            got: htu.into(),
            expected: rules.htu.into(),
        });
    }
    let iat = match jws.claim_time("iat") {
        None => return Err(DpopError::MissingClaim("iat")),
        Some(Err(())) => return Err(DpopError::ClaimType("iat")),
        Some(Ok(t)) => t,
    };
    if policy.check_iat && iat.saturating_sub(rules.now) > policy.max_future {
        return Err(DpopError::InFuture {
            iat,
            now: rules.now,
        });
    }
    if policy.check_iat && rules.now.saturating_sub(iat) > policy.max_age {
        return Err(DpopError::TooOld {
            iat,
            age: rules.now.saturating_sub(iat),
        });
    }
    if let Some(token) = rules.access_token.filter(|_| policy.check_ath) {
        let ath = claim(&jws, "ath")?;
        if !crate::jose::constant_time_eq(ath.as_bytes(), sha256_b64(token.as_bytes()).as_bytes()) {
            return Err(DpopError::Ath);
        }
    }
    // An empty nonce (HelseID's own example sends `"nonce":""`) counts as none.
    let nonce = jws
        .claim_str("nonce")
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    Ok(Proof {
        jkt: key.thumbprint(),
        jti,
        iat,
        alg,
        nonce,
    })
}

/// RFC 9449 §4.2: the header's `typ` is `dpop+jwt`. Media types compare case-insensitively
/// (RFC 7515 §4.1.9 via RFC 2045), so `DPoP+JWT` is the same type.
pub fn is_dpop_typ(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("dpop+jwt")
}

/// RFC 9449 §4.3 point 9: the proof's `htu` names the request's URL, both without query and
/// fragment and normalised ([`normalize_url`]).
pub fn htu_matches(htu: &str, request_url: &str) -> bool {
    normalize_url(htu) == normalize_url(request_url)
}

fn claim<'a>(jws: &'a crate::jose::Jws<'_>, name: &'static str) -> Result<&'a str, DpopError> {
    match jws.claims.get(name) {
        None => Err(DpopError::MissingClaim(name)),
        Some(v) => v.as_str().ok_or(DpopError::ClaimType(name)),
    }
}

/// The URL without query and fragment, scheme and host lower-cased, default port dropped
/// (RFC 9449 §4.3 point 9, RFC 3986 §6.2.2–6.2.3).
pub fn normalize_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => Some(":443"),
        "http" => Some(":80"),
        _ => None,
    };
    if let Some(port) = default_port
        && authority.ends_with(port)
    {
        authority.truncate(authority.len() - port.len());
    }
    format!("{scheme}://{authority}{path}")
}

/// Checks that the proof key is the one the access token is bound to (RFC 9449 §7.1).
pub fn check_binding(proof: &Proof, cnf_jkt: &str) -> Result<(), DpopError> {
    if crate::jose::constant_time_eq(proof.jkt.as_bytes(), cnf_jkt.as_bytes()) {
        Ok(())
    } else {
        Err(DpopError::Jkt)
    }
}

/// Builds a DPoP proof the way HelseID.Library does: header `typ`, `alg`, public `jwk`;
/// claims `jti` (new and random), `htm`, `htu`, `iat`, and `nonce`/`ath` when given.
pub fn build_proof(
    key: &crate::signing::SigningKey,
    htm: &str,
    htu: &str,
    now: i64,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> Result<String, crate::signing::KeyError> {
    build_proof_with_jti(
        key,
        htm,
        htu,
        now,
        nonce,
        access_token,
        &crate::jose::random_id(),
    )
}

/// [`build_proof`] with a given `jti`. A correct client never picks its own (RFC 9449 §4.2
/// wants it unique per proof); this is for flawed test clients that reuse one.
pub fn build_proof_with_jti(
    key: &crate::signing::SigningKey,
    htm: &str,
    htu: &str,
    now: i64,
    nonce: Option<&str>,
    access_token: Option<&str>,
    jti: &str,
) -> Result<String, crate::signing::KeyError> {
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), "dpop+jwt".into());
    let mut jwk = key.public_jwk().to_json();
    if let Some(map) = jwk.as_object_mut() {
        map.remove("kid");
        map.remove("use");
    }
    header.insert("jwk".into(), jwk);
    header.insert("kid".into(), serde_json::Value::Null);
    let mut claims = serde_json::json!({
        "jti": jti,
        "htm": htm,
        "htu": htu,
        "iat": now,
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = nonce.into();
    }
    if let Some(token) = access_token {
        claims["ath"] = sha256_b64(token.as_bytes()).into();
    }
    key.sign_jwt(header, &claims)
}

#[cfg(test)]
mod tests;
