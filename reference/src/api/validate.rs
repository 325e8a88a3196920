//! Deciding whether a request may pass: [`validate_request`], a plain function of the
//! configuration, the issuer's keys, the proof replay cache, the request and the time.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use protocol::access_token::{
    self as at, AuthorizationError, ClaimError, Credentials, Scheme, SecurityLevelError,
    TillitsrammeverkError,
};
use protocol::claims;
use protocol::dpop::{self, DpopError, Policy, Rules};
use protocol::dpop_nonce::NonceIssuer;
use protocol::jose::{
    Alg, JoseError, Jws, PublicJwk, constant_time_eq, hmac_sha256, hs256_confusion_secret,
};
use protocol::replay::{Replay, ReplayCache};
use serde::Serialize;
use serde_json::{Map, Value};
use thiserror::Error;

use super::{ApiConfig, Flaw};

/// The `kid` of the token in the request's `Authorization` header, if the header holds a
/// token whose JOSE header can be read: what the key cache must hold before
/// [`validate_request`] runs. `None` when no keys are needed (no token, or an unreadable
/// one, which is refused before keys matter); `Some(None)` for a token without `kid`.
pub fn token_kid(headers: &HeaderMap) -> Option<Option<String>> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let credentials = at::parse_authorization(value).ok()?;
    let jws = protocol::jose::parse_compact(credentials.token).ok()?;
    Some(jws.header_str("kid").map(str::to_owned))
}

/// The caller of an accepted request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Caller {
    /// The token's `client_id`: the client system calling.
    pub client_id: String,
    /// How the token came: `Bearer` or `DPoP`.
    pub token_type: &'static str,
    pub scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The user's national identity number (`helseid://claims/identity/pid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_level: Option<u8>,
    /// `orgnr_child` when present, else `orgnr_parent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// The key the token is bound to (`cnf.jkt`), when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// Every claim of the token, for the API's own decisions.
    #[serde(skip)]
    pub claims: Map<String, Value>,
}

/// Why a request was refused. [`ApiRefusal::status`] and [`ApiRefusal::error_code`] give
/// the response (RFC 6750 §3.1, RFC 9449 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApiRefusal {
    /// No credentials this API understands: 401 with a bare challenge, no error code
    /// (RFC 6750 §3.1). `Some` when the request used another scheme (Basic, ...).
    #[error("{}", no_credentials(.0))]
    NoCredentials(Option<AuthorizationError>),
    /// A malformed request (RFC 6750 §3.1 `invalid_request`, 400).
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// A bad or missing token (`invalid_token`, 401), sent with `scheme`.
    #[error("{error}")]
    InvalidToken { scheme: Scheme, error: TokenError },
    /// A bad or missing proof (RFC 9449 §7.1 `invalid_dpop_proof`, 401).
    #[error("{0}")]
    InvalidProof(ProofError),
    /// A good token that does not grant this API (`insufficient_scope`, 403).
    #[error("{error}")]
    InsufficientScope { scheme: Scheme, error: ScopeError },
    /// The API cannot decide now (503): the issuer's keys are unavailable, or the proof
    /// replay cache is full of live entries.
    #[error("{0}")]
    Unavailable(String),
    /// The proof lacks a nonce of this API's, or its nonce is stale (RFC 9449 §9:
    /// `use_dpop_nonce`, 401); `nonce` is a fresh one for the `DPoP-Nonce` header.
    #[error("{}", if *.stale {
        "the DPoP proof's nonce is not one of this API's or is stale: repeat the request with a proof whose nonce is the DPoP-Nonce header of this response (RFC 9449 §9)"
    } else {
        "this API requires a nonce in DPoP proofs: repeat the request with a proof whose nonce is the DPoP-Nonce header of this response (RFC 9449 §9)"
    })]
    UseDpopNonce { nonce: String, stale: bool },
}

fn no_credentials(e: &Option<AuthorizationError>) -> String {
    match e {
        Some(e) => e.to_string(),
        None => "the request has no Authorization header; send an access token (`Authorization: DPoP <token>` with a DPoP proof, or `Authorization: Bearer <token>` where the API allows it)".to_owned(),
    }
}

