//! The runner's browser for idp scenarios: a cookie jar, redirects followed by hand, and the
//! scenario's login steps answering the IdP's HTML pages ([`super::form`]). Every request
//! it makes is kept as evidence.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, Url};

use super::form::{self, Button, Form, Page};
use crate::report::{Exchange, cut, error_text, shown};
use crate::scenario::LoginStep;

/// Requests one login may take (redirects and pages together).
const MAX_REQUESTS: usize = 25;
/// Response bodies kept as evidence (HTML pages are summarised instead).
const MAX_BODY: usize = 2048;
/// Characters of a page's visible text kept as evidence.
const MAX_PAGE_TEXT: usize = 400;

/// The user's values that login steps and extra parameters may use.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    pub pid: &'a str,
    pub level: &'a str,
}

/// `template` with `{pid}` and `{level}` replaced.
pub fn expand(template: &str, vars: Vars<'_>) -> String {
    template
        .replace("{pid}", vars.pid)
        .replace("{level}", vars.level)
}

/// Where a trip through the IdP ended.
#[derive(Debug, Clone)]
pub enum Ending {
    /// The IdP sent the browser to `stops[stop]`; the parameters of the query (and of the
    /// fragment, for a fragment response) with the first of repeated names.
    Arrived {
        stop: usize,
        url: String,
        params: BTreeMap<String, String>,
    },
    /// The browser could not go on: an error status, a page no step answers, a step that
    /// does not fit the page, too many requests.
    Stopped(String),
    /// A request got no response.
    Unreachable(String),
}

/// A browser with its own cookie jar (one per login, as a fresh browser profile).
#[derive(Debug, Clone)]
pub struct Browser {
    http: reqwest::Client,
}

/// The request the browser makes next.
struct Next {
    method: Method,
    url: Url,
    form: Vec<(String, String)>,
    /// Form fields whose values are not shown.
    secret: Vec<String>,
    what: String,
}

