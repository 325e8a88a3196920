//! The authorization endpoint (RFC 6749 §4.1.1–4.1.2, OIDC Core §3.1.2, RFC 7636 §4.3,
//! RFC 9207), split as a browser meets it:
//!
//! - `GET` with an authorization request: validate it, remember it under a fresh
//!   `request_id`, and show the login page (or, at TestIDP with `test_pid`, log in at once).
//! - `GET` with `request_id`: the same page again, with a search (`q`) or another language
//!   (`lang`).
//! - `POST` (the login form): log the chosen person in and redirect to the relying party with
//!   `code`, `state` and `iss`; or cancel (`access_denied`); or show the page again saying
//!   what was wrong with the person.
//!
//! Request checks, in the order RFC 6749 §4.1.2.1 needs them: the client and its redirect URI
//! first (failures are shown, never redirected), then everything else (failures go back to
//! the redirect URI).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use protocol::jose::random_id;
use protocol::pkce;

use crate::descriptor::{LoginMethod, SecurityLevel};
use crate::error::{AuthorizeCode, AuthorizeError, AuthorizeFailure, PageError, no_store};
use crate::form::{self, Params};
use crate::locale::Locale;
use crate::login_page::{self, LoginView};
use crate::persons::{self, LookupFailure, PersonRow};
use crate::state::{CodeState, IssuedCode, Pending};
use crate::{Idp, IdpFlaw, Shared};
use protocol::urlencoding::with_query;

/// A text in the page's language.
fn tr(locale: Locale, nb: &str, en: &str) -> String {
    match locale {
        Locale::Nb => nb.to_owned(),
        Locale::En => en.to_owned(),
    }
}

fn unknown_idp(locale: Locale, name: &str) -> PageError {
    PageError::not_found(
        locale,
        match locale {
            Locale::Nb => format!("Det finnes ingen identitetstilbyder som heter «{name}»."),
            Locale::En => format!("There is no identity provider named {name:?}."),
        },
    )
}

/// `GET /idp/{idp}/authorize`.
pub async fn show(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(e) => return PageError::bad_request(Locale::default(), e).into_response(),
    };
    let hinted_locale = params
        .get("lang")
        .and_then(Locale::parse)
        .or_else(|| params.get("ui_locales").and_then(Locale::from_ui_locales))
        .unwrap_or_default();
    let Some((index, idp)) = shared.idp(&name) else {
        return unknown_idp(hinted_locale, &name).into_response();
    };
    let now = shared.now();
    if params.has("request_id") && !params.has("client_id") {
        return show_again(&shared, index, &params, now).await;
    }
    let pending = match validate(&shared, index, idp, &params) {
        Ok(p) => p,
        Err(failure) => return failure.into_response(),
    };
    if idp.descriptor.test_automation
        && let Some(test_pid) = params.get("test_pid")
    {
        return log_in_at_once(&shared, idp, pending, test_pid, now);
    }
    let request_id = random_id();
    shared
        .store
        .pending()
        .insert(request_id.clone(), now, pending.clone());
    let hinted = match &pending.login_hint {
        Some(hint) => person_row(&shared, hint),
        None => None,
    };
    let persons = default_persons(&shared).await;
    login_page::render(LoginView {
        idp,
        request_id: &request_id,
        locale: pending.locale,
        methods: &methods_of(idp, &pending),
        selected_method: pending.preselect,
        query: None,
        persons,
        hinted,
        typed_pid: pending.login_hint.as_deref(),
        error: None,
        status: StatusCode::OK,
    })
}

