//! The harness: the IdPs on a free loopback port with a clock the test controls, a relying
//! party's PKCE and token calls, and a small reader for the login page's forms.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use mock_idp::{IdpSettings, MockIdps, OffsetClock, RegisteredRp};
use serde_json::Value;
use synthpop::Population;

pub const CLIENT_ID: &str = "helseid-testbed-sts";
pub const CLIENT_SECRET: &str = "sts-secret-for-tests";
pub const REDIRECT_URI: &str = "http://sts.test/idp-callback";

/// Every bundled IdP's name.
pub const ALL_IDPS: [&str; 6] = [
    "testidp",
    "idporten",
    "bankid",
    "buypass",
    "commfides",
    "jobbkonto",
];

/// One small population for every test (building it is cheap, but once is enough).
pub fn population() -> Arc<Population> {
    static POP: OnceLock<Arc<Population>> = OnceLock::new();
    POP.get_or_init(|| Arc::new(Population::new(7, 3_000).unwrap()))
        .clone()
}

pub struct Idps {
    pub base: String,
    pub clock: Arc<OffsetClock>,
    pub idps: MockIdps,
    /// Follows no redirects: the test reads `Location` as a relying party would.
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Idps {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Idps {
    pub async fn start() -> Idps {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let clock = Arc::new(OffsetClock::new());
        let settings = IdpSettings::new(&base, population())
            .with_client(RegisteredRp {
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                redirect_uris: vec![REDIRECT_URI.into(), "http://sts.test/other?x=1".into()],
            })
            .with_clock(clock.clone());
        let idps = MockIdps::new(settings).unwrap();
        let app = idps.router();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Idps {
            base,
            clock,
            idps,
            http,
            server,
        }
    }

    pub fn issuer(&self, idp: &str) -> String {
        format!("{}/idp/{idp}", self.base)
    }

    pub fn url(&self, idp: &str, path: &str) -> String {
        format!("{}{path}", self.issuer(idp))
    }

    /// A GET, answered with status and body.
    pub async fn get(&self, url: &str) -> (u16, String) {
        let r = self.http.get(url).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Posts a form; the raw response.
    pub async fn post(&self, url: &str, fields: &[(String, String)]) -> reqwest::Response {
        self.http.post(url).form(fields).send().await.unwrap()
    }

    /// The token request of a relying party using `client_secret_post`.
    pub async fn redeem(&self, idp: &str, code: &str, verifier: &str) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(idp, "/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// The ID token's claims, after checking signature, `iss`, `aud` and `exp` with the
    /// IdP's published JWKS (jsonwebtoken, an implementation independent of the IdP's).
    pub async fn verify_id_token(&self, idp: &str, token: &str) -> Value {
        let jwks: jsonwebtoken::jwk::JwkSet = self
            .http
            .get(self.url(idp, "/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        let jwk = jwks.find(&header.kid.unwrap()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[CLIENT_ID]);
        validation.set_issuer(&[self.issuer(idp)]);
        jsonwebtoken::decode::<Value>(
            token,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
            &validation,
        )
        .unwrap()
        .claims
    }
}

/// A relying party's per-login secrets.
#[derive(Debug, Clone)]
pub struct Login {
    pub verifier: String,
    pub challenge: String,
    pub state: String,
    pub nonce: String,
}

impl Login {
    pub fn new() -> Login {
        let verifier = protocol::pkce::new_verifier().unwrap();
        Login {
            challenge: protocol::pkce::challenge(&verifier),
            verifier,
            state: protocol::jose::random_id(),
            nonce: protocol::jose::random_id(),
        }
    }

    /// The authorization request parameters, with `extra` added (or replacing one with the
    /// same name; an empty value removes it).
    pub fn params(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = [
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.challenge),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            params.retain(|(name, _)| name != k);
            if !v.is_empty() {
                params.push((k.to_string(), v.to_string()));
            }
        }
        params
    }

    pub fn authorize_url(&self, idps: &Idps, idp: &str, extra: &[(&str, &str)]) -> String {
        let query: Vec<String> = self
            .params(extra)
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        format!("{}?{}", idps.url(idp, "/authorize"), query.join("&"))
    }
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The query parameters of a redirect's `Location`.
pub fn location(resp: &reqwest::Response) -> (String, HashMap<String, String>) {
    let loc = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_owned();
    let url = reqwest::Url::parse(&loc).unwrap();
    let params = url.query_pairs().into_owned().collect();
    let base = format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap(),
        url.path()
    );
    (base, params)
}

/// What a user agent sees of the login page's POST form.
#[derive(Debug, Clone)]
pub struct LoginForm {
    pub action: String,
    /// Hidden inputs, and the checked (or only) `method`.
    pub fields: Vec<(String, String)>,
    /// Values of the `method` radios (or the one hidden method).
    pub methods: Vec<String>,
    /// The persons' buttons (`pid` values), in page order.
    pub persons: Vec<String>,
    /// The value the typed-number field was filled with.
    pub typed_pid: String,
}

impl LoginForm {
    /// The fields a browser would send when the user clicks person `pid`'s button, with
    /// `method` if given.
    pub fn choose(&self, pid: &str, method: Option<&str>) -> Vec<(String, String)> {
        let mut fields = self.fields.clone();
        if let Some(m) = method {
            fields.retain(|(k, _)| k != "method");
            fields.push(("method".into(), m.into()));
        }
        fields.push(("typed_pid".into(), self.typed_pid.clone()));
        fields.push(("pid".into(), pid.into()));
        fields
    }

    /// The fields sent with a typed number and the submit button.
    pub fn typed(&self, pid: &str) -> Vec<(String, String)> {
        let mut fields = self.fields.clone();
        fields.push(("typed_pid".into(), pid.into()));
        fields.push(("action".into(), "typed".into()));
        fields
    }
}

/// Undoes askama's HTML escaping.
pub fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in one tag.
pub fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// Every start tag `<name ...>` in `html`.
pub fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let tail = &rest[i..];
        let end = tail.find('>').unwrap();
        out.push(&tail[..=end]);
        rest = &tail[end..];
    }
    out
}

/// Reads the page's `<form method="post">`.
pub fn login_form(html: &str) -> LoginForm {
    let start = html.find("<form id=\"login\"").expect("a login form");
    let end = html[start..].find("</form>").unwrap() + start;
    let form = &html[start..end];
    let form_tag = tags(form, "form")[0];
    assert_eq!(attr(form_tag, "method").as_deref(), Some("post"));
    let mut fields = Vec::new();
    let mut methods = Vec::new();
    let mut typed_pid = String::new();
    for input in tags(form, "input") {
        let name = attr(input, "name").unwrap_or_default();
        let value = attr(input, "value").unwrap_or_default();
        match attr(input, "type").as_deref() {
            Some("hidden") => {
                if name == "method" {
                    methods.push(value.clone());
                }
                fields.push((name, value));
            }
            Some("radio") if name == "method" => {
                if input.contains(" checked") {
                    fields.push((name, value.clone()));
                }
                methods.push(value);
            }
            Some("text") if name == "typed_pid" => typed_pid = value,
            _ => {}
        }
    }
    let persons = tags(form, "button")
        .into_iter()
        .filter(|b| attr(b, "name").as_deref() == Some("pid"))
        .map(|b| attr(b, "value").unwrap())
        .collect();
    LoginForm {
        action: attr(form_tag, "action").unwrap(),
        fields,
        methods,
        persons,
        typed_pid,
    }
}

/// The href of the language toggle link.
pub fn toggle_href(html: &str) -> String {
    let tag = tags(html, "a")
        .into_iter()
        .find(|t| t.contains("id=\"lang-toggle\""))
        .unwrap();
    attr(tag, "href").unwrap()
}

/// The `lang` of the `<html>` element.
pub fn page_lang(html: &str) -> String {
    attr(tags(html, "html")[0], "lang").unwrap()
}

pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&protocol::jose::b64_decode(payload).unwrap()).unwrap()
}

pub fn header_of(jwt: &str) -> Value {
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(&protocol::jose::b64_decode(header).unwrap()).unwrap()
}

/// A health professional and a person without HPR from the population.
pub fn practitioner() -> synthpop::Person {
    population().practitioners().next().unwrap()
}

pub fn layperson() -> synthpop::Person {
    population().persons().find(|p| p.hpr.is_none()).unwrap()
}
