//! The bad-input battery: every HTTP endpoint of the STS (discovery, JWKS, token, PAR,
//! authorize, userinfo, revocation, introspection, end session, the eID chooser and the
//! federation callback, Selvbetjening, the Test Token Service, `/testbed/*`, `/metrics`) and
//! of the bundled identity providers gets the wrong method, the wrong content type, an empty
//! body, a 2 MB body, repeated parameters, invalid UTF-8 (`%FF` and raw bytes, in the body,
//! the query and the request line), truncated and garbage JWTs in every parameter and header
//! that carries one (`client_assertion`, `request`, `subject_token`, `id_token_hint`, `token`,
//! `DPoP`, `Authorization: Bearer`/`DPoP`), deep JSON (10,000 nested arrays) and JSON with
//! awkward values in known fields. Then validly signed client assertions, DPoP proofs and
//! request objects whose claims are random.
//!
//! The rules: no 5xx, no panic (a panic hook counts them, also those the server swallows),
//! no request taking more than [`LIMIT`], and no dropped connection except where a 2 MB body
//! may be cut off after the refusal. Each test prints a table of the statuses per endpoint.
//!
//! Run: `cargo test -p mock-sts --test bad_input -- --nocapture` (to see the tables).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "it/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use helseid_reference::client::{Client, TokenRequest};
use protocol::jose::{Alg, b64_encode, hmac_sha256};
use protocol::signing::SigningKey;
use protocol::urlencoding::encode;
use reqwest::Method;
use serde_json::{Map, Value, json};

use support::{API_KEY, Clock, TestClient, Testbed, dpop_key};

/// The most one exchange may take, in a debug build on a busy machine.
const LIMIT: Duration = Duration::from_secs(5);
const TWO_MB: usize = 2 * 1024 * 1024;
const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";
const ASSERTION_TYPE: &str = protocol::client_assertion::ASSERTION_TYPE;
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