/// The login page again for a remembered request: a search, or the other language.
async fn show_again(shared: &Shared, index: usize, params: &Params, now: i64) -> Response {
    let (request_id, pending, locale) = match remembered(shared, index, params, now) {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let idp = &shared.idps[index];
    let query = params.get("q").map(str::trim).filter(|q| !q.is_empty());
    let persons = match query {
        Some(q) => search(shared, q).await,
        None => default_persons(shared).await,
    };
    let hinted = match (&pending.login_hint, query) {
        (Some(hint), None) => person_row(shared, hint),
        _ => None,
    };
    login_page::render(LoginView {
        idp,
        request_id: &request_id,
        locale,
        methods: &methods_of(idp, &pending),
        selected_method: params.get("method").or(pending.preselect),
        query,
        persons,
        hinted,
        typed_pid: pending.login_hint.as_deref(),
        error: None,
        status: StatusCode::OK,
    })
}

/// `POST /idp/{idp}/authorize`: the login form.
pub async fn submit(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return PageError::bad_request(
            Locale::default(),
            format!(
                "The login form must be posted as application/x-www-form-urlencoded, not {content_type:?}."
            ),
        )
        .into_response();
    }
    let params = match form::parse(&body) {
        Ok(p) => p,
        Err(e) => return PageError::bad_request(Locale::default(), e).into_response(),
    };
    let hinted_locale = params
        .get("lang")
        .and_then(Locale::parse)
        .unwrap_or_default();
    let Some((index, idp)) = shared.idp(&name) else {
        return unknown_idp(hinted_locale, &name).into_response();
    };
    let now = shared.now();
    let (request_id, pending, locale) = match remembered(&shared, index, &params, now) {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let methods = methods_of(idp, &pending);

    if params.has("cancel") {
        shared.store.pending().remove(&request_id);
        if shared.flawed(IdpFlaw::CancelNotReturned) {
            return PageError {
                status: StatusCode::OK,
                locale,
                message: tr(
                    locale,
                    "Innloggingen er avbrutt. Du kan lukke vinduet.",
                    "The login was cancelled. You may close the window.",
                ),
            }
            .into_response();
        }
        return AuthorizeError {
            redirect_uri: pending.redirect_uri,
            state: pending.state,
            issuer: idp.issuer.clone(),
            code: AuthorizeCode::AccessDenied,
            description: "the user cancelled the login".into(),
        }
        .into_response();
    }

    let typed = params.get("typed_pid");
    let again = |error: String| Refusal {
        shared: &shared,
        idp,
        request_id: &request_id,
        locale,
        methods: &methods,
        params: &params,
        error,
    };

    let method_id = params
        .get("method")
        .or(pending.preselect)
        .or_else(|| methods.first().map(|m| m.id));
    let Some(method) = method_id.and_then(|id| methods.iter().find(|m| m.id == id).copied()) else {
        let offered: Vec<&str> = methods.iter().map(|m| m.id).collect();
        return again(match locale {
            Locale::Nb => format!("Velg en av innloggingsmetodene: {}.", offered.join(", ")),
            Locale::En => format!("Choose one of the login methods: {}.", offered.join(", ")),
        })
        .render()
        .await;
    };

    // A person's own button wins over the typed field (which login_hint may have filled).
    let Some(pid) = params.get("pid").or(typed) else {
        return again(tr(
            locale,
            "Velg en person i listen eller skriv inn et fødselsnummer eller D-nummer.",
            "Choose a person from the list or type a national identity number or D-number.",
        ))
        .render()
        .await;
    };
    let person = match persons::lookup(&shared.population, pid, locale) {
        Ok(p) => p,
        Err((_, message)) => return again(message).render().await,
    };
    // Single use: whoever removes the request first logs in.
    if shared.store.pending().remove(&request_id).is_none() {
        return expired(locale).into_response();
    }
    issue_code(&shared, idp, &pending, person.pid.as_str(), method, now)
}

/// A login form that cannot log anyone in: the page again, with the user's choices and what
/// was wrong.
struct Refusal<'a> {
    shared: &'a Shared,
    idp: &'a Idp,
    request_id: &'a str,
    locale: Locale,
    methods: &'a [&'static LoginMethod],
    params: &'a Params,
    error: String,
}

impl Refusal<'_> {
    async fn render(self) -> Response {
        login_page::render(LoginView {
            idp: self.idp,
            request_id: self.request_id,
            locale: self.locale,
            methods: self.methods,
            selected_method: self.params.get("method"),
            query: None,
            persons: default_persons(self.shared).await,
            hinted: None,
            typed_pid: self.params.get("pid").or(self.params.get("typed_pid")),
            error: Some(self.error),
            status: StatusCode::BAD_REQUEST,
        })
    }
}

