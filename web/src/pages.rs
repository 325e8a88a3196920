//! The pages: the start page (`/`), the sessions (`/sessions`, `/sessions/<id>`,
//! `/sessions/<id>/results`) and the demo client's configuration file.
//!
//! Handlers read the request, call the STS's store or [`conformance::session::Sessions`],
//! and render a template; forms that change state check the CSRF token (and the api-key
//! beyond loopback) and redirect with 303.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use conformance::report::{Exchange, Outcome, Report};
use conformance::session::{Record, SessionDoc, Status};
use mock_sts::fault::{Fault, Site};
use protocol::endpoints;
use protocol::form::Params;

use crate::Web;
use crate::layout::{self, Chrome, Locale, Pager, error, page, see_other, time};
use crate::security::{self, CSRF_FIELD};

pub fn routes(web: Arc<Web>) -> Router {
    Router::new()
        .route("/", get(start_page))
        .route("/sessions", get(sessions_page).post(start_session))
        .route("/sessions/{id}", get(session_page))
        .route("/sessions/{id}/results", get(results_page))
        .route("/sessions/{id}/{action}", post(session_action))
        .route("/downloads/demo-client.json", get(demo_config))
        .with_state(web)
}

type Q = Query<HashMap<String, String>>;

// --- start page --------------------------------------------------------------------------

struct IdpRow {
    name: String,
    scheme: String,
    levels: String,
    discovery: String,
    automation: bool,
}

struct ApiRow {
    audience: String,
    name: String,
    scopes: String,
}

struct OrgRow {
    orgnr: String,
    name: String,
    kind: String,
    parent: String,
}

struct ClientRow {
    client_id: String,
    name: String,
    grants: String,
    tenancy: String,
    start: bool,
}

#[derive(Template)]
#[template(path = "start.html")]
struct StartPage {
    c: Chrome,
    discovery: String,
    jwks: String,
    environment: String,
    flows: String,
    sessions_url: String,
    session_count: usize,
    idps: Vec<IdpRow>,
    apis: Vec<ApiRow>,
    api_pager: String,
    orgs: Vec<OrgRow>,
    org_pager: String,
    clients: Vec<ClientRow>,
    client_pager: String,
    curl_discovery: String,
    curl_token: String,
    cli_token: String,
    demo_download: Option<String>,
}

fn client_row(c: &mock_sts::store::Client) -> ClientRow {
    ClientRow {
        client_id: c.client_id.clone(),
        name: c.name.clone(),
        grants: c.grant_types.join(", "),
        tenancy: match &c.tenancy {
            mock_sts::store::Tenancy::MultiTenant { supplier_orgnr } => {
                format!("multi-tenant ({supplier_orgnr})")
            }
            other => format!("single-tenant ({})", other.owner()),
        },
        start: true,
    }
}

