//! The demo client for trainers: a flow run one step at a time from the browser, each step
//! saying what is sent and why before it is sent, then showing what came back with every
//! token decoded and its claims explained. The steps are real: each "next" sends the request
//! to the testbed's STS with the seeded demo client (its configuration file in the data
//! directory), keeping the client (its keys, its DPoP key) between steps.
//!
//! Flows: a system token with DPoP (client assertion, DPoP proof, the `use_dpop_nonce`
//! challenge, the retry with the nonce, the proof an API call would carry).

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
use crate::flows::explain;
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

/// A system-token run in progress.
struct Run {
    client: Arc<Client>,
    done: Vec<Done>,
    nonce: Option<String>,
    access_token: Option<String>,
    finished: bool,
}

/// The runs in progress, by id.
#[derive(Default)]
pub struct Runs {
    runs: Mutex<(VecDeque<String>, HashMap<String, Run>)>,
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
        .route("/demo/run/{id}", get(run_page))
        .route("/demo/run/{id}/next", post(next))
        .with_state(web)
}

type Q = Query<HashMap<String, String>>;

#[derive(Template)]
#[template(path = "demo.html")]
struct DemoPage {
    c: Chrome,
    ready: bool,
}

async fn demo_page(State(web): State<Arc<Web>>, headers: HeaderMap, Query(q): Q) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/demo", "demo");
    let c = c.clone().titled(c.l.t("Demoklient", "Demo client"));
    let body = DemoPage {
        ready: web
            .settings
            .demo_config
            .as_ref()
            .is_some_and(|p| p.exists()),
        c: c.clone(),
    };
    page(&body, &c)
}

/// The steps of a system-token run: (title, why), in each language.
fn step_text(l: Locale, n: usize) -> Option<(&'static str, &'static str)> {
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
            l.t("Beviset et API-kall bærer", "The proof an API call carries"),
            l.t(
                "Mot API-et sendes Authorization: DPoP <token> og et nytt bevis for API-ets metode og URL med ath, hashen av tokenet. API-et sjekker signatur, iss, aud, scope, og at beviset er laget med nøkkelen i cnf.jkt.",
                "To the API go Authorization: DPoP <token> and a new proof for the API's method and URL with ath, the token's hash. The API checks the signature, iss, aud, scope, and that the proof was made with the key in cnf.jkt.",
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
            client: Arc::new(client),
            done: Vec::new(),
            nonce: None,
            access_token: None,
            finished: false,
        },
    );
    see_other(&web.path(&format!("/demo/run/{id}")))
}

struct ClaimRow {
    name: String,
    value: String,
    meaning: String,
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
    action: String,
    flows: String,
    client_id: String,
}

fn token_view(l: Locale, what: &str, token: &str) -> TokenView {
    let (header, claims) =
        protocol::jose::decode_unverified(token).unwrap_or((Value::Null, Value::Null));
    TokenView {
        what: what.to_owned(),
        header: header.to_string(),
        claims: claims
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| ClaimRow {
                        name: k.clone(),
                        value: match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        },
                        meaning: explain(l, k).unwrap_or("").to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

async fn run_page(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, &format!("/demo/run/{id}"), "demo");
    let Some((done, finished, client_id)) = web.demo.with(&id, |r| {
        (r.done.clone(), r.finished, r.client.client_id.clone())
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
    let c = c.clone().titled(c.l.t(
        "Systemtoken med DPoP, steg for steg",
        "A system token with DPoP, step by step",
    ));
    let (next_title, next_why) = step_text(c.l, done.len()).unwrap_or(("", ""));
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
        action: web.path(&format!("/demo/run/{id}/next")),
        flows: web.path(&format!("/flows?client={client_id}")),
        client_id,
        c: c.clone(),
    };
    page(&body, &c)
}

/// What a run needs for its next step, taken out of the lock.
struct Snapshot {
    client: Arc<Client>,
    n: usize,
    nonce: Option<String>,
    access_token: Option<String>,
}

/// Sends the token request with a fresh assertion and proof (with `nonce`): the record, the
/// nonce the STS asked for, the access token it gave.
async fn token_request(
    client: &Client,
    nonce: Option<&str>,
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
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
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
        client: r.client.clone(),
        n: r.done.len(),
        nonce: r.nonce.clone(),
        access_token: r.access_token.clone(),
    }) else {
        return error(&c, 404, c.l.t("Ingen slik demo.", "No such demo."));
    };
    let Some((title, why)) = step_text(c.l, snap.n) else {
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
        2 | 3 => match token_request(client, snap.nonce.as_deref()).await {
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
    };
    match step {
        Ok(done) => {
            let _ = web.demo.with(&id, |r| {
                r.done.push(done);
                // The STS gave a token at once (no nonce asked): the retry step is not needed.
                if r.done.len() == 3 && r.access_token.is_some() {
                    r.done.push(Done {
                        title: step_text(c.l, 3).map(|s| s.0).unwrap_or("").into(),
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
