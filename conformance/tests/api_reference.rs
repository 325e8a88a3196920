//! The api suite against the reference API (reference/src/api.rs): the correct API passes every
//! bundled scenario, and each check fails against the reference API with the one flaw that
//! check exists to find.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use conformance::embedded::Embedded;
use conformance::report::{Outcome, Report};
use conformance::scenario::{self, Binding, ClientTenancy, Scenario};
use conformance::{Loaded, RunOptions};
use helseid_reference::api::{ApiConfig, Flaw};

/// Starts the reference API configured for what `s` requires, trusting `issuer`.
async fn reference_api(issuer: &str, s: &Scenario, flaws: &[Flaw]) -> String {
    let api = s.api.as_ref().unwrap();
    let mut config = ApiConfig::new(issuer, &api.audience);
    config.required_scopes = api.scopes.clone();
    config.require_dpop = s.requirements.token_binding == Binding::Dpop;
    config.min_security_level = s.requirements.security_level;
    config.require_tillitsrammeverk = s.requirements.tillitsrammeverk;
    config.allowed_orgs = s.requirements.organisations.clone();
    for f in flaws {
        config = config.with_flaw(*f);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/records", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = helseid_reference::api::serve(config, listener).await;
    });
    url
}

async fn run(embedded: &Embedded, s: &Scenario, target: &str, only: &[&str]) -> Report {
    let options = RunOptions {
        target: Some(target.to_owned()),
        only: only.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let loaded = vec![Loaded {
        scenario: s.clone(),
        source: "test".into(),
    }];
    conformance::run_on(embedded, &loaded, &options, &|_, _| {})
        .await
        .unwrap()
}

fn bundled(name: &str) -> Scenario {
    let path = format!("{}/../scenarios/{name}", env!("CARGO_MANIFEST_DIR"));
    scenario::load(std::path::Path::new(&path)).unwrap()
}

#[tokio::test]
async fn the_reference_api_passes_every_bundled_scenario() {
    let embedded = Embedded::start(0).await.unwrap();
    let dir = format!("{}/../scenarios", env!("CARGO_MANIFEST_DIR"));
    let files = scenario::files(std::path::Path::new(&dir)).unwrap();
    let mut api_files = 0;
    for file in files {
        let s = scenario::load(&file).unwrap();
        if s.kind != scenario::Kind::Api {
            continue;
        }
        api_files += 1;
        let url = reference_api(&embedded.issuer, &s, &[]).await;
        let report = run(&embedded, &s, &url, &[]).await;
        for r in &report.scenarios[0].results {
            assert!(
                matches!(r.outcome, Outcome::Passed | Outcome::Skipped),
                "{}: {} {:?}: {}",
                file.display(),
                r.id,
                r.outcome,
                r.message
            );
        }
        assert!(report.passed, "{}", file.display());
        assert!(
            report.totals.passed >= 15,
            "{}: {:?}",
            file.display(),
            report.totals
        );
    }
    assert!(api_files >= 5);
}

/// Each check and the reference API's flaw it must find.
const FLAWS: &[(&str, &[Flaw])] = &[
    ("API-AUTH-01", &[Flaw::NoWwwAuthenticate]),
    ("API-EXP-01", &[Flaw::SkipExpiry]),
    ("API-NBF-01", &[Flaw::SkipNotBefore]),
    ("API-ISS-01", &[Flaw::SkipIssuer]),
    ("API-AUD-01", &[Flaw::SkipAudience]),
    ("API-SCOPE-01", &[Flaw::SkipScope]),
    ("API-ALG-01", &[Flaw::AcceptAlgNone]),
    ("API-ALG-02", &[Flaw::AcceptHs256WithPublicKey]),
    // An API that, for a kid it does not know, verifies nothing.
    ("API-KID-01", &[Flaw::AcceptUnknownKid, Flaw::SkipSignature]),
    ("API-SIG-01", &[Flaw::SkipSignature]),
    ("API-SIG-02", &[Flaw::SkipSignature]),
    ("API-TYP-01", &[Flaw::AcceptIdToken]),
    ("API-DPOP-01", &[Flaw::AcceptDpopTokenAsBearer]),
    ("API-DPOP-02", &[Flaw::SkipDpopProof]),
    ("API-DPOP-03", &[Flaw::SkipProofHtm]),
    ("API-DPOP-04", &[Flaw::SkipProofHtu]),
    ("API-DPOP-05", &[Flaw::SkipProofAth]),
    ("API-DPOP-06", &[Flaw::SkipProofReplay]),
    ("API-DPOP-07", &[Flaw::SkipProofKeyBinding]),
    ("API-DPOP-08", &[Flaw::SkipProofIat]),
    ("API-LEVEL-01", &[Flaw::SkipSecurityLevel]),
    ("API-TR-01", &[Flaw::SkipTillitsrammeverk]),
    ("API-TR-02", &[Flaw::SkipTillitsrammeverkShape]),
    ("API-ORG-01", &[Flaw::SkipOrganisation]),
    // Run with the scenario's tokens issued to a multi-tenant client (the only kind it
    // applies to).
    ("API-TENANCY-01", &[Flaw::SupplierOrganisation]),
    ("API-WWW-01", &[Flaw::NoWwwAuthenticate]),
];

#[tokio::test]
async fn every_check_finds_its_flaw_in_the_reference_api() {
    let embedded = Embedded::start(0).await.unwrap();
    let single = bundled("api-tillitsrammeverk.yaml");
    let multi = multi_tenant(&single);
    for (id, flaws) in FLAWS {
        let flaw = format!("{flaws:?}");
        let s = if *id == "API-TENANCY-01" {
            &multi
        } else {
            &single
        };
        let url = reference_api(&embedded.issuer, s, flaws).await;
        let report = run(&embedded, s, &url, &[id]).await;
        let results = &report.scenarios[0].results;
        let base = results.iter().find(|r| r.id == "API-BASE-01").unwrap();
        assert_eq!(
            base.outcome,
            Outcome::Passed,
            "{id}/{flaw}: baseline {}",
            base.message
        );
        let r = results.iter().find(|r| r.id == *id).unwrap();
        // A should-check that finds its flaw warns; a must-check fails.
        let expected = match conformance::catalogue::find(id).unwrap().severity {
            conformance::catalogue::Severity::Should => Outcome::Warning,
            conformance::catalogue::Severity::Must => Outcome::Failed,
        };
        assert_eq!(r.outcome, expected, "{id} against {flaw}: {}", r.message);
        assert!(!r.evidence.is_empty(), "{id}: evidence");
        assert!(!report.passed || expected == Outcome::Warning, "{id}");
        // The same check passes against the correct API (the first test shows that for the
        // whole suite; here the pair is explicit).
    }
    // Every api check except the ones with hand-made targets (api_targets.rs) is covered.
    for c in conformance::catalogue::CHECKS {
        if c.id.starts_with("API-") && !["API-BASE-01", "API-5XX-01"].contains(&c.id) {
            assert!(
                FLAWS.iter().any(|(id, _)| *id == c.id),
                "{} has no flawed target",
                c.id
            );
        }
    }
}

/// `s` with its tokens issued to a supplier's multi-tenant client (an organisation named if
/// it names none).
fn multi_tenant(s: &Scenario) -> Scenario {
    let mut m = s.clone();
    m.name = format!("{} (multi-tenant)", s.name);
    m.requirements.tenancy = ClientTenancy::Multi;
    if m.requirements.organisations.is_empty() {
        m.requirements.organisations = vec!["999977774".into()];
    }
    scenario::validate(&m).unwrap();
    m
}

fn result<'r>(report: &'r Report, id: &str) -> &'r conformance::report::CheckResult {
    report.scenarios[0]
        .results
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no result for {id}"))
}

