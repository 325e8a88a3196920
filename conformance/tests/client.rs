//! The client suite against the reference client (reference/src/bin/reference-client.rs): the
//! correct client passes, as a machine client and as a login client, and each check fails
//! against the reference client with the one flaw that check exists to find.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use conformance::catalogue::Severity;
use conformance::embedded::Embedded;
use conformance::report::{Outcome, Report};
use conformance::scenario::{self, Scenario};
use conformance::{Loaded, RunOptions};

/// The reference client's binary, built once (beside this test's own target directory).
fn reference_client() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "-q",
                "-p",
                "helseid-reference",
                "--bin",
                "reference-client",
            ])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .unwrap();
        assert!(status.success(), "building reference-client");
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/client-<hash> -> target/<profile>/reference-client
        let bin = exe
            .parent()
            .and_then(|d| d.parent())
            .unwrap()
            .join(format!("reference-client{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{}", bin.display());
        bin
    })
    .clone()
}

fn scenario(login: bool, flaws: &[&str]) -> Scenario {
    scenario_with(login, "single", flaws)
}

fn scenario_with(login: bool, tenancy: &str, flaws: &[&str]) -> Scenario {
    scenario_full(login, tenancy, flaws, &[])
}

/// A scenario whose client also has `scopes` (of other APIs than the probe).
fn scenario_full(login: bool, tenancy: &str, flaws: &[&str], scopes: &[&str]) -> Scenario {
    let mut driver = vec![reference_client().display().to_string()];
    for f in flaws {
        driver.push("--flaw".into());
        driver.push((*f).into());
    }
    let driver: Vec<String> = driver.iter().map(|a| format!("{a:?}")).collect();
    let text = format!(
        "name: reference client\nkind: client\nclient:\n  driver: [{}]\n  timeout_secs: 60\n  login: {login}\n  tenancy: {tenancy}\n  scopes: [{}]\n",
        driver.join(", "),
        scopes.join(", ")
    );
    scenario::parse(&text, "test.yaml").unwrap()
}

async fn run(embedded: &Embedded, s: &Scenario) -> Report {
    run_only(embedded, s, &[]).await
}

/// Runs only the checks `only` names (and CLIENT-RUN-01, the baseline), as `--only` does.
async fn run_only(embedded: &Embedded, s: &Scenario, only: &[&str]) -> Report {
    let loaded = vec![Loaded {
        scenario: s.clone(),
        source: "test".into(),
    }];
    let options = RunOptions {
        only: only.iter().map(|o| (*o).to_owned()).collect(),
        ..RunOptions::default()
    };
    conformance::run_on(embedded, &loaded, &options, &|_, _| {})
        .await
        .unwrap()
}

/// The ID-token checks of the catalogue (IDT-09, -11, -12 and -13 were retired: each
/// warned about what HelseID leaves to the client).
fn id_token_checks() -> Vec<String> {
    conformance::catalogue::CHECKS
        .iter()
        .filter(|c| c.id.starts_with("CLIENT-IDT-"))
        .map(|c| c.id.to_owned())
        .collect()
}

fn outcome(report: &Report, id: &str) -> (Outcome, String) {
    let r = report.scenarios[0]
        .results
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no result for {id}"));
    (r.outcome, r.message.clone())
}