/// The request a page is for, checked to belong to this IdP, and the page language.
fn remembered(
    shared: &Shared,
    index: usize,
    params: &Params,
    now: i64,
) -> Result<(String, Pending, Locale), PageError> {
    let lang = params.get("lang").and_then(Locale::parse);
    let locale = lang.unwrap_or_default();
    let Some(request_id) = params.get("request_id") else {
        return Err(PageError::bad_request(
            locale,
            tr(
                locale,
                "Forespørselen mangler request_id (eller client_id for en ny innlogging).",
                "The request has no request_id (nor a client_id to start a new login).",
            ),
        ));
    };
    let pending = shared
        .store
        .pending()
        .get_mut(request_id, now)
        .map(|(_, p)| p.clone())
        .ok_or_else(|| expired(locale))?;
    if pending.idp != index {
        return Err(PageError::bad_request(
            locale,
            tr(
                locale,
                "Innloggingsforespørselen hører til en annen identitetstilbyder.",
                "The login request belongs to another identity provider.",
            ),
        ));
    }
    let locale = lang.unwrap_or(pending.locale);
    Ok((request_id.to_owned(), pending, locale))
}

fn expired(locale: Locale) -> PageError {
    PageError::bad_request(
        locale,
        tr(
            locale,
            "Innloggingsforespørselen er ukjent, allerede brukt eller utløpt (etter 30 minutter).",
            "The login request is unknown, already used or expired (after 30 minutes).",
        ),
    )
}

