//! The recording checks: what the client sent to the STS (client authentication, DPoP,
//! resource indicators, PAR, the code flow, PKCE, state and nonce, refresh rotation,
//! multi-tenancy) and to the probe API, judged from one run's records.

use std::collections::{BTreeSet, HashMap, HashSet};

use mock_sts::flow_log::FlowRecord;
use protocol::client_assertion;
use protocol::dpop::{self, Policy, Rules};
use protocol::endpoints;
use protocol::pkce;
use serde_json::Value;

use super::driver::Observed;
use super::probe::ProbeCall;
use super::{MAX_BODY, MIN_STATE_LEN, ORGNR_PARENT_CLAIM, origin};
use crate::catalogue::Check;
use crate::report::{
    CheckResult, DecodedToken, Exchange, Outcome, cut, decode_jwt, fail, inconclusive, pass, shown,
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
    /// The keys the client registered (its assertions are verified with them).
    pub keys: &'a [client_assertion::RegisteredKey],
    /// The run being judged (the baseline run, or a fault check's run).
    pub observed: &'a Observed,
    /// Every driver run of the scenario, the baseline first, for the checks that compare
    /// across runs (empty while the fault checks are judged).
    pub runs: &'a [Observed],
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

impl<'a> Judge<'a> {
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub(crate) fn is(&self, r: &FlowRecord, method: &str, path: &str) -> bool {
        r.method == method && format!("{}{}", origin(self.issuer), r.path) == self.endpoint(path)
    }

    /// The client's requests to `path` (by client_id in the form or query, or the
    /// assertion's issuer).
    pub(crate) fn requests(&self, method: &str, path: &str) -> Vec<&'a FlowRecord> {
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

    pub(crate) fn token_requests(&self) -> Vec<&'a FlowRecord> {
        self.requests("POST", endpoints::TOKEN)
    }

    pub(crate) fn par_requests(&self) -> Vec<&'a FlowRecord> {
        self.requests("POST", endpoints::PAR)
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

    /// Every driver run to compare across: all of the scenario's when they are known, else
    /// the one being judged.
    fn all_runs(&self) -> Vec<&'a Observed> {
        if self.runs.is_empty() {
            vec![self.observed]
        } else {
            self.runs.iter().collect()
        }
    }

    /// This judge looking at another run.
    fn on(&self, run: &'a Observed) -> Judge<'a> {
        Judge {
            observed: run,
            ..*self
        }
    }

    pub(crate) fn authorize_requests(&self) -> Vec<&'a FlowRecord> {
        self.requests("GET", endpoints::AUTHORIZE)
    }

    /// The authorization requests' parameters: each PAR body, and every authorize request
    /// that carried its parameters in the URL.
    pub(crate) fn authorization_params(&self) -> Vec<(&'a FlowRecord, Vec<(String, String)>)> {
        let mut out: Vec<(&'a FlowRecord, Vec<(String, String)>)> = self
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

    /// The authorization requests of every run, with the run's number (1 is the baseline).
    fn authorization_params_of_all_runs(&self) -> Vec<RunRequest<'a>> {
        self.all_runs()
            .into_iter()
            .enumerate()
            .flat_map(|(i, run)| {
                self.on(run)
                    .authorization_params()
                    .into_iter()
                    .map(move |(r, p)| (i + 1, r, p))
            })
            .collect()
    }
}

impl<'a> Judge<'a> {
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

