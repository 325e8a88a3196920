//! The recording checks: what the client sent to the STS (client authentication, DPoP,
//! resource indicators, PAR, the code flow, PKCE, state and nonce, refresh rotation,
//! multi-tenancy) and to the probe API, judged from one run's records.

use std::collections::HashSet;

use mock_sts::flow_log::FlowRecord;
use serde_json::Value;

use super::driver::Observed;
use super::probe::ProbeCall;
use super::{
    MAX_ASSERTION_LIFETIME, MAX_BODY, MIN_STATE_LEN, ORGNR_PARENT_CLAIM, issuer_path, origin,
};
use crate::catalogue::Check;
use crate::report::{
    CheckResult, DecodedToken, Exchange, Outcome, cut, decode_jwt, fail, inconclusive, pass,
};

/// Judges one run's records.
#[derive(Debug, Clone, Copy)]
pub struct Judge<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// `HELSEID_ORGNR` of a multi-tenant client.
    pub orgnr: Option<&'a str>,
    /// The client's registered redirect URIs.
    pub redirect_uris: &'a [String],
    pub argv: &'a [String],
    pub observed: &'a Observed,
}

pub(crate) fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn params_named<'p>(params: &'p [(String, String)], name: &str) -> Vec<&'p str> {
    params
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

impl Judge<'_> {
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub(crate) fn is(&self, r: &FlowRecord, method: &str, path: &str) -> bool {
        r.method == method && format!("{}{}", origin(self.issuer), r.path) == self.endpoint(path)
    }

    /// The client's requests to `path` (by client_id in the form or query, or the
    /// assertion's issuer).
    pub(crate) fn requests(&self, method: &str, path: &str) -> Vec<&FlowRecord> {
        self.observed
            .flows
            .iter()
            .filter(|r| self.is(r, method, path))
            .filter(|r| self.ours(r))
            .collect()
    }

    pub(crate) fn ours(&self, r: &FlowRecord) -> bool {
        let form = r.form();
        let query = r.query_params();
        param(&form, "client_id") == Some(self.client_id)
            || param(&query, "client_id") == Some(self.client_id)
            || param(&form, "client_assertion")
                .and_then(decode_jwt)
                .is_some_and(|(_, c)| c["iss"].as_str() == Some(self.client_id))
    }

    pub(crate) fn token_requests(&self) -> Vec<&FlowRecord> {
        self.requests("POST", "/connect/token")
    }

    pub(crate) fn par_requests(&self) -> Vec<&FlowRecord> {
        self.requests("POST", "/connect/par")
    }

    pub(crate) fn evidence(&self, label: &str, r: &FlowRecord) -> Exchange {
        let form = r.form();
        let mut decoded = Vec::new();
        if let Some(a) = param(&form, "client_assertion") {
            decoded.extend(DecodedToken::of("client assertion", a));
        }
        if let Some(p) = r.header("dpop") {
            decoded.extend(DecodedToken::of("DPoP proof", p));
        }
        let body = if r.request_body.is_empty() {
            None
        } else {
            Some(
                form.iter()
                    .map(|(k, v)| {
                        let shown = match k.as_str() {
                            "client_secret" | "code_verifier" | "refresh_token" | "code" => {
                                format!("{}… (redacted)", v.chars().take(6).collect::<String>())
                            }
                            _ => v.clone(),
                        };
                        format!("{k}={shown}")
                    })
                    .collect::<Vec<_>>()
                    .join("&"),
            )
        };
        Exchange {
            label: label.to_owned(),
            method: r.method.clone(),
            url: if r.query.is_empty() {
                format!("{}{}", origin(self.issuer), r.path)
            } else {
                format!("{}{}?{}", origin(self.issuer), r.path, r.query)
            },
            request_headers: r
                .request_headers
                .iter()
                .filter(|(k, _)| k == "dpop" || k == "authorization")
                .cloned()
                .collect(),
            request_body: body,
            decoded,
            status: Some(r.status),
            response_headers: r
                .location
                .iter()
                .map(|l| ("location".to_owned(), l.clone()))
                .collect(),
            response_body: cut(&r.response_body, MAX_BODY),
            error: None,
        }
    }

    pub(crate) fn driver_evidence(&self) -> Exchange {
        self.observed.driver.evidence(self.argv)
    }
}

