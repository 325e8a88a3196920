//! The logins: one per test user with the code flow, PKCE, state and nonce, the IdP's login
//! pages filled in by the [`super::browser`], the code redeemed with the client secret
//! (IDP-LOGIN-01); and the token endpoint's refusals, each with a fresh code of the first
//! user: a wrong verifier (IDP-PKCE-01), no verifier (IDP-PKCE-02), a code redeemed twice
//! (IDP-CODE-01) and a wrong client secret (IDP-AUTH-01).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::jose;
use serde_json::Value;

use super::browser::{self, Browser, Ending, Vars, expand, keep_headers, urlencode};
use super::{Attempt, Endpoints, MAX_BODY, Run, TIMEOUT, first_words, last, vars};
use crate::catalogue::{Check, IdpCheck};
use crate::report::{
    CheckResult, DecodedToken, Exchange, cut, error_text, fail, inconclusive, pass, shown,
};
use crate::scenario::{ClientAuth, IdpUser, LoginStep};

/// What a probe of the token endpoint gets wrong.
#[derive(Debug, Clone, Copy)]
pub(super) enum Spoil {
    /// A verifier that does not hash to the challenge (IDP-PKCE-01).
    WrongVerifier,
    /// No verifier, though the request had a challenge (IDP-PKCE-02).
    NoVerifier,
    /// The right verifier, a wrong client secret (IDP-AUTH-01).
    WrongSecret,
}

/// A code the IdP sent to the redirect URI, and the PKCE verifier of its request.
pub(super) struct Grant {
    code: String,
    verifier: String,
    /// Whose login it was, for evidence labels: "user 05757041733".
    label: String,
}

