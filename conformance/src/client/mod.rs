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
//!
//! Modules: [`registration`] (the client and probe API at the STS, the configuration file),
//! [`driver`] (the vendor's driver command and what one run of it left), [`checks`] (the
//! recording checks, judged on what the client sent) and [`faults`] (the checks that spoil a
//! response and judge what the client did next).

pub mod checks;
pub mod driver;
pub mod faults;
pub mod probe;
pub mod registration;

use std::time::{Duration, Instant};

use crate::catalogue::{Check, CheckId, ClientCheck, TargetKind};
use crate::check_driver::Driver;
use crate::embedded::Embedded;
use crate::report::{CheckResult, Outcome, ScenarioReport};
use crate::scenario::Scenario;
use crate::{RunOptions, now};
pub use checks::Judge;
pub use driver::{DriverRun, Observed, run_driver};
pub use faults::{How, fault_of, how};
use probe::Probe;
pub use registration::{Registered, register};

/// The audience of the probe API the client calls.
pub const PROBE_AUDIENCE: &str = "nhn:conformance-probe";
/// The probe API's scope; the client is registered with it.
pub const PROBE_SCOPE: &str = "nhn:conformance-probe/read";
/// The shortest `state` and `nonce` accepted.
pub const MIN_STATE_LEN: usize = 16;
/// The access token claim with the organisation a multi-tenant client acts for.
pub(crate) const ORGNR_PARENT_CLAIM: &str = protocol::claims::ORGNR_PARENT;
/// Driver output kept as evidence.
pub(crate) const MAX_OUTPUT: usize = 4096;
/// Response bodies kept as evidence.
pub(crate) const MAX_BODY: usize = 2048;

/// Runs a client scenario.
pub async fn run(
    scenario: &Scenario,
    source: &str,
    options: &RunOptions,
    embedded: &Embedded,
    progress: &(dyn Fn(&CheckResult) + Sync),
) -> ScenarioReport {
    let started = Instant::now();
    let selected: Vec<&Check> = crate::catalogue::of_kind(TargetKind::Client).collect();
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
        let probe = Probe::start(embedded.sts.clone()).await?;
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
    env.insert("HELSEID_PROBE_AUDIENCE".into(), PROBE_AUDIENCE.into());
    env.insert("HELSEID_PROBE_SCOPE".into(), PROBE_SCOPE.into());
    env.insert("HELSEID_PERSON_API".into(), probe.persons_url.clone());
    env.insert(
        "HELSEID_PERSON_API_AUDIENCE".into(),
        mock_sts::seed::PERSONTJENESTEN_AUDIENCE.into(),
    );
    env.insert(
        "HELSEID_PERSON_API_SCOPE".into(),
        mock_sts::seed::persontjenesten_read_scope(),
    );
    env.insert(
        "HELSEID_FLOW".into(),
        if c.login { "login" } else { "machine" }.into(),
    );
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
    let clear = |fault| {
        embedded
            .sts
            .set_fault(fault)
            .map_err(|e| format!("the STS could not prepare the fault: {e}"))
    };
    if let Err(message) = clear(None) {
        return report.could_not_start(&selected, &message, started, progress);
    }
    let observed = observe().await;
    let mut driver = Driver::new(scenario, options, progress, report, started).with_baseline(
        CheckId::Client(ClientCheck::Run01),
        "the client did not pass CLIENT-RUN-01 against a correct STS, so a refusal proves nothing",
    );
    let judge = Judge {
        issuer: &embedded.issuer,
        client_id: &registered.client_id,
        keys: &registered.keys,
        orgnr: registered.orgnr.as_deref(),
        redirect_uris: &registered.redirect_uris,
        argv: &argv,
        observed: &observed,
        runs: &[],
    };
    // The baseline first, then the fault checks (each a driver run of its own), then the
    // other recording checks, which compare what the client sent over every run (a state,
    // nonce, PKCE challenge, DPoP jti or key that repeats across runs is a flaw). Results
    // are reported as decided and kept in catalogue order.
    let record_first = [ClientCheck::Run01];
    let mut runs: Vec<Observed> = Vec::new();
    for &id in &record_first {
        if let Some(t) = driver.begin(id.check(), false)
            && let How::Record(judge_it) = how(id)
        {
            driver.finish(judge_it(&judge, id.check()), t);
        }
    }
    for &id in ClientCheck::ALL {
        let How::Inject(fault) = how(id) else {
            continue;
        };
        let Some(t) = driver.begin(id.check(), true) else {
            continue;
        };
        let result = match clear(Some(fault)) {
            Err(message) => CheckResult::new(id.check(), Outcome::Inconclusive, message),
            Ok(()) => {
                let faulty = observe().await;
                let unused = embedded.sts.faults.pending().is_some();
                let cleared = clear(None);
                let judge = Judge {
                    observed: &faulty,
                    ..judge
                };
                let result = match cleared {
                    Ok(()) => judge.fault_check(id.check(), fault, unused),
                    Err(message) => CheckResult::new(id.check(), Outcome::Inconclusive, message),
                };
                runs.push(faulty);
                result
            }
        };
        driver.finish(result, t);
    }
    // A second instance of the client, so the checks that compare across runs have two
    // even when no fault check ran.
    let mut all = vec![observed.clone()];
    if observed.driver.succeeded() {
        all.push(observe().await);
    }
    all.extend(runs);
    let judge = Judge {
        runs: &all,
        ..judge
    };
    for &id in ClientCheck::ALL {
        let How::Record(judge_it) = how(id) else {
            continue;
        };
        if record_first.contains(&id) {
            continue;
        }
        if let Some(t) = driver.begin(id.check(), false) {
            driver.finish(judge_it(&judge, id.check()), t);
        }
    }
    driver.done()
}

/// `scheme://host:port` of `url`.
pub(crate) fn origin(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_len = rest.find('/').unwrap_or(rest.len());
    let scheme_len = url.len() - rest.len();
    url[..scheme_len + host_len].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_paths() {
        assert_eq!(origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin("http://127.0.0.1:8080/sts"), "http://127.0.0.1:8080");
    }
}
