//! The api suite against the reference API (reference/src/api.rs): the correct API passes every
//! bundled scenario, and each check fails against the reference API with the one flaw that
//! check exists to find.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use conformance::embedded::Embedded;
use conformance::report::{Outcome, Report};
use conformance::scenario::{self, ClientTenancy, Scenario};
use conformance::{Loaded, RunOptions};
use helseid_reference::api::Flaw;

/// Starts the reference API configured for what `s` requires, trusting `issuer`.
async fn reference_api(issuer: &str, s: &Scenario, flaws: &[Flaw]) -> String {
    let config = conformance::api::reference_api_config(s, issuer).unwrap();
    serve_api(config, flaws).await
}

async fn serve_api(mut config: helseid_reference::api::ApiConfig, flaws: &[Flaw]) -> String {
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

/// The scenario a check is shown failing in: the strictest bundled one unless the check
/// needs another to see its flaw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    /// api-tillitsrammeverk.yaml: DPoP, level 4, the attestation, a named organisation.
    Strict,
    /// The same with a supplier's multi-tenant client (the only kind API-TENANCY-01 applies
    /// to).
    MultiTenant,
    /// A Bearer API that requires no scope: the only kind of API an ID token could get
    /// into at all (a DPoP API refuses it unbound, a scope check for its missing scope).
    PlainBearer,
    /// An API that needs a logged-in user at no particular level (`requirements.user`).
    AnyUser,
}

/// Each check, the reference API's flaws it must find, and where.
const FLAWS: &[(&str, &[Flaw], On)] = &[
    ("API-AUTH-01", &[Flaw::NoWwwAuthenticate], On::Strict),
    ("API-EXP-01", &[Flaw::SkipExpiry], On::Strict),
    ("API-NBF-01", &[Flaw::SkipNotBefore], On::Strict),
    ("API-ISS-01", &[Flaw::SkipIssuer], On::Strict),
    ("API-AUD-01", &[Flaw::SkipAudience], On::Strict),
    ("API-AUD-02", &[Flaw::AcceptMissingAudience], On::Strict),
    ("API-AUD-03", &[Flaw::AcceptSeveralAudiences], On::Strict),
    ("API-SCOPE-01", &[Flaw::SkipScope], On::Strict),
    ("API-ALG-01", &[Flaw::AcceptAlgNone], On::Strict),
    ("API-ALG-02", &[Flaw::AcceptHs256WithPublicKey], On::Strict),
    // An API that, for a kid it does not know, verifies nothing.
    (
        "API-KID-01",
        &[Flaw::AcceptUnknownKid, Flaw::SkipSignature],
        On::Strict,
    ),
    ("API-SIG-01", &[Flaw::SkipSignature], On::Strict),
    ("API-SIG-02", &[Flaw::SkipSignature], On::Strict),
    ("API-TYP-01", &[Flaw::SkipTyp], On::Strict),
    ("API-TYP-02", &[Flaw::AcceptMissingTyp], On::Strict),
    // Not a hole but a refusal too many: RFC 9068's at+jwt only.
    ("API-TYP-03", &[Flaw::OnlyAtJwt], On::Strict),
    // An API that checks no audience and does not need client_id (RFC 9068 §2.2), which an
    // ID token lacks.
    (
        "API-IDT-01",
        &[Flaw::SkipAudience, Flaw::SkipClientId],
        On::PlainBearer,
    ),
    ("API-DPOP-01", &[Flaw::AcceptDpopTokenAsBearer], On::Strict),
    ("API-DPOP-02", &[Flaw::SkipDpopProof], On::Strict),
    ("API-DPOP-03", &[Flaw::SkipProofHtm], On::Strict),
    ("API-DPOP-04", &[Flaw::SkipProofHtu], On::Strict),
    ("API-DPOP-05", &[Flaw::SkipProofAth], On::Strict),
    ("API-DPOP-06", &[Flaw::SkipProofReplay], On::Strict),
    ("API-DPOP-07", &[Flaw::SkipProofKeyBinding], On::Strict),
    ("API-DPOP-08", &[Flaw::SkipProofIat], On::Strict),
    // An API that looks neither at who logged in nor at the level.
    (
        "API-USER-01",
        &[Flaw::SkipUser, Flaw::SkipSecurityLevel],
        On::AnyUser,
    ),
    ("API-LEVEL-01", &[Flaw::SkipSecurityLevel], On::Strict),
    ("API-TR-01", &[Flaw::SkipTillitsrammeverk], On::Strict),
    ("API-TR-02", &[Flaw::SkipTillitsrammeverkShape], On::Strict),
    ("API-ORG-01", &[Flaw::SkipOrganisation], On::Strict),
    (
        "API-TENANCY-01",
        &[Flaw::SupplierOrganisation],
        On::MultiTenant,
    ),
    ("API-WWW-01", &[Flaw::NoWwwAuthenticate], On::Strict),
];

