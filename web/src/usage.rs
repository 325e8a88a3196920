//! Usage and audit (seed 000: actors get insight into their own usage): tokens issued and
//! errors by kind per client and API over time, charted from the audit log; the audit log
//! itself, searchable and paged, exported as CSV or JSON. `/metrics` (in `mock_sts::usage`)
//! counts the same events.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mock_sts::store::{AuditEntry, AuditFilter};
use mock_sts::usage::{ERROR_EVENT, TOKEN_EVENTS};

use crate::Web;
use crate::chart::{self, ERROR_COLOUR, PALETTE, Series};
use crate::layout::{self, Chrome, Pager, error, page, time};

pub fn routes(web: Arc<Web>) -> Router {
    Router::new()
        .route("/usage", get(usage_page))
        .route("/audit", get(audit_page))
        .route("/audit.csv", get(audit_csv))
        .route("/audit.json", get(audit_json))
        .with_state(web)
}

type Q = Query<HashMap<String, String>>;

/// Series drawn at most (the busiest clients; the rest are summed as "other").
const MAX_SERIES: usize = 5;
/// Rows a breakdown table shows at most (the largest).
pub const MAX_BREAKDOWN_ROWS: usize = 50;
/// Rows an export holds at most.
pub const MAX_EXPORT: usize = 100_000;

/// A time range of the usage page: its name, its length and its bucket (seconds).
fn range(name: &str) -> (&'static str, Option<i64>, i64) {
    match name {
        "hour" => ("hour", Some(3600), 60),
        "week" => ("week", Some(7 * 86_400), 6 * 3600),
        "all" => ("all", None, 86_400),
        _ => ("day", Some(86_400), 3600),
    }
}

fn bucket_label(at: i64, bucket: i64) -> String {
    let t = time(at);
    // "YYYY-MM-DD HH:MM:SS UTC": minutes for short buckets, the day for long ones.
    if bucket < 86_400 {
        t[11..16].to_owned()
    } else {
        t[5..10].to_owned()
    }
}

struct Breakdown {
    client: String,
    value: String,
    kind: String,
    count: i64,
}