// --- panics -------------------------------------------------------------------------------

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts every panic in the process (the server's tasks included: a handler that panics
/// only drops its connection) and hands it on to the default hook.
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

// --- requests and the tally ---------------------------------------------------------------

/// One request, described plainly so it can be printed when it fails.
#[derive(Clone)]
struct Req {
    method: Method,
    /// Path and query, relative to the issuer.
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    /// A refusal may cut the connection before the whole body is sent (2 MB bodies).
    may_close: bool,
}

impl Req {
    fn new(method: Method, target: impl Into<String>) -> Req {
        Req {
            method,
            target: target.into(),
            headers: Vec::new(),
            body: None,
            may_close: false,
        }
    }

    fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Req {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// A header added beside any of the same name.
    fn extra_header(mut self, name: &str, value: impl AsRef<[u8]>) -> Req {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    fn without_header(mut self, name: &str) -> Req {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    fn body(mut self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Req {
        self = self.without_header("content-type");
        if let Some(ct) = content_type {
            self = self.header("content-type", ct);
        }
        self.body = Some(body.into());
        self
    }

    fn form(self, pairs: &[(String, String)]) -> Req {
        self.body(Some(FORM), form_text(pairs))
    }

    fn may_close(mut self) -> Req {
        self.may_close = true;
        self
    }

    fn describe(&self) -> String {
        let body = self.body.as_deref().map_or(String::new(), |b| {
            let text = String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned();
            format!(" body ({} bytes) {text:?}", b.len())
        });
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let v = String::from_utf8_lossy(&v[..v.len().min(120)]).into_owned();
                format!("{n}: {v}")
            })
            .collect();
        let target: String = self.target.chars().take(300).collect();
        format!("{} {target} [{}]{body}", self.method, headers.join("; "))
    }
}

fn form_text(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn query(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", form_text(pairs))
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `pairs` with `name` set to `value` (added when absent).
fn with(mut pairs: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    match pairs.iter_mut().find(|(k, _)| k == name) {
        Some(slot) => slot.1 = value.to_owned(),
        None => pairs.push((name.to_owned(), value.to_owned())),
    }
    pairs
}

/// Statuses per endpoint, and what broke the rules.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<String, BTreeMap<String, usize>>,
    failures: Vec<String>,
    requests: usize,
}

impl Tally {
    fn count(&mut self, endpoint: &str, outcome: String) {
        self.requests += 1;
        *self
            .statuses
            .entry(endpoint.to_owned())
            .or_default()
            .entry(outcome)
            .or_default() += 1;
    }

    fn fail(&mut self, endpoint: &str, case: &str, why: String, req: &Req) {
        self.failures.push(format!(
            "{endpoint} / {case}: {why}\n    {}",
            req.describe()
        ));
    }

    /// Prints the table and fails the test on any rule broken.
    fn finish(self, title: &str) {
        eprintln!("\n{title}: {} requests", self.requests);
        eprintln!("{:<58} {:>5}  statuses", "endpoint", "sent");
        for (endpoint, statuses) in &self.statuses {
            let sent: usize = statuses.values().sum();
            let list: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
            eprintln!("{endpoint:<58} {sent:>5}  {}", list.join(" "));
        }
        let panics = PANICS.load(Ordering::SeqCst);
        eprintln!("panics: {panics}, failures: {}", self.failures.len());
        for f in self.failures.iter().take(40) {
            eprintln!("FAIL {f}");
        }
        assert!(
            self.failures.is_empty(),
            "{} requests broke the rules (first: {})",
            self.failures.len(),
            self.failures[0]
        );
        assert_eq!(panics, 0, "the server panicked");
    }
}

/// The testbed, the clients and tokens the cases are built from, and the tally.
struct Battery {
    tb: Testbed,
    http: reqwest::Client,
    /// The seeded machine client (client credentials, DPoP).
    machine: TestClient,
    /// The seeded login client (PAR, authorization code).
    login: TestClient,
    /// The machine client as the reference client, and an access token it holds.
    machine_ref: Client,
    access_token: String,
    /// A Selvbetjening client and its token.
    sb_ref: Client,
    sb_token: String,
    sb_client_id: String,
    dpop: SigningKey,
    tally: Tally,
}

impl Battery {
    async fn start() -> Battery {
        count_panics();
        let tb = Testbed::start().await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let machine = tb.demo();
        let login = {
            let text =
                std::fs::read_to_string(tb.data_dir().join(mock_sts::seed::DEMO_LOGIN_CLIENT_FILE))
                    .unwrap();
            let file = protocol::client_config::parse(&text).unwrap();
            let jwk = file.private_jwk_json().unwrap();
            TestClient {
                id: file.client_id,
                key: SigningKey::from_private_jwk(&jwk, Alg::PS256).unwrap(),
            }
        };
        let machine_ref = tb.client(&machine);
        let access_token = machine_ref
            .token(&TokenRequest {
                scope: Some("nhn:testbed-api/read".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .response
            .access_token;
        // A Selvbetjening client, registered through the draft endpoint as vendors do.
        let sb_key = SigningKey::generate_ec(Alg::ES256, "sb".into()).unwrap();
        let draft = json!({
            "organizationNumber": "999977774",
            "publicJwk": sb_key.public_jwk().to_json().to_string(),
            "apiScopes": ["nhn:selvbetjening/client"],
        });
        let resp = http
            .post(tb.url("/selvbetjening/v1/client-drafts"))
            .header(protocol::selvbetjening::API_KEY_HEADER, API_KEY)
            .json(&draft)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let sb_client_id = resp.json::<Value>().await.unwrap()["clientId"]
            .as_str()
            .unwrap()
            .to_owned();
        let sb_ref = Client::new(&sb_client_id, &tb.issuer, sb_key).unwrap();
        let sb_token = sb_ref
            .token(&TokenRequest {
                scope: Some("nhn:selvbetjening/client".into()),
                resource: Some("nhn:selvbetjening".into()),
                details: None,
            })
            .await
            .unwrap()
            .response
            .access_token;
        Battery {
            tb,
            http,
            machine,
            login,
            machine_ref,
            access_token,
            sb_ref,
            sb_token,
            sb_client_id,
            dpop: dpop_key(),
            tally: Tally::default(),
        }
    }

    /// Sends `req`, counts its status under `endpoint`, and records a broken rule.
    async fn send(&mut self, endpoint: &str, case: &str, req: Req) -> Option<(u16, String)> {
        if req.target.len() > 60_000 {
            // Longer than an `http::Uri` may be: only a raw request can carry it.
            return self.send_raw_request(endpoint, case, &req).await;
        }
        let url = self.tb.url(&req.target);
        // A request the server may answer without reading its body ends with the server
        // closing the connection; it gets a connection of its own, so that the next request
        // does not meet the closed one in the pool.
        let http = if req.may_close {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(0)
                .build()
                .unwrap()
        } else {
            self.http.clone()
        };
        let mut builder = http.request(req.method.clone(), &url);
        for (name, value) in &req.headers {
            match reqwest::header::HeaderValue::from_bytes(value) {
                Ok(v) => builder = builder.header(name.as_str(), v),
                // Not sendable as a header value (control characters): send it raw instead.
                Err(_) => return self.send_raw_request(endpoint, case, &req).await,
            }
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let start = Instant::now();
        let outcome = tokio::time::timeout(LIMIT, async {
            let resp = builder.send().await?;
            let status = resp.status().as_u16();
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((status, text))
        })
        .await;
        let took = start.elapsed();
        match outcome {
            Err(_) => {
                self.tally.count(endpoint, "timeout".into());
                self.tally
                    .fail(endpoint, case, format!("no answer in {LIMIT:?}"), &req);
                None
            }
            Ok(Err(e)) => {
                self.tally.count(endpoint, "closed".into());
                if !req.may_close {
                    self.tally.fail(
                        endpoint,
                        case,
                        format!("connection failed: {}", e.without_url()),
                        &req,
                    );
                }
                None
            }
            Ok(Ok((status, text))) => {
                self.tally.count(endpoint, status.to_string());
                if status >= 500 {
                    let text: String = text.chars().take(300).collect();
                    self.tally
                        .fail(endpoint, case, format!("{status}: {text}"), &req);
                }
                if took > LIMIT {
                    self.tally
                        .fail(endpoint, case, format!("took {took:?}"), &req);
                }
                Some((status, text))
            }
        }
    }

    /// Writes `req` to the socket byte for byte (for what reqwest refuses to send: raw
    /// bytes in the request line, control characters in headers).
    async fn send_raw_request(
        &mut self,
        endpoint: &str,
        case: &str,
        req: &Req,
    ) -> Option<(u16, String)> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(req.method.as_str().as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(self.issuer_path().as_bytes());
        bytes.extend_from_slice(req.target.as_bytes());
        bytes.extend_from_slice(b" HTTP/1.1\r\n");
        self.finish_raw(endpoint, case, req, bytes).await
    }

    /// Like [`Battery::send_raw_request`], with the request target given as bytes.
    async fn send_raw_target(
        &mut self,
        endpoint: &str,
        case: &str,
        method: &str,
        target: &[u8],
    ) -> Option<(u16, String)> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(method.as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(self.issuer_path().as_bytes());
        bytes.extend_from_slice(target);
        bytes.extend_from_slice(b" HTTP/1.1\r\n");
        let req = Req::new(
            Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET),
            String::from_utf8_lossy(target),
        );
        self.finish_raw(endpoint, case, &req, bytes).await
    }

    async fn finish_raw(
        &mut self,
        endpoint: &str,
        case: &str,
        req: &Req,
        mut bytes: Vec<u8>,
    ) -> Option<(u16, String)> {
        let host = self.tb.issuer.trim_start_matches("http://").to_owned();
        let host = host.split('/').next().unwrap().to_owned();
        bytes.extend_from_slice(format!("Host: {host}\r\nConnection: close\r\n").as_bytes());
        for (name, value) in &req.headers {
            bytes.extend_from_slice(name.as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value);
            bytes.extend_from_slice(b"\r\n");
        }
        let body = req.body.clone().unwrap_or_default();
        if req.body.is_some() {
            bytes.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&body);
        let start = Instant::now();
        let outcome = tokio::time::timeout(
            LIMIT,
            tokio::task::spawn_blocking(move || {
                let mut stream = std::net::TcpStream::connect(&host)?;
                stream.set_read_timeout(Some(LIMIT))?;
                stream.write_all(&bytes)?;
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer)?;
                Ok::<_, std::io::Error>(answer)
            }),
        )
        .await
        .map(|joined| joined.expect("the raw sender does not panic"));
        let took = start.elapsed();
        let answer = match outcome {
            Err(_) => {
                self.tally.count(endpoint, "timeout".into());
                self.tally
                    .fail(endpoint, case, format!("no answer in {LIMIT:?}"), req);
                return None;
            }
            Ok(Err(e)) => {
                self.tally.count(endpoint, "closed".into());
                if !req.may_close {
                    self.tally
                        .fail(endpoint, case, format!("connection failed: {e}"), req);
                }
                return None;
            }
            Ok(Ok(answer)) => answer,
        };
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|s| s.parse::<u16>().ok());
        match status {
            Some(status) => {
                self.tally.count(endpoint, status.to_string());
                if status >= 500 {
                    self.tally
                        .fail(endpoint, case, format!("{status}: {text:.300}"), req);
                }
                if took > LIMIT {
                    self.tally
                        .fail(endpoint, case, format!("took {took:?}"), req);
                }
                Some((status, text))
            }
            None => {
                self.tally.count(endpoint, "closed".into());
                if !req.may_close {
                    self.tally.fail(
                        endpoint,
                        case,
                        format!("no HTTP answer: {:?}", &text[..text.len().min(100)]),
                        req,
                    );
                }
                None
            }
        }
    }

    fn issuer_path(&self) -> String {
        mock_sts::issuer_path(&self.tb.issuer)
    }

    // --- valid parts, made fresh for every request (assertions and proofs are one-use) ---

    fn assertion(&self, c: &TestClient) -> String {
        self.tb.assertion_with(c, Map::new(), json!({}))
    }

    fn token_proof(&self) -> String {
        self.tb.proof(&self.dpop)
    }

    fn proof_for(&self, method: &str, path: &str, access_token: Option<&str>) -> String {
        protocol::dpop::build_proof(
            &self.dpop,
            method,
            &self.tb.url(path),
            self.tb.clock.now(),
            Some(&self.tb.nonce()),
            access_token,
        )
        .unwrap()
    }

    /// `Authorization` and `DPoP` for an API call the way the reference client makes it.
    fn api_headers(
        &self,
        client: &Client,
        token: &str,
        method: Method,
        path: &str,
    ) -> Vec<(String, Vec<u8>)> {
        let built = client
            .api_request(method, &self.tb.url(path), token)
            .unwrap()
            .build()
            .unwrap();
        built
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    fn client_auth(&self, c: &TestClient) -> Vec<(String, String)> {
        pairs(&[
            ("client_id", &c.id),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &self.assertion(c)),
        ])
    }

    /// A request object for the login client, signed with its key.
    fn request_object(&self, changes: &Value) -> String {
        let now = self.tb.clock.now();
        let mut claims = json!({
            "iss": self.login.id, "aud": self.tb.issuer, "client_id": self.login.id,
            "exp": now + 30, "nbf": now, "iat": now, "jti": protocol::jose::random_id(),
            "response_type": "code", "redirect_uri": mock_sts::seed::DEMO_REDIRECT_URI,
            "scope": "openid profile", "state": "s", "nonce": "n",
            "code_challenge": protocol::pkce::challenge(&"v".repeat(43)),
            "code_challenge_method": "S256",
        });
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        self.login.key.sign_jwt(Map::new(), &claims).unwrap()
    }

    fn par_params(&self) -> Vec<(String, String)> {
        let mut p = pairs(&[
            ("response_type", "code"),
            ("redirect_uri", mock_sts::seed::DEMO_REDIRECT_URI),
            ("scope", "openid profile"),
            ("state", "s"),
            ("nonce", "n"),
            (
                "code_challenge",
                &protocol::pkce::challenge(&"v".repeat(43)),
            ),
            ("code_challenge_method", "S256"),
        ]);
        p.extend(self.client_auth(&self.login));
        p
    }
}

// --- the garbage -------------------------------------------------------------------------

/// Broken versions of a valid compact JWS `valid`: truncated, with parts missing, added,
/// swapped or flipped, unsigned (`alg: none`), MAC-signed, with JSON that is not an object
/// or nested 10,000 deep, padded, oversized, with characters JWS never has.
fn broken_jwts(valid: &str) -> Vec<(&'static str, String)> {
    let parts: Vec<&str> = valid.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts.get(2).copied().unwrap_or(""));
    let b64 = |t: &str| b64_encode(t.as_bytes());
    let flip = |t: &str| {
        let mut c: Vec<char> = t.chars().collect();
        if let Some(last) = c.len().checked_sub(3) {
            c[last] = if c[last] == 'A' { 'B' } else { 'A' };
        }
        c.into_iter().collect::<String>()
    };
    let none_header = b64(r#"{"alg":"none","typ":"JWT"}"#);
    let hs_header = b64(r#"{"alg":"HS256","typ":"JWT"}"#);
    let hs_sig = b64_encode(&hmac_sha256(
        b"secret",
        format!("{hs_header}.{p}").as_bytes(),
    ));
    vec![
        ("empty", String::new()),
        ("one dot", ".".into()),
        ("two dots", "..".into()),
        ("one part", "abc".into()),
        ("a.b.c", "a.b.c".into()),
        ("empty objects", "e30.e30.e30".into()),
        ("truncated to half", valid[..valid.len() / 2].into()),
        ("last character cut", valid[..valid.len() - 1].into()),
        ("cut at the second dot", format!("{h}.{p}")),
        ("cut after the second dot", format!("{h}.{p}.")),
        ("four parts", format!("{valid}.{s}")),
        ("five parts (JWE-like)", format!("{h}.{p}.{s}.{s}.{s}")),
        ("flipped signature", format!("{h}.{p}.{}", flip(s))),
        ("flipped payload", format!("{h}.{}.{s}", flip(p))),
        ("swapped header and payload", format!("{p}.{h}.{s}")),
        ("alg none", format!("{none_header}.{p}.")),
        ("alg none with signature", format!("{none_header}.{p}.{s}")),
        ("alg HS256", format!("{hs_header}.{p}.{hs_sig}")),
        ("header an array", format!("{}.{p}.{s}", b64("[]"))),
        ("header a string", format!("{}.{p}.{s}", b64("\"x\""))),
        (
            "payload not JSON",
            format!("{h}.{}.{s}", b64_encode(&[0xff, 0xfe, 0x00])),
        ),
        (
            "deep header",
            format!("{}.{p}.{s}", b64(&"[".repeat(10_000))),
        ),
        (
            "deep payload",
            format!("{h}.{}.{s}", b64(&"{\"a\":".repeat(10_000))),
        ),
        ("padded", format!("{h}==.{p}=.{s}=")),
        ("standard base64", valid.replace('-', "+").replace('_', "/")),
        ("space inside", format!("{h}. {p}.{s}")),
        ("surrounding spaces", format!("  {valid}  ")),
        ("over 64 KiB", format!("{h}.{}.{s}", "A".repeat(70_000))),
        ("non-ASCII", "é.ø.å".into()),
        ("percent signs", "%FF.%00.%".into()),
        ("control characters", "\u{1}.\u{2}.\u{7f}".into()),
    ]
}

/// JSON that reads badly as anything.
fn awkward_json() -> Vec<(&'static str, Value)> {
    let mut deep = json!("x");
    for _ in 0..100 {
        deep = json!([deep]);
    }
    vec![
        ("null", Value::Null),
        ("true", json!(true)),
        ("i64::MIN", json!(i64::MIN)),
        ("u64::MAX", json!(u64::MAX)),
        ("-1e300", json!(-1e300)),
        ("1e300", json!(1e300)),
        ("0.5", json!(0.5)),
        ("empty string", json!("")),
        ("long string", json!("x".repeat(100_000))),
        ("control string", json!("\u{0}\u{1}\u{202e}")),
        ("empty array", json!([])),
        ("empty object", json!({})),
        ("array of junk", json!([null, 1, "a", {}, []])),
        ("100 deep", deep),
        ("number string", json!("-9223372036854775808")),
    ]
}

// --- the endpoints ------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    /// A form body (POST).
    Form,
    /// A JSON body.
    Json,
    /// Query parameters (GET).
    Query,
}

/// One route and method, and the valid-looking request its cases start from.
struct Endpoint {
    label: String,
    method: Method,
    path: String,
    input: Input,
    /// Parameters (form, query) or the JSON body's fields.
    params: Vec<(String, String)>,
    json: Option<Value>,
    headers: Vec<(String, Vec<u8>)>,
}

impl Endpoint {
    fn new(method: Method, path: &str, input: Input) -> Endpoint {
        Endpoint {
            label: format!("{method} {path}"),
            method,
            path: path.to_owned(),
            input,
            params: Vec::new(),
            json: None,
            headers: Vec::new(),
        }
    }

    fn named(mut self, label: &str) -> Endpoint {
        self.label = label.to_owned();
        self
    }

    fn params(mut self, params: Vec<(String, String)>) -> Endpoint {
        self.params = params;
        self
    }

    fn json(mut self, body: Value) -> Endpoint {
        self.json = Some(body);
        self
    }

    fn header(mut self, name: &str, value: &str) -> Endpoint {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers
            .push((name.to_owned(), value.as_bytes().to_vec()));
        self
    }

    fn headers(mut self, headers: Vec<(String, Vec<u8>)>) -> Endpoint {
        for (n, v) in headers {
            self.headers.retain(|(m, _)| !m.eq_ignore_ascii_case(&n));
            self.headers.push((n, v));
        }
        self
    }

    /// The valid-looking request with `params`.
    fn request_with(&self, params: &[(String, String)]) -> Req {
        let mut req = match self.input {
            Input::Query => Req::new(self.method.clone(), query(&self.path, params)),
            Input::Form => Req::new(self.method.clone(), self.path.clone()).form(params),
            Input::Json => Req::new(self.method.clone(), self.path.clone()).body(
                Some(JSON),
                serde_json::to_vec(self.json.as_ref().unwrap_or(&json!({}))).unwrap(),
            ),
        };
        for (n, v) in &self.headers {
            req = req.header(n, v);
        }
        req
    }

    fn request(&self) -> Req {
        self.request_with(&self.params)
    }
}

/// Every route of the STS and the IdPs, each with a valid-looking request. Parts that are
/// single-use (assertions, proofs) are made fresh by [`refresh`] before each case.
fn endpoints(b: &Battery) -> Vec<Endpoint> {
    use Input::*;
    let m = &b.machine;
    let sb = |method: Method, path: &str, input: Input| {
        Endpoint::new(method.clone(), path, input).headers(b.api_headers(
            &b.sb_ref,
            &b.sb_token,
            method,
            path,
        ))
    };
    let mut all = vec![
        Endpoint::new(Method::GET, "/.well-known/openid-configuration", Query),
        Endpoint::new(Method::GET, "/.well-known/openid-configuration/jwks", Query),
        Endpoint::new(Method::GET, "/connect/expiredjwks", Query),
        Endpoint::new(Method::GET, "/connect/availableidps", Query),
        Endpoint::new(Method::POST, "/connect/token", Form)
            .named("POST /connect/token (client_credentials)")
            .params({
                let mut p = pairs(&[("grant_type", "client_credentials"), ("scope", "nhn:testbed-api/read")]);
                p.extend(b.client_auth(m));
                p
            }),
        Endpoint::new(Method::POST, "/connect/token", Form)
            .named("POST /connect/token (token exchange)")
            .params({
                let mut p = pairs(&[
                    ("grant_type", TOKEN_EXCHANGE),
                    ("subject_token", &b.access_token),
                    ("subject_token_type", ACCESS_TOKEN_TYPE),
                    ("scope", "nhn:testbed-api/read"),
                ]);
                p.extend(b.client_auth(m));
                p
            }),
        Endpoint::new(Method::POST, "/connect/token", Form)
            .named("POST /connect/token (authorization_code)")
            .params({
                let mut p = pairs(&[
                    ("grant_type", "authorization_code"),
                    ("code", "0123456789ABCDEF0123456789ABCDEF"),
                    ("redirect_uri", mock_sts::seed::DEMO_REDIRECT_URI),
                    ("code_verifier", &"v".repeat(43)),
                ]);
                p.extend(b.client_auth(&b.login));
                p
            }),
        Endpoint::new(Method::POST, "/connect/token", Form)
            .named("POST /connect/token (refresh_token)")
            .params({
                let mut p = pairs(&[("grant_type", "refresh_token"), ("refresh_token", "0123456789ABCDEF")]);
                p.extend(b.client_auth(&b.login));
                p
            }),
        Endpoint::new(Method::POST, "/connect/par", Form).params(b.par_params()),
        Endpoint::new(Method::GET, "/connect/authorize", Query).params(pairs(&[
            ("client_id", &b.login.id),
            ("request_uri", "urn:ietf:params:oauth:request_uri:00000000000000000000000000000000"),
        ])),
        Endpoint::new(Method::GET, "/connect/idp/start", Query)
            .params(pairs(&[("tx", "0000"), ("idp", "bankid")])),
        Endpoint::new(Method::GET, "/connect/federation/callback", Query)
            .params(pairs(&[("code", "c"), ("state", "s")])),
        Endpoint::new(Method::GET, "/connect/endsession", Query).params(pairs(&[
            ("id_token_hint", &b.access_token),
            ("post_logout_redirect_uri", mock_sts::seed::DEMO_POST_LOGOUT_URI),
            ("state", "s"),
        ])),
        Endpoint::new(Method::GET, "/connect/userinfo", Query).headers(b.api_headers(
            &b.machine_ref,
            &b.access_token,
            Method::GET,
            "/connect/userinfo",
        )),
        Endpoint::new(Method::POST, "/connect/userinfo", Form).headers(b.api_headers(
            &b.machine_ref,
            &b.access_token,
            Method::POST,
            "/connect/userinfo",
        )),
        Endpoint::new(Method::POST, "/connect/revocation", Form).params({
            let mut p = pairs(&[("token", "0123456789ABCDEF"), ("token_type_hint", "refresh_token")]);
            p.extend(b.client_auth(m));
            p
        }),
        Endpoint::new(Method::POST, "/connect/introspect", Form).params({
            let mut p = pairs(&[("token", &b.access_token)]);
            p.extend(b.client_auth(m));
            p
        }),
        Endpoint::new(Method::GET, "/testbed/environment", Query),
        Endpoint::new(Method::GET, "/testbed/flows", Query)
            .params(pairs(&[("limit", "5"), ("offset", "0"), ("client_id", &m.id)])),
        Endpoint::new(Method::GET, "/metrics", Query),
        Endpoint::new(Method::POST, "/selvbetjening/v1/client-drafts", Json)
            .header(protocol::selvbetjening::API_KEY_HEADER, API_KEY)
            .json(json!({
                "organizationNumber": "999977774",
                "publicJwk": SigningKey::generate_ec(Alg::ES256, "d".into()).unwrap().public_jwk().to_json().to_string(),
                "apiScopes": ["nhn:selvbetjening/client"],
                "redirectUris": ["https://rp.example/cb"],
            })),
        sb(Method::GET, "/selvbetjening/v1/client", Query),
        sb(Method::PUT, "/selvbetjening/v1/client", Json).json(json!({
            "apiScopes": ["nhn:selvbetjening/client"],
            "redirectUris": ["https://rp.example/cb"],
        })),
        sb(Method::GET, "/selvbetjening/v1/client-status", Query),
        sb(Method::POST, "/selvbetjening/v1/client-secret", Json)
            .json(SigningKey::generate_ec(Alg::ES256, "n".into()).unwrap().public_jwk().to_json()),
        Endpoint::new(Method::GET, &format!("/selvbetjening/confirm-client/{}", b.sb_client_id), Query)
            .named("GET /selvbetjening/confirm-client/{id}")
            .params(pairs(&[("redirect_port", "7890"), ("redirect_path", "/cb")])),
        Endpoint::new(Method::POST, &format!("/selvbetjening/confirm-client/{}", b.sb_client_id), Form)
            .named("POST /selvbetjening/confirm-client/{id}")
            .params(pairs(&[("redirect_port", "7890")])),
        Endpoint::new(Method::POST, "/ttt/v2/create-test-token-with-key", Json)
            .header(protocol::ttt::AUTH_KEY_HEADER, API_KEY)
            .json(json!({
                "audience": "nhn:testbed-api",
                "createDPoPTokenWithDPoPProof": true,
                "createTillitsrammeverkClaims": true,
                "expirationParameters": {"expirationTimeInSeconds": 600},
                "clientClaimsParameters": {"scope": ["nhn:testbed-api/read"]},
                "userClaimsParameters": {"pid": "05898597468", "securityLevel": "4"},
            })),
    ];
    let rp = mock_idp::conformance_rp();
    let idps: Vec<String> =
        b.tb.sts
            .federation
            .as_ref()
            .map(|f| f.upstreams.iter().map(|u| u.name.clone()).collect())
            .unwrap_or_default();
    assert!(!idps.is_empty(), "the testbed mounts its IdPs");
    for idp in idps {
        let base = format!("/idp/{idp}");
        let authorize = pairs(&[
            ("client_id", &rp.client_id),
            ("redirect_uri", &rp.redirect_uris[0]),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s"),
            ("nonce", "n"),
            (
                "code_challenge",
                &protocol::pkce::challenge(&"v".repeat(43)),
            ),
            ("code_challenge_method", "S256"),
        ]);
        let basic = format!(
            "Basic {}",
            base64_standard(&format!("{}:{}", rp.client_id, rp.client_secret))
        );
        all.extend([
            Endpoint::new(
                Method::GET,
                &format!("{base}/.well-known/openid-configuration"),
                Query,
            ),
            Endpoint::new(Method::GET, &format!("{base}/jwks"), Query),
            Endpoint::new(Method::GET, &format!("{base}/authorize"), Query)
                .params(authorize.clone()),
            Endpoint::new(Method::POST, &format!("{base}/authorize"), Form).params(pairs(&[
                ("request_id", "0000"),
                ("pid", "05757041733"),
                ("method", "bankid"),
                ("action", "login"),
            ])),
            Endpoint::new(Method::POST, &format!("{base}/token"), Form)
                .header("authorization", &basic)
                .params(pairs(&[
                    ("grant_type", "authorization_code"),
                    ("code", "0000"),
                    ("redirect_uri", &rp.redirect_uris[0]),
                    ("code_verifier", &"v".repeat(43)),
                ])),
        ]);
    }
    all
}

fn base64_standard(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The endpoint's request with fresh single-use parts: a new client assertion, DPoP proof
/// and (for APIs) `Authorization`/`DPoP` pair.
fn refresh(b: &Battery, ep: &Endpoint, mut req: Req) -> Req {
    if let Some(body) = &req.body
        && ep.input == Input::Form
        && ep.params.iter().any(|(k, _)| k == "client_assertion")
        && req
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == FORM.as_bytes())
    {
        // Swap the stale assertion of the base parameters for a fresh one.
        let stale = ep
            .params
            .iter()
            .find(|(k, _)| k == "client_assertion")
            .map(|(_, v)| encode(v))
            .unwrap();
        let client = if ep
            .params
            .iter()
            .any(|(k, v)| k == "client_id" && *v == b.login.id)
        {
            &b.login
        } else {
            &b.machine
        };
        let text = String::from_utf8_lossy(body).into_owned();
        if text.contains(&stale) {
            req.body = Some(
                text.replace(&stale, &encode(&b.assertion(client)))
                    .into_bytes(),
            );
        }
    }
    let has_proof = req
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("dpop"));
    if ep.path == "/connect/token" && !has_proof {
        req = req.header("DPoP", b.token_proof());
    }
    if ep.path == "/connect/par" && !has_proof {
        req = req.header("DPoP", b.proof_for("POST", "/connect/par", None));
    }
    if ep.path.starts_with("/selvbetjening/v1/client")
        && ep.path != "/selvbetjening/v1/client-drafts"
    {
        let fresh = b.api_headers(&b.sb_ref, &b.sb_token, ep.method.clone(), &ep.path);
        req = replace_stale(req, &ep.headers, fresh);
    }
    if ep.path == "/connect/userinfo" {
        let fresh = b.api_headers(&b.machine_ref, &b.access_token, ep.method.clone(), &ep.path);
        req = replace_stale(req, &ep.headers, fresh);
    }
    req
}

/// Replaces headers still holding the endpoint's stale value with fresh ones.
fn replace_stale(mut req: Req, stale: &[(String, Vec<u8>)], fresh: Vec<(String, Vec<u8>)>) -> Req {
    for (name, value) in fresh {
        let is_stale = req.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case(&name)
                && stale
                    .iter()
                    .any(|(sn, sv)| sn.eq_ignore_ascii_case(n) && sv == v)
        });
        if is_stale {
            req = req.header(&name, value);
        }
    }
    req
}

/// The cases every endpoint gets, whatever it reads.
fn generic_cases(ep: &Endpoint) -> Vec<(String, Req)> {
    let mut cases: Vec<(String, Req)> = Vec::new();
    let base = ep.request();
    let path = ep.path.clone();
    let mut add = |name: &str, req: Req| cases.push((name.to_owned(), req));

    // Wrong methods.
    for method in [
        "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO",
    ] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        if method != ep.method {
            let mut req = base.clone();
            req.method = method.clone();
            add(&format!("method {method}"), req);
        }
    }
    add("the request as built", base.clone());
    add(
        "no headers at all",
        Req {
            headers: Vec::new(),
            ..base.clone()
        },
    );
    add(
        "garbage cookie",
        base.clone()
            .extra_header("cookie", b"helseid_session=\xff\xfe; a=b; =; ;;".as_slice()),
    );
    add(
        "huge header",
        base.clone().extra_header("x-filler", "x".repeat(60_000)),
    );
    add(
        "query with %FF",
        Req {
            target: format!("{path}?x=%FF&%FF=y&z=%zz&%"),
            ..base.clone()
        },
    );
    let long_query = format!("{path}?q={}", "a".repeat(60_000));
    add(
        "60 KB query",
        Req {
            target: long_query,
            ..base.clone()
        },
    );

    match ep.input {
        Input::Form | Input::Json => {
            let body = base.body.clone().unwrap_or_default();
            let (right, wrong) = if ep.input == Input::Form {
                (FORM, JSON)
            } else {
                (JSON, FORM)
            };
            add(
                "no content type",
                base.clone().without_header("content-type"),
            );
            add(
                &format!("content type {wrong}"),
                base.clone().body(Some(wrong), body.clone()),
            );
            add(
                "content type text/plain",
                base.clone().body(Some("text/plain"), body.clone()),
            );
            add(
                "content type multipart",
                base.clone().body(
                    Some("multipart/form-data; boundary=XX"),
                    b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XX--\r\n"
                        .to_vec(),
                ),
            );
            add(
                "content type with odd parameters",
                base.clone().body(
                    Some(&format!("{right}; charset=iso-8859-1; x")),
                    body.clone(),
                ),
            );
            add(
                "content type of raw bytes",
                base.clone()
                    .header("content-type", b"\xff\xfe/\x80".as_slice()),
            );
            add("empty body", base.clone().body(Some(right), Vec::new()));
            add(
                "2 MB body",
                base.clone()
                    .body(
                        Some(right),
                        format!("a={}", "x".repeat(TWO_MB)).into_bytes(),
                    )
                    .may_close(),
            );
            add(
                "2 MB JSON",
                base.clone()
                    .body(
                        Some(JSON),
                        format!("{{\"a\":\"{}\"}}", "x".repeat(TWO_MB)).into_bytes(),
                    )
                    .may_close(),
            );
            add(
                "100 KB body",
                base.clone().body(
                    Some(right),
                    format!("a={}", "x".repeat(100_000)).into_bytes(),
                ),
            );
            add(
                "raw invalid UTF-8",
                base.clone()
                    .body(Some(right), b"\xff\xfe\xfd=\xc3\x28".to_vec()),
            );
            add(
                "deep JSON arrays",
                base.clone().body(Some(right), "[".repeat(10_000)),
            );
            add(
                "deep JSON objects",
                base.clone().body(Some(right), "{\"a\":".repeat(10_000)),
            );
            add(
                "closed deep JSON",
                base.clone().body(
                    Some(right),
                    format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
                ),
            );
            add(
                "NUL bytes",
                base.clone().body(Some(right), b"\0\0\0=\0&\0".to_vec()),
            );
        }
        Input::Query => {
            add(
                "GET with a form body",
                base.clone().body(Some(FORM), b"a=1&b=%FF".to_vec()),
            );
            add(
                "GET with a 2 MB body",
                base.clone()
                    .body(Some(JSON), "[".repeat(TWO_MB))
                    .may_close(),
            );
        }
    }
    cases
}

/// Cases built from the endpoint's parameters: repeated, emptied, `%FF`, cut escapes.
fn parameter_cases(ep: &Endpoint) -> Vec<(String, Req)> {
    let mut cases: Vec<(String, Req)> = Vec::new();
    let raw = |ep: &Endpoint, text: String| match ep.input {
        Input::Query => Req {
            target: format!("{}?{text}", ep.path),
            ..ep.request()
        },
        _ => ep.request().body(Some(FORM), text.into_bytes()),
    };
    if ep.input == Input::Json {
        // Known fields with awkward values, one at a time, and the body as a non-object.
        let fields: Vec<String> = ep
            .json
            .as_ref()
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        for field in &fields {
            for (what, value) in awkward_json() {
                let mut body = ep.json.clone().unwrap();
                body[field.as_str()] = value;
                cases.push((
                    format!("JSON {field} = {what}"),
                    ep.request()
                        .body(Some(JSON), serde_json::to_vec(&body).unwrap()),
                ));
            }
        }
        for (what, value) in awkward_json() {
            cases.push((
                format!("JSON body {what}"),
                ep.request()
                    .body(Some(JSON), serde_json::to_vec(&value).unwrap()),
            ));
        }
        let text = serde_json::to_string(ep.json.as_ref().unwrap()).unwrap();
        let inner = text.trim_start_matches('{');
        cases.push((
            "JSON with every key twice".into(),
            ep.request().body(
                Some(JSON),
                format!("{{{inner},{inner}").replace("}}", "}") + "}",
            ),
        ));
        cases.push((
            "JSON with an invalid UTF-8 string".into(),
            ep.request()
                .body(Some(JSON), b"{\"audience\":\"\xff\xfe\"}".to_vec()),
        ));
        cases.push((
            "JSON with a lone surrogate escape".into(),
            ep.request()
                .body(Some(JSON), br#"{"audience":"\ud800"}"#.to_vec()),
        ));
        cases.push((
            "JSON cut short".into(),
            ep.request()
                .body(Some(JSON), text.as_bytes()[..text.len() / 2].to_vec()),
        ));
        return cases;
    }
    let p = &ep.params;
    let text = form_text(p);
    cases.push((
        "every parameter twice".into(),
        raw(ep, format!("{text}&{text}")),
    ));
    for (k, v) in p {
        cases.push((
            format!("{k} twice"),
            raw(ep, format!("{text}&{}={}", encode(k), encode(v))),
        ));
        cases.push((
            format!("{k} empty"),
            ep.request_with(&with(p.clone(), k, "")),
        ));
        cases.push((
            format!("{k} = %FF"),
            raw(
                ep,
                text.replace(
                    &format!("{}={}", encode(k), encode(v)),
                    &format!("{}=%FF", encode(k)),
                ),
            ),
        ));
        cases.push((
            format!("{k} long"),
            ep.request_with(&with(p.clone(), k, &"x".repeat(50_000))),
        ));
        cases.push((
            format!("{k} with control characters"),
            ep.request_with(&with(p.clone(), k, "\u{0}\u{1}\r\n\u{202e}<script>")),
        ));
    }
    cases.push(("name %FF".into(), raw(ep, format!("{text}&%FF=1"))));
    cases.push((
        "broken escapes".into(),
        raw(ep, format!("{text}&a=%&b=%z&c=%zz&%=1")),
    ));
    cases.push(("only separators".into(), raw(ep, "&&&===&=&".into())));
    // As many parameters as fit: a body of 64 KiB, a query a URI can hold (http's limit is
    // 64 KiB for the whole of it).
    let count = if ep.input == Input::Query {
        5_000
    } else {
        10_000
    };
    let many: String = (0..count).map(|i| format!("p{i}=&")).collect();
    cases.push((
        format!("{count} parameters"),
        raw(ep, format!("{text}&{many}")),
    ));
    cases
}

/// The parameters and headers of an endpoint that carry a JWT, each with a valid sample.
fn jwt_slots(b: &Battery, ep: &Endpoint) -> Vec<(String, Slot, String)> {
    let mut slots = Vec::new();
    for (k, v) in &ep.params {
        if matches!(
            k.as_str(),
            "client_assertion" | "subject_token" | "id_token_hint" | "request" | "token"
        ) {
            let sample = if v.matches('.').count() == 2 {
                v.clone()
            } else {
                b.access_token.clone()
            };
            slots.push((k.clone(), Slot::Param(k.clone()), sample));
        }
    }
    if ep.path == "/connect/par" {
        slots.push((
            "request".into(),
            Slot::Param("request".into()),
            b.request_object(&json!({})),
        ));
    }
    if ep.path == "/connect/authorize" {
        slots.push((
            "request".into(),
            Slot::Param("request".into()),
            b.request_object(&json!({})),
        ));
    }
    let proof_sample = b.token_proof();
    for (name, _) in &ep.headers {
        if name.eq_ignore_ascii_case("dpop") {
            slots.push((
                "DPoP header".into(),
                Slot::Header("DPoP".into(), String::new()),
                proof_sample.clone(),
            ));
        }
    }
    if matches!(ep.path.as_str(), "/connect/token" | "/connect/par") {
        slots.push((
            "DPoP header".into(),
            Slot::Header("DPoP".into(), String::new()),
            proof_sample.clone(),
        ));
    }
    // The endpoints that read an Authorization header (APIs; and those that must refuse
    // client_secret_basic) get broken tokens in it under each scheme; the others get the
    // fixed cases of [`jwt_cases`].
    let reads_authorization = ep.path == "/connect/userinfo"
        || (ep.path.starts_with("/selvbetjening/v1/client") && !ep.path.ends_with("-drafts"))
        || matches!(
            ep.path.as_str(),
            "/connect/token" | "/connect/par" | "/connect/revocation" | "/connect/introspect"
        )
        || ep.path.ends_with("/token");
    if reads_authorization {
        let token = if ep.path.starts_with("/selvbetjening") {
            &b.sb_token
        } else {
            &b.access_token
        };
        for scheme in ["Bearer ", "DPoP "] {
            slots.push((
                format!("Authorization: {}", scheme.trim()),
                Slot::Header("Authorization".into(), scheme.into()),
                token.clone(),
            ));
        }
    }
    slots
}

#[derive(Clone)]
enum Slot {
    Param(String),
    /// Header name and the text before the token (`Bearer `).
    Header(String, String),
}

fn jwt_cases(b: &Battery, ep: &Endpoint) -> Vec<(String, Req)> {
    let mut cases = Vec::new();
    for (label, slot, sample) in jwt_slots(b, ep) {
        for (what, jwt) in broken_jwts(&sample) {
            let req = match &slot {
                Slot::Param(name) => ep.request_with(&with(ep.params.clone(), name, &jwt)),
                Slot::Header(name, prefix) => ep
                    .request()
                    .header(name, format!("{prefix}{jwt}").into_bytes()),
            };
            cases.push((format!("{label}: {what}"), req));
        }
    }
    // Two of each token header.
    let proof = b.token_proof();
    cases.push((
        "two DPoP headers".into(),
        ep.request()
            .extra_header("DPoP", &proof)
            .extra_header("DPoP", &proof),
    ));
    cases.push((
        "two Authorization headers".into(),
        ep.request()
            .extra_header("Authorization", format!("DPoP {}", b.access_token))
            .extra_header("Authorization", "Bearer x"),
    ));
    for value in [
        "Bearer",
        "DPoP",
        "Bearer  ",
        "Basic",
        "Basic %%%",
        "Basic ////",
        "Negotiate x",
        "bearer a b c",
        "DPoP\tx",
    ] {
        cases.push((
            format!("Authorization {value:?}"),
            ep.request().header("Authorization", value),
        ));
    }
    cases.push((
        "Authorization of raw bytes".into(),
        ep.request()
            .header("Authorization", b"Bearer \xff\xfe\x80".as_slice()),
    ));
    cases.push((
        "DPoP of raw bytes".into(),
        ep.request().header("DPoP", b"\xff.\xfe.\x80".as_slice()),
    ));
    cases
}

// --- the tests ----------------------------------------------------------------------------

/// Every endpoint, every case above; no 5xx, no panic, no hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_survives_bad_input() {
    let mut b = Battery::start().await;
    let all = endpoints(&b);
    for ep in &all {
        let mut cases = generic_cases(ep);
        cases.extend(parameter_cases(ep));
        cases.extend(jwt_cases(&b, ep));
        for (case, req) in cases {
            let req = refresh(&b, ep, req);
            b.send(&ep.label, &case, req).await;
        }
        // Raw bytes in the request line, which no client library will send.
        for (case, target) in [
            (
                "raw bytes in the query",
                [ep.path.as_bytes(), b"?a=\xff\xfe&b=\x80"].concat(),
            ),
            (
                "raw bytes in the path",
                [ep.path.as_bytes(), b"\xff/\xc3\x28"].concat(),
            ),
            (
                "percent-encoded path",
                ep.path.replace('/', "%2F").into_bytes(),
            ),
        ] {
            b.send_raw_target(&ep.label, case, ep.method.as_str(), &target)
                .await;
        }
    }
    // What is not an endpoint.
    for target in [
        "/no/such/endpoint",
        "/%FF",
        "/connect/",
        "/connect/token/",
        "//connect//token",
        "/.well-known/",
        "/idp/nosuch/token",
        "/selvbetjening/confirm-client/",
        "/selvbetjening/confirm-client/%FF",
    ] {
        b.send("(no endpoint)", target, Req::new(Method::GET, target))
            .await;
        b.send(
            "(no endpoint)",
            target,
            Req::new(Method::POST, target).body(Some(FORM), b"a=1".to_vec()),
        )
        .await;
    }
    b.send_raw_target("(no endpoint)", "raw bytes", "GET", b"/\xff\xfe")
        .await;
    b.send_raw_target("(no endpoint)", "no leading slash", "GET", b"connect/token")
        .await;
    b.send_raw_target(
        "(no endpoint)",
        "absolute form",
        "GET",
        format!("{}/connect/token", b.tb.issuer).as_bytes(),
    )
    .await;
    b.send_raw_target("(no endpoint)", "asterisk form", "OPTIONS", b"*")
        .await;
    let tally = std::mem::take(&mut b.tally);
    tally.finish("bad input at every endpoint");
}

/// SplitMix64, for reproducible random claims.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn value(&mut self, now: i64) -> Value {
        let awkward = awkward_json();
        match self.below(4) {
            0 => awkward[self.below(awkward.len())].1.clone(),
            1 => json!(now + self.below(1_000) as i64 - 500),
            2 => json!(self.next() as i64),
            _ => json!(format!("{:x}", self.next())),
        }
    }
}

