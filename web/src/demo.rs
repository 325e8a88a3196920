//! The demo client for trainers: a flow run one step at a time from the browser, each step
//! saying what is sent and why before it is sent, then showing what came back with every
//! token decoded and its claims explained. The steps are real: each "next" sends the request
//! to the testbed's STS with the seeded demo client (its configuration file in the data
//! directory), keeping the client (its keys, its DPoP key) between steps.
//!
//! Flows: a system token with DPoP (client assertion, DPoP proof, the `use_dpop_nonce`
//! challenge, the retry with the nonce, a call to the person API with the token).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use helseid_reference::client::Client;
use serde_json::Value;

use crate::Web;
use crate::flows::ClaimRow;
use crate::layout::{Chrome, Locale, error, page, see_other};
use crate::pages::checked_form;

/// Demo runs kept at most (the oldest go).
const MAX_RUNS: usize = 100;

/// One step done: what it was, what was sent, what came back.
#[derive(Debug, Clone)]
struct Done {
    title: String,
    why: String,
    sent: String,
    got: String,
    /// Tokens to show decoded: (what, compact JWT).
    tokens: Vec<(String, String)>,
}

/// Which flow a run shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    SystemToken,
    Login,
}

/// What a login run keeps between steps.
#[derive(Debug, Clone, Default)]
struct LoginState {
    scheme: String,
    level: u8,
    /// The authorize URL (with the pushed request's `request_uri`).
    url: String,
    verifier: String,
    state: String,
    nonce: String,
    code: Option<String>,
    id_token: Option<String>,
    refresh_token: Option<String>,
    /// The APIs the client has scopes for: the first gets the login's token, the second the
    /// refresh's.
    audiences: Vec<String>,
}

/// A run in progress.
struct Run {
    kind: Kind,
    client: Arc<Client>,
    done: Vec<Done>,
    nonce: Option<String>,
    access_token: Option<String>,
    login: LoginState,
    finished: bool,
}

/// The runs in progress, by id; and the login client the page registered.
#[derive(Default)]
pub struct Runs {
    runs: Mutex<(VecDeque<String>, HashMap<String, Run>)>,
    login_client: tokio::sync::OnceCell<(Arc<Client>, Vec<String>)>,
}

impl std::fmt::Debug for Runs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runs").finish_non_exhaustive()
    }
}

impl Runs {
    fn insert(&self, id: String, run: Run) {
        let mut g = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        if g.0.len() >= MAX_RUNS
            && let Some(old) = g.0.pop_front()
        {
            g.1.remove(&old);
        }
        g.0.push_back(id.clone());
        g.1.insert(id, run);
    }

    /// The run whose login is waiting for `state`.
    fn by_state(&self, state: &str) -> Option<String> {
        let g = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        g.1.iter()
            .find(|(_, r)| {
                r.kind == Kind::Login && r.login.state == state && r.login.code.is_none()
            })
            .map(|(id, _)| id.clone())
    }

    /// Runs `f` on run `id`, if there is one.
    fn with<T>(&self, id: &str, f: impl FnOnce(&mut Run) -> T) -> Option<T> {
        let mut g = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        g.1.get_mut(id).map(f)
    }
}

pub fn routes(web: Arc<Web>) -> Router {
    Router::new()
        .route("/demo", get(demo_page))
        .route("/demo/system-token", post(start))
        .route("/demo/user-login", post(start_login))
        .route("/demo/callback", get(callback))
        .route("/demo/run/{id}", get(run_page))
        .route("/demo/run/{id}/next", post(next))
        .with_state(web)
}

type Q = Query<HashMap<String, String>>;

use crate::idps::IdpChoice;

#[derive(Template)]
#[template(path = "demo.html")]
struct DemoPage {
    c: Chrome,
    ready: bool,
    login_ready: bool,
    idps: Vec<IdpChoice>,
}

async fn demo_page(State(web): State<Arc<Web>>, headers: HeaderMap, Query(q): Q) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/demo", "demo");
    let c = c.clone().titled(c.l.t("Demoklient", "Demo client"));
    let idps = crate::idps::choices(&web, c.l);
    let body = DemoPage {
        ready: web
            .settings
            .demo_config
            .as_ref()
            .is_some_and(|p| p.exists()),
        login_ready: web
            .settings
            .demo_login_config
            .as_ref()
            .is_some_and(|p| p.exists()),
        idps,
        c: c.clone(),
    };
    page(&body, &c)
}

/// The steps of a run: (title, why), in each language.
fn step_text(kind: Kind, l: Locale, n: usize) -> Option<(&'static str, &'static str)> {
    match kind {
        Kind::SystemToken => system_step(l, n),
        Kind::Login => login_step(l, n),
    }
}