/// Checks an authorization request and makes it a pending one.
fn validate(
    shared: &Shared,
    index: usize,
    idp: &Idp,
    params: &Params,
) -> Result<Pending, AuthorizeFailure> {
    let locale = params
        .get("ui_locales")
        .and_then(Locale::from_ui_locales)
        .or_else(|| params.get("lang").and_then(Locale::parse))
        .unwrap_or_default();

    // Shown, never redirected: without a known client and one of its redirect URIs there is
    // nowhere safe to send an error (RFC 6749 §4.1.2.1, §10.15).
    let client_id = params.get("client_id").ok_or_else(|| {
        PageError::bad_request(
            locale,
            tr(
                locale,
                "Forespørselen mangler client_id.",
                "The authorization request has no client_id.",
            ),
        )
    })?;
    let client = shared.client(client_id).ok_or_else(|| {
        PageError::bad_request(
            locale,
            match locale {
                Locale::Nb => format!(
                    "Klienten «{client_id}» er ikke registrert hos {}.",
                    idp.descriptor.display_name.nb
                ),
                Locale::En => format!(
                    "Client {client_id:?} is not registered with {}.",
                    idp.descriptor.display_name.en
                ),
            },
        )
    })?;
    let redirect_uri = params.get("redirect_uri").ok_or_else(|| {
        PageError::bad_request(
            locale,
            tr(
                locale,
                "Forespørselen mangler redirect_uri.",
                "The authorization request has no redirect_uri.",
            ),
        )
    })?;
    if !registered(shared, &client.redirect_uris, redirect_uri)
        && !shared.added_redirect_uri(client_id, redirect_uri)
    {
        return Err(PageError::bad_request(
            locale,
            match locale {
                Locale::Nb => format!(
                    "redirect_uri «{redirect_uri}» er ikke registrert for klienten «{client_id}». Identitetstilbyderen sender ikke brukeren til uregistrerte adresser."
                ),
                Locale::En => format!(
                    "redirect_uri {redirect_uri:?} is not registered for client {client_id:?}. The identity provider does not send users to unregistered addresses."
                ),
            },
        )
        .into());
    }

    // From here on, errors go back to the relying party.
    let state = params.get("state").map(str::to_owned);
    let refuse = |code: AuthorizeCode, description: String| -> AuthorizeFailure {
        AuthorizeError {
            redirect_uri: redirect_uri.to_owned(),
            state: state.clone(),
            issuer: idp.issuer.clone(),
            code,
            description,
        }
        .into()
    };
    if params.has("request") {
        return Err(refuse(
            AuthorizeCode::RequestNotSupported,
            "request objects are not supported by this identity provider".into(),
        ));
    }
    if params.has("request_uri") {
        return Err(refuse(
            AuthorizeCode::RequestUriNotSupported,
            "request_uri is not supported by this identity provider".into(),
        ));
    }
    match params.get("response_type") {
        None => {
            return Err(refuse(
                AuthorizeCode::InvalidRequest,
                "response_type is missing; use response_type=code".into(),
            ));
        }
        Some("code") => {}
        Some(other) => {
            return Err(refuse(
                AuthorizeCode::UnsupportedResponseType,
                format!("response_type {other:?} is not supported; use response_type=code"),
            ));
        }
    }
    if let Some(mode) = params.get("response_mode")
        && mode != "query"
    {
        return Err(refuse(
            AuthorizeCode::InvalidRequest,
            format!("response_mode {mode:?} is not supported; only query"),
        ));
    }
    if !params
        .get("scope")
        .is_some_and(|s| s.split(' ').any(|s| s == "openid"))
    {
        return Err(refuse(
            AuthorizeCode::InvalidScope,
            "scope must include openid: this is an OpenID Connect provider".into(),
        ));
    }
    let Some(challenge) = params.get("code_challenge") else {
        return Err(refuse(
            AuthorizeCode::InvalidRequest,
            "PKCE is required: send code_challenge with code_challenge_method=S256 (RFC 7636)"
                .into(),
        ));
    };
    match params.get("code_challenge_method") {
        Some("S256") => {}
        None => {
            return Err(refuse(
                AuthorizeCode::InvalidRequest,
                "code_challenge_method is missing, which means plain (RFC 7636 §4.3); only S256 is accepted".into(),
            ));
        }
        Some(other) => {
            return Err(refuse(
                AuthorizeCode::InvalidRequest,
                format!("code_challenge_method {other:?} is not accepted; only S256"),
            ));
        }
    }
    if !pkce::valid_challenge(challenge) {
        return Err(refuse(
            AuthorizeCode::InvalidRequest,
            "code_challenge is not an S256 challenge: 43 base64url characters expected".into(),
        ));
    }
    if params
        .get("prompt")
        .is_some_and(|p| p.split(' ').any(|v| v == "none"))
    {
        return Err(refuse(
            AuthorizeCode::LoginRequired,
            "prompt=none cannot succeed: this identity provider keeps no login sessions".into(),
        ));
    }

    let d = &idp.descriptor;
    let methods: Vec<&'static str> = d
        .methods_for(params.get("acr_values"))
        .iter()
        .map(|m| m.id)
        .collect();
    let mut preselect = None;
    if d.test_automation
        && let Some(level) = params.get("test_security_level")
    {
        let offered = SecurityLevel::from_digit(level)
            .and_then(|l| d.methods.iter().find(|m| m.level == l))
            .ok_or_else(|| {
                refuse(
                    AuthorizeCode::InvalidRequest,
                    format!("test_security_level {level:?} is not offered; use 3 or 4"),
                )
            })?;
        preselect = Some(offered.id);
    }
    Ok(Pending {
        idp: index,
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state,
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: challenge.to_owned(),
        locale,
        login_hint: params.get("login_hint").map(str::to_owned),
        methods,
        preselect,
    })
}

/// HelseID's TestIDP automation: `test_pid` (and `test_security_level`, default 4) log the
/// person in without showing a page.
fn log_in_at_once(
    shared: &Shared,
    idp: &Idp,
    pending: Pending,
    test_pid: &str,
    now: i64,
) -> Response {
    let refuse = |code: AuthorizeCode, description: String| {
        AuthorizeError {
            redirect_uri: pending.redirect_uri.clone(),
            state: pending.state.clone(),
            issuer: idp.issuer.clone(),
            code,
            description,
        }
        .into_response()
    };
    // validate() turned test_security_level into the preselected method; 4 when absent.
    let method = pending
        .preselect
        .and_then(|id| idp.descriptor.method(id))
        .or_else(|| {
            idp.descriptor
                .methods
                .iter()
                .find(|m| m.level == SecurityLevel::Level4)
        });
    let Some(method) = method else {
        return refuse(
            AuthorizeCode::InvalidRequest,
            "this identity provider offers no level 4 login; set test_security_level".into(),
        );
    };
    match persons::lookup(&shared.population, test_pid, Locale::En) {
        Ok(person) => issue_code(shared, idp, &pending, person.pid.as_str(), method, now),
        Err((LookupFailure::Unknown, message)) => {
            refuse(AuthorizeCode::AccessDenied, format!("test_pid: {message}"))
        }
        Err((_, message)) => refuse(
            AuthorizeCode::InvalidRequest,
            format!("test_pid: {message}"),
        ),
    }
}

