//! The HTTP edge: one handler for every method and path, which reads the request, calls
//! [`validate_request`] and renders the outcome. Refusals follow RFC 6750 §3 and RFC 9449
//! §7.1: a `WWW-Authenticate` challenge with `error`, `error_description` (and `scope` on
//! 403, `algs` for DPoP), and the same error in a JSON body.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use protocol::access_token::Scheme;
use protocol::jose::Alg;
use serde_json::{Value, json};

use super::validate::{ApiRefusal, Caller, ProofState, token_kid, validate_request};
use super::{ApiConfig, ApiState, Flaw};

/// Longest `error_description` put in a header.
const MAX_DESCRIPTION_CHARS: usize = 300;
/// `Retry-After` of a 503 (seconds).
const RETRY_AFTER_SECS: u32 = 10;

/// The API's routes: every method and path is protected the same way and answers 200 with
/// the caller when the request passes, so a conformance scenario can name any path.
pub fn router(state: ApiState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match authorize(&state, &method, &uri, &headers).await {
        Ok(caller) => success(&caller, &method, &uri),
        Err(refusal) => refusal_response(&state.config, &refusal),
    }
}

/// Decides a request the way this API does: the issuer's keys (fetched only for a request
/// with a readable token: one without is refused before keys matter, and must not get a
/// 503 when the STS is unreachable), then [`validate_request`] at the state's clock for the
/// request's external URL. `uri` is the request's whole path as received (behind a nested
/// router, its original URI). Other HelseID-protected services of the testbed (the person
/// API) protect themselves with this same function.
pub async fn authorize(
    state: &ApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Caller, ApiRefusal> {
    let now = (state.clock)();
    let url = request_url(&state.config, uri, headers);
    let keys = match token_kid(headers) {
        None => Arc::new(Vec::new()),
        Some(kid) => state
            .jwks
            .keys_for(kid.as_deref(), now)
            .await
            .map_err(|e| ApiRefusal::Unavailable(format!("the issuer's keys: {e}")))?,
    };
    validate_request(
        &state.config,
        &keys,
        ProofState {
            replay: &state.replay,
            nonces: &state.nonces,
        },
        method.as_str(),
        &url,
        headers,
        now,
    )
}

/// The request's external URL: the configured base URL, or `http://` and the `Host`
/// header, followed by the path and query as received.
pub fn request_url(config: &ApiConfig, uri: &Uri, headers: &HeaderMap) -> String {
    let base = match &config.public_base_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| {
                    !h.is_empty()
                        && h.bytes().all(|b| {
                            b.is_ascii_alphanumeric()
                                || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                        })
                })
                // No usable Host: no proof's htu can match, so DPoP requests are refused.
                .unwrap_or("host.invalid");
            format!("http://{host}")
        }
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    format!("{base}{path}")
}

fn success(caller: &Caller, method: &Method, uri: &Uri) -> Response {
    let mut body = json!({
        "ok": true,
        "client_id": caller.client_id,
        "token_type": caller.token_type,
        "scope": caller.scopes.join(" "),
        "security_level": caller.security_level,
        "organisation": caller.organisation,
        "method": method.as_str(),
        "path": uri.path(),
    });
    // Present only when the token has them.
    let optional = [
        ("sub", caller.sub.clone().map(Value::from)),
        ("pid", caller.pid.clone().map(Value::from)),
        ("jkt", caller.jkt.clone().map(Value::from)),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            body[name] = value;
        }
    }
    no_store((StatusCode::OK, axum::Json(body)).into_response())
}

/// The algorithms DPoP proofs may use, space-separated, for the `algs` parameter
/// (RFC 9449 §7.1).
pub fn dpop_algs() -> String {
    Alg::ALL.map(Alg::as_str).join(" ")
}

