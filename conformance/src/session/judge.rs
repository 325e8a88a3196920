//! A session's recording judged with the client checks that need no driver: the recording
//! checks of [`crate::client::checks`] on what the application sent before its first fault
//! step (and, for the checks that compare instances, on every part of the recording), and
//! each fault step's part by its fault's check ([`crate::client::faults`]).
//!
//! What replaces the driver: CLIENT-RUN-01 passes on a token the session issued and an
//! accepted call to the session's probe API. A check whose input never happened (no login,
//! no refresh, no probe call, no fault step of its kind) is skipped, saying which, never
//! passed.

use std::time::Instant;

use mock_sts::fault::{Fault, Site};
use mock_sts::store::{Client, Tenancy};

use super::{Record, SessionDoc};
use crate::RunOptions;
use crate::catalogue::{Check, ClientCheck, TargetKind};
use crate::check_driver::Driver;
use crate::client::checks::Judge;
use crate::client::driver::{DriverRun, Observed};
use crate::client::{How, how};
use crate::report::{CheckResult, FailOn, Outcome, Report, ScenarioReport};
use crate::scenario::Scenario;

/// What is judged.
#[derive(Debug)]
pub struct Input<'a> {
    pub doc: &'a SessionDoc,
    /// The session's authority.
    pub issuer: &'a str,
    /// The client as registered now (`None`: it was deleted since the start).
    pub client: Option<&'a Client>,
    pub records: &'a [Record],
    /// The recording reached [`super::MAX_RECORDS`] and later records were dropped.
    pub full: bool,
}

/// One part of the recording: before the first fault step, or from a fault step to the
/// next.
#[derive(Debug)]
struct Part {
    fault: Option<Fault>,
    /// Whether the STS spoiled a response with the fault (`false` also when the step was
    /// cut short by a restart).
    applied: bool,
    observed: Observed,
}

fn parts(input: &Input<'_>) -> Vec<Part> {
    let id = &input.doc.id;
    let ended = |at| DriverRun::session(id, at);
    let mut parts = vec![Part {
        fault: None,
        applied: false,
        observed: Observed {
            driver: ended(crate::now_ms()),
            flows: Vec::new(),
            probe_calls: Vec::new(),
        },
    }];
    for record in input.records {
        let Some(current) = parts.last_mut() else {
            continue;
        };
        match record {
            Record::Flow { flow } => current.observed.flows.push(flow.clone()),
            Record::Probe { call } => current.observed.probe_calls.push(call.clone()),
            Record::Fault { fault, at_ms } => {
                current.observed.driver.ended_at_ms = *at_ms;
                parts.push(Part {
                    fault: Fault::parse(fault),
                    applied: false,
                    observed: Observed {
                        driver: ended(crate::now_ms()),
                        flows: Vec::new(),
                        probe_calls: Vec::new(),
                    },
                });
            }
            Record::FaultDone { applied, .. } => current.applied = *applied,
        }
    }
    parts
}

/// A scenario describing the application as registered, so the catalogue's `applies`
/// (login, multi-tenant) decides as for a driver run.
fn scenario(input: &Input<'_>) -> Result<Scenario, String> {
    let (login, multi) = input.client.map_or((false, false), |c| {
        (
            c.grant_types.iter().any(|g| g == "authorization_code"),
            matches!(c.tenancy, Tenancy::MultiTenant { .. }),
        )
    });
    let value = serde_json::json!({
        "name": format!("Session {} ({})", input.doc.id, input.doc.client_name),
        "kind": "client",
        "client": {
            "driver": [],
            "login": login,
            "tenancy": if multi { "multi" } else { "single" },
        },
    });
    serde_json::from_value(value).map_err(|e| format!("the session's scenario: {e}"))
}

