//! Scenario files: YAML that names a target, what it requires and which checks to run.
//!
//! The types here are the format; `schemas/scenario.schema.json` is generated from them
//! (`helseid-testbed conformance schema scenario`), so editors validate scenario files with a
//! `# yaml-language-server: $schema=...` line. Errors name the file, line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One scenario file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for reports, e.g. "Journal API, level 4".
    pub name: String,
    /// Free text shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The actor under test (seed 001): `api` (tjenestetilbyder), `client` (fagsystem) or
    /// `idp` (identitetstilbyder).
    pub kind: Kind,
    /// Where the target is (kind `api`). `--target URL` on the command line overrides `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// The API under test as the STS knows it (kind `api`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiResource>,
    /// The identity provider under test, how to log its test users in, and what they must
    /// get (kind `idp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<IdpTarget>,
    /// The client under test: the command that runs it and how the runner registers it
    /// (kind `client`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientTarget>,
    /// What the target requires of tokens.
    #[serde(default)]
    pub requirements: Requirements,
    /// The embedded STS.
    #[serde(default)]
    pub sts: StsSettings,
    /// Which checks to run (all that apply by default).
    #[serde(default)]
    pub checks: CheckSelection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Api,
    Client,
    Idp,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Api => "api",
            Kind::Client => "client",
            Kind::Idp => "idp",
        }
    }
}

/// An HTTP endpoint of the target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The URL the runner calls, e.g. `http://127.0.0.1:9000/api/patients/123`.
    pub url: String,
    /// The HTTP method (default GET).
    #[serde(default = "default_method")]
    pub method: String,
    /// A request body sent with every call (e.g. JSON for a POST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body's content type (default application/json when a body is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}

/// The API as registered at the STS.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiResource {
    /// The `aud` of its tokens, e.g. `nhn:journal-api`.
    pub audience: String,
    /// Scopes the API requires, full names (`<audience>/<name>`). Tokens carry all of them.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// An identity provider HelseID would federate to, as its relying party sees it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdpTarget {
    /// The IdP's issuer, e.g. `https://idp.example.no`; discovery is read from
    /// `<issuer>/.well-known/openid-configuration`. `--target URL` overrides it; without
    /// `--target` it is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The client id the IdP registered for the relying party (HelseID, or this runner).
    pub client_id: String,
    /// The client secret; sent as `client_secret_basic` or `client_secret_post`, whichever
    /// discovery's `token_endpoint_auth_methods_supported` names first (Basic when it names
    /// neither). Give this or `client_secret_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The name of an environment variable holding the client secret, to keep it out of the
    /// file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// How to send the secret, when discovery's choice is not the one to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<ClientAuth>,
    /// A redirect URI registered for the client. The runner's browser stops when it is sent
    /// there and never connects to it.
    pub redirect_uri: String,
    /// The scope of the authorization requests (must include `openid`).
    #[serde(default = "default_scope")]
    pub scope: String,
    /// The claims of the ID token that carry what HelseID needs (seed 001).
    #[serde(default)]
    pub claims: IdpClaims,
    /// More parameters for every authorization request (e.g. `acr_values`, `ui_locales`,
    /// `login_hint: "{pid}"`). Values may contain `{pid}` and `{level}`. The runner's own
    /// parameters (client_id, redirect_uri, response_type, scope, state, nonce,
    /// code_challenge, code_challenge_method) cannot be set here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_authorize_params: BTreeMap<String, String>,
    /// The IdP's test users; each must log in (at least one).
    pub users: Vec<IdpUser>,
    /// How a user logs in: one step per HTML page the IdP shows, in order, until the IdP
    /// redirects to `redirect_uri`. Empty when the IdP logs users in without a page (e.g.
    /// TestIDP's `test_pid` in `extra_authorize_params`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub login: Vec<LoginStep>,
    /// How a user cancels a login (e.g. a step that presses the cancel button). Enables
    /// IDP-CANCEL-01.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancel: Vec<LoginStep>,
}

fn default_scope() -> String {
    "openid".into()
}