    /// CLIENT-AUTH-01: every PAR and token request authenticates with a client assertion the
    /// STS's own validator (`protocol::client_assertion`, with the client's registered keys,
    /// at the time the request came) accepts, and no assertion `jti` comes twice.
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
            if let Some(why) = client_assertion::other_method(
                param(&form, "client_secret"),
                r.header("authorization"),
            ) {
                return fail(c, format!("a {label}: {why}"), ev());
            }
            if param(&form, "client_assertion_type") != Some(client_assertion::ASSERTION_TYPE) {
                return fail(
                    c,
                    format!(
                        "a {label} has client_assertion_type {}; it must be {} (private_key_jwt)",
                        shown(param(&form, "client_assertion_type")),
                        client_assertion::ASSERTION_TYPE
                    ),
                    ev(),
                );
            }
            let Some(assertion) = param(&form, "client_assertion") else {
                return fail(c, format!("a {label} has no client_assertion"), ev());
            };
            let endpoint = format!("{}{}", origin(self.issuer), r.path);
            let audiences = client_assertion::accepted_audiences(self.issuer, &endpoint);
            let rules = client_assertion::Rules {
                client_id: param(&form, "client_id"),
                audiences: &audiences,
                now: r.at,
            };
            let verified = match client_assertion::validate(assertion, &rules, self.keys) {
                Ok(v) => v,
                Err(e) => return fail(c, format!("a {label}'s {e}"), ev()),
            };
            if verified.client_id != self.client_id {
                return fail(
                    c,
                    format!(
                        "a {label}'s assertion names client {}; it must be the client_id {}",
                        shown(Some(&verified.client_id)),
                        self.client_id
                    ),
                    ev(),
                );
            }
            if !seen.insert(verified.jti.clone()) {
                return fail(
                    c,
                    format!(
                        "the assertion jti \"{}\" was used twice (a {label})",
                        verified.jti
                    ),
                    ev(),
                );
            }
        }
        pass(
            c,
            format!(
                "{} assertion(s), each private_key_jwt with iss = sub = client_id, a good aud, at most {} s ahead and a new jti",
                requests.len(),
                client_assertion::MAX_LIFETIME_SECS
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
        let htu = self.endpoint(endpoints::TOKEN);
        // The STS's own rules for a proof at its token endpoint (protocol::dpop), less the
        // time window, which the STS judged when the request came.
        let policy = Policy {
            check_iat: false,
            ..Policy::STRICT
        };
        for (i, r) in requests.iter().enumerate() {
            let ev = || vec![self.evidence("token request", r)];
            let Some(proof) = r.header("dpop") else {
                return fail(c, "a token request has no DPoP proof".into(), ev());
            };
            let rules = Rules {
                htm: "POST",
                htu: &htu,
                now: r.at,
                access_token: None,
            };
            if let Err(e) = dpop::validate_with(proof, &rules, &policy) {
                return fail(c, format!("a token request's {e}"), ev());
            }
            let asked_nonce = asked_for_nonce(r);
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

    /// A check over every run's authorization requests passed: how many, and `what` held.
    fn passed_over_runs(&self, c: &Check, auth: &[RunRequest<'_>], what: &str) -> CheckResult {
        pass(
            c,
            format!(
                "{} authorization request(s) over {} run(s), {what}",
                auth.len(),
                self.all_runs().len()
            ),
            auth.iter()
                .take(1)
                .map(|(_, r, _)| self.evidence("authorization request", r))
                .collect(),
        )
    }

    fn no_authorization_request(&self, c: &Check) -> CheckResult {
        fail(
            c,
            "the client sent no authorization request".into(),
            vec![self.driver_evidence()],
        )
    }

    /// Two authorization requests (run and request each) share `what`.
    fn repeated(
        &self,
        c: &Check,
        what: &str,
        rule: &str,
        (earlier_run, earlier): (usize, &FlowRecord),
        (run, r): (usize, &FlowRecord),
    ) -> CheckResult {
        fail(
            c,
            format!(
                "two authorization requests (runs {earlier_run} and {run}) share {what}: {rule}"
            ),
            vec![
                self.evidence("authorization request", earlier),
                self.evidence("authorization request", r),
            ],
        )
    }

    /// Every DPoP proof of every run, with where it was sent: the STS's records (token, PAR,
    /// userinfo, ...) and the probe API's calls.
    fn proofs_of_all_runs(&self) -> Vec<SentProof<'a>> {
        let mut out = Vec::new();
        for (i, run) in self.all_runs().into_iter().enumerate() {
            for r in &run.flows {
                if let Some(proof) = r.header("dpop") {
                    out.push(SentProof {
                        run: i + 1,
                        proof,
                        at: Sent::Sts(r),
                    });
                }
            }
            for p in &run.probe_calls {
                if let Some(proof) = p.dpop.as_deref() {
                    out.push(SentProof {
                        run: i + 1,
                        proof,
                        at: Sent::Api(p),
                    });
                }
            }
        }
        out
    }

    fn proof_evidence(&self, p: &SentProof<'_>) -> Exchange {
        let mut e = match p.at {
            Sent::Sts(r) => self.evidence(&format!("run {}: {} {}", p.run, r.method, r.path), r),
            Sent::Api(call) => call.evidence(),
        };
        if matches!(p.at, Sent::Api(_)) {
            e.label = format!("run {}: the API call", p.run);
        }
        e
    }

    /// CLIENT-DPOP-02: no two proofs share a `jti` (RFC 9449 §4.2), whichever endpoint they
    /// went to and in whichever run.
    pub(crate) fn dpop_02(&self, c: &Check) -> CheckResult {
        let proofs = self.proofs_of_all_runs();
        if proofs.is_empty() {
            return inconclusive(
                c,
                "the client sent no DPoP proof (see CLIENT-DPOP-01)".into(),
                vec![self.driver_evidence()],
            );
        }
        let mut first: HashMap<String, &SentProof<'_>> = HashMap::new();
        for p in &proofs {
            let Some(jti) = decode_jwt(p.proof)
                .and_then(|(_, claims)| claims["jti"].as_str().map(str::to_owned))
            else {
                continue;
            };
            if let Some(earlier) = first.get(&jti) {
                return fail(
                    c,
                    format!(
                        "two DPoP proofs share the jti \"{jti}\": {} and {}",
                        earlier.describe(),
                        p.describe()
                    ),
                    vec![self.proof_evidence(earlier), self.proof_evidence(p)],
                );
            }
            first.insert(jti, p);
        }
        pass(
            c,
            format!(
                "{} DPoP proof(s) over {} run(s), each with a jti of its own",
                proofs.len(),
                self.all_runs().len()
            ),
            proofs
                .iter()
                .take(1)
                .map(|p| self.proof_evidence(p))
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

    /// CLIENT-RES-01: a token request names at most one resource, and names one wherever
    /// leaving it out would make the token's audience ambiguous: the request's scopes, or the
    /// login's (PAR) resources and scopes, name more than one API.
    pub(crate) fn res_01(&self, c: &Check) -> CheckResult {
        let mut judged = 0;
        let mut evidence_first = None;
        for run in self.all_runs() {
            let j = self.on(run);
            // What the run's logins asked for at PAR: one resource binds the whole grant to
            // that API (RFC 8707 §2.1: "applicable to the full authorization grant"), so the
            // scopes' APIs count only where no single resource was named.
            let par: Vec<&FlowRecord> = j.par_requests();
            let mut par_resources: BTreeSet<String> = BTreeSet::new();
            let mut scope_apis: BTreeSet<String> = BTreeSet::new();
            for r in &par {
                let form = r.form();
                par_resources.extend(
                    params_named(&form, "resource")
                        .into_iter()
                        .map(str::to_owned),
                );
                scope_apis.extend(apis_of_scope(param(&form, "scope").unwrap_or_default()));
            }
            let login_apis = if par_resources.len() == 1 {
                par_resources
            } else {
                par_resources.union(&scope_apis).cloned().collect()
            };
            for r in j.token_requests() {
                // The request answered use_dpop_nonce is sent again; the retry is judged.
                if asked_for_nonce(r) {
                    continue;
                }
                let form = r.form();
                let grant = param(&form, "grant_type").unwrap_or("(no grant_type)");
                if !matches!(
                    grant,
                    "client_credentials" | "authorization_code" | "refresh_token"
                ) {
                    continue;
                }
                judged += 1;
                evidence_first.get_or_insert(r);
                let resources = params_named(&form, "resource");
                if resources.len() > 1 {
                    return fail(
                        c,
                        format!(
                            "a {grant} token request names {} resources ({}); a token has one audience, so it must name one",
                            resources.len(),
                            resources.join(", ")
                        ),
                        vec![self.evidence("token request", r)],
                    );
                }
                if !resources.is_empty() {
                    continue;
                }
                let mut asked = apis_of_scope(param(&form, "scope").unwrap_or_default());
                if grant != "client_credentials" {
                    asked.extend(login_apis.iter().cloned());
                }
                if asked.len() > 1 {
                    let mut evidence = vec![self.evidence("token request", r)];
                    evidence.extend(par.first().map(|p| self.evidence("PAR request", p)));
                    return fail(
                        c,
                        format!(
                            "a {grant} token request names no resource while the client asked for {} APIs ({}): the audience of the token is ambiguous, so it must name the one it is for",
                            asked.len(),
                            asked.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                        evidence,
                    );
                }
            }
        }
        if judged == 0 {
            return inconclusive(
                c,
                "the client sent no token request".into(),
                vec![self.driver_evidence()],
            );
        }
        pass(
            c,
            format!(
                "{judged} token request(s): none names more than one resource, and each that names none is for the one API the client asked for"
            ),
            evidence_first
                .map(|r| self.evidence("token request", r))
                .into_iter()
                .collect(),
        )
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
                        "an authorization request with a request_uri also carries {} in the URL",
                        extra.join(", ")
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
                    format!(
                        "an authorization request has response_type {}; it must be code",
                        shown(rt)
                    )
                })
            },
            |n| format!("{n} authorization request(s), each with response_type=code"),
        )
    }

    pub(crate) fn pkce_01(&self, c: &Check) -> CheckResult {
        let auth = self.authorization_params_of_all_runs();
        if auth.is_empty() {
            return self.no_authorization_request(c);
        }
        let mut challenges = Seen::default();
        for (run, r, p) in &auth {
            let challenge = param(p, "code_challenge").unwrap_or_default();
            let method = param(p, "code_challenge_method");
            // The STS's rule (protocol::pkce): S256, and a challenge of its shape.
            if !pkce::valid_challenge(challenge) || method != Some("S256") {
                return fail(
                    c,
                    format!(
                        "an authorization request (run {run}) has {}; it must carry a code_challenge (base64url of a SHA-256 hash) with code_challenge_method S256",
                        match (challenge.is_empty(), method) {
                            (true, _) => "no code_challenge".to_owned(),
                            (false, Some("S256")) => format!("the code_challenge \"{challenge}\""),
                            (false, Some(m)) => format!("code_challenge_method {m}"),
                            (false, None) => "no code_challenge_method".to_owned(),
                        }
                    ),
                    vec![self.evidence("authorization request", r)],
                );
            }
            if let Some(earlier) = challenges.first_use(challenge, *run, r) {
                return self.repeated(
                    c,
                    &format!("the code_challenge {challenge}"),
                    "the verifier must be new for every authorization request",
                    earlier,
                    (*run, r),
                );
            }
        }
        let mut redemptions = 0;
        for run in self.all_runs() {
            for r in self.on(run).token_requests() {
                let form = r.form();
                if param(&form, "grant_type") != Some("authorization_code") {
                    continue;
                }
                redemptions += 1;
                let verifier = param(&form, "code_verifier").unwrap_or_default();
                if !pkce::valid_verifier(verifier) {
                    return fail(
                        c,
                        format!(
                            "a code was redeemed with a verifier of {} characters; it must be 43 to 128 of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)",
                            verifier.len()
                        ),
                        vec![self.evidence("token request", r)],
                    );
                }
            }
        }
        self.passed_over_runs(
            c,
            &auth,
            &format!(
                "each with its own S256 challenge; {redemptions} redemption(s) with a verifier of 43 to 128 characters"
            ),
        )
    }

    pub(crate) fn state_01(&self, c: &Check) -> CheckResult {
        let auth = self.authorization_params_of_all_runs();
        if auth.is_empty() {
            return self.no_authorization_request(c);
        }
        let mut seen = Seen::default();
        for (run, r, p) in &auth {
            for name in ["state", "nonce"] {
                let value = param(p, name).unwrap_or_default();
                // HelseID: nonce "may be used"; one that is sent must be worth something.
                if name == "nonce" && value.is_empty() {
                    continue;
                }
                if value.len() < MIN_STATE_LEN {
                    return fail(
                        c,
                        if value.is_empty() {
                            format!(
                                "an authorization request (run {run}) has no {name}; HelseID recommends one of at least {MIN_STATE_LEN} characters (PKCE still protects the code)"
                            )
                        } else {
                            format!(
                                "an authorization request (run {run}) has the {name} \"{value}\" ({} characters); it should be at least {MIN_STATE_LEN} characters, or it protects nothing",
                                value.len()
                            )
                        },
                        vec![self.evidence("authorization request", r)],
                    );
                }
                if let Some(earlier) = seen.first_use(&format!("{name}={value}"), *run, r) {
                    return self.repeated(
                        c,
                        &format!("the {name} \"{value}\""),
                        "it must be new for every request",
                        earlier,
                        (*run, r),
                    );
                }
            }
        }
        let nonces = auth
            .iter()
            .filter(|(_, _, p)| param(p, "nonce").is_some_and(|v| !v.is_empty()))
            .count();
        let what = if nonces == auth.len() {
            "each with a new state and nonce"
        } else {
            "each with a new state, and a new nonce where one was sent (HelseID: nonce may be used)"
        };
        self.passed_over_runs(c, &auth, what)
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
                if !asked_for_nonce(r) {
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
            // A user's token requests may leave the organisation out: HelseID recommends
            // naming it in the client assertion of refresh requests (or in the request
            // object at PAR), and the token the API gets shows whether it was named.
            let user_grant = matches!(
                param(&r.form(), "grant_type"),
                Some("authorization_code" | "refresh_token")
            );
            let details = match (
                claims.get("assertion_details"),
                claims.get("authorization_details"),
            ) {
                (Some(d), _) | (None, Some(d)) => d,
                (None, None) if user_grant => continue,
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
                        "a client assertion's {} names parent organisation {}; it must be HELSEID_ORGNR {orgnr} (system {}, value NO:ORGNR:{orgnr}:<child?>)",
                        protocol::assertion_details::TYPE_AUTHORIZATION,
                        shown(parent),
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
                        "the probe API got a token with {ORGNR_PARENT_CLAIM} {}; it must be HELSEID_ORGNR {orgnr}",
                        shown(got.as_deref())
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
                        "the probe API was called with the Authorization scheme {}; it must be DPoP",
                        shown(
                            call.authorization
                                .as_deref()
                                .and_then(|a| a.split(' ').next())
                        )
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
                    format!(
                        "a probe call's proof has ath {}; it must be {ath}",
                        shown(got.as_deref())
                    ),
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

/// An authorization request of some run: the run's number (1 is the baseline), the request,
/// its parameters.
type RunRequest<'a> = (usize, &'a FlowRecord, Vec<(String, String)>);

/// Values seen so far, each with the run and request it was first seen in.
#[derive(Default)]
struct Seen<'r>(HashMap<String, (usize, &'r FlowRecord)>);

impl<'r> Seen<'r> {
    /// Where `value` was seen before, if it was; else records it as seen here.
    fn first_use(
        &mut self,
        value: &str,
        run: usize,
        r: &'r FlowRecord,
    ) -> Option<(usize, &'r FlowRecord)> {
        match self.0.get(value) {
            Some(earlier) => Some(*earlier),
            None => {
                self.0.insert(value.to_owned(), (run, r));
                None
            }
        }
    }
}

/// One DPoP proof the client sent, and where.
struct SentProof<'a> {
    /// The driver run (1 is the baseline).
    run: usize,
    proof: &'a str,
    at: Sent<'a>,
}

enum Sent<'a> {
    Sts(&'a FlowRecord),
    Api(&'a ProbeCall),
}

impl SentProof<'_> {
    fn describe(&self) -> String {
        match self.at {
            Sent::Sts(r) if asked_for_nonce(r) => {
                format!(
                    "run {} {} {} (answered use_dpop_nonce)",
                    self.run, r.method, r.path
                )
            }
            Sent::Sts(r) => format!("run {} {} {}", self.run, r.method, r.path),
            Sent::Api(p) => format!("run {} {} {} (the API)", self.run, p.method, p.url),
        }
    }
}

/// Whether the STS answered `r` with `use_dpop_nonce` (the client must send it again).
fn asked_for_nonce(r: &FlowRecord) -> bool {
    protocol::dpop_nonce::asks_for_nonce::<&str>(r.status, &[], &r.response_body)
}

/// The APIs (audiences) a space-separated `scope` names ([`protocol::claims::resource_of`]:
/// HelseID's scopes are `<audience>/<name>`); identity scopes (`openid`,
/// `helseid://scopes/...`, ...) name none.
fn apis_of_scope(scope: &str) -> BTreeSet<String> {
    scope
        .split_whitespace()
        .filter(|s| !s.contains("://"))
        .filter_map(|s| protocol::claims::resource_of(s).map(str::to_owned))
        .collect()
}