impl Judge<'_> {
    pub(crate) fn run_01(&self, c: &Check) -> CheckResult {
        let accepted = self
            .observed
            .probe_calls
            .iter()
            .filter(|p| p.status == 200)
            .count();
        let mut evidence = vec![self.driver_evidence()];
        evidence.extend(self.observed.probe_calls.iter().map(ProbeCall::evidence));
        let d = &self.observed.driver;
        if !d.succeeded() {
            return fail(c, format!("{}; it must exit 0", d.describe()), evidence);
        }
        if accepted == 0 {
            return fail(
                c,
                format!(
                    "the driver exited 0 but the probe API accepted no call ({} calls)",
                    self.observed.probe_calls.len()
                ),
                evidence,
            );
        }
        pass(
            c,
            format!("the driver exited 0 after {accepted} accepted call(s) to the probe API"),
            evidence,
        )
    }

    pub(crate) fn auth_01(&self, c: &Check) -> CheckResult {
        let requests: Vec<(&str, &FlowRecord)> = self
            .par_requests()
            .into_iter()
            .map(|r| ("PAR request", r))
            .chain(
                self.token_requests()
                    .into_iter()
                    .map(|r| ("token request", r)),
            )
            .collect();
        if requests.is_empty() {
            return inconclusive(
                c,
                "the client sent no request to the token or PAR endpoint".into(),
                vec![self.driver_evidence()],
            );
        }
        let mut seen: HashSet<String> = HashSet::new();
        for (label, r) in &requests {
            let form = r.form();
            let ev = || vec![self.evidence(label, r)];
            if param(&form, "client_secret").is_some()
                || r.header("authorization")
                    .is_some_and(|a| a.to_ascii_lowercase().starts_with("basic "))
            {
                return fail(c, format!("a {label} carries a client secret"), ev());
            }
            if param(&form, "client_assertion_type")
                != Some(protocol::client_assertion::ASSERTION_TYPE)
            {
                return fail(
                    c,
                    format!("a {label} has no client_assertion_type jwt-bearer (private_key_jwt)"),
                    ev(),
                );
            }
            let Some((_, claims)) = param(&form, "client_assertion").and_then(decode_jwt) else {
                return fail(
                    c,
                    format!("a {label} has no readable client_assertion"),
                    ev(),
                );
            };
            let iss = claims["iss"].as_str();
            let sub = claims["sub"].as_str();
            if iss != Some(self.client_id) || sub != Some(self.client_id) {
                return fail(
                    c,
                    format!(
                        "the assertion of a {label} has iss {iss:?} and sub {sub:?}; both must be the client_id {}",
                        self.client_id
                    ),
                    ev(),
                );
            }
            let allowed = [
                self.issuer.to_owned(),
                self.endpoint("/connect/token"),
                self.endpoint(&r.path.replacen(&issuer_path(self.issuer), "", 1)),
            ];
            let auds: Vec<&str> = match &claims["aud"] {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if auds.is_empty() || !auds.iter().all(|a| allowed.iter().any(|x| x == a)) {
                return fail(
                    c,
                    format!(
                        "the assertion of a {label} has aud {:?}; it must be the issuer or the endpoint",
                        claims["aud"]
                    ),
                    ev(),
                );
            }
            let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
                return fail(
                    c,
                    format!("the assertion of a {label} lacks iat or exp"),
                    ev(),
                );
            };
            if exp - iat > MAX_ASSERTION_LIFETIME {
                return fail(
                    c,
                    format!(
                        "the assertion of a {label} lives {} s (iat {iat}, exp {exp}); at most {MAX_ASSERTION_LIFETIME} s",
                        exp - iat
                    ),
                    ev(),
                );
            }
            let Some(jti) = claims["jti"].as_str().filter(|j| !j.is_empty()) else {
                return fail(c, format!("the assertion of a {label} has no jti"), ev());
            };
            if !seen.insert(jti.to_owned()) {
                return fail(c, format!("the assertion jti {jti:?} was used twice"), ev());
            }
        }
        pass(
            c,
            format!(
                "{} assertion(s), each private_key_jwt with iss = sub = client_id, a good aud, at most {MAX_ASSERTION_LIFETIME} s and a new jti",
                requests.len()
            ),
            requests
                .iter()
                .take(2)
                .map(|(l, r)| self.evidence(l, r))
                .collect(),
        )
    }

    pub(crate) fn dpop_01(&self, c: &Check) -> CheckResult {
        let requests = self.token_requests();
        if requests.is_empty() {
            return inconclusive(
                c,
                "the client sent no token request".into(),
                vec![self.driver_evidence()],
            );
        }
        let htu = self.endpoint("/connect/token");
        for (i, r) in requests.iter().enumerate() {
            let ev = || vec![self.evidence("token request", r)];
            let Some((header, claims)) = r.header("dpop").and_then(decode_jwt) else {
                return fail(c, "a token request has no DPoP proof".into(), ev());
            };
            if header["typ"].as_str() != Some("dpop+jwt") {
                return fail(
                    c,
                    format!("a proof has typ {:?}; it must be dpop+jwt", header["typ"]),
                    ev(),
                );
            }
            if claims["htm"].as_str() != Some("POST") || claims["htu"].as_str() != Some(&htu) {
                return fail(
                    c,
                    format!(
                        "a proof has htm {:?} and htu {:?}; it must be POST and {htu}",
                        claims["htm"], claims["htu"]
                    ),
                    ev(),
                );
            }
            let asked_nonce = r.status == 400 && r.response_body.contains("use_dpop_nonce");
            if asked_nonce {
                let retry = requests.get(i + 1);
                let retried = retry.is_some_and(|n| {
                    n.header("dpop")
                        .and_then(decode_jwt)
                        .is_some_and(|(_, c)| c["nonce"].is_string())
                });
                if !retried {
                    let mut evidence = ev();
                    evidence.extend(retry.map(|n| self.evidence("the next token request", n)));
                    return fail(
                        c,
                        "the STS answered use_dpop_nonce and the client did not retry with a proof carrying the nonce".into(),
                        evidence,
                    );
                }
            }
        }
        pass(
            c,
            format!(
                "{} token request(s), each with a proof for POST {htu}; every use_dpop_nonce was retried with the nonce",
                requests.len()
            ),
            requests
                .iter()
                .take(2)
                .map(|r| self.evidence("token request", r))
                .collect(),
        )
    }

    /// The shape most recording checks share: every one of `requests` (each with what the
    /// rule reads from it) must keep `rule`, which says what is wrong or nothing. The first
    /// that breaks it fails the check with its evidence; otherwise the check passes with
    /// `passed(count)` and the first request as evidence.
    fn each<P>(
        &self,
        c: &Check,
        label: &str,
        requests: &[(&FlowRecord, P)],
        mut rule: impl FnMut(&P) -> Option<String>,
        passed: impl FnOnce(usize) -> String,
    ) -> CheckResult {
        for (r, p) in requests {
            if let Some(wrong) = rule(p) {
                return fail(c, wrong, vec![self.evidence(label, r)]);
            }
        }
        pass(
            c,
            passed(requests.len()),
            requests
                .iter()
                .take(1)
                .map(|(r, _)| self.evidence(label, r))
                .collect(),
        )
    }

    pub(crate) fn res_01(&self, c: &Check) -> CheckResult {
        let requests: Vec<(&FlowRecord, Vec<(String, String)>)> = self
            .token_requests()
            .into_iter()
            .map(|r| (r, r.form()))
            .collect();
        if requests.is_empty() {
            return inconclusive(
                c,
                "the client sent no token request".into(),
                vec![self.driver_evidence()],
            );
        }
        self.each(
            c,
            "token request",
            &requests,
            |form| {
                let resources = params_named(form, "resource");
                (resources.len() != 1).then(|| {
                    format!(
                        "a {} token request names {} resources ({resources:?}); it must name exactly one",
                        param(form, "grant_type").unwrap_or("(no grant_type)"),
                        resources.len()
                    )
                })
            },
            |n| format!("{n} token request(s), each naming one resource"),
        )
    }

    fn authorize_requests(&self) -> Vec<&FlowRecord> {
        self.requests("GET", "/connect/authorize")
    }

    /// The authorization requests' parameters: each PAR body, and every authorize request
    /// that carried its parameters in the URL.
    fn authorization_params(&self) -> Vec<(&FlowRecord, Vec<(String, String)>)> {
        let mut out: Vec<(&FlowRecord, Vec<(String, String)>)> = self
            .par_requests()
            .into_iter()
            .map(|r| (r, r.form()))
            .collect();
        for r in self.authorize_requests() {
            let q = r.query_params();
            if param(&q, "request_uri").is_none() {
                out.push((r, q));
            }
        }
        out
    }

    pub(crate) fn par_01(&self, c: &Check) -> CheckResult {
        let authorize = self.authorize_requests();
        let par = self.par_requests();
        if authorize.is_empty() {
            return fail(
                c,
                "the client sent no authorization request (the browser never reached /connect/authorize with its client_id)".into(),
                vec![self.driver_evidence()],
            );
        }
        for r in &authorize {
            let q = r.query_params();
            let extra: Vec<&str> = q
                .iter()
                .map(|(k, _)| k.as_str())
                .filter(|k| *k != "client_id" && *k != "request_uri")
                .collect();
            if param(&q, "request_uri").is_none() {
                return fail(
                    c,
                    "an authorization request carried its parameters in the URL, not a pushed request_uri".into(),
                    vec![self.evidence("authorization request", r)],
                );
            }
            if !extra.is_empty() {
                return fail(
                    c,
                    format!(
                        "an authorization request with a request_uri also carries {extra:?} in the URL"
                    ),
                    vec![self.evidence("authorization request", r)],
                );
            }
        }
        let mut evidence: Vec<Exchange> = par
            .iter()
            .take(1)
            .map(|r| self.evidence("PAR request", r))
            .collect();
        evidence.extend(
            authorize
                .iter()
                .take(1)
                .map(|r| self.evidence("authorization request", r)),
        );
        pass(
            c,
            format!(
                "{} pushed request(s); {} authorization request(s), each with only client_id and request_uri",
                par.len(),
                authorize.len()
            ),
            evidence,
        )
    }

    pub(crate) fn code_01(&self, c: &Check) -> CheckResult {
        let auth = self.authorization_params();
        if auth.is_empty() {
            return fail(
                c,
                "the client sent no authorization request".into(),
                vec![self.driver_evidence()],
            );
        }
        self.each(
            c,
            "authorization request",
            &auth,
            |p| {
                let rt = param(p, "response_type");
                (rt != Some("code")).then(|| {
                    format!("an authorization request has response_type {rt:?}; it must be code")
                })
            },
            |n| format!("{n} authorization request(s), each with response_type=code"),
        )
    }

    pub(crate) fn pkce_01(&self, c: &Check) -> CheckResult {
        let auth = self.authorization_params();
        if auth.is_empty() {
            return fail(
                c,
                "the client sent no authorization request".into(),
                vec![self.driver_evidence()],
            );
        }
        for (r, p) in &auth {
            if param(p, "code_challenge").is_none_or(str::is_empty)
                || param(p, "code_challenge_method") != Some("S256")
            {
                return fail(
                    c,
                    format!(
                        "an authorization request has code_challenge_method {:?}; it must carry a code_challenge with S256",
                        param(p, "code_challenge_method")
                    ),
                    vec![self.evidence("authorization request", r)],
                );
            }
        }
        let redemptions: Vec<&FlowRecord> = self
            .token_requests()
            .into_iter()
            .filter(|r| param(&r.form(), "grant_type") == Some("authorization_code"))
            .collect();
        for r in &redemptions {
            let form = r.form();
            let len = param(&form, "code_verifier").map_or(0, str::len);
            if !(43..=128).contains(&len) {
                return fail(
                    c,
                    format!(
                        "a code was redeemed with a verifier of {len} characters; it must be 43 to 128"
                    ),
                    vec![self.evidence("token request", r)],
                );
            }
        }
        pass(
            c,
            format!(
                "{} authorization request(s) with S256; {} redemption(s) with a verifier of 43 to 128 characters",
                auth.len(),
                redemptions.len()
            ),
            auth.iter()
                .take(1)
                .map(|(r, _)| self.evidence("authorization request", r))
                .collect(),
        )
    }

    pub(crate) fn state_01(&self, c: &Check) -> CheckResult {
        let auth = self.authorization_params();
        if auth.is_empty() {
            return fail(
                c,
                "the client sent no authorization request".into(),
                vec![self.driver_evidence()],
            );
        }
        let mut seen: HashSet<String> = HashSet::new();
        self.each(
            c,
            "authorization request",
            &auth,
            |p| {
                ["state", "nonce"].into_iter().find_map(|name| {
                    let value = param(p, name).unwrap_or_default();
                    if value.len() < MIN_STATE_LEN {
                        Some(format!(
                            "an authorization request has {name} {value:?}; it must be at least {MIN_STATE_LEN} characters"
                        ))
                    } else if !seen.insert(format!("{name}={value}")) {
                        Some(format!("two authorization requests share the {name} {value:?}"))
                    } else {
                        None
                    }
                })
            },
            |n| format!("{n} authorization request(s), each with a new state and nonce"),
        )
    }

    pub(crate) fn refresh_01(&self, c: &Check) -> CheckResult {
        let mut latest: Option<String> = None;
        let mut used: HashSet<String> = HashSet::new();
        let mut refreshes = Vec::new();
        for r in self.token_requests() {
            let form = r.form();
            if param(&form, "grant_type") == Some("refresh_token") {
                let sent = param(&form, "refresh_token").unwrap_or_default().to_owned();
                refreshes.push(r);
                if used.contains(&sent) {
                    return fail(
                        c,
                        "a refresh request sent a refresh token the client had already used".into(),
                        vec![self.evidence("refresh request", r)],
                    );
                }
                if latest.as_deref() != Some(sent.as_str()) {
                    return fail(
                        c,
                        "a refresh request did not send the refresh token of the latest token response".into(),
                        vec![self.evidence("refresh request", r)],
                    );
                }
                // A use_dpop_nonce answer does not use the token: the retry sends it again.
                if !(r.status == 400 && r.response_body.contains("use_dpop_nonce")) {
                    used.insert(sent);
                }
            }
            if r.status == 200
                && let Some(rt) = serde_json::from_str::<Value>(&r.response_body)
                    .ok()
                    .and_then(|b| b["refresh_token"].as_str().map(str::to_owned))
            {
                latest = Some(rt);
            }
        }
        if refreshes.is_empty() {
            return CheckResult::new(
                c,
                Outcome::Skipped,
                "does not apply: the client did not refresh in this run",
            );
        }
        pass(
            c,
            format!(
                "{} refresh request(s), each with the newest refresh token, none reused",
                refreshes.len()
            ),
            refreshes
                .iter()
                .take(2)
                .map(|r| self.evidence("refresh request", r))
                .collect(),
        )
    }

    /// CLIENT-TENANCY-01: every token request names HELSEID_ORGNR in its client assertion's
    /// assertion_details (the STS refuses a multi-tenant client's request without it), and
    /// the probe got a token with orgnr_parent = HELSEID_ORGNR.
    pub(crate) fn tenancy_01(&self, c: &Check) -> CheckResult {
        let Some(orgnr) = self.orgnr else {
            return inconclusive(
                c,
                "the run has no HELSEID_ORGNR".into(),
                vec![self.driver_evidence()],
            );
        };
        let requests = self.token_requests();
        if requests.is_empty() {
            return fail(
                c,
                "the client sent no token request".into(),
                vec![self.driver_evidence()],
            );
        }
        for r in &requests {
            let ev = || vec![self.evidence("token request", r)];
            let Some((_, claims)) = param(&r.form(), "client_assertion").and_then(decode_jwt)
            else {
                return fail(
                    c,
                    "a token request has no readable client_assertion".into(),
                    ev(),
                );
            };
            let details = match (
                claims.get("assertion_details"),
                claims.get("authorization_details"),
            ) {
                (Some(d), _) | (None, Some(d)) => d,
                (None, None) => {
                    return fail(
                        c,
                        format!(
                            "a token request's client assertion has no assertion_details naming organisation {orgnr}"
                        ),
                        ev(),
                    );
                }
            };
            let parsed = match protocol::assertion_details::parse(details) {
                Ok(p) => p,
                Err(e) => return fail(c, format!("a client assertion's {e}"), ev()),
            };
            let parent = parsed.iter().find_map(|d| match d {
                protocol::assertion_details::Detail::Organisation(
                    protocol::assertion_details::OrgClaim::ParentChild { parent, .. },
                ) => Some(parent.as_str()),
                _ => None,
            });
            if parent != Some(orgnr) {
                return fail(
                    c,
                    format!(
                        "a client assertion's {} names parent organisation {parent:?}; it must be HELSEID_ORGNR {orgnr} (system {}, value NO:ORGNR:{orgnr}:<child?>)",
                        protocol::assertion_details::TYPE_AUTHORIZATION,
                        protocol::assertion_details::SYSTEM_ISO6523
                    ),
                    ev(),
                );
            }
        }
        let calls = &self.observed.probe_calls;
        if calls.is_empty() {
            return fail(
                c,
                "the client never called the probe API".into(),
                vec![self.driver_evidence()],
            );
        }
        for call in calls {
            let got = call
                .authorization
                .as_deref()
                .and_then(|a| a.split_once(' '))
                .and_then(|(_, t)| decode_jwt(t))
                .and_then(|(_, t)| t[ORGNR_PARENT_CLAIM].as_str().map(str::to_owned));
            if got.as_deref() != Some(orgnr) {
                return fail(
                    c,
                    format!(
                        "the probe API got a token with {ORGNR_PARENT_CLAIM} {got:?}; it must be HELSEID_ORGNR {orgnr}"
                    ),
                    vec![call.evidence()],
                );
            }
        }
        pass(
            c,
            format!(
                "{} token request(s) named organisation {orgnr} in assertion_details, and the API's token has {ORGNR_PARENT_CLAIM} {orgnr}",
                requests.len()
            ),
            requests
                .iter()
                .take(1)
                .map(|r| self.evidence("token request", r))
                .chain(calls.iter().take(1).map(ProbeCall::evidence))
                .collect(),
        )
    }

    pub(crate) fn probe_01(&self, c: &Check) -> CheckResult {
        let calls = &self.observed.probe_calls;
        if calls.is_empty() {
            return fail(
                c,
                "the client never called the probe API".into(),
                vec![self.driver_evidence()],
            );
        }
        for call in calls {
            let Some(token) = call
                .authorization
                .as_deref()
                .and_then(|a| a.strip_prefix("DPoP "))
            else {
                return fail(
                    c,
                    format!(
                        "the probe API was called with Authorization {:?}; it must be DPoP",
                        call.authorization
                            .as_deref()
                            .and_then(|a| a.split(' ').next())
                    ),
                    vec![call.evidence()],
                );
            };
            let ath = protocol::jose::sha256_b64(token.as_bytes());
            let got = call
                .dpop
                .as_deref()
                .and_then(decode_jwt)
                .and_then(|(_, c)| c["ath"].as_str().map(str::to_owned));
            if got.as_deref() != Some(ath.as_str()) {
                return fail(
                    c,
                    format!("a probe call's proof has ath {got:?}; it must be {ath}"),
                    vec![call.evidence()],
                );
            }
            if call.status != 200 {
                return fail(
                    c,
                    format!("the probe API refused a call ({})", call.status),
                    vec![call.evidence()],
                );
            }
        }
        pass(
            c,
            format!(
                "{} probe call(s), each with a DPoP-bound token and a proof with its ath",
                calls.len()
            ),
            calls.iter().take(1).map(ProbeCall::evidence).collect(),
        )
    }
}