impl ApiRefusal {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ApiRefusal::NoCredentials(_)
            | ApiRefusal::InvalidToken { .. }
            | ApiRefusal::InvalidProof(_)
            | ApiRefusal::UseDpopNonce { .. } => 401,
            ApiRefusal::InvalidRequest(_) => 400,
            ApiRefusal::InsufficientScope { .. } => 403,
            ApiRefusal::Unavailable(_) => 503,
        }
    }

    /// The `error` of the challenge and body; `None` for a bare challenge or a 503.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            ApiRefusal::NoCredentials(_) | ApiRefusal::Unavailable(_) => None,
            ApiRefusal::InvalidRequest(_) => Some("invalid_request"),
            ApiRefusal::InvalidToken { .. } => Some("invalid_token"),
            ApiRefusal::InvalidProof(_) => Some("invalid_dpop_proof"),
            ApiRefusal::UseDpopNonce { .. } => Some("use_dpop_nonce"),
            ApiRefusal::InsufficientScope { .. } => Some("insufficient_scope"),
        }
    }

    /// The scheme to challenge with: DPoP when the API requires it, for proof errors and
    /// for a DPoP-bound token sent as Bearer (which must come back with DPoP); otherwise
    /// the scheme the request used.
    pub fn challenge_scheme(&self, config: &ApiConfig) -> Scheme {
        match self {
            _ if config.require_dpop => Scheme::DPoP,
            ApiRefusal::InvalidProof(_)
            | ApiRefusal::UseDpopNonce { .. }
            | ApiRefusal::InvalidToken {
                error: TokenError::BoundTokenAsBearer,
                ..
            } => Scheme::DPoP,
            ApiRefusal::InvalidToken { scheme, .. }
            | ApiRefusal::InsufficientScope { scheme, .. } => *scheme,
            _ => Scheme::Bearer,
        }
    }
}

/// Why a token is not accepted (`invalid_token`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("{0}")]
    Authorization(AuthorizationError),
    #[error("the Authorization header is not visible ASCII")]
    Unreadable,
    #[error("the access token {0}")]
    Malformed(JoseError),
    #[error("{0}")]
    Claim(ClaimError),
    #[error("the access token has alg none: unsigned tokens are never accepted")]
    AlgNone,
    #[error(
        "the access token has the symmetric alg {0:?}: HelseID signs with RS256, and only asymmetric algorithms are accepted"
    )]
    Symmetric(String),
    #[error("the access token {0}")]
    Alg(JoseError),
    #[error("the access token has no kid header naming the issuer's signing key")]
    MissingKid,
    #[error("the access token is signed with key {0:?}, which the issuer does not publish")]
    UnknownKid(String),
    #[error("the access token is signed with {alg}, but the issuer's key {kid:?} is for {key_alg}")]
    KeyAlg {
        alg: Alg,
        kid: String,
        key_alg: String,
    },
    #[error("the access token's signature does not verify with the issuer's key")]
    Signature,
    #[error(
        "the access token has no client_id claim (RFC 9068 §2.2); an ID token or another kind of token is not an access token"
    )]
    MissingClientId,
    #[error(
        "this API accepts only DPoP-bound access tokens: send `Authorization: DPoP <token>` and a DPoP proof"
    )]
    DpopRequired,
    #[error(
        "the access token is DPoP-bound (cnf.jkt): send it as `Authorization: DPoP <token>` with a DPoP proof, not as a Bearer token (RFC 9449 §7.2)"
    )]
    BoundTokenAsBearer,
    #[error(
        "the access token is not DPoP-bound (it has no cnf.jkt), so it cannot be used with the DPoP scheme (RFC 9449 §7.1)"
    )]
    NotBound,
}