async fn start_page(State(web): State<Arc<Web>>, headers: HeaderMap, Query(q): Q) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/", "start");
    let c = c
        .clone()
        .titled(c.l.t("HelseID-testbed", "HelseID testbed"));
    let store = &web.sts.store;
    let issuer = &web.sts.config.issuer;
    let here = web.path("/");
    let (a_limit, a_offset) = Pager::window(&q, "a", 20);
    let (o_limit, o_offset) = Pager::window(&q, "o", 20);
    let (c_limit, c_offset) = Pager::window(&q, "c", 20);
    let loaded = (|| {
        let apis = store.apis()?;
        let orgs = store.organisations_page(o_limit, o_offset)?;
        let clients = store.clients_page(c_limit, c_offset)?;
        let sessions = store.sessions(0, 0)?.1;
        Ok::<_, mock_sts::store::StoreError>((apis, orgs, clients, sessions))
    })();
    let (apis, (orgs, org_total), (clients, client_total), session_count) = match loaded {
        Ok(v) => v,
        Err(e) => return error(&c, 500, &e.to_string()),
    };
    let api_total = apis.len();
    let idps = web
        .sts
        .federation
        .as_ref()
        .map(|f| {
            f.upstreams
                .iter()
                .map(|u| IdpRow {
                    name: c.l.t(&u.display_nb, &u.display_en).to_owned(),
                    scheme: u.scheme.clone(),
                    levels: u
                        .levels
                        .iter()
                        .map(u8::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    discovery: format!("{}{}", f.public_issuer(u), endpoints::DISCOVERY),
                    automation: u.test_automation,
                })
                .collect()
        })
        .unwrap_or_default();
    let discovery = format!("{issuer}{}", endpoints::DISCOVERY);
    let page_body = StartPage {
        curl_discovery: format!("curl -s {discovery}"),
        curl_token: format!(
            "curl -s -X POST {issuer}/ttt/v2/create-test-token-with-key \\\n  -H \"X-Auth-Key: $HELSEID_TESTBED_API_KEY\" -H 'Content-Type: application/json' \\\n  -d '{{\"audience\": \"nhn:testbed-api\"}}'"
        ),
        cli_token: format!(
            "helseid-testbed token --client {} --issuer {issuer}",
            web.settings
                .demo_config
                .as_ref()
                .map_or_else(|| "demo-client.json".into(), |p| p.display().to_string())
        ),
        discovery,
        jwks: format!("{issuer}{}", endpoints::JWKS),
        environment: format!("{issuer}{}", endpoints::testbed::ENVIRONMENT),
        flows: format!("{issuer}{}", endpoints::testbed::FLOWS),
        sessions_url: web.path("/sessions"),
        session_count,
        idps,
        apis: apis
            .iter()
            .skip(a_offset)
            .take(a_limit)
            .map(|a| ApiRow {
                audience: a.audience.clone(),
                name: a.name.clone(),
                scopes: a.scopes.join(" "),
            })
            .collect(),
        api_pager: layout::pager(&c, &Pager::new(&here, "a", api_total, a_limit, a_offset)),
        orgs: orgs
            .iter()
            .map(|o| OrgRow {
                orgnr: o.orgnr.clone(),
                name: o.name.clone(),
                kind: o.kind.clone(),
                parent: o.parent.clone().unwrap_or_default(),
            })
            .collect(),
        org_pager: layout::pager(&c, &Pager::new(&here, "o", org_total, o_limit, o_offset)),
        clients: clients.iter().map(client_row).collect(),
        client_pager: layout::pager(&c, &Pager::new(&here, "c", client_total, c_limit, c_offset)),
        demo_download: web
            .settings
            .demo_config
            .as_ref()
            .filter(|p| p.exists() && !web.settings.public)
            .map(|_| web.path("/downloads/demo-client.json")),
        c: c.clone(),
    };
    page(&page_body, &c)
}

async fn demo_config(State(web): State<Arc<Web>>, headers: HeaderMap, Query(q): Q) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/", "start");
    if web.settings.public {
        return error(
            &c,
            403,
            c.l.t(
                "Konfigurasjonsfilen (med klientens private nøkkel) lastes bare ned når testbedet lytter på loopback; hent den fra datakatalogen.",
                "The configuration file (with the client's private key) is downloaded only when the testbed listens on loopback; take it from the data directory.",
            ),
        );
    }
    let Some(path) = &web.settings.demo_config else {
        return error(
            &c,
            404,
            c.l.t("Det finnes ingen demoklient.", "There is no demo client."),
        );
    };
    match std::fs::read(path) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"demo-client.json\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => error(&c, 404, &format!("{}: {e}", path.display())),
    }
}

// --- sessions ----------------------------------------------------------------------------

struct SessionRow {
    id: String,
    link: String,
    client: String,
    status: &'static str,
    created: String,
    verdict: String,
    verdict_class: &'static str,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    c: Chrome,
    sessions: Vec<SessionRow>,
    pager: String,
    clients: Vec<ClientRow>,
    client_pager: String,
    max_kept: usize,
}

fn verdict(l: Locale, doc: &SessionDoc) -> (String, &'static str) {
    match (&doc.report, doc.status) {
        (Some(r), _) if r.passed => (
            format!(
                "{} ({} / {})",
                l.t("bestått", "passed"),
                r.totals.passed,
                r.totals.failed + r.totals.passed + r.totals.warning + r.totals.inconclusive
            ),
            "ok",
        ),
        (Some(r), _) => (
            format!(
                "{} ({} {}, {} {})",
                l.t("ikke bestått", "not passed"),
                r.totals.failed,
                l.t("feil", "failed"),
                r.totals.inconclusive,
                l.t("uavklart", "inconclusive")
            ),
            "bad",
        ),
        (None, Status::Active) => (l.t("tar opp", "recording").into(), "live"),
        (None, Status::Ended) => (l.t("avsluttet", "ended").into(), ""),
    }
}