impl Browser {
    pub fn new(timeout: Duration) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(timeout)
                .build()
                .unwrap_or_default(),
        }
    }

    /// Follows `start` through redirects and pages, answering the n-th HTML page with the
    /// n-th step, until the browser is sent to one of `stops` (compared without query and
    /// fragment) or cannot go on. Evidence is labelled `label: ...`.
    pub async fn navigate(
        &self,
        start: &str,
        stops: &[&str],
        steps: &[LoginStep],
        vars: Vars<'_>,
        label: &str,
        evidence: &mut Vec<Exchange>,
    ) -> Ending {
        let url = match Url::parse(start) {
            Ok(u) => u,
            Err(e) => return Ending::Stopped(format!("{} is not a URL: {e}", shown(Some(start)))),
        };
        let mut next = Next {
            method: Method::GET,
            url,
            form: Vec::new(),
            secret: Vec::new(),
            what: "authorization request".into(),
        };
        let mut steps = steps.iter().enumerate();
        for _ in 0..MAX_REQUESTS {
            if let Some(stop) = stops
                .iter()
                .position(|s| same_endpoint(next.url.as_str(), s))
            {
                return Ending::Arrived {
                    stop,
                    params: response_params(&next.url),
                    url: next.url.to_string(),
                };
            }
            let (exchange, response) = self.send(&next, label).await;
            evidence.push(exchange);
            let (status, location, body) = match response {
                Ok(r) => r,
                Err(e) => return Ending::Unreachable(e),
            };
            if (300..400).contains(&status) {
                let Some(location) = location else {
                    return Ending::Stopped(format!(
                        "{} answered {status} without a Location",
                        short(&next.url)
                    ));
                };
                match next.url.join(&location) {
                    Ok(target) => {
                        next = Next {
                            method: Method::GET,
                            url: target,
                            form: Vec::new(),
                            secret: Vec::new(),
                            what: "redirect".into(),
                        };
                        continue;
                    }
                    Err(e) => {
                        return Ending::Stopped(format!(
                            "{} redirected to {}, which is not a URL: {e}",
                            short(&next.url),
                            shown(Some(&location))
                        ));
                    }
                }
            }
            let page = form::parse(&body);
            if !(200..300).contains(&status) {
                return Ending::Stopped(format!(
                    "{} answered {status}: {}",
                    short(&next.url),
                    page_words(&page)
                ));
            }
            let Some((n, step)) = steps.next() else {
                return Ending::Stopped(format!(
                    "{} showed a page after the last login step: {}",
                    short(&next.url),
                    page_words(&page)
                ));
            };
            match submission(&page, &next.url, step, vars) {
                Ok((form, url, entries)) => {
                    next = Next {
                        method: if form.method == "POST" {
                            Method::POST
                        } else {
                            Method::GET
                        },
                        url,
                        form: if form.method == "POST" {
                            entries
                        } else {
                            Vec::new()
                        },
                        secret: form.secret_names.clone(),
                        what: format!("login step {}", n + 1),
                    };
                }
                Err(why) => {
                    return Ending::Stopped(format!(
                        "login step {} does not fit the page at {}: {why}",
                        n + 1,
                        short(&next.url)
                    ));
                }
            }
        }
        Ending::Stopped(format!("no end after {MAX_REQUESTS} requests"))
    }

    /// One request, as evidence, and (status, Location, body) or the transport error.
    async fn send(
        &self,
        next: &Next,
        label: &str,
    ) -> (Exchange, Result<(u16, Option<String>, String), String>) {
        let mut request = self.http.request(next.method.clone(), next.url.clone());
        let mut exchange = Exchange {
            label: format!("{label}: {}", next.what),
            method: next.method.to_string(),
            url: next.url.to_string(),
            ..Default::default()
        };
        if next.method == Method::POST {
            let body = urlencode_pairs(&next.form);
            request = request
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body);
            exchange.request_headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            let shown: Vec<(String, String)> = next
                .form
                .iter()
                .map(|(k, v)| {
                    if next.secret.contains(k) {
                        (k.clone(), "[redacted]".into())
                    } else {
                        (k.clone(), v.clone())
                    }
                })
                .collect();
            exchange.request_body = Some(shown_body(&shown));
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let text = error_text(&e);
                exchange.error = Some(text.clone());
                return (exchange, Err(text));
            }
        };
        let status = response.status().as_u16();
        exchange.status = Some(status);
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        keep_headers(&mut exchange, response.headers());
        let is_html = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("html"));
        let body = response.text().await.unwrap_or_default();
        exchange.response_body = if is_html {
            form::parse(&body).summary(MAX_PAGE_TEXT)
        } else {
            cut(&body, MAX_BODY)
        };
        (exchange, Ok((status, location, body)))
    }
}

/// The response headers kept as evidence.
pub fn keep_headers(exchange: &mut Exchange, headers: &reqwest::header::HeaderMap) {
    for name in [
        "location",
        "content-type",
        "www-authenticate",
        "cache-control",
    ] {
        for v in headers.get_all(name) {
            exchange
                .response_headers
                .push((name.into(), v.to_str().unwrap_or("(binary)").to_owned()));
        }
    }
}

/// A page in a few words, for messages: its title, or the start of its text.
fn page_words(page: &Page) -> String {
    if page.title.is_empty() {
        let text: String = page.text.chars().take(160).collect();
        format!("a page saying {}", shown(Some(&text)))
    } else {
        format!("a page titled {}", shown(Some(&page.title)))
    }
}