/// A vendor's OAuth client, run by a driver command. The runner registers it at the embedded
/// STS, writes the portal's client configuration file for it, and starts `driver` with
/// `HELSEID_ISSUER`, `HELSEID_CLIENT_CONFIG` (the file's path), `HELSEID_PROBE_API` (a URL
/// the client calls with its access token) and `HELSEID_TEST_PID` (a person TestIDP logs in
/// without a page) in its environment, and for a multi-tenant client (`tenancy: multi`)
/// `HELSEID_ORGNR` (the organisation it acts for).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientTarget {
    /// The command and its arguments, e.g. `[./my-client, --conformance]`. It must get a
    /// token, call the probe API with it, and exit 0; a client that refuses what it got
    /// exits non-zero.
    pub driver: Vec<String>,
    /// How long one run of the driver may take (seconds) before it is stopped and counted
    /// as failed.
    #[serde(default = "default_driver_timeout")]
    pub timeout_secs: u64,
    /// More environment variables for the driver.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Redirect URIs to register (login clients; default
    /// `http://localhost:7890/conformance/callback`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// Extra API scopes to register, full names (`<audience>/<name>`); the probe API's scope
    /// is always registered, and login clients may ask for the identity scopes (`openid`,
    /// `profile`, `offline_access`, `helseid://scopes/identity/...`) without registering them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// `true`: a client a person logs in to (authorization code with PAR, PKCE and an ID
    /// token); `false`: a machine client (client credentials).
    #[serde(default)]
    pub login: bool,
    /// `single` (default): the client belongs to one organisation. `multi`: the client is
    /// registered as a multi-tenant client of a supplier (EPJ vendor) and acts for an
    /// organisation that delegated to that supplier; the driver gets that organisation's
    /// number in `HELSEID_ORGNR` and must name it in the `assertion_details` of every client
    /// assertion (reference §6).
    #[serde(default)]
    pub tenancy: ClientTenancy,
}

/// Whom a client belongs to (reference §6.1): the client under test (`client.tenancy`) or
/// the client an api scenario's tokens are issued to (`requirements.tenancy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientTenancy {
    /// One organisation's own client; HelseID puts its org number in the token.
    #[default]
    Single,
    /// A supplier's client acting for organisations that delegated to the supplier.
    Multi,
}

fn default_driver_timeout() -> u64 {
    60
}

/// Client authentication at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `Authorization: Basic` with the form-urlencoded id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the body.
    ClientSecretPost,
}

/// The ID token claims that carry the person's identifier, the authentication method and
/// the security level. The defaults are what the testbed's bundled IdPs issue (ID-porten's
/// names); HelseID-style IdPs may use `helseid://claims/identity/pid` and
/// `helseid://claims/identity/security_level`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdpClaims {
    /// The fødselsnummer or D-number (default `pid`).
    #[serde(default = "default_identifier_claim")]
    pub identifier: String,
    /// The authentication method (default `amr`).
    #[serde(default = "default_method_claim")]
    pub method: String,
    /// The security level (default `security_level`; `acr` is another common choice).
    #[serde(default = "default_level_claim")]
    pub level: String,
}

impl Default for IdpClaims {
    fn default() -> Self {
        IdpClaims {
            identifier: default_identifier_claim(),
            method: default_method_claim(),
            level: default_level_claim(),
        }
    }
}

fn default_identifier_claim() -> String {
    "pid".into()
}

fn default_method_claim() -> String {
    "amr".into()
}

fn default_level_claim() -> String {
    "security_level".into()
}

/// One test user the IdP supplies.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdpUser {
    /// The user's fødselsnummer or D-number: the identifier claim must be exactly this
    /// (11 digits; quoting it, `"05076600324"`, keeps other YAML tools from reading a
    /// number).
    pub pid: String,
    /// The security level the login must report, compared as text with the level claim
    /// (e.g. `"4"`, or `Level4` when the level claim is `acr`). Absent: any level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// The authentication method the login must report: one (`bankid`) or several
    /// (`[pwd, otp]`), each of which the method claim must hold (an array claim contains
    /// it, a text claim equals it), compared as text. Absent: any method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Methods>,
    /// Login steps for this user only, instead of `idp.login`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<Vec<LoginStep>>,
}

/// One authentication method or several (`users[].amr`), as text: a YAML number or
/// boolean is read as the text it is written as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Methods {
    One(String),
    Several(Vec<String>),
}

impl Methods {
    pub fn values(&self) -> &[String] {
        match self {
            Methods::One(m) => std::slice::from_ref(m),
            Methods::Several(ms) => ms,
        }
    }
}

impl<'de> Deserialize<'de> for Methods {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde_json::Value;
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
            _ => None,
        };
        let bad = || {
            serde::de::Error::custom("expected an authentication method (text) or a list of them")
        };
        match Value::deserialize(d)? {
            Value::Array(items) => items
                .iter()
                .map(|i| text(i).ok_or_else(bad))
                .collect::<Result<_, _>>()
                .map(Methods::Several),
            v => text(&v).map(Methods::One).ok_or_else(bad),
        }
    }
}

