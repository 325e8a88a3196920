//! The flow log: every HTTP exchange with the STS and its IdPs, kept (bounded) so a vendor or
//! a trainer can see what their client sent and got, with every token decoded. Served at
//! `GET /testbed/flows` (newest first; `?limit=N`, `?client_id=...`).
//!
//! Secrets that would let a reader act as the client or the user are masked: client secrets,
//! PKCE verifiers, refresh tokens and authorization codes show only their first characters.
//! Access tokens, ID tokens, assertions and proofs are shown decoded: they are what one comes
//! here to read, and on a test STS on loopback they guard nothing real.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Sts;
use protocol::urlencoding::decode_lossy as percent_decode;

/// Exchanges kept at most (the flow inspector's pages read them by flow, a page at a time).
pub const CAPACITY: usize = 20_000;
/// Bytes of recorded exchanges kept at most: under endless load the oldest go, so the log
/// holds a fixed amount of memory (some 8,000 token requests with their responses).
pub const MAX_BYTES: usize = 48 * 1024 * 1024;
/// Exchanges `GET /testbed/flows` answers at most.
pub const MAX_JSON_LIMIT: usize = 500;
/// Largest body recorded (longer ones are cut).
const MAX_RECORDED: usize = 64 * 1024;

/// One request and its response.
#[derive(Debug, Clone)]
struct Exchange {
    id: u64,
    at: i64,
    method: String,
    path: String,
    query: String,
    request_headers: Vec<(String, String)>,
    request_body: Bytes,
    status: u16,
    location: Option<String>,
    response_body: Bytes,
    /// The values of an HTML response's hidden form fields (what the browser posts back).
    hidden_values: Vec<String>,
}

impl Exchange {
    /// Roughly the memory it holds.
    fn size(&self) -> usize {
        std::mem::size_of::<Exchange>()
            + self.method.len()
            + self.path.len()
            + self.query.len()
            + self
                .request_headers
                .iter()
                .map(|(k, v)| k.len() + v.len() + 48)
                .sum::<usize>()
            + self.request_body.len()
            + self.location.as_ref().map_or(0, String::len)
            + self.response_body.len()
            + self
                .hidden_values
                .iter()
                .map(|v| v.len() + 24)
                .sum::<usize>()
    }
}

/// The values of `html`'s hidden `<input>` fields (entity-decoded), so a flow can follow a
/// browser from a page to the form it posts.
fn hidden_values(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in html.split("<input").skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        if !tag.contains("type=\"hidden\"") {
            continue;
        }
        if let Some(v) = tag
            .split("value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        {
            let v = v
                .replace("&quot;", "\"")
                .replace("&#34;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&#38;", "&")
                .replace("&amp;", "&");
            if !v.is_empty() {
                out.push(v);
            }
        }
    }
    out
}

/// Where every recorded exchange is also handed, unmasked (a conformance session keeps its
/// recording in the state database).
pub type Sink = Box<dyn Fn(FlowRecord) + Send + Sync>;

#[derive(Default)]
struct Entries {
    /// The id the last exchange got.
    last: u64,
    kept: VecDeque<Exchange>,
    /// What `kept` holds, by [`Exchange::size`].
    bytes: usize,
    flows: crate::flows::FlowIndex,
}

/// What live readers of the log (the flow inspector's page) are told of each exchange.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FlowEvent {
    /// The flow it belongs to, as it stands now.
    pub flow: crate::flows::Flow,
    pub method: String,
    pub path: String,
    pub status: u16,
}

/// Events a slow live reader may lag behind before it misses some.
const LIVE_BUFFER: usize = 1024;

#[derive(Default)]
pub struct FlowLog {
    entries: Mutex<Entries>,
    sink: std::sync::OnceLock<Sink>,
    live: std::sync::OnceLock<tokio::sync::broadcast::Sender<FlowEvent>>,
}

impl std::fmt::Debug for FlowLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowLog")
            .field("sink", &self.sink.get().is_some())
            .finish_non_exhaustive()
    }
}