fn scenario_for(on: On) -> Scenario {
    let strict = bundled("api-tillitsrammeverk.yaml");
    match on {
        On::Strict => strict,
        On::MultiTenant => multi_tenant(&strict),
        On::PlainBearer => {
            let mut s = bundled("api-bearer.yaml");
            s.name = "Bearer API without scopes".into();
            s.api.as_mut().unwrap().scopes.clear();
            scenario::validate(&s).unwrap();
            s
        }
        On::AnyUser => {
            let mut s = bundled("api-user-level4.yaml");
            s.name = "User API at any level".into();
            s.requirements.security_level = None;
            s.requirements.user = true;
            scenario::validate(&s).unwrap();
            s
        }
    }
}

#[tokio::test]
async fn every_check_finds_its_flaw_in_the_reference_api() {
    let embedded = Embedded::start(0).await.unwrap();
    for (id, flaws, on) in FLAWS {
        let flaw = flaws
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(" + ");
        let s = scenario_for(*on);
        let url = reference_api(&embedded.issuer, &s, flaws).await;
        let report = run(&embedded, &s, &url, &[id]).await;
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
        // The same check passes against the correct API: the first test shows that for the
        // bundled scenarios, this for the ones made here.
        if !matches!(on, On::Strict | On::MultiTenant) {
            let url = reference_api(&embedded.issuer, &s, &[]).await;
            let report = run(&embedded, &s, &url, &[id]).await;
            let r = result(&report, id);
            assert_eq!(r.outcome, Outcome::Passed, "{id} on {on:?}: {}", r.message);
        }
    }
    // Every api check except the ones with hand-made targets (api_targets.rs) is covered.
    for c in conformance::catalogue::CHECKS {
        if c.id.starts_with("API-") && !["API-BASE-01", "API-5XX-01"].contains(&c.id) {
            assert!(
                FLAWS.iter().any(|(id, _, _)| *id == c.id),
                "{} has no flawed target",
                c.id
            );
        }
    }
}

