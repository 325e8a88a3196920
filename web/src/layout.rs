//! What every page shares: the locale, the chrome the layout template reads (title, links,
//! CSRF token, locale switch), the pager, rendering with the page headers, and error pages.

use std::collections::HashMap;

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Web;
use crate::security::{self, PAGE_CSP};

/// The pages' language: Norwegian (bokmål) by default, English on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Nb,
    En,
}

/// The locale cookie.
pub const LANG_COOKIE: &str = "tb_lang";

impl Locale {
    /// `nb` in Norwegian, `en` in English.
    pub fn t<'a>(self, nb: &'a str, en: &'a str) -> &'a str {
        match self {
            Locale::Nb => nb,
            Locale::En => en,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Locale::Nb => "nb",
            Locale::En => "en",
        }
    }

    fn parse(code: &str) -> Option<Locale> {
        match code {
            "nb" | "no" => Some(Locale::Nb),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// `?lang=` (remembered with a cookie), else the cookie, else Norwegian.
    pub fn of(headers: &HeaderMap, query: &HashMap<String, String>) -> (Locale, Option<String>) {
        if let Some(l) = query.get("lang").and_then(|c| Locale::parse(c)) {
            let set = format!(
                "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
                l.code()
            );
            return (l, Some(set));
        }
        let l = security::cookie(headers, LANG_COOKIE)
            .and_then(Locale::parse)
            .unwrap_or(Locale::Nb);
        (l, None)
    }
}

/// What the layout shows around a page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub l: Locale,
    /// The page's title (in the page's language).
    pub title: String,
    /// The CSRF token for the page's forms.
    pub csrf: String,
    /// Path prefix of every link (the issuer's path, usually empty).
    pub base: String,
    /// This page's path, for the locale switch.
    pub here: String,
    /// Admin forms need the api-key (beyond loopback).
    pub public: bool,
    pub issuer: String,
    /// Which navigation entry is current (`start`, `sessions`).
    pub nav: &'static str,
    /// Cookies to set with the response.
    pub set_cookies: Vec<String>,
}

impl Chrome {
    pub fn new(
        web: &Web,
        headers: &HeaderMap,
        query: &HashMap<String, String>,
        here: &str,
        nav: &'static str,
    ) -> Chrome {
        let (l, lang_cookie) = Locale::of(headers, query);
        let (csrf, csrf_cookie) = security::csrf_token(headers);
        Chrome {
            l,
            title: String::new(),
            csrf,
            base: web.path(""),
            here: web.path(here),
            public: web.settings.public,
            issuer: web.sts.config.issuer.clone(),
            nav,
            set_cookies: lang_cookie.into_iter().chain(csrf_cookie).collect(),
        }
    }

    pub fn titled(mut self, title: &str) -> Chrome {
        self.title = title.to_owned();
        self
    }

    /// The other language's code, for the switch.
    pub fn other(&self) -> Locale {
        match self.l {
            Locale::Nb => Locale::En,
            Locale::En => Locale::Nb,
        }
    }
}

/// A rendered page with the page headers and the chrome's cookies.
pub fn page<T: Template>(template: &T, chrome: &Chrome) -> Response {
    render(template, chrome, StatusCode::OK)
}

/// A page whose own script (an embedded asset) may run and connect back to the testbed
/// (the flow inspector's live updates).
pub fn page_with_script<T: Template>(template: &T, chrome: &Chrome) -> Response {
    let mut r = render(template, chrome, StatusCode::OK);
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::security::SCRIPT_PAGE_CSP),
    );
    r
}

pub fn render<T: Template>(template: &T, chrome: &Chrome, status: StatusCode) -> Response {
    let html = match template.render() {
        Ok(h) => h,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the page could not be rendered: {e}"),
            )
                .into_response();
        }
    };
    let mut response = (status, html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in &chrome.set_cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    response
}

/// A redirect after a form (303 See Other).
pub fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: &'a Chrome,
    status: u16,
    message: &'a str,
}