fn assert_all_pass(report: &Report, what: &str) {
    for r in &report.scenarios[0].results {
        assert!(
            matches!(r.outcome, Outcome::Passed | Outcome::Skipped),
            "{what}: {} {:?}: {}\n{:#?}",
            r.id,
            r.outcome,
            r.message,
            r.evidence.first()
        );
    }
    assert!(report.passed, "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_client_passes_as_machine_and_login_client() {
    let embedded = Embedded::start(0).await.unwrap();
    let report = run(&embedded, &scenario(false, &[])).await;
    assert_all_pass(&report, "machine client");
    assert_eq!(outcome(&report, "CLIENT-PAR-01").0, Outcome::Skipped);
    let (got, message) = outcome(&report, "CLIENT-TOKRESP-01");
    assert_eq!(got, Outcome::Passed, "{message}");
    assert!(message.contains("reported a failure"), "{message}");
    let (got, message) = outcome(&report, "CLIENT-TOKRESP-02");
    assert_eq!(got, Outcome::Passed, "{message}");
    assert!(message.contains("refused it"), "{message}");
    assert!(report.totals.passed >= 5, "{:?}", report.totals);

    let report = run(&embedded, &scenario(true, &[])).await;
    assert_all_pass(&report, "login client");
    assert_eq!(outcome(&report, "CLIENT-PAR-01").0, Outcome::Passed);
    assert_eq!(outcome(&report, "CLIENT-KEY-01").0, Outcome::Passed);
    assert_eq!(outcome(&report, "CLIENT-REFRESH-01").0, Outcome::Passed);
    for id in ["CLIENT-DPOP-02", "CLIENT-STATE-01", "CLIENT-PKCE-01"] {
        let (got, message) = outcome(&report, id);
        assert_eq!(got, Outcome::Passed, "{id}: {message}");
        // Judged over every driver run, not one.
        assert!(message.contains(" run"), "{id}: {message}");
    }
    for id in id_token_checks() {
        let (got, message) = outcome(&report, &id);
        assert_eq!(got, Outcome::Passed, "{id}: {message}");
        // Refused for the fault, not for something else: the driver's output says why.
        let r = report.scenarios[0]
            .results
            .iter()
            .find(|r| r.id == id)
            .unwrap();
        let output = &r.evidence[0].response_body;
        assert!(output.contains("the ID token is refused"), "{id}: {output}");
    }
    for id in [
        "CLIENT-AZRESP-01",
        "CLIENT-AZRESP-02",
        "CLIENT-AZRESP-03",
        "CLIENT-AZRESP-04",
        "CLIENT-TOKRESP-01",
        "CLIENT-TOKRESP-02",
    ] {
        let (got, message) = outcome(&report, id);
        assert_eq!(got, Outcome::Passed, "{id}: {message}");
    }
    // Refused for the fault: the driver says which parameter was wrong.
    let output = |id: &str| {
        report.scenarios[0]
            .results
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .evidence[0]
            .response_body
            .clone()
    };
    assert!(output("CLIENT-AZRESP-01").contains("state"));
    assert!(output("CLIENT-AZRESP-02").contains("wrong-issuer"));
    assert!(output("CLIENT-AZRESP-03").contains("iss None"));
    assert!(output("CLIENT-TOKRESP-02").contains("token_type"));
    assert!(output("CLIENT-AZRESP-04").contains("access_denied"));
    assert!(report.totals.passed >= 26, "{:?}", report.totals);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_client_passes_as_multi_tenant_client_and_fails_without_its_org() {
    let embedded = Embedded::start(0).await.unwrap();
    let report = run(&embedded, &scenario(false, &[])).await;
    let (got, message) = outcome(&report, "CLIENT-TENANCY-01");
    assert_eq!(got, Outcome::Skipped, "{message}");

    let report = run(&embedded, &scenario_with(false, "multi", &[])).await;
    assert_all_pass(&report, "multi-tenant machine client");
    let (got, message) = outcome(&report, "CLIENT-TENANCY-01");
    assert_eq!(got, Outcome::Passed, "{message}");

    let report = run(&embedded, &scenario_with(false, "multi", &["no-org"])).await;
    let (got, message) = outcome(&report, "CLIENT-TENANCY-01");
    assert_eq!(got, Outcome::Failed, "{message}");
    assert!(message.contains("assertion_details"), "{message}");
    assert!(!report.passed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_client_passes_as_multi_tenant_login_client() {
    let embedded = Embedded::start(0).await.unwrap();
    let report = run(&embedded, &scenario_with(true, "multi", &[])).await;
    assert_all_pass(&report, "multi-tenant login client");
    let (got, message) = outcome(&report, "CLIENT-TENANCY-01");
    assert_eq!(got, Outcome::Passed, "{message}");
    assert_eq!(outcome(&report, "CLIENT-REFRESH-01").0, Outcome::Passed);
    assert_eq!(outcome(&report, "CLIENT-IDT-01").0, Outcome::Passed);

    // Without its organisation the STS redeems the code (HelseID's recommended place for a
    // user's organisation is the refresh request), but the token the API gets names none:
    // CLIENT-TENANCY-01 fails on that token.
    let report = run_only(
        &embedded,
        &scenario_with(true, "multi", &["no-org"]),
        &["CLIENT-TENANCY-01"],
    )
    .await;
    let (got, message) = outcome(&report, "CLIENT-TENANCY-01");
    assert_eq!(got, Outcome::Failed, "{message}");
    assert!(message.contains("orgnr_parent"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_validate_id_tokens_fails_every_fault() {
    let embedded = Embedded::start(0).await.unwrap();
    let report = run(&embedded, &scenario(true, &["skip-id-token-validation"])).await;
    assert_eq!(outcome(&report, "CLIENT-RUN-01").0, Outcome::Passed);
    for id in id_token_checks() {
        let (got, message) = outcome(&report, &id);
        let should = conformance::catalogue::find(&id).unwrap().severity == Severity::Should;
        let expected = if should {
            Outcome::Warning
        } else {
            Outcome::Failed
        };
        assert_eq!(got, expected, "{id}: {message}");
        assert!(message.contains("exited 0"), "{id}: {message}");
    }
    // The fault is cleared after each check: the next login gets a good ID token.
    assert!(embedded.sts.faults.pending().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_refetches_the_jwks_fails_the_key_rotation() {
    let embedded = Embedded::start(0).await.unwrap();
    let report = run(&embedded, &scenario(true, &["stale-jwks"])).await;
    assert_eq!(outcome(&report, "CLIENT-RUN-01").0, Outcome::Passed);
    // A should-check: a client that caches the JWKS, as HelseID advises, warns.
    let (got, message) = outcome(&report, "CLIENT-KEY-01");
    assert_eq!(got, Outcome::Warning, "{message}");
    // It still validates: every fault is refused (there is no IDT-09: a token signed by a
    // key retired during the login is one a caching client rightly takes).
    assert!(conformance::catalogue::find("CLIENT-IDT-09").is_none());
    for id in id_token_checks() {
        assert_eq!(outcome(&report, &id).0, Outcome::Passed, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_checks_are_inconclusive_when_the_client_fails_anyway() {
    let embedded = Embedded::start(0).await.unwrap();
    let report = run(&embedded, &scenario(true, &["exit1"])).await;
    assert_eq!(outcome(&report, "CLIENT-RUN-01").0, Outcome::Failed);
    let (got, message) = outcome(&report, "CLIENT-IDT-01");
    assert_eq!(got, Outcome::Inconclusive, "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_check_finds_its_flaw() {
    let embedded = Embedded::start(0).await.unwrap();
    let cases: [(bool, &str, &str); 23] = [
        (false, "reuse-jti", "CLIENT-AUTH-01"),
        (false, "long-assertion", "CLIENT-AUTH-01"),
        (false, "no-dpop", "CLIENT-DPOP-01"),
        (false, "no-nonce-retry", "CLIENT-DPOP-01"),
        (false, "reuse-dpop-jti", "CLIENT-DPOP-02"),
        (true, "fixed-state", "CLIENT-STATE-01"),
        (true, "fixed-pkce", "CLIENT-PKCE-01"),
        (true, "trust-expired-jwks", "CLIENT-IDT-14"),
        (false, "bearer-probe", "CLIENT-PROBE-01"),
        (false, "no-probe", "CLIENT-RUN-01"),
        (false, "exit1", "CLIENT-RUN-01"),
        (true, "no-par", "CLIENT-PAR-01"),
        (true, "plain-pkce", "CLIENT-PKCE-01"),
        (true, "hybrid", "CLIENT-CODE-01"),
        (true, "short-state", "CLIENT-STATE-01"),
        (true, "reuse-refresh-token", "CLIENT-REFRESH-01"),
        (true, "skip-state-check", "CLIENT-AZRESP-01"),
        (true, "skip-iss-check", "CLIENT-AZRESP-02"),
        (true, "skip-iss-check", "CLIENT-AZRESP-03"),
        (true, "allow-missing-iss", "CLIENT-AZRESP-03"),
        (true, "ignore-login-error", "CLIENT-AZRESP-04"),
        (false, "lenient-token-response", "CLIENT-TOKRESP-01"),
        (false, "ignore-token-type", "CLIENT-TOKRESP-02"),
    ];
    for (login, flaw, id) in cases {
        let report = run_only(&embedded, &scenario(login, &[flaw]), &[id]).await;
        let (got, message) = outcome(&report, id);
        // A failed should-check is a warning.
        let should = conformance::catalogue::find(id).unwrap().severity == Severity::Should;
        let expected = if should {
            Outcome::Warning
        } else {
            Outcome::Failed
        };
        assert_eq!(got, expected, "{flaw}: {id}: {message}");
        if flaw == "hybrid" {
            assert!(message.contains("response_type"), "{message}");
        }
        if id.starts_with("CLIENT-AZRESP") && id != "CLIENT-AZRESP-04" {
            assert!(message.contains("redeemed its code"), "{flaw}: {message}");
        }
        if id == "CLIENT-AZRESP-04" {
            assert!(message.contains("without calling the API"), "{message}");
        }
        assert_eq!(report.passed, should, "{flaw}");
    }
}

#[tokio::test]
async fn a_driver_that_cannot_start_fails_the_run() {
    let embedded = Embedded::start(0).await.unwrap();
    let text = "name: x\nkind: client\nclient:\n  driver: [/nonexistent/driver]\n";
    let s = scenario::parse(text, "x.yaml").unwrap();
    let report = run(&embedded, &s).await;
    let (got, message) = outcome(&report, "CLIENT-RUN-01");
    assert_eq!(got, Outcome::Failed);
    assert!(message.contains("could not start"), "{message}");
}

#[tokio::test]
async fn a_driver_past_its_time_limit_is_stopped() {
    let embedded = Embedded::start(0).await.unwrap();
    let text = "name: x\nkind: client\nclient:\n  driver: [sleep, \"30\"]\n  timeout_secs: 1\n";
    let s = scenario::parse(text, "x.yaml").unwrap();
    let started = std::time::Instant::now();
    let report = run(&embedded, &s).await;
    assert!(started.elapsed().as_secs() < 10);
    let (got, message) = outcome(&report, "CLIENT-RUN-01");
    assert_eq!(got, Outcome::Failed);
    assert!(message.contains("did not finish"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_response_checks_are_independent() {
    // A client that accepts a missing iss still refuses a wrong one, and the reverse
    // check passes with the state flaw only.
    let embedded = Embedded::start(0).await.unwrap();
    let report = run_only(
        &embedded,
        &scenario(true, &["allow-missing-iss"]),
        &["authorization-response"],
    )
    .await;
    assert_eq!(outcome(&report, "CLIENT-AZRESP-01").0, Outcome::Passed);
    assert_eq!(outcome(&report, "CLIENT-AZRESP-02").0, Outcome::Passed);
    assert_eq!(outcome(&report, "CLIENT-AZRESP-03").0, Outcome::Warning);
    // A should-check: the run still passes by default.
    assert!(report.passed);
    assert_eq!(outcome(&report, "CLIENT-IDT-01").0, Outcome::Skipped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_ignores_token_type_uses_a_downgraded_token() {
    let embedded = Embedded::start(0).await.unwrap();
    let report = run_only(
        &embedded,
        &scenario(false, &["ignore-token-type"]),
        &["token-response"],
    )
    .await;
    let (got, message) = outcome(&report, "CLIENT-TOKRESP-02");
    assert_eq!(got, Outcome::Warning, "{message}");
    assert!(message.contains("exited 0"), "{message}");
    // The missing access_token is still refused by this client.
    assert_eq!(outcome(&report, "CLIENT-TOKRESP-01").0, Outcome::Passed);
    let evidence = &report.scenarios[0]
        .results
        .iter()
        .find(|r| r.id == "CLIENT-TOKRESP-02")
        .unwrap()
        .evidence;
    assert!(
        evidence
            .iter()
            .any(|e| e.response_body.contains("\"token_type\":\"Bearer\"")),
        "{evidence:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_request_without_resource_fails_only_where_the_audience_is_ambiguous() {
    let embedded = Embedded::start(0).await.unwrap();
    // One API: leaving resource out is fine, the token can only be for it.
    let report = run_only(
        &embedded,
        &scenario(false, &["no-resource"]),
        &["CLIENT-RES-01"],
    )
    .await;
    let (got, message) = outcome(&report, "CLIENT-RES-01");
    assert_eq!(got, Outcome::Passed, "{message}");
    // Two APIs asked for at once, no resource: the audience is ambiguous.
    for login in [false, true] {
        let s = scenario_full(login, "single", &["no-resource"], &["nhn:testbed-api/read"]);
        let report = run_only(&embedded, &s, &["CLIENT-RES-01"]).await;
        let (got, message) = outcome(&report, "CLIENT-RES-01");
        assert_eq!(got, Outcome::Failed, "login {login}: {message}");
        assert!(message.contains("ambiguous"), "{message}");
        assert!(message.contains("nhn:testbed-api"), "{message}");
        // The correct client names its resource and passes with the same scopes.
        let s = scenario_full(login, "single", &[], &["nhn:testbed-api/read"]);
        let report = run_only(&embedded, &s, &["CLIENT-RES-01"]).await;
        let (got, message) = outcome(&report, "CLIENT-RES-01");
        assert_eq!(got, Outcome::Passed, "login {login}: {message}");
    }
}

/// What HelseID allows is not failed: no nonce (it "may be used"), the resource named only
/// at PAR (RFC 8707 §2.1). No state warns (HelseID recommends one) and leaves nothing for
/// CLIENT-AZRESP-01 to judge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_helseid_allows_is_not_failed() {
    let embedded = Embedded::start(0).await.unwrap();
    let checks = [
        "CLIENT-IDT-03",
        "CLIENT-STATE-01",
        "CLIENT-AZRESP-01",
        "CLIENT-RES-01",
    ];
    let report = run_only(&embedded, &scenario(true, &["no-nonce"]), &checks).await;
    assert!(report.passed, "{:?}", report.totals);
    assert_eq!(outcome(&report, "CLIENT-RUN-01").0, Outcome::Passed);
    let (got, message) = outcome(&report, "CLIENT-IDT-03");
    assert_eq!(got, Outcome::Skipped, "{message}");
    assert!(message.contains("sent no nonce"), "{message}");
    let (got, message) = outcome(&report, "CLIENT-STATE-01");
    assert_eq!(got, Outcome::Passed, "{message}");
    assert_eq!(outcome(&report, "CLIENT-AZRESP-01").0, Outcome::Passed);

    let report = run_only(&embedded, &scenario(true, &["no-state"]), &checks).await;
    let (got, message) = outcome(&report, "CLIENT-STATE-01");
    assert_eq!(got, Outcome::Warning, "{message}");
    assert!(message.contains("no state"), "{message}");
    let (got, message) = outcome(&report, "CLIENT-AZRESP-01");
    assert_eq!(got, Outcome::Skipped, "{message}");
    assert_eq!(outcome(&report, "CLIENT-IDT-03").0, Outcome::Passed);

    // Scopes of two APIs, one resource at PAR, none at the token endpoint: the grant is for
    // that one API. Left out at PAR too (no-resource), the audience is ambiguous.
    let s = scenario_full(
        true,
        "single",
        &["resource-at-par-only"],
        &["nhn:testbed-api/read"],
    );
    let report = run_only(&embedded, &s, &["CLIENT-RES-01"]).await;
    let (got, message) = outcome(&report, "CLIENT-RES-01");
    assert_eq!(got, Outcome::Passed, "{message}");
    assert_eq!(outcome(&report, "CLIENT-RUN-01").0, Outcome::Passed);

    // HelseID: "You may use the same secret (private key) for both of these purposes"
    // (client authentication and DPoP); OpenID Connect: the client MAY check at_hash. The
    // whole suite passes with no warning.
    for (login, variant) in [
        (false, "client-key-as-dpop-key"),
        (true, "client-key-as-dpop-key"),
        (true, "skip-at-hash"),
    ] {
        let report = run(&embedded, &scenario(login, &[variant])).await;
        assert_eq!(report.totals.warning, 0, "{variant}: {:?}", report.totals);
        assert_all_pass(&report, variant);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_uses_a_token_before_validating_fails_whatever_its_exit_code() {
    let embedded = Embedded::start(0).await.unwrap();
    let report = run_only(
        &embedded,
        &scenario(true, &["use-before-validation"]),
        &["CLIENT-IDT-01", "CLIENT-IDT-05"],
    )
    .await;
    assert_eq!(outcome(&report, "CLIENT-RUN-01").0, Outcome::Passed);
    for id in ["CLIENT-IDT-01", "CLIENT-IDT-05"] {
        let (got, message) = outcome(&report, id);
        assert_eq!(got, Outcome::Failed, "{id}: {message}");
        // The verdict says what happened, in order: the API took it, then the client failed.
        assert!(message.contains("the probe accepted it at"), "{message}");
        assert!(message.contains("exited with 2 at"), "{message}");
        assert!(!message.contains("refused it"), "{message}");
    }
}

// --- conformance sessions (conformance::session) ------------------------------------------

/// A session for `registered`'s client through the JSON API: its view (authority, probe).
async fn start_session(embedded: &Embedded, client_id: &str) -> serde_json::Value {
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/testbed/sessions", embedded.issuer))
        .header("api-key", &embedded.sts.config.api_key)
        .json(&serde_json::json!({ "clientId": client_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn session_post(
    embedded: &Embedded,
    id: &str,
    what: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/testbed/sessions/{id}/{what}", embedded.issuer))
        .header("api-key", &embedded.sts.config.api_key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Runs the reference client (with `flaws`) as an application would run: only its authority
/// is the session's; the client, its key and its configuration file are as registered.
async fn run_app(
    registered: &conformance::client::Registered,
    session: &serde_json::Value,
    login: bool,
    flaws: &[&str],
    pid: &str,
) -> conformance::client::DriverRun {
    run_app_with(registered, session, login, flaws, pid, &[]).await
}

/// [`run_app`] with `extra` in the application's environment.
async fn run_app_with(
    registered: &conformance::client::Registered,
    session: &serde_json::Value,
    login: bool,
    flaws: &[&str],
    pid: &str,
    extra: &[(&str, String)],
) -> conformance::client::DriverRun {
    let mut argv = vec![reference_client().display().to_string()];
    for f in flaws {
        argv.push("--flaw".into());
        argv.push((*f).into());
    }
    let mut env = std::collections::BTreeMap::new();
    env.insert(
        "HELSEID_ISSUER".to_owned(),
        session["authority"].as_str().unwrap().to_owned(),
    );
    env.insert(
        "HELSEID_CLIENT_CONFIG".to_owned(),
        registered.config_path.display().to_string(),
    );
    env.insert(
        "HELSEID_PROBE_API".to_owned(),
        session["probe"].as_str().unwrap().to_owned(),
    );
    env.insert(
        "HELSEID_PROBE_AUDIENCE".to_owned(),
        conformance::client::PROBE_AUDIENCE.to_owned(),
    );
    env.insert(
        "HELSEID_PROBE_SCOPE".to_owned(),
        conformance::client::PROBE_SCOPE.to_owned(),
    );
    env.insert(
        "HELSEID_FLOW".to_owned(),
        if login { "login" } else { "machine" }.to_owned(),
    );
    env.insert("HELSEID_TEST_PID".to_owned(), pid.to_owned());
    if let Some(orgnr) = &registered.orgnr {
        env.insert("HELSEID_ORGNR".to_owned(), orgnr.clone());
    }
    for (k, v) in extra {
        env.insert((*k).to_owned(), v.clone());
    }
    conformance::client::run_driver(&argv, &env, std::time::Duration::from_secs(60)).await
}

fn registered_for(embedded: &Embedded, login: bool) -> conformance::client::Registered {
    let s = scenario(login, &[]);
    conformance::client::register(embedded, s.client.as_ref().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_client_passes_a_session_with_only_its_authority_changed() {
    let embedded = Embedded::start(0).await.unwrap();
    let (pid, _) = embedded.practitioner().unwrap();
    let registered = registered_for(&embedded, true);
    let session = start_session(&embedded, &registered.client_id).await;
    let id = session["id"].as_str().unwrap().to_owned();
    let authority = session["authority"].as_str().unwrap();
    assert_eq!(authority, format!("{}/s/{id}", embedded.issuer));
    // A complete issuer of its own.
    let discovery: serde_json::Value =
        reqwest::get(format!("{authority}/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(discovery["issuer"], authority);
    assert_eq!(
        discovery["token_endpoint"],
        format!("{authority}/connect/token")
    );

    let run = run_app(&registered, &session, true, &[], &pid).await;
    assert!(run.succeeded(), "{}: {}", run.describe(), run.output);
    // A fault step: the next ID token comes from another issuer; the reference client
    // refuses it.
    let armed = session_post(
        &embedded,
        &id,
        "fault",
        serde_json::json!({"fault": "wrong-iss"}),
    )
    .await;
    assert_eq!(armed.status(), 200);
    let run = run_app(&registered, &session, true, &[], &pid).await;
    assert!(
        !run.succeeded(),
        "the spoiled ID token was accepted: {}",
        run.output
    );

    let ended = session_post(&embedded, &id, "end", serde_json::json!({})).await;
    assert_eq!(ended.status(), 200);
    let report: serde_json::Value = ended.json().await.unwrap();
    let results = report["scenarios"][0]["results"].as_array().unwrap();
    let outcome_of = |id: &str| {
        let r = results.iter().find(|r| r["id"] == id).unwrap();
        (
            r["outcome"].as_str().unwrap().to_owned(),
            r["message"].as_str().unwrap().to_owned(),
        )
    };
    for r in results {
        assert!(
            matches!(r["outcome"].as_str(), Some("passed" | "skipped")),
            "{}: {} {}",
            r["id"],
            r["outcome"],
            r["message"]
        );
    }
    for id in [
        "CLIENT-RUN-01",
        "CLIENT-AUTH-01",
        "CLIENT-DPOP-01",
        "CLIENT-PAR-01",
        "CLIENT-PKCE-01",
        "CLIENT-STATE-01",
        "CLIENT-REFRESH-01",
        "CLIENT-PROBE-01",
        "CLIENT-IDT-01",
    ] {
        let (got, message) = outcome_of(id);
        assert_eq!(got, "passed", "{id}: {message}");
    }
    // What the application never did is skipped, saying so.
    let (got, message) = outcome_of("CLIENT-IDT-02");
    assert_eq!(got, "skipped");
    assert!(message.contains("no fault step wrong-aud"), "{message}");
    assert!(report["passed"].as_bool().unwrap());

    // The report is kept, as JSON, HTML and JUnit; the authority stops until a reset.
    for (suffix, kind) in [
        ("report", "json"),
        ("report.html", "html"),
        ("report.xml", "xml"),
    ] {
        let r = reqwest::get(format!(
            "{}/testbed/sessions/{id}/{suffix}",
            embedded.issuer
        ))
        .await
        .unwrap();
        assert_eq!(r.status(), 200, "{suffix}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.contains(kind), "{suffix}: {ct}");
    }
    let gone = reqwest::get(format!("{authority}/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let reset = session_post(&embedded, &id, "reset", serde_json::json!({})).await;
    assert_eq!(reset.status(), 200);
    let reset: serde_json::Value = reset.json().await.unwrap();
    assert_eq!(reset["records"], 0);
    assert_eq!(reset["status"], "active");
    let back = reqwest::get(format!("{authority}/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(back.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_finds_the_flaws_its_recording_checks_cover() {
    let embedded = Embedded::start(0).await.unwrap();
    let (pid, _) = embedded.practitioner().unwrap();
    // (login, tenancy, flaw, check): each run twice, as a person would use the application
    // twice (the flaws that repeat a value show only on the second login).
    let cases: [(bool, &str, &str, &str); 15] = [
        (false, "single", "reuse-jti", "CLIENT-AUTH-01"),
        (false, "single", "long-assertion", "CLIENT-AUTH-01"),
        (false, "single", "no-dpop", "CLIENT-DPOP-01"),
        (false, "single", "no-nonce-retry", "CLIENT-DPOP-01"),
        (false, "single", "reuse-dpop-jti", "CLIENT-DPOP-02"),
        (false, "single", "bearer-probe", "CLIENT-PROBE-01"),
        (false, "multi", "no-org", "CLIENT-TENANCY-01"),
        (true, "single", "no-par", "CLIENT-PAR-01"),
        (true, "single", "plain-pkce", "CLIENT-PKCE-01"),
        (true, "single", "fixed-pkce", "CLIENT-PKCE-01"),
        (true, "single", "hybrid", "CLIENT-CODE-01"),
        (true, "single", "short-state", "CLIENT-STATE-01"),
        (true, "single", "fixed-state", "CLIENT-STATE-01"),
        (true, "single", "reuse-refresh-token", "CLIENT-REFRESH-01"),
        (true, "single", "skip-state-check", "CLIENT-PAR-01"),
    ];
    for (login, tenancy, flaw, check) in cases {
        let s = scenario_with(login, tenancy, &[]);
        let registered =
            conformance::client::register(&embedded, s.client.as_ref().unwrap()).unwrap();
        let session = start_session(&embedded, &registered.client_id).await;
        let id = session["id"].as_str().unwrap();
        if tenancy == "multi" {
            assert_eq!(session["orgnr"].as_str(), registered.orgnr.as_deref());
        }
        for _ in 0..2 {
            run_app(&registered, &session, login, &[flaw], &pid).await;
        }
        let report: serde_json::Value = session_post(&embedded, id, "end", serde_json::json!({}))
            .await
            .json()
            .await
            .unwrap();
        let r = report["scenarios"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == check)
            .unwrap()
            .clone();
        let should = conformance::catalogue::find(check).unwrap().severity == Severity::Should;
        let expected = if flaw == "skip-state-check" {
            // A flaw no recording check sees (it needs a fault step): the recording passes.
            "passed"
        } else if should {
            "warning"
        } else {
            "failed"
        };
        assert_eq!(r["outcome"], expected, "{flaw}: {check}: {}", r["message"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_fault_step_finds_a_client_that_skips_validation_and_stays_in_its_session() {
    let embedded = Embedded::start(0).await.unwrap();
    let (pid, _) = embedded.practitioner().unwrap();
    let registered = registered_for(&embedded, true);
    let flawed = start_session(&embedded, &registered.client_id).await;
    let other = start_session(&embedded, &registered.client_id).await;
    let id = flawed["id"].as_str().unwrap();
    run_app(
        &registered,
        &flawed,
        true,
        &["skip-id-token-validation"],
        &pid,
    )
    .await;
    for fault in ["wrong-aud", "expired-key"] {
        let armed = session_post(
            &embedded,
            id,
            "fault",
            serde_json::json!({ "fault": fault }),
        )
        .await;
        assert_eq!(armed.status(), 200);
        run_app(
            &registered,
            &flawed,
            true,
            &["skip-id-token-validation"],
            &pid,
        )
        .await;
    }
    // The faults and the key rotation stayed in their session: the other one's tokens are
    // unspoiled and its keys unchanged.
    let run = run_app(&registered, &other, true, &[], &pid).await;
    assert!(run.succeeded(), "{}", run.output);
    // A step the application never met is inconclusive, saying so.
    let armed = session_post(
        &embedded,
        id,
        "fault",
        serde_json::json!({ "fault": "wrong-nonce" }),
    )
    .await;
    assert_eq!(armed.status(), 200);
    let unknown = session_post(
        &embedded,
        id,
        "fault",
        serde_json::json!({ "fault": "nosuch" }),
    )
    .await;
    assert_eq!(unknown.status(), 400);
    let text = unknown.text().await.unwrap();
    assert!(text.contains("wrong-iss"), "{text}");

    let report: serde_json::Value = session_post(&embedded, id, "end", serde_json::json!({}))
        .await
        .json()
        .await
        .unwrap();
    let results = report["scenarios"][0]["results"].as_array().unwrap();
    let of = |check: &str| results.iter().find(|r| r["id"] == check).unwrap().clone();
    assert_eq!(
        of("CLIENT-IDT-02")["outcome"],
        "failed",
        "{}",
        of("CLIENT-IDT-02")["message"]
    );
    assert!(
        of("CLIENT-IDT-02")["message"]
            .as_str()
            .unwrap()
            .contains("the client used that response")
    );
    assert_eq!(
        of("CLIENT-IDT-14")["outcome"],
        "failed",
        "{}",
        of("CLIENT-IDT-14")["message"]
    );
    assert_eq!(of("CLIENT-IDT-03")["outcome"], "inconclusive");
    assert!(
        of("CLIENT-IDT-03")["message"]
            .as_str()
            .unwrap()
            .contains("after the fault step"),
        "{}",
        of("CLIENT-IDT-03")["message"]
    );
    assert!(!report["passed"].as_bool().unwrap());
    // Ending twice is a conflict; an unknown session is a 404; no api-key is a 401.
    assert_eq!(
        session_post(&embedded, id, "end", serde_json::json!({}))
            .await
            .status(),
        409
    );
    assert_eq!(
        session_post(&embedded, "nosuch", "end", serde_json::json!({}))
            .await
            .status(),
        404
    );
    let anonymous = reqwest::Client::new()
        .post(format!("{}/testbed/sessions", embedded.issuer))
        .json(&serde_json::json!({ "clientId": registered.client_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let unknown_client = reqwest::Client::new()
        .post(format!("{}/testbed/sessions", embedded.issuer))
        .header("api-key", &embedded.sts.config.api_key)
        .json(&serde_json::json!({ "clientId": "nosuch" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_client.status(), 400);
    // An organisation for a single-tenant client is refused, naming why.
    let orgnr = reqwest::Client::new()
        .post(format!("{}/testbed/sessions", embedded.issuer))
        .header("api-key", &embedded.sts.config.api_key)
        .json(&serde_json::json!({ "clientId": registered.client_id, "orgnr": "999977774" }))
        .send()
        .await
        .unwrap();
    assert_eq!(orgnr.status(), 400);
    assert!(
        orgnr
            .text()
            .await
            .unwrap()
            .contains("only for a multi-tenant client")
    );
    // An authorization response fault: the client that skips the state check redeems the
    // spoiled response's code.
    let state = start_session(&embedded, &registered.client_id).await;
    let state_id = state["id"].as_str().unwrap();
    run_app(&registered, &state, true, &["skip-state-check"], &pid).await;
    session_post(
        &embedded,
        state_id,
        "fault",
        serde_json::json!({ "fault": "state-changed" }),
    )
    .await;
    run_app(&registered, &state, true, &["skip-state-check"], &pid).await;
    let report: serde_json::Value = session_post(&embedded, state_id, "end", serde_json::json!({}))
        .await
        .json()
        .await
        .unwrap();
    let azresp = report["scenarios"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "CLIENT-AZRESP-01")
        .unwrap()
        .clone();
    assert_eq!(azresp["outcome"], "warning", "{}", azresp["message"]);
    assert!(
        azresp["message"]
            .as_str()
            .unwrap()
            .contains("redeemed its code")
    );

    let other_report: serde_json::Value = session_post(
        &embedded,
        other["id"].as_str().unwrap(),
        "end",
        serde_json::json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        other_report["passed"].as_bool().unwrap(),
        "{other_report:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_their_recordings_survive_a_restart_and_only_the_newest_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let first = Embedded::start_in(0, Some(dir.path())).await.unwrap();
    let port: u16 = first.issuer.rsplit(':').next().unwrap().parse().unwrap();
    let registered = registered_for(&first, false);
    let used = start_session(&first, &registered.client_id).await;
    let run = run_app(&registered, &used, false, &[], "").await;
    assert!(run.succeeded(), "{}", run.output);
    let ended = start_session(&first, &registered.client_id).await;
    let ended_id = ended["id"].as_str().unwrap().to_owned();
    session_post(&first, &ended_id, "end", serde_json::json!({})).await;
    drop(first);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // The same data directory and port: the sessions, their recordings and reports are back,
    // and the active one's authority answers again.
    let second = Embedded::start_in(port, Some(dir.path())).await.unwrap();
    let id = used["id"].as_str().unwrap();
    let authority = used["authority"].as_str().unwrap();
    let back = reqwest::get(format!("{authority}/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(back.status(), 200);
    let kept = second.sessions.get(&ended_id).unwrap();
    assert!(kept.report.is_some(), "the ended session's report was kept");
    let report: serde_json::Value = session_post(&second, id, "end", serde_json::json!({}))
        .await
        .json()
        .await
        .unwrap();
    let auth = report["scenarios"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "CLIENT-AUTH-01")
        .unwrap()
        .clone();
    assert_eq!(auth["outcome"], "passed", "{}", auth["message"]);
    assert!(report["passed"].as_bool().unwrap(), "{report:#}");

    // At most max_kept sessions: the oldest go, with their recordings and keys.
    let sessions = conformance::session::Sessions::new(
        second.sts.clone(),
        conformance::session::SessionSettings { max_kept: 2 },
    )
    .unwrap();
    let request = conformance::session::StartRequest {
        client_id: registered.client_id.clone(),
        orgnr: None,
    };
    let newest = sessions.start(&request).await.unwrap();
    let (docs, total) = sessions.list(10, 0).unwrap();
    assert_eq!(total, 2);
    assert_eq!(docs[0].id, newest.id);
    assert!(sessions.get(id).is_err(), "the oldest was dropped");
    assert!(second.sts.store.session_records(id).unwrap().is_empty());
    assert!(
        second
            .sts
            .store
            .signing_keys(&format!("s/{id}"))
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_probe_calls_a_session_sees_the_use_of_a_spoiled_response_in_its_refresh() {
    let embedded = Embedded::start(0).await.unwrap();
    let (pid, _) = embedded.practitioner().unwrap();
    let registered = registered_for(&embedded, true);
    // An application that calls only its own APIs (never the probe): the flawed one takes
    // the spoiled login and refreshes with its refresh token, the correct one refuses it.
    for (flaws, expected, words) in [
        (
            vec!["skip-id-token-validation", "no-probe"],
            "failed",
            "refreshed with that response's refresh token",
        ),
        (
            vec!["no-probe"],
            "passed",
            "never used that response's tokens",
        ),
    ] {
        let session = start_session(&embedded, &registered.client_id).await;
        let id = session["id"].as_str().unwrap();
        run_app(&registered, &session, true, &flaws, &pid).await;
        session_post(
            &embedded,
            id,
            "fault",
            serde_json::json!({ "fault": "wrong-aud" }),
        )
        .await;
        run_app(&registered, &session, true, &flaws, &pid).await;
        let report: serde_json::Value = session_post(&embedded, id, "end", serde_json::json!({}))
            .await
            .json()
            .await
            .unwrap();
        let r = report["scenarios"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "CLIENT-IDT-02")
            .unwrap()
            .clone();
        assert_eq!(r["outcome"], expected, "{flaws:?}: {}", r["message"]);
        assert!(
            r["message"].as_str().unwrap().contains(words),
            "{}",
            r["message"]
        );
    }
}

/// Issue 15: a client may call the person API (Persontjenesten's FHIR interface, served
/// beside the probe) instead of the probe; its calls are judged as probe calls, so the
/// correct client passes and one that sends its DPoP token as Bearer fails CLIENT-PROBE-01.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_calls_the_person_api_is_judged_by_those_calls() {
    let embedded = Embedded::start(0).await.unwrap();
    let scope = mock_sts::seed::persontjenesten_read_scope();
    let with_env = |flaws: &[&str]| {
        let mut s = scenario_full(false, "single", flaws, &[scope.as_str()]);
        let c = s.client.as_mut().unwrap();
        c.env.insert("HELSEID_API_TARGET".into(), "persons".into());
        s
    };
    let report = run(&embedded, &with_env(&[])).await;
    assert_all_pass(&report, "machine client calling the person API");
    let probe = report.scenarios[0]
        .results
        .iter()
        .find(|r| r.id == "CLIENT-PROBE-01")
        .unwrap();
    assert_eq!(probe.outcome, Outcome::Passed, "{}", probe.message);
    assert!(
        probe
            .evidence
            .iter()
            .any(|e| e.url.contains("/persontjenesten/fhir/Person")),
        "{:#?}",
        probe.evidence
    );

    let report = run_only(
        &embedded,
        &with_env(&["bearer-probe"]),
        &["CLIENT-PROBE-01"],
    )
    .await;
    let (got, message) = outcome(&report, "CLIENT-PROBE-01");
    assert_eq!(got, Outcome::Failed, "{message}");
}

/// A session serves the person API at `<authority>/persontjenesten/fhir`, trusting the
/// session's own tokens, and records its calls as the probe's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_serves_the_person_api_and_records_its_calls() {
    let embedded = Embedded::start(0).await.unwrap();
    let (pid, _) = embedded.practitioner().unwrap();
    let scope = mock_sts::seed::persontjenesten_read_scope();
    let s = scenario_full(false, "single", &[], &[scope.as_str()]);
    let registered = conformance::client::register(&embedded, s.client.as_ref().unwrap()).unwrap();
    let session = start_session(&embedded, &registered.client_id).await;
    let id = session["id"].as_str().unwrap().to_owned();
    let person_api = session["person_api"].as_str().unwrap().to_owned();
    assert_eq!(
        person_api,
        format!(
            "{}/persontjenesten/fhir",
            session["authority"].as_str().unwrap()
        )
    );
    let extra = [
        ("HELSEID_API_TARGET", "persons".to_owned()),
        ("HELSEID_PERSON_API", person_api.clone()),
        (
            "HELSEID_PERSON_API_AUDIENCE",
            mock_sts::seed::PERSONTJENESTEN_AUDIENCE.to_owned(),
        ),
    ];
    let run = run_app_with(&registered, &session, false, &[], &pid, &extra).await;
    assert!(run.succeeded(), "{}: {}", run.describe(), run.output);
    // A token of the main issuer is not the session's.
    let outside = reqwest::get(format!("{person_api}/metadata"))
        .await
        .unwrap();
    assert_eq!(outside.status(), 200);
    let ended = session_post(&embedded, &id, "end", serde_json::json!({})).await;
    assert_eq!(ended.status(), 200);
    let report: serde_json::Value = ended.json().await.unwrap();
    let results = report["scenarios"][0]["results"].as_array().unwrap();
    let probe = results
        .iter()
        .find(|r| r["id"] == "CLIENT-PROBE-01")
        .unwrap();
    assert_eq!(probe["outcome"], "passed", "{probe}");
    assert!(
        probe.to_string().contains("/persontjenesten/fhir/Person"),
        "{probe}"
    );
}