/// One page of a scripted login: the form to fill, what to fill in, and the button to
/// press. The runner reads the page's forms (action, method, hidden inputs, checked radios
/// and checkboxes, selected options, text areas), changes the named fields and submits as a
/// browser would. Values may contain `{pid}` and `{level}` (the user's).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginStep {
    /// The form's `id` or `name`. Absent: the first form that has every field of `fill`
    /// and the `submit` button, POST forms first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// Field name to value. The field must exist in the form (any input, select or text
    /// area; a radio group by its name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fill: BTreeMap<String, String>,
    /// The submit button to press. Absent: the form's first submit button, as pressing
    /// Enter does (none if it has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit: Option<SubmitButton>,
}

/// A submit button, by its name (and value, when several share the name).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitButton {
    /// The button's `name`.
    pub name: String,
    /// The value sent (a person's button in a list, say); default: the first button's own
    /// value. May contain `{pid}` and `{level}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// How tokens are bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Binding {
    /// DPoP-bound tokens with proofs (HelseID's profile).
    #[default]
    Dpop,
    /// Plain Bearer tokens (legacy clients).
    Bearer,
}

/// What the target requires; checks that follow from a requirement run only when it is set.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// `dpop` (default) or `bearer`.
    #[serde(default)]
    pub token_binding: Binding,
    /// User tokens (a person logged in) rather than system tokens.
    #[serde(default)]
    pub user: bool,
    /// The security level the API requires of user tokens (3 or 4); implies `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 3, max = 4))]
    pub security_level: Option<u8>,
    /// The API requires the Tillitsrammeverk claim (`nhn:tillitsrammeverk:parameters`);
    /// implies `user`.
    #[serde(default)]
    pub tillitsrammeverk: bool,
    /// Organisation numbers (9 digits) the API serves; tokens are issued for the first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organisations: Vec<String>,
    /// The kind of client the runner's tokens are issued to (reference §6.1). `single`
    /// (default): a client of the first of `organisations`, which HelseID names in
    /// `orgnr_parent`. `multi`: a supplier's (EPJ vendor's) multi-tenant client acting,
    /// through a delegation, for the first of `organisations`; its tokens carry that
    /// organisation in `orgnr_parent` and the supplier in `orgnr_supplier`, and
    /// API-TENANCY-01 checks that the API judges the organisation acted for, not the
    /// supplier. Needs `organisations`.
    #[serde(default)]
    pub tenancy: ClientTenancy,
}

impl Requirements {
    pub fn user_token(&self) -> bool {
        self.user || self.security_level.is_some() || self.tillitsrammeverk
    }
}

/// The embedded STS.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StsSettings {
    /// The port it listens on at 127.0.0.1 (issuer `http://127.0.0.1:PORT`); 0 or absent
    /// takes a free port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// Which checks run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckSelection {
    /// Only these: check IDs (`API-AUD-01`), ID prefixes (`API-DPOP`) or groups (`signature`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
    /// Not these (same forms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<String>,
}

/// A scenario that could not be read.
#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Reads a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, &path.display().to_string())
}

/// Parses scenario text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    let scenario: Scenario = serde_saphyr::from_str(text).map_err(|e| {
        let message = first_line(&e.to_string());
        match e.location() {
            Some(l) => ScenarioError::Syntax {
                path: origin.to_owned(),
                line: l.line(),
                column: l.column(),
                message: without_position(&message).to_owned(),
            },
            None => ScenarioError::Invalid {
                path: origin.to_owned(),
                message,
            },
        }
    })?;
    validate(&scenario).map_err(|message| match locate(text, &message) {
        Some((line, column)) => ScenarioError::Syntax {
            path: origin.to_owned(),
            line,
            column,
            message,
        },
        None => ScenarioError::Invalid {
            path: origin.to_owned(),
            message,
        },
    })?;
    Ok(scenario)
}

