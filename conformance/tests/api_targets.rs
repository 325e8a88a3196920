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
    result(report, id).outcome
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
            // The one check of a token that must be accepted.
            "API-TYP-03" => assert_eq!(r.outcome, Outcome::Passed, "{r:?}"),
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

/// Accepts a token whose JOSE header is a JSON object (the baseline), refuses other tokens
/// with 401, and answers an Authorization header over 8 KB with `big`.
async fn header_limit_target(big: StatusCode) -> String {
    let app = Router::new().fallback(move |headers: HeaderMap| async move {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if auth.len() > 8 * 1024 {
            return (big, "too big").into_response();
        }
        if jose_header_is_object(&auth) {
            "ok".into_response()
        } else {
            (
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", "DPoP")],
                "no",
            )
                .into_response()
        }
    });
    serve(app).await
}

fn jose_header_is_object(authorization: &str) -> bool {
    let token = authorization
        .split_once(' ')
        .map(|(_, t)| t)
        .unwrap_or_default();
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && protocol::jose::b64_decode(parts[0])
            .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
            .is_some_and(|h| h.is_object())
}

const PLAIN: &str =
    "name: t\nkind: api\ntarget: {url: 'http://127.0.0.1:1/x'}\napi: {audience: 'nhn:t-api'}\n";

fn result<'r>(report: &'r Report, id: &str) -> &'r conformance::report::CheckResult {
    report.scenarios[0]
        .result(id)
        .unwrap_or_else(|| panic!("no result for {id}"))
}

#[tokio::test]
async fn a_16_kb_token_refused_with_431_passes_and_with_500_fails() {
    let embedded = Embedded::start(0).await.unwrap();
    // 431 Request Header Fields Too Large, as Node answers a header over 16 KiB: a refusal.
    let url = header_limit_target(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;
    let report = run(&embedded, scenario(PLAIN), &url, &["API-5XX-01"]).await;
    let r = result(&report, "API-5XX-01");
    assert_eq!(r.outcome, Outcome::Passed, "{}", r.message);
    assert!(r.message.contains("431"), "{}", r.message);
    assert_eq!(r.evidence.last().unwrap().status, Some(431));
    assert!(report.passed);

    // A server error for the same token fails.
    let url = header_limit_target(StatusCode::INTERNAL_SERVER_ERROR).await;
    let report = run(&embedded, scenario(PLAIN), &url, &["API-5XX-01"]).await;
    let r = result(&report, "API-5XX-01");
    assert_eq!(r.outcome, Outcome::Failed, "{}", r.message);
    assert!(
        r.message.contains("a 16 KB token: answered 500"),
        "{}",
        r.message
    );
    assert!(!report.passed);
}

/// What a raw HTTP target does with a request head over 16 KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnBig {
    /// Writes 431 and closes without reading the rest (Node's way): the client may see the
    /// 431 or a reset connection.
    Answer431AndClose,
    /// Closes without an answer and keeps serving.
    Drop,
    /// Closes without an answer and stops listening: a crash.
    Crash,
}

/// A one-request-per-connection HTTP/1.1 server: the baseline gets 200, other tokens 401, a
/// request head over 16 KiB what `on_big` says.
async fn raw_target(on_big: OnBig) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const LIMIT: usize = 16 * 1024;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/records", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut chunk = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() <= LIMIT {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&chunk[..n]),
                }
            }
            if head.len() > LIMIT {
                match on_big {
                    OnBig::Answer431AndClose => {
                        let _ = socket
                            .write_all(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .await;
                        drop(socket);
                        continue;
                    }
                    OnBig::Drop => {
                        drop(socket);
                        continue;
                    }
                    OnBig::Crash => return,
                }
            }
            let text = String::from_utf8_lossy(&head);
            let auth = text
                .lines()
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                        .map(|(_, v)| v.trim().to_owned())
                })
                .unwrap_or_default();
            let status = if jose_header_is_object(&auth) {
                "200 OK"
            } else {
                "401 Unauthorized"
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\nWWW-Authenticate: DPoP\r\n\r\n"
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    url
}

#[tokio::test]
async fn a_connection_closed_on_a_16_kb_token_fails_only_if_the_api_crashed() {
    let embedded = Embedded::start(0).await.unwrap();
    for on_big in [OnBig::Answer431AndClose, OnBig::Drop, OnBig::Crash] {
        let url = raw_target(on_big).await;
        let report = run(&embedded, scenario(PLAIN), &url, &["API-5XX-01"]).await;
        assert_eq!(
            result(&report, "API-BASE-01").outcome,
            Outcome::Passed,
            "{on_big:?}"
        );
        let r = result(&report, "API-5XX-01");
        // Every garbage token's exchange is in the evidence, the 16 KB one last (and, when
        // its connection was closed, the request that asked whether the API still answers).
        assert!(r.evidence.len() >= 5, "{on_big:?}: {:?}", r.evidence);
        assert!(
            r.evidence[..4].iter().all(|e| e.status == Some(401)),
            "{on_big:?}"
        );
        match on_big {
            OnBig::Answer431AndClose => {
                assert_eq!(r.outcome, Outcome::Passed, "{on_big:?}: {}", r.message)
            }
            OnBig::Drop => {
                assert_eq!(r.outcome, Outcome::Passed, "{on_big:?}: {}", r.message);
                assert!(
                    r.message.contains("closed without an answer"),
                    "{}",
                    r.message
                );
                assert_eq!(r.evidence.last().unwrap().status, Some(401));
            }
            OnBig::Crash => {
                assert_eq!(r.outcome, Outcome::Failed, "{on_big:?}: {}", r.message);
                assert!(r.message.contains("crashed"), "{}", r.message);
            }
        }
    }
}

/// An API that refuses the valid token is told the likely causes: the key the token is
/// signed with, and, when its answer is about `sub`, that client-credentials tokens have none.
#[tokio::test]
async fn a_refused_baseline_names_the_key_and_the_sub_pitfall() {
    let embedded = Embedded::start(0).await.unwrap();
    // What an RFC 9068-strict validator (oauth4webapi's validateJwtAccessToken) answers.
    let strict = Router::new().fallback(|| async {
        (
            StatusCode::UNAUTHORIZED,
            [(
                "www-authenticate",
                r#"DPoP error="invalid_token", error_description="JWT \"sub\" (subject) claim missing""#,
            )],
            "",
        )
            .into_response()
    });
    let url = serve(strict).await;
    let report = run(&embedded, scenario(PLAIN), &url, &[]).await;
    let r = result(&report, "API-BASE-01");
    assert_eq!(r.outcome, Outcome::Failed);
    let kid = embedded.sts.keys().unwrap().active.kid.clone();
    for needle in [
        "answered with 401",
        "claim missing",
        &format!("signed with key {kid}"),
        "older JWKS",
        "carry no sub",
        "validateJwtAccessToken",
    ] {
        assert!(r.message.contains(needle), "{needle}: {}", r.message);
    }
    // No Rust debug rendering in the verdict.
    assert!(!r.message.contains("Some("), "{}", r.message);

    // An answer that is not about sub gets no word about it.
    let other = Router::new()
        .fallback(|| async { (StatusCode::FORBIDDEN, "subject unknown").into_response() });
    let url = serve(other).await;
    let report = run(&embedded, scenario(PLAIN), &url, &[]).await;
    let r = result(&report, "API-BASE-01");
    assert!(r.message.contains("body: subject unknown"), "{}", r.message);
    assert!(
        r.message.contains("no WWW-Authenticate header"),
        "{}",
        r.message
    );
    assert!(!r.message.contains("carry no sub"), "{}", r.message);
}