/// A claim of the baseline token, as the evidence of API-BASE-01 decodes it.
fn baseline_claim<'r>(report: &'r Report, claim: &str) -> &'r serde_json::Value {
    &result(report, "API-BASE-01").evidence[0].decoded[0].claims[claim]
}

#[tokio::test]
async fn every_bundled_api_scenario_passes_with_multi_tenant_tokens() {
    // The multi-tenant client's organisation goes into client credentials, the code
    // redemption, and (beside the attestation) the Tillitsrammeverk refresh.
    let embedded = Embedded::start(0).await.unwrap();
    let dir = format!("{}/../scenarios", env!("CARGO_MANIFEST_DIR"));
    for file in scenario::files(std::path::Path::new(&dir)).unwrap() {
        let s = scenario::load(&file).unwrap();
        if s.kind != scenario::Kind::Api {
            continue;
        }
        let s = multi_tenant(&s);
        let url = reference_api(&embedded.issuer, &s, &[]).await;
        let report = run(&embedded, &s, &url, &[]).await;
        for r in &report.scenarios[0].results {
            assert!(
                matches!(r.outcome, Outcome::Passed | Outcome::Skipped),
                "{}: {} {:?}: {}",
                s.name,
                r.id,
                r.outcome,
                r.message
            );
        }
        assert_eq!(
            result(&report, "API-TENANCY-01").outcome,
            Outcome::Passed,
            "{}",
            s.name
        );
        let org = &s.requirements.organisations[0];
        assert_eq!(
            baseline_claim(&report, protocol::claims::ORGNR_PARENT),
            org.as_str(),
            "{}",
            s.name
        );
        let supplier = baseline_claim(&report, protocol::claims::ORGNR_SUPPLIER);
        assert!(
            supplier.as_str().is_some_and(|x| x != org),
            "{}: supplier {supplier}",
            s.name
        );
        assert_eq!(
            baseline_claim(&report, protocol::claims::CLIENT_TENANCY),
            "multi-tenant"
        );
        if s.requirements.tillitsrammeverk {
            assert!(
                baseline_claim(&report, protocol::claims::TILLITSRAMMEVERK).is_object(),
                "{}: the attestation survived beside the organisation",
                s.name
            );
        }
    }
}

