//! JUnit XML for CI systems: one test suite per scenario, one test case per check. Failed
//! must-checks are failures; should-check warnings are passed test cases with the warning in
//! system-out (CI systems have no "warning"); skipped checks are skipped; inconclusive
//! must-checks are errors (the run could not decide, which CI must not take for a pass), an
//! inconclusive should-check is skipped with its reason (it does not fail the run).

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report as JUnit, TestCase, TestCaseStatus, TestSuite};

use crate::report::{CheckResult, Outcome, Report};

pub fn render(report: &Report) -> Result<String, String> {
    let mut junit = JUnit::new("helseid-testbed conformance");
    let mut total = 0;
    for s in &report.scenarios {
        let mut suite = TestSuite::new(s.name.clone());
        suite.set_time(Duration::from_millis(s.duration_ms));
        suite.add_property(Property::new("source", s.source.clone()));
        suite.add_property(Property::new("target", s.target.clone()));
        suite.add_property(Property::new("issuer", s.issuer.clone()));
        for r in &s.results {
            suite.add_test_case(case(r, &s.kind));
        }
        total += s.duration_ms;
        junit.add_test_suite(suite);
    }
    junit.set_time(Duration::from_millis(total));
    junit.to_string().map_err(|e| e.to_string())
}

fn case(r: &CheckResult, kind: &str) -> TestCase {
    let text = format!(
        "{}\n{}\nRule: {}: {}\n{}",
        r.message, r.requirement, r.source, r.rule, r.link
    );
    let status = match r.outcome {
        Outcome::Passed | Outcome::Warning => TestCaseStatus::success(),
        Outcome::Failed => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(r.message.clone());
            s.set_type(r.severity.clone());
            s.set_description(format!("{text}\n\n{}", evidence_text(r)));
            s
        }
        Outcome::Inconclusive if !r.is_must() => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("inconclusive (should): {}", r.message));
            s
        }
        Outcome::Inconclusive => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(format!("inconclusive: {}", r.message));
            s.set_type("inconclusive");
            s
        }
        Outcome::Skipped => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(r.message.clone());
            s
        }
    };
    let mut case = TestCase::new(format!("{} {}", r.id, r.title), status);
    case.set_classname(format!("conformance.{kind}.{}", r.group));
    case.set_time(Duration::from_millis(r.duration_ms));
    if r.outcome == Outcome::Warning {
        case.set_system_out(format!("WARNING (should): {text}"));
    }
    case
}

/// The evidence as plain text, for CI logs.
pub fn evidence_text(r: &CheckResult) -> String {
    let mut out = String::new();
    for e in &r.evidence {
        out.push_str(&format!("--- {}\n{} {}\n", e.label, e.method, e.url));
        for (k, v) in &e.request_headers {
            out.push_str(&format!("{k}: {}\n", shorten(v)));
        }
        if let Some(body) = &e.request_body {
            out.push_str(&format!("{body}\n"));
        }
        for d in &e.decoded {
            out.push_str(&format!(
                "{}: header {} claims {}\n",
                d.what, d.header, d.claims
            ));
        }
        match (e.status, &e.error) {
            (Some(s), _) => {
                out.push_str(&format!("=> {s}\n"));
                for (k, v) in &e.response_headers {
                    out.push_str(&format!("{k}: {v}\n"));
                }
                if !e.response_body.is_empty() {
                    out.push_str(&format!("{}\n", e.response_body));
                }
            }
            (None, Some(err)) => out.push_str(&format!("=> no response: {err}\n")),
            (None, None) => out.push_str("=> no response\n"),
        }
    }
    out
}

fn shorten(v: &str) -> String {
    if v.len() > 120 {
        let mut end = 100;
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}… ({} chars)", &v[..end], v.len())
    } else {
        v.to_owned()
    }
}
