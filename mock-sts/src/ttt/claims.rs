//! The claims of a test token, group by group as the TTT request model orders them
//! (reference §5, §7.3, §4.7; S `Utilities/TestTokenTool` README):
//!
//! * general claims every token has: `iss`, `aud`, `iat`, `nbf`, `exp`, `jti`, and `cnf` when
//!   bound to a key;
//! * client claims (`clientClaimsParameters`): `client_id`, `scope`, client name, tenancy,
//!   organisation numbers, client AMRs, SFM journal id;
//! * user claims (`userClaimsParameters`): pid, levels, HPR number, names, `idp`, `amr`,
//!   `sub`, `sid`, with look-ups in the synthetic population standing in for Persontjenesten
//!   and the HPR register;
//! * `nhn:tillitsrammeverk:parameters` (`createTillitsrammeverkClaims`);
//! * API-specific claims and the token-exchange `act` claim.
//!
//! Client and user claims follow `*ClaimsParametersGeneration` and `withoutDefault*Claims`:
//! the group's default claims, the non-empty parameter values, or defaults overridden by
//! values (the default when the request does not say, as in the TestTokenTool CLI). The
//! legacy names `generalClaimsParameters*`/`withoutDefaultGeneralClaims` mean the client
//! group. The default values are the testbed's own (the real service's are not published):
//!
//! | claim | default |
//! |---|---|
//! | `aud` | `nhn:some:api` (TestTokenTool README) |
//! | `exp` − `iat` | 600 s (TestTokenTool README); `setExpirationTimeAsExpired` puts `exp` [`EXPIRED_SINCE_SECS`] in the past and keeps the lifetime |
//! | `jti` | random, or `clientClaimsParameters.jti` |
//! | `client_id`, client name | [`DEFAULT_CLIENT_ID`], [`DEFAULT_CLIENT_NAME`] |
//! | `scope` | `["<aud>/scope"]` |
//! | `orgnr_parent`, `client_amr` | HelseID's sample organisation 999977774, `rsa_private_key` |
//! | user | the synthetic population's first health worker: pid, HPR number, names; `security_level` 4, `assurance_level` high, `network` internett, `idp` testidp-oidc, `amr` `["pwd"]` |
//! | Tillitsrammeverk | the token's user as practitioner, its `orgnr_parent`/`orgnr_child` as legal entity and point of care, LE, S03, TREAT, POLBESOK |
//! | `act` | `iss` this STS, `client_id` [`DEFAULT_ACTOR_CLIENT_ID`] |

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::claims::{
    ASSURANCE_LEVEL, CLIENT_AMR, CLIENT_NAME, CLIENT_TENANCY_TTT, HELSEID_CLIENT_AMR, HPR_NUMBER,
    NETWORK, ORGNR_CHILD, ORGNR_PARENT, ORGNR_SUPPLIER, PID, PID_PSEUDONYM, SECURITY_LEVEL,
    SFM_JOURNAL_ID, TILLITSRAMMEVERK,
};
use protocol::jose::{self, PublicJwk};
use protocol::ttt::{
    ApiSpecificClaim, ClientClaimsParameters, ClientTenancyType, DEFAULT_AUDIENCE,
    DEFAULT_EXPIRATION_SECONDS, ParametersGeneration, TokenExchangeParameters, TttTokenRequest,
    UserClaimsParameters, given,
};
use serde_json::{Map, Value, json};
use synthpop::{Person, Population};

use super::{TttError, internal, tillitsrammeverk};
use crate::Sts;
use crate::seed::SAMPLE_PARENT;

