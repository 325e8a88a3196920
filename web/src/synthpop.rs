//! The SyntPop pages (shared reference synthpop.md; seed 003, the vendor meeting about
//! SyntPop): search the testbed's synthetic population by name, identity number, HPR number
//! or tag, with filters; a person's page with relations, fastlege and HPR approvals; "log in
//! as this person" at an IdP (a whole login with the demo login client, every token
//! decoded); and SyntPop's reservation of +65 persons for a team, persisted, shown to other
//! teams as owned by another.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use synthpop::person::AddressProtection;
use synthpop::{Person, Population, census_date};

use crate::Web;
use crate::layout::{self, Chrome, Pager, error, page, see_other, time};
use crate::security;

pub fn routes(web: Arc<Web>) -> Router {
    Router::new()
        .route("/synthpop", get(search_page))
        .route("/synthpop/{pid}", get(person_page))
        .route("/synthpop/{pid}/reserve", post(reserve))
        .route("/synthpop/{pid}/release", post(release))
        .route("/synthpop/{pid}/login", post(login_as))
        .with_state(web)
}

type Q = Query<HashMap<String, String>>;

/// The team cookie: who "we" are when reserving.
pub const TEAM_COOKIE: &str = "tb_team";
/// Persons a search reads at most before it stops counting.
const MAX_SCANNED_MATCHES: usize = 10_000;

/// The tags a search can filter on (synthpop.md's list).
pub const TAGS: [&str; 20] = [
    "fnr",
    "dnr",
    "test-norge",
    "syntpop-reservert",
    "barn",
    "voksen",
    "eldre",
    "fortrolig",
    "strengt-fortrolig",
    "krr-reservert",
    "krr-ikke-registrert",
    "uten-fastlege",
    "forelder",
    "helsepersonell",
    "fastlege",
    "lege",
    "sykepleier",
    "psykolog",
    "tannlege",
    "utlopt-godkjenning",
];

/// What a search asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    /// A name (every word must be in it), an identity number (11 digits) or an HPR number.
    pub q: String,
    pub tag: Option<String>,
    pub has_hpr: bool,
    pub has_children: bool,
    pub protected_address: bool,
    pub krr_reserved: bool,
}

impl Search {
    fn of(q: &HashMap<String, String>) -> Search {
        let on = |k: &str| q.get(k).is_some_and(|v| v == "on" || v == "1");
        Search {
            q: q.get("q").map(|s| s.trim().to_owned()).unwrap_or_default(),
            tag: q.get("tag").filter(|t| TAGS.contains(&t.as_str())).cloned(),
            has_hpr: on("hpr"),
            has_children: on("children"),
            protected_address: on("protected"),
            krr_reserved: on("krr"),
        }
    }

    fn query(&self) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", protocol::urlencoding::encode(&self.q)));
        }
        if let Some(t) = &self.tag {
            parts.push(format!("tag={t}"));
        }
        for (on, name) in [
            (self.has_hpr, "hpr"),
            (self.has_children, "children"),
            (self.protected_address, "protected"),
            (self.krr_reserved, "krr"),
        ] {
            if on {
                parts.push(format!("{name}=on"));
            }
        }
        parts.join("&")
    }

    /// Whether `p` passes the filters (not the query).
    fn passes(&self, p: &Person) -> bool {
        (!self.has_hpr || p.hpr.is_some())
            && (!self.has_children || !p.relations.children.is_empty())
            && (!self.protected_address || p.address_protection != AddressProtection::Ugradert)
            && (!self.krr_reserved || p.krr.reserved)
            && self.tag.as_ref().is_none_or(|t| p.has_tag(t))
    }

    /// The matches from `offset` (at most `limit`), and how many there are (counted up to
    /// [`MAX_SCANNED_MATCHES`]; `true` when the count stopped there).
    pub fn run(&self, pop: &Population, limit: usize, offset: usize) -> (Vec<Person>, usize, bool) {
        let digits = !self.q.is_empty() && self.q.bytes().all(|b| b.is_ascii_digit());
        let candidates: Box<dyn Iterator<Item = Person>> = if digits && self.q.len() == 11 {
            Box::new(pop.by_pid(&self.q).into_iter())
        } else if digits {
            Box::new(
                self.q
                    .parse::<u32>()
                    .ok()
                    .and_then(|n| pop.by_hpr(n))
                    .into_iter(),
            )
        } else if !self.q.is_empty() {
            Box::new(pop.search_name(&self.q))
        } else {
            Box::new(pop.persons())
        };
        let mut page = Vec::new();
        let mut total = 0;
        for p in candidates.filter(|p| self.passes(p)) {
            if total >= offset && page.len() < limit {
                page.push(p);
            }
            total += 1;
            if total >= MAX_SCANNED_MATCHES {
                return (page, total, true);
            }
        }
        (page, total, false)
    }
}