impl Run<'_> {
    /// A login of `user` with fresh PKCE, state and nonce, its code redeemed with the
    /// verifier and the client secret.
    pub(super) async fn login(&self, e: &Endpoints, user: &IdpUser) -> Attempt {
        let (mut attempt, grant) = self.authorize(e, user).await;
        let Some(grant) = grant else {
            return attempt;
        };
        let (exchange, body) = self
            .redeem(
                e,
                &grant.code,
                Some(&grant.verifier),
                self.secret.as_deref().unwrap_or_default(),
                &format!("{}: token request", grant.label),
            )
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

    /// A login of `user` up to the code: the attempt (the trip, what was wrong) and the code
    /// with its verifier, when the IdP sent one.
    async fn authorize(&self, e: &Endpoints, user: &IdpUser) -> (Attempt, Option<Grant>) {
        let verifier = format!("{}{}", jose::random_id(), jose::random_id());
        let state = jose::random_id();
        let nonce = jose::random_id();
        let mut attempt = Attempt {
            pid: user.pid.clone(),
            level: user.level.clone(),
            amr: user
                .amr
                .as_ref()
                .map(|m| m.values().to_vec())
                .unwrap_or_default(),
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
                return (attempt, None);
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
                return (attempt, None);
            }
            Ending::Unreachable(why) => {
                attempt.unreachable = Some(why.clone());
                attempt
                    .problems
                    .push(format!("the IdP could not be reached: {why}"));
                return (attempt, None);
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
            return (attempt, None);
        }
        let Some(code) = params.get("code") else {
            attempt
                .problems
                .push("the redirect to the redirect URI carries neither code nor error".into());
            return (attempt, None);
        };
        match params.get("state") {
            Some(s) if *s == state => {}
            Some(s) => attempt.problems.push(format!(
                "state came back as {}; {} was sent",
                shown(Some(s)),
                shown(Some(&state))
            )),
            None => attempt.problems.push(format!(
                "state did not come back; {} was sent",
                shown(Some(&state))
            )),
        }
        match params.get("iss") {
            Some(i) if *i == self.issuer => {}
            Some(i) => attempt.problems.push(format!(
                "the authorization response's iss is {}, not the issuer (RFC 9207)",
                shown(Some(i))
            )),
            None if e.iss_parameter => attempt.problems.push(
                "discovery promises iss in the authorization response, but it is missing (RFC 9207)"
                    .into(),
            ),
            None => {}
        }
        let grant = Grant {
            code: code.clone(),
            verifier,
            label,
        };
        (attempt, Some(grant))
    }

    /// A fresh code of the first user for a probe of the token endpoint, with the redirect
    /// that brought it as evidence; or why there is none (inconclusive).
    async fn probe_grant(
        &self,
        c: &Check,
        e: &Endpoints,
    ) -> Result<(Grant, Vec<Exchange>), CheckResult> {
        let Some(user) = self.idp.users.first() else {
            return Err(inconclusive(
                c,
                "the scenario has no test user".into(),
                vec![],
            ));
        };
        let (attempt, grant) = self.authorize(e, user).await;
        match grant {
            Some(grant) => Ok((grant, last(&attempt.trip))),
            None => Err(inconclusive(
                c,
                format!("no code to redeem: {}", attempt.problems.join("; ")),
                last(&attempt.trip),
            )),
        }
    }

    pub(super) fn steps<'s>(&'s self, user: &'s IdpUser) -> &'s [LoginStep] {
        user.login.as_deref().unwrap_or(&self.idp.login)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn authorize_url(
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
            .map_err(|err| format!("authorization_endpoint {}: {err}", shown(Some(endpoint))))?;
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

    /// The token request for `code` with `verifier` (none: no code_verifier parameter) and
    /// `secret`, sent as discovery (or the scenario) says.
    async fn redeem(
        &self,
        e: &Endpoints,
        code: &str,
        verifier: Option<&str>,
        secret: &str,
        label: &str,
    ) -> (Exchange, Option<Value>) {
        let token_url = e.token.clone().unwrap_or_default();
        let id = &self.idp.client_id;
        let mut form: Vec<(String, String)> = vec![
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code.to_owned()),
            ("redirect_uri".into(), self.idp.redirect_uri.clone()),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier".into(), verifier.to_owned()));
        }
        let mut shown = form.clone();
        let mut request = self.http.post(&token_url);
        let mut headers = vec![(
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        match e.auth.unwrap_or(ClientAuth::ClientSecretBasic) {
            ClientAuth::ClientSecretBasic => {
                let credentials =
                    STANDARD.encode(format!("{}:{}", urlencode(id), urlencode(secret)));
                request = request.header("Authorization", format!("Basic {credentials}"));
                headers.push((
                    "Authorization".into(),
                    format!("Basic [{id}:redacted] (client_secret_basic)"),
                ));
            }
            ClientAuth::ClientSecretPost => {
                form.push(("client_id".into(), id.clone()));
                form.push(("client_secret".into(), secret.to_owned()));
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

    /// IDP-PKCE-01, -PKCE-02 and -AUTH-01: a fresh code redeemed with one thing wrong.
    pub(super) async fn spoiled(&self, e: &Endpoints, spoil: Spoil) -> CheckResult {
        let c = match spoil {
            Spoil::WrongVerifier => IdpCheck::Pkce01,
            Spoil::NoVerifier => IdpCheck::Pkce02,
            Spoil::WrongSecret => IdpCheck::Auth01,
        }
        .check();
        let (grant, evidence) = match self.probe_grant(c, e).await {
            Ok(g) => g,
            Err(r) => return r,
        };
        let wrong = format!("wrong-{}{}", jose::random_id(), jose::random_id());
        let secret = self.secret.as_deref().unwrap_or_default();
        let verifier = Some(grant.verifier.as_str());
        let (verifier, secret, label, sent, refusal) = match spoil {
            Spoil::WrongVerifier => (
                Some(wrong.as_str()),
                secret,
                "token request with a wrong code_verifier",
                "a code redeemed with a code_verifier that does not match its challenge",
                "400 invalid_grant",
            ),
            Spoil::NoVerifier => (
                None,
                secret,
                "token request without code_verifier",
                "a code whose request had a code_challenge, redeemed without code_verifier,",
                "400 invalid_grant",
            ),
            Spoil::WrongSecret => (
                verifier,
                wrong.as_str(),
                "token request with a wrong client secret",
                "a code redeemed with a wrong client secret",
                "401 or 400 invalid_client",
            ),
        };
        let label = format!("{}: {label}", grant.label);
        let answer = self.redeem(e, &grant.code, verifier, secret, &label).await;
        refused(c, answer, evidence, sent, refusal)
    }

    /// IDP-CODE-01: a fresh code redeemed, and at once redeemed again.
    pub(super) async fn code_01(&self, e: &Endpoints) -> CheckResult {
        let c = IdpCheck::Code01.check();
        let (grant, mut evidence) = match self.probe_grant(c, e).await {
            Ok(g) => g,
            Err(r) => return r,
        };
        let secret = self.secret.as_deref().unwrap_or_default();
        let redeem = async |what: &str| {
            let label = format!("{}: token request ({what})", grant.label);
            self.redeem(e, &grant.code, Some(&grant.verifier), secret, &label)
                .await
        };
        let (first, _) = redeem("first use of the code").await;
        evidence.push(first.clone());
        match first.status {
            Some(s) if (200..300).contains(&s) => {}
            Some(s) => {
                return inconclusive(
                    c,
                    format!(
                        "the code's first redemption was answered {s}, so a second says nothing (see IDP-LOGIN-01)"
                    ),
                    evidence,
                );
            }
            None => {
                return inconclusive(
                    c,
                    format!(
                        "the token endpoint could not be reached: {}",
                        first.error.clone().unwrap_or_default()
                    ),
                    evidence,
                );
            }
        }
        let answer = redeem("the same code again").await;
        refused(
            c,
            answer,
            evidence,
            "a code redeemed a second time",
            "400 invalid_grant",
        )
    }
}

/// Judges a probe's token request that must get no tokens: a 4xx refusal passes (its error
/// named), tokens or any other answer fail; no answer is inconclusive. `sent` says what was
/// sent, `refusal` what a refusal looks like.
fn refused(
    c: &Check,
    (exchange, body): (Exchange, Option<Value>),
    mut evidence: Vec<Exchange>,
    sent: &str,
    refusal: &str,
) -> CheckResult {
    evidence.push(exchange.clone());
    let field = |name: &str| {
        body.as_ref()
            .and_then(|b| b[name].as_str())
            .map(str::to_owned)
    };
    match exchange.status {
        Some(s) if (200..300).contains(&s) => {
            let tokens: Vec<&str> = ["id_token", "access_token"]
                .into_iter()
                .filter(|t| field(t).is_some())
                .collect();
            fail(
                c,
                format!(
                    "{sent} got {s}{}",
                    if tokens.is_empty() {
                        String::new()
                    } else {
                        format!(" with {}", tokens.join(" and "))
                    }
                ),
                evidence,
            )
        }
        Some(s) if (400..500).contains(&s) => pass(
            c,
            format!(
                "refused with {s}{}",
                field("error").map(|e| format!(" {e}")).unwrap_or_default()
            ),
            evidence,
        ),
        Some(s) => fail(
            c,
            format!("{sent} was answered {s}; a refusal is {refusal}"),
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

pub(super) fn login_01(attempts: &[Attempt]) -> CheckResult {
    let c = IdpCheck::Login01.check();
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
