//! The logged-in user and the identity claims HelseID issues about them (reference §5.1,
//! §5.2, §9): which scope releases which claim, the security and assurance levels, and the
//! stable subject identifiers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use protocol::claims;

pub const SCOPE_OPENID: &str = "openid";
pub const SCOPE_PROFILE: &str = "profile";
pub const SCOPE_OFFLINE: &str = "offline_access";
pub const SCOPE_PID: &str = "helseid://scopes/identity/pid";
pub const SCOPE_PID_PSEUDONYM: &str = "helseid://scopes/identity/pid_pseudonym";
pub const SCOPE_ASSURANCE: &str = "helseid://scopes/identity/assurance_level";
pub const SCOPE_SECURITY: &str = "helseid://scopes/identity/security_level";
pub const SCOPE_NETWORK: &str = "helseid://scopes/identity/network";
pub const SCOPE_HPR: &str = "helseid://scopes/hpr/hpr_number";
pub const SCOPE_HPR_DETAILS: &str = "helseid://scopes/hpr/hpr_details";
pub const SCOPE_TILLITSRAMMEVERK: &str = "nhn:tillitsrammeverk:parameters";
pub const SCOPE_SFM: &str = "nhn:sfm:journal-id";

/// Scopes a login client may ask for besides its API scopes.
pub const USER_SCOPES: [&str; 12] = [
    SCOPE_OPENID,
    SCOPE_PROFILE,
    SCOPE_OFFLINE,
    SCOPE_PID,
    SCOPE_PID_PSEUDONYM,
    SCOPE_ASSURANCE,
    SCOPE_SECURITY,
    SCOPE_NETWORK,
    SCOPE_HPR,
    SCOPE_HPR_DETAILS,
    SCOPE_TILLITSRAMMEVERK,
    SCOPE_SFM,
];

pub fn is_user_scope(scope: &str) -> bool {
    USER_SCOPES.contains(&scope)
}

pub const CLAIM_PID_PSEUDONYM: &str = "helseid://claims/identity/pid_pseudonym";
pub const CLAIM_NETWORK: &str = "helseid://claims/identity/network";
pub const CLAIM_HPR_DETAILS: &str = "helseid://claims/hpr/hpr_details";

/// A person as an identity provider vouched for them, with what the registers add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub pid: String,
    pub name: String,
    pub given_name: String,
    pub middle_name: Option<String>,
    pub family_name: String,
    pub hpr_number: Option<String>,
    /// `helseid://claims/identity/security_level`: 3 or 4.
    pub security_level: u8,
    /// The IdP's scheme, HelseID's `idp` claim (`testidp-oidc`, `idporten-oidc`, ...).
    pub idp: String,
    pub amr: Vec<String>,
    pub auth_time: i64,
}

impl User {
    /// eIDAS-style level for the Norwegian security level (4 → high, 3 → substantial).
    pub fn assurance_level(&self) -> &'static str {
        match self.security_level {
            4 => "high",
            3 => "substantial",
            _ => "low",
        }
    }

    /// The `acr` of tokens about this login.
    pub fn acr(&self) -> String {
        format!("Level{}", self.security_level)
    }

    /// HelseID's `sub`: a stable, opaque, base64 hash of the person (one value for all
    /// clients, like the examples in the reference).
    pub fn subject(&self) -> String {
        use base64::Engine as _;
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            format!("helseid-testbed subject {}", self.pid).as_bytes(),
        );
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    }

    pub fn pid_pseudonym(&self) -> String {
        use base64::Engine as _;
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            format!("helseid-testbed pseudonym {}", self.pid).as_bytes(),
        );
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    }

    /// The claims the granted `scopes` release about this user (ID token, userinfo and
    /// access tokens alike).
    pub fn claims(&self, scopes: &[String], hpr_details: Option<&Value>) -> Map<String, Value> {
        let has = |s: &str| scopes.iter().any(|x| x == s);
        let mut c = Map::new();
        c.insert("sub".into(), json!(self.subject()));
        c.insert("idp".into(), json!(self.idp));
        c.insert("amr".into(), json!(self.amr));
        c.insert("auth_time".into(), json!(self.auth_time));
        if has(SCOPE_PROFILE) {
            c.insert("name".into(), json!(self.name));
            c.insert("given_name".into(), json!(self.given_name));
            if let Some(m) = &self.middle_name {
                c.insert("middle_name".into(), json!(m));
            }
            c.insert("family_name".into(), json!(self.family_name));
        }
        if has(SCOPE_PID) {
            c.insert(claims::PID.into(), json!(self.pid));
        }
        if has(SCOPE_PID_PSEUDONYM) {
            c.insert(CLAIM_PID_PSEUDONYM.into(), json!(self.pid_pseudonym()));
        }
        if has(SCOPE_SECURITY) {
            c.insert(
                claims::SECURITY_LEVEL.into(),
                json!(self.security_level.to_string()),
            );
        }
        if has(SCOPE_ASSURANCE) {
            c.insert(
                claims::ASSURANCE_LEVEL.into(),
                json!(self.assurance_level()),
            );
        }
        if has(SCOPE_NETWORK) {
            c.insert(CLAIM_NETWORK.into(), json!("internett"));
        }
        if has(SCOPE_HPR)
            && let Some(h) = &self.hpr_number
        {
            c.insert(claims::HPR_NUMBER.into(), json!(h));
        }
        if has(SCOPE_HPR_DETAILS)
            && let Some(d) = hpr_details
        {
            c.insert(CLAIM_HPR_DETAILS.into(), d.clone());
        }
        c
    }
}

/// The user as the synthetic registers know them: `None` for a pid the population lacks.
pub fn from_population(
    population: &synthpop::Population,
    pid: &str,
    security_level: u8,
    idp: &str,
    amr: Vec<String>,
    auth_time: i64,
) -> Option<User> {
    let person = population.by_pid(pid)?;
    Some(User {
        pid: pid.to_owned(),
        name: person.name.clone(),
        given_name: person.given_name.to_owned(),
        middle_name: person.middle_name.map(str::to_owned),
        family_name: person.family_name.to_owned(),
        hpr_number: person.hpr.as_ref().map(|h| h.hpr_number.to_string()),
        security_level,
        idp: idp.to_owned(),
        amr,
        auth_time,
    })
}

/// `helseid://claims/hpr/hpr_details` for the person with `pid`, from synthpop's HPR data as
/// of the population's census date.
pub fn hpr_details(population: &synthpop::Population, pid: &str) -> Option<Value> {
    let person = population.by_pid(pid)?;
    let hpr = person.hpr.as_ref()?;
    Some(hpr.hpr_details_claim(synthpop::census_date()))
}