fn login_step(l: Locale, n: usize) -> Option<(&'static str, &'static str)> {
    let (title, why) = match n {
        0 => (
            l.t("Dytt autorisasjonsforespørselen (PAR)", "Push the authorization request (PAR)"),
            l.t(
                "HelseID krever PAR (RFC 9126): parametrene (scope, redirect_uri, acr_values med IdP og nivå, PKCE-utfordringen, state, nonce) sendes direkte til STS-et med klient-assertion, og nettleseren får bare en request_uri.",
                "HelseID requires PAR (RFC 9126): the parameters (scope, redirect_uri, acr_values with the IdP and level, the PKCE challenge, state, nonce) go straight to the STS with a client assertion, and the browser gets only a request_uri.",
            ),
        ),
        1 => (
            l.t("Send nettleseren til innlogging", "Send the browser to log in"),
            l.t(
                "Nettleseren går til authorize med client_id og request_uri, videre til identitetstilbyderen, og tilbake til redirect_uri med en kode, state og iss. Klienten sjekker at state er den den sendte og iss er STS-et (RFC 9207).",
                "The browser goes to authorize with client_id and request_uri, on to the identity provider, and back to the redirect_uri with a code, state and iss. The client checks that state is the one it sent and iss is the STS (RFC 9207).",
            ),
        ),
        2 => (
            l.t("Løs inn koden", "Redeem the code"),
            l.t(
                "Tokenforespørselen bærer koden, PKCE-verifikatoren (beviset på at det er samme klient som startet), en ny assertion og et DPoP-bevis, med nonce-runden. resource velger API-et når klienten har scopes for flere.",
                "The token request carries the code, the PKCE verifier (proof it is the client that started), a new assertion and a DPoP proof, with the nonce round trip. resource picks the API when the client has scopes for several.",
            ),
        ),
        3 => (
            l.t("Valider ID-tokenet", "Validate the ID token"),
            l.t(
                "Før klienten stoler på hvem som logget inn: signaturen mot STS-ets nøkler, iss, aud, nonce, exp, iat og at_hash (OIDC Core §3.1.3.7).",
                "Before the client trusts who logged in: the signature with the STS's keys, iss, aud, nonce, exp, iat and at_hash (OIDC Core §3.1.3.7).",
            ),
        ),
        4 => (
            l.t("Forny for et annet API", "Refresh for a second API"),
            l.t(
                "Med refresh-tokenet får klienten et token til et annet API (resource), uten ny innlogging; HelseID roterer refresh-tokenet.",
                "With the refresh token the client gets a token for another API (resource) without a new login; HelseID rotates the refresh token.",
            ),
        ),
        5 => (
            l.t("Forny med en Tillitsrammeverk-attest", "Refresh with a Tillitsrammeverk attestation"),
            l.t(
                "Til API-er som krever det (Kjernejournal) sender klienten attesten om behandlingsrelasjon og formål i klient-assertionens assertion_details; HelseID legger den i access-tokenet som nhn:tillitsrammeverk:parameters, beriket med det den vet selv.",
                "For APIs that require it (Kjernejournal) the client sends the attestation of care relation and purpose in the client assertion's assertion_details; HelseID puts it in the access token as nhn:tillitsrammeverk:parameters, enriched with what it knows itself.",
            ),
        ),
        6 => (
            l.t("Veksle tokenet (token exchange)", "Exchange the token (token exchange)"),
            l.t(
                "Et API som har fått brukerens token kaller et annet API på brukerens vegne (RFC 8693): API-et autentiserer seg som klient, legger fram tokenet (subject_token) og ber om det andre API-ets scope. Det nye tokenet har brukerens claims, den opprinnelige klienten og kjeden av aktører i act. (Her spiller demoklienten API-ets rolle.)",
                "An API that received the user's token calls another API on the user's behalf (RFC 8693): the API authenticates as a client, presents the token (subject_token) and asks for the other API's scope. The new token has the user's claims, the original client and the chain of actors in act. (Here the demo client plays the API's part.)",
            ),
        ),
        7 => (
            l.t("Kall userinfo med tokenet", "Call userinfo with the token"),
            l.t(
                "Et beskyttet endepunkt kalles med Authorization: DPoP og et bevis med ath; svaret er brukerens claims.",
                "A protected endpoint is called with Authorization: DPoP and a proof with ath; the answer is the user's claims.",
            ),
        ),
        _ => return None,
    };
    Some((title, why))
}