/// `client_id` of the default client claims (a fixed GUID, as HelseID client ids are).
pub const DEFAULT_CLIENT_ID: &str = "7e57c11e-0000-4000-8000-000000000777";
/// `helseid://claims/client/client_name` of the default client claims.
pub const DEFAULT_CLIENT_NAME: &str = "HelseID testbed TTT client";
/// `client_amr` of the default client claims (the value the STS issues for RSA keys).
pub const DEFAULT_CLIENT_AMR: &str = "rsa_private_key";
/// Scope of the default client claims, after `<audience>/`.
pub const DEFAULT_SCOPE_NAME: &str = "scope";
/// `act.client_id` when `tokenExchangeParameters.clientId` is empty.
pub const DEFAULT_ACTOR_CLIENT_ID: &str = "7e57c11e-0000-4000-8000-00000000ac70";
/// `iss` of `setInvalidIssuer` (the reserved `.invalid` TLD, RFC 2606).
pub const INVALID_ISSUER: &str = "https://helseid-sts.invalid";
/// `aud` of `setInvalidAudience`.
pub const INVALID_AUDIENCE: &str = "nhn:invalid-audience";
/// With `setExpirationTimeAsExpired`, `exp` lies this far in the past: beyond the clock skew
/// any validator allows (ASP.NET's default is 5 minutes).
pub const EXPIRED_SINCE_SECS: i64 = 3600;

/// Claims an API-specific claim may not replace.
const RESERVED: [&str; 7] = ["iss", "aud", "iat", "nbf", "exp", "jti", "cnf"];

/// Whether a claim group gets its defaults and its parameter values.
#[derive(Debug, Clone, Copy)]
struct Generation {
    defaults: bool,
    values: bool,
}

impl Generation {
    fn of(mode: Option<ParametersGeneration>, without_defaults: bool) -> Generation {
        use ParametersGeneration::*;
        let mode = mode.unwrap_or(GenerateDefaultWithClaimsFromNonEmptyParameterValues);
        Generation {
            defaults: !without_defaults
                && matches!(
                    mode,
                    GenerateOnlyDefault | GenerateDefaultWithClaimsFromNonEmptyParameterValues
                ),
            values: matches!(
                mode,
                GenerateOnlyFromNonEmptyParameterValues
                    | GenerateDefaultWithClaimsFromNonEmptyParameterValues
            ),
        }
    }
}

/// One of two spellings of a request field: the current name or its legacy one.
fn one_of<'a, T>(
    current: &'a Option<T>,
    legacy: &'a Option<T>,
    names: (&'static str, &'static str),
) -> Result<Option<&'a T>, TttError> {
    match (current, legacy) {
        (Some(_), Some(_)) => Err(TttError::Conflict {
            first: names.0,
            second: names.1,
            why: "the second is the legacy name of the first",
        }),
        (c, l) => Ok(c.as_ref().or(l.as_ref())),
    }
}

/// All claims of the token `request` describes. `dpop_jkt` is the thumbprint to bind the
/// token to when the service makes the DPoP proof.
pub(super) fn build(
    sts: &Sts,
    request: &TttTokenRequest,
    dpop_jkt: Option<&str>,
    now: i64,
) -> Result<Map<String, Value>, TttError> {
    let client_mode = one_of(
        &request.client_claims_parameters_generation,
        &request.general_claims_parameters_generation,
        (
            "clientClaimsParametersGeneration",
            "generalClaimsParametersGeneration",
        ),
    )?;
    let client_without = one_of(
        &request.without_default_client_claims,
        &request.without_default_general_claims,
        ("withoutDefaultClientClaims", "withoutDefaultGeneralClaims"),
    )?;
    let client_params = one_of(
        &request.client_claims_parameters,
        &request.general_claims_parameters,
        ("clientClaimsParameters", "generalClaimsParameters"),
    )?;
    let client_gen = Generation::of(client_mode.copied(), client_without == Some(&true));
    let client_values = client_params.filter(|_| client_gen.values);
    let user_gen = Generation::of(
        request.user_claims_parameters_generation,
        request.without_default_user_claims == Some(true),
    );
    let user_values = request
        .user_claims_parameters
        .as_ref()
        .filter(|_| user_gen.values);

    let audience = given(&request.audience).unwrap_or(DEFAULT_AUDIENCE);
    let mut claims = general(sts, request, audience, client_values, now)?;
    claims.extend(client(client_gen, client_values, audience));
    if let Some(jkt) = cnf(dpop_jkt, client_values)? {
        claims.insert("cnf".into(), json!({ "jkt": jkt }));
    }
    let mut registers = Registers::new(sts);
    let user = user(request, user_gen, user_values, &claims, &mut registers)?;
    claims.extend(user);
    if request.create_tillitsrammeverk_claims == Some(true) {
        let value = tillitsrammeverk::claim(
            sts,
            request.tillitsrammeverk_claims_parameters.as_ref(),
            &claims,
        )?;
        claims.insert(TILLITSRAMMEVERK.into(), value);
    }
    if request.create_token_exchange_claims == Some(true) {
        let act = act(
            request.token_exchange_parameters.as_ref(),
            &sts.config.issuer,
        );
        claims.insert("act".into(), act);
    }
    api_specific(
        &mut claims,
        request.api_specific_claims.as_deref().unwrap_or(&[]),
    )?;
    if request.set_invalid_issuer == Some(true) {
        claims.insert("iss".into(), json!(INVALID_ISSUER));
    }
    if request.set_invalid_audience == Some(true) {
        claims.insert("aud".into(), json!(INVALID_AUDIENCE));
    }
    Ok(claims)
}

