//! Target kind `idp`: an identity provider HelseID would federate to
//! (../shared/reference/conformance-checks.md §4, seed 001).
//!
//! The runner plays HelseID's part, the relying party: it reads the IdP's discovery document
//! and JWKS, logs every test user of the scenario in with the authorization code flow and
//! PKCE (its [`browser`] answers the IdP's login pages with the scenario's steps), redeems
//! the codes with the client secret, and judges the ID tokens: signature, `iss`, `aud`,
//! `nonce`, lifetimes, and what HelseID needs of an IdP: the person's fødselsnummer or
//! D-number, the authentication method and the security level. More probes, each with a
//! fresh login: the token endpoint must refuse a code with the wrong PKCE verifier, without
//! one, a second time, and with a wrong client secret; and the authorization endpoint must
//! not redirect to an unregistered `redirect_uri` (another host, another path, an added
//! query) or for an unknown client.
//!
//! Checks that need something that failed before them (no discovery, no ID token) are
//! *inconclusive*; the others are judged on their own, so a flaw fails the checks of the
//! rules it breaks and no others.
//!
//! Modules: [`discovery`] (the discovery document and JWKS), [`login`] (the logins, the code
//! redemption and the token endpoint's refusals), [`id_token`] (the ID token checks),
//! [`errors`] (what the IdP does with bad authorization requests and cancelled logins);
//! [`browser`] and [`form`] fill in login pages.

pub mod browser;
mod discovery;
mod errors;
pub mod form;
mod id_token;
mod login;

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::RunOptions;
use crate::catalogue::{Check, IdpCheck, TargetKind};
use crate::check_driver::Driver;
use crate::report::{CheckResult, Exchange, ScenarioReport, cut, inconclusive};
use crate::scenario::{ClientAuth, IdpTarget, IdpUser, Scenario};
use browser::Vars;
use id_token::{Claim, Token};
use login::Spoil;

/// How long the runner waits for one response.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Response bodies kept as evidence.
const MAX_BODY: usize = 2048;
/// The longest ID token lifetime IDP-EXP-02 accepts.
pub const MAX_ID_TOKEN_LIFETIME: i64 = 3600;
/// How far in the future `iat` may be (clock skew).
pub const CLOCK_SKEW: i64 = 60;
/// The unregistered redirect URI of IDP-ERR-01 (`.invalid`: it resolves nowhere).
pub const UNREGISTERED_REDIRECT_URI: &str = "https://unregistered.conformance.invalid/callback";

/// The client secret of `idp`: given, or read from the environment variable it names.
pub fn client_secret(idp: &IdpTarget) -> Result<String, String> {
    match (&idp.client_secret, &idp.client_secret_env) {
        (Some(s), _) => Ok(s.clone()),
        (None, Some(var)) => std::env::var(var).map_err(|_| {
            format!("idp.client_secret_env: the environment variable {var} is not set")
        }),
        (None, None) => Err("idp.client_secret: no client secret".into()),
    }
}

/// What discovery said, as far as the runner needs it.
#[derive(Debug, Clone, Default)]
struct Endpoints {
    authorization: Option<String>,
    token: Option<String>,
    jwks: Option<String>,
    auth: Option<ClientAuth>,
    iss_parameter: bool,
}

/// One user's login.
#[derive(Debug, Clone)]
struct Attempt {
    pid: String,
    level: Option<String>,
    /// The methods the scenario expects (`users[].amr`); empty: any.
    amr: Vec<String>,
    nonce: String,
    /// Every request of the login, the token request last.
    trip: Vec<Exchange>,
    /// What is wrong with the login (IDP-LOGIN-01).
    problems: Vec<String>,
    /// The IdP could not be reached.
    unreachable: Option<String>,
    /// The token request and its ID token, when a code was redeemed.
    token: Option<(Exchange, Option<String>)>,
}

/// The state of one idp run.
struct Run<'a> {
    idp: &'a IdpTarget,
    issuer: String,
    secret: Result<String, String>,
    http: reqwest::Client,
}