/// Validly signed client assertions, DPoP proofs and request objects whose claims (and
/// header members) are random: the checks behind the signature see every awkward value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validly_signed_tokens_with_random_claims_are_refused_cleanly() {
    let mut b = Battery::start().await;
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(14);
    let rounds: usize = std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let mut rng = Rng(seed);
    let now = b.tb.clock.now();
    let token_ep = "POST /connect/token (random assertion claims)";
    let proof_ep = "POST /connect/token (random DPoP claims)";
    let par_ep = "POST /connect/par (random request object claims)";

    // Every time claim at every awkward value first (the overflow the protocol properties
    // found: `"iat": -1e300` in a client assertion), then random ones.
    let mut assertion_changes: Vec<Value> = Vec::new();
    for claim in ["iat", "nbf", "exp"] {
        for (_, value) in awkward_json() {
            assertion_changes.push(json!({ claim: value }));
        }
    }
    let claims = [
        "iss",
        "sub",
        "aud",
        "iat",
        "nbf",
        "exp",
        "jti",
        "assertion_details",
        "authorization_details",
    ];
    for _ in 0..rounds {
        let mut changes = Map::new();
        for _ in 0..=rng.below(3) {
            changes.insert(claims[rng.below(claims.len())].into(), rng.value(now));
        }
        assertion_changes.push(Value::Object(changes));
    }
    for changes in assertion_changes {
        let mut header = Map::new();
        if rng.below(4) == 0 {
            header.insert(
                ["typ", "kid", "crit", "jwk"][rng.below(4)].into(),
                rng.value(now),
            );
        }
        let assertion = b.tb.assertion_with(&b.machine, header, changes.clone());
        let form = support::cc_form(
            &b.machine.id,
            assertion,
            &[("scope", "nhn:testbed-api/read")],
        );
        let req = Req::new(Method::POST, "/connect/token")
            .form(&form)
            .header("DPoP", b.token_proof());
        b.send(token_ep, &changes.to_string(), req).await;
    }

    // DPoP proofs: the key is right, the claims and header members are not.
    let proof_claims = ["jti", "htm", "htu", "iat", "nonce", "ath"];
    for round in 0..rounds {
        let mut jwk = b.dpop.public_jwk().to_json();
        jwk.as_object_mut().unwrap().remove("kid");
        let mut header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
        let mut claims = json!({
            "jti": protocol::jose::random_id(), "htm": "POST", "htu": b.tb.token_endpoint(),
            "iat": now, "nonce": b.tb.nonce(),
        });
        for _ in 0..=rng.below(2) {
            claims[proof_claims[rng.below(proof_claims.len())]] = rng.value(now);
        }
        if round % 3 == 0 {
            let member = ["typ", "jwk", "kid", "crit"][rng.below(4)];
            header[member] = rng.value(now);
        }
        let proof = sign_raw(&b.dpop, &header, &claims);
        let form = support::cc_form(
            &b.machine.id,
            b.assertion(&b.machine),
            &[("scope", "nhn:testbed-api/read")],
        );
        let req = Req::new(Method::POST, "/connect/token")
            .form(&form)
            .header("DPoP", proof);
        b.send(proof_ep, &format!("{header} {claims}"), req).await;
    }

    // Request objects signed by the login client, with random claims, pushed to PAR.
    let ro_claims = [
        "iss",
        "aud",
        "client_id",
        "exp",
        "nbf",
        "response_type",
        "redirect_uri",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "resource",
        "acr_values",
        "prompt",
        "max_age",
        "test_pid",
        "test_security_level",
        "on_behalf_of",
        "authorization_details",
        "dpop_jkt",
    ];
    let tr_full = serde_json::from_str::<Value>(include_str!(
        "../../protocol/testdata/tillitsrammeverk/client_example.json"
    ))
    .unwrap()["entry"]
        .clone();
    for round in 0..rounds {
        let mut changes = Map::new();
        for _ in 0..=rng.below(3) {
            changes.insert(ro_claims[rng.below(ro_claims.len())].into(), rng.value(now));
        }
        if round % 4 == 0 {
            // An attestation with one field spoiled.
            let mut tr = tr_full.clone();
            let keys: Vec<String> = tr["practitioner"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            tr["practitioner"][keys[rng.below(keys.len())].as_str()] = rng.value(now);
            changes.insert("authorization_details".into(), json!([tr]));
        }
        let object = b.request_object(&Value::Object(changes.clone()));
        let params = with(b.par_params(), "request", &object);
        let req = Req::new(Method::POST, "/connect/par").form(&params);
        b.send(par_ep, &Value::Object(changes).to_string(), req)
            .await;
    }
    let tally = std::mem::take(&mut b.tally);
    tally.finish("validly signed tokens with random claims");
}

/// A compact JWS over any header.
fn sign_raw(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let mut token = b64_encode(&serde_json::to_vec(header).unwrap());
    token.push('.');
    token.push_str(&b64_encode(&serde_json::to_vec(claims).unwrap()));
    let sig = key.sign_raw(token.as_bytes()).unwrap();
    token.push('.');
    token.push_str(&b64_encode(&sig));
    token
}
