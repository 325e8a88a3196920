//! Tokens about a logged-in user, from a code (RFC 6749 §4.1.3) or a refresh token (§6):
//! one access token per audience (reference §4.4: redeem the code for the first resource, then
//! a refresh token for each further one), the ID token (OIDC Core §2, §3.1.3.6), and a
//! rotating, one-time refresh token bound to the DPoP key (reference §4.6, RFC 9449 §5).

use protocol::assertion_details::{self, Detail};
use protocol::claims;
use protocol::oauth::{ErrorCode, TokenResponse};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::Sts;
use crate::access_token::{self, TokenSpec};
use crate::client_auth::internal;
use crate::error::OAuthError;
use crate::identity::{self, User};
use crate::store::{Api, Client};
use crate::tenancy;

/// The organisation an ID-porten login was made on behalf of.
pub const CLAIM_ON_BEHALF_OF: &str = "helseid://claims/client/on_behalf_of";

/// Lifetime of ID tokens (300 s in HelseID's 2017 example; Duende's default).
pub const ID_TOKEN_LIFETIME: i64 = 300;
/// Lifetime of refresh tokens: a working day (HelseID's ADR; its real value is UNCONFIRMED).
pub const REFRESH_LIFETIME: i64 = 10 * 3600;

/// What a refresh token (and the code before it) stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGrant {
    pub client_id: String,
    pub user: User,
    pub sid: String,
    /// Every scope the user consented to in the login.
    pub scopes: Vec<String>,
    /// The APIs named at PAR (tokens for others are refused when this is not empty).
    pub resources: Vec<String>,
    /// The DPoP key the refresh token is bound to.
    pub jkt: Option<String>,
    /// `authorization_details` of the request object.
    pub authorization_details: Option<Value>,
    /// ID-porten "on behalf of": the organisation the user logged in for (reference §9).
    #[serde(default)]
    pub on_behalf_of: Option<String>,
}

/// What this token request adds to the grant.
#[derive(Debug, Clone, Default)]
pub struct Issue<'a> {
    pub resource: Option<&'a str>,
    /// `scope` narrowing (refresh requests may ask for less).
    pub scope: Option<&'a str>,
    /// Details of this request's client assertion (org change, attestation).
    pub details: &'a [Detail],
    /// The nonce of the authorization request, for the ID token.
    pub nonce: Option<&'a str>,
    /// The DPoP key of this request.
    pub jkt: Option<&'a str>,
}