/// Where in `text` the field a [`validate`] message names (`api.scopes: "x" ...`,
/// `idp.users[1].pid: ...`) is: the line of the quoted value under that key, or of the key
/// itself (of the list item, for an index into a block list). 1-based.
fn locate(text: &str, message: &str) -> Option<(u64, u64)> {
    let (path, rest) = message.split_once(": ")?;
    if path.contains(' ') {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut from = 0;
    let mut found = None;
    for segment in path.split('.') {
        let (key, index) = match segment.split_once('[') {
            Some((key, n)) => (
                key,
                n.strip_suffix(']').and_then(|n| n.parse::<usize>().ok()),
            ),
            None => (segment, None),
        };
        let (i, line) = lines.iter().enumerate().skip(from).find(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with(&format!("{key}:"))
        })?;
        found = Some((i, indent(line) + 1));
        from = i + 1;
        // The n-th item of a block list: the lines that start with "-" at the first item's
        // indentation, until the list ends (an inline list keeps the key's position).
        let Some(n) = index else { continue };
        let body = lines[i + 1..]
            .iter()
            .enumerate()
            .map(|(j, l)| (i + 1 + j, *l))
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        let mut item_indent = None;
        let item = body
            .take_while(|(_, l)| indent(l) > indent(line) || l.trim_start().starts_with('-'))
            .filter(|(_, l)| {
                let is_item = l.trim_start().starts_with('-');
                if is_item && item_indent.is_none() {
                    item_indent = Some(indent(l));
                }
                is_item && item_indent == Some(indent(l))
            })
            .nth(n);
        if let Some((j, l)) = item {
            found = Some((j, indent(l) + 1));
            // The item's own line may hold its first key ("- pid: ...").
            from = j;
        }
    }
    let (key_line, key_column) = found?;
    // The quoted value, when the message names one.
    let value = rest
        .strip_prefix('"')
        .and_then(|r| r.split_once('"'))
        .map(|(v, _)| v)
        .filter(|v| !v.is_empty());
    if let Some(v) = value {
        for (i, line) in lines.iter().enumerate().skip(key_line).take(50) {
            if let Some(col) = line.find(v) {
                return Some((i as u64 + 1, col as u64 + 1));
            }
        }
    }
    Some((key_line as u64 + 1, key_column as u64))
}

/// serde-saphyr's message repeats the location and a snippet; the first line says it.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_owned()
}

/// The message without serde-saphyr's `error: line L column C: ` prefix, when the error
/// prints the position itself (`file:L:C: message`).
fn without_position(message: &str) -> &str {
    let rest = message.strip_prefix("error: ").unwrap_or(message);
    let Some((position, text)) = rest.split_once(": ") else {
        return message;
    };
    let is_position = position
        .strip_prefix("line ")
        .and_then(|p| p.split_once(" column "))
        .is_some_and(|(l, c)| {
            [l, c]
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        });
    if is_position { text } else { rest }
}

/// Rules the schema cannot say.
pub fn validate(s: &Scenario) -> Result<(), String> {
    if s.name.trim().is_empty() {
        return Err("name: must not be empty".into());
    }
    if let Some(t) = &s.target {
        if !(t.url.starts_with("http://") || t.url.starts_with("https://")) {
            return Err(format!("target.url: {:?} is not an http(s) URL", t.url));
        }
        if t.method.is_empty() || !t.method.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "target.method: {:?} is not an HTTP method (upper case, e.g. GET)",
                t.method
            ));
        }
    }
    match (&s.idp, s.kind) {
        (Some(idp), Kind::Idp) => validate_idp(idp)?,
        (None, Kind::Idp) => {
            return Err(
                "idp: an idp scenario names the IdP's issuer, the client and the test users (idp.issuer, idp.client_id, idp.users, ...)"
                    .into(),
            );
        }
        (Some(_), kind) => {
            return Err(format!(
                "idp: only idp scenarios have an idp section (this one is kind {})",
                kind.as_str()
            ));
        }
        (None, _) => {}
    }
    match (&s.client, s.kind) {
        (Some(c), Kind::Client) => validate_client(c)?,
        (None, Kind::Client) => {
            return Err(
                "client: a client scenario names the command that runs the client (client.driver)"
                    .into(),
            );
        }
        (Some(_), kind) => {
            return Err(format!(
                "client: only client scenarios have a client section (this one is kind {})",
                kind.as_str()
            ));
        }
        (None, _) => {}
    }
    if s.kind == Kind::Client && s.target.is_some() {
        return Err(
            "target: a client scenario names no target URL; the runner starts client.driver".into(),
        );
    }
    if s.kind == Kind::Idp && s.target.is_some() {
        return Err(
            "target: an idp scenario names its target by idp.issuer, not target.url".into(),
        );
    }
    if s.kind == Kind::Api {
        let Some(api) = &s.api else {
            return Err("api: an api scenario names the API's audience (api.audience)".into());
        };
        if api.audience.trim().is_empty() || api.audience.contains(char::is_whitespace) {
            return Err(format!(
                "api.audience: {:?} is not an audience",
                api.audience
            ));
        }
        for scope in &api.scopes {
            if protocol::claims::resource_of(scope) != Some(api.audience.as_str()) {
                return Err(format!(
                    "api.scopes: {scope:?} is not a scope of {:?} (scopes are <audience>/<name>)",
                    api.audience
                ));
            }
        }
    }
    if let Some(level) = s.requirements.security_level
        && !(3..=4).contains(&level)
    {
        return Err(format!(
            "requirements.security_level: {level} (HelseID has levels 3 and 4)"
        ));
    }
    for org in &s.requirements.organisations {
        if org.len() != 9 || !org.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "requirements.organisations: {org:?} is not a 9-digit organisation number"
            ));
        }
    }
    // A multi-tenant token is judged by the organisation acted for; with none named there
    // is nothing to tell it from the supplier by (API-TENANCY-01).
    if s.kind == Kind::Api
        && s.requirements.tenancy == ClientTenancy::Multi
        && s.requirements.organisations.is_empty()
    {
        return Err(
            "requirements.tenancy: multi needs requirements.organisations: the multi-tenant client acts for the first of them"
                .into(),
        );
    }
    for sel in s.checks.only.iter().chain(&s.checks.skip) {
        if !crate::catalogue::CHECKS
            .iter()
            .any(|c| crate::catalogue::selects(sel, c))
        {
            return Err(format!(
                "checks: {sel:?} names no check, prefix or group (see `helseid-testbed conformance list`)"
            ));
        }
    }
    Ok(())
}

