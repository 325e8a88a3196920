//! Results and the report model. The JSON report is this model serialised; its schema is
//! published as `schemas/report.schema.json`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::{Check, Severity};

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    /// A must-check found the flaw.
    Failed,
    /// A should-check found the flaw.
    Warning,
    /// It does not apply to this scenario, or was deselected.
    Skipped,
    /// It could not decide (the baseline failed, or the target could not be reached).
    Inconclusive,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Warning => "warning",
            Outcome::Skipped => "skipped",
            Outcome::Inconclusive => "inconclusive",
        }
    }
}

/// One HTTP exchange, as evidence.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Exchange {
    /// What this request was for, e.g. "expired token".
    pub label: String,
    pub method: String,
    pub url: String,
    /// Request headers that matter (Authorization, DPoP), as sent.
    pub request_headers: Vec<(String, String)>,
    /// The form body sent, with secrets redacted (idp logins and token requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    /// The tokens sent, decoded (header and claims; signatures are not decoded).
    pub decoded: Vec<DecodedToken>,
    /// The response status (absent when the request failed).
    pub status: Option<u16>,
    /// Response headers that matter (WWW-Authenticate, Content-Type).
    pub response_headers: Vec<(String, String)>,
    /// The response body, cut at 2 KiB.
    pub response_body: String,
    /// The transport error, when there was no response.
    pub error: Option<String>,
}

/// A JWT shown as its parts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DecodedToken {
    /// "access token", "DPoP proof", ...
    pub what: String,
    pub header: Value,
    pub claims: Value,
}

impl DecodedToken {
    /// `token` decoded for the evidence, nothing verified; `None` when it is not a JWT.
    pub fn of(what: &str, token: &str) -> Option<DecodedToken> {
        decode_jwt(token).map(|(header, claims)| DecodedToken {
            what: what.to_owned(),
            header,
            claims,
        })
    }
}

/// A compact JWS's header and claims, nothing verified ([`protocol::jose::decode_unverified`]).
pub fn decode_jwt(token: &str) -> Option<(Value, Value)> {
    protocol::jose::decode_unverified(token).ok()
}

/// A value as a verdict shows it: a string in quotes, a missing one as "none".
pub fn shown(value: Option<&str>) -> String {
    match value {
        Some(v) => format!("\"{v}\""),
        None => "none".into(),
    }
}

/// A JSON value as a verdict shows it: compact JSON, "none" when absent (null).
pub fn shown_json(value: &Value) -> String {
    match value {
        Value::Null => "none".into(),
        other => other.to_string(),
    }
}

/// A passed check with its evidence.
pub(crate) fn pass(c: &Check, message: String, evidence: Vec<Exchange>) -> CheckResult {
    with_evidence(CheckResult::new(c, Outcome::Passed, message), evidence)
}

/// A check that found its flaw: failed for a must-check, a warning for a should-check.
pub(crate) fn fail(c: &Check, message: String, evidence: Vec<Exchange>) -> CheckResult {
    let outcome = match c.severity {
        Severity::Must => Outcome::Failed,
        Severity::Should => Outcome::Warning,
    };
    with_evidence(CheckResult::new(c, outcome, message), evidence)
}

/// A check that could not be decided, with what was seen.
pub(crate) fn inconclusive(c: &Check, message: String, evidence: Vec<Exchange>) -> CheckResult {
    with_evidence(
        CheckResult::new(c, Outcome::Inconclusive, message),
        evidence,
    )
}

pub(crate) fn with_evidence(mut r: CheckResult, evidence: Vec<Exchange>) -> CheckResult {
    r.evidence = evidence;
    r
}

/// The result of one check.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub group: String,
    pub requirement: String,
    /// The published rule the check enforces: the document and the place in it.
    pub source: String,
    /// The rule's words, which give the check its level.
    pub rule: String,
    pub link: String,
    pub outcome: Outcome,
    /// One sentence: what was expected and what happened.
    pub message: String,
    pub duration_ms: u64,
    pub evidence: Vec<Exchange>,
}

impl CheckResult {
    pub fn new(check: &Check, outcome: Outcome, message: impl Into<String>) -> CheckResult {
        CheckResult {
            id: check.id.into(),
            title: check.title.into(),
            severity: check.severity.as_str().into(),
            group: check.group.into(),
            requirement: check.requirement.into(),
            source: check.source.cite.into(),
            rule: check.source.words.into(),
            link: check.source.link.into(),
            outcome,
            message: message.into(),
            duration_ms: 0,
            evidence: Vec::new(),
        }
    }

    pub fn is_must(&self) -> bool {
        self.severity == Severity::Must.as_str()
    }
}