async fn sessions_page(State(web): State<Arc<Web>>, headers: HeaderMap, Query(q): Q) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/sessions", "sessions");
    let c = c
        .clone()
        .titled(c.l.t("Samsvarstesting: sesjoner", "Conformance sessions"));
    let here = web.path("/sessions");
    let (limit, offset) = Pager::window(&q, "", 20);
    let (c_limit, c_offset) = Pager::window(&q, "c", 20);
    let (docs, total) = match web.sessions.list(limit, offset) {
        Ok(v) => v,
        Err(e) => return error(&c, e.status(), &e.to_string()),
    };
    let (clients, client_total) = match web.sts.store.clients_page(c_limit, c_offset) {
        Ok(v) => v,
        Err(e) => return error(&c, 500, &e.to_string()),
    };
    let sessions = docs
        .iter()
        .map(|d| {
            let (verdict, verdict_class) = verdict(c.l, d);
            SessionRow {
                id: d.id.clone(),
                link: web.path(&format!("/sessions/{}", d.id)),
                client: format!("{} ({})", d.client_name, d.client_id),
                status: match d.status {
                    Status::Active => c.l.t("aktiv", "active"),
                    Status::Ended => c.l.t("avsluttet", "ended"),
                },
                created: time(d.created_at),
                verdict,
                verdict_class,
            }
        })
        .collect();
    let body = SessionsPage {
        sessions,
        pager: layout::pager(&c, &Pager::new(&here, "", total, limit, offset)),
        clients: clients
            .iter()
            .map(|cl| ClientRow {
                start: cl.confirmed,
                ..client_row(cl)
            })
            .collect(),
        client_pager: layout::pager(&c, &Pager::new(&here, "c", client_total, c_limit, c_offset)),
        max_kept: web.sessions.settings().max_kept,
        c: c.clone(),
    };
    page(&body, &c)
}