/// Authorization request parameters the runner sets itself.
pub const RUNNER_PARAMS: [&str; 8] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

fn http_url(field: &str, url: &str) -> Result<(), String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(' ') {
        return Err(format!("{field}: {url:?} is not an http(s) URL"));
    }
    Ok(())
}

/// Environment variables the runner sets for a client driver itself.
pub const DRIVER_ENV: [&str; 4] = [
    "HELSEID_ISSUER",
    "HELSEID_CLIENT_CONFIG",
    "HELSEID_PROBE_API",
    "HELSEID_TEST_PID",
];

fn validate_client(c: &ClientTarget) -> Result<(), String> {
    if c.driver.first().is_none_or(|p| p.trim().is_empty()) {
        return Err("client.driver: name the program to run (and its arguments)".into());
    }
    if c.timeout_secs == 0 {
        return Err("client.timeout_secs: must be at least 1".into());
    }
    for name in c.env.keys() {
        if DRIVER_ENV.contains(&name.as_str()) {
            return Err(format!("client.env.{name}: the runner sets {name} itself"));
        }
        if name.is_empty() || name.contains('=') {
            return Err(format!("client.env: {name:?} is not a variable name"));
        }
    }
    for (i, uri) in c.redirect_uris.iter().enumerate() {
        http_url(&format!("client.redirect_uris[{i}]"), uri)?;
    }
    if !c.login && !c.redirect_uris.is_empty() {
        return Err(
            "client.redirect_uris: only login clients (client.login: true) have redirect URIs"
                .into(),
        );
    }
    for (i, scope) in c.scopes.iter().enumerate() {
        if scope.trim().is_empty() || scope.contains(' ') {
            return Err(format!("client.scopes[{i}]: {scope:?} is not a scope"));
        }
    }
    Ok(())
}

/// An IdP's issuer: an http(s) URL without query or fragment (OpenID Connect Discovery §3).
/// `field` names where it came from (`idp.issuer` or `--target`).
pub fn idp_issuer(field: &str, issuer: &str) -> Result<(), String> {
    http_url(field, issuer)?;
    if issuer.contains(['?', '#']) {
        return Err(format!(
            "{field}: {issuer:?} has a query or fragment; an issuer has neither (OpenID Connect Discovery §3)"
        ));
    }
    Ok(())
}