struct RangeLink {
    label: String,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    c: Chrome,
    chart: String,
    legend: Vec<(String, &'static str)>,
    ranges: Vec<RangeLink>,
    client: String,
    tokens: Vec<Breakdown>,
    errors: Vec<Breakdown>,
    token_total: i64,
    error_total: i64,
    metrics: String,
    range: &'static str,
}

async fn usage_page(State(web): State<Arc<Web>>, headers: HeaderMap, Query(q): Q) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/usage", "usage");
    let c = c.clone().titled(c.l.t("Bruk", "Usage"));
    let (range_name, length, bucket) = range(q.get("range").map_or("day", String::as_str));
    let client = q.get("client").filter(|s| !s.is_empty()).cloned();
    let now = web.sts.now();
    let since = length.map(|l| now - l);
    let mut events: Vec<String> = TOKEN_EVENTS.iter().map(|e| (*e).to_owned()).collect();
    events.push(ERROR_EVENT.to_owned());
    let filter = AuditFilter {
        events,
        client_id: client.clone(),
        text: None,
        since,
    };
    let store = &web.sts.store;
    let counts = match store.audit_counts(&filter, bucket) {
        Ok(v) => v,
        Err(e) => return error(&c, 500, &e.to_string()),
    };
    let first = since.map_or_else(
        || counts.first().map_or(now, |r| r.0),
        |s| s / bucket * bucket,
    );
    let buckets = ((now / bucket * bucket - first) / bucket + 1).clamp(1, 400) as usize;
    let labels: Vec<String> = (0..buckets)
        .map(|i| bucket_label(first + i as i64 * bucket, bucket))
        .collect();
    // The busiest clients get a series of their own.
    let mut per_client: BTreeMap<String, i64> = BTreeMap::new();
    for (_, event, cl, n) in &counts {
        if event != ERROR_EVENT {
            *per_client
                .entry(cl.clone().unwrap_or_default())
                .or_default() += n;
        }
    }
    let mut busiest: Vec<(String, i64)> = per_client.into_iter().collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let named: Vec<String> = busiest
        .iter()
        .take(MAX_SERIES)
        .map(|(n, _)| n.clone())
        .collect();
    let other = c.l.t("andre klienter", "other clients").to_owned();
    let errors_name = c.l.t("feil", "errors").to_owned();
    let mut series: Vec<Series> = named
        .iter()
        .enumerate()
        .map(|(i, n)| Series {
            name: if n.is_empty() {
                "(—)".into()
            } else {
                n.clone()
            },
            colour: PALETTE[i % PALETTE.len()],
            values: vec![0; buckets],
        })
        .collect();
    let other_index = series.len();
    series.push(Series {
        name: other.clone(),
        colour: PALETTE[PALETTE.len() - 1],
        values: vec![0; buckets],
    });
    let error_index = series.len();
    series.push(Series {
        name: errors_name,
        colour: ERROR_COLOUR,
        values: vec![0; buckets],
    });
    for (at, event, cl, n) in &counts {
        let i = ((at - first) / bucket) as usize;
        if i >= buckets {
            continue;
        }
        let s = if event == ERROR_EVENT {
            error_index
        } else {
            let cl = cl.clone().unwrap_or_default();
            named.iter().position(|x| *x == cl).unwrap_or(other_index)
        };
        series[s].values[i] += *n as u64;
    }
    series.retain(|s| s.values.iter().any(|v| *v > 0));
    let title = format!(
        "{} ({})",
        c.l.t(
            "Token utstedt og feil over tid",
            "Tokens issued and errors over time"
        ),
        range_name
    );
    let chart = chart::stacked_bars(&title, &labels, &series);
    let breakdown = |events: Vec<String>, key: &str| {
        let filter = AuditFilter {
            events,
            client_id: client.clone(),
            text: None,
            since,
        };
        store.audit_breakdown(&filter, key).map(|rows| {
            rows.into_iter()
                .map(|(event, cl, v, n)| Breakdown {
                    client: cl.unwrap_or_default(),
                    value: v.unwrap_or_default(),
                    kind: event,
                    count: n,
                })
                .collect::<Vec<_>>()
        })
    };
    let tokens = match breakdown(
        TOKEN_EVENTS.iter().map(|e| (*e).to_owned()).collect(),
        "aud",
    ) {
        Ok(v) => v,
        Err(e) => return error(&c, 500, &e.to_string()),
    };
    let errors = match breakdown(vec![ERROR_EVENT.to_owned()], "error") {
        Ok(v) => v,
        Err(e) => return error(&c, 500, &e.to_string()),
    };
    let here = web.path("/usage");
    let ranges = [
        ("hour", c.l.t("siste time", "last hour")),
        ("day", c.l.t("siste døgn", "last day")),
        ("week", c.l.t("siste uke", "last week")),
        ("all", c.l.t("alt", "all")),
    ]
    .into_iter()
    .map(|(name, label)| RangeLink {
        label: label.to_owned(),
        href: match &client {
            Some(cl) => format!("{here}?range={name}&client={cl}"),
            None => format!("{here}?range={name}"),
        },
        current: name == range_name,
    })
    .collect();
    let token_total = tokens.iter().map(|t| t.count).sum();
    let error_total = errors.iter().map(|t| t.count).sum();
    // The tables show the largest rows (they come largest first); the totals count all.
    let (mut tokens, mut errors) = (tokens, errors);
    tokens.truncate(MAX_BREAKDOWN_ROWS);
    errors.truncate(MAX_BREAKDOWN_ROWS);
    let body = UsagePage {
        legend: series.iter().map(|s| (s.name.clone(), s.colour)).collect(),
        chart,
        ranges,
        client: client.unwrap_or_default(),
        token_total,
        error_total,
        tokens,
        errors,
        metrics: web.url(protocol::endpoints::testbed::METRICS),
        range: range_name,
        c: c.clone(),
    };
    page(&body, &c)
}

/// The audit filter of a query: `event`, `client`, `q` (text).
fn audit_filter(q: &HashMap<String, String>) -> AuditFilter {
    let nonempty = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    AuditFilter {
        events: nonempty("event").into_iter().collect(),
        client_id: nonempty("client"),
        text: nonempty("q"),
        since: None,
    }
}

/// The query string of a filter, for links and exports.
fn filter_query(f: &AuditFilter) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("event", f.events.first()),
        ("client", f.client_id.as_ref()),
        ("q", f.text.as_ref()),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}={}", protocol::urlencoding::encode(v)));
        }
    }
    parts.join("&")
}

struct AuditRow {
    id: i64,
    at: String,
    event: String,
    client: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<AuditRow>,
    pager: String,
    events: Vec<(String, bool)>,
    client: String,
    text: String,
    csv: String,
    json: String,
}