/// `iss`, `aud`, `iat`, `nbf`, `exp`, `jti`.
fn general(
    sts: &Sts,
    request: &TttTokenRequest,
    audience: &str,
    client_values: Option<&ClientClaimsParameters>,
    now: i64,
) -> Result<Map<String, Value>, TttError> {
    let expiration = request.expiration_parameters.clone().unwrap_or_default();
    let lifetime = match (expiration.seconds(), expiration.days()) {
        (Some(_), Some(_)) => {
            return Err(TttError::Conflict {
                first: "expirationParameters.expirationTimeInSeconds",
                second: "expirationParameters.expirationTimeInDays",
                why: "a token has one lifetime",
            });
        }
        (Some(s), None) if s <= 0 => {
            return Err(TttError::Lifetime {
                field: "expirationTimeInSeconds",
                value: s,
            });
        }
        (None, Some(d)) if d <= 0 => {
            return Err(TttError::Lifetime {
                field: "expirationTimeInDays",
                value: d,
            });
        }
        (Some(s), None) => i64::from(s),
        (None, Some(d)) => i64::from(d) * 86_400,
        (None, None) => i64::from(DEFAULT_EXPIRATION_SECONDS),
    };
    let exp = if expiration.set_expiration_time_as_expired == Some(true) {
        now - EXPIRED_SINCE_SECS
    } else {
        now + lifetime
    };
    let iat = exp - lifetime;
    let jti = client_values
        .and_then(|c| given(&c.jti))
        .map_or_else(jose::random_id, str::to_owned);
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(sts.config.issuer));
    claims.insert("aud".into(), json!(audience));
    claims.insert("iat".into(), json!(iat));
    claims.insert("nbf".into(), json!(iat));
    claims.insert("exp".into(), json!(exp));
    claims.insert("jti".into(), json!(jti));
    Ok(claims)
}