/// An error page: what was wrong, with its status.
pub fn error(chrome: &Chrome, status: u16, message: &str) -> Response {
    let c = chrome
        .clone()
        .titled(chrome.l.t("Det gikk ikke", "That did not work"));
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    render(
        &ErrorPage {
            c: &c,
            status,
            message,
        },
        &c,
        code,
    )
}

/// Rows listed per page at most.
pub const MAX_LIMIT: usize = 200;

/// A page of a list: where it is, and the links to the pages before and after.
#[derive(Debug, Clone)]
pub struct Pager {
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `limit` and `offset` from the query's `<prefix>limit` and `<prefix>offset` (default
    /// `default_limit`, at most [`MAX_LIMIT`]).
    pub fn window(
        query: &HashMap<String, String>,
        prefix: &str,
        default_limit: usize,
    ) -> (usize, usize) {
        let get = |name: &str| {
            query
                .get(&format!("{prefix}{name}"))
                .and_then(|v| v.parse::<usize>().ok())
        };
        let limit = get("limit").unwrap_or(default_limit).clamp(1, MAX_LIMIT);
        (limit, get("offset").unwrap_or(0))
    }

    /// The pager of a list of `total` rows shown from `offset`, linking to `path` with
    /// `<prefix>offset`.
    pub fn new(path: &str, prefix: &str, total: usize, limit: usize, offset: usize) -> Pager {
        let link = |o: usize| format!("{path}?{prefix}offset={o}&{prefix}limit={limit}");
        Pager {
            total,
            limit,
            offset,
            prev: (offset > 0).then(|| link(offset.saturating_sub(limit))),
            next: (offset + limit < total).then(|| link(offset + limit)),
        }
    }

    /// The first row shown, counted from 1 (0 when there are none).
    pub fn from(&self) -> usize {
        if self.total == 0 {
            0
        } else {
            (self.offset + 1).min(self.total)
        }
    }

    /// The last row shown.
    pub fn to(&self) -> usize {
        (self.offset + self.limit).min(self.total)
    }
}

#[derive(Template)]
#[template(path = "pager.html")]
struct PagerView<'a> {
    c: &'a Chrome,
    p: &'a Pager,
}

/// The pager's HTML (its template, `pager.html`), to put in a page with `|safe`.
pub fn pager(c: &Chrome, p: &Pager) -> String {
    PagerView { c, p }.render().unwrap_or_default()
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn time(at: i64) -> String {
    let days = at.div_euclid(86_400);
    let secs = at.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_civil_utc() {
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(1_800_000_000), "2027-01-15 08:00:00 UTC");
    }

    #[test]
    fn the_pager_links_both_ways_and_clamps() {
        let p = Pager::new("/sessions", "", 120, 50, 50);
        assert_eq!(p.prev.as_deref(), Some("/sessions?offset=0&limit=50"));
        assert_eq!(p.next.as_deref(), Some("/sessions?offset=100&limit=50"));
        assert_eq!((p.from(), p.to()), (51, 100));
        let last = Pager::new("/s", "c", 120, 50, 100);
        assert!(last.next.is_none());
        assert_eq!(last.to(), 120);
        let q = HashMap::from([("climit".to_owned(), "100000".to_owned())]);
        assert_eq!(Pager::window(&q, "c", 20), (MAX_LIMIT, 0));
    }

    #[test]
    fn norwegian_unless_english_is_asked_for() {
        let none = HashMap::new();
        assert_eq!(Locale::of(&HeaderMap::new(), &none).0, Locale::Nb);
        let en = HashMap::from([("lang".to_owned(), "en".to_owned())]);
        let (l, set) = Locale::of(&HeaderMap::new(), &en);
        assert_eq!(l, Locale::En);
        assert!(set.unwrap().starts_with("tb_lang=en"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("tb_lang=en"));
        assert_eq!(Locale::of(&h, &none).0, Locale::En);
    }
}
