//! Target kind `api`: a vendor's API that must accept HelseID access tokens and refuse every
//! faulty one (../shared/reference/conformance-checks.md §1).
//!
//! Each check sends requests that differ from the baseline request in one way and judges the
//! status: 2xx is acceptance, 401/403 refusal (RFC 6750 §3.1, RFC 9449 §7.1), anything else
//! a failure of its own (a 400 or 404 is not how an API refuses a token, a 5xx never is).
//!
//! An API may demand a nonce of its own in DPoP proofs (RFC 9449 §9). The runner follows it
//! as a client must: a `use_dpop_nonce` answer with a `DPoP-Nonce` header is not a verdict;
//! the request is sent once more with a proof made anew carrying that nonce, and every later
//! proof carries the newest nonce the API gave (also on a success).

pub mod forge;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use protocol::dpop::build_proof;
use protocol::signing::SigningKey;
use protocol::www_authenticate;
use reqwest::Method;
use serde_json::{Value, json};

use helseid_reference::client::Client;

use crate::catalogue::{ApiCheck, Check, CheckId, TargetKind};
use crate::check_driver::Driver;
use crate::embedded::{Embedded, dpop_key};
use crate::report::{
    CheckResult, DecodedToken, Exchange, Outcome, ScenarioReport, cut, error_text, fail,
    with_evidence,
};
use crate::scenario::{Binding, ClientTenancy, Scenario, Target};
use crate::{RunOptions, now};
use forge::Forge;

/// How long the runner waits for one response.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Response bodies kept as evidence.
const MAX_BODY: usize = 2048;
/// The `typ` values API-TYP-01 sends: a DPoP proof's and an ID token's media type, neither
/// of which HelseID's rule (`protocol::access_token::check_typ`) lets through.
pub const REFUSED_TYPS: [&str; 2] = ["dpop+jwt", "id_token+jwt"];
/// Another API's audience, for tokens that must not pass for this one.
const OTHER_AUDIENCE: &str = "nhn:another-api";

/// The state of one api run.
struct Run<'a> {
    http: reqwest::Client,
    scenario: &'a Scenario,
    embedded: &'a Embedded,
    /// The client the tokens are issued to (more tokens for it come from the STS on demand).
    client: Client,
    /// The ID token of the baseline's login (user scenarios).
    id_token: Option<String>,
    target: &'a Target,
    method: Method,
    binding: Binding,
    dpop: Option<SigningKey>,
    forge: Forge,
    /// The organisation the tokens are issued for (the first the API serves, if it names any).
    org: String,
    /// An organisation the API does not serve (nor the supplier of a multi-tenant client).
    other_org: String,
    /// The newest DPoP nonce the API gave (RFC 9449 §9); `None` until it asks for one.
    nonce: Mutex<Option<String>>,
}

/// What goes in the Authorization and DPoP headers.
enum Credentials<'t> {
    None,
    /// The scenario's scheme with a correct proof for `token` when it is DPoP.
    Token(&'t str),
    /// An explicit scheme and proof.
    Raw {
        scheme: &'static str,
        token: &'t str,
        proof: Proof,
    },
}

/// A request's DPoP proof.
enum Proof {
    None,
    /// Made when the request is sent, so it carries the API's newest nonce: by `key` (the
    /// run's DPoP key when `None`) for `htm` and `htu`, issued at `iat`, with the hash of
    /// `ath_of` as `ath`.
    Made {
        key: Option<Box<SigningKey>>,
        htm: String,
        htu: String,
        iat: i64,
        ath_of: Option<String>,
    },
    /// Sent as it is (a replay of a proof already sent).
    Given(String),
}

/// The nonce of a `use_dpop_nonce` answer (RFC 9449 §9: 401, `WWW-Authenticate: DPoP
/// error="use_dpop_nonce"` and a `DPoP-Nonce` header; a 400 is taken too, as at a token
/// endpoint).
fn nonce_challenge(e: &Exchange) -> Option<String> {
    let status = e.status?;
    let asked = protocol::dpop_nonce::asks_for_nonce(
        status,
        &header(e, "www-authenticate"),
        &e.response_body,
    );
    if !asked {
        return None;
    }
    header(e, "dpop-nonce").into_iter().next()
}