impl FlowLog {
    fn record(&self, mut e: Exchange) {
        let copy = {
            let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            guard.last += 1;
            e.id = guard.last;
            let size = e.size();
            let mut evicted = false;
            while !guard.kept.is_empty()
                && (guard.kept.len() >= CAPACITY || guard.bytes + size > MAX_BYTES)
            {
                if let Some(old) = guard.kept.pop_front() {
                    guard.bytes = guard.bytes.saturating_sub(old.size());
                }
                evicted = true;
            }
            if evicted {
                let oldest = guard.kept.front().map_or(e.id, |x| x.id);
                guard.flows.forget_before(oldest);
            }
            guard.bytes += size;
            let record = FlowRecord::of(&e);
            let flow = guard.flows.add(&record);
            if let Some(live) = self.live.get()
                && live.receiver_count() > 0
            {
                let _ = live.send(FlowEvent {
                    flow,
                    method: record.method.clone(),
                    path: record.path.clone(),
                    status: record.status,
                });
            }
            guard.kept.push_back(e);
            self.sink.get().map(|_| record)
        };
        if let (Some(sink), Some(record)) = (self.sink.get(), copy) {
            sink(record);
        }
    }

    /// Every exchange recorded from now on, as it is recorded (a reader that falls more than
    /// 1,024 behind misses the oldest).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<FlowEvent> {
        self.live
            .get_or_init(|| tokio::sync::broadcast::channel(LIVE_BUFFER).0)
            .subscribe()
    }

    /// Hands every exchange recorded from now on to `sink` as well (set once; a second call
    /// is refused and returns false).
    pub fn set_sink(&self, sink: Sink) -> bool {
        self.sink.set(sink).is_ok()
    }

    /// The id the next exchange gets: a mark to read [`FlowLog::records_since`] from.
    pub fn next_id(&self) -> u64 {
        let guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        guard.last + 1
    }

    /// The newest flows ([`crate::flows`]) first, of `client` if given (discovery and key
    /// fetches by no client only `with_discovery`), and how many there are.
    pub fn flows_page(
        &self,
        client: Option<&str>,
        with_discovery: bool,
        limit: usize,
        offset: usize,
    ) -> (Vec<crate::flows::Flow>, usize) {
        let guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        guard.flows.page(client, with_discovery, limit, offset)
    }

    /// The flow `id` with its exchanges still kept, oldest first, each as recorded and as
    /// shown (secrets masked, tokens decoded).
    pub fn flow(&self, id: u64) -> Option<(crate::flows::Flow, Vec<(FlowRecord, Value)>)> {
        let guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let flow = guard.flows.get(id)?;
        let first = guard.kept.front().map_or(0, |e| e.id);
        let steps = flow
            .exchanges
            .iter()
            .filter(|x| **x >= first)
            .filter_map(|x| guard.kept.get((x - first) as usize))
            .map(|e| (FlowRecord::of(e), render(e)))
            .collect();
        Some((flow, steps))
    }

    /// The exchanges kept whose id is at least `first`, oldest first, unmasked (for an
    /// in-process reader such as the conformance runner, which judges what a client sent).
    pub fn records_since(&self, first: u64) -> Vec<FlowRecord> {
        let guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .kept
            .iter()
            .filter(|e| e.id >= first)
            .map(FlowRecord::of)
            .collect()
    }
}

/// One recorded exchange as an in-process reader sees it: nothing masked or decoded. Request
/// headers are those of [`SHOWN_HEADERS`] (lower case); an HTML response body is replaced by
/// "(an HTML page)"; bodies are cut at 64 KiB.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct FlowRecord {
    pub id: u64,
    pub at: i64,
    pub method: String,
    /// The path as received (with the issuer's path, if it has one).
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: String,
    pub status: u16,
    pub location: Option<String>,
    pub response_body: String,
    /// The values of an HTML response's hidden form fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_values: Vec<String>,
}