/// Why a DPoP proof is not accepted (`invalid_dpop_proof`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    #[error(
        "the request has no DPoP header; a DPoP token must come with a DPoP proof (RFC 9449 §7.1)"
    )]
    Missing,
    #[error("the request has more than one DPoP header (RFC 9449 §4.3 step 1)")]
    Many,
    #[error("the DPoP header is not visible ASCII")]
    Unreadable,
    #[error("{0}")]
    Invalid(DpopError),
    #[error(
        "the DPoP proof is signed by a key other than the one the access token is bound to (cnf.jkt)"
    )]
    Binding,
    #[error(
        "the DPoP proof's jti was already used (first at {first_seen}); every request needs a new proof (RFC 9449 §11.1)"
    )]
    Replayed { first_seen: i64 },
    /// Not the client's fault: answered with 503, not `invalid_dpop_proof`.
    #[error("the API is remembering too many DPoP proofs to accept new ones now; retry shortly")]
    ReplayCacheFull,
    /// An API that requires nonces got a proof without one ([`ApiConfig::require_dpop_nonce`]);
    /// answered `use_dpop_nonce` with a fresh one.
    #[error("the DPoP proof has no nonce")]
    NonceRequired,
    /// The proof's nonce was not issued here or is too old; answered like [`Self::NonceRequired`].
    #[error("the DPoP proof's nonce is not this API's or is stale")]
    StaleNonce,
}

/// Why a valid token does not grant this API (`insufficient_scope`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScopeError {
    #[error("the access token lacks the scope {}", .missing.join(", "))]
    Scope { missing: Vec<String> },
    #[error("the access token grants none of the scopes {}", .wanted.join(", "))]
    AnyScope { wanted: Vec<String> },
    /// No user, or no level of the login, where the API needs a logged-in user.
    #[error("{0}")]
    User(ClaimError),
    #[error(
        "this API needs a user logged in at security level {min} or higher; the access token has no {} claim",
        claims::SECURITY_LEVEL
    )]
    NoSecurityLevel { min: u8 },
    #[error("{0}")]
    MalformedSecurityLevel(SecurityLevelError),
    #[error("the user logged in at security level {got}; this API needs {min} or higher")]
    SecurityLevel { got: u8, min: u8 },
    #[error(
        "this API needs a Tillitsrammeverk attestation; the access token has no {} claim",
        claims::TILLITSRAMMEVERK
    )]
    NoTillitsrammeverk,
    #[error("{0}")]
    Tillitsrammeverk(TillitsrammeverkError),
    #[error(
        "the access token names no organisation ({} or {})",
        claims::ORGNR_CHILD,
        claims::ORGNR_PARENT
    )]
    NoOrganisation,
    #[error("this API does not serve organisation {0}")]
    Organisation(String),
}

fn invalid(scheme: Scheme, error: impl Into<TokenError>) -> ApiRefusal {
    ApiRefusal::InvalidToken {
        scheme,
        error: error.into(),
    }
}

impl From<ClaimError> for TokenError {
    fn from(e: ClaimError) -> TokenError {
        TokenError::Claim(e)
    }
}