/// Runs the api checks of `scenario` against `target` (already resolved: `--target` wins).
pub async fn run(
    scenario: &Scenario,
    source: &str,
    target: &Target,
    options: &RunOptions,
    embedded: &Embedded,
    progress: &(dyn Fn(&CheckResult) + Sync),
) -> ScenarioReport {
    let started = Instant::now();
    let started_at = now();
    let selected: Vec<&Check> = crate::catalogue::of_kind(TargetKind::Api).collect();
    let mut report = ScenarioReport {
        name: scenario.name.clone(),
        source: source.to_owned(),
        kind: scenario.kind.as_str().into(),
        target: format!("{} {}", target.method, target.url),
        issuer: String::new(),
        kid: String::new(),
        started_at,
        duration_ms: 0,
        results: Vec::new(),
    };
    let setup = async {
        embedded.register_api(scenario).map_err(|e| e.to_string())?;
        let org = embedded.consumer_org(scenario).map_err(|e| e.to_string())?;
        let mut not = scenario.requirements.organisations.clone();
        not.push(org.clone());
        if scenario.requirements.tenancy == ClientTenancy::Multi {
            // Another organisation than the supplier, so a forged token's orgnr_parent is
            // never its orgnr_supplier.
            not.push(
                embedded
                    .supplier_org(scenario, &org)
                    .map_err(|e| e.to_string())?,
            );
        }
        let other_org = embedded.other_org(&not).map_err(|e| e.to_string())?;
        let dpop = match scenario.requirements.token_binding {
            Binding::Dpop => Some(dpop_key().map_err(|e| e.to_string())?),
            Binding::Bearer => None,
        };
        let client_key = dpop
            .as_ref()
            .map(copy_key)
            .transpose()
            .map_err(|e| e.to_string())?;
        let client = embedded
            .client(scenario, &org, client_key)
            .map_err(|e| e.to_string())?;
        let issued = embedded
            .baseline_token(scenario, &client)
            .await
            .map_err(|e| e.to_string())?;
        let ring = embedded.sts.keys().map_err(|e| e.to_string())?;
        let forge = Forge::new(&issued.access_token, ring).map_err(|e| e.to_string())?;
        Ok::<_, String>((forge, dpop, org, other_org, client, issued.id_token))
    };
    let (forge, dpop, org, other_org, client, id_token) = match setup.await {
        Ok(v) => v,
        Err(message) => return report.could_not_start(&selected, &message, started, progress),
    };
    report.issuer = embedded.issuer.clone();
    report.kid = forge_kid(&forge);
    let run = Run {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .build()
            .unwrap_or_default(),
        scenario,
        embedded,
        client,
        id_token,
        target,
        method: Method::from_bytes(target.method.as_bytes()).unwrap_or(Method::GET),
        binding: scenario.requirements.token_binding,
        dpop,
        forge,
        org,
        other_org,
        nonce: Mutex::new(None),
    };

    // The baseline first: if a valid token is not accepted, nothing else can be judged.
    let mut driver = Driver::new(scenario, options, progress, report, started).with_baseline(
        CheckId::Api(ApiCheck::Base01),
        "the valid token was not accepted (API-BASE-01), so a refusal proves nothing",
    );
    for &id in ApiCheck::ALL {
        let Some(t) = driver.begin(id.check(), true) else {
            continue;
        };
        let result = run.check(id).await;
        driver.finish(result, t);
    }
    driver.done()
}

/// The reference API configured as `scenario` describes the API (audience, scopes, binding,
/// a user and its level, the attestation, the organisations served), trusting `issuer`: the
/// target that passes the scenario. `None` for a scenario without an api section.
pub fn reference_api_config(
    scenario: &Scenario,
    issuer: &str,
) -> Option<helseid_reference::api::ApiConfig> {
    let api = scenario.api.as_ref()?;
    let r = &scenario.requirements;
    let mut config = helseid_reference::api::ApiConfig::new(issuer, &api.audience);
    config.required_scopes = api.scopes.clone();
    config.require_dpop = r.token_binding == Binding::Dpop;
    config.require_user = r.user_token();
    config.min_security_level = r.security_level;
    config.require_tillitsrammeverk = r.tillitsrammeverk;
    config.allowed_orgs = r.organisations.clone();
    Some(config)
}