/// The form's fields, after the CSRF token (and the api-key beyond loopback) checked out.
pub(crate) fn checked_form(
    web: &Web,
    c: &Chrome,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Params, Box<Response>> {
    let form = Params::parse(body, &[]).map_err(|e| Box::new(error(c, 400, &e.to_string())))?;
    if !security::csrf_ok(headers, form.get(CSRF_FIELD)) {
        return Err(Box::new(error(
            c,
            403,
            c.l.t(
                "Skjemaet kom uten gyldig CSRF-token. Last siden på nytt og prøv igjen.",
                "The form came without a valid CSRF token. Reload the page and try again.",
            ),
        )));
    }
    if !security::admin_ok(
        web.settings.public,
        &web.sts.config.api_key,
        form.get("api_key"),
    ) {
        return Err(Box::new(error(
            c,
            401,
            c.l.t(
                "Testbedet lytter utenfor denne maskinen: oppgi API-nøkkelen.",
                "The testbed listens beyond this machine: give the API key.",
            ),
        )));
    }
    Ok(form)
}

async fn start_session(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/sessions", "sessions");
    let form = match checked_form(&web, &c, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let Some(client_id) = form.get("client_id").filter(|s| !s.trim().is_empty()) else {
        return error(&c, 400, c.l.t("Velg en klient.", "Choose a client."));
    };
    let request = conformance::session::StartRequest {
        client_id: client_id.to_owned(),
        orgnr: form
            .get("orgnr")
            .filter(|o| !o.is_empty())
            .map(str::to_owned),
    };
    match web.sessions.start(&request).await {
        Ok(doc) => see_other(&web.path(&format!("/sessions/{}", doc.id))),
        Err(e) => error(&c, e.status(), &e.to_string()),
    }
}

struct RecordRow {
    what: String,
    method: String,
    path: String,
    status: String,
    class: &'static str,
}

struct FaultButton {
    name: &'static str,
    label: String,
}

struct FaultGroup {
    title: String,
    faults: Vec<FaultButton>,
}

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    c: Chrome,
    doc: SessionDoc,
    status: String,
    authority: String,
    discovery: String,
    probe: String,
    created: String,
    records: Vec<RecordRow>,
    record_total: usize,
    armed: Option<String>,
    groups: Vec<FaultGroup>,
    action: String,
    results: Option<String>,
    verdict: String,
    verdict_class: &'static str,
    logins: usize,
    tokens: usize,
    probe_calls: usize,
}

/// Shown records at most (the newest).
const SHOWN_RECORDS: usize = 100;

/// A fault in the page's language (English: [`Fault::describe`]).
fn fault_label(l: Locale, f: Fault) -> String {
    let nb = match f {
        Fault::WrongIss => "et ID-token fra en annen utsteder",
        Fault::WrongAud => "et ID-token til en annen klient",
        Fault::WrongNonce => "et ID-token med en annen nonce",
        Fault::Expired => "et utløpt ID-token",
        Fault::BadSignature => "et ID-token med en signatur som ikke stemmer",
        Fault::UnknownKid => "et ID-token signert med en nøkkel JWKS ikke har",
        Fault::TamperedPayload => "et ID-token med claims endret etter signering",
        Fault::RotatedKey => "et ID-token signert med en nøkkel STS-et nettopp roterte inn",
        Fault::StateChanged => "et autorisasjonssvar med en annen state",
        Fault::WrongIssParameter => "et autorisasjonssvar med iss fra en annen utsteder",
        Fault::MissingIssParameter => "et autorisasjonssvar uten iss",
        Fault::ErrorResponse => "et feilsvar (access_denied) i stedet for en kode",
        Fault::MissingAccessToken => "et tokensvar uten access_token",
        Fault::OtherTokenType => "et tokensvar med en annen token_type enn den som ble bedt om",
        Fault::AlgNone => "et usignert ID-token (alg none)",
        Fault::RotatedOutKey => "et ID-token signert med en nøkkel STS-et har tatt ut av JWKS",
        Fault::WrongAzp => "et ID-token til to mottakere der azp er den andre",
        Fault::MissingSub => "et ID-token uten sub",
        Fault::IatInFuture => "et ID-token utstedt en time fram i tid",
        Fault::WrongAtHash => "et ID-token med at_hash som ikke hører til access-tokenet",
        Fault::ExpiredKey => {
            "et ID-token signert med en nøkkel som ble pensjonert før innloggingen"
        }
    };
    l.t(nb, f.describe()).to_owned()
}

fn site_title(l: Locale, site: Site) -> String {
    match site {
        Site::IdToken => l.t("Neste ID-token", "The next ID token"),
        Site::AuthorizationResponse => {
            l.t("Neste autorisasjonssvar", "The next authorization response")
        }
        Site::TokenResponse => l.t("Neste tokensvar", "The next token response"),
    }
    .to_owned()
}

async fn session_page(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, &format!("/sessions/{id}"), "sessions");
    let doc = match web.sessions.get(&id) {
        Ok(d) => d,
        Err(e) => return error(&c, e.status(), &e.to_string()),
    };
    let records = match web.sessions.records(&id) {
        Ok(r) => r,
        Err(e) => return error(&c, e.status(), &e.to_string()),
    };
    let c = c
        .clone()
        .titled(&format!("{} {}", c.l.t("Sesjon", "Session"), doc.id));
    let mut armed = None;
    let (mut logins, mut tokens, mut probe_calls) = (0, 0, 0);
    let mut rows = Vec::new();
    for r in &records {
        match r {
            Record::Flow { flow } => {
                // A login starts with a pushed request, or an authorize request carrying
                // its parameters (not the one that redeems a request_uri).
                let pushed = flow.path.ends_with(endpoints::PAR);
                let direct = flow.path.ends_with(endpoints::AUTHORIZE)
                    && !flow.query.contains("request_uri");
                logins += usize::from(pushed || direct);
                if flow.path.ends_with(endpoints::TOKEN) && flow.status == 200 {
                    tokens += 1;
                }
                rows.push(RecordRow {
                    what: c.l.t("STS", "STS").into(),
                    method: flow.method.clone(),
                    path: flow.path.clone(),
                    status: flow.status.to_string(),
                    class: if flow.status >= 400 { "bad" } else { "" },
                });
            }
            Record::Probe { call } => {
                probe_calls += 1;
                rows.push(RecordRow {
                    what: c.l.t("probe-API", "probe API").into(),
                    method: call.method.clone(),
                    path: call.url.clone(),
                    status: call.status.to_string(),
                    class: if call.status >= 400 { "bad" } else { "" },
                });
            }
            Record::Fault { fault, .. } => {
                armed = Fault::parse(fault).map(|f| fault_label(c.l, f));
                rows.push(RecordRow {
                    what: c.l.t("feilsteg", "fault step").into(),
                    method: String::new(),
                    path: Fault::parse(fault)
                        .map_or_else(|| fault.clone(), |f| f.describe().to_owned()),
                    status: String::new(),
                    class: "step",
                });
            }
            Record::FaultDone { applied, .. } => {
                armed = None;
                rows.push(RecordRow {
                    what: c.l.t("feilsteg", "fault step").into(),
                    method: String::new(),
                    path: if *applied {
                        c.l.t("brukt på et svar", "applied to a response")
                    } else {
                        c.l.t("aldri brukt", "never applied")
                    }
                    .into(),
                    status: String::new(),
                    class: "step",
                });
            }
        }
    }
    let record_total = rows.len();
    let shown: Vec<RecordRow> = rows.into_iter().rev().take(SHOWN_RECORDS).collect();
    let groups = [
        Site::IdToken,
        Site::AuthorizationResponse,
        Site::TokenResponse,
    ]
    .into_iter()
    .map(|site| FaultGroup {
        title: site_title(c.l, site),
        faults: Fault::ALL
            .into_iter()
            .filter(|f| f.site() == site)
            .map(|f| FaultButton {
                name: f.name(),
                label: f.describe().to_owned(),
            })
            .collect(),
    })
    .collect();
    let (verdict, verdict_class) = verdict(c.l, &doc);
    let body = SessionPage {
        status: match doc.status {
            Status::Active => c.l.t("aktiv: tar opp", "active: recording").into(),
            Status::Ended => c.l.t("avsluttet", "ended").into(),
        },
        authority: web.sessions.authority(&doc.id),
        discovery: format!(
            "{}{}",
            web.sessions.authority(&doc.id),
            endpoints::DISCOVERY
        ),
        probe: web.sessions.probe_url(&doc.id),
        created: time(doc.created_at),
        records: shown,
        record_total,
        armed,
        groups,
        action: web.path(&format!("/sessions/{}", doc.id)),
        results: doc
            .report
            .as_ref()
            .map(|_| web.path(&format!("/sessions/{}/results", doc.id))),
        verdict,
        verdict_class,
        logins,
        tokens,
        probe_calls,
        doc,
        c: c.clone(),
    };
    page(&body, &c)
}