/// Decides a request to the API at `url` (its full external URL; query and fragment are
/// ignored for DPoP) with `method` and `headers`, at time `now`. `keys` are the issuer's
/// published keys; `proofs` remembers the proofs seen and issues the API's nonces.
///
/// The steps, in order (each switched off by the [`Flaw`] named):
///
/// 1. One `Authorization` header with the Bearer or DPoP scheme and a token (RFC 6750
///    §2.1, RFC 9449 §7.1); none, or another scheme, is a request without credentials.
/// 2. The token is a compact JWS (RFC 7515 §3.1) with `typ` `at+jwt` or `JWT` (HelseID;
///    [`at::check_typ`]; [`Flaw::SkipTyp`], [`Flaw::AcceptMissingTyp`] for a token without).
/// 3. `alg` is RS/PS/ES 256/384/512, never `none` ([`Flaw::AcceptAlgNone`]) or HS*
///    ([`Flaw::AcceptHs256WithPublicKey`]) (RFC 8725 §3.1).
/// 4. `kid` names a published key ([`Flaw::AcceptUnknownKid`]) whose own `alg`, if any, is
///    the token's.
/// 5. The signature verifies with that key (RFC 7515 §5.2; [`Flaw::SkipSignature`]).
/// 6. `iss` is the issuer (RFC 9068 §4 step 2; [`Flaw::SkipIssuer`]).
/// 7. `exp` is present and not past, with leeway (step 6; [`Flaw::SkipExpiry`]).
/// 8. `nbf` and `iat` are not in the future, with leeway ([`Flaw::SkipNotBefore`]).
/// 9. `aud` is present ([`Flaw::AcceptMissingAudience`]), holds this API's audience (RFC 9068
///    §4 step 3; [`Flaw::SkipAudience`] for both) and nothing else (HelseID's should;
///    [`Flaw::AcceptSeveralAudiences`]).
/// 10. `client_id` is present (RFC 9068 §2.2; [`Flaw::SkipClientId`]): an ID token has none.
/// 11. Scheme and binding (RFC 9449 §7.1, §7.2): a token with `cnf.jkt` must come as DPoP
///     ([`Flaw::AcceptDpopTokenAsBearer`]); a DPoP token must have `cnf.jkt`; with
///     `require_dpop` a Bearer token is refused.
/// 12. For DPoP: exactly one `DPoP` header ([`Flaw::SkipDpopProof`] when absent), a valid
///     proof for this method ([`Flaw::SkipProofHtm`]) and URL ([`Flaw::SkipProofHtu`]),
///     fresh ([`Flaw::SkipProofIat`]), carrying this token's hash ([`Flaw::SkipProofAth`]),
///     signed by the token's key ([`Flaw::SkipProofKeyBinding`]), with a fresh nonce of this
///     API's when it requires one ([`ApiConfig::require_dpop_nonce`], RFC 9449 §9; a proof
///     answered `use_dpop_nonce` is not spent), never seen before
///     ([`Flaw::SkipProofReplay`]). The proof is spent here, before the grant is looked at.
/// 13. Every required scope, and one of the alternatives when there are any
///     ([`Flaw::SkipScope`]).
/// 14. For an API that needs a logged-in user ([`ApiConfig::needs_user`]): the token names the
///     user, pid or HPR number ([`Flaw::SkipUser`]).
/// 15. The user's security level: present when a user is needed, and at least the minimum
///     ([`Flaw::SkipSecurityLevel`]).
/// 16. The Tillitsrammeverk attestation: present ([`Flaw::SkipTillitsrammeverk`]) and well
///     formed ([`Flaw::SkipTillitsrammeverkShape`]).
/// 17. The organisation the client acts for, never a multi-tenant client's supplier
///     ([`Flaw::SupplierOrganisation`]), is served ([`Flaw::SkipOrganisation`]).
pub fn validate_request(
    config: &ApiConfig,
    keys: &[PublicJwk],
    proofs: ProofState<'_>,
    method: &str,
    url: &str,
    headers: &HeaderMap,
    now: i64,
) -> Result<Caller, ApiRefusal> {
    let flaw = |f: Flaw| config.has(f);
    let leeway = config.leeway_secs.max(0);

    // Step 1: the credentials.
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(ApiRefusal::NoCredentials(None))?;
    if values.next().is_some() {
        return Err(ApiRefusal::InvalidRequest(
            "the request has more than one Authorization header (RFC 6750 §3.1)",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| invalid(Scheme::Bearer, TokenError::Unreadable))?;
    let Credentials { scheme, token } = match at::parse_authorization(value) {
        Ok(c) => c,
        Err(e @ AuthorizationError::UnsupportedScheme(_)) => {
            return Err(ApiRefusal::NoCredentials(Some(e)));
        }
        Err(e @ (AuthorizationError::MissingToken(s) | AuthorizationError::MalformedToken(s))) => {
            return Err(invalid(s, TokenError::Authorization(e)));
        }
    };

    // Step 2: a JWT access token.
    let jws = protocol::jose::parse_compact(token)
        .map_err(|e| invalid(scheme, TokenError::Malformed(e)))?;
    match at::check_typ(&jws.header) {
        // The flaw: RFC 9068's at+jwt only.
        Ok(())
            if flaw(Flaw::OnlyAtJwt)
                && !jws
                    .header
                    .get("typ")
                    .and_then(Value::as_str)
                    .is_some_and(|t| at::same_typ(t, "at+jwt")) =>
        {
            return Err(invalid(
                scheme,
                ClaimError::Typ("JWT (this API takes only at+jwt)".into()),
            ));
        }
        Ok(()) => {}
        Err(_) if flaw(Flaw::SkipTyp) => {}
        Err(ClaimError::MissingTyp) if flaw(Flaw::AcceptMissingTyp) => {}
        Err(e) => return Err(invalid(scheme, e)),
    }

    // Steps 3-5: algorithm, key and signature.
    verify_signature(config, &jws, keys).map_err(|e| invalid(scheme, e))?;
    let claims = &jws.claims;

    // Steps 6-10: the claims.
    if !flaw(Flaw::SkipIssuer) {
        at::check_issuer(claims, &config.issuer).map_err(|e| invalid(scheme, e))?;
    }
    if !flaw(Flaw::SkipExpiry) {
        at::check_expiry(claims, now, leeway).map_err(|e| invalid(scheme, e))?;
    }
    if !flaw(Flaw::SkipNotBefore) {
        at::check_not_before(claims, now, leeway).map_err(|e| invalid(scheme, e))?;
    }
    // The flaws that let a token through without looking at its audience.
    let unchecked = flaw(Flaw::SkipAudience)
        || (!claims.contains_key("aud") && flaw(Flaw::AcceptMissingAudience));
    if !unchecked {
        at::check_audience(claims, &config.audience).map_err(|e| invalid(scheme, e))?;
        if !flaw(Flaw::AcceptSeveralAudiences) {
            at::check_sole_audience(claims, &config.audience).map_err(|e| invalid(scheme, e))?;
        }
    }
    let client_id = match at::string_claim(claims, "client_id").filter(|c| !c.is_empty()) {
        Some(c) => c.to_owned(),
        None if flaw(Flaw::SkipClientId) => String::new(),
        None => return Err(invalid(scheme, TokenError::MissingClientId)),
    };

    // Steps 11-12: scheme, binding and proof.
    let jkt = at::cnf_jkt(claims).map_err(|e| invalid(scheme, e))?;
    match (scheme, jkt) {
        (Scheme::Bearer, Some(_)) if !flaw(Flaw::AcceptDpopTokenAsBearer) => {
            return Err(invalid(scheme, TokenError::BoundTokenAsBearer));
        }
        (Scheme::Bearer, Some(_)) => {}
        (Scheme::Bearer, None) if config.require_dpop => {
            return Err(invalid(scheme, TokenError::DpopRequired));
        }
        (Scheme::Bearer, None) => {}
        (Scheme::DPoP, None) => return Err(invalid(scheme, TokenError::NotBound)),
        (Scheme::DPoP, Some(jkt)) => {
            let spent = ProofContext {
                replay: proofs.replay,
                nonces: proofs.nonces,
                headers,
                method,
                url,
                token,
                jkt,
                now,
            };
            check_proof(config, &spent).map_err(|e| match e {
                ProofError::ReplayCacheFull => ApiRefusal::Unavailable(e.to_string()),
                ProofError::NonceRequired | ProofError::StaleNonce => ApiRefusal::UseDpopNonce {
                    nonce: proofs.nonces.issue(now),
                    stale: e == ProofError::StaleNonce,
                },
                e => ApiRefusal::InvalidProof(e),
            })?;
        }
    }

    // Steps 13-17: what the token grants.
    let forbidden = |error| ApiRefusal::InsufficientScope { scheme, error };
    if !flaw(Flaw::SkipScope) {
        let missing = at::missing_scopes(claims, &config.required_scopes);
        if !missing.is_empty() {
            return Err(forbidden(ScopeError::Scope {
                missing: missing.into_iter().map(str::to_owned).collect(),
            }));
        }
        if !config.any_of_scopes.is_empty() && !at::grants_any_scope(claims, &config.any_of_scopes)
        {
            return Err(forbidden(ScopeError::AnyScope {
                wanted: config.any_of_scopes.clone(),
            }));
        }
    }
    if config.needs_user() && !flaw(Flaw::SkipUser) {
        at::check_user_identity(claims).map_err(|e| forbidden(ScopeError::User(e)))?;
    }
    if config.needs_user() && !flaw(Flaw::SkipSecurityLevel) {
        at::check_user_level(claims).map_err(|e| forbidden(ScopeError::User(e)))?;
    }
    let security_level = match at::security_level(claims) {
        Some(Ok(level)) => Some(level),
        Some(Err(e)) if config.min_security_level.is_some() && !flaw(Flaw::SkipSecurityLevel) => {
            return Err(forbidden(ScopeError::MalformedSecurityLevel(e)));
        }
        _ => None,
    };
    if let Some(min) = config.min_security_level
        && !flaw(Flaw::SkipSecurityLevel)
    {
        match security_level {
            None => return Err(forbidden(ScopeError::NoSecurityLevel { min })),
            Some(got) if got < min => {
                return Err(forbidden(ScopeError::SecurityLevel { got, min }));
            }
            Some(_) => {}
        }
    }
    if config.require_tillitsrammeverk {
        match at::tillitsrammeverk(claims) {
            None if !flaw(Flaw::SkipTillitsrammeverk) => {
                return Err(forbidden(ScopeError::NoTillitsrammeverk));
            }
            Some(Err(e)) if !flaw(Flaw::SkipTillitsrammeverkShape) => {
                return Err(forbidden(ScopeError::Tillitsrammeverk(e)));
            }
            _ => {}
        }
    }
    let organisation = at::organisation(claims).map(str::to_owned);
    if !config.allowed_orgs.is_empty() && !flaw(Flaw::SkipOrganisation) {
        let supplier_served = flaw(Flaw::SupplierOrganisation)
            && at::string_claim(claims, claims::ORGNR_SUPPLIER)
                .is_some_and(|s| config.allowed_orgs.iter().any(|o| o == s));
        match &organisation {
            _ if supplier_served => {}
            None => return Err(forbidden(ScopeError::NoOrganisation)),
            Some(org) if !config.allowed_orgs.contains(org) => {
                return Err(forbidden(ScopeError::Organisation(org.clone())));
            }
            Some(_) => {}
        }
    }

    Ok(Caller {
        client_id,
        token_type: scheme.as_str(),
        scopes: at::scopes(claims).into_iter().map(str::to_owned).collect(),
        sub: at::string_claim(claims, "sub").map(str::to_owned),
        pid: at::string_claim(claims, claims::PID).map(str::to_owned),
        security_level,
        organisation,
        jkt: jkt.map(str::to_owned),
        claims: claims.clone(),
    })
}

/// Steps 3-5: the token's algorithm, key and signature.
fn verify_signature(
    config: &ApiConfig,
    jws: &Jws<'_>,
    keys: &[PublicJwk],
) -> Result<(), TokenError> {
    let flaw = |f: Flaw| config.has(f);
    let alg_name = jws.header_str("alg").unwrap_or_default();
    let kid = jws.header_str("kid");
    let by_kid = kid.and_then(|kid| keys.iter().find(|k| k.kid.as_deref() == Some(kid)));

    // Step 3: never unsigned, never symmetric (RFC 8725 §3.1).
    if alg_name.eq_ignore_ascii_case("none") {
        return if flaw(Flaw::AcceptAlgNone) {
            Ok(())
        } else {
            Err(TokenError::AlgNone)
        };
    }
    if alg_name
        .get(..2)
        .is_some_and(|p| p.eq_ignore_ascii_case("HS"))
    {
        if alg_name == "HS256" && flaw(Flaw::AcceptHs256WithPublicKey) {
            let candidates: Vec<&PublicJwk> = match by_kid {
                Some(key) => vec![key],
                None => keys.iter().collect(),
            };
            // What the flawed library does: HMAC over the signing input, keyed with the
            // public key (which `Jws::verify` rightly refuses to do).
            return candidates
                .into_iter()
                .any(|key| {
                    let mac =
                        hmac_sha256(&hs256_confusion_secret(key), jws.signing_input().as_bytes());
                    constant_time_eq(&mac, jws.signature())
                })
                .then_some(())
                .ok_or(TokenError::Signature);
        }
        return Err(TokenError::Symmetric(alg_name.chars().take(16).collect()));
    }
    let alg = jws.alg().map_err(TokenError::Alg)?;

    // Step 4: the key the kid names.
    let key = match (kid, by_kid) {
        (_, Some(key)) => key,
        _ if flaw(Flaw::AcceptUnknownKid) => {
            if flaw(Flaw::SkipSignature) {
                return Ok(());
            }
            return keys
                .iter()
                .any(|key| jws.verify(key).is_ok())
                .then_some(())
                .ok_or(TokenError::Signature);
        }
        (None, None) => return Err(TokenError::MissingKid),
        (Some(kid), None) => return Err(TokenError::UnknownKid(kid.chars().take(64).collect())),
    };
    if let Some(key_alg) = &key.alg
        && key_alg != alg.as_str()
    {
        return Err(TokenError::KeyAlg {
            alg,
            kid: key.kid.clone().unwrap_or_default(),
            key_alg: key_alg.clone(),
        });
    }

    // Step 5: the signature.
    if flaw(Flaw::SkipSignature) {
        return Ok(());
    }
    match jws.verify(key) {
        Ok(_) => Ok(()),
        Err(JoseError::KeyAlgMismatch { alg, kty }) => Err(TokenError::KeyAlg {
            alg,
            kid: key.kid.clone().unwrap_or_default(),
            key_alg: kty.to_owned(),
        }),
        Err(_) => Err(TokenError::Signature),
    }
}

/// What the API keeps about DPoP proofs: the `jti`s seen (a valid proof's is recorded) and
/// the key of its nonces (used when it requires them).
#[derive(Debug, Clone, Copy)]
pub struct ProofState<'a> {
    pub replay: &'a ReplayCache,
    pub nonces: &'a NonceIssuer,
}

/// What step 12 judges a proof against.
struct ProofContext<'a> {
    replay: &'a ReplayCache,
    nonces: &'a NonceIssuer,
    headers: &'a HeaderMap,
    method: &'a str,
    url: &'a str,
    token: &'a str,
    jkt: &'a str,
    now: i64,
}

