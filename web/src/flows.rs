//! The flow inspector: the STS's exchanges grouped per flow (`mock_sts::flows`: PAR →
//! authorize → IdP → token → refresh → userinfo), newest first, filtered by client and paged;
//! a flow's page draws its sequence diagram (SVG, on the server) and shows each step's request
//! and response (secrets masked) with every token decoded, each HelseID claim explained in a
//! line, and whether its signature verifies.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use mock_sts::flow_log::FlowRecord;
use serde_json::Value;

use crate::Web;
use crate::layout::{self, Chrome, Locale, Pager, error, page, time};

pub fn routes(web: Arc<Web>) -> Router {
    Router::new()
        .route("/flows", get(flows_page))
        .route("/flows/events", get(events))
        .route("/flows/{id}", get(flow_page))
        .with_state(web)
}

type Q = Query<HashMap<String, String>>;

struct FlowRow {
    id: u64,
    link: String,
    kind: String,
    client: String,
    started: String,
    steps: usize,
    errors: usize,
}

#[derive(Template)]
#[template(path = "flows.html")]
struct FlowsPage {
    c: Chrome,
    rows: Vec<FlowRow>,
    pager: String,
    client: String,
    with_discovery: bool,
    json: String,
    events: String,
    link_base: String,
    live: bool,
    session: String,
}

async fn flows_page(State(web): State<Arc<Web>>, headers: HeaderMap, Query(q): Q) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/flows", "flows");
    let c = c.clone().titled(c.l.t("Flyt", "Flows"));
    let client = q
        .get("client")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let (limit, offset) = Pager::window(&q, "", 25);
    let with_discovery = q.get("discovery").is_some_and(|v| v == "on");
    let session = q.get("session").cloned().filter(|s| !s.is_empty());
    let sts = match &session {
        None => web.sts.clone(),
        Some(id) => match web.sessions.issuer_of(id) {
            Some(s) => s,
            None => {
                return error(
                    &c,
                    404,
                    &format!(
                        "{} {id}",
                        c.l.t("Ingen aktiv sesjon:", "No active session:")
                    ),
                );
            }
        },
    };
    let (flows, total) = sts
        .flows
        .flows_page(client.as_deref(), with_discovery, limit, offset);
    let here = web.path("/flows");
    let mut pager = Pager::new(&here, "", total, limit, offset);
    for link in [&mut pager.prev, &mut pager.next].into_iter().flatten() {
        if let Some(cl) = &client {
            link.push_str(&format!("&client={}", protocol::urlencoding::encode(cl)));
        }
        if with_discovery {
            link.push_str("&discovery=on");
        }
        if let Some(id) = &session {
            link.push_str(&format!("&session={id}"));
        }
    }
    let suffix = session
        .as_ref()
        .map(|id| format!("?session={id}"))
        .unwrap_or_default();
    let body = FlowsPage {
        rows: flows
            .iter()
            .map(|f| FlowRow {
                id: f.id,
                link: web.path(&format!("/flows/{}{suffix}", f.id)),
                kind: f.kind.clone(),
                client: f.client_id.clone().unwrap_or_default(),
                started: time(f.started_at),
                steps: f.exchanges.len(),
                errors: f.errors,
            })
            .collect(),
        pager: layout::pager(&c, &pager),
        client: client.clone().unwrap_or_default(),
        with_discovery,
        events: match &client {
            Some(cl) => web.path(&format!(
                "/flows/events?client={}",
                protocol::urlencoding::encode(cl)
            )),
            None => web.path("/flows/events"),
        },
        link_base: web.path("/flows/"),
        // Live rows only on the first page of the testbed's own log, where new flows appear.
        live: offset == 0 && session.is_none(),
        session: session.clone().unwrap_or_default(),
        json: web.url(protocol::endpoints::testbed::FLOWS),
        c: c.clone(),
    };
    layout::page_with_script(&body, &c)
}

