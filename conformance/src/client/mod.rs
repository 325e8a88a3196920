//! Target kind `client`: a vendor's OAuth client (fagsystem), run by the scenario's driver
//! command (../shared/reference/conformance-checks.md §2).
//!
//! The runner registers the client at the embedded STS (a fresh key pair; the portal's client
//! configuration file is written to a temporary file), serves a probe API on 127.0.0.1 that
//! accepts the STS's tokens for its audience and records every call, and starts the driver
//! with `HELSEID_ISSUER`, `HELSEID_CLIENT_CONFIG`, `HELSEID_PROBE_API` and `HELSEID_TEST_PID`
//! in its environment (and `HELSEID_ORGNR` for a multi-tenant client, `client.tenancy:
//! multi`). The STS records every exchange ([`mock_sts::flow_log`]); the checks
//! judge what the client sent there and to the probe.
//!
//! CLIENT-RUN-01 is the baseline: the driver exits 0 within its time limit after calling the
//! probe with a token the probe accepted. The recording checks are judged on whatever the
//! client sent, so a client that fails the run for one flaw still shows which rules it kept.

pub mod probe;

use std::collections::{BTreeMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use mock_sts::fault::{Fault, Site};
use mock_sts::flow_log::FlowRecord;
use mock_sts::registration::{self, NewClient};
use mock_sts::store::{Api, Tenancy, TokenBinding};
use serde_json::Value;

use crate::catalogue::{Applies, CHECKS, Check, TargetKind};
use crate::embedded::{Embedded, REDIRECT_URI};
use crate::report::{
    CheckResult, DecodedToken, Exchange, Outcome, ScenarioReport, cut, decode_jwt, fail,
    inconclusive, pass,
};
use crate::scenario::{ClientTarget, ClientTenancy, Scenario};
use crate::{RunOptions, now};
use probe::{Probe, ProbeCall};

/// The audience of the probe API the client calls.
pub const PROBE_AUDIENCE: &str = "nhn:conformance-probe";
/// The probe API's scope; the client is registered with it.
pub const PROBE_SCOPE: &str = "nhn:conformance-probe/read";
/// The longest client assertion lifetime accepted (seconds).
pub const MAX_ASSERTION_LIFETIME: i64 = 60;
/// The shortest `state` and `nonce` accepted.
pub const MIN_STATE_LEN: usize = 16;
/// The access token claim with the organisation a multi-tenant client acts for.
const ORGNR_PARENT_CLAIM: &str = protocol::claims::ORGNR_PARENT;
/// Driver output kept as evidence.
const MAX_OUTPUT: usize = 4096;
/// Response bodies kept as evidence.
const MAX_BODY: usize = 2048;

/// Whether `check` applies to `scenario`, and if not, why.
pub fn applies(check: &Check, scenario: &Scenario) -> Result<(), String> {
    match check.applies {
        Applies::Login if !scenario.client.as_ref().is_some_and(|c| c.login) => Err(
            "does not apply: a machine client (client.login is false) does not log users in".into(),
        ),
        Applies::MultiTenant
            if !scenario
                .client
                .as_ref()
                .is_some_and(|c| c.tenancy == ClientTenancy::Multi) =>
        {
            Err(
                "does not apply: a single-tenant client (client.tenancy is single) names no organisation"
                    .into(),
            )
        }
        _ => Ok(()),
    }
}

/// The client as registered, and where its configuration file is.
#[derive(Debug)]
pub struct Registered {
    pub client_id: String,
    pub config_path: std::path::PathBuf,
    /// The organisation a multi-tenant client acts for (`HELSEID_ORGNR`).
    pub orgnr: Option<String>,
    /// Where the STS sends the user back (the authorization responses).
    pub redirect_uris: Vec<String>,
    _dir: tempfile::TempDir,
}

/// Registers the probe API and the client at the embedded STS and writes the client's
/// configuration file.
pub fn register(embedded: &Embedded, c: &ClientTarget) -> Result<Registered, String> {
    let store = &embedded.sts.store;
    store
        .put_api(&Api {
            audience: PROBE_AUDIENCE.into(),
            name: "Conformance probe API".into(),
            scopes: vec![PROBE_SCOPE.into()],
            requires_terms: false,
            token_exchange_clients: vec![],
        })
        .map_err(|e| e.to_string())?;
    // A multi-tenant client belongs to a seeded supplier and acts for an organisation that
    // delegated to it (the probe API requires no signed terms).
    let (tenancy, orgnr) = match c.tenancy {
        ClientTenancy::Single => {
            let org = embedded.other_org(&[]).map_err(|e| e.to_string())?;
            (
                Tenancy::SingleTenant {
                    orgnr: org,
                    child_orgnrs: vec![],
                },
                None,
            )
        }
        ClientTenancy::Multi => {
            let d = store
                .delegations()
                .map_err(|e| e.to_string())?
                .into_iter()
                .next()
                .ok_or("the seeded environment has no delegation to a supplier")?;
            (
                Tenancy::MultiTenant {
                    supplier_orgnr: d.supplier,
                },
                Some(d.delegator),
            )
        }
    };
    // API scopes only: the STS gives every login client the identity scopes (openid,
    // profile, offline_access, helseid://scopes/identity/...).
    let mut scopes = vec![PROBE_SCOPE.to_owned()];
    for s in &c.scopes {
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    let grant_types: Vec<String> = if c.login {
        vec!["authorization_code".into(), "refresh_token".into()]
    } else {
        vec!["client_credentials".into()]
    };
    let redirect_uris: Vec<String> = match (c.login, c.redirect_uris.is_empty()) {
        (false, _) => vec![],
        (true, true) => vec![REDIRECT_URI.into()],
        (true, false) => c.redirect_uris.clone(),
    };
    let (client, key) = registration::create(
        store,
        NewClient {
            client_id: None,
            name: "Client under test".into(),
            tenancy,
            scopes,
            grant_types,
            redirect_uris,
            binding: TokenBinding::Dpop,
            key_expires_at: None,
            origin: "conformance".into(),
        },
        embedded.sts.now(),
    )
    .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config_path = dir.path().join("client-config.json");
    let file =
        registration::config_file(&client, &key, &embedded.issuer).map_err(|e| e.to_string())?;
    registration::write_config_file(&config_path, &file).map_err(|e| e.to_string())?;
    Ok(Registered {
        client_id: client.client_id,
        config_path,
        orgnr,
        redirect_uris: client.redirect_uris,
        _dir: dir,
    })
}

/// How one run of the driver ended.
#[derive(Debug, Clone)]
pub struct DriverRun {
    /// The exit code (`None`: killed by a signal, or stopped at the time limit).
    pub code: Option<i32>,
    pub timed_out: bool,
    /// Why it could not start.
    pub spawn_error: Option<String>,
    pub output: String,
    pub elapsed_ms: u64,
}

impl DriverRun {
    pub fn succeeded(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    fn describe(&self) -> String {
        if let Some(e) = &self.spawn_error {
            return format!("the driver could not start: {e}");
        }
        if self.timed_out {
            return format!("the driver did not finish within {} ms", self.elapsed_ms);
        }
        match self.code {
            Some(c) => format!("the driver exited with {c}"),
            None => "the driver was killed by a signal".into(),
        }
    }

    fn evidence(&self, argv: &[String]) -> Exchange {
        Exchange {
            label: "driver".into(),
            method: "EXEC".into(),
            url: argv.join(" "),
            status: None,
            response_body: self.output.clone(),
            error: Some(self.describe()),
            ..Default::default()
        }
    }
}

/// Runs `argv` with `env` added, stopping it after `timeout`.
pub async fn run_driver(
    argv: &[String],
    env: &BTreeMap<String, String>,
    timeout: Duration,
) -> DriverRun {
    let started = Instant::now();
    let mut command = tokio::process::Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return DriverRun {
                code: None,
                timed_out: false,
                spawn_error: Some(format!("{}: {e}", argv[0])),
                output: String::new(),
                elapsed_ms: 0,
            };
        }
    };
    let waited = tokio::time::timeout(timeout, child.wait_with_output()).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match waited {
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            DriverRun {
                code: out.status.code(),
                timed_out: false,
                spawn_error: None,
                output: tail(&text, MAX_OUTPUT),
                elapsed_ms,
            }
        }
        Ok(Err(e)) => DriverRun {
            code: None,
            timed_out: false,
            spawn_error: Some(e.to_string()),
            output: String::new(),
            elapsed_ms,
        },
        // Dropping the future kills the child (kill_on_drop).
        Err(_) => DriverRun {
            code: None,
            timed_out: true,
            spawn_error: None,
            output: String::new(),
            elapsed_ms,
        },
    }
}