/// An API may demand a nonce of its own in DPoP proofs (RFC 9449 §9). The runner follows the
/// challenge as a client must, so such an API passes every check, and its flaws are still
/// found.
#[tokio::test]
async fn an_api_that_demands_dpop_nonces_is_judged_like_any_other() {
    let embedded = Embedded::start(0).await.unwrap();
    let s = scenario_for(On::Strict);
    let config = || {
        conformance::api::reference_api_config(&s, &embedded.issuer)
            .unwrap()
            .with_dpop_nonce()
    };
    let url = serve_api(config(), &[]).await;
    let report = run(&embedded, &s, &url, &[]).await;
    for r in &report.scenarios[0].results {
        assert!(
            matches!(r.outcome, Outcome::Passed | Outcome::Skipped),
            "{} {:?}: {}",
            r.id,
            r.outcome,
            r.message
        );
    }
    assert!(report.passed);
    // The baseline shows the round trip: the request that counted carried the API's nonce.
    let base = result(&report, "API-BASE-01");
    let e = &base.evidence[0];
    assert!(e.label.contains("use_dpop_nonce"), "{}", e.label);
    let proof = e.decoded.iter().find(|d| d.what == "DPoP proof").unwrap();
    assert!(proof.claims["nonce"].is_string(), "{}", proof.claims);

    for (id, flaw) in [
        ("API-DPOP-06", Flaw::SkipProofReplay),
        ("API-DPOP-08", Flaw::SkipProofIat),
        ("API-EXP-01", Flaw::SkipExpiry),
    ] {
        let url = serve_api(config(), &[flaw]).await;
        let report = run(&embedded, &s, &url, &[id]).await;
        let r = result(&report, id);
        let expected = match conformance::catalogue::find(id).unwrap().severity {
            conformance::catalogue::Severity::Should => Outcome::Warning,
            conformance::catalogue::Severity::Must => Outcome::Failed,
        };
        assert_eq!(r.outcome, expected, "{id} against {flaw:?}: {}", r.message);
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
        .result(id)
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

/// The tokens of the new checks differ from the baseline in the one way they name, and the
/// correct API refuses each for that reason (its error_description says which).
#[tokio::test]
async fn typ_idt_aud_and_user_checks_send_what_they_say() {
    let embedded = Embedded::start(0).await.unwrap();
    let s = bundled("api-tillitsrammeverk.yaml");
    let url = reference_api(&embedded.issuer, &s, &[]).await;
    let report = run(&embedded, &s, &url, &[]).await;
    assert!(report.passed);
    let base = &result(&report, "API-BASE-01").evidence[0].decoded[0];
    let client_id = base.claims["client_id"].as_str().unwrap();
    let refusal = |id: &str, i: usize| {
        let r = result(&report, id);
        assert_eq!(r.outcome, Outcome::Passed, "{id}: {}", r.message);
        let e = &r.evidence[i];
        assert!(matches!(e.status, Some(401 | 403)), "{id}: {e:?}");
        (e.decoded[0].clone(), e.response_body.clone())
    };

    // API-TYP-01: dpop+jwt and id_token+jwt, each refused for its typ.
    for (i, typ) in conformance::api::REFUSED_TYPS.iter().enumerate() {
        let (token, body) = refusal("API-TYP-01", i);
        assert_eq!(token.header["typ"], *typ);
        assert_eq!(token.claims, base.claims);
        assert!(body.contains("has typ"), "{body}");
    }
    let (token, body) = refusal("API-TYP-02", 0);
    assert!(token.header.get("typ").is_none());
    assert!(body.contains("no typ"), "{body}");

    // API-IDT-01: the login's real ID token, for the client; refused for its audience.
    let (token, body) = refusal("API-IDT-01", 0);
    assert_eq!(token.header["typ"], "JWT");
    assert_eq!(token.claims["aud"], client_id);
    assert_eq!(token.claims["iss"], embedded.issuer.as_str());
    assert!(token.claims["nonce"].is_string());
    assert!(body.contains("audience"), "{body}");

    let (token, body) = refusal("API-AUD-02", 0);
    assert!(token.claims.get("aud").is_none());
    assert!(body.contains("no aud"), "{body}");
    let (token, body) = refusal("API-AUD-03", 0);
    assert_eq!(
        token.claims["aud"],
        serde_json::json!([s.api.as_ref().unwrap().audience, "nhn:another-api"])
    );
    assert!(body.contains("several audiences"), "{body}");

    // API-USER-01: a client-credentials token the STS issued to the same client, with the
    // attestation and the binding, but no user.
    let (token, body) = refusal("API-USER-01", 0);
    assert_eq!(token.claims["client_id"], client_id);
    assert_eq!(token.claims["cnf"], base.claims["cnf"]);
    assert_eq!(token.claims["aud"], base.claims["aud"]);
    assert!(token.claims[protocol::claims::TILLITSRAMMEVERK].is_object());
    for user_claim in [
        "sub",
        protocol::claims::PID,
        protocol::claims::HPR_NUMBER,
        protocol::claims::SECURITY_LEVEL,
    ] {
        assert!(base.claims.get(user_claim).is_some(), "{user_claim}");
        assert!(token.claims.get(user_claim).is_none(), "{user_claim}");
    }
    assert!(body.contains("names no user"), "{body}");

    // API-DPOP-08: an hour old.
    let r = result(&report, "API-DPOP-08");
    let proof = &r.evidence[0].decoded[1];
    let iat = proof.claims["iat"].as_i64().unwrap();
    assert!(conformance::now() - iat >= 3600, "{iat}");
}

/// An ID token presented at a system API (no login in the baseline) comes from a login made
/// for the check.
#[tokio::test]
async fn api_idt_01_logs_in_for_a_system_api() {
    let embedded = Embedded::start(0).await.unwrap();
    let s = bundled("api-system.yaml");
    let url = reference_api(&embedded.issuer, &s, &[]).await;
    let report = run(&embedded, &s, &url, &["API-IDT-01", "API-USER-01"]).await;
    let r = result(&report, "API-IDT-01");
    assert_eq!(r.outcome, Outcome::Passed, "{}", r.message);
    let token = &r.evidence[0].decoded[0];
    assert_eq!(token.header["typ"], "JWT");
    assert!(token.claims[protocol::claims::PID].is_string());
    // A system API needs no user: API-USER-01 does not apply.
    let u = result(&report, "API-USER-01");
    assert_eq!(u.outcome, Outcome::Skipped);
    assert!(u.message.contains("logged-in user"), "{}", u.message);
}

/// Challenges written another legal way (RFC 9110 §11.6.1, §11.2): all in one header value,
/// the other scheme first, parameters as tokens, not quoted strings. API-AUTH-01 and
/// API-WWW-01 read them as challenges, not as text.
#[tokio::test]
async fn challenges_in_one_header_value_and_unquoted_parameters_pass() {
    use axum::http::{HeaderValue, header::WWW_AUTHENTICATE};
    use axum::response::Response;

    async fn rewrite(mut response: Response) -> Response {
        let values: Vec<String> = response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| {
                // `error="invalid_token"` → `error=invalid_token`; the description dropped.
                let v = v.split(", error_description=").next().unwrap_or(v);
                v.replace("error=\"", "error=")
                    .replace("_token\"", "_token")
            })
            .rev()
            .collect();
        if !values.is_empty() {
            let joined = format!("{}, Bearer realm=\"api\"", values.join(", "));
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_str(&joined).unwrap());
        }
        response
    }

    let embedded = Embedded::start(0).await.unwrap();
    for file in ["api-bearer.yaml", "api-system.yaml"] {
        let s = bundled(file);
        let config = conformance::api::reference_api_config(&s, &embedded.issuer).unwrap();
        let state = helseid_reference::api::ApiState::new(config).unwrap();
        let app =
            helseid_reference::api::router(state).layer(axum::middleware::map_response(rewrite));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/records", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let report = run(&embedded, &s, &url, &["API-AUTH-01", "API-WWW-01"]).await;
        for id in ["API-AUTH-01", "API-WWW-01"] {
            let r = result(&report, id);
            assert_eq!(r.outcome, Outcome::Passed, "{file} {id}: {}", r.message);
        }
        // What the target sent is what was judged: one value, no quotes around the error.
        let www = &result(&report, "API-WWW-01").evidence[0];
        let sent: Vec<&str> = www
            .response_headers
            .iter()
            .filter(|(k, _)| k == "www-authenticate")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(sent[0].contains("error=invalid_token"), "{sent:?}");
    }
}