/// Runs the idp checks of `scenario` (`--target` overrides its issuer).
pub async fn run(
    scenario: &Scenario,
    source: &str,
    options: &RunOptions,
    progress: &(dyn Fn(&CheckResult) + Sync),
) -> ScenarioReport {
    let started = Instant::now();
    let mut report = ScenarioReport {
        name: scenario.name.clone(),
        source: source.to_owned(),
        kind: scenario.kind.as_str().into(),
        target: String::new(),
        issuer: String::new(),
        kid: String::new(),
        started_at: crate::now(),
        duration_ms: 0,
        results: Vec::new(),
    };
    // `prepare` refuses both before a run; a caller that skipped it gets a report saying why.
    let found = match &scenario.idp {
        None => Err("the scenario has no idp section"),
        Some(idp) => match options.target.clone().or_else(|| idp.issuer.clone()) {
            Some(issuer) => Ok((idp, issuer)),
            None => Err("idp.issuer: no issuer (name it in the scenario or with --target)"),
        },
    };
    let (idp, issuer) = match found {
        Ok(found) => found,
        Err(why) => {
            let checks: Vec<&Check> = crate::catalogue::of_kind(TargetKind::Idp).collect();
            return report.could_not_start(&checks, why, started, progress);
        }
    };
    report.target = issuer.clone();
    report.issuer = issuer.clone();
    let run = Run {
        idp,
        secret: client_secret(idp),
        issuer,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .unwrap_or_default(),
    };
    let mut driver = Driver::new(scenario, options, progress, report, started);
    run.all(&mut driver).await;
    driver.done()
}

