//! The logins: one per test user with the code flow, PKCE, state and nonce, the IdP's login
//! pages filled in by the [`super::browser`], the code redeemed with the client secret
//! (IDP-LOGIN-01); and a code redeemed with the wrong verifier (IDP-PKCE-01).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::jose;
use serde_json::Value;

use super::browser::{self, Browser, Ending, Vars, expand, keep_headers, urlencode};
use super::{Attempt, Endpoints, MAX_BODY, Run, TIMEOUT, first_words, last, vars};
use crate::catalogue::IdpCheck;
use crate::report::{
    CheckResult, DecodedToken, Exchange, cut, error_text, fail, inconclusive, pass,
};
use crate::scenario::{ClientAuth, IdpUser, LoginStep};

impl Run<'_> {
    /// A login of `user` with fresh PKCE, state and nonce; `verifier` overrides the one
    /// sent to the token endpoint (IDP-PKCE-01).
    pub(super) async fn login(
        &self,
        e: &Endpoints,
        user: &IdpUser,
        wrong_verifier: Option<&str>,
    ) -> Attempt {
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
    pub(super) async fn redeem(
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

    pub(super) async fn pkce_01(&self, e: &Endpoints) -> CheckResult {
        let c = IdpCheck::Pkce01.check();
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