/// Step 12: the DPoP proof for a token bound to `jkt` (RFC 9449 §4.3, §7.1, §9).
fn check_proof(config: &ApiConfig, cx: &ProofContext<'_>) -> Result<(), ProofError> {
    let now = cx.now;
    let flaw = |f: Flaw| config.has(f);
    let mut values = cx.headers.get_all("DPoP").iter();
    let Some(proof) = values.next() else {
        return if flaw(Flaw::SkipDpopProof) {
            Ok(())
        } else {
            Err(ProofError::Missing)
        };
    };
    if values.next().is_some() {
        return Err(ProofError::Many);
    }
    let proof = proof.to_str().map_err(|_| ProofError::Unreadable)?;
    let window = config.proof_window();
    let policy = Policy {
        check_htm: !flaw(Flaw::SkipProofHtm),
        check_htu: !flaw(Flaw::SkipProofHtu),
        check_iat: !flaw(Flaw::SkipProofIat),
        check_ath: !flaw(Flaw::SkipProofAth),
        ..Policy::window(window, window)
    };
    let rules = Rules {
        htm: cx.method,
        htu: cx.url,
        now,
        access_token: Some(cx.token),
    };
    let proof = dpop::validate_with(proof, &rules, &policy).map_err(ProofError::Invalid)?;
    if !flaw(Flaw::SkipProofKeyBinding) {
        dpop::check_binding(&proof, cx.jkt).map_err(|_| ProofError::Binding)?;
    }
    // Before the replay cache: a proof answered use_dpop_nonce is not spent (as at the STS).
    if config.require_dpop_nonce {
        match proof.nonce.as_deref() {
            None => return Err(ProofError::NonceRequired),
            Some(n) if !cx.nonces.is_valid(n, now) => return Err(ProofError::StaleNonce),
            Some(_) => {}
        }
    }
    if !flaw(Flaw::SkipProofReplay) {
        // Remembered for as long as a proof with this iat could be accepted, and at least
        // one window from now.
        let until = proof.iat.max(now).saturating_add(window);
        let key = format!("{}\u{0}{}", proof.jkt, proof.jti);
        match cx.replay.check_and_insert(key, now, until) {
            Ok(()) => {}
            Err(Replay::Seen { at }) => return Err(ProofError::Replayed { first_seen: at }),
            Err(Replay::Full) => return Err(ProofError::ReplayCacheFull),
        }
    }
    Ok(())
}
