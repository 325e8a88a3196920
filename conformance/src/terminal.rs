//! Terminal output: a line per check while running, then a summary table. Colours are ANSI;
//! the CLI prints through anstream, which drops them for NO_COLOR, dumb terminals and pipes.

use owo_colors::OwoColorize;

use crate::report::{CheckResult, Outcome, Report};

fn mark(o: Outcome) -> String {
    match o {
        Outcome::Passed => "PASS".green().to_string(),
        Outcome::Failed => "FAIL".red().bold().to_string(),
        Outcome::Warning => "WARN".yellow().to_string(),
        Outcome::Skipped => "SKIP".dimmed().to_string(),
        Outcome::Inconclusive => "????".magenta().to_string(),
    }
}

/// One line as a check is decided.
pub fn progress_line(r: &CheckResult) -> String {
    let detail = match r.outcome {
        Outcome::Passed | Outcome::Skipped => String::new(),
        _ => format!("\n         {}", r.message.dimmed()),
    };
    format!("  {} {:<15} {}{detail}", mark(r.outcome), r.id, r.title)
}

/// The summary after the run.
pub fn summary(report: &Report) -> String {
    let mut out = String::new();
    for s in &report.scenarios {
        out.push_str(&format!(
            "\n{} ({}), {} against {}\n",
            s.name.bold(),
            s.source,
            s.kind,
            s.target
        ));
        // The widest ID (client checks are longer than the 13 of API-DPOP-01).
        let w = s
            .results
            .iter()
            .map(|r| r.id.len())
            .max()
            .unwrap_or(0)
            .max(13);
        out.push_str(&format!(
            "  {:<w$} {:<6} {:<8} {}\n",
            "check", "level", "outcome", "message"
        ));
        for r in s.results.iter().filter(|r| r.outcome != Outcome::Skipped) {
            out.push_str(&format!(
                "  {:<w$} {:<6} {} {}\n",
                r.id,
                r.severity,
                pad(mark(r.outcome), 4, 8),
                r.message
            ));
        }
        let skipped = s
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::Skipped)
            .count();
        if skipped > 0 {
            out.push_str(&format!(
                "  ({skipped} checks skipped: not applicable or not selected)\n"
            ));
        }
    }
    let t = report.totals;
    out.push_str(&format!(
        "\n{} passed, {} failed, {} warnings, {} inconclusive, {} skipped\n",
        t.passed, t.failed, t.warning, t.inconclusive, t.skipped
    ));
    out.push_str(&if report.passed {
        format!("{}\n", "CONFORMANT: every must-check passed".green().bold())
    } else {
        format!(
            "{}\n",
            "NOT CONFORMANT: see the failed and inconclusive checks above"
                .red()
                .bold()
        )
    });
    out
}

/// Pads a coloured string whose visible width is `visible` to `width`.
fn pad(s: String, visible: usize, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(visible)))
}
