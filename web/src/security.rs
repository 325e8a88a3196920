//! The pages' defences: response headers on every HTML page, CSRF tokens on forms that
//! change state, and the api-key on admin actions beyond loopback.
//!
//! - CSP: the pages load only their own stylesheet, run no script, post forms only to the
//!   testbed, and may not be framed. Other HTML (the IdPs' login pages, STS error pages, the
//!   HTML report) gets a policy without scripts that allows their inline styles.
//! - CSRF: a double-submit token. A page sets the random cookie `tb_csrf` (SameSite=Strict,
//!   HttpOnly) and puts the same value in each form; a POST whose field differs from the
//!   cookie is refused with 403. A cross-site form cannot read or set the cookie.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use protocol::jose::constant_time_eq;

/// The policy of the testbed's own pages.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The policy of a page with its own script (no inline script, no other origin).
pub const SCRIPT_PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The policy of every other HTML response (inline styles, no scripts, no framing).
pub const OTHER_HTML_CSP: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";
/// The CSRF cookie.
pub const CSRF_COOKIE: &str = "tb_csrf";
/// The CSRF form field.
pub const CSRF_FIELD: &str = "csrf";

/// Adds the security headers to every HTML response (a page's own CSP is kept).
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/html"));
    if is_html {
        let h = response.headers_mut();
        if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(OTHER_HTML_CSP),
            );
        }
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

/// The value of cookie `name` in the request.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The request's CSRF token, and the `Set-Cookie` value when a new one was made.
pub fn csrf_token(headers: &HeaderMap) -> (String, Option<String>) {
    if let Some(existing) = cookie(headers, CSRF_COOKIE)
        && existing.len() == 32
        && existing.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return (existing.to_owned(), None);
    }
    // Not a long-lived secret: a fresh random value per browser. Without the CSPRNG, the
    // forms cannot be protected, so they refuse (an empty token never verifies).
    let token = protocol::jose::random_hex::<16>().unwrap_or_default();
    let set = format!("{CSRF_COOKIE}={token}; Path=/; SameSite=Strict; HttpOnly");
    (token, Some(set))
}

/// Whether a form's CSRF field matches the request's cookie.
pub fn csrf_ok(headers: &HeaderMap, field: Option<&str>) -> bool {
    match (cookie(headers, CSRF_COOKIE), field) {
        (Some(c), Some(f)) if !c.is_empty() => constant_time_eq(c.as_bytes(), f.as_bytes()),
        _ => false,
    }
}

/// Whether an admin form may act: on loopback always; beyond it only with the api-key in
/// the form's `api_key` field (compared in constant time).
pub fn admin_ok(public: bool, expected: &str, field: Option<&str>) -> bool {
    if !public {
        return true;
    }
    match field {
        Some(f) if !expected.is_empty() => constant_time_eq(f.as_bytes(), expected.as_bytes()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_needs_the_cookie_and_the_same_field() {
        let mut h = HeaderMap::new();
        assert!(!csrf_ok(&h, Some("abc")));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("lang=en; tb_csrf=abc"),
        );
        assert!(csrf_ok(&h, Some("abc")));
        assert!(!csrf_ok(&h, Some("abd")));
        assert!(!csrf_ok(&h, None));
    }

    #[test]
    fn a_new_token_is_made_only_without_a_usable_cookie() {
        let (token, set) = csrf_token(&HeaderMap::new());
        assert_eq!(token.len(), 32);
        assert!(set.unwrap().contains("SameSite=Strict"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("tb_csrf={token}")).unwrap(),
        );
        assert_eq!(csrf_token(&h), (token, None));
    }

    #[test]
    fn admin_forms_need_the_key_only_beyond_loopback() {
        assert!(admin_ok(false, "k", None));
        assert!(!admin_ok(true, "k", None));
        assert!(!admin_ok(true, "k", Some("x")));
        assert!(admin_ok(true, "k", Some("k")));
        assert!(!admin_ok(true, "", Some("")));
    }
}