fn validate_idp(idp: &IdpTarget) -> Result<(), String> {
    if let Some(issuer) = &idp.issuer {
        idp_issuer("idp.issuer", issuer)?;
    }
    if idp.client_id.trim().is_empty() {
        return Err("idp.client_id: must not be empty".into());
    }
    match (&idp.client_secret, &idp.client_secret_env) {
        (Some(_), Some(_)) => {
            return Err(
                "idp.client_secret_env: give the secret or the variable that holds it, not both"
                    .into(),
            );
        }
        (None, None) => {
            return Err(
                "idp.client_secret: the runner authenticates with a client secret (or name the variable holding it in idp.client_secret_env)"
                    .into(),
            );
        }
        (None, Some(var)) if var.trim().is_empty() => {
            return Err("idp.client_secret_env: must name an environment variable".into());
        }
        _ => {}
    }
    http_url("idp.redirect_uri", &idp.redirect_uri)?;
    if !idp.scope.split(' ').any(|s| s == "openid") {
        return Err(format!(
            "idp.scope: {:?} lacks openid; the ID token comes with it",
            idp.scope
        ));
    }
    for (field, name) in [
        ("identifier", &idp.claims.identifier),
        ("method", &idp.claims.method),
        ("level", &idp.claims.level),
    ] {
        if name.trim().is_empty() {
            return Err(format!("idp.claims.{field}: must name a claim"));
        }
    }
    for name in idp.extra_authorize_params.keys() {
        if RUNNER_PARAMS.contains(&name.as_str()) {
            return Err(format!(
                "idp.extra_authorize_params.{name}: the runner sets {name} itself"
            ));
        }
    }
    // The runner reads the code from the redirect's query, the code flow's default
    // (OAuth 2.0 Multiple Response Type Encoding Practices §2.1); a form_post or fragment
    // answer would never be read.
    if let Some(mode) = idp.extra_authorize_params.get("response_mode")
        && mode != "query"
    {
        return Err(format!(
            "idp.extra_authorize_params.response_mode: the runner reads the authorization response from the redirect's query (response_mode query, the code flow's default), so it cannot ask for {mode:?}; leave response_mode out"
        ));
    }
    if idp.users.is_empty() {
        return Err("idp.users: name at least one test user".into());
    }
    for (i, user) in idp.users.iter().enumerate() {
        if let Err(why) = personal_number(&user.pid) {
            return Err(format!("idp.users[{i}].pid: {why}"));
        }
        if idp.users[..i].iter().any(|u| u.pid == user.pid) {
            return Err(format!(
                "idp.users[{i}].pid: {:?} is listed twice",
                user.pid
            ));
        }
        if user.level.as_ref().is_some_and(|l| l.trim().is_empty()) {
            return Err(format!("idp.users[{i}].level: must not be empty"));
        }
        match user.amr.as_ref().map(Methods::values) {
            Some([]) => return Err(format!("idp.users[{i}].amr: name at least one method")),
            Some(ms) if ms.iter().any(|m| m.trim().is_empty()) => {
                return Err(format!("idp.users[{i}].amr: a method is empty"));
            }
            _ => {}
        }
        if let Some(steps) = &user.login {
            validate_steps(&format!("idp.users[{i}].login"), steps)?;
        }
    }
    validate_steps("idp.login", &idp.login)?;
    validate_steps("idp.cancel", &idp.cancel)?;
    Ok(())
}

/// A fødselsnummer or D-number, by synthpop's validator.
pub fn personal_number(pid: &str) -> Result<synthpop::nin::NinFacts, String> {
    use synthpop::nin::NinKind;
    let facts = synthpop::nin::validate(pid)
        .map_err(|e| format!("{pid:?} is not a valid fødselsnummer or D-number: {e}"))?;
    if pid.trim() != pid {
        return Err(format!("{pid:?} has spaces around it"));
    }
    match facts.kind {
        NinKind::Fodselsnummer | NinKind::DNumber => Ok(facts),
        other => Err(format!(
            "{pid:?} is a valid {}, not a fødselsnummer or D-number",
            other.label()
        )),
    }
}

fn validate_steps(field: &str, steps: &[LoginStep]) -> Result<(), String> {
    for (i, step) in steps.iter().enumerate() {
        if step.form.as_ref().is_some_and(|f| f.trim().is_empty()) {
            return Err(format!("{field}[{i}].form: must not be empty"));
        }
        if step.fill.keys().any(|k| k.trim().is_empty()) {
            return Err(format!("{field}[{i}].fill: a field name is empty"));
        }
        if let Some(b) = &step.submit
            && b.name.trim().is_empty()
        {
            return Err(format!("{field}[{i}].submit.name: must not be empty"));
        }
    }
    Ok(())
}

/// The JSON Schema of scenario files.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default()
}