/// Client claims: defaults, then the non-empty parameter values.
fn client(
    generation: Generation,
    values: Option<&ClientClaimsParameters>,
    audience: &str,
) -> Map<String, Value> {
    let mut claims = Map::new();
    if generation.defaults {
        claims.insert("client_id".into(), json!(DEFAULT_CLIENT_ID));
        claims.insert(CLIENT_NAME.into(), json!(DEFAULT_CLIENT_NAME));
        claims.insert(
            "scope".into(),
            json!([format!("{audience}/{DEFAULT_SCOPE_NAME}")]),
        );
        claims.insert(ORGNR_PARENT.into(), json!(SAMPLE_PARENT));
        claims.insert(CLIENT_AMR.into(), json!(DEFAULT_CLIENT_AMR));
    }
    let Some(c) = values else {
        return claims;
    };
    if let Some(scope) = c.scope.as_ref().filter(|s| !s.is_empty()) {
        claims.insert("scope".into(), json!(scope));
    }
    for (name, value) in [
        ("client_id", &c.client_id),
        (CLIENT_NAME, &c.client_name),
        (SFM_JOURNAL_ID, &c.sfm_journal_id),
        (ORGNR_PARENT, &c.orgnr_parent),
        (ORGNR_CHILD, &c.orgnr_child),
        (ORGNR_SUPPLIER, &c.orgnr_supplier),
        (
            HELSEID_CLIENT_AMR,
            &c.client_authentication_methods_references,
        ),
    ] {
        if let Some(v) = given(value) {
            claims.insert(name.into(), json!(v));
        }
    }
    if c.client_tenancy == Some(true) {
        let tenancy = match c
            .client_tenancy_type
            .unwrap_or(ClientTenancyType::MultiTenant)
        {
            ClientTenancyType::MultiTenant => "multi-tenant",
            ClientTenancyType::SingleTenant => "single-tenant",
            ClientTenancyType::None => "none",
        };
        claims.insert(CLIENT_TENANCY_TTT.into(), json!(tenancy));
    }
    let amrs: Vec<&String> = c
        .authentication_methods_references
        .iter()
        .flatten()
        .filter(|a| !a.is_empty())
        .collect();
    if let Some(amr) = single_or_array(&amrs) {
        claims.insert(CLIENT_AMR.into(), amr);
    }
    claims
}

/// One value as a string, several as an array (how .NET's JWT handler writes repeated
/// claims); `None` for none.
fn single_or_array<T: AsRef<str>>(values: &[T]) -> Option<Value> {
    match values {
        [] => None,
        [one] => Some(json!(one.as_ref())),
        many => Some(json!(many.iter().map(AsRef::as_ref).collect::<Vec<&str>>())),
    }
}

/// The `cnf.jkt` of the token: the generated proof key's, or the caller's own key given as
/// `cnfJkt` or `cnfPublicKey` (for callers that make their proofs themselves).
fn cnf(
    dpop_jkt: Option<&str>,
    values: Option<&ClientClaimsParameters>,
) -> Result<Option<String>, TttError> {
    let jkt = values.and_then(|c| given(&c.cnf_jkt));
    let public_key = values.and_then(|c| given(&c.cnf_public_key));
    let own = match (jkt, public_key) {
        (Some(_), Some(_)) => {
            return Err(TttError::Conflict {
                first: "clientClaimsParameters.cnfJkt",
                second: "clientClaimsParameters.cnfPublicKey",
                why: "both name the key the token is bound to",
            });
        }
        (Some(jkt), None) => Some(jkt.to_owned()),
        (None, Some(text)) => {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| TttError::CnfPublicKey(format!("is not JSON: {e}")))?;
            let key = PublicJwk::from_json(&value)
                .map_err(|e| TttError::CnfPublicKey(format!("is not a public JWK: it {e}")))?;
            Some(key.thumbprint())
        }
        (None, None) => None,
    };
    match (dpop_jkt, own) {
        (Some(_), Some(_)) => Err(TttError::Conflict {
            first: "createDPoPTokenWithDPoPProof",
            second: "clientClaimsParameters.cnfJkt/cnfPublicKey",
            why: "the token is bound either to the generated proof key or to your own key",
        }),
        (Some(jkt), None) => Ok(Some(jkt.to_owned())),
        (None, own) => Ok(own),
    }
}

/// The synthetic population standing in for Persontjenesten and the HPR register: the one
/// the store was seeded with (the default one for an unseeded store), built on first use.
struct Registers<'a> {
    sts: &'a Sts,
    population: Option<std::sync::Arc<Population>>,
}