/// A URL without its query and fragment, for messages (the evidence has it whole).
pub fn short(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// A form body for evidence, `[redacted]` left readable.
pub fn shown_body(pairs: &[(String, String)]) -> String {
    urlencode_pairs(pairs).replace("%5Bredacted%5D", "[redacted]")
}

/// A filled-in form on its way: the form, the request URL and the entries.
type Submission = (Form, Url, Vec<(String, String)>);

/// The form a step answers, filled in and submitted.
fn submission(
    page: &Page,
    base: &Url,
    step: &LoginStep,
    vars: Vars<'_>,
) -> Result<Submission, String> {
    let forms_list = || {
        if page.forms.is_empty() {
            "the page has no forms".to_owned()
        } else {
            let list: Vec<String> = page.forms.iter().map(Form::describe).collect();
            format!("forms on the page: {}", list.join("; "))
        }
    };
    let chosen = match &step.form {
        Some(wanted) => page
            .forms
            .iter()
            .find(|f| f.id.as_deref() == Some(wanted) || f.name.as_deref() == Some(wanted))
            .ok_or_else(|| {
                format!(
                    "no form with id or name {} ({})",
                    shown(Some(wanted)),
                    forms_list()
                )
            })?,
        None => {
            let fits = |f: &&Form| {
                step.fill.keys().all(|k| f.has_field(k))
                    && step.submit.as_ref().is_none_or(|b| f.has_button(&b.name))
            };
            page.forms
                .iter()
                .filter(fits)
                .find(|f| f.method == "POST")
                .or_else(|| page.forms.iter().find(fits))
                .ok_or_else(|| {
                    let mut wanted: Vec<String> = step.fill.keys().cloned().collect();
                    if let Some(b) = &step.submit {
                        wanted.push(format!("button {}", b.name));
                    }
                    format!("no form has {} ({})", wanted.join(", "), forms_list())
                })?
        }
    };
    let mut form = chosen.clone();
    for (name, value) in &step.fill {
        if !form.has_field(name) {
            return Err(format!(
                "the form has no field {} ({})",
                shown(Some(name)),
                form.describe()
            ));
        }
        form.set(name, &expand(value, vars));
    }
    let mut entries = form.entries.clone();
    let pressed = match &step.submit {
        Some(b) => {
            // The button a person presses: the one with that name and value when the step
            // names a value and one has it (two buttons may share a name, each with its own
            // formaction), else the first with that name.
            let named = |o: &&Button| o.name.as_deref() == Some(b.name.as_str());
            let wanted = b.value.as_deref().map(|v| expand(v, vars));
            let own = form
                .buttons
                .iter()
                .filter(named)
                .find(|o| wanted.as_deref() == Some(o.value.as_str()))
                .or_else(|| form.buttons.iter().find(named));
            let Some(own) = own else {
                return Err(format!(
                    "the form has no submit button named {} ({})",
                    shown(Some(&b.name)),
                    form.describe()
                ));
            };
            let value = b
                .value
                .as_deref()
                .map_or_else(|| own.value.clone(), |v| expand(v, vars));
            entries.push((b.name.clone(), value));
            Some(own.clone())
        }
        None => {
            // Pressing Enter clicks the form's default button (HTML §4.10.21.2).
            let first = form.buttons.first().cloned();
            if let Some(Button {
                name: Some(name),
                value,
                ..
            }) = &first
            {
                entries.push((name.clone(), value.clone()));
            }
            first
        }
    };
    // The pressed button's formaction and formmethod override the form's; an action
    // resolves against the document base URL (`<base href>`), an empty one is the page's
    // own URL (HTML §4.10.21.3).
    let action = pressed
        .as_ref()
        .and_then(|b| b.action.clone())
        .unwrap_or_else(|| form.action.clone());
    if let Some(method) = pressed.and_then(|b| b.method) {
        form.method = method;
    }
    let document_base = match &page.base {
        Some(href) => base.join(href).map_err(|e| {
            format!(
                "the page's <base href> {} is not a URL: {e}",
                shown(Some(href))
            )
        })?,
        None => base.clone(),
    };
    let mut url = if action.is_empty() {
        base.clone()
    } else {
        document_base.join(&action).map_err(|e| {
            format!(
                "the form's action {} is not a URL: {e}",
                shown(Some(&action))
            )
        })?
    };
    url.set_fragment(None);
    if form.method == "GET" {
        url.set_query(None);
        if !entries.is_empty() {
            url.query_pairs_mut().extend_pairs(entries.iter());
        }
    }
    Ok((form, url, entries))
}

/// Whether `url` is the endpoint `target` (scheme, host, port and path; query and fragment
/// ignored).
pub fn same_endpoint(url: &str, target: &str) -> bool {
    match (Url::parse(url), Url::parse(target)) {
        (Ok(a), Ok(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
                && a.path() == b.path()
        }
        _ => url.split(['?', '#']).next() == target.split(['?', '#']).next(),
    }
}

/// Whether the browser at `url` has arrived at the redirect URI `target`: the same endpoint,
/// with `target`'s own query kept (RFC 6749 §3.1.2: the response's parameters are added to
/// it). Tells the registered URI from one with an added query.
pub fn lands_at(url: &str, target: &str) -> bool {
    let (Ok(at), Ok(wanted)) = (Url::parse(url), Url::parse(target)) else {
        return same_endpoint(url, target);
    };
    let kept: Vec<_> = at.query_pairs().collect();
    same_endpoint(url, target) && wanted.query_pairs().all(|pair| kept.contains(&pair))
}

/// The parameters of an authorization response: the query's, then the fragment's.
fn response_params(url: &Url) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    for (k, v) in url.query_pairs() {
        params.entry(k.into_owned()).or_insert(v.into_owned());
    }
    if let Some(fragment) = url.fragment() {
        let parsed = Url::parse(&format!("http://x/?{fragment}"));
        if let Ok(f) = parsed {
            for (k, v) in f.query_pairs() {
                params.entry(k.into_owned()).or_insert(v.into_owned());
            }
        }
    }
    params
}

// Valid in both `application/x-www-form-urlencoded` and HTTP Basic's encoded id and secret
// (RFC 6749 §2.3.1).
pub use protocol::urlencoding::{encode as urlencode, encode_pairs as urlencode_pairs};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::SubmitButton;

    const LOGIN: &str = r#"<html><head><title>Logg inn</title></head><body>
<form id="search" method="get" action="/idp/bankid/authorize">
<input type="hidden" name="request_id" value="R1"><input type="search" name="q"></form>
<form id="login" method="post" action="/idp/bankid/authorize">
<input type="hidden" name="request_id" value="R1">
<input type="hidden" name="method" value="bankid">
<input type="text" name="typed_pid" value="">
<input type="password" name="secret">
<button type="submit" name="action" value="typed">Bekreft</button>
<button type="submit" name="pid" value="1">A</button>
<button type="submit" name="cancel" value="1">Avbryt</button>
</form></body></html>"#;

    fn step(fill: &[(&str, &str)], submit: Option<(&str, Option<&str>)>) -> LoginStep {
        LoginStep {
            form: None,
            fill: fill
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            submit: submit.map(|(name, value)| SubmitButton {
                name: name.into(),
                value: value.map(str::to_owned),
            }),
        }
    }

    const VARS: Vars<'static> = Vars {
        pid: "05076600324",
        level: "4",
    };

    #[test]
    fn fills_the_right_form_and_presses_the_button() {
        let page = form::parse(LOGIN);
        let base = Url::parse("http://idp.test/idp/bankid/authorize?client_id=x").unwrap();
        let (form, url, entries) =
            submission(&page, &base, &step(&[("typed_pid", "{pid}")], None), VARS).unwrap();
        assert_eq!(form.id.as_deref(), Some("login"));
        assert_eq!(url.as_str(), "http://idp.test/idp/bankid/authorize");
        assert_eq!(
            urlencode_pairs(&entries),
            "request_id=R1&method=bankid&typed_pid=05076600324&secret=&action=typed"
        );
        let (_, _, entries) =
            submission(&page, &base, &step(&[], Some(("pid", Some("{pid}")))), VARS).unwrap();
        assert_eq!(
            entries.last().unwrap(),
            &("pid".into(), "05076600324".into())
        );
        let (_, _, entries) =
            submission(&page, &base, &step(&[], Some(("cancel", None))), VARS).unwrap();
        assert_eq!(entries.last().unwrap(), &("cancel".into(), "1".into()));
        // A GET form puts the entries in the query.
        let (form, url, _) =
            submission(&page, &base, &step(&[("q", "Nordmann")], None), VARS).unwrap();
        assert_eq!(form.id.as_deref(), Some("search"));
        assert_eq!(
            url.as_str(),
            "http://idp.test/idp/bankid/authorize?request_id=R1&q=Nordmann"
        );
    }

    /// What a browser does with `<base href>`, `formaction`/`formmethod` and the `form`
    /// attribute (HTML §2.4.1, §4.10.18.6, §4.10.17.3), the runner does too.
    #[test]
    fn base_href_formaction_and_form_owners_as_a_browser_reads_them() {
        let html = r#"<html><head><base href="/flow/"></head><body>
<form id="login" method="post" action="login"><input type="hidden" name="txn" value="T1"></form>
<label>Fødselsnummer <input form="login" type="tel" name="pid"></label>
<button form="login" name="action" value="next">Neste</button>
<button form="login" name="cancel" value="1" formaction="/abort" formmethod="get">Avbryt</button>
<form id="other" action=""><input name="q"></form>
</body></html>"#;
        let page = form::parse(html);
        let base = Url::parse("http://idp.test/idp/authorize?client_id=x").unwrap();
        // The action resolves against <base href>; the owned controls are the form's.
        let (_, url, entries) =
            submission(&page, &base, &step(&[("pid", "{pid}")], None), VARS).unwrap();
        assert_eq!(url.as_str(), "http://idp.test/flow/login");
        assert_eq!(
            urlencode_pairs(&entries),
            "txn=T1&pid=05076600324&action=next"
        );
        // The pressed button's formaction and formmethod win.
        let (form, url, _) =
            submission(&page, &base, &step(&[], Some(("cancel", None))), VARS).unwrap();
        assert_eq!(form.method, "GET");
        assert_eq!(url.as_str(), "http://idp.test/abort?txn=T1&pid=&cancel=1");
        // Two buttons of one name: the step's value picks the one pressed.
        let html = r#"<form id="f" method="post" action="/login"><input name="pid">
<button name="action" value="login">Logg inn</button>
<button name="action" value="cancel" formaction="/login?_cancel=1">Avbryt</button></form>"#;
        let twins = form::parse(html);
        let (_, url, entries) = submission(
            &twins,
            &base,
            &step(&[], Some(("action", Some("cancel")))),
            VARS,
        )
        .unwrap();
        assert_eq!(url.as_str(), "http://idp.test/login?_cancel=1");
        assert_eq!(entries.last().unwrap(), &("action".into(), "cancel".into()));
        let (_, url, _) = submission(
            &twins,
            &base,
            &step(&[], Some(("action", Some("login")))),
            VARS,
        )
        .unwrap();
        assert_eq!(url.as_str(), "http://idp.test/login");
        // An empty action is the page's own URL, not the base.
        let (_, url, _) = submission(&page, &base, &step(&[("q", "x")], None), VARS).unwrap();
        assert_eq!(url.as_str(), "http://idp.test/idp/authorize?q=x");
    }

    #[test]
    fn says_why_a_step_does_not_fit() {
        let page = form::parse(LOGIN);
        let base = Url::parse("http://idp.test/").unwrap();
        let e = submission(&page, &base, &step(&[("username", "x")], None), VARS).unwrap_err();
        assert!(e.contains("no form has username"), "{e}");
        assert!(e.contains("#login POST"), "{e}");
        let e = submission(&page, &base, &step(&[], Some(("ok", None))), VARS).unwrap_err();
        assert!(e.contains("button ok"), "{e}");
        let mut s = step(&[("nope", "1")], None);
        s.form = Some("login".into());
        let e = submission(&page, &base, &s, VARS).unwrap_err();
        assert!(e.contains("no field \"nope\""), "{e}");
    }

    #[test]
    fn endpoints_and_params() {
        assert!(same_endpoint(
            "http://localhost:7890/cb?code=1&state=2",
            "http://localhost:7890/cb"
        ));
        assert!(same_endpoint(
            "https://rp.test:443/cb",
            "https://rp.test/cb"
        ));
        assert!(!same_endpoint(
            "http://localhost:7890/cb2",
            "http://localhost:7890/cb"
        ));
        assert!(lands_at(
            "http://localhost:7890/cb?probe=1&code=x",
            "http://localhost:7890/cb?probe=1"
        ));
        assert!(!lands_at(
            "http://localhost:7890/cb?code=x",
            "http://localhost:7890/cb?probe=1"
        ));
        assert!(lands_at(
            "http://localhost:7890/cb?code=x",
            "http://localhost:7890/cb"
        ));
        let url = Url::parse("http://rp/cb?code=a%20b&code=second#state=s").unwrap();
        let p = response_params(&url);
        assert_eq!(p["code"], "a b");
        assert_eq!(p["state"], "s");
        assert_eq!(expand("x{pid}-{level}", VARS), "x05076600324-4");
    }
}