impl FlowRecord {
    fn of(e: &Exchange) -> FlowRecord {
        FlowRecord {
            id: e.id,
            at: e.at,
            method: e.method.clone(),
            path: e.path.clone(),
            query: e.query.clone(),
            request_headers: e.request_headers.clone(),
            request_body: String::from_utf8_lossy(&e.request_body).into_owned(),
            status: e.status,
            location: e.location.clone(),
            response_body: String::from_utf8_lossy(&e.response_body).into_owned(),
            hidden_values: e.hidden_values.clone(),
        }
    }

    /// The first value of request header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request_headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The form body's parameters, decoded, in order (repeated names repeat).
    pub fn form(&self) -> Vec<(String, String)> {
        decode_pairs(&self.request_body)
    }

    /// The query's parameters, decoded, in order.
    pub fn query_params(&self) -> Vec<(String, String)> {
        decode_pairs(&self.query)
    }

    /// A redirect's target without its query, and the query's parameters decoded.
    pub fn location_params(&self) -> Option<(&str, Vec<(String, String)>)> {
        let location = self.location.as_deref()?;
        let (base, query) = location.split_once('?').unwrap_or((location, ""));
        Some((base, decode_pairs(query)))
    }
}

fn decode_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Request headers worth showing.
pub const SHOWN_HEADERS: [&str; 4] = ["dpop", "authorization", "content-type", "cookie"];

/// Middleware that records the exchange (not for `/testbed/...` itself).
pub async fn record(State(sts): State<Arc<Sts>>, request: Request, next: Next) -> Response {
    // The path as sent: under a nested router (an issuer with a path) the URI is shortened.
    let path = request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| request.uri().path(), |o| o.0.path())
        .to_owned();
    if path.contains("/testbed/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let request_body = match to_bytes(body, crate::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) if crate::server::is_body_timeout(&e) => {
            return crate::error::OAuthError::invalid_request(e.to_string())
                .with_status(axum::http::StatusCode::REQUEST_TIMEOUT)
                .into_response();
        }
        Err(_) => {
            return crate::error::OAuthError::invalid_request(format!(
                "the body is larger than {} bytes",
                crate::MAX_BODY_BYTES
            ))
            .with_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
            .into_response();
        }
    };
    let request_headers = parts
        .headers
        .iter()
        .filter(|(k, _)| SHOWN_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("(binary)").to_owned()))
        .collect();
    let method = parts.method.to_string();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let response = next
        .run(Request::from_parts(parts, Body::from(request_body.clone())))
        .await;
    let (parts, body) = response.into_parts();
    let response_body = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let location = parts
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_html = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/html"));
    let exchange = Exchange {
        id: 0,
        at: sts.now(),
        method,
        path,
        query,
        request_headers,
        // Copied to their exact size: a slice would keep the whole receive buffer alive.
        request_body: Bytes::copy_from_slice(&request_body[..request_body.len().min(MAX_RECORDED)]),
        status: parts.status.as_u16(),
        location,
        response_body: if is_html {
            Bytes::from_static(b"(an HTML page)")
        } else {
            Bytes::copy_from_slice(&response_body[..response_body.len().min(MAX_RECORDED)])
        },
        hidden_values: if is_html {
            hidden_values(&String::from_utf8_lossy(&response_body))
        } else {
            Vec::new()
        },
    };
    if exchange.status >= 400 {
        crate::usage::observe(&sts, &FlowRecord::of(&exchange));
    }
    sts.flows.record(exchange);
    Response::from_parts(parts, Body::from(response_body))
}

#[derive(Debug, Deserialize)]
pub struct FlowQuery {
    limit: Option<usize>,
    offset: Option<usize>,
    client_id: Option<String>,
}