fn system_step(l: Locale, n: usize) -> Option<(&'static str, &'static str)> {
    let (title, why) = match n {
        0 => (
            l.t("Lag en klient-assertion", "Build a client assertion"),
            l.t(
                "HelseID godtar ikke klienthemmeligheter: klienten beviser hvem den er med en kortlevd JWT signert med sin private nøkkel (private_key_jwt, RFC 7523). iss og sub er client_id, aud er STS-et, jti brukes bare én gang.",
                "HelseID takes no client secrets: the client proves who it is with a short-lived JWT signed with its private key (private_key_jwt, RFC 7523). iss and sub are the client_id, aud is the STS, a jti is used once.",
            ),
        ),
        1 => (
            l.t("Lag et DPoP-bevis for token-endepunktet", "Make a DPoP proof for the token endpoint"),
            l.t(
                "Tokenet skal bindes til en nøkkel bare klienten har (DPoP, RFC 9449): beviset er signert med DPoP-nøkkelen, bærer den offentlige nøkkelen (jwk) og gjelder én metode og URL (htm, htu).",
                "The token is to be bound to a key only the client holds (DPoP, RFC 9449): the proof is signed with the DPoP key, carries its public key (jwk) and is for one method and URL (htm, htu).",
            ),
        ),
        2 => (
            l.t("Send tokenforespørselen", "Send the token request"),
            l.t(
                "grant_type=client_credentials med assertion og bevis. HelseID krever en nonce fra serveren i beviset, så første svar er 400 use_dpop_nonce med en DPoP-Nonce-header (RFC 9449 §8).",
                "grant_type=client_credentials with the assertion and the proof. HelseID requires a server nonce in the proof, so the first answer is 400 use_dpop_nonce with a DPoP-Nonce header (RFC 9449 §8).",
            ),
        ),
        3 => (
            l.t("Prøv igjen med nonce", "Retry with the nonce"),
            l.t(
                "En ny assertion (jti kan ikke gjenbrukes) og et nytt bevis med nonce-en. Svaret er et access-token av typen DPoP, bundet til nøkkelen med cnf.jkt.",
                "A new assertion (a jti cannot be reused) and a new proof with the nonce. The answer is an access token of type DPoP, bound to the key by cnf.jkt.",
            ),
        ),
        4 => (
            l.t("Kall API-et med tokenet", "Call the API with the token"),
            l.t(
                "Mot API-et sendes Authorization: DPoP <token> og et nytt bevis for API-ets metode og URL med ath, hashen av tokenet. API-et sjekker signatur, iss, aud, scope, og at beviset er laget med nøkkelen i cnf.jkt. Her er API-et testbedets Persontjenesten (FHIR R4), og kallet et navnesøk med _elements.",
                "To the API go Authorization: DPoP <token> and a new proof for the API's method and URL with ath, the token's hash. The API checks the signature, iss, aud, scope, and that the proof was made with the key in cnf.jkt. Here the API is the testbed's Persontjenesten (FHIR R4), and the call a name search with _elements.",
            ),
        ),
        _ => return None,
    };
    Some((title, why))
}

async fn start(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/demo", "demo");
    if let Err(r) = checked_form(&web, &c, &headers, &body) {
        return *r;
    }
    let Some(path) = web.settings.demo_config.clone() else {
        return error(
            &c,
            404,
            c.l.t("Det finnes ingen demoklient.", "There is no demo client."),
        );
    };
    let client = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .and_then(|t| protocol::client_config::parse(&t).map_err(|e| e.to_string()))
        .and_then(|f| {
            Client::from_config(&f, Some(&web.sts.config.issuer)).map_err(|e| e.to_string())
        });
    let client = match client {
        Ok(cl) => cl,
        Err(e) => return error(&c, 500, &e),
    };
    let Ok(id) = protocol::jose::random_hex::<8>() else {
        return error(&c, 500, "no random id");
    };
    let id = id.to_lowercase();
    web.demo.insert(
        id.clone(),
        Run {
            kind: Kind::SystemToken,
            client: Arc::new(client),
            done: Vec::new(),
            nonce: None,
            access_token: None,
            login: LoginState::default(),
            finished: false,
        },
    );
    see_other(&web.path(&format!("/demo/run/{id}")))
}

struct TokenView {
    what: String,
    header: String,
    claims: Vec<ClaimRow>,
}

struct DoneView {
    n: usize,
    title: String,
    why: String,
    sent: String,
    got: String,
    tokens: Vec<TokenView>,
}

#[derive(Template)]
#[template(path = "demo_run.html")]
struct RunPage {
    c: Chrome,
    done: Vec<DoneView>,
    next_title: String,
    next_why: String,
    finished: bool,
    browser_link: Option<String>,
    action: String,
    flows: String,
    client_id: String,
}

fn token_view(l: Locale, what: &str, token: &str) -> TokenView {
    let (header, claims) = crate::flows::decoded(l, token);
    TokenView {
        what: what.to_owned(),
        header,
        claims,
    }
}

