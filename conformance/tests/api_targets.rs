//! The api suite against hand-made targets: one that accepts everything, one that answers a
//! server error to garbage, one that refuses with the wrong status. The reference API's
//! flaw-by-flaw tests are in api_reference.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use conformance::embedded::Embedded;
use conformance::report::{Outcome, Report};
use conformance::scenario::{self, Scenario};
use conformance::{Loaded, RunOptions};

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/records", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

fn scenario(yaml: &str) -> Scenario {
    scenario::parse(yaml, "test.yaml").unwrap()
}

async fn run(embedded: &Embedded, s: Scenario, target: &str, only: &[&str]) -> Report {
    let options = RunOptions {
        target: Some(target.to_owned()),
        only: only.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let loaded = vec![Loaded {
        scenario: s,
        source: "test.yaml".into(),
    }];
    conformance::run_on(embedded, &loaded, &options, &|_, _| {})
        .await
        .unwrap()
}

fn outcome(report: &Report, id: &str) -> Outcome {
    report.scenarios[0]
        .results
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no result for {id}"))
        .outcome
}

const EVERYTHING: &str = "name: everything\nkind: api\ntarget: {url: 'http://127.0.0.1:1/x'}\napi: {audience: 'nhn:t-api', scopes: ['nhn:t-api/read']}\nrequirements: {token_binding: dpop, security_level: 4, tillitsrammeverk: true, organisations: ['999977774'], tenancy: multi}\n";

#[tokio::test]
async fn an_api_that_accepts_everything_fails_every_refusal_check() {
    let embedded = Embedded::start(0).await.unwrap();
    let url = serve(Router::new().fallback(|| async { "ok" })).await;
    let report = run(&embedded, scenario(EVERYTHING), &url, &[]).await;
    assert!(!report.passed);
    let results = &report.scenarios[0].results;
    assert_eq!(outcome(&report, "API-BASE-01"), Outcome::Passed);
    for r in results {
        match r.id.as_str() {
            "API-BASE-01" => {}
            // Its expired token got 200: there is no 401 whose challenge could be judged.
            "API-WWW-01" => assert_eq!(r.outcome, Outcome::Inconclusive, "{r:?}"),
            _ => {
                // A should-check that finds its flaw warns.
                let expected = if r.severity == "should" {
                    Outcome::Warning
                } else {
                    Outcome::Failed
                };
                assert_eq!(r.outcome, expected, "{}: {}", r.id, r.message);
                assert!(!r.evidence.is_empty(), "{} has evidence", r.id);
                assert!(
                    r.message.contains("accepted with 200"),
                    "{}: {}",
                    r.id,
                    r.message
                );
            }
        }
    }
    // Every API check ran: nothing skipped with every requirement set.
    assert!(results.iter().all(|r| r.outcome != Outcome::Skipped));
    // The baseline was a real level-4 user token with the enriched attestation.
    let base = &results[0].evidence[0].decoded[0].claims;
    assert_eq!(base["helseid://claims/identity/security_level"], "4");
    assert_eq!(
        base["nhn:tillitsrammeverk:parameters"]["type"],
        "nhn:tillitsrammeverk:parameters"
    );
    assert_eq!(
        base["helseid://claims/client/claims/orgnr_parent"],
        "999977774"
    );
    // A supplier's multi-tenant client, acting for the served organisation.
    assert_eq!(
        base["helseid://claims/client/client_tenancy"],
        "multi-tenant"
    );
    let supplier = &base["helseid://claims/client/claims/orgnr_supplier"];
    assert!(
        supplier.as_str().is_some_and(|s| s != "999977774"),
        "{supplier}"
    );
    assert!(base["cnf"]["jkt"].is_string());
}

#[tokio::test]
async fn server_errors_and_wrong_refusal_statuses_fail() {
    let embedded = Embedded::start(0).await.unwrap();
    // Accepts the real token, answers 500 to anything it cannot parse and 400 to the rest.
    let baseline_only = |headers: HeaderMap| async move {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let token = auth.split_once(' ').map(|(_, t)| t).unwrap_or_default();
        let parts: Vec<&str> = token.split('.').collect();
        let parsed = parts.len() == 3
            && protocol::jose::b64_decode(parts[0])
                .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
                .is_some_and(|h| h.is_object());
        if !parsed {
            return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
        }
        if headers.get("dpop").is_none() || parts[2].is_empty() {
            return (StatusCode::BAD_REQUEST, "bad").into_response();
        }
        "ok".into_response()
    };
    let url = serve(Router::new().fallback(baseline_only)).await;
    let s = scenario(
        "name: t\nkind: api\ntarget: {url: 'http://127.0.0.1:1/x'}\napi: {audience: 'nhn:t-api'}\n",
    );
    let report = run(
        &embedded,
        s,
        &url,
        &["API-BASE-01", "API-5XX-01", "API-ALG-01", "API-DPOP-02"],
    )
    .await;
    let base = &report.scenarios[0].results[0];
    assert_eq!(base.outcome, Outcome::Passed, "{}", base.message);
    let five = report.scenarios[0]
        .results
        .iter()
        .find(|r| r.id == "API-5XX-01")
        .unwrap();
    assert_eq!(five.outcome, Outcome::Failed);
    assert!(five.message.contains("answered 500"), "{}", five.message);
    for id in ["API-ALG-01", "API-DPOP-02"] {
        let r = report.scenarios[0]
            .results
            .iter()
            .find(|r| r.id == id)
            .unwrap();
        assert_eq!(r.outcome, Outcome::Failed, "{id}");
        assert!(
            r.message.contains("answered 400; a refusal is 401 or 403"),
            "{id}: {}",
            r.message
        );
    }
    // Not selected: skipped, and the run does not count them.
    assert_eq!(outcome(&report, "API-AUD-01"), Outcome::Skipped);
}

#[tokio::test]
async fn an_unreachable_target_is_inconclusive_not_passed() {
    let embedded = Embedded::start(0).await.unwrap();
    let s = scenario(
        "name: t\nkind: api\ntarget: {url: 'http://127.0.0.1:1/x'}\napi: {audience: 'nhn:t-api'}\n",
    );
    let report = run(&embedded, s, "http://127.0.0.1:1/nothing-listens", &[]).await;
    assert!(!report.passed);
    assert_eq!(outcome(&report, "API-BASE-01"), Outcome::Inconclusive);
    assert_eq!(outcome(&report, "API-AUD-01"), Outcome::Inconclusive);
    assert_eq!(report.totals.passed, 0);
}