/// Scenario files under `path`: the file itself, or the `.yaml`/`.yml` files of a directory
/// (sorted, not recursive).
pub fn files(path: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        Ok(files)
    } else {
        Ok(vec![path.to_owned()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "name: Journal API\nkind: api\ntarget:\n  url: http://127.0.0.1:9000/api\napi:\n  audience: nhn:journal\n  scopes: [nhn:journal/read]\nrequirements:\n  security_level: 4\n";

    #[test]
    fn a_good_scenario_reads() {
        let s = parse(GOOD, "good.yaml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.kind, Kind::Api);
        assert_eq!(s.target.map(|t| t.method), Some("GET".into()));
        assert!(s.requirements.user_token());
        assert_eq!(s.requirements.token_binding, Binding::Dpop);
    }

    #[test]
    fn errors_name_line_and_column() {
        let text = GOOD.replace("  security_level: 4", "  security_levle: 4");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("s.yaml:9:"), "{e}");
        assert!(e.contains("security_levle"), "{e}");
        // The position is printed once, by the error itself.
        assert!(!e.contains("line 9"), "{e}");
        assert!(!e.contains("error:"), "{e}");
        let text = GOOD.replace("kind: api", "kind: printer");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("s.yaml:2:"), "{e}");
        let text = GOOD.replace("nhn:journal/read", "nhn:other/read");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("s.yaml:7:12: api.scopes"), "{e}");
        let text = GOOD.replace("http://127.0.0.1:9000/api", "ftp://x");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("s.yaml:4:8: target.url"), "{e}");
        let text = format!("{GOOD}checks:\n  only: [API-NOPE-01]\n");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("API-NOPE-01"), "{e}");
        let text = GOOD.replace("security_level: 4", "security_level: 5");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("levels 3 and 4"), "{e}");
        let text = format!("{GOOD}  tenancy: multi\n");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("s.yaml:10:3: requirements.tenancy"), "{e}");
        assert!(e.contains("requirements.organisations"), "{e}");
        let text = format!("{GOOD}  tenancy: multi\n  organisations: [\"999977774\"]\n");
        let s = parse(&text, "s.yaml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.requirements.tenancy, ClientTenancy::Multi);
        let text = format!("{GOOD}  tenancy: several\n");
        let e = parse(&text, "s.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("s.yaml:10:"), "{e}");
        assert_eq!(
            parse(GOOD, "s.yaml").map(|s| s.requirements.tenancy).ok(),
            Some(ClientTenancy::Single)
        );
    }

    const IDP: &str = include_str!("../../scenarios/idp-bankid.yaml");

    #[test]
    fn the_bundled_idp_scenario_reads() {
        let s = parse(IDP, "idp-bankid.yaml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.kind, Kind::Idp);
        let idp = s.idp.unwrap_or_else(|| panic!("idp section"));
        assert_eq!(idp.users.len(), 2);
        assert_eq!(idp.users[0].pid, "05757041733");
        assert_eq!(idp.users[0].level.as_deref(), Some("4"));
        assert_eq!(idp.login[0].fill["typed_pid"], "{pid}");
        assert_eq!(idp.claims.identifier, "pid");
        assert_eq!(idp.cancel.len(), 1);
        assert_eq!(idp.users[0].amr, Some(Methods::One("bankid".into())));
        assert_eq!(
            idp.users[1].amr.as_ref().map(Methods::values),
            Some(&["bankid".to_owned()][..])
        );
        // A method written as a number or a list of them is text too.
        let numbers = IDP
            .replace("amr: bankid", "amr: 4")
            .replace("amr: [bankid]", "amr: [1, pwd]");
        let s = parse(&numbers, "n.yaml").unwrap_or_else(|e| panic!("{e}"));
        let idp = s.idp.unwrap_or_else(|| panic!("idp section"));
        assert_eq!(idp.users[0].amr, Some(Methods::One("4".into())));
        assert_eq!(
            idp.users[1].amr,
            Some(Methods::Several(vec!["1".into(), "pwd".into()]))
        );
        let e = parse(&IDP.replace("amr: bankid", "amr: {a: 1}"), "m.yaml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("authentication method"), "{e}");
        // Unquoted numbers stay text, leading zero and all.
        let unquoted = IDP
            .replace("\"05757041733\"", "05757041733")
            .replace("\"4\"", "4");
        let s = parse(&unquoted, "u.yaml").unwrap_or_else(|e| panic!("{e}"));
        let idp = s.idp.unwrap_or_else(|| panic!("idp section"));
        assert_eq!(idp.users[0].pid, "05757041733");
        assert_eq!(idp.users[0].level.as_deref(), Some("4"));
    }

    #[test]
    fn idp_errors_name_the_field() {
        let err = |text: &str| {
            parse(text, "s.yaml")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let cases = [
            (
                IDP.replace("\"05757041733\"", "\"05757041734\""),
                "idp.users[0].pid",
            ),
            (
                IDP.replace("\"54886143942\"", "\"05757041733\""),
                "listed twice",
            ),
            (IDP.replace("scope: openid", "scope: profile"), "idp.scope"),
            (
                IDP.replace("  client_secret: conformance-runner-secret\n", ""),
                "idp.client_secret",
            ),
            (
                IDP.replace("    ui_locales: nb", "    state: fixed"),
                "idp.extra_authorize_params.state",
            ),
            (
                IDP.replace("    ui_locales: nb", "    response_mode: form_post"),
                "idp.extra_authorize_params.response_mode",
            ),
            (
                IDP.replace("issuer: http://127", "issuer: ftp://127"),
                "idp.issuer",
            ),
            (
                IDP.replace("        name: cancel", "        name: \"\""),
                "idp.cancel[0].submit.name",
            ),
            (
                IDP.replace("kind: idp", "kind: api"),
                "idp: only idp scenarios",
            ),
            (
                format!("{IDP}target:\n  url: http://127.0.0.1:9000/\n"),
                "target: an idp scenario",
            ),
            (
                "name: x\nkind: idp\n".to_owned(),
                "idp: an idp scenario names",
            ),
        ];
        for (text, expected) in cases {
            let e = err(&text);
            assert!(e.contains(expected), "expected {expected:?} in {e:?}");
        }
        // A field of a list item is named with its line and column.
        let at = |text: &str| IDP[..IDP.find(text).unwrap_or_default()].lines().count();
        let e = err(&IDP.replace("\"54886143942\"", "\"54886143943\""));
        let line = at("\"54886143942\"");
        assert!(e.starts_with(&format!("s.yaml:{line}:")), "{e}");
        assert!(e.contains("idp.users[1].pid"), "{e}");
        let e = err(&IDP.replace("amr: bankid", "amr: []"));
        assert!(
            e.starts_with(&format!("s.yaml:{}:", at("amr: bankid"))),
            "{e}"
        );
        assert!(e.contains("idp.users[0].amr"), "{e}");
        // An unknown field is named with its line.
        let e = err(&IDP.replace("  scope: openid", "  scopes: openid"));
        assert!(e.contains("scopes") && e.starts_with("s.yaml:"), "{e}");
        let e = err(&IDP.replace("      fill:", "      fil:"));
        assert!(e.contains("fil"), "{e}");
    }

    const CLIENT: &str = include_str!("../../scenarios/client-login.yaml");

    #[test]
    fn the_bundled_client_scenarios_read() {
        let s = parse(CLIENT, "client-login.yaml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.kind, Kind::Client);
        let c = s.client.unwrap_or_else(|| panic!("client section"));
        assert!(c.login);
        assert_eq!(c.driver, ["helseid-testbed", "reference-client"]);
        let machine = include_str!("../../scenarios/client-machine.yaml");
        let s = parse(machine, "client-machine.yaml").unwrap_or_else(|e| panic!("{e}"));
        assert!(!s.client.is_some_and(|c| c.login));
        let s = parse("name: x\nkind: client\nclient:\n  driver: [x]\n", "x.yaml")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.client.map(|c| c.timeout_secs), Some(60));
    }

    #[test]
    fn every_bundled_scenario_reads() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
        let paths = files(Path::new(dir)).unwrap_or_else(|e| panic!("{e}"));
        assert!(paths.len() >= 10, "{paths:?}");
        let loaded: Vec<Scenario> = paths
            .iter()
            .map(|p| load(p).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let multi_login = loaded
            .iter()
            .filter_map(|s| s.client.as_ref())
            .any(|c| c.login && c.tenancy == ClientTenancy::Multi);
        assert!(multi_login, "a bundled multi-tenant login client");
        let multi_api = loaded
            .iter()
            .any(|s| s.kind == Kind::Api && s.requirements.tenancy == ClientTenancy::Multi);
        assert!(multi_api, "a bundled api scenario with multi-tenant tokens");
    }

    #[test]
    fn client_errors_name_the_field() {
        let err = |text: &str| {
            parse(text, "s.yaml")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let base = "name: x\nkind: client\nclient:\n  driver: [./c]\n";
        let cases = [
            (
                "name: x\nkind: client\n".to_owned(),
                "client: a client scenario",
            ),
            (base.replace("[./c]", "[]"), "client.driver"),
            (format!("{base}  timeout_secs: 0\n"), "client.timeout_secs"),
            (
                format!("{base}  env:\n    HELSEID_ISSUER: x\n"),
                "client.env.HELSEID_ISSUER",
            ),
            (
                format!("{base}  login: true\n  redirect_uris: [ftp://x]\n"),
                "client.redirect_uris[0]",
            ),
            (
                format!("{base}  redirect_uris: [http://localhost/cb]\n"),
                "only login clients",
            ),
            (
                base.replace("kind: client", "kind: api"),
                "client: only client scenarios",
            ),
            (
                format!("{base}target:\n  url: http://127.0.0.1:9000/\n"),
                "target: a client scenario",
            ),
        ];
        for (text, expected) in cases {
            let e = err(&text);
            assert!(e.contains(expected), "expected {expected:?} in {e:?}");
        }
    }

    #[test]
    fn the_published_schema_is_current() {
        let published = include_str!("../../schemas/scenario.schema.json");
        let now = serde_json::to_string_pretty(&schema()).unwrap_or_default();
        assert_eq!(
            published.trim(),
            now.trim(),
            "schemas/scenario.schema.json is stale: run `helseid-testbed conformance schema scenario > schemas/scenario.schema.json`"
        );
    }
}