/// One scenario's run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioReport {
    pub name: String,
    /// The scenario file, or "(command line)".
    pub source: String,
    pub kind: String,
    pub target: String,
    /// The issuer whose tokens were judged and its signing key id: the embedded STS's (api),
    /// the identity provider's (idp).
    pub issuer: String,
    pub kid: String,
    pub started_at: i64,
    pub duration_ms: u64,
    pub results: Vec<CheckResult>,
}

impl ScenarioReport {
    /// The result of the check with `id`, if the run has one.
    pub fn result(&self, id: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.id == id)
    }

    /// Ends a run whose set-up failed (no registration, no baseline token, no probe): every
    /// one of `checks` is inconclusive with `message`, and reported as it is decided.
    pub fn could_not_start(
        mut self,
        checks: &[&Check],
        message: &str,
        started: std::time::Instant,
        progress: &(dyn Fn(&CheckResult) + Sync),
    ) -> ScenarioReport {
        for check in checks {
            let r = CheckResult::new(
                check,
                Outcome::Inconclusive,
                format!("the run could not start: {message}"),
            );
            progress(&r);
            self.results.push(r);
        }
        self.duration_ms = started.elapsed().as_millis() as u64;
        self
    }
}

/// Counts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub warning: usize,
    pub skipped: usize,
    pub inconclusive: usize,
}

impl Totals {
    pub fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Warning => self.warning += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Inconclusive => self.inconclusive += 1,
        }
    }
}

/// A whole run: every scenario.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// `helseid-testbed conformance` report format version.
    pub format: u32,
    pub tool: String,
    pub tool_version: String,
    pub scenarios: Vec<ScenarioReport>,
    pub totals: Totals,
    /// Whether the run passes: no must-check failed or was inconclusive (and, with
    /// `--fail-on should`, no warning).
    pub passed: bool,
}

/// What makes a run fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// Failed or inconclusive must-checks.
    #[default]
    Must,
    /// Also should-check warnings and inconclusive should-checks.
    Should,
}

pub const FORMAT: u32 = 1;

impl Report {
    pub fn new(scenarios: Vec<ScenarioReport>, fail_on: FailOn) -> Report {
        let mut totals = Totals::default();
        for r in scenarios.iter().flat_map(|s| &s.results) {
            totals.add(r.outcome);
        }
        // A should-check that could not decide is no reason to fail a run that only fails
        // on must-checks (an API that refuses with 403 leaves API-WWW-01 nothing to judge).
        let undecided = scenarios.iter().flat_map(|s| &s.results).any(|r| {
            r.outcome == Outcome::Inconclusive && (r.is_must() || fail_on == FailOn::Should)
        });
        let passed =
            totals.failed == 0 && !undecided && (fail_on == FailOn::Must || totals.warning == 0);
        Report {
            format: FORMAT,
            tool: "helseid-testbed conformance".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            scenarios,
            totals,
            passed,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// `s` cut at `max` bytes (on a character boundary), saying how long it was: evidence bodies.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}

/// A transport error with its causes (reqwest's own text hides why a connection failed).
pub fn error_text(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The JSON Schema of the JSON report.
pub fn schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_published_schema_is_current() {
        let published = include_str!("../../schemas/report.schema.json");
        let now = serde_json::to_string_pretty(&super::schema()).unwrap_or_default();
        assert_eq!(
            published.trim(),
            now.trim(),
            "schemas/report.schema.json is stale: run `helseid-testbed conformance schema report > schemas/report.schema.json`"
        );
    }

    #[test]
    fn a_run_that_could_not_start_is_inconclusive_for_every_check() {
        use super::*;
        let checks: Vec<&Check> = crate::catalogue::CHECKS.iter().take(3).collect();
        let report = ScenarioReport {
            name: "x".into(),
            source: "x.yaml".into(),
            kind: "api".into(),
            target: String::new(),
            issuer: String::new(),
            kid: String::new(),
            started_at: 0,
            duration_ms: 0,
            results: Vec::new(),
        };
        let seen = std::sync::Mutex::new(0);
        let progress = |_: &CheckResult| {
            if let Ok(mut n) = seen.lock() {
                *n += 1;
            }
        };
        let report = report.could_not_start(
            &checks,
            "no baseline token",
            std::time::Instant::now(),
            &progress,
        );
        assert_eq!(report.results.len(), 3);
        assert!(
            report
                .results
                .iter()
                .all(|r| r.outcome == Outcome::Inconclusive
                    && r.message == "the run could not start: no baseline token")
        );
        assert_eq!(seen.lock().map(|n| *n).unwrap_or_default(), 3);
    }
}