/// What one run of the driver left: its ending, what the STS recorded, the probe's calls.
#[derive(Debug, Clone)]
pub struct Observed {
    pub driver: DriverRun,
    pub flows: Vec<FlowRecord>,
    pub probe_calls: Vec<ProbeCall>,
}

/// Runs a client scenario.
pub async fn run(
    scenario: &Scenario,
    source: &str,
    options: &RunOptions,
    embedded: &Embedded,
    progress: &(dyn Fn(&CheckResult) + Sync),
) -> ScenarioReport {
    let started = Instant::now();
    let selected: Vec<&Check> = CHECKS
        .iter()
        .filter(|c| c.kind == TargetKind::Client)
        .collect();
    let argv = scenario
        .client
        .as_ref()
        .map(|c| c.driver.clone())
        .unwrap_or_default();
    let mut report = ScenarioReport {
        name: scenario.name.clone(),
        source: source.to_owned(),
        kind: scenario.kind.as_str().into(),
        target: argv.join(" "),
        issuer: embedded.issuer.clone(),
        kid: String::new(),
        started_at: now(),
        duration_ms: 0,
        results: Vec::new(),
    };
    let setup = async {
        let c = scenario
            .client
            .as_ref()
            .ok_or_else(|| "the scenario has no client section".to_owned())?;
        let registered = register(embedded, c)?;
        let probe = Probe::start(&embedded.issuer).await?;
        let (pid, _) = embedded.practitioner().map_err(|e| e.to_string())?;
        Ok::<_, String>((c, registered, probe, pid))
    };
    let (c, registered, probe, pid) = match setup.await {
        Ok(v) => v,
        Err(message) => return report.could_not_start(&selected, &message, started, progress),
    };
    report.kid = embedded
        .sts
        .keys()
        .ok()
        .and_then(|ring| ring.active.public_jwk().kid.clone())
        .unwrap_or_default();
    let mut env = c.env.clone();
    env.insert("HELSEID_ISSUER".into(), embedded.issuer.clone());
    env.insert(
        "HELSEID_CLIENT_CONFIG".into(),
        registered.config_path.display().to_string(),
    );
    env.insert("HELSEID_PROBE_API".into(), probe.url.clone());
    env.insert("HELSEID_TEST_PID".into(), pid);
    if let Some(orgnr) = &registered.orgnr {
        env.insert("HELSEID_ORGNR".into(), orgnr.clone());
    }

    let observe = || async {
        let mark = embedded.sts.flows.next_id();
        let probe_mark = probe.calls().len();
        let driver = run_driver(&c.driver, &env, Duration::from_secs(c.timeout_secs)).await;
        Observed {
            driver,
            flows: embedded.sts.flows.records_since(mark),
            probe_calls: probe.calls().split_off(probe_mark),
        }
    };
    embedded.sts.set_fault(None);
    let observed = observe().await;
    let judge = Judge {
        issuer: &embedded.issuer,
        client_id: &registered.client_id,
        orgnr: registered.orgnr.as_deref(),
        redirect_uris: &registered.redirect_uris,
        argv: &argv,
        observed: &observed,
    };
    let mut baseline_ok = false;
    for check in selected {
        let t = Instant::now();
        let mut result = if let Err(why) = applies(check, scenario) {
            CheckResult::new(check, Outcome::Skipped, why)
        } else if !options.selected(check, scenario) && check.id != "CLIENT-RUN-01" {
            CheckResult::new(check, Outcome::Skipped, "not selected")
        } else if let Some(fault) = fault_of(check) {
            if baseline_ok {
                embedded.sts.set_fault(Some(fault));
                let faulty = observe().await;
                let unused = embedded.sts.faults.pending().is_some();
                embedded.sts.set_fault(None);
                let judge = Judge {
                    observed: &faulty,
                    ..judge
                };
                judge.fault_check(check, fault, unused)
            } else {
                CheckResult::new(
                    check,
                    Outcome::Inconclusive,
                    "the client did not pass CLIENT-RUN-01 against a correct STS, so a refusal proves nothing",
                )
            }
        } else {
            let r = judge.check(check);
            if check.id == "CLIENT-RUN-01" {
                baseline_ok = r.outcome == Outcome::Passed;
            }
            r
        };
        result.duration_ms = t.elapsed().as_millis() as u64;
        progress(&result);
        report.results.push(result);
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    report
}

/// The fault a fault-injection check (CLIENT-IDT, -KEY, -AZRESP, -TOKRESP) injects.
pub fn fault_of(check: &Check) -> Option<Fault> {
    Some(match check.id {
        "CLIENT-IDT-01" => Fault::WrongIss,
        "CLIENT-IDT-02" => Fault::WrongAud,
        "CLIENT-IDT-03" => Fault::WrongNonce,
        "CLIENT-IDT-04" => Fault::Expired,
        "CLIENT-IDT-05" => Fault::BadSignature,
        "CLIENT-IDT-06" => Fault::UnknownKid,
        "CLIENT-IDT-07" => Fault::TamperedPayload,
        "CLIENT-IDT-08" => Fault::AlgNone,
        "CLIENT-IDT-09" => Fault::RotatedOutKey,
        "CLIENT-IDT-10" => Fault::WrongAzp,
        "CLIENT-IDT-11" => Fault::MissingSub,
        "CLIENT-IDT-12" => Fault::IatInFuture,
        "CLIENT-IDT-13" => Fault::WrongAtHash,
        "CLIENT-KEY-01" => Fault::RotatedKey,
        "CLIENT-AZRESP-01" => Fault::StateChanged,
        "CLIENT-AZRESP-02" => Fault::WrongIssParameter,
        "CLIENT-AZRESP-03" => Fault::MissingIssParameter,
        "CLIENT-AZRESP-04" => Fault::ErrorResponse,
        "CLIENT-TOKRESP-01" => Fault::MissingAccessToken,
        "CLIENT-TOKRESP-02" => Fault::OtherTokenType,
        _ => return None,
    })
}

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

fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn params_named<'p>(params: &'p [(String, String)], name: &str) -> Vec<&'p str> {
    params
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