/// The events a filter can name.
fn known_events() -> Vec<&'static str> {
    let mut e = TOKEN_EVENTS.to_vec();
    e.extend([
        "token_revoked",
        "user_login",
        "user_logout",
        ERROR_EVENT,
        "selvbetjening_client_draft",
        "selvbetjening_client_update",
        "selvbetjening_client_secret",
        "selvbetjening_client_confirmed",
    ]);
    e
}

async fn audit_page(State(web): State<Arc<Web>>, headers: HeaderMap, Query(q): Q) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/audit", "audit");
    let c = c.clone().titled(c.l.t("Revisjonslogg", "Audit log"));
    let filter = audit_filter(&q);
    let (limit, offset) = Pager::window(&q, "", 50);
    let (entries, total) = match web.sts.store.audit_page(&filter, limit, offset) {
        Ok(v) => v,
        Err(e) => return error(&c, 500, &e.to_string()),
    };
    let query = filter_query(&filter);
    let here = web.path("/audit");
    // The pager's links carry the filter.
    let mut pager = Pager::new(&here, "", total, limit, offset);
    for link in [&mut pager.prev, &mut pager.next].into_iter().flatten() {
        if !query.is_empty() {
            link.push('&');
            link.push_str(&query);
        }
    }
    let selected = filter.events.first().cloned().unwrap_or_default();
    let body = AuditPage {
        rows: entries.iter().map(audit_row).collect(),
        pager: layout::pager(&c, &pager),
        events: known_events()
            .into_iter()
            .map(|e| (e.to_owned(), e == selected))
            .collect(),
        client: filter.client_id.clone().unwrap_or_default(),
        text: filter.text.clone().unwrap_or_default(),
        csv: with_query(&web.path("/audit.csv"), &query),
        json: with_query(&web.path("/audit.json"), &query),
        c: c.clone(),
    };
    page(&body, &c)
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

fn audit_row(e: &AuditEntry) -> AuditRow {
    let detail = e.detail.to_string();
    AuditRow {
        id: e.id,
        at: time(e.at),
        event: e.event.clone(),
        client: e.client_id.clone().unwrap_or_default(),
        detail: if detail.chars().count() > 240 {
            format!("{}…", detail.chars().take(240).collect::<String>())
        } else {
            detail
        },
    }
}

/// Every row matching the query's filter, newest first, at most [`MAX_EXPORT`].
fn export_rows(web: &Web, q: &HashMap<String, String>) -> Result<Vec<AuditEntry>, String> {
    let filter = audit_filter(q);
    let mut rows = Vec::new();
    loop {
        let (page, total) = web
            .sts
            .store
            .audit_page(&filter, 1000, rows.len())
            .map_err(|e| e.to_string())?;
        let done = page.is_empty();
        rows.extend(page);
        if done || rows.len() >= total.min(MAX_EXPORT) {
            break;
        }
    }
    rows.truncate(MAX_EXPORT);
    Ok(rows)
}

/// A CSV field, quoted when it needs to be (RFC 4180), and defused for spreadsheets: a
/// field starting with `=`, `+`, `-` or `@` gets a leading `'`.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

async fn audit_csv(State(web): State<Arc<Web>>, Query(q): Q) -> Response {
    let rows = match export_rows(&web, &q) {
        Ok(r) => r,
        Err(e) => return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    };
    let mut out = String::from("id,time,event,client_id,detail\r\n");
    for r in &rows {
        out.push_str(&format!(
            "{},{},{},{},{}\r\n",
            r.id,
            csv_field(&time(r.at)),
            csv_field(&r.event),
            csv_field(r.client_id.as_deref().unwrap_or("")),
            csv_field(&r.detail.to_string())
        ));
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        out,
    )
        .into_response()
}

async fn audit_json(State(web): State<Arc<Web>>, Query(q): Q) -> Response {
    match export_rows(&web, &q) {
        Ok(rows) => (
            [(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.json\"",
            )],
            axum::Json(rows),
        )
            .into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }

    #[test]
    fn ranges_default_to_a_day_in_hours() {
        assert_eq!(range("nonsense"), ("day", Some(86_400), 3600));
        assert_eq!(range("hour").2, 60);
        assert_eq!(bucket_label(1_800_000_000, 60), "08:00");
        assert_eq!(bucket_label(1_800_000_000, 86_400), "01-15");
    }
}
