//! Target kind `idp`: an identity provider HelseID would federate to
//! (../shared/reference/conformance-checks.md §4, seed 001).
//!
//! The runner plays HelseID's part, the relying party: it reads the IdP's discovery document
//! and JWKS, logs every test user of the scenario in with the authorization code flow and
//! PKCE (its [`browser`] answers the IdP's login pages with the scenario's steps), redeems
//! the codes with the client secret, and judges the ID tokens: signature, `iss`, `aud`,
//! `nonce`, lifetimes, and what HelseID needs of an IdP: the person's fødselsnummer or
//! D-number, the authentication method and the security level. Two more probes: a code
//! redeemed with the wrong PKCE verifier, and authorization requests with an unregistered
//! `redirect_uri` or an unknown client.
//!
//! Checks that need something that failed before them (no discovery, no ID token) are
//! *inconclusive*; the others are judged on their own, so one flaw shows as one failure.

pub mod browser;
pub mod form;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::jose::{self, Alg, PublicJwk};
use serde_json::{Map, Value};

use crate::catalogue::{Applies, CHECKS, Check, TargetKind};
use crate::report::{CheckResult, DecodedToken, Exchange, Outcome, ScenarioReport};
use crate::report::{cut, error_text, fail, inconclusive, pass};
use crate::scenario::{ClientAuth, IdpTarget, IdpUser, LoginStep, Scenario};
use crate::{RunOptions, now};
use browser::{Browser, Ending, Vars, expand, keep_headers, urlencode};

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

/// Whether `check` applies to `scenario`, and if not, why.
pub fn applies(check: &Check, scenario: &Scenario) -> Result<(), String> {
    match check.applies {
        Applies::CancelSteps => {
            if scenario.idp.as_ref().is_some_and(|i| !i.cancel.is_empty()) {
                Ok(())
            } else {
                Err("does not apply: the scenario has no idp.cancel steps".into())
            }
        }
        _ => Ok(()),
    }
}

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

/// An ID token as the claim checks read it.
struct Token<'a> {
    user: &'a Attempt,
    raw: &'a str,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    exchange: &'a Exchange,
}

/// The state of one idp run.
struct Run<'a> {
    scenario: &'a Scenario,
    idp: &'a IdpTarget,
    issuer: String,
    secret: Result<String, String>,
    http: reqwest::Client,
    options: &'a RunOptions,
    progress: &'a (dyn Fn(&CheckResult) + Sync),
    report: ScenarioReport,
    started: Instant,
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
        started_at: now(),
        duration_ms: 0,
        results: Vec::new(),
    };
    let Some(idp) = &scenario.idp else {
        for check in idp_checks() {
            let r = CheckResult::new(
                check,
                Outcome::Inconclusive,
                "the scenario has no idp section",
            );
            progress(&r);
            report.results.push(r);
        }
        return report;
    };
    let issuer = options.target.clone().unwrap_or_else(|| idp.issuer.clone());
    report.target = issuer.clone();
    report.issuer = issuer.clone();
    let mut run = Run {
        scenario,
        idp,
        secret: client_secret(idp),
        issuer,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .unwrap_or_default(),
        options,
        progress,
        report,
        started,
    };
    run.all().await;
    run.report.duration_ms = run.started.elapsed().as_millis() as u64;
    run.report
}

fn idp_checks() -> impl Iterator<Item = &'static Check> {
    CHECKS.iter().filter(|c| c.kind == TargetKind::Idp)
}

fn check(id: &str) -> &'static Check {
    idp_checks()
        .find(|c| c.id == id)
        .unwrap_or(&CHECKS[CHECKS.len() - 1])
}