fn forge_kid(forge: &Forge) -> String {
    crate::report::decode_jwt(&forge.baseline)
        .and_then(|(h, _)| h["kid"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn copy_key(key: &SigningKey) -> Result<SigningKey, protocol::signing::KeyError> {
    SigningKey::from_pkcs8(&key.to_pkcs8()?, key.alg, key.kid.clone())
}

/// How a response was judged.
enum Verdict {
    Accepted,
    Refused,
    /// Neither: a 3xx, 400, 404, 5xx, ...
    Other(u16),
    Unreachable(String),
}

fn verdict(e: &Exchange) -> Verdict {
    match (e.status, &e.error) {
        (Some(s), _) if (200..300).contains(&s) => Verdict::Accepted,
        (Some(401 | 403), _) => Verdict::Refused,
        (Some(s), _) => Verdict::Other(s),
        (None, Some(err)) => Verdict::Unreachable(err.clone()),
        (None, None) => Verdict::Unreachable("no response".into()),
    }
}

impl Run<'_> {
    fn scheme(&self) -> &'static str {
        match self.binding {
            Binding::Dpop => "DPoP",
            Binding::Bearer => "Bearer",
        }
    }

    fn htu(&self) -> String {
        protocol::dpop::normalize_url(&self.target.url)
    }

    /// A proof for this request and `token` (none for Bearer scenarios).
    fn proof(&self, token: &str) -> Proof {
        self.proof_with(self.method.as_str(), &self.htu(), now(), Some(token))
    }

    fn proof_with(&self, htm: &str, htu: &str, iat: i64, token: Option<&str>) -> Proof {
        if self.dpop.is_none() {
            return Proof::None;
        }
        Proof::Made {
            key: None,
            htm: htm.to_owned(),
            htu: htu.to_owned(),
            iat,
            ath_of: token.map(str::to_owned),
        }
    }

    /// The proof's text, made now with the API's newest nonce.
    fn make(&self, proof: &Proof) -> Option<String> {
        match proof {
            Proof::None => None,
            Proof::Given(p) => Some(p.clone()),
            Proof::Made {
                key,
                htm,
                htu,
                iat,
                ath_of,
            } => {
                let key = key.as_deref().or(self.dpop.as_ref())?;
                let nonce = self.nonce.lock().ok().and_then(|n| n.clone());
                build_proof(key, htm, htu, *iat, nonce.as_deref(), ath_of.as_deref()).ok()
            }
        }
    }

    /// Sends the request; when the API answers `use_dpop_nonce` with a nonce the proof did
    /// not carry, sends it once more with a proof made anew (RFC 9449 §9). The answer that
    /// counts is the last.
    async fn send(&self, label: &str, credentials: Credentials<'_>) -> Exchange {
        let made;
        let proof = match &credentials {
            Credentials::Token(token) => {
                made = self.proof(token);
                &made
            }
            Credentials::Raw { proof, .. } => proof,
            Credentials::None => {
                made = Proof::None;
                &made
            }
        };
        let first = self.send_once(label, &credentials, proof).await;
        let sent_nonce = self.nonce.lock().ok().and_then(|n| n.clone());
        let challenge = nonce_challenge(&first);
        if let Some(given) = header(&first, "dpop-nonce").into_iter().next()
            && let Ok(mut nonce) = self.nonce.lock()
        {
            *nonce = Some(given);
        }
        match challenge {
            Some(asked)
                if matches!(proof, Proof::Made { .. }) && Some(&asked) != sent_nonce.as_ref() =>
            {
                let label = format!(
                    "{label} (sent again with the API's DPoP nonce: it answered {} use_dpop_nonce)",
                    first.status.unwrap_or(0)
                );
                self.send_once(&label, &credentials, proof).await
            }
            _ => first,
        }
    }

    async fn send_once(
        &self,
        label: &str,
        credentials: &Credentials<'_>,
        proof: &Proof,
    ) -> Exchange {
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut decoded = Vec::new();
        let scheme = match credentials {
            Credentials::None => None,
            Credentials::Token(token) => Some((self.scheme(), *token)),
            Credentials::Raw { scheme, token, .. } => Some((*scheme, *token)),
        };
        if let Some((scheme, token)) = scheme {
            headers.push(("Authorization".into(), format!("{scheme} {token}")));
            decoded.extend(DecodedToken::of("access token", token));
            if let Some(p) = self.make(proof) {
                decoded.extend(DecodedToken::of("DPoP proof", &p));
                headers.push(("DPoP".into(), p));
            }
        }
        let mut request = self.http.request(self.method.clone(), &self.target.url);
        for (k, v) in &headers {
            request = request.header(k, v);
        }
        if let Some(body) = &self.target.body {
            request = request
                .header(
                    "Content-Type",
                    self.target
                        .content_type
                        .as_deref()
                        .unwrap_or("application/json"),
                )
                .body(body.clone());
        }
        let mut exchange = Exchange {
            label: label.to_owned(),
            method: self.method.to_string(),
            url: self.target.url.clone(),
            request_headers: headers,
            decoded,
            ..Default::default()
        };
        match request.send().await {
            Ok(response) => {
                exchange.status = Some(response.status().as_u16());
                for name in ["www-authenticate", "content-type", "dpop-nonce"] {
                    for v in response.headers().get_all(name) {
                        exchange
                            .response_headers
                            .push((name.into(), v.to_str().unwrap_or("(binary)").to_owned()));
                    }
                }
                let body = response.text().await.unwrap_or_default();
                exchange.response_body = cut(&body, MAX_BODY);
            }
            Err(e) => exchange.error = Some(error_text(&e)),
        }
        exchange
    }

    /// One request that must be refused.
    async fn must_refuse(
        &self,
        check: &Check,
        label: &str,
        credentials: Credentials<'_>,
    ) -> CheckResult {
        let e = self.send(label, credentials).await;
        judge_refusal(check, vec![e])
    }

    /// Several tokens, each sent with the scenario's scheme (and a correct proof); every one
    /// must be refused.
    async fn must_refuse_each(&self, check: &Check, tokens: Vec<(String, String)>) -> CheckResult {
        let mut evidence = Vec::new();
        for (label, token) in &tokens {
            evidence.push(self.send(label, Credentials::Token(token)).await);
        }
        judge_refusal(check, evidence)
    }

    fn audience(&self) -> &str {
        self.scenario
            .api
            .as_ref()
            .map(|a| a.audience.as_str())
            .unwrap_or_default()
    }

    /// Why the valid token was refused, as far as the answer tells: the answer itself, the
    /// key the token is signed with (an API that cached the JWKS before that key was
    /// published refuses it), and, when the answer is about `sub`, the RFC 9068 pitfall.
    fn baseline_refused(&self, e: &Exchange) -> String {
        let mut answer = challenges_text(&header(e, "www-authenticate"));
        let body = e.response_body.trim();
        if !body.is_empty() {
            answer.push_str(&format!("; body: {}", cut(body, 300)));
        }
        let kid = forge_kid(&self.forge);
        let mut message = format!(
            "the valid token was answered with {}; expected 2xx. The API's answer: {answer}. Likely causes: the token is signed with key {kid}; an API holding an older JWKS refuses it (fetch the JWKS again when a token names an unknown kid)",
            e.status.unwrap_or(0)
        );
        let about_sub = mentions_word(&answer, "sub");
        if about_sub && !self.forge.claims().contains_key("sub") {
            message.push_str(". The answer mentions sub: HelseID's client-credentials tokens, like Duende IdentityServer's, carry no sub (there is no user), and an RFC 9068-strict validator (e.g. oauth4webapi's validateJwtAccessToken, which requires sub) refuses them; accept access tokens without sub");
        }
        message
    }

    /// API-TYP-03: the valid token with the other typ HelseID names valid must be accepted.
    async fn other_typ(&self, check: &Check) -> CheckResult {
        let f = &self.forge;
        let sent = f
            .header()
            .get("typ")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let other = if protocol::access_token::same_typ(sent, "at+jwt") {
            "JWT"
        } else {
            "at+jwt"
        };
        let token = match f.with_header(|h| {
            h.insert("typ".into(), json!(other));
        }) {
            Ok(t) => t,
            Err(e) => return inconclusive(check, format!("could not make the token: {e}")),
        };
        let e = self
            .send(
                &format!("the valid token with typ {other}"),
                Credentials::Token(&token),
            )
            .await;
        match verdict(&e) {
            Verdict::Accepted => with_evidence(
                CheckResult::new(
                    check,
                    Outcome::Passed,
                    format!("typ {other} accepted with {}", e.status.unwrap_or(0)),
                ),
                vec![e],
            ),
            Verdict::Unreachable(err) => with_evidence(inconclusive(check, err), vec![e]),
            _ => {
                let message = format!(
                    "the valid token with typ {other} was answered {}; HelseID names at+jwt and JWT both valid at an API ({})",
                    e.status.unwrap_or(0),
                    challenges_text(&header(&e, "www-authenticate"))
                );
                fail(check, message, vec![e])
            }
        }
    }

    /// API-5XX-01: garbage in the Authorization header gets a 4xx. A 5xx fails, and so does a
    /// connection dropped without an answer, except for the 16 KB token when the API still
    /// answers afterwards: a server that refuses an oversized header (Node answers 431) may
    /// close the connection before the client reads the answer, and then resets it.
    async fn garbage(&self, check: &Check) -> CheckResult {
        let huge = format!(
            "{}.{}.{}",
            "e".repeat(6000),
            "e".repeat(6000),
            "e".repeat(4000)
        );
        // The 16 KB token last, so a connection it spoils costs no other evidence.
        let garbage = [
            ("not a JWT", "not-a-jwt".to_owned(), false),
            ("three parts of nonsense", "a.b.c".to_owned(), false),
            (
                "a header that is a JSON array",
                format!("{}.{}.", b64("[]"), b64("{}")),
                false,
            ),
            (
                "a header that is not JSON",
                format!("{}.{}.c2ln", b64("{alg"), b64("{}")),
                false,
            ),
            ("a 16 KB token", huge, true),
        ];
        let mut evidence = Vec::new();
        let mut failure: Option<String> = None;
        let mut statuses = Vec::new();
        let mut closed_on_big = false;
        for (label, token, oversized) in &garbage {
            let proof = self.proof(token);
            let e = self
                .send(
                    label,
                    Credentials::Raw {
                        scheme: self.scheme(),
                        token,
                        proof,
                    },
                )
                .await;
            let problem = match e.status {
                Some(s) if (400..500).contains(&s) => {
                    statuses.push(s.to_string());
                    None
                }
                Some(s) if s >= 500 => Some(format!("{label}: answered {s}, a server error")),
                Some(s) if (200..300).contains(&s) => Some(format!("{label}: accepted with {s}")),
                Some(s) => Some(format!(
                    "{label}: answered {s}; a malformed token gets a 4xx"
                )),
                None => None,
            };
            let dropped = e.status.is_none();
            let why = e.error.clone().unwrap_or_else(|| "no response".into());
            evidence.push(e);
            if !dropped {
                failure = failure.or(problem);
                continue;
            }
            // Is the API still up? A request without a token must get an answer.
            let probe = self
                .send(
                    &format!("after {label}: a request without a token, to see whether the API still answers"),
                    Credentials::None,
                )
                .await;
            let alive = probe.status.is_some();
            evidence.push(probe);
            let problem = match (alive, oversized) {
                (false, _) => Some(format!(
                    "{label}: the connection was dropped ({why}) and the API stopped answering: it crashed"
                )),
                (true, true) => {
                    closed_on_big = true;
                    None
                }
                (true, false) => Some(format!(
                    "{label}: the connection was dropped without an answer ({why}); the API still answers, so its handler died on this token"
                )),
            };
            failure = failure.or(problem);
            if !alive {
                break;
            }
        }
        if let Some(message) = failure {
            return fail(check, message, evidence);
        }
        let mut message = format!("refused with a 4xx ({})", statuses.join(", "));
        if closed_on_big {
            message.push_str("; the 16 KB token's connection was closed without an answer, and the API answered the next request (a header-size limit, not a crash)");
        }
        with_evidence(CheckResult::new(check, Outcome::Passed, message), evidence)
    }

    async fn check(&self, id: ApiCheck) -> CheckResult {
        let check = id.check();
        let f = &self.forge;
        let t = now();
        let forged = |r: Result<String, forge::ForgeError>| r.map_err(|e| e.to_string());
        let token_result = match id {
            ApiCheck::Base01 => {
                let e = self
                    .send("the valid token", Credentials::Token(&f.baseline))
                    .await;
                return match verdict(&e) {
                    Verdict::Accepted => with_evidence(
                        CheckResult::new(
                            check,
                            Outcome::Passed,
                            format!("accepted with {}", e.status.unwrap_or(0)),
                        ),
                        vec![e],
                    ),
                    Verdict::Unreachable(err) => with_evidence(
                        CheckResult::new(
                            check,
                            Outcome::Inconclusive,
                            format!("the target could not be reached: {err}"),
                        ),
                        vec![e],
                    ),
                    _ => {
                        let message = self.baseline_refused(&e);
                        with_evidence(CheckResult::new(check, Outcome::Failed, message), vec![e])
                    }
                };
            }
            ApiCheck::Auth01 => {
                let e = self.send("no credentials", Credentials::None).await;
                let scheme = self.scheme();
                let challenge = header(&e, "www-authenticate");
                let r = judge_refusal(check, vec![e.clone()]);
                if r.outcome != Outcome::Passed {
                    return r;
                }
                return if e.status != Some(401) {
                    fail(
                        check,
                        format!("refused with {} instead of 401", e.status.unwrap_or(0)),
                        vec![e],
                    )
                } else if !www_authenticate::parse(&challenge)
                    .iter()
                    .any(|c| c.is(scheme))
                {
                    fail(
                        check,
                        format!(
                            "401 without a WWW-Authenticate challenge for {scheme} (got {})",
                            challenges_text(&challenge)
                        ),
                        vec![e],
                    )
                } else {
                    with_evidence(
                        CheckResult::new(check, Outcome::Passed, "401 with a challenge"),
                        vec![e],
                    )
                };
            }
            ApiCheck::Exp01 => forged(f.with_claims(|c| {
                c.insert("exp".into(), json!(t - 600));
                c.insert("iat".into(), json!(t - 4200));
                c.insert("nbf".into(), json!(t - 4200));
            })),
            ApiCheck::Nbf01 => forged(f.with_claims(|c| {
                c.insert("nbf".into(), json!(t + 600));
                c.insert("iat".into(), json!(t + 600));
                c.insert("exp".into(), json!(t + 4200));
            })),
            ApiCheck::Iss01 => forged(f.with_claims(|c| {
                c.insert("iss".into(), json!("https://helseid-sts.example.invalid"));
            })),
            ApiCheck::Aud01 => forged(f.with_claims(|c| {
                c.insert("aud".into(), json!(OTHER_AUDIENCE));
            })),
            ApiCheck::Aud02 => forged(f.with_claims(|c| {
                c.remove("aud");
            })),
            ApiCheck::Aud03 => {
                let audience = self.audience().to_owned();
                forged(f.with_claims(|c| {
                    c.insert("aud".into(), json!([audience, OTHER_AUDIENCE]));
                }))
            }
            ApiCheck::Scope01 => forged(f.with_claims(|c| {
                let kept: Vec<Value> = scope_list(c.get("scope"))
                    .into_iter()
                    .filter(|s| !s.contains('/') || s.starts_with("helseid://"))
                    .map(Value::from)
                    .collect();
                c.insert("scope".into(), Value::Array(kept));
            })),
            ApiCheck::Alg01 => Ok(f.alg_none()),
            ApiCheck::Alg02 => {
                let tokens = f
                    .hs256_with_public_key()
                    .into_iter()
                    .map(|(label, token)| {
                        (format!("HS256, secret: the public key as {label}"), token)
                    })
                    .collect();
                return self.must_refuse_each(check, tokens).await;
            }
            ApiCheck::Kid01 => forged(f.unknown_kid()),
            ApiCheck::Sig01 => Ok(f.bad_signature()),
            ApiCheck::Sig02 => Ok(f.tampered_payload()),
            ApiCheck::Typ01 => {
                let mut tokens = Vec::new();
                for typ in REFUSED_TYPS {
                    match f.with_header(|h| {
                        h.insert("typ".into(), json!(typ));
                    }) {
                        Ok(t) => tokens.push((format!("a token with typ {typ}"), t)),
                        Err(e) => {
                            return inconclusive(
                                check,
                                format!("could not make the faulty token: {e}"),
                            );
                        }
                    }
                }
                return self.must_refuse_each(check, tokens).await;
            }
            ApiCheck::Typ02 => forged(f.with_header(|h| {
                h.remove("typ");
            })),
            ApiCheck::Typ03 => return self.other_typ(check).await,
            ApiCheck::Idt01 => {
                // The baseline's login gave one in a user scenario; otherwise log in now.
                let id_token = match &self.id_token {
                    Some(t) => t.clone(),
                    None => match self.embedded.id_token(self.scenario, &self.client).await {
                        Ok(t) => t,
                        Err(e) => {
                            return inconclusive(
                                check,
                                format!("could not get an ID token from a login: {e}"),
                            );
                        }
                    },
                };
                return self
                    .must_refuse(check, faulty_token_label(id), Credentials::Token(&id_token))
                    .await;
            }
            ApiCheck::Dpop01 => {
                return self
                    .must_refuse(
                        check,
                        "the DPoP-bound token as Bearer",
                        Credentials::Raw {
                            scheme: "Bearer",
                            token: &f.baseline,
                            proof: Proof::None,
                        },
                    )
                    .await;
            }
            ApiCheck::Dpop02 => {
                let e = self
                    .send(
                        "DPoP without a proof",
                        Credentials::Raw {
                            scheme: "DPoP",
                            token: &f.baseline,
                            proof: Proof::None,
                        },
                    )
                    .await;
                return judge_refusal_of(check, vec![e], true);
            }
            ApiCheck::Dpop03 => {
                let other = if self.method == Method::GET {
                    "POST"
                } else {
                    "GET"
                };
                let proof = self.proof_with(other, &self.htu(), t, Some(&f.baseline));
                return self
                    .must_refuse(
                        check,
                        &format!("a proof with htm {other}"),
                        Credentials::Raw {
                            scheme: "DPoP",
                            token: &f.baseline,
                            proof,
                        },
                    )
                    .await;
            }
            ApiCheck::Dpop04 => {
                let htu = format!("{}/not-this-resource", self.htu().trim_end_matches('/'));
                let proof = self.proof_with(self.method.as_str(), &htu, t, Some(&f.baseline));
                return self
                    .must_refuse(
                        check,
                        &format!("a proof with htu {htu}"),
                        Credentials::Raw {
                            scheme: "DPoP",
                            token: &f.baseline,
                            proof,
                        },
                    )
                    .await;
            }
            ApiCheck::Dpop05 => {
                let proof = self.proof_with(
                    self.method.as_str(),
                    &self.htu(),
                    t,
                    Some("another access token"),
                );
                return self
                    .must_refuse(
                        check,
                        "a proof whose ath hashes another token",
                        Credentials::Raw {
                            scheme: "DPoP",
                            token: &f.baseline,
                            proof,
                        },
                    )
                    .await;
            }
            ApiCheck::Dpop06 => {
                let first = self
                    .send(
                        "a proof, first use",
                        Credentials::Raw {
                            scheme: "DPoP",
                            token: &f.baseline,
                            proof: self.proof(&f.baseline),
                        },
                    )
                    .await;
                // The very proof that was accepted (made with the API's nonce, if it asked).
                let sent = first
                    .request_headers
                    .iter()
                    .find(|(k, _)| k == "DPoP")
                    .map(|(_, v)| Proof::Given(v.clone()))
                    .unwrap_or(Proof::None);
                if !matches!(verdict(&first), Verdict::Accepted) {
                    return with_evidence(
                        CheckResult::new(
                            check,
                            Outcome::Inconclusive,
                            format!(
                                "the first use of a fresh proof was not accepted ({}), so the replay proves nothing",
                                first.status.unwrap_or(0)
                            ),
                        ),
                        vec![first],
                    );
                }
                let second = self
                    .send(
                        "the same proof again",
                        Credentials::Raw {
                            scheme: "DPoP",
                            token: &f.baseline,
                            proof: sent,
                        },
                    )
                    .await;
                let mut r = judge_refusal(check, vec![second]);
                r.evidence.insert(0, first);
                return r;
            }
            ApiCheck::Dpop07 => {
                let proof = match dpop_key() {
                    Ok(k) => Proof::Made {
                        key: Some(Box::new(k)),
                        htm: self.method.to_string(),
                        htu: self.htu(),
                        iat: t,
                        ath_of: Some(f.baseline.clone()),
                    },
                    Err(e) => {
                        return inconclusive(check, format!("could not make another key: {e}"));
                    }
                };
                return self
                    .must_refuse(
                        check,
                        "a proof signed by another key than cnf.jkt",
                        Credentials::Raw {
                            scheme: "DPoP",
                            token: &f.baseline,
                            proof,
                        },
                    )
                    .await;
            }
            ApiCheck::Dpop08 => {
                // An hour: RFC 9449 §11.1 asks for a window "on the order of seconds or
                // minutes", so no reading of it accepts this.
                let proof = self.proof_with(
                    self.method.as_str(),
                    &self.htu(),
                    t - 3600,
                    Some(&f.baseline),
                );
                return self
                    .must_refuse(
                        check,
                        "a proof made an hour ago",
                        Credentials::Raw {
                            scheme: "DPoP",
                            token: &f.baseline,
                            proof,
                        },
                    )
                    .await;
            }
            ApiCheck::User01 => self
                .embedded
                .machine_token(self.scenario, &self.client)
                .await
                .map_err(|e| e.to_string()),
            ApiCheck::Level01 => forged(f.with_claims(|c| {
                c.insert(protocol::claims::SECURITY_LEVEL.into(), json!("3"));
                c.insert(
                    protocol::claims::ASSURANCE_LEVEL.into(),
                    json!("substantial"),
                );
            })),
            ApiCheck::Tr01 => forged(f.with_claims(|c| {
                c.remove(protocol::claims::TILLITSRAMMEVERK);
            })),
            ApiCheck::Tr02 => forged(f.with_claims(|c| {
                c.insert(
                    protocol::claims::TILLITSRAMMEVERK.into(),
                    json!({ "practitioner": { "authorization": { "code": "LE" } } }),
                );
            })),
            ApiCheck::Org01 => {
                let other = self.other_org.clone();
                forged(f.with_claims(|c| {
                    c.insert(protocol::claims::ORGNR_PARENT.into(), json!(other));
                    c.remove(protocol::claims::ORGNR_CHILD);
                    employed_by(c, &other);
                }))
            }
            ApiCheck::Tenancy01 => {
                // A supplier's client acting for an organisation the API does not serve; the
                // supplier is one it serves. An API that reads orgnr_supplier lets it in.
                let acted_for = self.other_org.clone();
                let supplier = self.org.clone();
                forged(f.with_claims(|c| {
                    c.insert(protocol::claims::ORGNR_PARENT.into(), json!(acted_for));
                    c.remove(protocol::claims::ORGNR_CHILD);
                    c.insert(protocol::claims::ORGNR_SUPPLIER.into(), json!(supplier));
                    employed_by(c, &acted_for);
                }))
            }
            ApiCheck::Www01 => {
                let token = match f.with_claims(|c| {
                    c.insert("exp".into(), json!(t - 600));
                }) {
                    Ok(t) => t,
                    Err(e) => return inconclusive(check, e.to_string()),
                };
                let e = self
                    .send("an expired token", Credentials::Token(&token))
                    .await;
                let scheme = self.scheme();
                let challenges = header(&e, "www-authenticate");
                return match verdict(&e) {
                    Verdict::Unreachable(err) => inconclusive(check, err),
                    _ if e.status != Some(401) => inconclusive(
                        check,
                        format!(
                            "the expired token got {}, not 401; nothing to judge",
                            e.status.unwrap_or(0)
                        ),
                    ),
                    _ if www_authenticate::parse(&challenges).iter().any(|c| {
                        c.is(scheme)
                            && matches!(c.error(), Some("invalid_token" | "invalid_dpop_proof"))
                    }) =>
                    {
                        with_evidence(
                            CheckResult::new(
                                check,
                                Outcome::Passed,
                                "the challenge names the scheme and the error",
                            ),
                            vec![e],
                        )
                    }
                    _ => fail(
                        check,
                        format!(
                            "expected WWW-Authenticate: {scheme} error=\"invalid_token\", got {}",
                            challenges_text(&challenges)
                        ),
                        vec![e],
                    ),
                };
            }
            ApiCheck::Err5xx01 => return self.garbage(check).await,
        };
        match token_result {
            Ok(token) => {
                self.must_refuse(check, faulty_token_label(id), Credentials::Token(&token))
                    .await
            }
            Err(e) => inconclusive(check, format!("could not make the faulty token: {e}")),
        }
    }
}

/// What the one faulty token of a check is, for evidence and messages.
fn faulty_token_label(id: ApiCheck) -> &'static str {
    match id {
        ApiCheck::Exp01 => "a token that expired ten minutes ago",
        ApiCheck::Nbf01 => "a token valid from ten minutes from now",
        ApiCheck::Iss01 => "a token with iss https://helseid-sts.example.invalid",
        ApiCheck::Aud01 => "a token with aud nhn:another-api",
        ApiCheck::Aud02 => "a token without aud",
        ApiCheck::Aud03 => "a token whose aud is the API's audience and nhn:another-api",
        ApiCheck::Scope01 => "a token without the API's scopes",
        ApiCheck::Alg01 => "a token with alg none and no signature",
        ApiCheck::Kid01 => "a token signed by an unpublished key (unknown kid, key in the header)",
        ApiCheck::Sig01 => "a token with changed signature bytes",
        ApiCheck::Sig02 => "a token whose exp was moved a day after signing",
        ApiCheck::Typ02 => "a token without typ",
        ApiCheck::Idt01 => "an ID token from a login (aud the client id, typ JWT)",
        ApiCheck::User01 => {
            "a client-credentials token of the same client (no pid, HPR number or security level)"
        }
        ApiCheck::Level01 => "a token with security level 3",
        ApiCheck::Tr01 => "a token without nhn:tillitsrammeverk:parameters",
        ApiCheck::Tr02 => "a token with a malformed nhn:tillitsrammeverk:parameters",
        ApiCheck::Org01 => "a token for another organisation",
        ApiCheck::Tenancy01 => {
            "a multi-tenant token acting for another organisation, its supplier one the API serves"
        }
        _ => "the faulty token",
    }
}