/// `GET /testbed/flows`: the newest exchanges first, `limit` (at most 500) from `offset`,
/// with the number that match; `client_id` keeps those of one client (named in the form or
/// query, or as a client assertion's `iss`).
pub async fn flows(
    State(sts): State<Arc<Sts>>,
    q: Result<Query<FlowQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return crate::error::OAuthError::invalid_request(
            "limit and offset must be non-negative whole numbers",
        )
        .into_response();
    };
    let limit = q.limit.unwrap_or(50).min(MAX_JSON_LIMIT);
    let offset = q.offset.unwrap_or(0);
    let guard = sts.flows.entries.lock().unwrap_or_else(|p| p.into_inner());
    let matches = |e: &&Exchange| {
        q.client_id
            .as_deref()
            .is_none_or(|c| crate::flows::client_of(&FlowRecord::of(e)).as_deref() == Some(c))
    };
    let (exchanges, total) = match &q.client_id {
        None => (
            guard
                .kept
                .iter()
                .rev()
                .skip(offset)
                .take(limit)
                .map(render)
                .collect::<Vec<_>>(),
            guard.kept.len(),
        ),
        Some(_) => {
            let all: Vec<&Exchange> = guard.kept.iter().rev().filter(matches).collect();
            let total = all.len();
            let page = all
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(render)
                .collect();
            (page, total)
        }
    };
    drop(guard);
    Json(json!({
        "exchanges": exchanges,
        "total": total,
        "offset": offset,
        "limit": limit,
    }))
    .into_response()
}

fn render(e: &Exchange) -> Value {
    let mut request = Map::new();
    request.insert("method".into(), json!(e.method));
    request.insert("path".into(), json!(e.path));
    if !e.query.is_empty() {
        request.insert("query".into(), params(e.query.as_bytes()));
    }
    let mut headers = Map::new();
    for (k, v) in &e.request_headers {
        let shown = match k.as_str() {
            "dpop" => decode_jwt(v),
            // Only a JWT is shown (decoded, without its signature); anything else sent as a
            // credential (Basic credentials, an api-key sent as a Bearer token) is masked.
            "authorization" => match v.split_once(' ') {
                Some((scheme, token)) if !scheme.eq_ignore_ascii_case("basic") => {
                    json!({ "scheme": scheme, "token": decode_jwt(token) })
                }
                Some((scheme, token)) => json!({ "scheme": scheme, "token": masked(token) }),
                None => masked(v),
            },
            "cookie" => json!("(session cookie)"),
            _ => json!(v),
        };
        headers.insert(k.clone(), shown);
    }
    request.insert("headers".into(), Value::Object(headers));
    if !e.request_body.is_empty() {
        let body = serde_json::from_slice::<Value>(&e.request_body)
            .map(|v| mask(&v))
            .unwrap_or_else(|_| params(&e.request_body));
        request.insert("body".into(), body);
    }
    let mut response = Map::new();
    response.insert("status".into(), json!(e.status));
    if let Some(l) = &e.location {
        response.insert("location".into(), json!(l));
    }
    if !e.response_body.is_empty() {
        let body = serde_json::from_slice::<Value>(&e.response_body)
            .map(|v| mask(&v))
            .unwrap_or_else(|_| json!(String::from_utf8_lossy(&e.response_body)));
        response.insert("body".into(), body);
    }
    json!({ "id": e.id, "at": e.at, "request": request, "response": response })
}

/// Form or query parameters, with tokens decoded and secrets masked.
fn params(raw: &[u8]) -> Value {
    let text = String::from_utf8_lossy(raw);
    let mut map = Map::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let k = percent_decode(k);
        let v = percent_decode(v);
        map.insert(k.clone(), shown(&k, &v));
    }
    Value::Object(map)
}

fn shown(name: &str, value: &str) -> Value {
    match name {
        "client_secret" | "code_verifier" | "refresh_token" | "code" | "password" | "apiKey"
        | "api_key" | "secret" => masked(value),
        // A private JWK's members, should a client post one.
        "d" | "p" | "q" | "dp" | "dq" | "qi" | "k" => masked(value),
        "client_assertion" | "request" | "subject_token" | "token" | "access_token"
        | "id_token" | "id_token_hint" | "accessTokenJwt" | "dPoPProof" => decode_jwt(value),
        _ => json!(value),
    }
}

