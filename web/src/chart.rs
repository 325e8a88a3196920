//! A stacked bar chart drawn as SVG on the server (no script, no library): one bar per time
//! bucket, one colour per series. Colours are presentation attributes, so the pages' CSP
//! (no inline styles) allows them.

use std::fmt::Write;

/// Colours of the series, in order (distinguishable, and dark enough on white).
pub const PALETTE: [&str; 6] = [
    "#0b5394", "#1e6b34", "#7a4b00", "#6a1b9a", "#00695c", "#4a5568",
];
/// The colour of the error series.
pub const ERROR_COLOUR: &str = "#a11d2b";

/// One series: a name and a value per bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub values: Vec<u64>,
}

const WIDTH: f64 = 880.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart of `series` over buckets labelled `labels` (each bar stacks the series), with
/// `title` for screen readers.
pub fn stacked_bars(title: &str, labels: &[String], series: &[Series]) -> String {
    let n = labels.len().max(1);
    let totals: Vec<u64> = (0..n)
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    // A round top for the axis: 1, 2 or 5 times a power of ten.
    let mut top = 1u64;
    while top < max {
        top = match top.to_string().chars().next() {
            Some('1') => top * 2,
            Some('2') => top / 2 * 5,
            _ => top * 2,
        };
    }
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let bar = (slot * 0.8).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" class="chart"><title id="chart-title">{}</title>"##,
        escape(title)
    );
    // Grid lines and the value axis.
    // Ticks at whole numbers: quarters of 4, 20, 200...; fifths of 5, 10, 50...
    let steps = match top {
        1 => 1,
        t if t % 4 == 0 => 4,
        t if t % 5 == 0 => 5,
        _ => 2,
    };
    for step in 0..=steps {
        let v = top * step / steps;
        let y = TOP + plot_h - plot_h * (v as f64 / top as f64);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d5dbe3" stroke-width="1"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#4a5568">{v}</text>"##,
            WIDTH - 8.0,
            LEFT - 6.0,
            y + 4.0
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let mut y = TOP + plot_h;
        for s in series {
            let v = s.values.get(i).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let h = plot_h * (v as f64 / top as f64);
            y -= h;
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{}"><title>{} · {}: {v}</title></rect>"##,
                s.colour,
                escape(label),
                escape(&s.name)
            );
        }
        // Some bucket labels, so they do not overlap.
        let every = n.div_ceil(12);
        if i % every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#4a5568">{}</text>"##,
                x + bar / 2.0,
                HEIGHT - 8.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_and_scale_to_a_round_top() {
        let labels = vec!["10:00".to_owned(), "11:00".to_owned()];
        let series = vec![
            Series {
                name: "a".into(),
                colour: PALETTE[0],
                values: vec![3, 0],
            },
            Series {
                name: "b<x>".into(),
                colour: PALETTE[1],
                values: vec![4, 1],
            },
        ];
        let svg = stacked_bars("Tokens", &labels, &series);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<rect").count(), 3, "no bar for a zero");
        // The axis tops at 10 (the largest stack is 7).
        assert!(svg.contains(">10</text>"), "{svg}");
        assert!(svg.contains("b&lt;x&gt;: 4"), "names are escaped");
        assert!(!svg.contains("style="), "no inline styles under the CSP");
    }

    #[test]
    fn an_empty_chart_still_draws_its_axis() {
        let svg = stacked_bars("Tokens", &[], &[]);
        assert!(svg.contains("<line"));
        assert!(!svg.contains("<rect"));
    }
}
