//! The interactive half of a login (OIDC Core §3.1.2, reference §4.2, §4.8, §4.9, §9):
//! `GET /connect/authorize` with a pushed `request_uri`, the SSO check, HelseID's eID chooser
//! (`/connect/idp`), the hop to the chosen identity provider and its callback
//! (`/connect/federation/callback`), and the redirect with `code`, `state` and `iss`.
//!
//! Errors that cannot be trusted to the client's redirect URI (no valid `request_uri`) are
//! shown as a page; the others go back to the client as `error=` (RFC 6749 §4.1.2.1).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use protocol::endpoints::testbed;
use protocol::jose::{RngError, random_hex};
use protocol::oauth::ErrorCode;
use protocol::pkce;
use protocol::urlencoding::with_query;

use crate::Sts;
use crate::authorization_code::{self, CodeGrant};
use crate::authorization_request::{AuthorizationRequest, Prompt};
use crate::federation::{IdpAnswer, Upstream};
use crate::identity::{self, User};
use crate::par::REQUEST_URI_PREFIX;
use crate::session::{Session, StartError};

/// Time a user has to finish at the identity provider.
pub const LOGIN_LIFETIME_SECS: i64 = 15 * 60;

/// A login in progress between `/connect/authorize` and the IdP's callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    pub request: AuthorizationRequest,
    /// The IdP chosen, with the nonce and PKCE verifier used towards it.
    pub upstream: Option<(String, String, String)>,
    /// Why the user is asked again (step-up).
    pub notice: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AuthorizeQuery {
    client_id: Option<String>,
    request_uri: Option<String>,
}

pub async fn authorize(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    let now = sts.now();
    let Some(request_uri) = q.request_uri else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "request_uri is missing: HelseID requires pushed authorization requests (POST /connect/par first, then send only client_id and request_uri here)",
        );
    };
    if !request_uri.starts_with(REQUEST_URI_PREFIX) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request_uri",
            "request_uri was not issued by this STS",
        );
    }
    // One-time use (RFC 9126 §2.2 recommends it; a reload must start over at PAR).
    let request = match sts.par_requests.take(&request_uri) {
        Some((exp, r)) if exp > now => r,
        Some(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request_uri",
                "request_uri has expired; push the request again",
            );
        }
        None => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request_uri",
                "request_uri is unknown or was already used; push the request again",
            );
        }
    };
    if q.client_id.as_deref() != Some(request.client_id.as_str()) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id does not match the pushed request",
        );
    }
    let session = sts.sessions.from_request(&headers, now);
    begin(&sts, request, session, now)
}

/// Decides what the login needs: nothing (SSO), an IdP, or the chooser.
fn begin(sts: &Sts, request: AuthorizationRequest, session: Option<Session>, now: i64) -> Response {
    if let Some(s) = &session
        && session_satisfies(s, &request, now)
    {
        return issue_code(sts, request, s.user.clone(), s.sid.clone(), None, now);
    }
    if request.prompt == Some(Prompt::None) {
        return error_redirect(
            sts,
            &request,
            ErrorCode::LoginRequired,
            "no session at HelseID satisfies the request, and prompt=none forbids a login page",
        );
    }
    let Some(federation) = sts.federation.as_ref() else {
        return error_redirect(
            sts,
            &request,
            ErrorCode::TemporarilyUnavailable,
            "this testbed runs without identity providers",
        );
    };
    let notice = session
        .filter(|s| request.min_level.is_some_and(|m| s.user.security_level < m))
        .map(|s| format!("You are logged in at security level {}; this service needs level {}. Log in again with an eID at that level.", s.user.security_level, request.min_level.unwrap_or(4)));
    // TestIDP automation and IdP preselection skip the chooser.
    let preselected = if request.test_pid.is_some() {
        federation
            .upstreams
            .iter()
            .find(|u| u.test_automation)
            .map(|u| u.name.clone())
    } else {
        request
            .idp
            .as_deref()
            .and_then(|i| federation.find(i))
            .map(|u| u.name.clone())
    };
    let offered = federation.offering(request.min_level);
    // The transaction id is the `state` towards the IdP (RFC 6749 §10.12) and the handle of
    // the login in progress, so it must not be guessable.
    let tx = match random_hex::<16>() {
        Ok(tx) => tx,
        Err(e) => return no_secret(sts, &request, e),
    };
    let transaction = Transaction {
        request,
        upstream: None,
        notice,
    };
    if sts
        .logins
        .insert(
            tx.clone(),
            transaction.clone(),
            now,
            now + LOGIN_LIFETIME_SECS,
        )
        .is_err()
    {
        return error_redirect(
            sts,
            &transaction.request,
            ErrorCode::TemporarilyUnavailable,
            "too many logins in progress",
        );
    }
    match preselected {
        Some(name) => Redirect::to(
            &sts.config
                .endpoint(&format!("{}?tx={tx}&idp={name}", testbed::IDP_START)),
        )
        .into_response(),
        None if offered.len() == 1 => {
            let name = offered[0].name.clone();
            Redirect::to(
                &sts.config
                    .endpoint(&format!("{}?tx={tx}&idp={name}", testbed::IDP_START)),
            )
            .into_response()
        }
        None => chooser_page(sts, &tx, &transaction, &offered),
    }
}