impl<'a> Registers<'a> {
    fn new(sts: &'a Sts) -> Registers<'a> {
        Registers {
            sts,
            population: None,
        }
    }

    fn population(&mut self) -> Result<&Population, TttError> {
        if self.population.is_none() {
            self.population = Some(self.sts.population().map_err(internal)?);
        }
        self.population
            .as_deref()
            .ok_or_else(|| TttError::Internal("the population was not built".into()))
    }

    /// The person with `pid`, as Persontjenesten would find them.
    fn person(&mut self, pid: &str) -> Result<Person, TttError> {
        let population = self.population()?;
        population
            .by_pid(pid)
            .ok_or_else(|| TttError::UnknownPerson {
                pid: pid.to_owned(),
                seed: population.seed(),
                size: population.len(),
            })
    }

    /// The user of the default user claims: the population's first health worker.
    fn default_person(&mut self) -> Result<Person, TttError> {
        let population = self.population()?;
        population
            .practitioners()
            .next()
            .or_else(|| population.persons().next())
            .ok_or_else(|| TttError::Internal("the synthetic population is empty".into()))
    }
}

/// User claims: defaults, the non-empty parameter values, then the look-ups and derived
/// claims the request's flags ask for.
fn user(
    request: &TttTokenRequest,
    generation: Generation,
    values: Option<&UserClaimsParameters>,
    token: &Map<String, Value>,
    registers: &mut Registers<'_>,
) -> Result<Map<String, Value>, TttError> {
    let mut claims = Map::new();
    if generation.defaults {
        let person = registers.default_person()?;
        claims.insert(PID.into(), json!(person.pid.as_str()));
        if let Some(hpr) = &person.hpr {
            claims.insert(HPR_NUMBER.into(), json!(hpr.hpr_number.to_string()));
        }
        set_names(&mut claims, &person, false);
        claims.insert(SECURITY_LEVEL.into(), json!("4"));
        claims.insert(ASSURANCE_LEVEL.into(), json!("high"));
        claims.insert(NETWORK.into(), json!("internett"));
        claims.insert("idp".into(), json!("testidp-oidc"));
        claims.insert("amr".into(), json!(["pwd"]));
    }
    if let Some(u) = values {
        for (name, value) in [
            (PID, &u.pid),
            (PID_PSEUDONYM, &u.pid_pseudonym),
            (HPR_NUMBER, &u.hpr_number),
            ("name", &u.name),
            ("given_name", &u.given_name),
            ("middle_name", &u.middle_name),
            ("family_name", &u.family_name),
            ("idp", &u.identity_provider),
            (SECURITY_LEVEL, &u.security_level),
            (ASSURANCE_LEVEL, &u.assurance_level),
            (NETWORK, &u.network),
            ("sub", &u.subject),
            ("sid", &u.sid),
        ] {
            if let Some(v) = given(value) {
                claims.insert(name.into(), json!(v));
            }
        }
        if let Some(amr) = given(&u.amr) {
            claims.insert("amr".into(), json!([amr]));
        }
    }
    let pid = claims.get(PID).and_then(Value::as_str).map(str::to_owned);

    let only_name = request.only_set_name_for_person == Some(true);
    if request.get_person_from_persontjenesten == Some(true) {
        if let Some(u) = values {
            for (field, value) in [
                ("userClaimsParameters.name", &u.name),
                ("userClaimsParameters.givenName", &u.given_name),
                ("userClaimsParameters.middleName", &u.middle_name),
                ("userClaimsParameters.familyName", &u.family_name),
            ] {
                if given(value).is_some() {
                    return Err(TttError::Conflict {
                        first: "getPersonFromPersontjenesten",
                        second: field,
                        why: "the names come from the person register",
                    });
                }
            }
        }
        let pid = pid.as_deref().ok_or(TttError::Requires {
            option: "getPersonFromPersontjenesten",
            needed: "a pid (userClaimsParameters.pid or the default user claims)",
        })?;
        let person = registers.person(pid)?;
        set_names(&mut claims, &person, only_name);
    } else if only_name {
        return Err(TttError::Requires {
            option: "onlySetNameForPerson",
            needed: "getPersonFromPersontjenesten",
        });
    }
    if request.get_hpr_number_from_hprregisteret == Some(true) {
        if let Some(u) = values
            && given(&u.hpr_number).is_some()
        {
            return Err(TttError::Conflict {
                first: "getHprNumberFromHprregisteret",
                second: "userClaimsParameters.hprNumber",
                why: "the HPR number comes from the HPR register",
            });
        }
        let pid = pid.as_deref().ok_or(TttError::Requires {
            option: "getHprNumberFromHprregisteret",
            needed: "a pid (userClaimsParameters.pid or the default user claims)",
        })?;
        let person = registers.person(pid)?;
        let hpr = person
            .hpr
            .as_ref()
            .ok_or_else(|| TttError::NotPractitioner(pid.to_owned()))?;
        claims.insert(HPR_NUMBER.into(), json!(hpr.hpr_number.to_string()));
    }
    if request.set_pid_pseudonym == Some(true) {
        let pid = pid.as_deref().ok_or(TttError::Requires {
            option: "setPidPseudonym",
            needed: "a pid (userClaimsParameters.pid or the default user claims)",
        })?;
        claims.insert(PID_PSEUDONYM.into(), json!(pseudonym(&[pid])));
    }
    if request.set_subject == Some(true) {
        let client_id = token.get("client_id").and_then(Value::as_str);
        let (Some(pid), Some(client_id)) = (pid.as_deref(), client_id) else {
            return Err(TttError::Requires {
                option: "setSubject",
                needed: "a pid and a client_id (from the parameters or the default claims)",
            });
        };
        claims.insert("sub".into(), json!(pseudonym(&[client_id, pid])));
    }
    Ok(claims)
}

/// The name claims of `person`: all four, or `name` only.
fn set_names(claims: &mut Map<String, Value>, person: &Person, only_name: bool) {
    for name in ["name", "given_name", "middle_name", "family_name"] {
        claims.remove(name);
    }
    claims.insert("name".into(), json!(person.name));
    if only_name {
        return;
    }
    claims.insert("given_name".into(), json!(person.given_name));
    if let Some(middle) = person.middle_name {
        claims.insert("middle_name".into(), json!(middle));
    }
    claims.insert("family_name".into(), json!(person.family_name));
}

/// A stable pseudonym: base64 (standard alphabet, as HelseID's `pid_pseudonym`) of
/// HMAC-SHA256 over the parts, keyed with a testbed constant.
fn pseudonym(parts: &[&str]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"helseid-testbed pseudonym");
    let tag = aws_lc_rs::hmac::sign(&key, parts.join("\u{0}").as_bytes());
    STANDARD.encode(tag.as_ref())
}