/// `GET /flows/events`: server-sent events, one per exchange recorded from now on (its flow
/// as it stands), of `?client=` if given; the flows page shows them live.
async fn events(
    State(web): State<Arc<Web>>,
    Query(q): Q,
) -> axum::response::sse::Sse<
    impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let client = q.get("client").cloned().filter(|c| !c.is_empty());
    let rx = web.sts.flows.subscribe();
    let stream = futures_util::stream::unfold((rx, client), |(mut rx, client)| async move {
        loop {
            match rx.recv().await {
                Ok(ev) => {
                    if client
                        .as_deref()
                        .is_some_and(|c| ev.flow.client_id.as_deref() != Some(c))
                    {
                        continue;
                    }
                    let event = Event::default()
                        .event("exchange")
                        .json_data(&ev)
                        .unwrap_or_else(|_| Event::default().comment("unreadable"));
                    return Some((Ok(event), (rx, client)));
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// One line on what a claim means (HelseID's and the JOSE/OAuth ones a reader meets).
pub fn explain(l: Locale, claim: &str) -> Option<&'static str> {
    use protocol::claims as c;
    let (nb, en) = match claim {
        "iss" => ("hvem som utstedte tokenet", "who issued the token"),
        "aud" => (
            "hvem tokenet er til (API-ets audience)",
            "whom the token is for (the API's audience)",
        ),
        "sub" => (
            "brukerens (eller klientens) faste id hos utstederen",
            "the user's (or client's) stable id at the issuer",
        ),
        "exp" => ("utløper (Unix-tid)", "expires (Unix time)"),
        "iat" => ("utstedt (Unix-tid)", "issued (Unix time)"),
        "nbf" => ("gyldig fra (Unix-tid)", "valid from (Unix time)"),
        "jti" => (
            "tokenets unike id (mot gjenbruk)",
            "the token's unique id (against replay)",
        ),
        "client_id" => (
            "klienten tokenet ble utstedt til",
            "the client the token was issued to",
        ),
        "scope" => ("tilgangene tokenet gir", "the access the token grants"),
        "cnf" => (
            "DPoP-bindingen: tommelavtrykket (jkt) til klientens DPoP-nøkkel",
            "the DPoP binding: the thumbprint (jkt) of the client's DPoP key",
        ),
        "sid" => ("innloggingssesjonen", "the login session"),
        "auth_time" => ("når brukeren logget inn", "when the user logged in"),
        "amr" => ("hvordan brukeren logget inn", "how the user logged in"),
        "idp" => (
            "identitetstilbyderen brukeren logget inn hos",
            "the identity provider the user logged in at",
        ),
        "nonce" => (
            "klientens engangsverdi (ID-token) eller STS-ets DPoP-nonce (bevis)",
            "the client's one-time value (ID token) or the STS's DPoP nonce (proof)",
        ),
        "at_hash" => (
            "hash av access-tokenet ID-tokenet følger",
            "hash of the access token the ID token comes with",
        ),
        "azp" => (
            "klienten tokenet er utstedt til (authorized party)",
            "the client the token was issued to (authorized party)",
        ),
        "htm" => (
            "HTTP-metoden DPoP-beviset gjelder",
            "the HTTP method the DPoP proof is for",
        ),
        "htu" => (
            "URL-en DPoP-beviset gjelder",
            "the URL the DPoP proof is for",
        ),
        "ath" => (
            "hash av access-tokenet beviset sendes med",
            "hash of the access token the proof comes with",
        ),
        "assertion_details" | "authorization_details" => (
            "organisasjonen klienten handler for, eller Tillitsrammeverk-attesten",
            "the organisation the client acts for, or the Tillitsrammeverk attestation",
        ),
        "name" | "given_name" | "family_name" | "middle_name" => (
            "brukerens navn fra folkeregisteret",
            "the user's name from the population register",
        ),
        "act" => (
            "aktørkjeden etter token exchange: hvem som handler på brukerens vegne",
            "the actor chain after token exchange: who acts on the user's behalf",
        ),
        "helseid://claims/client/original_client_id" => (
            "klienten brukeren opprinnelig logget inn i (før token exchange)",
            "the client the user originally logged in to (before token exchange)",
        ),
        "helseid://claims/hpr/hpr_details" => (
            "godkjenningene i Helsepersonellregisteret",
            "the approvals in the Health Personnel Register",
        ),
        x if x == c::CLIENT_NAME => (
            "klientens navn i Selvbetjening",
            "the client's name in Selvbetjening",
        ),
        x if x == c::CLIENT_TENANCY => (
            "single- eller multi-tenant klient",
            "a single- or multi-tenant client",
        ),
        x if x == c::ORGNR_PARENT => (
            "organisasjonen klienten handler for (hovedenhet)",
            "the organisation the client acts for (parent)",
        ),
        x if x == c::ORGNR_CHILD => (
            "underenheten klienten handler for",
            "the child organisation the client acts for",
        ),
        x if x == c::ORGNR_SUPPLIER => (
            "leverandøren som eier en multi-tenant klient",
            "the supplier owning a multi-tenant client",
        ),
        x if x == c::CLIENT_AMR || x == c::HELSEID_CLIENT_AMR => (
            "hvordan klienten autentiserte seg",
            "how the client authenticated",
        ),
        x if x == c::PID => (
            "brukerens fødselsnummer (eller D-nummer)",
            "the user's national identity number",
        ),
        x if x == c::PID_PSEUDONYM => (
            "et fast pseudonym for fødselsnummeret",
            "a stable pseudonym of the identity number",
        ),
        x if x == c::SECURITY_LEVEL => (
            "sikkerhetsnivået for innloggingen (3 eller 4)",
            "the login's security level (3 or 4)",
        ),
        x if x == c::ASSURANCE_LEVEL => (
            "tillitsnivå etter eIDAS (substantial, high)",
            "eIDAS assurance level (substantial, high)",
        ),
        x if x == c::HPR_NUMBER => ("brukerens HPR-nummer", "the user's HPR number"),
        x if x == c::NETWORK => ("nettet brukeren kom fra", "the network the user came from"),
        x if x == c::TILLITSRAMMEVERK => (
            "Tillitsrammeverk-attesten (behandlingsrelasjon, formål)",
            "the Tillitsrammeverk attestation (care relation, purpose)",
        ),
        x if x == c::SFM_JOURNAL_ID => (
            "SFM-journalen klienten handler for",
            "the SFM journal the client acts for",
        ),
        _ => return None,
    };
    Some(l.t(nb, en))
}

/// One claim of a decoded token, with what it means.
pub(crate) struct ClaimRow {
    pub(crate) name: String,
    pub(crate) value: String,
    pub(crate) meaning: String,
}

/// A token's header (as JSON text) and its claims explained in `l`; both empty when it does
/// not decode. Shared by the flow inspector and the demo client.
pub(crate) fn decoded(l: Locale, token: &str) -> (String, Vec<ClaimRow>) {
    let (header, claims) =
        protocol::jose::decode_unverified(token).unwrap_or((Value::Null, Value::Null));
    let rows = claims
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
        .unwrap_or_default();
    (header.to_string(), rows)
}

struct TokenView {
    what: String,
    header: String,
    claims: Vec<ClaimRow>,
    signature: String,
    signature_ok: bool,
}

struct StepView {
    n: usize,
    title: String,
    status: u16,
    shown: String,
    tokens: Vec<TokenView>,
}

#[derive(Template)]
#[template(path = "flow.html")]
struct FlowPage {
    c: Chrome,
    kind: String,
    client: String,
    diagram: String,
    steps: Vec<StepView>,
    back: String,
}

/// The tokens a step carries: (what, the compact JWT).
fn tokens_of(r: &FlowRecord) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (k, v) in r.form().into_iter().chain(r.query_params()) {
        let what = match k.as_str() {
            "client_assertion" => "client assertion",
            "request" => "request object",
            "subject_token" => "subject token",
            "id_token_hint" => "id_token_hint",
            _ => continue,
        };
        out.push((what, v));
    }
    if let Some(p) = r.header("dpop") {
        out.push(("DPoP proof", p.to_owned()));
    }
    if let Some((_, t)) = r.header("authorization").and_then(|a| a.split_once(' '))
        && t.matches('.').count() == 2
    {
        out.push(("access token (sent)", t.trim().to_owned()));
    }
    if let Ok(body) = serde_json::from_str::<Value>(&r.response_body) {
        for (key, what) in [("access_token", "access token"), ("id_token", "ID token")] {
            if let Some(t) = body.get(key).and_then(Value::as_str) {
                out.push((what, t.to_owned()));
            }
        }
    }
    out.retain(|(_, t)| t.matches('.').count() == 2);
    out
}

/// Whether `token`'s signature verifies, and with what: the STS's keys for its own tokens,
/// the proof's embedded key for a DPoP proof, the client's registered keys for its
/// assertions and request objects.
fn signature(web: &Web, sts: &mock_sts::Sts, l: Locale, what: &str, token: &str) -> (String, bool) {
    let Ok(jws) = protocol::jose::parse_compact(token) else {
        return (l.t("kan ikke leses", "unreadable").into(), false);
    };
    let keys: Vec<protocol::jose::PublicJwk> = if what == "DPoP proof" {
        jws.header
            .get("jwk")
            .and_then(|j| protocol::jose::PublicJwk::from_json(j).ok())
            .into_iter()
            .collect()
    } else if jws.claim_str("iss") == Some(sts.config.issuer.as_str()) {
        match sts.keys() {
            Ok(ring) => ring.keys.iter().map(|k| k.public.clone()).collect(),
            Err(_) => Vec::new(),
        }
    } else if let Some(client) = jws
        .claim_str("iss")
        .and_then(|c| web.sts.store.client(c).ok().flatten())
    {
        client
            .keys
            .iter()
            .filter_map(|k| protocol::jose::PublicJwk::from_json(&k.jwk).ok())
            .collect()
    } else {
        Vec::new()
    };
    if keys.is_empty() {
        return (
            l.t(
                "ikke sjekket: ingen kjent nøkkel",
                "not checked: no known key",
            )
            .into(),
            false,
        );
    }
    match keys.iter().find_map(|k| jws.verify(k).ok()) {
        Some(alg) => (
            format!(
                "{} ({})",
                l.t("signaturen stemmer", "the signature verifies"),
                alg.as_str()
            ),
            true,
        ),
        None => (
            l.t("signaturen stemmer IKKE", "the signature does NOT verify")
                .into(),
            false,
        ),
    }
}

fn token_view(web: &Web, sts: &mock_sts::Sts, l: Locale, what: &str, token: &str) -> TokenView {
    let (header, rows) = decoded(l, token);
    let (signature, signature_ok) = signature(web, sts, l, what, token);
    TokenView {
        what: what.to_owned(),
        header,
        claims: rows,
        signature,
        signature_ok,
    }
}

/// Who a step talks to: the STS or one of its IdPs (by the path under the issuer).
fn party(path: &str) -> String {
    match path.strip_prefix("/idp/") {
        Some(rest) => format!("IdP {}", rest.split('/').next().unwrap_or("")),
        None => "STS".into(),
    }
}

/// Who sends a step: the STS for its own back-channel calls to an IdP (it is the IdPs'
/// relying party), else the client or the user's browser.
fn sender(r: &FlowRecord) -> String {
    if mock_sts::flows::client_of(r).as_deref() == Some(mock_sts::federation::RP_CLIENT_ID) {
        "STS".into()
    } else {
        "Client".into()
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One arrow of a sequence diagram: from, to, what, the answer's status.
pub type Arrow = (String, String, String, u16);

/// The flow's sequence diagram: the client (or browser) and every party in the flow as
/// lifelines, a request arrow and a dashed answer arrow per step.
pub fn sequence_diagram(title: &str, steps: &[Arrow]) -> String {
    let mut parties: Vec<String> = vec!["Client".into()];
    for (from, to, _, _) in steps {
        for p in [from, to] {
            if !parties.contains(p) {
                parties.push(p.clone());
            }
        }
    }
    let col = 220.0;
    let left = 90.0;
    let width = left * 2.0 + col * (parties.len() - 1) as f64;
    let row = 44.0;
    let top = 50.0;
    let height = top + row * steps.len() as f64 + 30.0;
    let x = |p: &str| left + col * parties.iter().position(|q| q == p).unwrap_or(0) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-labelledby="seq-title" class="chart sequence"><title id="seq-title">{}</title><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#1b2a41"/></marker></defs>"##,
        escape(title)
    );
    for p in &parties {
        let px = x(p);
        let _ = write!(
            svg,
            r##"<rect x="{:.1}" y="8" width="150" height="28" rx="4" fill="#e3eefa" stroke="#0b5394"/><text x="{px:.1}" y="27" font-size="13" text-anchor="middle" fill="#1b2a41">{}</text><line x1="{px:.1}" y1="36" x2="{px:.1}" y2="{:.1}" stroke="#8a94a3" stroke-dasharray="4 4"/>"##,
            px - 75.0,
            escape(p),
            height - 10.0
        );
    }
    for (i, (from, to, label, status)) in steps.iter().enumerate() {
        let y = top + row * i as f64 + 10.0;
        let (x1, x2) = (x(from), x(to));
        let colour = if *status >= 400 { "#a11d2b" } else { "#1b2a41" };
        let _ = write!(
            svg,
            r##"<line x1="{x1:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#1b2a41" stroke-width="1.5" marker-end="url(#arrow)"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#1b2a41">{}. {}</text><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1.2" stroke-dasharray="5 3" marker-end="url(#arrow)"/><text x="{:.1}" y="{:.1}" font-size="11" fill="{colour}">{status}</text>"##,
            x2 - 2.0,
            x1 + 8.0,
            y - 4.0,
            i + 1,
            escape(label),
            x2,
            y + 16.0,
            x1 + 2.0,
            y + 16.0,
            x2 - 36.0,
            y + 13.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

async fn flow_page(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, &format!("/flows/{id}"), "flows");
    let sts = match q.get("session").filter(|s| !s.is_empty()) {
        None => Some(web.sts.clone()),
        Some(sid) => web.sessions.issuer_of(sid),
    };
    let Some((flow, steps)) = sts
        .as_ref()
        .and_then(|sts| id.parse::<u64>().ok().and_then(|n| sts.flows.flow(n)))
    else {
        return error(
            &c,
            404,
            &format!(
                "{} {id}",
                c.l.t(
                    "Ingen flyt (eller den er eldre enn loggen husker):",
                    "No flow (or it is older than the log remembers):"
                )
            ),
        );
    };
    let c = c
        .clone()
        .titled(&format!("{} {}", c.l.t("Flyt", "Flow"), flow.id));
    let sts = sts.unwrap_or_else(|| web.sts.clone());
    let prefix = mock_sts::issuer_path(&sts.config.issuer);
    let arrows: Vec<Arrow> = steps
        .iter()
        .map(|(r, _)| {
            let path = r.path.strip_prefix(prefix.as_str()).unwrap_or(&r.path);
            (
                sender(r),
                party(path),
                format!("{} {path}", r.method),
                r.status,
            )
        })
        .collect();
    let diagram = sequence_diagram(&format!("{} {}", flow.kind, flow.id), &arrows);
    let views = steps
        .iter()
        .enumerate()
        .map(|(i, (r, shown))| StepView {
            n: i + 1,
            title: format!("{} {}", r.method, r.path),
            status: r.status,
            shown: serde_json::to_string_pretty(shown).unwrap_or_default(),
            tokens: tokens_of(r)
                .iter()
                .map(|(what, t)| token_view(&web, &sts, c.l, what, t))
                .collect(),
        })
        .collect();
    let body = FlowPage {
        kind: flow.kind.clone(),
        client: flow.client_id.clone().unwrap_or_default(),
        diagram,
        steps: views,
        back: web.path("/flows"),
        c: c.clone(),
    };
    page(&body, &c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_helseid_claim_has_a_line_in_both_languages() {
        for claim in [
            protocol::claims::PID,
            protocol::claims::SECURITY_LEVEL,
            protocol::claims::HPR_NUMBER,
            protocol::claims::ORGNR_PARENT,
            protocol::claims::CLIENT_AMR,
            protocol::claims::TILLITSRAMMEVERK,
            "cnf",
            "iss",
        ] {
            let nb = explain(Locale::Nb, claim).unwrap();
            let en = explain(Locale::En, claim).unwrap();
            assert_ne!(nb, en, "{claim}");
        }
        assert_eq!(explain(Locale::En, "made-up"), None);
    }

    fn arrow(from: &str, to: &str, what: &str, status: u16) -> Arrow {
        (from.into(), to.into(), what.into(), status)
    }

    #[test]
    fn the_diagram_has_a_lifeline_per_party_and_two_arrows_per_step() {
        let svg = sequence_diagram(
            "login",
            &[
                arrow("Client", "STS", "POST /connect/par", 201),
                arrow("Client", "IdP testidp", "GET /idp/testidp/authorize", 302),
                arrow("STS", "IdP testidp", "POST /idp/testidp/token", 200),
                arrow("Client", "STS", "POST /connect/token", 400),
            ],
        );
        assert_eq!(svg.matches("<rect").count(), 3, "Client, STS, IdP");
        assert_eq!(svg.matches("marker-end").count(), 8);
        assert!(svg.contains("#a11d2b"), "an error answer in red");
        assert!(!svg.contains("style="));
    }

    #[test]
    fn parties_come_from_the_path() {
        assert_eq!(party("/connect/token"), "STS");
        assert_eq!(party("/idp/bankid/login"), "IdP bankid");
        assert_eq!(party("/connect/idp/start"), "STS");
    }
}