/// The session page's forms: `fault` (arm a fault step), `end` (judge, then the results),
/// `reset` (record again).
async fn session_action(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, &format!("/sessions/{id}"), "sessions");
    let form = match checked_form(&web, &c, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let (done, next) = match action.as_str() {
        "fault" => (
            web.sessions
                .fault(&id, form.get("fault").unwrap_or_default())
                .await,
            format!("/sessions/{id}"),
        ),
        "end" => (
            web.sessions.end(&id).await,
            format!("/sessions/{id}/results"),
        ),
        "reset" => (web.sessions.reset(&id).await, format!("/sessions/{id}")),
        other => {
            return error(
                &c,
                404,
                &format!("{} {other:?}", c.l.t("Ingen handling", "No action")),
            );
        }
    };
    match done {
        Ok(_) => see_other(&web.path(&next)),
        Err(e) => error(&c, e.status(), &e.to_string()),
    }
}

// --- results -----------------------------------------------------------------------------

struct TokenView {
    what: String,
    header: String,
    claims: String,
}

struct ExchangeView {
    label: String,
    request: String,
    body: String,
    tokens: Vec<TokenView>,
    response: String,
}

struct ResultRow {
    id: String,
    title: String,
    severity: String,
    outcome: &'static str,
    outcome_label: String,
    message: String,
    requirement: String,
    rule: String,
    source: String,
    link: String,
    evidence: Vec<ExchangeView>,
}