impl Run<'_> {
    /// Fetches what the checks judge (discovery, JWKS, one login per test user, each only
    /// when a check that needs it runs), then judges every check in catalogue order.
    async fn all(&self, driver: &mut Driver<'_>) {
        let needs = |ids: &[IdpCheck], driver: &Driver<'_>| {
            ids.iter().any(|id| driver.would_run(id.check()))
        };
        let (disc_exchange, doc) = self
            .get_json("discovery document", &discovery_url(&self.issuer))
            .await;
        let endpoints = doc.as_ref().map(|d| self.endpoints(d));
        let jwks = match endpoints.as_ref().and_then(|e| e.jwks.clone()) {
            Some(url) => Some(self.get_json("JWKS", &url).await),
            None => None,
        };
        let jwks_keys = jwks
            .as_ref()
            .and_then(|(_, v)| v.as_ref())
            .map(discovery::public_keys);
        let ready = self.ready(endpoints.as_ref());
        let mut attempts: Vec<Attempt> = Vec::new();
        if let Ok(e) = &ready
            && needs(id_token::NEEDS_LOGINS, driver)
        {
            for user in &self.idp.users {
                attempts.push(self.login(e, user).await);
            }
        }
        let tokens: Vec<Result<Token<'_>, (&Attempt, &Exchange, String)>> = attempts
            .iter()
            .filter_map(|a| {
                let (exchange, raw) = a.token.as_ref()?;
                let raw = raw.as_deref()?;
                Some(id_token::read_token(a, raw, exchange))
            })
            .collect();
        if let Some(Ok(first)) = tokens.first()
            && let Some(kid) = first.header.get("kid").and_then(Value::as_str)
        {
            driver.report().kid = kid.to_owned();
        }
        // Why the ID token checks cannot be judged, if they cannot.
        let no_token = match &ready {
            Err(why) => Some(why.clone()),
            Ok(_) if tokens.is_empty() => {
                Some("no user got an ID token (see IDP-LOGIN-01)".to_owned())
            }
            Ok(_) => None,
        };
        let now = crate::now();
        for &id in IdpCheck::ALL {
            let c = id.check();
            let Some(t) = driver.begin(c, false) else {
                continue;
            };
            let claim = |claim: Claim| match &no_token {
                Some(why) => inconclusive(c, why.clone(), vec![]),
                None => id_token::judge_tokens(c, &tokens, |t| self.claim_check(claim, t, now)),
            };
            let result = match (id, &ready) {
                // The probes and the logins need the endpoints and the secret.
                (
                    IdpCheck::Login01
                    | IdpCheck::Pkce01
                    | IdpCheck::Pkce02
                    | IdpCheck::Code01
                    | IdpCheck::Auth01
                    | IdpCheck::Err01
                    | IdpCheck::Err02
                    | IdpCheck::Cancel01,
                    Err(why),
                ) => inconclusive(c, why.clone(), vec![]),
                (IdpCheck::Disc01, _) => self.disc_01(&disc_exchange, doc.as_ref()),
                (IdpCheck::Disc02, _) => discovery::disc_02(&disc_exchange, doc.as_ref()),
                (IdpCheck::Jwks01, _) => discovery::jwks_01(jwks.as_ref()),
                (IdpCheck::Login01, Ok(_)) => login::login_01(&attempts),
                (IdpCheck::Pkce01, Ok(e)) => self.spoiled(e, Spoil::WrongVerifier).await,
                (IdpCheck::Pkce02, Ok(e)) => self.spoiled(e, Spoil::NoVerifier).await,
                (IdpCheck::Code01, Ok(e)) => self.code_01(e).await,
                (IdpCheck::Auth01, Ok(e)) => self.spoiled(e, Spoil::WrongSecret).await,
                (IdpCheck::Sig01, _) => match (&no_token, &jwks_keys) {
                    (Some(why), _) => inconclusive(c, why.clone(), vec![]),
                    (None, Some(keys)) => {
                        id_token::judge_tokens(c, &tokens, |t| id_token::sig(t, keys))
                    }
                    (None, None) => inconclusive(
                        c,
                        "no JWKS to verify the signatures with (see IDP-JWKS-01)".into(),
                        id_token::token_evidence(&tokens),
                    ),
                },
                (IdpCheck::Iss01, _) => claim(Claim::Issuer),
                (IdpCheck::Sub01, _) => claim(Claim::Subject),
                (IdpCheck::Aud01, _) => claim(Claim::Audience),
                (IdpCheck::Nonce01, _) => claim(Claim::Nonce),
                (IdpCheck::Exp01, _) => claim(Claim::Times),
                (IdpCheck::Exp02, _) => claim(Claim::Lifetime),
                (IdpCheck::Pid01, _) => claim(Claim::Identifier),
                (IdpCheck::Amr01, _) => claim(Claim::Method),
                (IdpCheck::Level01, _) => claim(Claim::Level),
                (IdpCheck::Err01, Ok(e)) => self.err_01(e).await,
                (IdpCheck::Err02, Ok(e)) => self.err_02(e).await,
                (IdpCheck::Cancel01, Ok(e)) => self.cancel_01(e).await,
            };
            driver.finish(result, t);
        }
    }

    /// The endpoints a login needs, or why there are none.
    fn ready(&self, endpoints: Option<&Endpoints>) -> Result<Endpoints, String> {
        let e =
            endpoints.ok_or("no discovery document to find the endpoints in (see IDP-DISC-01)")?;
        if e.authorization.is_none() || e.token.is_none() {
            return Err(
                "discovery names no authorization_endpoint or token_endpoint (see IDP-DISC-01)"
                    .into(),
            );
        }
        self.secret.as_ref().map_err(Clone::clone)?;
        Ok(e.clone())
    }
}

fn vars(user: &IdpUser) -> Vars<'_> {
    Vars {
        pid: &user.pid,
        level: user.level.as_deref().unwrap_or_default(),
    }
}

fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

fn list_has(v: &Value, item: &str) -> bool {
    v.as_array()
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(item)))
}

fn last(trip: &[Exchange]) -> Vec<Exchange> {
    trip.last().cloned().into_iter().collect()
}

fn first_words(s: &str) -> String {
    cut(s, 300)
}