impl Run<'_> {
    /// Whether check `id` is to be run; if not, its skipped result is recorded.
    fn wanted(&mut self, id: &str) -> bool {
        let c = check(id);
        let skipped = match applies(c, self.scenario) {
            Err(why) => Some(why),
            Ok(()) if !self.options.selected(c, self.scenario) => Some("not selected".into()),
            Ok(()) => None,
        };
        match skipped {
            Some(why) => {
                self.push(CheckResult::new(c, Outcome::Skipped, why), Instant::now());
                false
            }
            None => true,
        }
    }

    fn would_run(&self, id: &str) -> bool {
        let c = check(id);
        applies(c, self.scenario).is_ok() && self.options.selected(c, self.scenario)
    }

    fn push(&mut self, mut result: CheckResult, since: Instant) {
        result.duration_ms = since.elapsed().as_millis() as u64;
        (self.progress)(&result);
        self.report.results.push(result);
    }

    async fn all(&mut self) {
        // Discovery.
        let t = Instant::now();
        let (disc_exchange, doc) = self
            .get_json("discovery document", &discovery_url(&self.issuer))
            .await;
        let endpoints = doc.as_ref().map(|d| self.endpoints(d));
        if self.wanted("IDP-DISC-01") {
            let r = self.disc_01(&disc_exchange, doc.as_ref());
            self.push(r, t);
        }
        let t = Instant::now();
        if self.wanted("IDP-DISC-02") {
            let r = disc_02(&disc_exchange, doc.as_ref());
            self.push(r, t);
        }

        // JWKS.
        let t = Instant::now();
        let jwks = match endpoints.as_ref().and_then(|e| e.jwks.clone()) {
            Some(url) => Some(self.get_json("JWKS", &url).await),
            None => None,
        };
        if self.wanted("IDP-JWKS-01") {
            let r = jwks_01(jwks.as_ref());
            self.push(r, t);
        }
        let jwks_keys = jwks.as_ref().and_then(|(_, v)| v.as_ref()).map(public_keys);

        // The logins.
        let t = Instant::now();
        let token_checks = [
            "IDP-LOGIN-01",
            "IDP-SIG-01",
            "IDP-ISS-01",
            "IDP-AUD-01",
            "IDP-NONCE-01",
            "IDP-EXP-01",
            "IDP-EXP-02",
            "IDP-PID-01",
            "IDP-AMR-01",
            "IDP-LEVEL-01",
        ];
        let mut attempts: Vec<Attempt> = Vec::new();
        let ready = self.ready(endpoints.as_ref());
        if let Ok(e) = &ready
            && token_checks.iter().any(|id| self.would_run(id))
        {
            for user in &self.idp.users {
                attempts.push(self.login(e, user, None).await);
            }
        }
        if self.wanted("IDP-LOGIN-01") {
            let r = match &ready {
                Err(why) => inconclusive(check("IDP-LOGIN-01"), why.clone(), vec![]),
                Ok(_) => login_01(&attempts),
            };
            self.push(r, t);
        }

        // PKCE.
        let t = Instant::now();
        if self.wanted("IDP-PKCE-01") {
            let r = match &ready {
                Err(why) => inconclusive(check("IDP-PKCE-01"), why.clone(), vec![]),
                Ok(e) => self.pkce_01(e).await,
            };
            self.push(r, t);
        }

        // The ID tokens.
        let tokens: Vec<Result<Token<'_>, (&Attempt, &Exchange, String)>> = attempts
            .iter()
            .filter_map(|a| {
                let (exchange, raw) = a.token.as_ref()?;
                let raw = raw.as_deref()?;
                Some(read_token(a, raw, exchange))
            })
            .collect();
        if let Some(Ok(first)) = tokens.first()
            && let Some(kid) = first.header.get("kid").and_then(Value::as_str)
        {
            self.report.kid = kid.to_owned();
        }
        let no_token = match &ready {
            Err(why) => Some(why.clone()),
            Ok(_) if tokens.is_empty() => {
                Some("no user got an ID token (see IDP-LOGIN-01)".to_owned())
            }
            Ok(_) => None,
        };
        for id in &token_checks[1..] {
            let t = Instant::now();
            if !self.wanted(id) {
                continue;
            }
            let c = check(id);
            let r = match &no_token {
                Some(why) => inconclusive(c, why.clone(), vec![]),
                None if *id == "IDP-SIG-01" => match &jwks_keys {
                    Some(keys) => judge_tokens(c, &tokens, |t| sig(t, keys)),
                    None => inconclusive(
                        c,
                        "no JWKS to verify the signatures with (see IDP-JWKS-01)".into(),
                        token_evidence(&tokens),
                    ),
                },
                None => {
                    let now = now();
                    judge_tokens(c, &tokens, |t| self.claim_check(id, t, now))
                }
            };
            self.push(r, t);
        }

        // Refusals.
        let t = Instant::now();
        if self.wanted("IDP-ERR-01") {
            let r = match &ready {
                Err(why) => inconclusive(check("IDP-ERR-01"), why.clone(), vec![]),
                Ok(e) => self.err_01(e).await,
            };
            self.push(r, t);
        }
        let t = Instant::now();
        if self.wanted("IDP-CANCEL-01") {
            let r = match &ready {
                Err(why) => inconclusive(check("IDP-CANCEL-01"), why.clone(), vec![]),
                Ok(e) => self.cancel_01(e).await,
            };
            self.push(r, t);
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

    async fn get_json(&self, label: &str, url: &str) -> (Exchange, Option<Value>) {
        let mut exchange = Exchange {
            label: label.to_owned(),
            method: "GET".into(),
            url: url.to_owned(),
            ..Default::default()
        };
        match self.http.get(url).send().await {
            Ok(response) => {
                exchange.status = Some(response.status().as_u16());
                keep_headers(&mut exchange, response.headers());
                let ok = response.status().is_success();
                let body = response.text().await.unwrap_or_default();
                exchange.response_body = cut(&body, MAX_BODY * 4);
                let value = serde_json::from_str::<Value>(&body)
                    .ok()
                    .filter(|v| ok && v.is_object());
                (exchange, value)
            }
            Err(e) => {
                exchange.error = Some(error_text(&e));
                (exchange, None)
            }
        }
    }

    fn endpoints(&self, doc: &Value) -> Endpoints {
        let url = |name: &str| {
            doc[name]
                .as_str()
                .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
                .map(str::to_owned)
        };
        let auth = self.idp.client_auth.or_else(|| {
            match doc["token_endpoint_auth_methods_supported"].as_array() {
                Some(methods) => methods.iter().find_map(|m| match m.as_str() {
                    Some("client_secret_basic") => Some(ClientAuth::ClientSecretBasic),
                    Some("client_secret_post") => Some(ClientAuth::ClientSecretPost),
                    _ => None,
                }),
                None => None,
            }
        });
        Endpoints {
            authorization: url("authorization_endpoint"),
            token: url("token_endpoint"),
            jwks: url("jwks_uri"),
            auth,
            iss_parameter: doc["authorization_response_iss_parameter_supported"] == true,
        }
    }

    fn disc_01(&self, exchange: &Exchange, doc: Option<&Value>) -> CheckResult {
        let c = check("IDP-DISC-01");
        let evidence = vec![exchange.clone()];
        let Some(doc) = doc else {
            return match (&exchange.error, exchange.status) {
                (Some(e), _) => {
                    inconclusive(c, format!("the IdP could not be reached: {e}"), evidence)
                }
                (None, Some(s)) if !(200..300).contains(&s) => {
                    fail(c, format!("the discovery document answered {s}"), evidence)
                }
                _ => fail(
                    c,
                    "the discovery document is not a JSON object".into(),
                    evidence,
                ),
            };
        };
        let mut problems = Vec::new();
        match doc["issuer"].as_str() {
            Some(i) if i == self.issuer => {}
            Some(i) => problems.push(format!(
                "issuer is {i:?}, not the configured {:?} (they must be identical)",
                self.issuer
            )),
            None => problems.push("issuer is missing".into()),
        }
        for name in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
            match doc[name].as_str() {
                Some(u) if u.starts_with("https://") || u.starts_with("http://") => {}
                Some(u) => problems.push(format!("{name} {u:?} is not an http(s) URL")),
                None => problems.push(format!("{name} is missing")),
            }
        }
        if !list_has(&doc["response_types_supported"], "code") {
            problems.push("response_types_supported does not include code".into());
        }
        for name in [
            "subject_types_supported",
            "id_token_signing_alg_values_supported",
        ] {
            if doc[name].as_array().is_none_or(Vec::is_empty) {
                problems.push(format!("{name} is missing or empty"));
            }
        }
        if problems.is_empty() {
            pass(
                c,
                "issuer matches; authorization, token and JWKS endpoints; code flow".into(),
                evidence,
            )
        } else {
            fail(c, problems.join("; "), evidence)
        }
    }

    /// A login of `user` with fresh PKCE, state and nonce; `verifier` overrides the one
    /// sent to the token endpoint (IDP-PKCE-01).
    async fn login(&self, e: &Endpoints, user: &IdpUser, wrong_verifier: Option<&str>) -> Attempt {
        let verifier = format!("{}{}", jose::random_id(), jose::random_id());
        let state = jose::random_id();
        let nonce = jose::random_id();
        let mut attempt = Attempt {
            pid: user.pid.clone(),
            level: user.level.clone(),
            nonce: nonce.clone(),
            trip: Vec::new(),
            problems: Vec::new(),
            unreachable: None,
            token: None,
        };
        let vars = vars(user);
        let url = match self.authorize_url(
            e,
            &self.idp.client_id,
            &self.idp.redirect_uri,
            &verifier,
            &state,
            &nonce,
            vars,
        ) {
            Ok(u) => u,
            Err(why) => {
                attempt.problems.push(why);
                return attempt;
            }
        };
        let label = format!("user {}", user.pid);
        let steps = self.steps(user);
        let ending = Browser::new(TIMEOUT)
            .navigate(
                &url,
                &[&self.idp.redirect_uri],
                steps,
                vars,
                &label,
                &mut attempt.trip,
            )
            .await;
        let params = match ending {
            Ending::Arrived { params, .. } => params,
            Ending::Stopped(why) => {
                attempt
                    .problems
                    .push(format!("the login did not reach the redirect URI: {why}"));
                return attempt;
            }
            Ending::Unreachable(why) => {
                attempt.unreachable = Some(why.clone());
                attempt
                    .problems
                    .push(format!("the IdP could not be reached: {why}"));
                return attempt;
            }
        };
        if let Some(error) = params.get("error") {
            attempt.problems.push(format!(
                "the login came back with error {error}{}",
                params
                    .get("error_description")
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ));
            return attempt;
        }
        let Some(code) = params.get("code") else {
            attempt
                .problems
                .push("the redirect to the redirect URI carries neither code nor error".into());
            return attempt;
        };
        match params.get("state") {
            Some(s) if *s == state => {}
            Some(s) => attempt
                .problems
                .push(format!("state came back as {s:?}; {state:?} was sent")),
            None => attempt
                .problems
                .push(format!("state did not come back; {state:?} was sent")),
        }
        match params.get("iss") {
            Some(i) if *i == self.issuer => {}
            Some(i) => attempt.problems.push(format!(
                "the authorization response's iss is {i:?}, not the issuer (RFC 9207)"
            )),
            None if e.iss_parameter => attempt.problems.push(
                "discovery promises iss in the authorization response, but it is missing (RFC 9207)"
                    .into(),
            ),
            None => {}
        }
        let (sent_verifier, what) = match wrong_verifier {
            Some(w) => (w, "token request with a wrong code_verifier"),
            None => (verifier.as_str(), "token request"),
        };
        let (exchange, body) = self
            .redeem(e, code, sent_verifier, &format!("{label}: {what}"))
            .await;
        let id_token = body
            .as_ref()
            .and_then(|b| b["id_token"].as_str())
            .map(str::to_owned);
        match (exchange.status, &id_token) {
            (Some(s), Some(_)) if (200..300).contains(&s) => {}
            (Some(s), _) if (200..300).contains(&s) => attempt
                .problems
                .push("the token response has no id_token".into()),
            (Some(s), _) => attempt.problems.push(format!(
                "the token endpoint answered {s}: {}",
                first_words(&exchange.response_body)
            )),
            (None, _) => {
                let why = exchange.error.clone().unwrap_or_default();
                attempt.unreachable = Some(why.clone());
                attempt
                    .problems
                    .push(format!("the token endpoint could not be reached: {why}"));
            }
        }
        attempt.token = Some((exchange, id_token));
        attempt
    }

    fn steps<'s>(&'s self, user: &'s IdpUser) -> &'s [LoginStep] {
        user.login.as_deref().unwrap_or(&self.idp.login)
    }

    #[allow(clippy::too_many_arguments)]
    fn authorize_url(
        &self,
        e: &Endpoints,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
        state: &str,
        nonce: &str,
        vars: Vars<'_>,
    ) -> Result<String, String> {
        let endpoint = e.authorization.as_deref().unwrap_or_default();
        let mut url = reqwest::Url::parse(endpoint)
            .map_err(|err| format!("authorization_endpoint {endpoint:?}: {err}"))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("response_type", "code")
                .append_pair("scope", &self.idp.scope)
                .append_pair("state", state)
                .append_pair("nonce", nonce)
                .append_pair("code_challenge", &jose::sha256_b64(verifier.as_bytes()))
                .append_pair("code_challenge_method", "S256");
            for (k, v) in &self.idp.extra_authorize_params {
                q.append_pair(k, &expand(v, vars));
            }
        }
        Ok(url.to_string())
    }

    /// The token request for `code`, with the client's secret as discovery (or the scenario)
    /// says.
    async fn redeem(
        &self,
        e: &Endpoints,
        code: &str,
        verifier: &str,
        label: &str,
    ) -> (Exchange, Option<Value>) {
        let token_url = e.token.clone().unwrap_or_default();
        let secret = self.secret.clone().unwrap_or_default();
        let id = &self.idp.client_id;
        let mut form: Vec<(String, String)> = vec![
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code.to_owned()),
            ("redirect_uri".into(), self.idp.redirect_uri.clone()),
            ("code_verifier".into(), verifier.to_owned()),
        ];
        let mut shown = form.clone();
        let mut request = self.http.post(&token_url);
        let mut headers = vec![(
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        match e.auth.unwrap_or(ClientAuth::ClientSecretBasic) {
            ClientAuth::ClientSecretBasic => {
                let credentials =
                    STANDARD.encode(format!("{}:{}", urlencode(id), urlencode(&secret)));
                request = request.header("Authorization", format!("Basic {credentials}"));
                headers.push((
                    "Authorization".into(),
                    format!("Basic [{id}:redacted] (client_secret_basic)"),
                ));
            }
            ClientAuth::ClientSecretPost => {
                form.push(("client_id".into(), id.clone()));
                form.push(("client_secret".into(), secret.clone()));
                shown.push(("client_id".into(), id.clone()));
                shown.push(("client_secret".into(), "[redacted]".into()));
            }
        }
        let mut exchange = Exchange {
            label: label.to_owned(),
            method: "POST".into(),
            url: token_url.clone(),
            request_headers: headers,
            request_body: Some(browser::shown_body(&shown)),
            ..Default::default()
        };
        let response = request
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(browser::urlencode_pairs(&form))
            .send()
            .await;
        match response {
            Ok(r) => {
                exchange.status = Some(r.status().as_u16());
                keep_headers(&mut exchange, r.headers());
                let body = r.text().await.unwrap_or_default();
                exchange.response_body = cut(&body, MAX_BODY * 2);
                let value = serde_json::from_str::<Value>(&body).ok();
                if let Some(raw) = value.as_ref().and_then(|v| v["id_token"].as_str()) {
                    exchange.decoded.extend(DecodedToken::of("ID token", raw));
                }
                (exchange, value)
            }
            Err(err) => {
                exchange.error = Some(error_text(&err));
                (exchange, None)
            }
        }
    }

    /// One of the claim checks for one token: `Ok(what was fine)` or `Err(what was wrong)`.
    fn claim_check(&self, id: &str, t: &Token<'_>, now: i64) -> Result<String, String> {
        let c = &t.claims;
        let names = &self.idp.claims;
        match id {
            "IDP-ISS-01" => match c.get("iss").and_then(Value::as_str) {
                Some(iss) if iss == self.issuer => Ok("iss is the issuer".into()),
                Some(iss) => Err(format!("iss is {iss:?}, not {:?}", self.issuer)),
                None => Err("iss is missing".into()),
            },
            "IDP-AUD-01" => {
                let id = &self.idp.client_id;
                let auds: Vec<&str> = match c.get("aud") {
                    Some(Value::String(s)) => vec![s.as_str()],
                    Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                    _ => return Err("aud is missing".into()),
                };
                if !auds.contains(&id.as_str()) {
                    return Err(format!("aud is {:?}, which does not name {id:?}", c["aud"]));
                }
                match c.get("azp").and_then(Value::as_str) {
                    Some(azp) if azp != id => Err(format!("azp is {azp:?}, not {id:?}")),
                    None if auds.len() > 1 => Err(format!(
                        "aud names {} audiences but there is no azp",
                        auds.len()
                    )),
                    _ => Ok("aud is the client".into()),
                }
            }
            "IDP-NONCE-01" => match c.get("nonce").and_then(Value::as_str) {
                Some(n) if n == t.user.nonce => Ok("nonce echoed".into()),
                Some(n) => Err(format!("nonce is {n:?}; {:?} was sent", t.user.nonce)),
                None => Err(format!("nonce is missing; {:?} was sent", t.user.nonce)),
            },
            "IDP-EXP-01" => {
                let time = |name: &str| c.get(name).and_then(Value::as_i64);
                let (Some(iat), Some(exp)) = (time("iat"), time("exp")) else {
                    return Err(format!(
                        "iat and exp must be numbers; iat is {}, exp is {}",
                        c.get("iat").map_or("missing".into(), Value::to_string),
                        c.get("exp").map_or("missing".into(), Value::to_string)
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
            "IDP-EXP-02" => {
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
            "IDP-PID-01" => {
                let name = &names.identifier;
                match c.get(name) {
                    Some(Value::String(pid)) => {
                        let facts = crate::scenario::personal_number(pid)
                            .map_err(|e| format!("{name}: {e}"))?;
                        if *pid != t.user.pid {
                            Err(format!(
                                "{name} is {pid:?}, a valid {} but not the user's {:?}",
                                facts.kind.label(),
                                t.user.pid
                            ))
                        } else {
                            Ok(format!("{name} is the user's {}", facts.kind.label()))
                        }
                    }
                    Some(other) => Err(format!("{name} is {other}, not a string of 11 digits")),
                    None => Err(format!("{name} is missing")),
                }
            }
            "IDP-AMR-01" => {
                let name = &names.method;
                match c.get(name) {
                    Some(Value::Array(a))
                        if !a.is_empty()
                            && a.iter().all(|v| v.as_str().is_some_and(|s| !s.is_empty())) =>
                    {
                        Ok(format!("{name} is {}", Value::Array(a.clone())))
                    }
                    Some(Value::String(s)) if !s.is_empty() && name != "amr" => {
                        Ok(format!("{name} is {s:?}"))
                    }
                    Some(Value::String(s)) if !s.is_empty() => Err(format!(
                        "amr is the string {s:?}; OIDC Core §2 makes it an array of strings"
                    )),
                    Some(other) => Err(format!("{name} is {other}, not a method")),
                    None => Err(format!("{name} is missing")),
                }
            }
            "IDP-LEVEL-01" => {
                let name = &names.level;
                let level = match c.get(name) {
                    Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    Some(other) => return Err(format!("{name} is {other}, not a level")),
                    None => return Err(format!("{name} is missing")),
                };
                match &t.user.level {
                    Some(want) if *want != level => Err(format!(
                        "{name} is {level:?}; the scenario expects {want:?} for this user"
                    )),
                    Some(_) => Ok(format!("{name} is {level:?} as expected")),
                    None => Ok(format!("{name} is {level:?}")),
                }
            }
            other => Err(format!("the runner has no implementation of {other}")),
        }
    }

    async fn pkce_01(&self, e: &Endpoints) -> CheckResult {
        let c = check("IDP-PKCE-01");
        let Some(user) = self.idp.users.first() else {
            return inconclusive(c, "the scenario has no test user".into(), vec![]);
        };
        let wrong = format!("{}{}", jose::random_id(), jose::random_id());
        let attempt = self.login(e, user, Some(&wrong)).await;
        let Some((exchange, id_token)) = attempt.token else {
            let why = attempt.problems.join("; ");
            return inconclusive(c, format!("no code to redeem: {why}"), last(&attempt.trip));
        };
        // The redirect that brought the code, and its redemption.
        let mut evidence = last(&attempt.trip);
        evidence.push(exchange.clone());
        match exchange.status {
            Some(s) if (200..300).contains(&s) => fail(
                c,
                format!(
                    "a code redeemed with a code_verifier that does not match its challenge got {s}{}",
                    if id_token.is_some() {
                        " and an ID token"
                    } else {
                        ""
                    }
                ),
                evidence,
            ),
            Some(s) if (400..500).contains(&s) => {
                let error = serde_json::from_str::<Value>(&exchange.response_body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_owned));
                pass(
                    c,
                    format!(
                        "refused with {s}{}",
                        error.map(|e| format!(" {e}")).unwrap_or_default()
                    ),
                    evidence,
                )
            }
            Some(s) => fail(
                c,
                format!("answered {s}; a refusal is 400 invalid_grant"),
                evidence,
            ),
            None => inconclusive(
                c,
                format!(
                    "the token endpoint could not be reached: {}",
                    exchange.error.clone().unwrap_or_default()
                ),
                evidence,
            ),
        }
    }

    async fn err_01(&self, e: &Endpoints) -> CheckResult {
        let c = check("IDP-ERR-01");
        let Some(user) = self.idp.users.first() else {
            return inconclusive(c, "the scenario has no test user".into(), vec![]);
        };
        let unknown_client = format!("conformance-unknown-client-{}", jose::random_id());
        let probes = [
            (
                "a redirect_uri that is not registered",
                self.idp.client_id.clone(),
            ),
            ("an unknown client_id", unknown_client),
        ];
        let mut evidence = Vec::new();
        let mut verdicts = Vec::new();
        let mut failures = Vec::new();
        for (what, client_id) in probes {
            let verifier = format!("{}{}", jose::random_id(), jose::random_id());
            let url = match self.authorize_url(
                e,
                &client_id,
                UNREGISTERED_REDIRECT_URI,
                &verifier,
                &jose::random_id(),
                &jose::random_id(),
                vars(user),
            ) {
                Ok(u) => u,
                Err(why) => return inconclusive(c, why, evidence),
            };
            let ending = Browser::new(TIMEOUT)
                .navigate(
                    &url,
                    &[UNREGISTERED_REDIRECT_URI, &self.idp.redirect_uri],
                    self.steps(user),
                    vars(user),
                    &format!("request with {what}"),
                    &mut evidence,
                )
                .await;
            match ending {
                Ending::Arrived { stop: 0, .. } => failures.push(format!(
                    "a request with {what} was redirected to that redirect_uri"
                )),
                Ending::Arrived { .. } => verdicts.push(format!(
                    "{what}: sent to the registered redirect URI, not the unregistered one"
                )),
                Ending::Stopped(why) => verdicts.push(format!("{what}: not redirected ({why})")),
                Ending::Unreachable(why) => {
                    return inconclusive(
                        c,
                        format!("the IdP could not be reached: {why}"),
                        evidence,
                    );
                }
            }
        }
        if failures.is_empty() {
            pass(c, verdicts.join("; "), evidence)
        } else {
            fail(c, failures.join("; "), evidence)
        }
    }

    async fn cancel_01(&self, e: &Endpoints) -> CheckResult {
        let c = check("IDP-CANCEL-01");
        let Some(user) = self.idp.users.first() else {
            return inconclusive(c, "the scenario has no test user".into(), vec![]);
        };
        let verifier = format!("{}{}", jose::random_id(), jose::random_id());
        let state = jose::random_id();
        let url = match self.authorize_url(
            e,
            &self.idp.client_id,
            &self.idp.redirect_uri,
            &verifier,
            &state,
            &jose::random_id(),
            vars(user),
        ) {
            Ok(u) => u,
            Err(why) => return inconclusive(c, why, vec![]),
        };
        let mut evidence = Vec::new();
        let ending = Browser::new(TIMEOUT)
            .navigate(
                &url,
                &[&self.idp.redirect_uri],
                &self.idp.cancel,
                vars(user),
                "cancelled login",
                &mut evidence,
            )
            .await;
        match ending {
            Ending::Arrived { params, .. } => {
                if params.contains_key("code") {
                    return fail(
                        c,
                        "a cancelled login came back with a code".into(),
                        evidence,
                    );
                }
                let Some(error) = params.get("error") else {
                    return fail(
                        c,
                        "the cancelled login came back with neither error nor code".into(),
                        evidence,
                    );
                };
                if params.get("state") != Some(&state) {
                    return fail(
                        c,
                        format!(
                            "the error came back with state {:?}; {state:?} was sent",
                            params.get("state")
                        ),
                        evidence,
                    );
                }
                pass(
                    c,
                    format!("came back with error={error} and the state"),
                    evidence,
                )
            }
            Ending::Stopped(why) => fail(
                c,
                format!("the cancelled login did not come back to the redirect URI: {why}"),
                evidence,
            ),
            Ending::Unreachable(why) => {
                inconclusive(c, format!("the IdP could not be reached: {why}"), evidence)
            }
        }
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

fn disc_02(exchange: &Exchange, doc: Option<&Value>) -> CheckResult {
    let c = check("IDP-DISC-02");
    let evidence = vec![exchange.clone()];
    let Some(doc) = doc else {
        return inconclusive(
            c,
            "no discovery document (see IDP-DISC-01)".into(),
            evidence,
        );
    };
    if list_has(&doc["code_challenge_methods_supported"], "S256") {
        pass(
            c,
            "code_challenge_methods_supported includes S256".into(),
            evidence,
        )
    } else {
        fail(
            c,
            format!(
                "code_challenge_methods_supported is {}; it should include S256",
                doc.get("code_challenge_methods_supported")
                    .map_or("missing".into(), Value::to_string)
            ),
            evidence,
        )
    }
}

/// Members only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn jwks_01(jwks: Option<&(Exchange, Option<Value>)>) -> CheckResult {
    let c = check("IDP-JWKS-01");
    let Some((exchange, value)) = jwks else {
        return inconclusive(
            c,
            "discovery names no jwks_uri to fetch (see IDP-DISC-01)".into(),
            vec![],
        );
    };
    let evidence = vec![exchange.clone()];
    let Some(value) = value else {
        return match &exchange.error {
            Some(e) => inconclusive(c, format!("the JWKS could not be fetched: {e}"), evidence),
            None => fail(
                c,
                format!(
                    "jwks_uri answered {} without a JSON object",
                    exchange.status.unwrap_or(0)
                ),
                evidence,
            ),
        };
    };
    let Some(keys) = value["keys"].as_array() else {
        return fail(c, "the JWKS has no keys array".into(), evidence);
    };
    let mut private = Vec::new();
    let mut usable = Vec::new();
    let mut unusable = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let kid = key["kid"]
            .as_str()
            .map_or(format!("key {i}"), |k| format!("kid {k}"));
        if let Some(map) = key.as_object() {
            let members: Vec<&str> = PRIVATE_MEMBERS
                .iter()
                .copied()
                .filter(|m| map.contains_key(*m))
                .collect();
            if !members.is_empty() {
                private.push(format!("{kid} ({})", members.join(", ")));
                continue;
            }
        }
        if key["use"].as_str().is_some_and(|u| u != "sig") {
            unusable.push(format!("{kid}: use {}", key["use"]));
            continue;
        }
        match PublicJwk::from_json(key) {
            Ok(_) => usable.push(kid),
            Err(e) => unusable.push(format!("{kid}: {e}")),
        }
    }
    if !private.is_empty() {
        return fail(
            c,
            format!(
                "the JWKS publishes private key material: {}",
                private.join("; ")
            ),
            evidence,
        );
    }
    if usable.is_empty() {
        return fail(
            c,
            format!(
                "no usable public signing key (RSA of 2048 bits or more, or EC){}",
                if unusable.is_empty() {
                    String::new()
                } else {
                    format!(": {}", unusable.join("; "))
                }
            ),
            evidence,
        );
    }
    pass(c, format!("signing keys: {}", usable.join(", ")), evidence)
}

/// The JWKS's public keys, read leniently (a published private part does not stop the
/// signature check; IDP-JWKS-01 reports it).
fn public_keys(jwks: &Value) -> Vec<PublicJwk> {
    jwks["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.as_object().and_then(|m| PublicJwk::public_part(m).ok()))
                .collect()
        })
        .unwrap_or_default()
}

fn login_01(attempts: &[Attempt]) -> CheckResult {
    let c = check("IDP-LOGIN-01");
    let evidence: Vec<Exchange> = attempts
        .iter()
        .flat_map(|a| {
            a.trip
                .iter()
                .chain(a.token.as_ref().map(|(e, _)| e))
                .cloned()
        })
        .collect();
    if let Some(a) = attempts.iter().find(|a| a.unreachable.is_some()) {
        return inconclusive(
            c,
            format!(
                "user {}: the IdP could not be reached: {}",
                a.pid,
                a.unreachable.clone().unwrap_or_default()
            ),
            evidence,
        );
    }
    let failed: Vec<String> = attempts
        .iter()
        .filter(|a| !a.problems.is_empty())
        .map(|a| format!("user {}: {}", a.pid, a.problems.join("; ")))
        .collect();
    if failed.is_empty() {
        pass(
            c,
            format!("{} of {} users logged in", attempts.len(), attempts.len()),
            evidence,
        )
    } else {
        fail(c, failed.join(" | "), evidence)
    }
}

fn read_token<'a>(
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

fn token_evidence(tokens: &[Result<Token<'_>, (&Attempt, &Exchange, String)>]) -> Vec<Exchange> {
    tokens
        .iter()
        .map(|t| match t {
            Ok(t) => t.exchange.clone(),
            Err((_, e, _)) => (*e).clone(),
        })
        .collect()
}

/// Judges every user's ID token with `judge`; fails on the first user it finds wrong.
fn judge_tokens(
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
fn summarise(per_user: &[(String, String)]) -> String {
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
fn sig(t: &Token<'_>, keys: &[PublicJwk]) -> Result<String, String> {
    let alg_text = t
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("(none given)");
    let Some(alg) = Alg::parse(alg_text) else {
        return Err(format!(
            "alg is {alg_text:?}; only the asymmetric RS, PS and ES algorithms are accepted"
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
            Some(kid) => format!("signed by kid {kid:?}, which is not in the JWKS"),
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
            Some(kid) => format!("the JWKS key {kid:?}"),
            None => format!("any of the {} JWKS keys", candidates.len()),
        }
    ))
}

fn last(trip: &[Exchange]) -> Vec<Exchange> {
    trip.last().cloned().into_iter().collect()
}

fn first_words(s: &str) -> String {
    cut(s, 300)
}