#[derive(Template)]
#[template(path = "results.html")]
struct ResultsPage {
    c: Chrome,
    client: String,
    passed: bool,
    totals: conformance::report::Totals,
    rows: Vec<ResultRow>,
    session_link: String,
    json: String,
    html: String,
    junit: String,
}

fn outcome_label(l: Locale, o: Outcome) -> String {
    match o {
        Outcome::Passed => l.t("bestått", "passed"),
        Outcome::Failed => l.t("feilet", "failed"),
        Outcome::Warning => l.t("advarsel", "warning"),
        Outcome::Skipped => l.t("hoppet over", "skipped"),
        Outcome::Inconclusive => l.t("uavklart", "inconclusive"),
    }
    .to_owned()
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn exchange_view(e: &Exchange) -> ExchangeView {
    let mut request = format!("{} {}", e.method, e.url);
    for (k, v) in &e.request_headers {
        request.push_str(&format!("\n{k}: {v}"));
    }
    let mut response = match (e.status, &e.error) {
        (Some(s), _) => format!("=> {s}"),
        (None, Some(err)) => err.clone(),
        (None, None) => String::new(),
    };
    for (k, v) in &e.response_headers {
        response.push_str(&format!("\n{k}: {v}"));
    }
    if !e.response_body.is_empty() {
        response.push('\n');
        response.push_str(&e.response_body);
    }
    ExchangeView {
        label: e.label.clone(),
        request,
        body: e.request_body.clone().unwrap_or_default(),
        tokens: e
            .decoded
            .iter()
            .map(|d| TokenView {
                what: d.what.clone(),
                header: pretty(&d.header),
                claims: pretty(&d.claims),
            })
            .collect(),
        response,
    }
}

fn result_rows(l: Locale, report: &Report) -> Vec<ResultRow> {
    report
        .scenarios
        .iter()
        .flat_map(|s| &s.results)
        .map(|r| ResultRow {
            id: r.id.clone(),
            title: r.title.clone(),
            severity: r.severity.clone(),
            outcome: r.outcome.as_str(),
            outcome_label: outcome_label(l, r.outcome),
            message: r.message.clone(),
            requirement: r.requirement.clone(),
            rule: r.rule.clone(),
            source: r.source.clone(),
            link: r.link.clone(),
            evidence: r.evidence.iter().map(exchange_view).collect(),
        })
        .collect()
}

async fn results_page(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let c = Chrome::new(
        &web,
        &headers,
        &q,
        &format!("/sessions/{id}/results"),
        "sessions",
    );
    let doc = match web.sessions.get(&id) {
        Ok(d) => d,
        Err(e) => return error(&c, e.status(), &e.to_string()),
    };
    let Some(report) = &doc.report else {
        return error(
            &c,
            404,
            c.l.t(
                "Sesjonen har ikke noe resultat ennå: avslutt den først.",
                "The session has no results yet: end it first.",
            ),
        );
    };
    let c = c.clone().titled(&format!(
        "{} {}",
        c.l.t("Resultat for sesjon", "Results of session"),
        doc.id
    ));
    let api = web.url(&format!("/testbed/sessions/{id}"));
    let body = ResultsPage {
        client: format!("{} ({})", doc.client_name, doc.client_id),
        passed: report.passed,
        totals: report.totals,
        rows: result_rows(c.l, report),
        session_link: web.path(&format!("/sessions/{id}")),
        json: format!("{api}/report"),
        html: format!("{api}/report.html"),
        junit: format!("{api}/report.xml"),
        c: c.clone(),
    };
    page(&body, &c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_has_a_button_under_its_site() {
        let sites = [
            Site::IdToken,
            Site::AuthorizationResponse,
            Site::TokenResponse,
        ];
        let shown: usize = sites
            .iter()
            .map(|s| Fault::ALL.iter().filter(|f| f.site() == *s).count())
            .sum();
        assert_eq!(shown, Fault::ALL.len());
    }
}
