//! A user login through HelseID the way HelseID's own samples do it (reference §4): a pushed
//! authorization request with PKCE, the browser's trip through `/connect/authorize`, the eID
//! chooser and the identity provider, then the code redeemed with DPoP, and further APIs
//! reached with the refresh token.
//!
//! [`Browser`] plays the user's browser with a plain HTTP client: it follows redirects, keeps
//! cookies (for SSO), picks an identity provider from HelseID's chooser and submits an IdP's
//! login form for a chosen person. With `test_pid` at the TestIDP no page is shown at all.

use protocol::authorization_response::{self, ResponseError};
use protocol::client_assertion;
use protocol::endpoints::{self, testbed};
use protocol::id_token::{self, Expected, IdTokenError};
use protocol::jose::{RngError, random_hex};
use protocol::pkce;
use protocol::urlencoding::encode as urlencode;
use reqwest::Url;
use serde_json::Value;
use thiserror::Error;

use crate::client::{Client, ClientError, TokenOutcome};

#[derive(Debug, Error)]
pub enum LoginError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("PAR refused ({status}): {body}")]
    Par { status: u16, body: String },
    #[error("the login ended with error {error}: {description}")]
    Authorization { error: String, description: String },
    #[error("the login stopped at {url} ({status}): {detail}")]
    Stuck {
        url: String,
        status: u16,
        detail: String,
    },
    /// [`protocol::authorization_response`] refused the answer at the redirect URI.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// [`protocol::id_token`] refused it.
    #[error("the ID token is refused: {0}")]
    IdToken(#[from] IdTokenError),
    #[error("the ID token cannot be checked: discovery at {0} names no jwks_uri")]
    NoJwksUri(String),
    #[error("the ID token is refused: an openid login got none")]
    NoIdToken,
    /// No PKCE verifier, state or nonce could be made.
    #[error(transparent)]
    Random(#[from] RngError),
}

/// What the login asks for.
#[derive(Debug, Clone, Default)]
pub struct LoginRequest {
    pub redirect_uri: String,
    pub scope: String,
    pub resources: Vec<String>,
    pub acr_values: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub test_pid: Option<String>,
    pub test_security_level: Option<u8>,
    pub ui_locales: Option<String>,
    /// A signed request object to send instead of plain parameters (JAR).
    pub request_object: Option<String>,
}

/// How the simulated user answers pages.
#[derive(Debug, Clone, Default)]
pub struct UserChoice {
    /// The identity provider to pick in the chooser (its `idp` path name or scheme).
    pub idp: Option<String>,
    /// The person to log in as on the IdP's page.
    pub pid: Option<String>,
    /// The login method to choose on the IdP's page (`bankid`, `minid`, ...).
    pub method: Option<String>,
}

/// The result of a login: the code and what redeeming it gave.
#[derive(Debug, Clone)]
pub struct Login {
    pub code: String,
    pub verifier: String,
    /// The `nonce` sent; the ID token must carry it.
    pub nonce: String,
    /// Every URL the browser visited, in order.
    pub trail: Vec<String>,
}

/// The authorization response the browser ended at.
#[derive(Debug, Clone)]
pub enum Ending {
    Code {
        code: String,
        state: Option<String>,
        iss: Option<String>,
    },
    Error {
        error: String,
        description: String,
    },
}

/// A request the browser makes next: method, URL and form fields.
type Step = (reqwest::Method, String, Vec<(String, String)>);

/// A browser: a cookie jar and no automatic redirects.
#[derive(Debug, Clone)]
pub struct Browser {
    http: reqwest::Client,
}

impl Browser {
    pub fn new() -> Result<Browser, LoginError> {
        Ok(Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    /// Follows `url` until the browser lands on `redirect_uri`, answering pages with `choice`.
    pub async fn navigate(
        &self,
        url: &str,
        redirect_uri: &str,
        choice: &UserChoice,
        trail: &mut Vec<String>,
    ) -> Result<Ending, LoginError> {
        let mut next: Option<Step> = Some((reqwest::Method::GET, url.to_owned(), Vec::new()));
        for _ in 0..20 {
            let Some((method, url, form)) = next.take() else {
                break;
            };
            if url.starts_with(redirect_uri) {
                return Ok(ending(&url));
            }
            trail.push(url.clone());
            let mut req = self.http.request(method, &url);
            if !form.is_empty() {
                req = req.form(&form);
            }
            let response = req.send().await?;
            let status = response.status();
            let base = Url::parse(&url).map_err(|e| stuck(&url, status.as_u16(), e.to_string()))?;
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get("Location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        stuck(&url, status.as_u16(), "redirect without Location".into())
                    })?;
                let target = base
                    .join(location)
                    .map_err(|e| stuck(&url, status.as_u16(), e.to_string()))?;
                next = Some((reqwest::Method::GET, target.to_string(), Vec::new()));
                continue;
            }
            let body = response.text().await?;
            if !status.is_success() {
                return Err(stuck(&url, status.as_u16(), first_text(&body)));
            }
            next = Some(answer_page(&base, &body, choice).ok_or_else(|| {
                stuck(
                    &url,
                    status.as_u16(),
                    "a page this browser cannot answer".into(),
                )
            })?);
        }
        Err(LoginError::Stuck {
            url: url.to_owned(),
            status: 0,
            detail: "more than 20 steps".into(),
        })
    }
}

fn stuck(url: &str, status: u16, detail: String) -> LoginError {
    LoginError::Stuck {
        url: url.to_owned(),
        status,
        detail,
    }
}

fn ending(url: &str) -> Ending {
    let parsed = Url::parse(url).ok();
    let get = |name: &str| {
        parsed.as_ref().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
    };
    match (get("code"), get("error")) {
        (Some(code), _) => Ending::Code {
            code,
            state: get("state"),
            iss: get("iss"),
        },
        (None, error) => Ending::Error {
            error: error.unwrap_or_else(|| "no_code".into()),
            description: get("error_description").unwrap_or_default(),
        },
    }
}

/// The text of the first paragraph-ish content, for error reports.
fn first_text(html: &str) -> String {
    let text: String = html
        .split('<')
        .filter_map(|p| p.split_once('>').map(|(_, t)| t))
        .collect::<Vec<_>>()
        .join(" ");
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect()
}

/// Chooses what to do on an HTML page: a link to the preferred IdP in HelseID's chooser, or
/// the first POST form (an IdP's login page) filled in for the chosen person.
fn answer_page(base: &Url, html: &str, choice: &UserChoice) -> Option<Step> {
    // The login form is the page's POST form (an IdP page also has a GET search form).
    let post_form = html
        .match_indices("<form")
        .map(|(i, _)| &html[i..])
        .find(|f| {
            f[..f.find('>').unwrap_or(0)]
                .to_ascii_lowercase()
                .contains("method=\"post\"")
        });
    if let Some(form) = post_form {
        let tag_end = form.find('>')?;
        let tag = &form[..tag_end];
        let action = attr(tag, "action").unwrap_or_default();
        let body_end = form.find("</form>").unwrap_or(form.len());
        let fields = form_fields(&form[..body_end], choice);
        let target = base.join(&action).ok()?.to_string();
        return Some((reqwest::Method::POST, target, fields));
    }
    let links: Vec<String> = html
        .match_indices("href=\"")
        .filter_map(|(i, _)| html[i + 6..].split('"').next().map(unescape))
        .filter(|h| h.contains(testbed::IDP_START))
        .collect();
    let pick = match &choice.idp {
        Some(idp) => links
            .iter()
            .find(|l| l.ends_with(&format!("idp={idp}")))
            .or(links.first()),
        None => links.first(),
    }?;
    Some((
        reqwest::Method::GET,
        base.join(pick).ok()?.to_string(),
        Vec::new(),
    ))
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let start = tag.find(&needle)? + needle.len();
    tag[start..].split('"').next().map(unescape)
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// The form's fields: hidden inputs as they are; the chosen login method of a radio group
/// named `method`; and the person: typed into `typed_pid` when one is chosen, else the first
/// person button of the list.
fn form_fields(form: &str, choice: &UserChoice) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut method_set = false;
    let mut has_typed = false;
    for (i, _) in form.match_indices("<input") {
        let tag = &form[i..i + form[i..].find('>').unwrap_or(form.len() - i)];
        let (Some(name), ty) = (
            attr(tag, "name"),
            attr(tag, "type").unwrap_or_else(|| "text".into()),
        ) else {
            continue;
        };
        let value = attr(tag, "value").unwrap_or_default();
        match ty.as_str() {
            "radio" if name == "method" => {
                let wanted = choice.method.as_deref().is_none_or(|m| m == value);
                if wanted && !method_set {
                    fields.push((name, value));
                    method_set = true;
                }
            }
            "radio" | "checkbox" => {
                if tag.contains("checked") {
                    fields.push((name, value));
                }
            }
            "submit" | "search" => {}
            _ if name == "typed_pid" => has_typed = true,
            _ => fields.push((name, value)),
        }
    }
    match (&choice.pid, has_typed) {
        (Some(pid), true) => {
            fields.push(("typed_pid".into(), pid.clone()));
            fields.push(("action".into(), "typed".into()));
        }
        _ => {
            let first_person = form
                .match_indices("<button")
                .map(|(i, _)| &form[i..i + form[i..].find('>').unwrap_or(form.len() - i)])
                .find(|tag| attr(tag, "name").as_deref() == Some("pid"))
                .and_then(|tag| attr(tag, "value"));
            if let Some(pid) = choice.pid.clone().or(first_person) {
                fields.push(("pid".into(), pid));
            }
        }
    }
    fields
}

impl Client {
    /// Pushes the authorization request (RFC 9126) and returns the authorize URL to send the
    /// browser to, with the PKCE verifier and state to keep.
    pub async fn push_login(
        &self,
        req: &LoginRequest,
    ) -> Result<(String, String, String), LoginError> {
        let p = self.push(req).await?;
        Ok((p.url, p.verifier, p.state))
    }

    /// Pushes the authorization request (RFC 9126): the authorize URL and the verifier,
    /// state and nonce to keep.
    pub async fn push(&self, req: &LoginRequest) -> Result<Pushed, LoginError> {
        // All three must be unguessable (RFC 7636 §7.1, RFC 6749 §10.12, OIDC Core §15.5.2).
        let verifier = pkce::new_verifier()?;
        let challenge = pkce::challenge(&verifier);
        let state = random_hex::<16>()?;
        let nonce = random_hex::<16>()?;
        let mut form: Vec<(&str, String)> = vec![
            ("client_id", self.client_id.clone()),
            (
                "client_assertion_type",
                client_assertion::ASSERTION_TYPE.to_owned(),
            ),
            ("client_assertion", self.assertion(None)?),
        ];
        match &req.request_object {
            Some(object) => form.push(("request", object.clone())),
            None => {
                form.extend([
                    ("response_type", "code".to_owned()),
                    ("redirect_uri", req.redirect_uri.clone()),
                    ("scope", req.scope.clone()),
                    ("code_challenge", challenge),
                    ("code_challenge_method", "S256".to_owned()),
                    ("state", state.clone()),
                    ("nonce", nonce.clone()),
                ]);
                for r in &req.resources {
                    form.push(("resource", r.clone()));
                }
                for (k, v) in [
                    ("acr_values", req.acr_values.clone()),
                    ("prompt", req.prompt.clone()),
                    ("max_age", req.max_age.map(|m| m.to_string())),
                    ("login_hint", req.login_hint.clone()),
                    ("test_pid", req.test_pid.clone()),
                    (
                        "test_security_level",
                        req.test_security_level.map(|l| l.to_string()),
                    ),
                    ("ui_locales", req.ui_locales.clone()),
                ] {
                    if let Some(v) = v {
                        form.push((k, v));
                    }
                }
            }
        }
        let par = format!("{}{}", self.issuer, endpoints::PAR);
        let response = self.http().post(&par).form(&form).send().await?;
        let status = response.status().as_u16();
        let body: Value = response.json().await?;
        if status != 201 {
            return Err(LoginError::Par {
                status,
                body: body.to_string(),
            });
        }
        let request_uri = body["request_uri"].as_str().unwrap_or_default();
        let url = format!(
            "{}{}?client_id={}&request_uri={}",
            self.issuer,
            endpoints::AUTHORIZE,
            urlencode(&self.client_id),
            urlencode(request_uri)
        );
        Ok(Pushed {
            url,
            verifier,
            state,
            nonce,
        })
    }

    /// A whole login: PAR, the browser's trip, and the code checked against state and `iss`.
    pub async fn login(
        &self,
        browser: &Browser,
        req: &LoginRequest,
        choice: &UserChoice,
    ) -> Result<Login, LoginError> {
        let Pushed {
            url,
            verifier,
            state,
            nonce,
        } = self.push(req).await?;
        let mut trail = Vec::new();
        match browser
            .navigate(&url, &req.redirect_uri, choice, &mut trail)
            .await?
        {
            Ending::Code {
                code,
                state: got,
                iss,
            } => {
                authorization_response::check_state(&state, got.as_deref())?;
                authorization_response::check_issuer(&self.issuer, iss.as_deref())?;
                Ok(Login {
                    code,
                    verifier,
                    nonce,
                    trail,
                })
            }
            Ending::Error { error, description } => {
                Err(LoginError::Authorization { error, description })
            }
        }
    }

    /// A login followed by the code's redemption; the ID token (which an `openid` login
    /// must get) is validated with [`Client::validate_id_token`].
    pub async fn login_and_redeem(
        &self,
        browser: &Browser,
        req: &LoginRequest,
        choice: &UserChoice,
    ) -> Result<(Login, TokenOutcome), LoginError> {
        let login = self.login(browser, req, choice).await?;
        let resource = match req.resources.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        };
        let tokens = self
            .redeem_code(&login.code, &req.redirect_uri, &login.verifier, resource)
            .await?;
        match &tokens.response.id_token {
            Some(id_token) => {
                self.validate_id_token(id_token, &login.nonce).await?;
                id_token::check_at_hash(id_token, &tokens.response.access_token)?;
            }
            None if req.scope.split(' ').any(|s| s == "openid") => {
                return Err(LoginError::NoIdToken);
            }
            None => {}
        }
        Ok((login, tokens))
    }

    /// Validates an ID token with [`protocol::id_token::validate`] (OpenID Connect Core
    /// §3.1.3.7) against the issuer's current keys (discovery and JWKS are fetched now, so a
    /// rotated key is found): signature, `iss`, `aud` (and `azp`), `nonce`, `exp`, `iat`,
    /// `sub`. Returns the claims. ([`Client::login_and_redeem`] also checks `at_hash` with
    /// [`protocol::id_token::check_at_hash`].)
    pub async fn validate_id_token(
        &self,
        id_token: &str,
        nonce: &str,
    ) -> Result<Value, LoginError> {
        let discovery: Value = self
            .http()
            .get(format!("{}{}", self.issuer, endpoints::DISCOVERY))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let jwks_uri = discovery["jwks_uri"]
            .as_str()
            .ok_or_else(|| LoginError::NoJwksUri(self.issuer.clone()))?;
        let jwks: Value = self
            .http()
            .get(jwks_uri)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let expected = Expected {
            issuer: &self.issuer,
            client_id: &self.client_id,
            nonce,
            now: unix_now(),
        };
        Ok(Value::Object(id_token::validate(
            id_token, &jwks, &expected,
        )?))
    }
}