struct PersonRow {
    name: String,
    pid: String,
    link: String,
    age: i32,
    tags: String,
    owner: String,
}

#[derive(Template)]
#[template(path = "synthpop.html")]
struct SearchPage {
    c: Chrome,
    s: Search,
    tags: Vec<(&'static str, bool)>,
    rows: Vec<PersonRow>,
    pager: String,
    capped: bool,
    size: u64,
}

fn population(web: &Web) -> Result<Arc<Population>, String> {
    web.sts.population().map_err(|e| e.to_string())
}

/// The team this browser acts as (its cookie), if it chose one.
fn team(headers: &HeaderMap) -> Option<String> {
    security::cookie(headers, TEAM_COOKIE)
        .map(protocol::urlencoding::decode_lossy)
        .filter(|t| !t.is_empty())
}

/// "team X" for us, "another owner" for others, "" when free.
fn owner_text(c: &Chrome, mine: Option<&str>, owner: Option<&str>) -> String {
    match owner {
        None => String::new(),
        Some(o) if Some(o) == mine => format!("{} ({o})", c.l.t("vårt team", "our team")),
        Some(_) => c.l.t("Annen eier", "Another owner").to_owned(),
    }
}

async fn search_page(State(web): State<Arc<Web>>, headers: HeaderMap, Query(q): Q) -> Response {
    let c = Chrome::new(&web, &headers, &q, "/synthpop", "synthpop");
    let c = c
        .clone()
        .titled(c.l.t("SyntPop: testpersoner", "SyntPop: test persons"));
    let pop = match population(&web) {
        Ok(p) => p,
        Err(e) => return error(&c, 500, &e),
    };
    let s = Search::of(&q);
    let (limit, offset) = Pager::window(&q, "", 25);
    let (found, total, capped) = s.run(&pop, limit, offset);
    let mine = team(&headers);
    let census = census_date();
    let mut rows = Vec::new();
    for p in &found {
        let owner = match web.sts.store.reservation(p.pid.as_str()) {
            Ok(o) => o.map(|(t, _)| t),
            Err(e) => return error(&c, 500, &e.to_string()),
        };
        rows.push(PersonRow {
            name: p.name.clone(),
            pid: p.pid.to_string(),
            link: web.path(&format!("/synthpop/{}", p.pid)),
            age: p.age_on(census),
            tags: p.tags.join(", "),
            owner: owner_text(&c, mine.as_deref(), owner.as_deref()),
        });
    }
    let here = web.path("/synthpop");
    let mut pager = Pager::new(&here, "", total, limit, offset);
    let query = s.query();
    for link in [&mut pager.prev, &mut pager.next].into_iter().flatten() {
        if !query.is_empty() {
            link.push('&');
            link.push_str(&query);
        }
    }
    let body = SearchPage {
        tags: TAGS
            .iter()
            .map(|t| (*t, s.tag.as_deref() == Some(t)))
            .collect(),
        rows,
        pager: layout::pager(&c, &pager),
        capped,
        size: pop.len(),
        s,
        c: c.clone(),
    };
    page(&body, &c)
}

struct Relation {
    role: String,
    pid: String,
    name: String,
    link: String,
}

struct ApprovalRow {
    profession: String,
    authorization: String,
    valid: String,
    specialities: String,
    requisition_rights: String,
}

use crate::idps::IdpChoice;

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    c: Chrome,
    p: Person,
    pid_facts: String,
    age: i32,
    address: String,
    relations: Vec<Relation>,
    gp: String,
    krr: String,
    hpr_number: String,
    approvals: Vec<ApprovalRow>,
    hpr_claim: String,
    /// The person's `Person` in the person API.
    fhir_url: String,
    reservable: bool,
    owner: String,
    ours: bool,
    free: bool,
    team: String,
    idps: Vec<IdpChoice>,
    can_log_in: bool,
    action: String,
}