/// A token for another organisation tells one story: where it carries the Tillitsrammeverk
/// attestation, the practitioner's legal entity and point of care are `org` too, so an API
/// that decides on the attestation sees the same organisation as one that reads orgnr_*.
fn employed_by(claims: &mut serde_json::Map<String, Value>, org: &str) {
    let Some(claim) = claims.get_mut(protocol::claims::TILLITSRAMMEVERK) else {
        return;
    };
    // An object, or the same as JSON text (both are seen; reference §7.3).
    let mut parsed = match claim {
        Value::String(text) => serde_json::from_str::<Value>(text).ok(),
        _ => None,
    };
    crate::embedded::employ_at(parsed.as_mut().unwrap_or(claim), org);
    if let Some(p) = parsed {
        *claim = Value::String(p.to_string());
    }
}

/// Every exchange must be a refusal (401/403).
fn judge_refusal(check: &Check, evidence: Vec<Exchange>) -> CheckResult {
    judge_refusal_of(check, evidence, false)
}

/// A 400 `invalid_request` (RFC 6750 §3.1: "The request is missing a required parameter
/// ... The resource server SHOULD respond with the HTTP 400"), in the challenge or the body.
fn invalid_request(e: &Exchange) -> bool {
    e.status == Some(400)
        && (www_authenticate::parse(&header(e, "www-authenticate"))
            .iter()
            .any(|c| c.error() == Some("invalid_request"))
            || serde_json::from_str::<Value>(&e.response_body)
                .is_ok_and(|b| b["error"] == "invalid_request"))
}