/// The `WWW-Authenticate` values for `refusal` (none for a 503):
///
/// * no credentials: `DPoP algs="…"` when DPoP is required, else two challenges, `Bearer`
///   and `DPoP algs="…"` (RFC 6750 §3.1: no error code; RFC 9449 §7.2);
/// * otherwise `<scheme> error="<code>", error_description="<text>"`, then
///   `scope="<required scopes>"` on 403 when the API requires any, then `algs="…"` when the
///   scheme is DPoP.
pub fn challenges(config: &ApiConfig, refusal: &ApiRefusal) -> Vec<String> {
    let algs = format!(r#"DPoP algs="{}""#, dpop_algs());
    let Some(code) = refusal.error_code() else {
        return match refusal {
            ApiRefusal::NoCredentials(_) if config.require_dpop => vec![algs],
            ApiRefusal::NoCredentials(_) => vec!["Bearer".to_owned(), algs],
            _ => Vec::new(),
        };
    };
    let scheme = refusal.challenge_scheme(config);
    let mut value = format!(
        r#"{scheme} error="{code}", error_description="{}""#,
        quoted_string_safe(&refusal.to_string())
    );
    // RFC 6750 §3: `scope` lists the scopes needed; for alternatives, the first of them
    // (one of the alternatives suffices, and the list would read as "all of these").
    let needed: Vec<&str> = config
        .required_scopes
        .iter()
        .chain(config.any_of_scopes.first())
        .map(String::as_str)
        .collect();
    if matches!(refusal, ApiRefusal::InsufficientScope { .. }) && !needed.is_empty() {
        value.push_str(&format!(
            r#", scope="{}""#,
            quoted_string_safe(&needed.join(" "))
        ));
    }
    if scheme == Scheme::DPoP {
        value.push_str(&format!(r#", algs="{}""#, dpop_algs()));
    }
    vec![value]
}

/// A refusal as a response: status, challenges (unless [`Flaw::NoWwwAuthenticate`]),
/// `Cache-Control: no-store`, the `DPoP-Nonce` header of a `use_dpop_nonce` refusal
/// (RFC 9449 §9) and a JSON body `{error, error_description}` (no `error` for
/// a bare challenge or a 503). Nothing of the token is echoed.
pub fn refusal_response(config: &ApiConfig, refusal: &ApiRefusal) -> Response {
    let status =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = json!({ "error_description": refusal.to_string() });
    if let Some(code) = refusal.error_code() {
        body["error"] = json!(code);
    } else if matches!(refusal, ApiRefusal::Unavailable(_)) {
        body["error"] = json!("temporarily_unavailable");
    }
    let mut response = no_store((status, axum::Json(body)).into_response());
    let headers = response.headers_mut();
    if !config.has(Flaw::NoWwwAuthenticate) {
        for challenge in challenges(config, refusal) {
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.append(header::WWW_AUTHENTICATE, value);
            }
        }
    }
    if matches!(refusal, ApiRefusal::Unavailable(_)) {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    if let ApiRefusal::UseDpopNonce { nonce, .. } = refusal
        && let Ok(value) = HeaderValue::from_str(nonce)
    {
        headers.insert("DPoP-Nonce", value);
    }
    response
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Text fit for an auth-param quoted-string (RFC 9110 §5.6.4) that RFC 6750 §3 allows in
/// `error_description` (%x20-21 / %x23-5B / %x5D-7E): quotes and backslashes become `'`,
/// `§` the word "section", anything else outside printable ASCII `?`; cut to a readable
/// length.
fn quoted_string_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_DESCRIPTION_CHARS));
    for c in text.chars() {
        match c {
            '"' | '\\' => out.push('\''),
            '§' => out.push_str("section "),
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
        if out.len() >= MAX_DESCRIPTION_CHARS {
            out.truncate(MAX_DESCRIPTION_CHARS);
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::validate::{ScopeError, TokenError};

    fn config() -> ApiConfig {
        ApiConfig::new("https://sts.example", "nhn:api").with_scope("nhn:api/read")
    }

    #[test]
    fn bare_challenges_have_no_error() {
        let none = ApiRefusal::NoCredentials(None);
        assert_eq!(
            challenges(&config(), &none),
            vec![
                "Bearer".to_owned(),
                format!(r#"DPoP algs="{}""#, dpop_algs())
            ]
        );
        assert_eq!(
            challenges(&config().with_dpop(), &none),
            vec![format!(r#"DPoP algs="{}""#, dpop_algs())]
        );
    }

    #[test]
    fn error_challenges_name_scheme_error_and_scope() {
        let bearer = ApiRefusal::InvalidToken {
            scheme: Scheme::Bearer,
            error: TokenError::Signature,
        };
        assert_eq!(
            challenges(&config(), &bearer),
            vec![
                r#"Bearer error="invalid_token", error_description="the access token's signature does not verify with the issuer's key""#
                    .to_owned()
            ]
        );
        let forbidden = ApiRefusal::InsufficientScope {
            scheme: Scheme::DPoP,
            error: ScopeError::Organisation("999977776".into()),
        };
        let got = &challenges(&config(), &forbidden)[0];
        assert!(got.starts_with(r#"DPoP error="insufficient_scope", error_description="this API does not serve organisation 999977776", scope="nhn:api/read", algs="RS256 "#), "{got}");
        // With DPoP required, even a Bearer attempt is challenged with DPoP.
        let got = &challenges(&config().with_dpop(), &bearer)[0];
        assert!(got.starts_with(r#"DPoP error="invalid_token""#), "{got}");
    }

    #[test]
    fn descriptions_are_made_header_safe() {
        assert_eq!(quoted_string_safe("a \"b\" \\ c\u{e6}\n"), "a 'b' ' c??");
        assert_eq!(quoted_string_safe("RFC 9449 §7.1"), "RFC 9449 section 7.1");
        assert_eq!(
            quoted_string_safe(&"x".repeat(1000)).len(),
            MAX_DESCRIPTION_CHARS
        );
    }

    #[test]
    fn url_from_base_or_host() {
        let uri: Uri = "/fhir/Patient?x=1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8081"));
        assert_eq!(
            request_url(&config(), &uri, &headers),
            "http://127.0.0.1:8081/fhir/Patient?x=1"
        );
        let mut public = config();
        public.public_base_url = Some("https://api.example.no/".into());
        assert_eq!(
            request_url(&public, &uri, &headers),
            "https://api.example.no/fhir/Patient?x=1"
        );
        headers.insert(header::HOST, HeaderValue::from_static("evil/x@y"));
        assert_eq!(
            request_url(&config(), &uri, &headers),
            "http://host.invalid/fhir/Patient?x=1"
        );
    }
}