/// A JSON body with [`shown`]'s rules: at the top level for every name, deeper for all but
/// `code`, which is an authorization code only as a top-level member (deeper it is a FHIR or
/// other coding: `{"system": ..., "code": "fortrolig"}`); a private JWK's members are masked
/// at any depth.
fn mask(v: &Value) -> Value {
    mask_at(v, true)
}

fn mask_at(v: &Value, top: bool) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let shown = match v {
                        Value::String(s) if !top && k == "code" => json!(s),
                        Value::String(s) => shown(k, s),
                        other => mask_at(other, false),
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|i| mask_at(i, false)).collect()),
        other => other.clone(),
    }
}

/// A JWT as `{header, claims}` ([`protocol::jose::decode_unverified`]; the signature is left
/// out, so what is shown cannot be replayed), or, when it is not one, the value masked: in a
/// place for a token, anything else is a credential of some other kind.
fn decode_jwt(token: &str) -> Value {
    match protocol::jose::decode_unverified(token) {
        Ok((header, claims)) => json!({ "jwt": { "header": header, "claims": claims } }),
        Err(_) => masked(token),
    }
}

/// A secret's first characters, enough to tell two apart.
fn masked(value: &str) -> Value {
    json!(format!(
        "{}… (masked)",
        value.chars().take(6).collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_fields_are_read_from_a_page() {
        let html = r#"<form><input type="hidden" name="request_id" value="A&amp;B0123456789ABCDEF"><input type="text" name="pid" value="x"><input name="lang" type="hidden" value="nb"></form>"#;
        assert_eq!(
            hidden_values(html),
            vec!["A&B0123456789ABCDEF".to_owned(), "nb".to_owned()]
        );
    }

    fn exchange(headers: &[(&str, &str)], body: &str) -> Exchange {
        Exchange {
            id: 1,
            at: 0,
            method: "POST".into(),
            path: "/connect/token".into(),
            query: String::new(),
            request_headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            request_body: Bytes::copy_from_slice(body.as_bytes()),
            status: 200,
            location: None,
            response_body: Bytes::new(),
            hidden_values: Vec::new(),
        }
    }

    #[test]
    fn a_code_is_masked_only_where_it_is_an_authorization_code() {
        let body = json!({
            "code": "d2f1c0ffee",
            "meta": {"security": [{"system": "s", "code": "fortrolig"}]},
            "jwk": {"kty": "RSA", "d": "secretvalue"},
        });
        let shown = mask(&body);
        assert_eq!(shown["code"], "d2f1c0… (masked)");
        assert_eq!(shown["meta"]["security"][0]["code"], "fortrolig");
        assert_eq!(shown["jwk"]["d"], "secret… (masked)");
    }

    #[test]
    fn credentials_that_are_not_jwts_are_masked() {
        let secret = "d2f1c0ffee0123456789abcdef012345";
        for headers in [
            vec![("authorization", format!("Bearer {secret}"))],
            vec![("authorization", format!("Basic {secret}"))],
            vec![("authorization", secret.to_owned())],
            vec![("dpop", secret.to_owned())],
        ] {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let shown = render(&exchange(&headers, "")).to_string();
            assert!(!shown.contains(secret), "{shown}");
            assert!(shown.contains("d2f1c0… (masked)"), "{shown}");
        }
        let body = format!("client_assertion={secret}&client_secret={secret}&token={secret}");
        let shown = render(&exchange(&[], &body)).to_string();
        assert!(!shown.contains(secret), "{shown}");
        let json_body = format!(r#"{{"apiKey":"{secret}","jwk":{{"kty":"RSA","d":"{secret}"}}}}"#);
        let shown = render(&exchange(&[], &json_body)).to_string();
        assert!(!shown.contains(secret), "{shown}");
    }

    #[test]
    fn a_jwt_is_shown_decoded_without_its_signature() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl";
        let shown = render(&exchange(&[("authorization", &format!("DPoP {jwt}"))], "")).to_string();
        assert!(shown.contains(r#""sub":"x""#), "{shown}");
        assert!(!shown.contains("c2lnbmF0dXJlc2lnbmF0dXJl"), "{shown}");
    }
}
