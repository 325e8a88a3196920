//! The report formats, snapshot-tested on a fixed report (live runs have volatile ports, keys
//! and times; the suite tests cover those).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use conformance::catalogue;
use conformance::report::{
    CheckResult, DecodedToken, Exchange, FailOn, Outcome, Report, ScenarioReport,
};
use serde_json::json;

fn fixed() -> Report {
    let check = |id: &str| catalogue::find(id).unwrap();
    let mut base = CheckResult::new(check("API-BASE-01"), Outcome::Passed, "accepted with 200");
    base.duration_ms = 12;
    let mut aud = CheckResult::new(
        check("API-AUD-01"),
        Outcome::Failed,
        "a token for another audience is refused: accepted with 200",
    );
    aud.duration_ms = 8;
    aud.evidence.push(Exchange {
        label: "a token for another audience is refused".into(),
        method: "GET".into(),
        url: "http://127.0.0.1:9000/api/records".into(),
        request_headers: vec![
            (
                "Authorization".into(),
                "DPoP eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJuaG46YW5vdGhlci1hcGkifQ.c2ln".into(),
            ),
            ("DPoP".into(), "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.c2ln".into()),
        ],
        request_body: None,
        decoded: vec![DecodedToken {
            what: "access token".into(),
            header: json!({"alg": "RS256", "kid": "ABC", "typ": "at+jwt"}),
            claims: json!({"aud": "nhn:another-api", "iss": "http://127.0.0.1:8080", "scope": ["nhn:conformance-api/read"]}),
        }],
        status: Some(200),
        response_headers: vec![("content-type".into(), "application/json".into())],
        response_body: "{\"ok\":true}".into(),
        error: None,
    });
    let mut www = CheckResult::new(
        check("API-WWW-01"),
        Outcome::Warning,
        "expected WWW-Authenticate: DPoP error=\"invalid_token\", got []",
    );
    www.evidence.push(Exchange {
        label: "an expired token <script>".into(),
        method: "GET".into(),
        url: "http://127.0.0.1:9000/api/records".into(),
        status: None,
        error: Some("connection refused".into()),
        ..Default::default()
    });
    let level = CheckResult::new(
        check("API-LEVEL-01"),
        Outcome::Skipped,
        "does not apply: the API does not require security level 4",
    );
    let sig = CheckResult::new(
        check("API-SIG-01"),
        Outcome::Inconclusive,
        "the valid token was not accepted (API-BASE-01), so a refusal proves nothing",
    );
    Report::new(
        vec![ScenarioReport {
            name: "System API (client credentials, DPoP)".into(),
            source: "scenarios/api-system.yaml".into(),
            kind: "api".into(),
            target: "GET http://127.0.0.1:9000/api/records".into(),
            issuer: "http://127.0.0.1:8080".into(),
            kid: "ABC".into(),
            started_at: 1_800_000_000,
            duration_ms: 20,
            results: vec![base, aud, www, level, sig],
        }],
        FailOn::Must,
    )
}

#[test]
fn totals_and_verdict() {
    let r = fixed();
    assert_eq!(r.totals.passed, 1);
    assert_eq!(r.totals.failed, 1);
    assert_eq!(r.totals.warning, 1);
    assert_eq!(r.totals.skipped, 1);
    assert_eq!(r.totals.inconclusive, 1);
    assert!(!r.passed);
    // Only passes and warnings: the run passes unless --fail-on should.
    let mut only_warn = fixed();
    only_warn.scenarios[0]
        .results
        .retain(|c| matches!(c.outcome, Outcome::Passed | Outcome::Warning));
    let s = only_warn.scenarios.clone();
    assert!(Report::new(s.clone(), FailOn::Must).passed);
    assert!(!Report::new(s, FailOn::Should).passed);
    // An inconclusive should-check (a 403 left API-WWW-01 no challenge to judge) does not
    // fail the run; an inconclusive must-check does.
    let mut s = only_warn.scenarios.clone();
    s[0].results.push(CheckResult::new(
        catalogue::find("API-WWW-01").unwrap(),
        Outcome::Inconclusive,
        "the expired token got 403, not 401; nothing to judge",
    ));
    assert!(Report::new(s.clone(), FailOn::Must).passed);
    assert!(!Report::new(s.clone(), FailOn::Should).passed);
    let xml = conformance::junit::render(&Report::new(s.clone(), FailOn::Must)).unwrap();
    assert!(xml.contains("inconclusive (should)"), "{xml}");
    assert!(!xml.contains("<error"), "{xml}");
    s[0].results.push(CheckResult::new(
        catalogue::find("API-SIG-01").unwrap(),
        Outcome::Inconclusive,
        "the target could not be reached",
    ));
    assert!(!Report::new(s, FailOn::Must).passed);
}

#[test]
fn json_report() {
    insta::assert_snapshot!(
        fixed()
            .to_json()
            .replace(env!("CARGO_PKG_VERSION"), "[version]")
    );
}

#[test]
fn junit_report() {
    let xml = conformance::junit::render(&fixed()).unwrap();
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains("<skipped"), "{xml}");
    assert!(xml.contains("<error"), "{xml}");
    insta::assert_snapshot!(xml.replace(env!("CARGO_PKG_VERSION"), "[version]"));
}

#[test]
fn html_report_is_self_contained_and_escaped() {
    let html = conformance::html::render(&fixed()).unwrap();
    assert!(!html.contains("<script"), "evidence text is escaped");
    assert!(html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"));
    assert!(!html.contains("src=\"http"), "no external assets");
    assert!(html.contains("<details>"));
    assert!(html.contains("Not conformant"));
    insta::assert_snapshot!(html.replace(env!("CARGO_PKG_VERSION"), "[version]"));
}

#[test]
fn terminal_summary() {
    let text = conformance::terminal::summary(&fixed());
    let plain = strip_ansi(&text);
    assert!(plain.contains("NOT CONFORMANT"));
    insta::assert_snapshot!(plain);
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for n in chars.by_ref() {
                if n.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