fn session_satisfies(s: &Session, r: &AuthorizationRequest, now: i64) -> bool {
    r.prompt != Some(Prompt::Login)
        && r.min_level.is_none_or(|m| s.user.security_level >= m)
        && r.max_age.is_none_or(|age| now - s.user.auth_time <= age)
        && r.test_pid.as_deref().is_none_or(|p| p == s.user.pid)
}

fn chooser_page(sts: &Sts, tx: &str, t: &Transaction, offered: &[&Upstream]) -> Response {
    let english = t
        .request
        .ui_locales
        .as_deref()
        .is_some_and(|l| l.starts_with("en"));
    let (title, lead) = if english {
        ("Log in to HelseID", "Choose how you want to log in")
    } else {
        ("Logg inn i HelseID", "Velg hvordan du vil logge inn")
    };
    let mut items = String::new();
    for u in offered {
        let levels: Vec<String> = u.levels.iter().map(|l| format!("{l}")).collect();
        items.push_str(&format!(
            "<li><a class=\"idp\" href=\"{}\">{}</a> <small>({} {})</small></li>",
            escape(
                &sts.config
                    .endpoint(&format!("{}?tx={tx}&idp={}", testbed::IDP_START, u.name))
            ),
            escape(if english {
                &u.display_en
            } else {
                &u.display_nb
            }),
            if english {
                "security level"
            } else {
                "sikkerhetsnivå"
            },
            levels.join("/")
        ));
    }
    let notice = t
        .notice
        .as_deref()
        .map(|n| format!("<p class=\"notice\">{}</p>", escape(n)))
        .unwrap_or_default();
    let body = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;color:#14264a}}\
         h1{{color:#015e6e}}li{{margin:.6rem 0}}a.idp{{font-size:1.2rem}}.notice{{background:#fff3cd;padding:.6rem}}</style></head>\
         <body><h1>{title}</h1>{notice}<p>{lead}</p><ul>{items}</ul>\
         <p><small>HelseID Testbed: {} </small></p></body></html>",
        if english { "en" } else { "nb" },
        escape(&t.request.client_id)
    );
    Html(body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    tx: String,
    idp: String,
}

/// `GET /connect/idp/start`: sends the browser to the chosen IdP.
pub async fn start(State(sts): State<Arc<Sts>>, Query(q): Query<StartQuery>) -> Response {
    let now = sts.now();
    let Some(federation) = sts.federation.as_ref() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "this testbed runs without identity providers",
        );
    };
    let Some(mut t) = sts.logins.get(&q.tx, now) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "this login has expired or is unknown; start again from the application",
        );
    };
    let Some(upstream) = federation.find(&q.idp) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("there is no identity provider {:?}", q.idp),
        );
    };
    if t.request
        .min_level
        .is_some_and(|m| !upstream.levels.iter().any(|l| *l >= m))
    {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!(
                "{} cannot log in at the security level this service needs",
                upstream.display_en
            ),
        );
    }
    // The nonce and the verifier towards the IdP must not be guessable (OIDC Core §15.5.2,
    // RFC 7636 §7.1).
    let (nonce, verifier) = match (random_hex::<16>(), pkce::new_verifier()) {
        (Ok(nonce), Ok(verifier)) => (nonce, verifier),
        (Err(e), _) | (_, Err(e)) => return no_secret(&sts, &t.request, e),
    };
    let challenge = pkce::challenge(&verifier);
    t.upstream = Some((upstream.name.clone(), nonce.clone(), verifier));
    if sts
        .logins
        .insert(q.tx.clone(), t.clone(), now, now + LOGIN_LIFETIME_SECS)
        .is_err()
    {
        return error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            "too many logins in progress",
        );
    }
    let mut params: Vec<(&str, String)> = vec![
        ("client_id", federation.client_id.clone()),
        ("redirect_uri", callback_uri(&sts)),
        ("response_type", "code".into()),
        ("scope", "openid".into()),
        ("state", q.tx.clone()),
        ("nonce", nonce),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256".into()),
    ];
    if let Some(m) = t.request.min_level {
        params.push(("acr_values", format!("Level{m}")));
    }
    if let Some(h) = &t.request.login_hint {
        params.push(("login_hint", h.clone()));
    }
    if let Some(l) = &t.request.ui_locales {
        params.push(("ui_locales", l.clone()));
    }
    if upstream.test_automation
        && let Some(pid) = &t.request.test_pid
    {
        params.push(("test_pid", pid.clone()));
        params.push((
            "test_security_level",
            t.request.test_security_level.unwrap_or(4).to_string(),
        ));
    }
    let url = with_query(
        &format!("{}/authorize", federation.public_issuer(upstream)),
        &params,
    );
    Redirect::to(&url).into_response()
}