/// What [`Client::push`] gives: where to send the browser and what to keep.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub url: String,
    pub verifier: String,
    pub state: String,
    pub nonce: String,
}

/// The system clock in seconds since the epoch (0 if it is before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The scopes of a user login besides the client's API scopes: the identity, level and HPR
/// claims HelseID's samples ask for.
pub const USER_SCOPES: &str = "openid profile offline_access helseid://scopes/identity/pid helseid://scopes/identity/security_level helseid://scopes/identity/assurance_level helseid://scopes/hpr/hpr_number";

/// Who logs in where, for [`as_person`].
#[derive(Debug, Clone, Copy)]
pub struct PersonLogin<'a> {
    /// The IdP's path name (`testidp`, `bankid`, ...): TestIDP logs in without a page.
    pub idp: &'a str,
    /// Its HelseID scheme (`testidp-oidc`, ...), for `acr_values`.
    pub scheme: &'a str,
    pub pid: &'a str,
    /// 3 or 4.
    pub level: u8,
    pub redirect_uri: &'a str,
    /// All scopes asked for (default: [`USER_SCOPES`] and `api_scopes`).
    pub scope: Option<&'a str>,
}

/// A whole user login the way HelseID's samples do it (PAR, the IdP's page or TestIDP's
/// automation, the code redeemed with DPoP, the ID token validated), then userinfo; and what
/// came of it as JSON: the browser's steps, the token requests, the token response, the
/// tokens' claims (decoded, not verified) and userinfo. `api_scopes` are the client's own
/// (the identity scopes among them are left out).
pub async fn as_person(
    client: &Client,
    api_scopes: &[String],
    who: &PersonLogin<'_>,
) -> Result<Value, LoginError> {
    let extra: Vec<&str> = api_scopes
        .iter()
        .map(String::as_str)
        .filter(|s| !USER_SCOPES.split(' ').any(|u| u == *s))
        .collect();
    let scope = who.scope.map_or_else(
        || {
            format!("{USER_SCOPES} {}", extra.join(" "))
                .trim()
                .to_owned()
        },
        str::to_owned,
    );
    let automatic = who.idp == "testidp";
    let request = LoginRequest {
        redirect_uri: who.redirect_uri.to_owned(),
        scope,
        acr_values: Some(format!("Level{} idp:{}", who.level, who.scheme)),
        test_pid: automatic.then(|| who.pid.to_owned()),
        test_security_level: automatic.then_some(who.level),
        login_hint: (!automatic).then(|| who.pid.to_owned()),
        ..Default::default()
    };
    let choice = UserChoice {
        idp: Some(who.idp.to_owned()),
        pid: Some(who.pid.to_owned()),
        method: None,
    };
    let browser = Browser::new()?;
    let (login, tokens) = client.login_and_redeem(&browser, &request, &choice).await?;
    let token = &tokens.response.access_token;
    let userinfo: Value = match client
        .api_request(
            reqwest::Method::GET,
            &format!("{}{}", client.issuer, endpoints::USERINFO),
            token,
        )?
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    };
    let claims = |jwt: &str| {
        protocol::jose::decode_unverified(jwt)
            .map(|(_, c)| c)
            .unwrap_or(Value::Null)
    };
    Ok(serde_json::json!({
        "person": who.pid,
        "idp": who.idp,
        "browser_steps": login.trail,
        "token_requests": tokens.attempts,
        "token_response": tokens.response,
        "access_token_claims": claims(token),
        "id_token_claims": tokens.response.id_token.as_deref().map(claims),
        "userinfo": userinfo,
    }))
}
