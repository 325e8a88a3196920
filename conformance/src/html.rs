//! The HTML report: one self-contained page (no scripts, no external assets) a vendor can
//! send to NHN, with each check's requirement and evidence folded under it.

use askama::Template;

use crate::junit::evidence_text;
use crate::report::{Report, Totals};

struct Row<'a> {
    id: &'a str,
    title: &'a str,
    severity: &'a str,
    outcome: &'static str,
    message: &'a str,
    requirement: &'a str,
    source: &'a str,
    rule: &'a str,
    link: &'a str,
    has_evidence: bool,
    exchanges: Vec<String>,
}

struct Section<'a> {
    index: usize,
    name: &'a str,
    source: &'a str,
    kind: &'a str,
    target: &'a str,
    issuer: &'a str,
    kid: &'a str,
    duration_ms: u64,
    results: Vec<Row<'a>>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    tool: &'a str,
    version: &'a str,
    format: u32,
    passed: bool,
    verdict: &'static str,
    totals: Totals,
    scenarios: Vec<Section<'a>>,
}

pub fn render(report: &Report) -> Result<String, String> {
    let scenarios = report
        .scenarios
        .iter()
        .enumerate()
        .map(|(index, s)| Section {
            index,
            name: &s.name,
            source: &s.source,
            kind: &s.kind,
            target: &s.target,
            issuer: &s.issuer,
            kid: &s.kid,
            duration_ms: s.duration_ms,
            results: s
                .results
                .iter()
                .map(|r| Row {
                    id: &r.id,
                    title: &r.title,
                    severity: &r.severity,
                    outcome: r.outcome.as_str(),
                    message: &r.message,
                    requirement: &r.requirement,
                    source: &r.source,
                    rule: &r.rule,
                    link: &r.link,
                    has_evidence: !r.evidence.is_empty(),
                    exchanges: r
                        .evidence
                        .iter()
                        .map(|e| {
                            let one = crate::report::CheckResult {
                                evidence: vec![e.clone()],
                                ..r.clone()
                            };
                            evidence_text(&one)
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Page {
        tool: &report.tool,
        version: &report.tool_version,
        format: report.format,
        passed: report.passed,
        verdict: if report.passed {
            "Conformant: every must-check passed"
        } else {
            "Not conformant: some must-checks failed or could not be decided"
        },
        totals: report.totals,
        scenarios,
    }
    .render()
    .map_err(|e| e.to_string())
}