pub fn callback_uri(sts: &Sts) -> String {
    sts.config.endpoint(testbed::FEDERATION_CALLBACK)
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /connect/federation/callback`: the IdP sends the browser back with a code.
pub async fn callback(State(sts): State<Arc<Sts>>, Query(q): Query<CallbackQuery>) -> Response {
    let now = sts.now();
    let Some(federation) = sts.federation.as_ref() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "this testbed runs without identity providers",
        );
    };
    let Some(tx) = q.state else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the identity provider's answer has no state",
        );
    };
    let Some((exp, t)) = sts.logins.take(&tx) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "this login is unknown or was already finished",
        );
    };
    if exp <= now {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "this login took too long; start again from the application",
        );
    }
    if let Some(error) = q.error {
        let description = q.error_description.unwrap_or_default();
        return error_redirect(
            &sts,
            &t.request,
            ErrorCode::AccessDenied,
            &format!("the identity provider answered {error}: {description}"),
        );
    }
    let (Some(code), Some((name, nonce, verifier))) = (q.code, t.upstream.clone()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the identity provider's answer has no code",
        );
    };
    let Some(upstream) = federation.find(&name).cloned() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unknown identity provider",
        );
    };
    let assertion = match federation
        .redeem(
            &upstream,
            &IdpAnswer {
                code: &code,
                redirect_uri: &callback_uri(&sts),
                verifier: &verifier,
                nonce: &nonce,
            },
            now,
        )
        .await
    {
        Ok(a) => a,
        Err(e) => return error_redirect(&sts, &t.request, ErrorCode::AccessDenied, &e.to_string()),
    };
    let population = match sts.population() {
        Ok(p) => p,
        Err(e) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                &e.to_string(),
            );
        }
    };
    let Some(user) = identity::from_population(
        &population,
        &assertion.pid,
        assertion.security_level,
        upstream.claimed_scheme(t.request.idp.as_deref()),
        assertion.amr.clone(),
        now,
    ) else {
        return error_redirect(
            &sts,
            &t.request,
            ErrorCode::AccessDenied,
            &format!("{} is not in the population register", assertion.pid),
        );
    };
    if t.request.min_level.is_some_and(|m| user.security_level < m) {
        return error_redirect(
            &sts,
            &t.request,
            ErrorCode::AccessDenied,
            &format!(
                "{} logged the user in at security level {}, below the level {} this service asked for",
                upstream.scheme,
                user.security_level,
                t.request.min_level.unwrap_or(4)
            ),
        );
    }
    let (session, cookie) = match sts.sessions.start(user.clone(), now) {
        Ok(s) => s,
        Err(StartError::Full) => {
            return error_page(
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                "too many sessions",
            );
        }
        Err(StartError::Random(e)) => return no_secret(&sts, &t.request, e),
    };
    let _ = sts.audit(
        now,
        "user_login",
        Some(&t.request.client_id),
        &serde_json::json!({"sid": session.sid, "idp": user.idp, "security_level": user.security_level, "amr": user.amr}),
    );
    issue_code(&sts, t.request, user, session.sid, Some(cookie), now)
}

/// Redirects to the client with a fresh code.
fn issue_code(
    sts: &Sts,
    request: AuthorizationRequest,
    user: User,
    sid: String,
    cookie: Option<HeaderValue>,
    now: i64,
) -> Response {
    let code = match authorization_code::new_code() {
        Ok(code) => code,
        Err(e) => return no_secret(sts, &request, e),
    };
    let grant = CodeGrant {
        request: request.clone(),
        user,
        sid: sid.clone(),
        issued_at: now,
    };
    if sts
        .codes
        .insert(
            code.clone(),
            grant,
            now,
            now + authorization_code::LIFETIME_SECS,
        )
        .is_err()
    {
        return error_redirect(
            sts,
            &request,
            ErrorCode::TemporarilyUnavailable,
            "too many codes outstanding",
        );
    }
    sts.sessions.add_client(&sid, &request.client_id, now);
    let mut params = vec![("code", code)];
    if let Some(s) = &request.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", sts.config.issuer.clone()));
    if let Some(f) = sts.faults.take(crate::fault::Site::AuthorizationResponse) {
        crate::fault::spoil_authorization_response(f, &mut params);
    }
    let mut response = Redirect::to(&with_query(&request.redirect_uri, &params)).into_response();
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// Sends an error to the client's (verified) redirect URI.
fn error_redirect(
    sts: &Sts,
    request: &AuthorizationRequest,
    code: ErrorCode,
    description: &str,
) -> Response {
    let mut params = vec![
        ("error", code.as_str().to_owned()),
        ("error_description", description.to_owned()),
    ];
    if let Some(s) = &request.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", sts.config.issuer.clone()));
    Redirect::to(&with_query(&request.redirect_uri, &params)).into_response()
}

/// The CSPRNG failed while the STS made a secret of the login (its transaction id, the
/// nonce and verifier towards the IdP, the session cookie, the code): the login stops with
/// `temporarily_unavailable` at the client's redirect URI (RFC 6749 §4.1.2.1), an OAuth
/// error the client handles like any other, and nothing guessable was handed out.
fn no_secret(sts: &Sts, request: &AuthorizationRequest, e: RngError) -> Response {
    tracing::error!(error = %e, "no secret could be made for a login");
    error_redirect(
        sts,
        request,
        ErrorCode::TemporarilyUnavailable,
        &format!("{e}, so the STS made no secret for this login; try again"),
    )
}

/// An error shown to the user, not sent to any client.
pub fn error_page(status: StatusCode, error: &str, description: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>HelseID Testbed: {e}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto\"><h1>Innloggingen kan ikke fortsette</h1>\
         <p><code>{e}</code>: {d}</p></body></html>",
        e = escape(error),
        d = escape(description)
    );
    (status, Html(body)).into_response()
}

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