async fn person_page(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(pid): Path<String>,
    Query(q): Q,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, &format!("/synthpop/{pid}"), "synthpop");
    let pop = match population(&web) {
        Ok(p) => p,
        Err(e) => return error(&c, 500, &e),
    };
    let Some(p) = pop.by_pid(&pid) else {
        let why = match synthpop::nin::validate(&pid) {
            Ok(_) => c.l.t(
                "Ingen i testbedets befolkning har dette nummeret.",
                "Nobody in the testbed's population has this number.",
            ),
            Err(_) => c.l.t(
                "Dette er ikke et gyldig fødselsnummer eller D-nummer.",
                "This is not a valid identity number.",
            ),
        };
        return error(&c, 404, &format!("{pid}: {why}"));
    };
    let c = c.clone().titled(&p.name);
    let census = census_date();
    let name_of =
        |n: &synthpop::nin::Nin| pop.by_pid(n.as_str()).map(|r| r.name).unwrap_or_default();
    let mut relations = Vec::new();
    let mut relate = |role: &str, n: &synthpop::nin::Nin| {
        relations.push(Relation {
            role: role.to_owned(),
            pid: n.to_string(),
            name: name_of(n),
            link: web.path(&format!("/synthpop/{n}")),
        });
    };
    if let Some(m) = &p.relations.mother {
        relate(c.l.t("mor", "mother"), m);
    }
    if let Some(f) = &p.relations.father {
        relate(c.l.t("far", "father"), f);
    }
    if let Some(s) = &p.relations.spouse {
        relate(c.l.t("ektefelle", "spouse"), s);
    }
    for child in &p.relations.children {
        relate(c.l.t("barn", "child"), child);
    }
    let address = match (&p.address, p.address_protection) {
        (_, AddressProtection::StrengtFortrolig) => {
            c.l.t(
                "Strengt fortrolig (kode 6): ingen adresse registrert",
                "Strictly confidential (code 6): no address registered",
            )
            .to_owned()
        }
        (Some(a), protection) => {
            let mut text = format!(
                "{} {}{}, {} {} ({} {})",
                a.street,
                a.house_number,
                a.house_letter.map(String::from).unwrap_or_default(),
                a.postcode,
                a.post_town,
                a.municipality_number,
                a.municipality_name
            );
            if protection == AddressProtection::Fortrolig {
                text.push_str(c.l.t(" · fortrolig (kode 7)", " · confidential (code 7)"));
            }
            text
        }
        (None, _) => c.l.t("ingen adresse", "no address").to_owned(),
    };
    let gp = p.gp.as_ref().map_or_else(
        || c.l.t("ingen fastlege", "no GP").to_owned(),
        |g| {
            format!(
                "{} (HPR {}), {} ({})",
                g.name, g.hpr_number, g.office_name, g.office
            )
        },
    );
    let krr = format!(
        "{}{}",
        if p.krr.reserved {
            c.l.t(
                "reservert mot digital kommunikasjon",
                "reserved against digital contact",
            )
        } else {
            c.l.t("ikke reservert", "not reserved")
        },
        p.krr
            .email
            .as_deref()
            .map(|e| format!(" · {e}"))
            .unwrap_or_default()
    );
    let approvals = p
        .hpr
        .iter()
        .flat_map(|h| &h.approvals)
        .map(|a| ApprovalRow {
            profession: format!("{} ({})", a.profession.description, a.profession.value),
            authorization: a.authorization.description.to_owned(),
            valid: format!(
                "{} – {}",
                a.valid_from,
                a.valid_to.map(|d| d.to_string()).unwrap_or_default()
            ),
            specialities: a
                .specialities
                .iter()
                .map(|s| s.description)
                .collect::<Vec<_>>()
                .join(", "),
            requisition_rights: a
                .requisition_rights
                .iter()
                .map(|s| s.description)
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let hpr_claim = p
        .hpr
        .as_ref()
        .map(|h| serde_json::to_string_pretty(&h.hpr_details_claim(census)).unwrap_or_default())
        .unwrap_or_default();
    let owner = match web.sts.store.reservation(p.pid.as_str()) {
        Ok(o) => o,
        Err(e) => return error(&c, 500, &e.to_string()),
    };
    let mine = team(&headers);
    let idps = crate::idps::choices(&web, c.l);
    let facts = synthpop::nin::validate(p.pid.as_str())
        .map(|f| format!("{:?}, {:?}", f.kind, f.world))
        .unwrap_or_default();
    let body = PersonPage {
        pid_facts: facts,
        age: p.age_on(census),
        address,
        relations,
        gp,
        krr,
        hpr_number: p
            .hpr
            .as_ref()
            .map(|h| h.hpr_number.to_string())
            .unwrap_or_default(),
        approvals,
        hpr_claim,
        fhir_url: web.url(&format!(
            "{}/Person/{}",
            persontjenesten::BASE_PATH,
            persontjenesten::index::person_id(&pop, p.index)
        )),
        reservable: synthpop::reservation::check_reservable(&p).is_ok(),
        owner: owner_text(&c, mine.as_deref(), owner.as_ref().map(|(t, _)| t.as_str()))
            + &owner
                .as_ref()
                .map(|(_, at)| format!(" · {}", time(*at)))
                .unwrap_or_default(),
        ours: owner
            .as_ref()
            .is_some_and(|(t, _)| Some(t) == mine.as_ref()),
        free: owner.is_none(),
        team: mine.unwrap_or_default(),
        idps,
        can_log_in: web.settings.demo_login_config.is_some(),
        action: web.path(&format!("/synthpop/{}", p.pid)),
        p,
        c: c.clone(),
    };
    page(&body, &c)
}

async fn reserve(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(pid): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, &format!("/synthpop/{pid}"), "synthpop");
    let form = match crate::pages::checked_form(&web, &c, &headers, &body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let Ok(team) = synthpop::reservation::team(form.get("team").unwrap_or_default()) else {
        return error(
            &c,
            400,
            c.l.t(
                "Oppgi et teamnavn (1–64 tegn).",
                "Give a team name (1–64 characters).",
            ),
        );
    };
    let reservable = population(&web)
        .ok()
        .and_then(|pop| pop.by_pid(&pid))
        .is_some_and(|p| synthpop::reservation::check_reservable(&p).is_ok());
    if !reservable {
        return error(
            &c,
            400,
            c.l.t(
                "Bare SyntPops +65-personer kan reserveres.",
                "Only SyntPop's +65 persons can be reserved.",
            ),
        );
    }
    match web.sts.store.reserve(&pid, team, web.sts.now()) {
        Ok(None) => {
            let mut r = see_other(&web.path(&format!("/synthpop/{pid}")));
            let cookie = format!(
                "{TEAM_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
                protocol::urlencoding::encode(team)
            );
            if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
                r.headers_mut().append(axum::http::header::SET_COOKIE, v);
            }
            r
        }
        Ok(Some(_other)) => error(
            &c,
            409,
            c.l.t(
                "Personen er allerede reservert av et annet team.",
                "The person is already reserved by another team.",
            ),
        ),
        Err(e) => error(&c, 500, &e.to_string()),
    }
}