/// A user token carries both levels, as HelseID's samples ask for them: an API may judge
/// `security_level` or `assurance_level` (reference §12.1), and either must see the level.
#[tokio::test]
async fn user_tokens_carry_security_and_assurance_level() {
    let embedded = Embedded::start(0).await.unwrap();
    let s = bundled("api-user-level4.yaml");
    let url = reference_api(&embedded.issuer, &s, &[]).await;
    let report = run(&embedded, &s, &url, &["API-BASE-01"]).await;
    assert_eq!(result(&report, "API-BASE-01").outcome, Outcome::Passed);
    assert_eq!(
        baseline_claim(&report, protocol::claims::SECURITY_LEVEL),
        "4"
    );
    assert_eq!(
        baseline_claim(&report, protocol::claims::ASSURANCE_LEVEL),
        "high"
    );
}

/// The attestation's employer (`legal_entity`) is the organisation the token is for, so an
/// API that compares them sees one story.
#[tokio::test]
async fn the_attestation_names_the_organisation_the_token_is_for() {
    let embedded = Embedded::start(0).await.unwrap();
    for s in [
        bundled("api-tillitsrammeverk.yaml"),
        multi_tenant(&bundled("api-tillitsrammeverk.yaml")),
    ] {
        let url = reference_api(&embedded.issuer, &s, &[]).await;
        let checks = ["API-BASE-01", "API-ORG-01", "API-TENANCY-01"];
        let report = run(&embedded, &s, &url, &checks).await;
        assert_eq!(result(&report, "API-BASE-01").outcome, Outcome::Passed);
        let org = baseline_claim(&report, protocol::claims::ORGNR_PARENT).clone();
        assert_eq!(s.requirements.organisations[0], org.as_str().unwrap());
        // The valid token, and the tokens for another organisation, each tell one story.
        for id in checks {
            let r = result(&report, id);
            if r.outcome == Outcome::Skipped {
                continue;
            }
            assert_eq!(r.outcome, Outcome::Passed, "{id}: {}", r.message);
            let claims = &r.evidence[0].decoded[0].claims;
            let attestation: serde_json::Value = match &claims[protocol::claims::TILLITSRAMMEVERK] {
                serde_json::Value::String(text) => serde_json::from_str(text).unwrap(),
                other => other.clone(),
            };
            assert_eq!(
                attestation["practitioner"]["legal_entity"]["id"],
                claims[protocol::claims::ORGNR_PARENT],
                "{id}: {attestation}"
            );
        }
    }
}

