//! The idp kind against the bundled identity providers, served in-process: the correct ones
//! pass every check; each deliberate flaw (mock-idp's `IdpFlaw`) fails exactly the check
//! that covers it, with evidence, and leaves the others passing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use conformance::catalogue::{self, TargetKind};
use conformance::report::{Outcome, ScenarioReport};
use conformance::scenario::{self, LoginStep, Methods, Scenario, SubmitButton};
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

/// BankID, TestIDP and ID-porten on a free port, with the conformance runner registered.
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
            .retain(|d| ["bankid", "testidp", "idporten"].contains(&d.name));
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

/// The bundled scenario at TestIDP, whose `amr` is `testidp` at both levels.
fn at_testidp() -> Scenario {
    let mut s = bundled();
    for user in &mut s.idp.as_mut().unwrap().users {
        user.amr = Some(Methods::One("testidp".into()));
    }
    s
}

/// ID-porten: the first user logs in with MinID (level 3), the second with BankID (level
/// 4), each with their own login step choosing the method on the page.
fn at_idporten() -> Scenario {
    let mut s = bundled();
    let idp = s.idp.as_mut().unwrap();
    for (user, (method, level)) in idp.users.iter_mut().zip([("minid", "3"), ("bankid", "4")]) {
        user.level = Some(level.into());
        user.amr = Some(Methods::One(method.into()));
        user.login = Some(vec![LoginStep {
            form: Some("login".into()),
            fill: [
                ("method".to_owned(), method.to_owned()),
                ("typed_pid".to_owned(), "{pid}".to_owned()),
            ]
            .into(),
            submit: Some(SubmitButton {
                name: "action".into(),
                value: Some("typed".into()),
            }),
        }]);
    }
    // Were the shared steps played, the BankID user would log in with MinID and fail
    // IDP-AMR-01 and IDP-LEVEL-01: a user's own steps replace them.
    idp.login[0].fill.insert("method".into(), "minid".into());
    s
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
    let mut s = at_testidp();
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
    let mut s = at_testidp();
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
    s.idp.as_mut().unwrap().issuer = Some(idps.issuer("bankid"));
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

/// ID-porten with a MinID user and a BankID user, each naming the method and level their
/// login must report.
#[tokio::test]
async fn idporten_passes_with_a_method_per_user() {
    let idps = Idps::start(&[]).await;
    let report = run(&at_idporten(), &idps.issuer("idporten")).await;
    assert_all_pass(&report, &[]);
    let amr = message(&report, "IDP-AMR-01");
    assert!(amr.contains("[\"minid\"] as expected"), "{amr}");
    assert!(amr.contains("[\"bankid\"] as expected"), "{amr}");
}

/// An idp run alone starts no STS (the runner is the IdP's relying party), and its issuer
/// may come from --target alone.
#[tokio::test]
async fn an_idp_run_starts_no_sts_and_takes_its_issuer_from_target() {
    let idps = Idps::start(&[]).await;
    let mut s = bundled();
    s.idp.as_mut().unwrap().issuer = None;
    s.checks.only = vec!["IDP-DISC-01".into()];
    let loaded = vec![Loaded {
        scenario: s,
        source: "s.yaml".into(),
    }];
    let started = std::sync::atomic::AtomicBool::new(false);
    let on_start = |_: &conformance::embedded::Embedded| {
        started.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let e = conformance::prepare(&loaded, &RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("idp.issuer") && e.contains("--target"), "{e}");
    // Past `prepare`, a run without an issuer says why for every check.
    let report = conformance::idp::run(
        &loaded[0].scenario,
        "s.yaml",
        &RunOptions::default(),
        &|_| {},
    )
    .await;
    for r in &report.results {
        assert_eq!(r.outcome, Outcome::Inconclusive, "{}", r.id);
        assert!(r.message.contains("idp.issuer"), "{}", r.message);
    }
    let options = RunOptions {
        target: Some(idps.issuer("bankid")),
        ..Default::default()
    };
    let report = conformance::run(&loaded, &options, &on_start, &|_, _| {})
        .await
        .unwrap();
    assert!(report.passed, "{}", report.to_json());
    assert_eq!(report.scenarios[0].target, idps.issuer("bankid"));
    assert!(!started.load(std::sync::atomic::Ordering::SeqCst), "no STS");
    let bad = RunOptions {
        target: Some(format!("{}?x=1", idps.issuer("bankid"))),
        ..Default::default()
    };
    let e = conformance::prepare(&loaded, &bad).unwrap_err().to_string();
    assert!(e.contains("--target") && e.contains("query"), "{e}");
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

/// The IdP at `name` with `flaw`, judged with `scenario`, fails `id` and the checks in
/// `also` (a warning for should-checks), with evidence, and passes every other check.
async fn flawed(
    flaw: IdpFlaw,
    scenario: Scenario,
    name: &str,
    id: &str,
    also: &[&str],
) -> ScenarioReport {
    let idps = Idps::start(&[flaw]).await;
    let report = run(&scenario, &idps.issuer(name)).await;
    for r in &report.results {
        if r.id == id || also.contains(&r.id.as_str()) {
            let expected = match catalogue::find(&r.id).unwrap().severity {
                catalogue::Severity::Must => Outcome::Failed,
                catalogue::Severity::Should => Outcome::Warning,
            };
            assert_eq!(
                r.outcome,
                expected,
                "{flaw:?} -> {}\n{}",
                r.id,
                dump(&report)
            );
            assert!(!r.evidence.is_empty(), "{} carries evidence", r.id);
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

/// `flaw_test!(name, Flaw, "IDP-X-01", "the message says")`: the bundled scenario at BankID
/// with `Flaw` fails IDP-X-01 alone, saying that. `also: [...]` names further checks the flaw
/// breaks; `at: (scenario, idp)` judges another IdP with another scenario.
macro_rules! flaw_test {
    ($name:ident, $flaw:ident, $id:literal, $says:literal $(, also: [$($also:literal),*])? $(, at: ($scenario:expr, $idp:literal))?) => {
        #[tokio::test]
        async fn $name() {
            #[allow(unused_mut, unused_assignments)]
            let mut at: (Scenario, &str) = (bundled(), "bankid");
            $(at = ($scenario, $idp);)?
            let also: &[&str] = &[$($($also),*)?];
            let report = flawed(IdpFlaw::$flaw, at.0, at.1, $id, also).await;
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
flaw_test!(
    pkce_optional,
    PkceOptional,
    "IDP-PKCE-02",
    "redeemed without code_verifier, got 200 with id_token and access_token"
);
flaw_test!(
    reusable_code,
    ReusableCode,
    "IDP-CODE-01",
    "a code redeemed a second time got 200"
);
flaw_test!(
    any_client_secret,
    AnyClientSecret,
    "IDP-AUTH-01",
    "a code redeemed with a wrong client secret got 200"
);
flaw_test!(unsigned, Unsigned, "IDP-SIG-01", "alg is \"none\"");
flaw_test!(
    unpublished_key,
    UnpublishedKey,
    "IDP-SIG-01",
    "not in the JWKS"
);
flaw_test!(wrong_issuer, WrongIssuer, "IDP-ISS-01", "another-idp");
flaw_test!(no_sub, NoSub, "IDP-SUB-01", "sub is missing");
flaw_test!(
    wrong_audience,
    WrongAudience,
    "IDP-AUD-01",
    "aud is \"another-relying-party\", which does not name \"conformance-runner\""
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
    first_method_amr,
    FirstMethodAmr,
    "IDP-AMR-01",
    "user 54886143942: amr is [\"minid\"]; the scenario expects \"bankid\" for this user",
    at: (at_idporten(), "idporten")
);
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
    "redirected to that redirect_uri",
    also: ["IDP-ERR-02"]
);
flaw_test!(
    redirect_uri_prefix,
    RedirectUriPrefix,
    "IDP-ERR-02",
    "another path below it was redirected"
);
flaw_test!(
    redirect_uri_query_ignored,
    RedirectUriQueryIgnored,
    "IDP-ERR-02",
    "an added query was redirected"
);
flaw_test!(
    cancel_not_returned,
    CancelNotReturned,
    "IDP-CANCEL-01",
    "did not come back"
);

/// Both probes of IDP-ERR-02 work on their own: a prefix match is caught by both, a
/// comparison without the query by the added query alone.
#[tokio::test]
async fn err_02_names_each_probe_that_was_redirected() {
    for (flaw, other_path) in [
        (IdpFlaw::RedirectUriPrefix, true),
        (IdpFlaw::RedirectUriQueryIgnored, false),
    ] {
        let report = flawed(flaw, bundled(), "bankid", "IDP-ERR-02", &[]).await;
        let m = message(&report, "IDP-ERR-02");
        assert!(m.contains("added query was redirected"), "{flaw:?}: {m}");
        assert_eq!(m.contains("another path"), other_path, "{flaw:?}: {m}");
    }
}

/// An IdP that answers every user with the same method fails when the scenario's users
/// expect different ones, and passes when the scenario names no method.
#[tokio::test]
async fn one_method_for_every_user_fails_only_when_the_users_expect_different_ones() {
    let idps = Idps::start(&[IdpFlaw::FirstMethodAmr]).await;
    let mut s = at_idporten();
    for user in &mut s.idp.as_mut().unwrap().users {
        user.amr = None;
    }
    let report = run(&s, &idps.issuer("idporten")).await;
    assert_eq!(
        outcome(&report, "IDP-AMR-01"),
        Outcome::Passed,
        "{}",
        dump(&report)
    );
}

/// No verdict shows Rust's debug formatting of a value.
#[tokio::test]
async fn messages_render_values_plainly() {
    let idps = Idps::start(&[IdpFlaw::WrongAudience, IdpFlaw::ChangedState]).await;
    let report = run(&bundled(), &idps.issuer("bankid")).await;
    for r in &report.results {
        for debug in ["Some(", "String(", "None", "Array ["] {
            assert!(!r.message.contains(debug), "{}: {}", r.id, r.message);
        }
    }
}

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