/// [`judge_refusal`]; `malformed`: the request lacks something the scheme requires (a DPoP
/// proof), so a 400 `invalid_request` is a refusal too.
fn judge_refusal_of(check: &Check, evidence: Vec<Exchange>, malformed: bool) -> CheckResult {
    let mut failure = None;
    for e in &evidence {
        match verdict(e) {
            Verdict::Refused => {}
            Verdict::Other(400) if malformed && invalid_request(e) => {}
            Verdict::Accepted => {
                failure = Some(format!(
                    "{}: accepted with {}",
                    e.label,
                    e.status.unwrap_or(0)
                ));
                break;
            }
            Verdict::Other(s) => {
                let also = if malformed {
                    " (or 400 invalid_request)"
                } else {
                    ""
                };
                failure.get_or_insert(format!(
                    "{}: answered {s}; a refusal is 401 or 403{also}",
                    e.label
                ));
            }
            Verdict::Unreachable(err) => {
                return with_evidence(inconclusive(check, format!("{}: {err}", e.label)), evidence);
            }
        }
    }
    match failure {
        Some(message) => fail(check, message, evidence),
        None => {
            let statuses: Vec<String> = evidence
                .iter()
                .filter_map(|e| e.status)
                .map(|s| s.to_string())
                .collect();
            with_evidence(
                CheckResult::new(
                    check,
                    Outcome::Passed,
                    format!("refused ({})", statuses.join(", ")),
                ),
                evidence,
            )
        }
    }
}