async fn run_page(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, &format!("/demo/run/{id}"), "demo");
    let Some((kind, done, finished, client_id, url)) = web.demo.with(&id, |r| {
        (
            r.kind,
            r.done.clone(),
            r.finished,
            r.client.client_id.clone(),
            r.login.url.clone(),
        )
    }) else {
        return error(
            &c,
            404,
            c.l.t(
                "Ingen slik demo (den kan være for gammel): start en ny.",
                "No such demo (it may be too old): start a new one.",
            ),
        );
    };
    let title = match kind {
        Kind::SystemToken => c.l.t(
            "Systemtoken med DPoP, steg for steg",
            "A system token with DPoP, step by step",
        ),
        Kind::Login => c.l.t(
            "Brukerinnlogging, steg for steg",
            "A user login, step by step",
        ),
    };
    let c = c.clone().titled(title);
    let (next_title, next_why) = step_text(kind, c.l, done.len()).unwrap_or(("", ""));
    // The browser step is a link the trainer follows, not a form.
    let browser_link = (kind == Kind::Login && done.len() == 1).then_some(url);
    let body = RunPage {
        done: done
            .iter()
            .enumerate()
            .map(|(i, d)| DoneView {
                n: i + 1,
                title: d.title.clone(),
                why: d.why.clone(),
                sent: d.sent.clone(),
                got: d.got.clone(),
                tokens: d
                    .tokens
                    .iter()
                    .map(|(w, t)| token_view(c.l, w, t))
                    .collect(),
            })
            .collect(),
        next_title: next_title.to_owned(),
        next_why: next_why.to_owned(),
        finished,
        browser_link,
        action: web.path(&format!("/demo/run/{id}/next")),
        flows: web.path(&format!("/flows?client={client_id}")),
        client_id,
        c: c.clone(),
    };
    page(&body, &c)
}

/// What a run needs for its next step, taken out of the lock.
struct Snapshot {
    kind: Kind,
    login: LoginState,
    client: Arc<Client>,
    n: usize,
    nonce: Option<String>,
    access_token: Option<String>,
}