/// RFC 6750 §3.1 lets an API answer a request missing a required parameter with 400
/// `invalid_request`: for a DPoP token without its proof that is a refusal. Another 400 is
/// not.
#[tokio::test]
async fn a_missing_proof_may_be_refused_with_400_invalid_request() {
    use axum::extract::Request;
    use axum::middleware::Next;
    use axum::response::{IntoResponse, Response};

    async fn bad_request(error: &'static str, request: Request, next: Next) -> Response {
        let dpop = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("DPoP "));
        if dpop && !request.headers().contains_key("dpop") {
            let body = axum::Json(serde_json::json!({ "error": error }));
            return (axum::http::StatusCode::BAD_REQUEST, body).into_response();
        }
        next.run(request).await
    }

    let embedded = Embedded::start(0).await.unwrap();
    let s = bundled("api-system.yaml");
    for (error, expected) in [
        ("invalid_request", Outcome::Passed),
        ("invalid_token", Outcome::Failed),
    ] {
        let config = conformance::api::reference_api_config(&s, &embedded.issuer).unwrap();
        let state = helseid_reference::api::ApiState::new(config).unwrap();
        let app = helseid_reference::api::router(state).layer(axum::middleware::from_fn(
            move |r: Request, n: Next| bad_request(error, r, n),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/records", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let report = run(&embedded, &s, &url, &["API-DPOP-02"]).await;
        let r = result(&report, "API-DPOP-02");
        assert_eq!(r.outcome, expected, "{error}: {}", r.message);
    }
}