async fn release(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(pid): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, &format!("/synthpop/{pid}"), "synthpop");
    if let Err(r) = crate::pages::checked_form(&web, &c, &headers, &body) {
        return *r;
    }
    let Some(mine) = team(&headers) else {
        return error(
            &c,
            403,
            c.l.t("Du har ikke valgt team.", "You have chosen no team."),
        );
    };
    match web.sts.store.release(&pid, &mine) {
        Ok(true) => see_other(&web.path(&format!("/synthpop/{pid}"))),
        Ok(false) => error(
            &c,
            409,
            c.l.t(
                "Personen er ikke reservert av ditt team.",
                "The person is not reserved by your team.",
            ),
        ),
        Err(e) => error(&c, 500, &e.to_string()),
    }
}

#[derive(Template)]
#[template(path = "login_result.html")]
struct LoginPage {
    c: Chrome,
    person: String,
    person_link: String,
    idp: String,
    steps: Vec<String>,
    access: String,
    id: String,
    userinfo: String,
}

async fn login_as(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Path(pid): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let c = Chrome::new(&web, &headers, &q, &format!("/synthpop/{pid}"), "synthpop");
    let form = match crate::pages::checked_form(&web, &c, &headers, &body) {
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
    let Some(path) = &web.settings.demo_login_config else {
        return error(
            &c,
            404,
            c.l.t(
                "Det finnes ingen demo-innloggingsklient.",
                "There is no demo login client.",
            ),
        );
    };
    let done = async {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file = protocol::client_config::parse(&text).map_err(|e| e.to_string())?;
        let client =
            helseid_reference::client::Client::from_config(&file, Some(&web.sts.config.issuer))
                .map_err(|e| e.to_string())?;
        helseid_reference::login::as_person(
            &client,
            &file.scopes.clone().unwrap_or_default(),
            &helseid_reference::login::PersonLogin {
                idp: &upstream.name,
                scheme: &upstream.scheme,
                pid: &pid,
                level,
                redirect_uri: mock_sts::seed::DEMO_REDIRECT_URI,
                scope: None,
            },
        )
        .await
        .map_err(|e| e.to_string())
    };
    let shown = match done.await {
        Ok(v) => v,
        Err(e) => {
            return error(
                &c,
                502,
                &format!(
                    "{}: {e}",
                    c.l.t("Innloggingen mislyktes", "The login failed")
                ),
            );
        }
    };
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let c = c.clone().titled(c.l.t("Innlogget", "Logged in"));
    let body = LoginPage {
        person: pid.clone(),
        person_link: web.path(&format!("/synthpop/{pid}")),
        idp: c.l.t(&upstream.display_nb, &upstream.display_en).to_owned(),
        steps: shown["browser_steps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        access: pretty(&shown["access_token_claims"]),
        id: pretty(&shown["id_token_claims"]),
        userinfo: pretty(&shown["userinfo"]),
        c: c.clone(),
    };
    page(&body, &c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pop() -> Population {
        Population::new(1, 2000).unwrap()
    }

    #[test]
    fn searches_by_number_name_and_filters() {
        let pop = pop();
        let someone = pop.practitioners().next().unwrap();
        let by_pid = Search {
            q: someone.pid.to_string(),
            ..Search::default()
        };
        assert_eq!(by_pid.run(&pop, 10, 0).0[0].pid, someone.pid);
        let hpr = someone.hpr.as_ref().unwrap().hpr_number;
        let by_hpr = Search {
            q: hpr.to_string(),
            ..Search::default()
        };
        assert_eq!(by_hpr.run(&pop, 10, 0).0[0].pid, someone.pid);
        let by_name = Search {
            q: someone.family_name.to_lowercase(),
            has_hpr: true,
            ..Search::default()
        };
        let (found, total, _) = by_name.run(&pop, 1000, 0);
        assert!(found.iter().any(|p| p.pid == someone.pid));
        assert!(found.iter().all(|p| p.hpr.is_some()));
        assert_eq!(total, found.len());
        let protected = Search {
            protected_address: true,
            ..Search::default()
        };
        let (found, _, _) = protected.run(&pop, 50, 0);
        assert!(!found.is_empty());
        assert!(
            found
                .iter()
                .all(|p| p.address_protection != AddressProtection::Ugradert)
        );
        // Paging: the second page starts where the first ended.
        let all = Search::default();
        let (first, total, capped) = all.run(&pop, 5, 0);
        let (second, _, _) = all.run(&pop, 5, 5);
        assert_eq!(total, 2000);
        assert!(!capped);
        assert_ne!(first[0].pid, second[0].pid);
        assert_eq!(all.run(&pop, 5, 1).0[0].pid, first[1].pid);
    }

    #[test]
    fn the_query_string_round_trips() {
        let q: HashMap<String, String> = [
            ("q", "ola nordmann"),
            ("tag", "lege"),
            ("hpr", "on"),
            ("krr", "on"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let s = Search::of(&q);
        assert_eq!(s.query(), "q=ola%20nordmann&tag=lege&hpr=on&krr=on");
        let unknown_tag = HashMap::from([("tag".to_owned(), "<script>".to_owned())]);
        assert_eq!(Search::of(&unknown_tag).tag, None);
    }
}
