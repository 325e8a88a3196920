//! Access tokens: JWTs (RFC 9068 shape, `typ` `at+jwt` as Duende emits) signed RS256 with the
//! STS key, one audience each (RFC 8707; HelseID's "one audience per token"), carrying
//! HelseID's client claims (reference §5.3) and `cnf.jkt` when DPoP-bound (RFC 9449 §6.1).
//!
//! [`verify`] is the other half, for the endpoints of the STS that accept its own tokens
//! (introspection, the Selvbetjening API).

use protocol::claims;
use protocol::jose::{self, parse_compact};
use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::Sts;
use crate::keys::KeysError;
use crate::store::Client;
use crate::tenancy::OrgClaims;

/// What goes into one token.
#[derive(Debug, Clone)]
pub struct TokenSpec<'a> {
    pub client: &'a Client,
    pub audience: &'a str,
    pub scopes: &'a [String],
    pub jkt: Option<&'a str>,
    pub orgs: &'a OrgClaims,
    /// Further claims (`nhn:sfm:journal_id`, `nhn:tillitsrammeverk:parameters`, ...).
    pub extra: Map<String, Value>,
    pub lifetime: i64,
}

/// A signed token and the facts the caller reports.
#[derive(Debug, Clone)]
pub struct Minted {
    pub jwt: String,
    pub jti: String,
    pub exp: i64,
}

/// `client_amr` for a key type (reference §5.4 shows `rsa_private_key`; the EC value is
/// the testbed's analogue).
pub fn client_amr(client: &Client) -> &'static str {
    let ec = client
        .keys
        .first()
        .and_then(|k| k.jwk.get("kty"))
        .and_then(Value::as_str)
        == Some("EC");
    if ec {
        "ec_private_key"
    } else {
        "rsa_private_key"
    }
}

pub fn mint(sts: &Sts, spec: &TokenSpec<'_>) -> Result<Minted, KeysError> {
    let now = sts.now();
    let jti = jose::random_id();
    let exp = now + spec.lifetime;
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(sts.config.issuer));
    claims.insert("nbf".into(), json!(now));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(exp));
    claims.insert("aud".into(), json!(spec.audience));
    claims.insert("scope".into(), json!(spec.scopes));
    claims.insert("client_id".into(), json!(spec.client.client_id));
    claims.insert("jti".into(), json!(jti));
    if let Some(jkt) = spec.jkt {
        claims.insert("cnf".into(), json!({ "jkt": jkt }));
    }
    claims.insert(claims::CLIENT_NAME.into(), json!(spec.client.name));
    claims.insert(
        claims::CLIENT_TENANCY.into(),
        json!(spec.client.tenancy.as_str()),
    );
    if let Some(p) = &spec.orgs.parent {
        claims.insert(claims::ORGNR_PARENT.into(), json!(p));
    }
    if let Some(c) = &spec.orgs.child {
        claims.insert(claims::ORGNR_CHILD.into(), json!(c));
    }
    if let Some(s) = &spec.orgs.supplier {
        claims.insert(claims::ORGNR_SUPPLIER.into(), json!(s));
    }
    claims.insert(claims::CLIENT_AMR.into(), json!(client_amr(spec.client)));
    // Audience-specific client claims go only into tokens for their API (the claim type is
    // `<audience>/<name>`, as Selvbetjening's examples show), and never replace a claim the
    // STS set: a client must not be able to name its own `client_id` or `aud`.
    for c in &spec.client.audience_specific_claims {
        if claims::resource_of(&c.claim_type) == Some(spec.audience) {
            claims
                .entry(c.claim_type.clone())
                .or_insert_with(|| json!(c.value));
        }
    }
    claims.extend(spec.extra.clone());
    let jwt = sign(sts, "at+jwt", &Value::Object(claims))?;
    Ok(Minted { jwt, jti, exp })
}

/// Signs `claims` with the active key and the given `typ`.
pub fn sign(sts: &Sts, typ: &str, claims: &Value) -> Result<String, KeysError> {
    let ring = sts.keys()?;
    let mut header = Map::new();
    header.insert("typ".into(), json!(typ));
    ring.active
        .sign_jwt(header, claims)
        .map_err(|source| KeysError::Key {
            kid: ring.active.kid.clone(),
            source,
        })
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("the access token {0}")]
    Malformed(String),
    /// Not an access token by its `typ` (protocol's rule, the one every API applies).
    #[error("{0}")]
    Typ(protocol::access_token::ClaimError),
    #[error("the access token is signed with key {0:?}, which this STS does not publish")]
    UnknownKey(String),
    #[error("the access token's signature does not verify")]
    Signature,
    #[error("the access token was issued by {0:?}, not this STS")]
    Issuer(String),
    #[error("the access token expired at {0}")]
    Expired(i64),
    #[error("the access token is not valid before {0}")]
    NotYetValid(i64),
    #[error("the access token has been revoked")]
    Revoked,
    #[error("the STS could not read its keys: {0}")]
    Keys(String),
}

/// Checks a token this STS issued: an access token by its `typ`, signature with a published
/// key, issuer, lifetime and revocation. Returns its claims.
pub fn verify(sts: &Sts, token: &str) -> Result<Map<String, Value>, TokenError> {
    let jws = parse_compact(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
    protocol::access_token::check_typ(&jws.header).map_err(TokenError::Typ)?;
    let kid = jws.header_str("kid").unwrap_or_default().to_owned();
    let now = sts.now();
    let ring = sts.keys().map_err(|e| TokenError::Keys(e.to_string()))?;
    let key = ring
        .find(&kid, now)
        .ok_or_else(|| TokenError::UnknownKey(kid.clone()))?;
    jws.verify(key).map_err(|_| TokenError::Signature)?;
    let iss = jws.claim_str("iss").unwrap_or_default();
    if iss != sts.config.issuer {
        return Err(TokenError::Issuer(iss.to_owned()));
    }
    let exp = jws
        .claim_time("exp")
        .and_then(Result::ok)
        .unwrap_or(i64::MIN);
    if exp <= now {
        return Err(TokenError::Expired(exp));
    }
    if let Some(Ok(nbf)) = jws.claim_time("nbf")
        && nbf > now + 5
    {
        return Err(TokenError::NotYetValid(nbf));
    }
    if let Some(jti) = jws.claim_str("jti")
        && sts
            .store
            .is_revoked(jti)
            .map_err(|e| TokenError::Keys(e.to_string()))?
    {
        return Err(TokenError::Revoked);
    }
    Ok(jws.claims)
}