/// Sends the token request with a fresh assertion and proof (with `nonce`): the record, the
/// nonce the STS asked for, the access token it gave.
/// The demo's last system step: a person search at the person API with the DPoP-bound
/// token and a fresh proof, and what the API answered.
async fn call_person_api(
    persons: &persontjenesten::PersonApi,
    client: &Client,
    token: &str,
    title: &str,
    why: &str,
) -> Result<Done, String> {
    let url = format!(
        "{}/Person?name=a&_elements=identifier,name,birthDate&_count=2",
        persons.base_url()
    );
    let request = client
        .api_request(reqwest::Method::GET, &url, token)
        .map_err(|e| e.to_string())?
        .header("Accept", persontjenesten::fhir::CONTENT_TYPE)
        .build()
        .map_err(|e| e.to_string())?;
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (authorization, proof) = (header("authorization"), header("dpop"));
    let response = client
        .http()
        .execute(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    let pretty = serde_json::from_str::<serde_json::Value>(&body)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or(body);
    Ok(Done {
        title: title.into(),
        why: why.into(),
        sent: format!(
            "GET {url}\nAccept: {}\nAuthorization: {authorization}\nDPoP: {proof}",
            persontjenesten::fhir::CONTENT_TYPE
        ),
        got: format!("HTTP {status}\n\n{pretty}"),
        tokens: vec![("DPoP proof (API call)".to_owned(), proof)],
    })
}

/// The person API's scope when the demo's system client may ask for it and the API is
/// served: the demo's token is then for the person API, and its last step calls it.
fn person_scope(web: &Web, client: &Client) -> Option<String> {
    let scope = mock_sts::seed::persontjenesten_read_scope();
    let stored = web.sts.store.client(&client.client_id).ok().flatten()?;
    (web.persons.is_some() && stored.scopes.contains(&scope)).then_some(scope)
}

async fn token_request(
    client: &Client,
    nonce: Option<&str>,
    scope: Option<&str>,
) -> Result<
    (
        String,
        String,
        Vec<(String, String)>,
        Option<String>,
        Option<String>,
    ),
    String,
> {
    let endpoint = format!("{}{}", client.issuer, protocol::endpoints::TOKEN);
    let assertion = client.assertion(None).map_err(|e| e.to_string())?;
    let proof = client
        .proof("POST", &endpoint, nonce, None)
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let mut form = vec![
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let response = client
        .http()
        .post(&endpoint)
        .header("DPoP", &proof)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let new_nonce = response
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let sent = format!(
        "POST {endpoint}\nDPoP: {proof}\n\ngrant_type=client_credentials&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion={assertion}"
    );
    let mut got = format!("=> {status}");
    if let Some(n) = &new_nonce {
        got.push_str(&format!("\nDPoP-Nonce: {n}"));
    }
    got.push('\n');
    got.push_str(&serde_json::to_string_pretty(&body).unwrap_or_default());
    let token = body["access_token"].as_str().map(str::to_owned);
    let mut tokens = vec![
        ("client assertion".to_owned(), assertion),
        ("DPoP proof".to_owned(), proof),
    ];
    if let Some(t) = &token {
        tokens.push(("access token".to_owned(), t.clone()));
    }
    Ok((sent, got, tokens, new_nonce, token))
}

async fn next(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, &format!("/demo/run/{id}"), "demo");
    if let Err(r) = checked_form(&web, &c, &headers, &body) {
        return *r;
    }
    let Some(snap) = web.demo.with(&id, |r| Snapshot {
        kind: r.kind,
        client: r.client.clone(),
        n: r.done.len(),
        nonce: r.nonce.clone(),
        access_token: r.access_token.clone(),
        login: r.login.clone(),
    }) else {
        return error(&c, 404, c.l.t("Ingen slik demo.", "No such demo."));
    };
    if snap.kind == Kind::Login {
        return login_next(&web, &c, &id, snap).await;
    }
    let Some((title, why)) = step_text(snap.kind, c.l, snap.n) else {
        return see_other(&web.path(&format!("/demo/run/{id}")));
    };
    let client = &snap.client;
    let endpoint = format!("{}{}", client.issuer, protocol::endpoints::TOKEN);
    let step = match snap.n {
        0 => client
            .assertion(None)
            .map(|a| Done {
                title: title.into(),
                why: why.into(),
                sent: c
                    .l
                    .t(
                        "(ingenting ennå: assertion lages lokalt)",
                        "(nothing yet: the assertion is made locally)",
                    )
                    .into(),
                got: String::new(),
                tokens: vec![("client assertion".into(), a)],
            })
            .map_err(|e| e.to_string()),
        1 => client
            .proof("POST", &endpoint, None, None)
            .map_err(|e| e.to_string())
            .map(|p| Done {
                title: title.into(),
                why: why.into(),
                sent: c
                    .l
                    .t(
                        "(ingenting ennå: beviset lages lokalt)",
                        "(nothing yet: the proof is made locally)",
                    )
                    .into(),
                got: String::new(),
                tokens: p
                    .into_iter()
                    .map(|p| ("DPoP proof".to_owned(), p))
                    .collect(),
            }),
        2 | 3 => match token_request(
            client,
            snap.nonce.as_deref(),
            person_scope(&web, client).as_deref(),
        )
        .await
        {
            Ok((sent, got, tokens, nonce, token)) => {
                let _ = web.demo.with(&id, |r| {
                    if nonce.is_some() {
                        r.nonce = nonce;
                    }
                    if token.is_some() {
                        r.access_token = token;
                    }
                });
                Ok(Done {
                    title: title.into(),
                    why: why.into(),
                    sent,
                    got,
                    tokens,
                })
            }
            Err(e) => Err(e),
        },
        _ => match (&web.persons, person_scope(&web, client), &snap.access_token) {
            (Some(persons), Some(_), Some(token)) => {
                call_person_api(persons, client, token, title, why).await
            }
            _ => {
                let api = "https://api.example.no/journal";
                snap.access_token
                .as_deref()
                .ok_or_else(|| "no access token".to_owned())
                .and_then(|t| {
                    client
                        .proof("GET", api, None, Some(t))
                        .map_err(|e| e.to_string())
                        .map(|p| Done {
                            title: title.into(),
                            why: why.into(),
                            sent: format!("GET {api}\nAuthorization: DPoP {t}\nDPoP: {}", p.clone().unwrap_or_default()),
                            got: c.l.t("(ikke sendt: testbedet har ikke dette API-et; se konformanstesten for API-er)", "(not sent: the testbed has no such API; see the conformance suite for APIs)").into(),
                            tokens: p.into_iter().map(|p| ("DPoP proof (API call)".to_owned(), p)).collect(),
                        })
                })
            }
        },
    };
    match step {
        Ok(done) => {
            let _ = web.demo.with(&id, |r| {
                r.done.push(done);
                // The STS gave a token at once (no nonce asked): the retry step is not needed.
                if r.done.len() == 3 && r.access_token.is_some() {
                    r.done.push(Done {
                        title: step_text(Kind::SystemToken, c.l, 3)
                            .map(|s| s.0)
                            .unwrap_or("")
                            .into(),
                        why: c
                            .l
                            .t(
                                "Ikke nødvendig: STS-et ba ikke om nonce.",
                                "Not needed: the STS asked for no nonce.",
                            )
                            .into(),
                        sent: String::new(),
                        got: String::new(),
                        tokens: vec![],
                    });
                }
                r.finished = r.done.len() >= 5;
            });
            see_other(&web.path(&format!("/demo/run/{id}")))
        }
        Err(e) => error(&c, 502, &e),
    }
}

/// The client the login demo uses: registered once per process (the demo login client's
/// scopes, the page's callback as its only redirect URI), with the APIs it may ask for.
async fn login_client(web: &Web) -> Result<(Arc<Client>, Vec<String>), String> {
    let made = web
        .demo
        .login_client
        .get_or_try_init(|| async {
            let path = web
                .settings
                .demo_login_config
                .clone()
                .ok_or("there is no demo login client")?;
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let file = protocol::client_config::parse(&text).map_err(|e| e.to_string())?;
            let model = web
                .sts
                .store
                .client(&file.client_id)
                .map_err(|e| e.to_string())?
                .ok_or("the demo login client is not registered")?;
            let (client, key) = mock_sts::registration::create(
                &web.sts.store,
                mock_sts::registration::NewClient {
                    client_id: None,
                    name: "Testbed demo client (pages)".into(),
                    tenancy: model.tenancy.clone(),
                    scopes: model.scopes.clone(),
                    grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                    redirect_uris: vec![web.url("/demo/callback")],
                    binding: mock_sts::store::TokenBinding::Dpop,
                    key_expires_at: None,
                    origin: "pages".into(),
                },
                web.sts.now(),
            )
            .map_err(|e| e.to_string())?;
            let mut audiences: Vec<String> = Vec::new();
            for scope in &client.scopes {
                if let Some(a) = protocol::claims::resource_of(scope)
                    && !audiences.iter().any(|x| x == a)
                {
                    audiences.push(a.to_owned());
                }
            }
            // The token-exchange step plays the first API calling another on the user's
            // behalf: that API must name the acting client as one of its token-exchange
            // clients (here the demo's own client plays the API's part).
            if let Some(first) = audiences.first()
                && let Ok(Some(mut api)) = web.sts.store.api(first)
                && !api.token_exchange_clients.contains(&client.client_id)
            {
                api.token_exchange_clients.push(client.client_id.clone());
                web.sts.store.put_api(&api).map_err(|e| e.to_string())?;
            }
            let client = Client::new(&client.client_id, &web.sts.config.issuer, key)
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((Arc::new(client), audiences))
        })
        .await?;
    Ok(made.clone())
}

async fn start_login(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/demo", "demo");
    let form = match checked_form(&web, &c, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let Some(upstream) = crate::idps::chosen(&web, &form) else {
        return error(
            &c,
            400,
            c.l.t(
                "Velg en identitetstilbyder.",
                "Choose an identity provider.",
            ),
        );
    };
    let level = crate::idps::level(&form);
    let (client, audiences) = match login_client(&web).await {
        Ok(v) => v,
        Err(e) => return error(&c, 500, &e),
    };
    let Ok(id) = protocol::jose::random_hex::<8>() else {
        return error(&c, 500, "no random id");
    };
    let id = id.to_lowercase();
    web.demo.insert(
        id.clone(),
        Run {
            kind: Kind::Login,
            client,
            done: Vec::new(),
            nonce: None,
            access_token: None,
            login: LoginState {
                scheme: upstream.scheme.clone(),
                level,
                audiences,
                ..LoginState::default()
            },
            finished: false,
        },
    );
    see_other(&web.path(&format!("/demo/run/{id}")))
}

/// The token response as shown: status line and body, tokens shortened.
fn shown_tokens(t: &helseid_reference::client::TokenOutcome) -> String {
    format!(
        "=> 200 ({} {})\n{}",
        t.attempts,
        if t.attempts == 1 {
            "request"
        } else {
            "requests: the DPoP nonce round trip"
        },
        serde_json::to_string_pretty(&t.response).unwrap_or_default()
    )
}

async fn login_next(web: &Web, c: &Chrome, id: &str, snap: Snapshot) -> Response {
    let l = c.l;
    let Some((title, why)) = login_step(l, snap.n) else {
        return see_other(&web.path(&format!("/demo/run/{id}")));
    };
    let client = &snap.client;
    let st = &snap.login;
    let done = |sent: String, got: String, tokens: Vec<(String, String)>| Done {
        title: title.into(),
        why: why.into(),
        sent,
        got,
        tokens,
    };
    let result: Result<Done, String> = match snap.n {
        0 => {
            let scope = format!(
                "{} {}",
                helseid_reference::login::USER_SCOPES,
                client_scopes(web, &client.client_id).join(" ")
            );
            let req = helseid_reference::login::LoginRequest {
                redirect_uri: web.url("/demo/callback"),
                scope: scope.trim().to_owned(),
                acr_values: Some(format!("Level{} idp:{}", st.level, st.scheme)),
                ..Default::default()
            };
            match client.push(&req).await {
                Ok(p) => {
                    let sent = format!(
                        "POST {}{}\nclient_id={}\nresponse_type=code\nredirect_uri={}\nscope={}\nacr_values={}\ncode_challenge={} (S256 of the verifier, kept by the client)\ncode_challenge_method=S256\nstate={}\nnonce={}\nclient_assertion=…",
                        client.issuer,
                        protocol::endpoints::PAR,
                        client.client_id,
                        req.redirect_uri,
                        req.scope,
                        req.acr_values.clone().unwrap_or_default(),
                        protocol::pkce::challenge(&p.verifier),
                        p.state,
                        p.nonce
                    );
                    let got = format!("=> 201\n{}", p.url);
                    let _ = web.demo.with(id, |r| {
                        r.login.url = p.url.clone();
                        r.login.verifier = p.verifier.clone();
                        r.login.state = p.state.clone();
                        r.login.nonce = p.nonce.clone();
                    });
                    Ok(done(sent, got, vec![]))
                }
                Err(e) => Err(e.to_string()),
            }
        }
        // The browser step ends at /demo/callback, not here.
        1 => return see_other(&web.path(&format!("/demo/run/{id}"))),
        2 => {
            let Some(code) = st.code.clone() else {
                return see_other(&web.path(&format!("/demo/run/{id}")));
            };
            let resource = st.audiences.first().map(String::as_str);
            match client
                .redeem_code(&code, &web.url("/demo/callback"), &st.verifier, resource)
                .await
            {
                Ok(t) => {
                    let sent = format!(
                        "POST {}\ngrant_type=authorization_code\ncode={}…\nredirect_uri={}\ncode_verifier={}…\nresource={}\nclient_assertion=… DPoP: …",
                        client.token_endpoint,
                        code.chars().take(6).collect::<String>(),
                        web.url("/demo/callback"),
                        st.verifier.chars().take(6).collect::<String>(),
                        resource.unwrap_or("")
                    );
                    let mut tokens =
                        vec![("access token".to_owned(), t.response.access_token.clone())];
                    tokens.extend(
                        t.response
                            .id_token
                            .clone()
                            .map(|i| ("ID token".to_owned(), i)),
                    );
                    let _ = web.demo.with(id, |r| {
                        r.access_token = Some(t.response.access_token.clone());
                        r.login.id_token = t.response.id_token.clone();
                        r.login.refresh_token = t.response.refresh_token.clone();
                    });
                    Ok(done(sent, shown_tokens(&t), tokens))
                }
                Err(e) => Err(e.to_string()),
            }
        }
        3 => {
            let (Some(id_token), Some(at)) = (st.id_token.clone(), snap.access_token.clone())
            else {
                return error(
                    c,
                    409,
                    l.t("Ingen ID-token å validere.", "No ID token to validate."),
                );
            };
            let checked = client
                .validate_id_token(&id_token, &st.nonce)
                .await
                .map_err(|e| e.to_string())
                .and_then(|claims| {
                    protocol::id_token::check_at_hash(&id_token, &at)
                        .map(|()| claims)
                        .map_err(|e| e.to_string())
                });
            match checked {
                Ok(_) => Ok(done(
                    format!(
                        "GET {}{} → jwks_uri",
                        client.issuer,
                        protocol::endpoints::DISCOVERY
                    ),
                    l.t(
                        "Gyldig: signatur, iss, aud, nonce, exp, iat, sub og at_hash stemmer.",
                        "Valid: signature, iss, aud, nonce, exp, iat, sub and at_hash hold.",
                    )
                    .into(),
                    vec![("ID token".to_owned(), id_token)],
                )),
                Err(e) => Ok(done(
                    String::new(),
                    format!("{} {e}", l.t("AVVIST:", "REFUSED:")),
                    vec![("ID token".to_owned(), id_token)],
                )),
            }
        }
        4 | 5 => {
            let Some(rt) = st.refresh_token.clone() else {
                return error(c, 409, l.t("Ingen refresh-token.", "No refresh token."));
            };
            // Step 4: a second API; step 5: Kjernejournal with a Tillitsrammeverk attestation.
            let (audience, details, what) = if snap.n == 4 {
                (second_api(st), None, "access token (second API)")
            } else {
                let attestation = match conformance::embedded::tillitsrammeverk_attestation() {
                    Ok(a) => a,
                    Err(e) => return error(c, 500, &e.to_string()),
                };
                let kj = st
                    .audiences
                    .iter()
                    .find(|a| a.contains("kjernejournal"))
                    .or(st.audiences.first())
                    .cloned();
                (kj, Some(attestation), "access token (with the attestation)")
            };
            match client
                .refresh(&rt, audience.as_deref(), details.clone())
                .await
            {
                Ok(t) => {
                    let _ = web.demo.with(id, |r| {
                        r.login.refresh_token = t.response.refresh_token.clone();
                    });
                    let mut sent = format!(
                        "POST {}\ngrant_type=refresh_token\nrefresh_token={}…\nresource={}\nclient_assertion=… DPoP: …",
                        client.token_endpoint,
                        rt.chars().take(6).collect::<String>(),
                        audience.unwrap_or_default()
                    );
                    if let Some(d) = &details {
                        sent.push_str(&format!(
                            "\nclient_assertion: assertion_details =\n{}",
                            serde_json::to_string_pretty(d).unwrap_or_default()
                        ));
                    }
                    Ok(done(
                        sent,
                        shown_tokens(&t),
                        vec![(what.to_owned(), t.response.access_token.clone())],
                    ))
                }
                Err(e) => Err(e.to_string()),
            }
        }
        6 => {
            let Some(at) = snap.access_token.clone() else {
                return error(c, 409, l.t("Intet access-token.", "No access token."));
            };
            let target = second_api(st).unwrap_or_default();
            let scope = client_scopes(web, &client.client_id)
                .into_iter()
                .find(|s| protocol::claims::resource_of(s) == Some(target.as_str()))
                .unwrap_or_default();
            match client.exchange(&at, &scope).await {
                Ok(t) => Ok(done(
                    format!(
                        "POST {}\ngrant_type=urn:ietf:params:oauth:grant-type:token-exchange\nsubject_token={}…\nsubject_token_type=urn:ietf:params:oauth:token-type:access_token\nscope={scope}\nclient_assertion=… DPoP: …",
                        client.token_endpoint,
                        at.chars().take(12).collect::<String>()
                    ),
                    shown_tokens(&t),
                    vec![(
                        "access token (exchanged)".to_owned(),
                        t.response.access_token.clone(),
                    )],
                )),
                Err(e) => Err(e.to_string()),
            }
        }
        _ => {
            let Some(at) = snap.access_token.clone() else {
                return error(c, 409, l.t("Intet access-token.", "No access token."));
            };
            let url = format!("{}{}", client.issuer, protocol::endpoints::USERINFO);
            let call = match client.api_request(reqwest::Method::GET, &url, &at) {
                Ok(b) => b.send().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match call {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body: Value = r.json().await.unwrap_or(Value::Null);
                    Ok(done(
                        format!(
                            "GET {url}\nAuthorization: DPoP {}…\nDPoP: …(ath)",
                            at.chars().take(12).collect::<String>()
                        ),
                        format!(
                            "=> {status}\n{}",
                            serde_json::to_string_pretty(&body).unwrap_or_default()
                        ),
                        vec![],
                    ))
                }
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(d) => {
            let _ = web.demo.with(id, |r| {
                r.done.push(d);
                r.finished = r.done.len() >= 8;
            });
            see_other(&web.path(&format!("/demo/run/{id}")))
        }
        Err(e) => error(c, 502, &e),
    }
}

/// The second API the login client may ask for (the first when it has only one).
fn second_api(st: &LoginState) -> Option<String> {
    st.audiences.get(1).or(st.audiences.first()).cloned()
}

/// The API scopes registered for `client_id`.
fn client_scopes(web: &Web, client_id: &str) -> Vec<String> {
    web.sts
        .store
        .client(client_id)
        .ok()
        .flatten()
        .map(|c| c.scopes)
        .unwrap_or_default()
}

/// `GET /demo/callback`: the login's redirect URI. Checks `state` and `iss` as a client must
/// (RFC 6749 §10.12, RFC 9207) and records the step; an error answer is shown.
async fn callback(State(web): State<Arc<Web>>, headers: HeaderMap, Query(q): Q) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/demo", "demo");
    let state = q.get("state").cloned().unwrap_or_default();
    let Some(id) = web.demo.by_state(&state) else {
        return error(
            &c,
            400,
            c.l.t(
                "Ukjent state: svaret hører ikke til en innlogging denne demoen startet.",
                "Unknown state: the answer belongs to no login this demo started.",
            ),
        );
    };
    let Some((title, why)) = login_step(c.l, 1) else {
        return error(&c, 500, "no step");
    };
    // The run was found by its state (protocol::authorization_response::check_state holds by
    // construction); the issuer is checked as every client must.
    let issuer = protocol::authorization_response::check_issuer(
        &web.sts.config.issuer,
        q.get("iss").map(String::as_str),
    );
    let shown = q
        .iter()
        .map(|(k, v)| {
            if k == "code" {
                format!("{k}={}…", v.chars().take(6).collect::<String>())
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (got, code) = match (q.get("error"), q.get("code")) {
        (Some(e), _) => (
            format!(
                "{} {e}: {}",
                c.l.t("Feil fra STS-et:", "Error from the STS:"),
                q.get("error_description").cloned().unwrap_or_default()
            ),
            None,
        ),
        (None, Some(code)) if issuer.is_ok() => (
            c.l.t(
                "state er den klienten sendte, og iss er STS-et: koden kan løses inn.",
                "state is the one the client sent, and iss is the STS: the code may be redeemed.",
            )
            .to_owned(),
            Some(code.clone()),
        ),
        (None, _) => (
            format!(
                "{} {}",
                c.l.t(
                    "Klienten løser ikke inn koden (RFC 9207):",
                    "The client does not redeem the code (RFC 9207):",
                ),
                issuer
                    .err()
                    .map_or_else(|| "no code".to_owned(), |e| e.to_string())
            ),
            None,
        ),
    };
    let failed = code.is_none();
    let _ = web.demo.with(&id, |r| {
        r.done.push(Done {
            title: title.into(),
            why: why.into(),
            sent: format!("GET {}\n{shown}", web.url("/demo/callback")),
            got,
            tokens: vec![],
        });
        r.login.code = code;
        r.finished = failed;
    });
    see_other(&web.path(&format!("/demo/run/{id}")))
}
