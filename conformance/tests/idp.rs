//! The idp kind against the bundled identity providers, served in-process: the correct ones
//! pass every check; each deliberate flaw (mock-idp's `IdpFlaw`) fails exactly the check
//! that covers it, with evidence, and leaves the others passing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use conformance::catalogue::{self, TargetKind};
use conformance::report::{Outcome, ScenarioReport};
use conformance::scenario::{self, LoginStep, Scenario, SubmitButton};
use conformance::{Loaded, RunOptions};
use mock_idp::{IdpFlaw, IdpSettings, MockIdps};
use synthpop::Population;

const BUNDLED: &str = include_str!("../../scenarios/idp-bankid.yaml");

/// The testbed's default population, which the bundled scenario's users come from.
fn population() -> Arc<Population> {
    static POP: OnceLock<Arc<Population>> = OnceLock::new();
    POP.get_or_init(|| Arc::new(Population::new(synthpop::DEFAULT_SEED, 20_000).unwrap()))
        .clone()
}

/// BankID and TestIDP on a free port, with the conformance runner registered.
struct Idps {
    base: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Idps {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Idps {
    async fn start(flaws: &[IdpFlaw]) -> Idps {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut settings = IdpSettings::new(&base, population())
            .with_client(mock_idp::conformance_rp())
            .with_flaws(flaws.iter().copied().collect::<BTreeSet<_>>());
        settings
            .idps
            .retain(|d| d.name == "bankid" || d.name == "testidp");
        let app = MockIdps::new(settings).unwrap().router();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Idps { base, server }
    }

    fn issuer(&self, name: &str) -> String {
        mock_idp::issuer_for(&self.base, name)
    }
}

fn bundled() -> Scenario {
    scenario::parse(BUNDLED, "scenarios/idp-bankid.yaml").unwrap()
}

/// Runs `scenario` with `--target issuer`.
async fn run(scenario: &Scenario, issuer: &str) -> ScenarioReport {
    let options = RunOptions {
        target: Some(issuer.to_owned()),
        ..Default::default()
    };
    conformance::idp::run(scenario, "test", &options, &|_| {}).await
}

fn outcome(report: &ScenarioReport, id: &str) -> Outcome {
    report
        .results
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no result for {id}"))
        .outcome
}

fn dump(report: &ScenarioReport) -> String {
    report
        .results
        .iter()
        .map(|r| format!("{} {:?}: {}", r.id, r.outcome, r.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every idp check ran and passed (or was skipped for a reason in `skipped`), with evidence.
fn assert_all_pass(report: &ScenarioReport, skipped: &[&str]) {
    let ids: Vec<&str> = catalogue::CHECKS
        .iter()
        .filter(|c| c.kind == TargetKind::Idp)
        .map(|c| c.id)
        .collect();
    let got: Vec<&str> = report.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(got, ids, "every idp check, in catalogue order");
    for r in &report.results {
        if skipped.contains(&r.id.as_str()) {
            assert_eq!(r.outcome, Outcome::Skipped, "{}\n{}", r.id, dump(report));
            continue;
        }
        assert_eq!(r.outcome, Outcome::Passed, "{}\n{}", r.id, dump(report));
        assert!(!r.evidence.is_empty(), "{} has evidence", r.id);
    }
}

#[tokio::test]
async fn bankid_passes_every_check() {
    let idps = Idps::start(&[]).await;
    let report = run(&bundled(), &idps.issuer("bankid")).await;
    assert_all_pass(&report, &[]);
    assert_eq!(report.target, idps.issuer("bankid"));
    assert!(!report.kid.is_empty());
    // The evidence shows the decoded ID token, and no secret.
    let pid = report
        .results
        .iter()
        .find(|r| r.id == "IDP-PID-01")
        .unwrap();
    let decoded = &pid.evidence[0].decoded[0];
    assert_eq!(decoded.what, "ID token");
    assert_eq!(decoded.claims["pid"], "05757041733");
    assert_eq!(decoded.claims["amr"], serde_json::json!(["bankid"]));
    let json = serde_json::to_string(&report).unwrap();
    assert!(
        !json.contains(mock_idp::CONFORMANCE_CLIENT_SECRET),
        "secret redacted"
    );
    let login = report
        .results
        .iter()
        .find(|r| r.id == "IDP-LOGIN-01")
        .unwrap();
    assert!(
        login.evidence.iter().any(|e| e
            .request_body
            .as_deref()
            .is_some_and(|b| b.contains("typed_pid=05757041733"))),
        "the filled login form is evidence"
    );
}

/// TestIDP's page: the level chosen by its radio, the person by their button.
#[tokio::test]
async fn testidp_pages_pass_at_both_levels() {
    let idps = Idps::start(&[]).await;
    let mut s = bundled();
    let idp = s.idp.as_mut().unwrap();
    idp.users[1].level = Some("3".into());
    idp.login = vec![LoginStep {
        form: None,
        fill: [("method".to_owned(), "level{level}".to_owned())].into(),
        submit: Some(SubmitButton {
            name: "pid".into(),
            value: Some("{pid}".into()),
        }),
    }];
    let report = run(&s, &idps.issuer("testidp")).await;
    assert_all_pass(&report, &[]);
    let level = report
        .results
        .iter()
        .find(|r| r.id == "IDP-LEVEL-01")
        .unwrap();
    assert!(level.message.contains("\"3\""), "{}", level.message);
}

/// TestIDP's automation (test_pid): no page at all, so nothing to cancel.
#[tokio::test]
async fn testidp_automation_passes_without_pages() {
    let idps = Idps::start(&[]).await;
    let mut s = bundled();
    let idp = s.idp.as_mut().unwrap();
    idp.login.clear();
    idp.cancel.clear();
    idp.extra_authorize_params = [
        ("test_pid".to_owned(), "{pid}".to_owned()),
        ("test_security_level".to_owned(), "{level}".to_owned()),
    ]
    .into();
    let report = run(&s, &idps.issuer("testidp")).await;
    assert_all_pass(&report, &["IDP-CANCEL-01"]);
}

/// Through the library's entry point, with the scenario's own issuer and selection.
#[tokio::test]
async fn run_dispatches_idp_scenarios_and_selects_checks() {
    let idps = Idps::start(&[]).await;
    let mut s = bundled();
    s.idp.as_mut().unwrap().issuer = idps.issuer("bankid");
    s.checks.only = vec!["discovery".into(), "IDP-PID-01".into()];
    let loaded = vec![Loaded {
        scenario: s,
        source: "scenarios/idp-bankid.yaml".into(),
    }];
    let report = conformance::run(&loaded, &RunOptions::default(), &|_| {}, &|_, _| {})
        .await
        .unwrap();
    assert!(report.passed, "{}", report.to_json());
    let r = &report.scenarios[0];
    assert_eq!(r.kind, "idp");
    for id in ["IDP-DISC-01", "IDP-DISC-02", "IDP-JWKS-01", "IDP-PID-01"] {
        assert_eq!(outcome(r, id), Outcome::Passed, "{id}\n{}", dump(r));
    }
    assert_eq!(outcome(r, "IDP-SIG-01"), Outcome::Skipped);
    assert_eq!(outcome(r, "IDP-ERR-01"), Outcome::Skipped);
}

#[tokio::test]
async fn an_unreachable_idp_is_inconclusive() {
    let report = run(&bundled(), "http://127.0.0.1:9/idp/nowhere").await;
    for r in &report.results {
        assert_eq!(r.outcome, Outcome::Inconclusive, "{}: {}", r.id, r.message);
    }
}

#[tokio::test]
async fn prepare_refuses_an_idp_scenario_without_its_secret() {
    let mut s = bundled();
    let idp = s.idp.as_mut().unwrap();
    idp.client_secret = None;
    idp.client_secret_env = Some("CONFORMANCE_TEST_SURELY_UNSET_VARIABLE".into());
    let loaded = vec![Loaded {
        scenario: s.clone(),
        source: "s.yaml".into(),
    }];
    let e = conformance::prepare(&loaded, &RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("CONFORMANCE_TEST_SURELY_UNSET_VARIABLE"), "{e}");
    s.idp = None;
    let loaded = vec![Loaded {
        scenario: s,
        source: "s.yaml".into(),
    }];
    let e = conformance::prepare(&loaded, &RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("idp:"), "{e}");
}

/// The IdP with `flaw` fails `id` (a warning for should-checks), with evidence, and passes
/// every other check.
async fn flawed(flaw: IdpFlaw, id: &str) -> ScenarioReport {
    let idps = Idps::start(&[flaw]).await;
    let report = run(&bundled(), &idps.issuer("bankid")).await;
    let check = catalogue::find(id).unwrap();
    let expected = match check.severity {
        catalogue::Severity::Must => Outcome::Failed,
        catalogue::Severity::Should => Outcome::Warning,
    };
    for r in &report.results {
        if r.id == id {
            assert_eq!(r.outcome, expected, "{flaw:?} -> {id}\n{}", dump(&report));
            assert!(!r.evidence.is_empty(), "{id} carries evidence");
        } else {
            assert_eq!(
                r.outcome,
                Outcome::Passed,
                "{flaw:?} must break only {id}, but {} is {:?}\n{}",
                r.id,
                r.outcome,
                dump(&report)
            );
        }
    }
    report
}

fn message(report: &ScenarioReport, id: &str) -> String {
    report
        .results
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.message.clone())
        .unwrap_or_default()
}

macro_rules! flaw_test {
    ($name:ident, $flaw:ident, $id:literal, $says:literal) => {
        #[tokio::test]
        async fn $name() {
            let report = flawed(IdpFlaw::$flaw, $id).await;
            let m = message(&report, $id);
            assert!(m.contains($says), "{}: {m}", $id);
        }
    };
}

flaw_test!(
    discovery_issuer_mismatch,
    DiscoveryIssuerMismatch,
    "IDP-DISC-01",
    "/other"
);
flaw_test!(no_pkce_advertised, NoPkceAdvertised, "IDP-DISC-02", "S256");
flaw_test!(
    private_key_in_jwks,
    PrivateKeyInJwks,
    "IDP-JWKS-01",
    "private key material"
);
flaw_test!(
    changed_state,
    ChangedState,
    "IDP-LOGIN-01",
    "state came back"
);
flaw_test!(
    ignores_pkce,
    IgnoresPkce,
    "IDP-PKCE-01",
    "does not match its challenge"
);
flaw_test!(unsigned, Unsigned, "IDP-SIG-01", "\"none\"");
flaw_test!(
    unpublished_key,
    UnpublishedKey,
    "IDP-SIG-01",
    "not in the JWKS"
);
flaw_test!(wrong_issuer, WrongIssuer, "IDP-ISS-01", "another-idp");
flaw_test!(
    wrong_audience,
    WrongAudience,
    "IDP-AUD-01",
    "another-relying-party"
);
flaw_test!(no_nonce, NoNonce, "IDP-NONCE-01", "nonce is missing");
flaw_test!(expired, Expired, "IDP-EXP-01", "in the past");
flaw_test!(long_lived, LongLived, "IDP-EXP-02", "86400");
flaw_test!(invalid_pid, InvalidPid, "IDP-PID-01", "check digit");
flaw_test!(
    other_persons_pid,
    OtherPersonsPid,
    "IDP-PID-01",
    "not the user's"
);
flaw_test!(no_amr, NoAmr, "IDP-AMR-01", "amr is missing");
flaw_test!(
    no_level,
    NoLevel,
    "IDP-LEVEL-01",
    "security_level is missing"
);
flaw_test!(wrong_level, WrongLevel, "IDP-LEVEL-01", "expects \"4\"");
flaw_test!(
    open_redirect,
    OpenRedirect,
    "IDP-ERR-01",
    "redirected to that redirect_uri"
);
flaw_test!(
    cancel_not_returned,
    CancelNotReturned,
    "IDP-CANCEL-01",
    "did not come back"
);

/// Every flaw has a test above, and every idp check a flaw that fails it.
#[test]
fn every_flaw_and_every_check_is_covered() {
    let source = include_str!("idp.rs");
    let flat = source.split_whitespace().collect::<Vec<_>>().join(" ");
    for flaw in IdpFlaw::ALL {
        let needle = format!(", {flaw:?}, \"IDP-");
        assert!(flat.contains(&needle), "no flaw_test! for {flaw:?}");
    }
    for c in catalogue::CHECKS
        .iter()
        .filter(|c| c.kind == TargetKind::Idp)
    {
        let needle = format!(", \"{}\", \"", c.id);
        assert!(flat.contains(&needle), "no flaw makes {} fail", c.id);
    }
}
