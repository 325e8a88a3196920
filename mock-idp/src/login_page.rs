//! The login page: one IdP's look and words, the login methods on offer, a person search
//! (a GET form, so no JavaScript), a field for a typed identity number, and the persons to
//! pick, each its own submit button. Plain HTML forms; askama escapes every value.
//!
//! Every link and form carries `request_id` (the pending authorization request, kept
//! server-side) and `lang`, so a plain HTTP client can finish the login by reading the form
//! and posting it back.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::Idp;
use crate::descriptor::LoginMethod;
use crate::error::no_store;
use crate::locale::{Locale, Strings, strings};
use crate::persons::PersonRow;
use protocol::urlencoding::with_query;

/// What to show on one rendering of the page.
#[derive(Debug)]
pub struct LoginView<'a> {
    pub idp: &'a Idp,
    pub request_id: &'a str,
    pub locale: Locale,
    /// The methods on offer.
    pub methods: &'a [&'static LoginMethod],
    /// The method to check; the first when `None`.
    pub selected_method: Option<&'a str>,
    /// The search, if one was made.
    pub query: Option<&'a str>,
    pub persons: Vec<PersonRow>,
    /// The person `login_hint` named, shown first and marked.
    pub hinted: Option<PersonRow>,
    /// The typed-number field's value.
    pub typed_pid: Option<&'a str>,
    pub error: Option<String>,
    pub status: StatusCode,
}

struct MethodView {
    id: &'static str,
    label: &'static str,
    level: &'static str,
    checked: bool,
}

struct PersonView {
    pid: String,
    name: String,
    d_number: bool,
    hpr: Option<String>,
    profession: String,
    hinted: bool,
}

impl PersonView {
    fn of(row: PersonRow, hinted: bool) -> PersonView {
        PersonView {
            pid: row.pid,
            name: row.name,
            d_number: row.d_number,
            hpr: row.hpr,
            profession: row.profession.unwrap_or_default(),
            hinted,
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    lang: &'static str,
    other_lang: &'static str,
    t: &'static Strings,
    name: &'static str,
    display_name: &'static str,
    brand: &'static str,
    accent: &'static str,
    on_accent: &'static str,
    background: &'static str,
    font: &'static str,
    heading: &'static str,
    intro: &'static str,
    method_heading: &'static str,
    submit: &'static str,
    action: String,
    toggle_url: String,
    request_id: &'a str,
    query: &'a str,
    typed_pid: &'a str,
    error: Option<String>,
    methods: Vec<MethodView>,
    persons: Vec<PersonView>,
}

/// The page as a response.
pub fn render(view: LoginView<'_>) -> Response {
    let d = &view.idp.descriptor;
    let look = &d.look;
    let locale = view.locale;
    let action = view.idp.endpoint("/authorize");
    let mut toggle = vec![
        ("request_id", view.request_id),
        ("lang", locale.other().code()),
    ];
    if let Some(q) = view.query {
        toggle.push(("q", q));
    }
    let selected = view
        .selected_method
        .filter(|id| view.methods.iter().any(|m| m.id == *id))
        .or_else(|| view.methods.first().map(|m| m.id));
    let methods = view
        .methods
        .iter()
        .map(|m| MethodView {
            id: m.id,
            label: m.label.get(locale),
            level: m.level.as_claim(),
            checked: Some(m.id) == selected,
        })
        .collect();
    let hinted_pid = view.hinted.as_ref().map(|h| h.pid.clone());
    let mut persons: Vec<PersonView> = Vec::with_capacity(view.persons.len() + 1);
    if let Some(h) = view.hinted {
        persons.push(PersonView::of(h, true));
    }
    persons.extend(
        view.persons
            .into_iter()
            .filter(|p| Some(&p.pid) != hinted_pid.as_ref())
            .map(|p| PersonView::of(p, false)),
    );
    let page = LoginPage {
        lang: locale.code(),
        other_lang: locale.other().code(),
        t: strings(locale),
        name: d.name,
        display_name: d.display_name.get(locale),
        brand: look.brand,
        accent: look.accent,
        on_accent: look.on_accent,
        background: look.background,
        font: look.font,
        heading: look.heading.get(locale),
        intro: look.intro.get(locale),
        method_heading: look.method_heading.get(locale),
        submit: look.submit.get(locale),
        toggle_url: with_query(&action, &toggle),
        action,
        request_id: view.request_id,
        query: view.query.unwrap_or_default(),
        typed_pid: view.typed_pid.unwrap_or_default(),
        error: view.error,
        methods,
        persons,
    };
    match page.render() {
        Ok(html) => no_store((view.status, Html(html)).into_response()),
        // Rendering only fails if a value's Display fails, which none of these do; say so
        // rather than panic.
        Err(e) => no_store(
            (
                StatusCode::BAD_REQUEST,
                format!("the login page could not be rendered: {e}"),
            )
                .into_response(),
        ),
    }
}