fn inconclusive(check: &Check, message: String) -> CheckResult {
    CheckResult::new(check, Outcome::Inconclusive, message)
}

fn header(e: &Exchange, name: &str) -> Vec<String> {
    e.response_headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect()
}

/// WWW-Authenticate values for a message: each as sent, or that there was none.
fn challenges_text(challenges: &[String]) -> String {
    if challenges.is_empty() {
        "no WWW-Authenticate header".into()
    } else {
        challenges
            .iter()
            .map(|c| format!("WWW-Authenticate: {c}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Whether `text` has `word` as a word of its own (not inside another, as in "subject").
fn mentions_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w.eq_ignore_ascii_case(word))
}

fn scope_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn b64(s: &str) -> String {
    protocol::jose::b64_encode(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// API-TYP-01 sends only values HelseID's rule refuses, judged by the same function the
    /// reference API and the STS apply; the values it accepts are not among them.
    #[test]
    fn the_typs_sent_are_the_ones_the_rule_refuses() {
        for typ in REFUSED_TYPS {
            assert!(!protocol::access_token::is_access_token_typ(typ), "{typ}");
        }
        for typ in protocol::access_token::TYPS {
            assert!(protocol::access_token::is_access_token_typ(typ), "{typ}");
            assert!(!REFUSED_TYPS.iter().any(|t| t.eq_ignore_ascii_case(typ)));
        }
    }

    #[test]
    fn words_and_challenges_for_messages() {
        assert!(mentions_word("JWT \"sub\" (subject) claim missing", "sub"));
        assert!(mentions_word("missing claim: sub", "sub"));
        assert!(!mentions_word("subject unknown", "sub"));
        assert!(!mentions_word("no_sub_here", "sub"));
        assert_eq!(challenges_text(&[]), "no WWW-Authenticate header");
        assert_eq!(
            challenges_text(&["Bearer".into(), "DPoP algs=\"ES256\"".into()]),
            "WWW-Authenticate: Bearer; WWW-Authenticate: DPoP algs=\"ES256\""
        );
    }
}