/// Why a recording check cannot be judged on `part`, if it cannot.
fn missing_input(id: ClientCheck, judge: &Judge<'_>, probe_called: bool) -> Option<&'static str> {
    let sent_token_request = !judge.token_requests().is_empty() || !judge.par_requests().is_empty();
    let logged_in = !judge.par_requests().is_empty() || !judge.authorize_requests().is_empty();
    let refreshed = judge
        .token_requests()
        .iter()
        .any(|r| crate::client::checks::param(&r.form(), "grant_type") == Some("refresh_token"));
    match id {
        ClientCheck::Auth01
        | ClientCheck::Dpop01
        | ClientCheck::Dpop02
        | ClientCheck::Res01
        | ClientCheck::Tenancy01 => (!sent_token_request)
            .then_some("the application sent no PAR or token request to the session before its first fault step"),
        ClientCheck::Par01 | ClientCheck::Code01 | ClientCheck::Pkce01 | ClientCheck::State01 => {
            (!logged_in).then_some(
                "the application started no login at the session before its first fault step",
            )
        }
        ClientCheck::Refresh01 => (!refreshed)
            .then_some("the application refreshed no token at the session before its first fault step"),
        ClientCheck::Probe01 => (!probe_called)
            .then_some("the application never called the session's probe API"),
        // Decided in run_01: a session where the application got no token is not skipped.
        ClientCheck::Run01 => None,
        _ => None,
    }
}

/// Whether `fault`'s check is decided by what the application did with the spoiled
/// response's tokens (at the probe API, userinfo, a refresh) rather than by a code it
/// redeemed.
fn judged_by_use(fault: Fault) -> bool {
    fault.site() != Site::AuthorizationResponse || fault == Fault::ErrorResponse
}

/// Judges the recording: the report of one scenario, wrapped in the report model.
pub fn judge(input: &Input<'_>) -> Report {
    let started = Instant::now();
    let scenario = match scenario(input) {
        Ok(s) => s,
        Err(message) => {
            let report = empty_report(input, format!("Session {}", input.doc.id));
            let checks: Vec<&Check> = crate::catalogue::of_kind(TargetKind::Client).collect();
            return Report::new(
                vec![report.could_not_start(&checks, &message, started, &|_| {})],
                FailOn::Must,
            );
        }
    };
    let options = RunOptions::default();
    let parts = parts(input);
    let report = empty_report(input, scenario.name.clone());
    let progress = |_: &CheckResult| {};
    let mut driver = Driver::new(&scenario, &options, &progress, report, started);
    let Some(client) = input.client else {
        let message = format!(
            "client {} is no longer registered, so its assertions cannot be verified",
            input.doc.client_id
        );
        for &id in ClientCheck::ALL {
            if let Some(t) = driver.begin(id.check(), false) {
                driver.finish(
                    CheckResult::new(id.check(), Outcome::Inconclusive, message.clone()),
                    t,
                );
            }
        }
        return Report::new(vec![driver.done()], FailOn::Must);
    };
    let keys = mock_sts::client_auth::registered_keys(client);
    let runs: Vec<Observed> = parts.iter().map(|p| p.observed.clone()).collect();
    let probe_called = runs.iter().any(|r| !r.probe_calls.is_empty());
    // Whether the application showed anywhere how it uses tokens (the probe, userinfo, a
    // refresh): without that, not using a spoiled response's tokens proves no refusal.
    let uses_tokens = probe_called
        || runs.iter().flat_map(|r| &r.flows).any(|f| {
            f.path.ends_with(protocol::endpoints::USERINFO)
                || (f.path.ends_with(protocol::endpoints::TOKEN)
                    && crate::client::checks::param(&f.form(), "grant_type")
                        == Some("refresh_token"))
        });
    let Some(first) = runs.first() else {
        return Report::new(vec![driver.done()], FailOn::Must);
    };
    let judge = Judge {
        issuer: input.issuer,
        client_id: &client.client_id,
        orgnr: input.doc.orgnr.as_deref(),
        redirect_uris: &client.redirect_uris,
        argv: &[],
        keys: &keys,
        observed: first,
        runs: &runs,
    };
    for &id in ClientCheck::ALL {
        let check = id.check();
        let Some(t) = driver.begin(check, false) else {
            continue;
        };
        let result = match how(id) {
            How::Record(judge_it) => match missing_input(id, &judge, probe_called) {
                Some(why) => skipped(check, why),
                None if id == ClientCheck::Run01 => run_01(&judge, check),
                None => judge_it(&judge, check),
            },
            How::Inject(fault) => match parts.iter().find(|p| p.fault == Some(fault)) {
                None => skipped(
                    check,
                    &format!(
                        "the session had no fault step {} ({})",
                        fault.name(),
                        fault.describe()
                    ),
                ),
                Some(_) if judged_by_use(fault) && !uses_tokens => skipped(
                    check,
                    "the application never called the session's probe API or userinfo endpoint and never refreshed, so what it did with the spoiled response's tokens cannot be seen",
                ),
                Some(part) => Judge {
                    observed: &part.observed,
                    runs: &[],
                    ..judge
                }
                .fault_check(check, fault, !part.applied),
            },
        };
        driver.finish(result, t);
    }
    let mut report = driver.done();
    if input.full {
        report.name.push_str(&format!(
            " (recording full: only the first {} records were kept)",
            super::MAX_RECORDS
        ));
    }
    Report::new(vec![report], FailOn::Must)
}

/// The session's report before any result.
fn empty_report(input: &Input<'_>, name: String) -> ScenarioReport {
    ScenarioReport {
        name,
        source: format!("session {}", input.doc.id),
        kind: TargetKind::Client.as_str().into(),
        target: input.doc.client_id.clone(),
        issuer: input.issuer.to_owned(),
        kid: String::new(),
        started_at: input.doc.created_at,
        duration_ms: 0,
        results: Vec::new(),
    }
}

fn judge_on<'a>(judge: &Judge<'a>, run: &'a Observed) -> Judge<'a> {
    Judge {
        observed: run,
        ..*judge
    }
}

fn skipped(check: &Check, why: &str) -> CheckResult {
    CheckResult::new(check, Outcome::Skipped, why)
}

/// CLIENT-RUN-01 without a driver: the session issued the client a token and its probe API
/// accepted a call with one. No token at all leaves nothing to judge (inconclusive, so the
/// session does not pass); tokens without probe calls skip it (the application may call
/// only its own APIs).
fn run_01(judge: &Judge<'_>, check: &Check) -> CheckResult {
    let issued = judge
        .runs
        .iter()
        .flat_map(|run| judge_on(judge, run).token_requests())
        .filter(|r| r.status == 200)
        .count();
    let all: Vec<&crate::client::probe::ProbeCall> =
        judge.runs.iter().flat_map(|r| &r.probe_calls).collect();
    if issued == 0 {
        return CheckResult::new(
            check,
            Outcome::Inconclusive,
            "the session issued the application no token: there is nothing to judge (point the application's authority at the session and use it)",
        );
    }
    if all.is_empty() {
        return skipped(
            check,
            &format!(
                "the session issued {issued} token(s), but the application never called the session's probe API"
            ),
        );
    }
    let accepted = all.iter().filter(|p| p.status == 200).count();
    let evidence = all.iter().map(|p| p.evidence()).collect();
    if accepted == 0 {
        return crate::report::fail(
            check,
            format!(
                "the session's probe API accepted none of the application's {} call(s)",
                all.len()
            ),
            evidence,
        );
    }
    crate::report::pass(
        check,
        format!(
            "the session's probe API accepted {accepted} of the application's {} call(s)",
            all.len()
        ),
        evidence,
    )
}
