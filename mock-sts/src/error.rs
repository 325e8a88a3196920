//! Error responses: the RFC 6749 §5.2 JSON body `{error, error_description}` with the HTTP
//! status HelseID (Duende IdentityServer) uses, plus the `DPoP-Nonce` header of RFC 9449 §8
//! and `WWW-Authenticate` for protected resources (RFC 6750 §3, RFC 9449 §7.1).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::oauth::{ErrorCode, ErrorResponse};

/// An OAuth error on its way to the client.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub description: String,
    pub dpop_nonce: Option<String>,
    /// For protected resources: the `WWW-Authenticate` scheme to challenge with.
    pub challenge: Option<&'static str>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> OAuthError {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
            dpop_nonce: None,
            challenge: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidRequest, description)
    }

    /// Client authentication failed. Duende answers 400 (not 401) at the token endpoint
    /// because clients never authenticate with the `Authorization` header here.
    pub fn invalid_client(description: impl Into<String>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidClient, description)
    }

    pub fn with_status(mut self, status: StatusCode) -> OAuthError {
        self.status = status;
        self
    }

    pub fn with_nonce(mut self, nonce: String) -> OAuthError {
        self.dpop_nonce = Some(nonce);
        self
    }

    /// A 401 from a protected resource, with `WWW-Authenticate: <scheme> error=...`.
    pub fn unauthorized(
        scheme: &'static str,
        code: ErrorCode,
        description: impl Into<String>,
    ) -> OAuthError {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            challenge: Some(scheme),
            ..OAuthError::new(code, description)
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = ErrorResponse {
            error: self.code.as_str().to_owned(),
            error_description: Some(self.description.clone()),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(nonce) = self.dpop_nonce
            && let Ok(value) = HeaderValue::from_str(&nonce)
        {
            headers.insert("DPoP-Nonce", value);
        }
        if let Some(scheme) = self.challenge {
            let description = self.description.replace(['"', '\\'], "'");
            let value = format!(
                r#"{scheme} error="{}", error_description="{description}", algs="{}""#,
                self.code.as_str(),
                protocol::jose::Alg::ALL.map(|a| a.as_str()).join(" ")
            );
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// Largest plain-text error body [`json_errors`] carries over into the description.
const MAX_TEXT_ERROR: usize = 4 * 1024;

/// Middleware for JSON APIs (the `/testbed/...` endpoints): an error answer that is not JSON
/// (axum's own rejections answer plain text, a wrong method an empty 405) becomes the
/// `{error, error_description}` body with the same status and headers (`Allow` among them),
/// its text as the description.
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    let path = request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| request.uri().path(), |o| o.0.path())
        .to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT_ERROR)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let description = if !text.is_empty() {
        text
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        format!("{method} is not allowed at {path}")
    } else {
        format!("{path}: {}", status.canonical_reason().unwrap_or("error"))
    };
    // RFC 6749 §4.1.2.1's `server_error` (not a token endpoint code, so not an ErrorCode).
    let error = if status.is_server_error() {
        "server_error"
    } else {
        ErrorCode::InvalidRequest.as_str()
    };
    let body = ErrorResponse {
        error: error.to_owned(),
        error_description: Some(description),
    };
    let mut fresh = (status, axum::Json(body)).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fresh
}
