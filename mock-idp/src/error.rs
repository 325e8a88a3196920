//! The three ways an IdP says no, each mapped to HTTP in one place:
//!
//! - [`PageError`]: an authorization request that cannot be answered by redirect (unknown
//!   client, unregistered `redirect_uri`, RFC 6749 §4.1.2.1 "MUST NOT automatically redirect"),
//!   or a login page whose request is gone: an HTML error page with a 4xx status.
//! - [`AuthorizeError`]: the other authorization errors, sent back to the relying party's
//!   registered redirect URI (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6) with `state` and `iss`
//!   (RFC 9207).
//! - [`TokenError`]: token endpoint errors as RFC 6749 §5.2 JSON.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use protocol::oauth::{ErrorCode, ErrorResponse};

use crate::locale::{Locale, Strings, strings};
use protocol::urlencoding::with_query;

/// An authorization problem shown to the user instead of redirecting.
#[derive(Debug, Clone)]
pub struct PageError {
    pub status: StatusCode,
    pub locale: Locale,
    pub message: String,
}

impl PageError {
    pub fn bad_request(locale: Locale, message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::BAD_REQUEST,
            locale,
            message: message.into(),
        }
    }

    pub fn not_found(locale: Locale, message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            locale,
            message: message.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    lang: &'static str,
    t: &'static Strings,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            lang: self.locale.code(),
            t: strings(self.locale),
            message: &self.message,
        };
        let body = page
            .render()
            // The template has no fallible parts; plain text is the fallback all the same.
            .unwrap_or_else(|_| self.message.clone());
        no_store((self.status, Html(body)).into_response())
    }
}

/// Authorization error codes (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizeCode {
    InvalidRequest,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    LoginRequired,
    RequestNotSupported,
    RequestUriNotSupported,
}

impl AuthorizeCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizeCode::InvalidRequest => "invalid_request",
            AuthorizeCode::UnsupportedResponseType => "unsupported_response_type",
            AuthorizeCode::InvalidScope => "invalid_scope",
            AuthorizeCode::AccessDenied => "access_denied",
            AuthorizeCode::LoginRequired => "login_required",
            AuthorizeCode::RequestNotSupported => "request_not_supported",
            AuthorizeCode::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

/// An authorization error on its way back to the relying party.
#[derive(Debug, Clone)]
pub struct AuthorizeError {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub issuer: String,
    pub code: AuthorizeCode,
    pub description: String,
}

impl IntoResponse for AuthorizeError {
    fn into_response(self) -> Response {
        let mut params = vec![
            ("error", self.code.as_str()),
            ("error_description", self.description.as_str()),
        ];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", &self.issuer));
        no_store(Redirect::to(&with_query(&self.redirect_uri, &params)).into_response())
    }
}

/// Either kind of authorization failure.
#[derive(Debug, Clone)]
pub enum AuthorizeFailure {
    Page(PageError),
    Redirect(Box<AuthorizeError>),
}

impl From<PageError> for AuthorizeFailure {
    fn from(e: PageError) -> Self {
        AuthorizeFailure::Page(e)
    }
}

impl From<AuthorizeError> for AuthorizeFailure {
    fn from(e: AuthorizeError) -> Self {
        AuthorizeFailure::Redirect(Box::new(e))
    }
}

impl IntoResponse for AuthorizeFailure {
    fn into_response(self) -> Response {
        match self {
            AuthorizeFailure::Page(e) => e.into_response(),
            AuthorizeFailure::Redirect(e) => e.into_response(),
        }
    }
}

/// A token endpoint error (RFC 6749 §5.2).
#[derive(Debug, Clone)]
pub struct TokenError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub description: String,
    /// Set when the client tried HTTP Basic: RFC 6749 §5.2 then requires 401 with a
    /// `WWW-Authenticate` challenge.
    pub basic_challenge: bool,
}

impl TokenError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> TokenError {
        TokenError {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
            basic_challenge: false,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> TokenError {
        TokenError::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> TokenError {
        TokenError::new(ErrorCode::InvalidGrant, description)
    }

    /// Client authentication failed: 401 (RFC 6749 §5.2 allows it for every scheme and
    /// requires it for Basic).
    pub fn invalid_client(description: impl Into<String>, basic: bool) -> TokenError {
        TokenError {
            status: StatusCode::UNAUTHORIZED,
            basic_challenge: basic,
            ..TokenError::new(ErrorCode::InvalidClient, description)
        }
    }

    pub fn not_found(description: impl Into<String>) -> TokenError {
        TokenError {
            status: StatusCode::NOT_FOUND,
            ..TokenError::invalid_request(description)
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = ErrorResponse {
            error: self.code.as_str().to_owned(),
            error_description: Some(self.description),
        };
        let mut response = no_store((self.status, axum::Json(body)).into_response());
        if self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="mock-idp""#),
            );
        }
        response
    }
}

/// Responses carrying codes, tokens or per-request pages must not be cached (RFC 6749 §5.1).
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