/// The token-exchange `act` claim (RFC 8693 §4.1) with HelseID's members (reference §4.7).
fn act(params: Option<&TokenExchangeParameters>, issuer: &str) -> Value {
    let p = params.cloned().unwrap_or_default();
    let mut act = Map::new();
    act.insert("iss".into(), json!(given(&p.issuer).unwrap_or(issuer)));
    act.insert(
        "client_id".into(),
        json!(given(&p.client_id).unwrap_or(DEFAULT_ACTOR_CLIENT_ID)),
    );
    if let Some(orgnr) = given(&p.orgnr_parent) {
        act.insert(ORGNR_PARENT.into(), json!(orgnr));
    }
    Value::Object(act)
}

/// API-specific claims: issued when both type and value are set (TestTokenTool README); a
/// type given several times becomes an array.
fn api_specific(
    claims: &mut Map<String, Value>,
    list: &[ApiSpecificClaim],
) -> Result<(), TttError> {
    let mut added: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in list {
        if c.claim_type.is_empty() || c.value.is_empty() {
            continue;
        }
        if RESERVED.contains(&c.claim_type.as_str()) {
            return Err(TttError::ReservedClaim(c.claim_type.clone()));
        }
        added.entry(&c.claim_type).or_default().push(&c.value);
    }
    for (name, values) in added {
        if let Some(value) = single_or_array(&values) {
            claims.insert(name.to_owned(), value);
        }
    }
    Ok(())
}