#[tokio::test]
async fn api_tenancy_01_judges_the_organisation_acted_for() {
    let embedded = Embedded::start(0).await.unwrap();
    let s = bundled("api-multi-tenant.yaml");
    assert_eq!(s.requirements.tenancy, ClientTenancy::Multi);
    let served = s.requirements.organisations[0].clone();

    let url = reference_api(&embedded.issuer, &s, &[]).await;
    let report = run(&embedded, &s, &url, &[]).await;
    assert!(report.passed);
    let r = result(&report, "API-TENANCY-01");
    assert_eq!(r.outcome, Outcome::Passed, "{}", r.message);
    // The forged token: another organisation acted for, the served one as supplier.
    let forged = &r.evidence[0].decoded[0].claims;
    assert_eq!(forged[protocol::claims::ORGNR_SUPPLIER], served.as_str());
    assert!(forged[protocol::claims::ORGNR_PARENT].is_string());
    assert_ne!(forged[protocol::claims::ORGNR_PARENT], served.as_str());
    assert!(forged.get(protocol::claims::ORGNR_CHILD).is_none());
    assert_eq!(r.evidence[0].status, Some(403));

    // An API that reads the supplier: API-TENANCY-01 fails; API-ORG-01 (whose token keeps
    // the real supplier, not served) does not see it.
    let url = reference_api(&embedded.issuer, &s, &[Flaw::SupplierOrganisation]).await;
    let report = run(&embedded, &s, &url, &[]).await;
    assert!(!report.passed);
    let r = result(&report, "API-TENANCY-01");
    assert_eq!(r.outcome, Outcome::Failed, "{}", r.message);
    assert!(r.message.contains("accepted with 200"), "{}", r.message);
    assert_eq!(result(&report, "API-ORG-01").outcome, Outcome::Passed);
    assert_eq!(result(&report, "API-BASE-01").outcome, Outcome::Passed);

    // An API that checks no organisation fails both.
    let url = reference_api(&embedded.issuer, &s, &[Flaw::SkipOrganisation]).await;
    let report = run(&embedded, &s, &url, &["helseid"]).await;
    assert_eq!(result(&report, "API-TENANCY-01").outcome, Outcome::Failed);
    assert_eq!(result(&report, "API-ORG-01").outcome, Outcome::Failed);

    // Single-tenant tokens: the check does not apply, whatever the API.
    for name in ["api-tillitsrammeverk.yaml", "api-system.yaml"] {
        let single = bundled(name);
        let url = reference_api(&embedded.issuer, &single, &[Flaw::SupplierOrganisation]).await;
        let report = run(&embedded, &single, &url, &[]).await;
        assert!(report.passed, "{name}");
        let r = result(&report, "API-TENANCY-01");
        assert_eq!(r.outcome, Outcome::Skipped, "{name}");
        assert!(r.message.contains("single"), "{name}: {}", r.message);
    }
}

#[tokio::test]
async fn a_bearer_api_that_takes_dpop_tokens_as_bearer_is_still_judged_on_bearer_checks() {
    // In a Bearer scenario the DPoP checks do not apply; the rest run.
    let embedded = Embedded::start(0).await.unwrap();
    let s = bundled("api-bearer.yaml");
    let url = reference_api(&embedded.issuer, &s, &[Flaw::SkipAudience]).await;
    let report = run(&embedded, &s, &url, &[]).await;
    let get = |id: &str| {
        report.scenarios[0]
            .results
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .outcome
    };
    assert_eq!(get("API-BASE-01"), Outcome::Passed);
    assert_eq!(get("API-DPOP-01"), Outcome::Skipped);
    assert_eq!(get("API-AUD-01"), Outcome::Failed);
    assert_eq!(get("API-EXP-01"), Outcome::Passed);
    assert!(!report.passed);
}

#[tokio::test]
async fn an_api_that_refuses_the_valid_token_makes_everything_else_inconclusive() {
    let embedded = Embedded::start(0).await.unwrap();
    let s = bundled("api-system.yaml");
    let mut wrong = s.clone();
    wrong.api.as_mut().unwrap().audience = "nhn:someone-else".into();
    wrong.api.as_mut().unwrap().scopes = vec!["nhn:someone-else/read".into()];
    // The API expects another audience than the scenario registers.
    let url = reference_api(&embedded.issuer, &wrong, &[]).await;
    let report = run(&embedded, &s, &url, &[]).await;
    let results = &report.scenarios[0].results;
    assert_eq!(results[0].id, "API-BASE-01");
    assert_eq!(results[0].outcome, Outcome::Failed);
    assert!(results[0].message.contains("401"), "{}", results[0].message);
    assert!(
        results[1..]
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Inconclusive | Outcome::Skipped))
    );
    assert!(!report.passed);
}
