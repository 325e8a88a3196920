//! `GET /connect/endsession` (OpenID Connect RP-Initiated Logout 1.0 §2, reference §4.9):
//! ends the browser's session, tells the session's other clients through front-channel logout
//! frames (OpenID Connect Front-Channel Logout 1.0 §2: `<uri>?iss=..&sid=..`), and sends the
//! browser to a registered `post_logout_redirect_uri`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

use protocol::jose::parse_compact;

use crate::Sts;
use crate::login::{error_page, escape};
use crate::session;
use protocol::urlencoding::with_query;

#[derive(Debug, Deserialize)]
pub struct EndSessionQuery {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

/// The client and session an ID token names, if this STS signed it (expired hints are fine:
/// logging out is always allowed).
fn hint(sts: &Sts, token: &str) -> Result<(String, Option<String>), String> {
    let jws = parse_compact(token).map_err(|e| format!("id_token_hint {e}"))?;
    let kid = jws.header_str("kid").unwrap_or_default();
    let ring = sts.keys().map_err(|e| e.to_string())?;
    let key = ring
        .keys
        .iter()
        .find(|k| k.public.kid.as_deref() == Some(kid))
        .ok_or("id_token_hint is signed with a key this STS never had")?;
    jws.verify(&key.public)
        .map_err(|_| "id_token_hint has a bad signature")?;
    if jws.claim_str("iss") != Some(sts.config.issuer.as_str()) {
        return Err("id_token_hint was issued by another STS".into());
    }
    let client_id = match jws.claims.get("aud") {
        Some(Value::String(a)) => a.clone(),
        Some(Value::Array(a)) => a
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => return Err("id_token_hint has no aud".into()),
    };
    Ok((client_id, jws.claim_str("sid").map(str::to_owned)))
}

pub async fn end_session(
    State(sts): State<Arc<Sts>>,
    headers: HeaderMap,
    Query(q): Query<EndSessionQuery>,
) -> Response {
    let now = sts.now();
    let (client_id, hinted_sid) = match q.id_token_hint.as_deref().map(|t| hint(&sts, t)) {
        Some(Ok((c, s))) => (Some(c), s),
        Some(Err(e)) => return error_page(StatusCode::BAD_REQUEST, "invalid_request", &e),
        None => (None, None),
    };
    let redirect = match (&q.post_logout_redirect_uri, &client_id) {
        (None, _) => None,
        (Some(_), None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "post_logout_redirect_uri needs id_token_hint, so the STS knows which client registered it",
            );
        }
        (Some(uri), Some(c)) => {
            let registered = sts
                .store
                .client(c)
                .ok()
                .flatten()
                .is_some_and(|client| client.post_logout_redirect_uris.contains(uri));
            if !registered {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    &format!("post_logout_redirect_uri {uri:?} is not registered for client {c}"),
                );
            }
            let mut params = Vec::new();
            if let Some(s) = &q.state {
                params.push(("state", s.clone()));
            }
            Some(with_query(uri, &params))
        }
    };
    let sid = sts
        .sessions
        .from_request(&headers, now)
        .map(|s| s.sid)
        .or(hinted_sid);
    let ended = sid.as_deref().and_then(|s| sts.sessions.end(s));
    let frames: Vec<String> = ended
        .as_ref()
        .map(|s| {
            s.clients
                .iter()
                .filter(|c| Some(c.as_str()) != client_id.as_deref())
                .filter_map(|c| sts.store.client(c).ok().flatten())
                .filter_map(|c| c.frontchannel_logout_uri)
                .map(|uri| {
                    with_query(
                        &uri,
                        &[("iss", sts.config.issuer.clone()), ("sid", s.sid.clone())],
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(s) = &ended {
        let _ = sts.audit(
            now,
            "user_logout",
            client_id.as_deref(),
            &serde_json::json!({"sid": s.sid, "frontchannel": frames.len()}),
        );
    }
    let mut response = match (&redirect, frames.is_empty()) {
        (Some(to), true) => Redirect::to(to).into_response(),
        _ => {
            let iframes: String = frames
                .iter()
                .map(|f| format!("<iframe class=\"frontchannel\" src=\"{}\" style=\"display:none\"></iframe>", escape(f)))
                .collect();
            let next = redirect
                .as_deref()
                .map(|r| {
                    format!(
                        "<meta http-equiv=\"refresh\" content=\"1;url={0}\"><p><a id=\"continue\" href=\"{0}\">Fortsett / Continue</a></p>",
                        escape(r)
                    )
                })
                .unwrap_or_default();
            Html(format!(
                "<!doctype html><html lang=\"nb\"><head><meta charset=\"utf-8\"><title>Logget ut</title>{next}</head>\
                 <body style=\"font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto\"><h1>Du er logget ut av HelseID</h1>{iframes}</body></html>"
            ))
            .into_response()
        }
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::clear_cookie());
    response
}