impl Judge<'_> {
    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    fn is(&self, r: &FlowRecord, method: &str, path: &str) -> bool {
        r.method == method && format!("{}{}", origin(self.issuer), r.path) == self.endpoint(path)
    }

    /// The client's requests to `path` (by client_id in the form or query, or the
    /// assertion's issuer).
    fn requests(&self, method: &str, path: &str) -> Vec<&FlowRecord> {
        self.observed
            .flows
            .iter()
            .filter(|r| self.is(r, method, path))
            .filter(|r| self.ours(r))
            .collect()
    }

    fn ours(&self, r: &FlowRecord) -> bool {
        let form = r.form();
        let query = r.query_params();
        param(&form, "client_id") == Some(self.client_id)
            || param(&query, "client_id") == Some(self.client_id)
            || param(&form, "client_assertion")
                .and_then(decode_jwt)
                .is_some_and(|(_, c)| c["iss"].as_str() == Some(self.client_id))
    }

    fn token_requests(&self) -> Vec<&FlowRecord> {
        self.requests("POST", "/connect/token")
    }

    fn par_requests(&self) -> Vec<&FlowRecord> {
        self.requests("POST", "/connect/par")
    }

    fn evidence(&self, label: &str, r: &FlowRecord) -> Exchange {
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

    fn driver_evidence(&self) -> Exchange {
        self.observed.driver.evidence(self.argv)
    }

    pub fn check(&self, c: &Check) -> CheckResult {
        match c.id {
            "CLIENT-RUN-01" => self.run_01(c),
            "CLIENT-AUTH-01" => self.auth_01(c),
            "CLIENT-DPOP-01" => self.dpop_01(c),
            "CLIENT-RES-01" => self.res_01(c),
            "CLIENT-PAR-01" => self.par_01(c),
            "CLIENT-CODE-01" => self.code_01(c),
            "CLIENT-PKCE-01" => self.pkce_01(c),
            "CLIENT-STATE-01" => self.state_01(c),
            "CLIENT-PROBE-01" => self.probe_01(c),
            "CLIENT-REFRESH-01" => self.refresh_01(c),
            "CLIENT-TENANCY-01" => self.tenancy_01(c),
            _ => CheckResult::new(c, Outcome::Skipped, "not implemented for this kind"),
        }
    }

    /// Whether `body`, a successful token response, is the one `fault` applied to (the
    /// first of its kind in the run: faults apply once).
    fn spoiled_by(fault: Fault, body: &Value) -> bool {
        match fault.site() {
            Site::IdToken => body["id_token"].is_string(),
            Site::TokenResponse => true,
            Site::AuthorizationResponse => false,
        }
    }

    /// Access tokens that came from the token response `fault` applied to: its own, and
    /// those of refreshes descending from its refresh token.
    fn tainted_tokens(&self, fault: Fault) -> Vec<String> {
        let mut tokens = Vec::new();
        let mut refresh_tokens: Vec<String> = Vec::new();
        let mut found = false;
        for r in self.token_requests() {
            if r.status != 200 {
                continue;
            }
            let Ok(body) = serde_json::from_str::<Value>(&r.response_body) else {
                continue;
            };
            let form = r.form();
            let descends = param(&form, "grant_type") == Some("refresh_token")
                && param(&form, "refresh_token")
                    .is_some_and(|t| refresh_tokens.iter().any(|x| x == t));
            if !found && Self::spoiled_by(fault, &body) {
                found = true;
            } else if !descends {
                continue;
            }
            tokens.extend(body["access_token"].as_str().map(str::to_owned));
            refresh_tokens.extend(body["refresh_token"].as_str().map(str::to_owned));
        }
        tokens
    }

    /// The evidence of the token response `fault` applied to.
    fn faulty_response(&self, fault: Fault) -> Option<Exchange> {
        let r = self.token_requests().into_iter().find(|r| {
            r.status == 200
                && serde_json::from_str::<Value>(&r.response_body)
                    .is_ok_and(|b| Self::spoiled_by(fault, &b))
        })?;
        let body = serde_json::from_str::<Value>(&r.response_body).unwrap_or_default();
        let label = match fault.site() {
            Site::IdToken => "token response with the ID token",
            _ => "the spoiled token response",
        };
        let mut e = self.evidence(label, r);
        e.decoded.extend(
            body["id_token"]
                .as_str()
                .and_then(|t| DecodedToken::of("ID token", t)),
        );
        Some(e)
    }

    /// Judges the run with `fault` injected (`unused`: the STS never sent a response the
    /// fault could spoil).
    pub fn fault_check(&self, c: &Check, fault: Fault, unused: bool) -> CheckResult {
        if unused {
            let sent = match fault.site() {
                Site::IdToken => "no ID token",
                Site::AuthorizationResponse => "no authorization response with a code",
                Site::TokenResponse => "no successful token response",
            };
            return inconclusive(
                c,
                format!(
                    "the STS sent {sent} in this run ({}), so {} was never sent",
                    self.observed.driver.describe(),
                    fault.describe()
                ),
                vec![self.driver_evidence()],
            );
        }
        match fault {
            Fault::RotatedKey => self.accepted(c, fault),
            Fault::MissingAccessToken => self.no_access_token(c, fault),
            Fault::ErrorResponse => self.error_handled(c, fault),
            f if f.site() == Site::AuthorizationResponse => self.code_not_redeemed(c, f),
            _ => self.refused(c, fault),
        }
    }

    /// Accepted probe calls with one of `tokens`.
    fn used(&self, tokens: &[String]) -> Vec<&ProbeCall> {
        self.observed
            .probe_calls
            .iter()
            .filter(|p| {
                p.status == 200
                    && p.authorization
                        .as_deref()
                        .and_then(|a| a.split_once(' '))
                        .is_some_and(|(_, got)| tokens.iter().any(|t| t == got))
            })
            .collect()
    }

    /// Whether the client took the tokens of the response `fault` spoiled (the driver exited 0
    /// after the API accepted that response's access token, or one refreshed from it), and
    /// the evidence: the driver, the spoiled response, those API calls.
    fn took_spoiled_tokens(&self, fault: Fault) -> (bool, Vec<Exchange>) {
        let mut evidence = vec![self.driver_evidence()];
        evidence.extend(self.faulty_response(fault));
        let used = self.used(&self.tainted_tokens(fault));
        evidence.extend(used.iter().map(|p| p.evidence()));
        (
            self.observed.driver.succeeded() && !used.is_empty(),
            evidence,
        )
    }

    /// CLIENT-KEY-01: the run whose ID token is signed by a just-rotated key must succeed
    /// with that response's access token.
    fn accepted(&self, c: &Check, fault: Fault) -> CheckResult {
        let d = &self.observed.driver;
        let (took_it, evidence) = self.took_spoiled_tokens(fault);
        if took_it {
            return pass(
                c,
                format!(
                    "given {}, the client accepted it and called the API",
                    fault.describe()
                ),
                evidence,
            );
        }
        fail(
            c,
            format!(
                "given {} (published in the JWKS), the client did not use it: {}",
                fault.describe(),
                if d.succeeded() {
                    "it never called the API with that response's access token".into()
                } else {
                    d.describe()
                }
            ),
            evidence,
        )
    }

    /// A fault check: the run with `fault` in the ID token or the token response must not
    /// end with the client using that response's access token (exit 0 after the probe
    /// accepted it).
    fn refused(&self, c: &Check, fault: Fault) -> CheckResult {
        let d = &self.observed.driver;
        let (took_it, evidence) = self.took_spoiled_tokens(fault);
        if took_it {
            return fail(
                c,
                format!(
                    "given {}, the client called the API with that response's access token and exited 0",
                    fault.describe()
                ),
                evidence,
            );
        }
        let how = if !d.succeeded() {
            d.describe()
        } else {
            "the driver exited 0 but never called the API with that response's access token".into()
        };
        pass(
            c,
            format!("given {}, the client refused it: {how}", fault.describe()),
            evidence,
        )
    }

    /// The authorization response `fault` applied to: the first redirect of the run to one
    /// of the client's redirect URIs with a code, and that code.
    fn faulty_redirect(&self) -> Option<(&FlowRecord, String)> {
        self.observed.flows.iter().find_map(|r| {
            let (base, params) = r.location_params()?;
            if !self.redirect_uris.iter().any(|u| u == base) {
                return None;
            }
            param(&params, "code").map(|code| (r, code.to_owned()))
        })
    }

    /// CLIENT-AZRESP: given a spoiled authorization response, the client must not redeem
    /// its code.
    fn code_not_redeemed(&self, c: &Check, fault: Fault) -> CheckResult {
        let d = &self.observed.driver;
        let mut evidence = vec![self.driver_evidence()];
        let Some((redirect, code)) = self.faulty_redirect() else {
            return inconclusive(
                c,
                format!(
                    "no redirect with a code to the client's redirect URI was recorded ({})",
                    d.describe()
                ),
                evidence,
            );
        };
        evidence.push(self.evidence("the spoiled authorization response", redirect));
        let attempts: Vec<&FlowRecord> = self
            .token_requests()
            .into_iter()
            .filter(|r| {
                let form = r.form();
                param(&form, "grant_type") == Some("authorization_code")
                    && param(&form, "code") == Some(code.as_str())
            })
            .collect();
        // The attempt that got tokens if one did (the first may be the DPoP nonce round trip).
        let redeemed = attempts
            .iter()
            .find(|r| r.status == 200)
            .or(attempts.first());
        if let Some(r) = redeemed {
            evidence.push(self.evidence("token request redeeming its code", r));
            return fail(
                c,
                format!(
                    "given {}, the client redeemed its code at the token endpoint ({} answered {})",
                    fault.describe(),
                    self.endpoint("/connect/token"),
                    r.status
                ),
                evidence,
            );
        }
        pass(
            c,
            format!(
                "given {}, the client did not redeem the code: {}",
                fault.describe(),
                d.describe()
            ),
            evidence,
        )
    }

    /// CLIENT-AZRESP-04: given an error at the redirect URI, the client must end with a
    /// failure, or log in again and succeed; not hang, and not exit 0 without having called
    /// the API.
    fn error_handled(&self, c: &Check, fault: Fault) -> CheckResult {
        let d = &self.observed.driver;
        let mut evidence = vec![self.driver_evidence()];
        let redirect = self.observed.flows.iter().find(|r| {
            r.location_params().is_some_and(|(base, params)| {
                self.redirect_uris.iter().any(|u| u == base) && param(&params, "error").is_some()
            })
        });
        evidence.extend(redirect.map(|r| self.evidence("the error response", r)));
        let accepted = self.observed.probe_calls.iter().any(|p| p.status == 200);
        if d.timed_out {
            return fail(
                c,
                format!(
                    "given {}, the client hung: {}",
                    fault.describe(),
                    d.describe()
                ),
                evidence,
            );
        }
        self.reported_or_recovered(
            c,
            fault,
            accepted,
            "it logged in again and called the API",
            evidence,
        )
    }

    /// The ending of a run given a fault that leaves the client nothing to use: it must
    /// report a failure (exit non-zero) or, having `recovered` (called the API with a good
    /// token after asking again), exit 0; exiting 0 without recovering hides the failure.
    fn reported_or_recovered(
        &self,
        c: &Check,
        fault: Fault,
        recovered: bool,
        how_recovered: &str,
        evidence: Vec<Exchange>,
    ) -> CheckResult {
        let d = &self.observed.driver;
        if d.succeeded() && !recovered {
            return fail(
                c,
                format!(
                    "given {}, the driver exited 0 without calling the API with a token: the client ended as if it had succeeded",
                    fault.describe()
                ),
                evidence,
            );
        }
        let how = if d.succeeded() {
            how_recovered.to_owned()
        } else {
            format!("it reported a failure: {}", d.describe())
        };
        pass(c, format!("given {}, {how}", fault.describe()), evidence)
    }

    /// CLIENT-TOKRESP-01: given a token response without an access token, the client must
    /// neither call the API with something else as a token nor end as if it had succeeded;
    /// asking again and using a complete response's token is fine.
    fn no_access_token(&self, c: &Check, fault: Fault) -> CheckResult {
        let mut evidence = vec![self.driver_evidence()];
        evidence.extend(self.faulty_response(fault));
        let issued: Vec<String> = self
            .token_requests()
            .into_iter()
            .filter(|r| r.status == 200)
            .filter_map(|r| serde_json::from_str::<Value>(&r.response_body).ok())
            .filter_map(|b| b["access_token"].as_str().map(str::to_owned))
            .collect();
        let foreign: Vec<&ProbeCall> = self
            .observed
            .probe_calls
            .iter()
            .filter(|p| {
                let token = p
                    .authorization
                    .as_deref()
                    .and_then(|a| a.split_once(' '))
                    .map(|(_, t)| t.trim());
                !token.is_some_and(|t| issued.iter().any(|i| i == t))
            })
            .collect();
        evidence.extend(foreign.iter().map(|p| p.evidence()));
        if let Some(p) = foreign.first() {
            return fail(
                c,
                format!(
                    "given {}, the client called the API with a token the STS never issued (Authorization: {:?})",
                    fault.describe(),
                    cut(p.authorization.as_deref().unwrap_or_default(), 40)
                ),
                evidence,
            );
        }
        let recovered = !self.used(&issued).is_empty();
        self.reported_or_recovered(
            c,
            fault,
            recovered,
            "it asked again and used the token of a complete response",
            evidence,
        )
    }

    fn run_01(&self, c: &Check) -> CheckResult {
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

    fn auth_01(&self, c: &Check) -> CheckResult {
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

    fn dpop_01(&self, c: &Check) -> CheckResult {
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

    fn res_01(&self, c: &Check) -> CheckResult {
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

    fn par_01(&self, c: &Check) -> CheckResult {
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

    fn code_01(&self, c: &Check) -> CheckResult {
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

    fn pkce_01(&self, c: &Check) -> CheckResult {
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

    fn state_01(&self, c: &Check) -> CheckResult {
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

    fn refresh_01(&self, c: &Check) -> CheckResult {
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
    fn tenancy_01(&self, c: &Check) -> CheckResult {
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

    fn probe_01(&self, c: &Check) -> CheckResult {
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

/// `scheme://host:port` of `url`.
fn origin(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_len = rest.find('/').unwrap_or(rest.len());
    let scheme_len = url.len() - rest.len();
    url[..scheme_len + host_len].to_owned()
}

/// The issuer's path (empty for an issuer at the root).
fn issuer_path(issuer: &str) -> String {
    issuer[origin(issuer).len()..].to_owned()
}

/// The last `max` bytes of `s` (driver output: the end says why it stopped).
fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("(… {} bytes before) {}", start, &s[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_paths() {
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin("http://127.0.0.1:8080/sts"), "http://127.0.0.1:8080");
        assert_eq!(issuer_path("http://127.0.0.1:8080/sts"), "/sts");
        assert_eq!(issuer_path("http://127.0.0.1:8080"), "");
    }
}