pub fn issue(
    sts: &Sts,
    client: &Client,
    grant: &UserGrant,
    req: &Issue<'_>,
) -> Result<TokenResponse, OAuthError> {
    let apis = sts.store.apis().map_err(internal)?;
    let audience = choose_audience(sts, grant, req.resource, &apis)?;
    let requested: Vec<String> = match req.scope {
        Some(s) => {
            let asked: Vec<String> = s.split_whitespace().map(str::to_owned).collect();
            if let Some(extra) = asked.iter().find(|a| !grant.scopes.contains(a)) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    format!(
                        "scope {extra:?} was not part of the login; a refresh can only narrow the scopes"
                    ),
                ));
            }
            asked
        }
        None => grant.scopes.clone(),
    };
    let scopes: Vec<String> = requested
        .iter()
        .filter(|s| {
            identity::is_user_scope(s) || api_of(&apis, s).is_some_and(|a| a.audience == audience)
        })
        .cloned()
        .collect();

    // This request's client assertion and the login's request object (protocol::
    // assertion_details::combine: the attestation through one channel only).
    let from_object = match &grant.authorization_details {
        Some(raw) => {
            assertion_details::parse(raw).map_err(|e| OAuthError::invalid_request(e.to_string()))?
        }
        None => Vec::new(),
    };
    let details: Vec<Detail> = assertion_details::combine(req.details, from_object)
        .map_err(|e| OAuthError::new(ErrorCode::AccessDenied, e.to_string()))?;
    let orgs = tenancy::resolve(
        &sts.store,
        client,
        &details,
        tenancy::OrgRequired::WhenNamed,
    )?;

    let mut extra: Map<String, Value> = grant.user.claims(&scopes, None);
    extra.insert("sid".into(), json!(grant.sid));
    if let Some(org) = &grant.on_behalf_of {
        extra.insert(CLAIM_ON_BEHALF_OF.into(), json!(org));
    }
    for d in &details {
        match d {
            Detail::SfmJournalId(id) => {
                extra.insert(claims::SFM_JOURNAL_ID.into(), json!(id));
            }
            Detail::Tillitsrammeverk(v) => {
                extra.insert(
                    claims::TILLITSRAMMEVERK.into(),
                    attestation(sts, &grant.user, v)?,
                );
            }
            Detail::Organisation(_) => {}
        }
    }
    let wants_id_token = scopes.iter().any(|s| s == identity::SCOPE_OPENID);
    // A conformance fault for the ID token is taken now: the retired-key fault must retire
    // the key before the access token is signed, so that token stays valid.
    let fault = if wants_id_token {
        sts.faults.take(crate::fault::Site::IdToken)
    } else {
        None
    };
    let retired = match fault {
        Some(crate::fault::Fault::RotatedOutKey) => {
            Some(sts.rotate_keys_retiring_old().map_err(internal)?)
        }
        Some(crate::fault::Fault::ExpiredKey) => sts.faults.take_retired(),
        _ => None,
    };
    let lifetime = sts.config.access_token_lifetime;
    let minted = access_token::mint(
        sts,
        &TokenSpec {
            client,
            audience: &audience,
            scopes: &scopes,
            jkt: req.jkt,
            orgs: &orgs,
            extra,
            lifetime,
        },
    )
    .map_err(internal)?;
    sts.store
        .put_user(&grant.user.subject(), &json!(grant.user))
        .map_err(internal)?;

    let id_token = if wants_id_token {
        Some(id_token(
            sts,
            client,
            grant,
            &scopes,
            req.nonce,
            &minted.jwt,
            Spoil {
                fault,
                retired: retired.as_deref(),
            },
        )?)
    } else {
        None
    };
    let (refresh_token, rt_expires_in) =
        if grant.scopes.iter().any(|s| s == identity::SCOPE_OFFLINE) {
            let token = new_refresh_token(sts, grant, req.jkt)?;
            (Some(token), Some(REFRESH_LIFETIME))
        } else {
            (None, None)
        };
    sts.audit(
            sts.now(),
            "user_token_issued",
            Some(&client.client_id),
            &json!({"jti": minted.jti, "aud": audience, "scope": scopes, "sid": grant.sid, "dpop": req.jkt.is_some()}),
        )
        .map_err(internal)?;
    Ok(TokenResponse {
        access_token: minted.jwt,
        token_type: if req.jkt.is_some() { "DPoP" } else { "Bearer" }.into(),
        expires_in: lifetime,
        scope: scopes.join(" "),
        rejected_scope: None,
        refresh_token,
        rt_expires_in,
        id_token,
    })
}

/// Checks a Tillitsrammeverk attestation and enriches it from the login and the registers
/// (reference §7.1, §7.3): the practitioner's identity and HPR number come from the user, the
/// names of organisations from the environment, never from the client.
fn attestation(sts: &Sts, user: &User, raw: &Value) -> Result<Value, OAuthError> {
    let att = protocol::tillitsrammeverk::validate(raw)
        .map_err(|e| OAuthError::new(ErrorCode::InvalidAuthorizationDetails, e.to_string()))?;
    let org_name = |id: &str| sts.store.organisation(id).ok().flatten().map(|o| o.name);
    let ctx = protocol::tillitsrammeverk::EnrichContext {
        practitioner_pid: &user.pid,
        practitioner_name: &user.name,
        hpr_number: user.hpr_number.clone(),
        org_name: &org_name,
        time_of_attestation: sts.now(),
    };
    Ok(protocol::tillitsrammeverk::enrich(&att, &ctx))
}

fn api_of<'a>(apis: &'a [Api], scope: &str) -> Option<&'a Api> {
    apis.iter().find(|a| a.scopes.iter().any(|s| s == scope))
}