/// Whether `redirect_uri` is one of `registered`: compared exactly (RFC 9700 §2.1), unless a
/// flaw loosens the comparison (test only).
fn registered(shared: &Shared, registered: &[String], redirect_uri: &str) -> bool {
    let without_query = |u: &str| u.split_once('?').map_or(u, |(base, _)| base).to_owned();
    registered.iter().any(|u| {
        u == redirect_uri
            || (shared.flawed(IdpFlaw::RedirectUriPrefix) && redirect_uri.starts_with(u.as_str()))
            || (shared.flawed(IdpFlaw::RedirectUriQueryIgnored)
                && without_query(u) == without_query(redirect_uri))
    }) || shared.flawed(IdpFlaw::OpenRedirect)
}

/// Stores a code for the logged-in person and sends the browser back with it.
fn issue_code(
    shared: &Shared,
    idp: &Idp,
    pending: &Pending,
    pid: &str,
    method: &'static LoginMethod,
    now: i64,
) -> Response {
    // A code is a secret: from the CSPRNG, and an error response to the client if it fails
    // (RFC 6749 §4.1.2.1 temporarily_unavailable), never a guessable code.
    let code = match protocol::jose::random_hex::<32>() {
        Ok(c) => c,
        Err(_) => {
            let mut params = vec![
                ("error", "temporarily_unavailable"),
                ("error_description", "no authorization code could be made"),
            ];
            if let Some(state) = &pending.state {
                params.push(("state", state));
            }
            params.push(("iss", &idp.issuer));
            return no_store(
                Redirect::to(&with_query(&pending.redirect_uri, &params)).into_response(),
            );
        }
    };
    shared.store.codes().insert(
        code.clone(),
        now,
        IssuedCode {
            idp: pending.idp,
            client_id: pending.client_id.clone(),
            redirect_uri: pending.redirect_uri.clone(),
            code_challenge: pending.code_challenge.clone(),
            nonce: pending.nonce.clone(),
            pid: pid.to_owned(),
            method: method.id,
            auth_time: now,
            issued_at: now,
            state: CodeState::Issued,
        },
    );
    let changed_state = pending.state.as_ref().map(|s| format!("{s}-changed"));
    let state = if shared.flawed(IdpFlaw::ChangedState) {
        changed_state.as_ref()
    } else {
        pending.state.as_ref()
    };
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", &idp.issuer));
    no_store(Redirect::to(&with_query(&pending.redirect_uri, &params)).into_response())
}

fn methods_of(idp: &Idp, pending: &Pending) -> Vec<&'static LoginMethod> {
    pending
        .methods
        .iter()
        .filter_map(|id| idp.descriptor.method(id))
        .collect()
}

/// The default person list, made once (it walks the start of the population).
async fn default_persons(shared: &Shared) -> Vec<PersonRow> {
    if let Some(rows) = shared.default_persons.get() {
        return rows.clone();
    }
    let population = shared.population.clone();
    let rows = tokio::task::spawn_blocking(move || persons::default_list(&population))
        .await
        .unwrap_or_default();
    shared.default_persons.get_or_init(|| rows).clone()
}

/// A name search scans the population: off the async threads.
async fn search(shared: &Shared, query: &str) -> Vec<PersonRow> {
    let population = shared.population.clone();
    let query = query.to_owned();
    tokio::task::spawn_blocking(move || persons::search(&population, &query))
        .await
        .unwrap_or_default()
}

/// The person a `login_hint` names, if it is a known identity number.
fn person_row(shared: &Shared, hint: &str) -> Option<PersonRow> {
    persons::lookup(&shared.population, hint, Locale::En)
        .ok()
        .map(|p| PersonRow::of(&p))
}