/// The one audience: `resource` if given (it must have been named at PAR, when any were),
/// else the first PAR resource, else the API of the first API scope, else the STS itself.
fn choose_audience(
    sts: &Sts,
    grant: &UserGrant,
    resource: Option<&str>,
    apis: &[Api],
) -> Result<String, OAuthError> {
    if let Some(r) = resource {
        if !apis.iter().any(|a| a.audience == r) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!("resource {r:?} is not an API in this environment"),
            ));
        }
        if !grant.resources.is_empty() && !grant.resources.iter().any(|x| x == r) {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!(
                    "resource {r:?} was not requested at login (requested: {})",
                    grant.resources.join(", ")
                ),
            ));
        }
        if !grant
            .scopes
            .iter()
            .any(|s| claims::resource_of(s) == Some(r))
        {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                format!("no scope of resource {r:?} was granted in the login"),
            ));
        }
        return Ok(r.to_owned());
    }
    if let Some(first) = grant.resources.first() {
        return Ok(first.clone());
    }
    Ok(grant
        .scopes
        .iter()
        .find_map(|s| api_of(apis, s))
        .map(|a| a.audience.clone())
        .unwrap_or_else(|| format!("{}/resources", sts.config.issuer)))
}

/// The conformance fault for an ID token, if any ([`crate::fault`]).
struct Spoil<'a> {
    fault: Option<crate::fault::Fault>,
    /// The ring before a [`crate::fault::Fault::RotatedOutKey`] or
    /// [`crate::fault::Fault::ExpiredKey`] rotation: its active key is the retired one the ID
    /// token is signed with.
    retired: Option<&'a crate::keys::KeyRing>,
}

fn id_token(
    sts: &Sts,
    client: &Client,
    grant: &UserGrant,
    scopes: &[String],
    nonce: Option<&str>,
    access_token: &str,
    Spoil { fault, retired }: Spoil<'_>,
) -> Result<String, OAuthError> {
    let now = sts.now();
    let mut c = grant.user.claims(scopes, None);
    c.insert("iss".into(), json!(sts.config.issuer));
    c.insert("aud".into(), json!(client.client_id));
    c.insert("iat".into(), json!(now));
    c.insert("nbf".into(), json!(now));
    c.insert("exp".into(), json!(now + ID_TOKEN_LIFETIME));
    c.insert("sid".into(), json!(grant.sid));
    c.insert("acr".into(), json!(grant.user.acr()));
    if let Some(n) = nonce {
        c.insert("nonce".into(), json!(n));
    }
    // at_hash: left half of SHA-256 of the access token (OIDC Core §3.1.3.6).
    c.insert(
        "at_hash".into(),
        json!(protocol::jose::token_hash(
            protocol::jose::Alg::RS256,
            access_token
        )),
    );
    if let Some(f) = fault {
        crate::fault::spoil_claims(f, &mut c, now);
    }
    if fault == Some(crate::fault::Fault::RotatedKey) {
        sts.rotate_keys().map_err(internal)?;
    }
    let claims = Value::Object(c);
    let signed = match retired {
        Some(ring) => {
            let mut header = Map::new();
            header.insert("typ".into(), json!("JWT"));
            ring.active.sign_jwt(header, &claims).map_err(internal)?
        }
        None => access_token::sign(sts, "JWT", &claims).map_err(internal)?,
    };
    match fault {
        Some(f) => Ok(crate::fault::spoil_signature(f, &claims, &signed)
            .map_err(internal)?
            .unwrap_or(signed)),
        None => Ok(signed),
    }
}

/// The handle a refresh token is stored under: its hash, so a database copy cannot be used.
pub fn handle(token: &str) -> String {
    protocol::jose::sha256_b64(token.as_bytes())
}

fn new_refresh_token(
    sts: &Sts,
    grant: &UserGrant,
    jkt: Option<&str>,
) -> Result<String, OAuthError> {
    let token = format!(
        "{}-1",
        protocol::jose::random_hex::<32>().map_err(crate::client_auth::rng_failed)?
    );
    let mut bound = grant.clone();
    bound.jkt = jkt.map(str::to_owned);
    sts.store
        .put_refresh_token(&handle(&token), &json!(bound), sts.now() + REFRESH_LIFETIME)
        .map_err(internal)?;
    Ok(token)
}
