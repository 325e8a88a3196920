//! The person API end to end: an STS with a seeded population, the API mounted beside it as
//! `up` mounts it, tokens from the STS's token endpoint (DPoP and Bearer) or signed with its
//! key for tokens the STS would not issue, requests over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use helseid_reference::client::{Client, TokenRequest};
use mock_sts::clock::SystemClock;
use mock_sts::registration::{self, NewClient};
use mock_sts::seed::{self, SeedOptions};
use mock_sts::store::{Tenancy, TokenBinding};
use mock_sts::{Sts, StsConfig};
use persontjenesten::PersonApi;
use reqwest::Method;
use serde_json::{Value, json};
use synthpop::nin::{NinKind, World};
use synthpop::person::AddressProtection;
use synthpop::{Person, Population};

const SCOPE: &str = "nhn:hgd-persontjenesten-api/read-with-legal-basis";
const FNR: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
const DNR: &str = "urn:oid:2.16.578.1.12.4.1.4.2";
const FHIR_JSON: &str = "application/fhir+json; fhirVersion=4.0";

struct Testbed {
    issuer: String,
    base: String,
    sts: Arc<Sts>,
    population: Arc<Population>,
    client: Client,
    token: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Testbed {
    async fn start() -> Testbed {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let sts = Sts::open(
            StsConfig::new(&issuer, "test-api-key"),
            dir.path(),
            Arc::new(SystemClock),
        )
        .unwrap();
        seed::seed_if_new(
            &sts.store,
            SeedOptions {
                seed: synthpop::DEFAULT_SEED,
                population: 3_000,
            },
            &issuer,
            dir.path(),
            sts.now(),
        )
        .unwrap();
        let sts = Arc::new(sts);
        let api = Arc::new(PersonApi::new(sts.clone()).unwrap());
        let base = api.base_url().to_owned();
        let app = persontjenesten::mount_in_flow_log(mock_sts::app(sts.clone()), api);
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let population = sts.population().unwrap();
        let (client, token) = client_and_token(&sts, &issuer, TokenBinding::Dpop, SCOPE).await;
        Testbed {
            issuer,
            base,
            sts,
            population,
            client,
            token,
            http: reqwest::Client::new(),
            _dir: dir,
            server,
        }
    }

    /// A request with the test's DPoP token and a fresh proof.
    fn call(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .api_request(method, &format!("{}{path}", self.base), &self.token)
            .unwrap()
            .header("Accept", FHIR_JSON)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        read(self.call(Method::GET, path).send().await.unwrap()).await
    }

    async fn search(&self, resource: &str, form: &str) -> (u16, Value) {
        read(
            self.call(Method::POST, &format!("/{resource}/_search"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form.to_owned())
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    fn find(&self, what: impl Fn(&Person) -> bool) -> Person {
        self.population
            .persons()
            .find(|p| what(p))
            .expect("such a person")
    }

    /// The logical id of `p`'s Person, found by identifier.
    async fn id_of(&self, p: &Person) -> String {
        let (status, bundle) = self
            .search("Person", &format!("identifier={}", p.pid))
            .await;
        assert_eq!(status, 200, "{bundle}");
        bundle["entry"][0]["resource"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

async fn client_and_token(
    sts: &Sts,
    issuer: &str,
    binding: TokenBinding,
    scope: &str,
) -> (Client, String) {
    let (registered, key) = registration::create(
        &sts.store,
        NewClient {
            client_id: None,
            name: "Person API test".into(),
            tenancy: Tenancy::SingleTenant {
                orgnr: seed::SAMPLE_PARENT.into(),
                child_orgnrs: vec![],
            },
            scopes: vec![scope.into()],
            grant_types: vec![],
            redirect_uris: vec![],
            binding,
            key_expires_at: None,
            origin: "test".into(),
        },
        sts.now(),
    )
    .unwrap();
    let mut client = Client::new(&registered.client_id, issuer, key).unwrap();
    if binding == TokenBinding::LegacyBearer {
        client = client.without_dpop();
    }
    let token = client
        .token(&TokenRequest {
            scope: Some(scope.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .response
        .access_token;
    (client, token)
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status != 401 || body.get("resourceType").is_some() {
        assert_eq!(content_type.as_deref(), Some(FHIR_JSON), "{body}");
    }
    (status, body)
}

fn outcome_text(body: &Value) -> String {
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    body["issue"][0]["diagnostics"].as_str().unwrap().to_owned()
}

fn matches(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|e| e["search"]["mode"] == "match")
                .map(|e| &e["resource"])
                .collect()
        })
        .unwrap_or_default()
}

fn outcomes(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "outcome")
        .flat_map(|e| e["resource"]["issue"].as_array().unwrap().clone())
        .map(|i| i["diagnostics"].as_str().unwrap().to_owned())
        .collect()
}

fn ordinary(p: &Person) -> bool {
    p.pid_kind == NinKind::Fodselsnummer
        && p.address_protection == AddressProtection::Ugradert
        && p.address.is_some()
}

#[tokio::test]
async fn an_identifier_search_is_a_post_and_returns_the_person_minimised() {
    let tb = Testbed::start().await;
    let p = tb.find(|p| ordinary(p) && p.middle_name.is_some());

    // Bare number: only the identifier without _elements, and a note saying so.
    let (status, bundle) = tb.search("Person", &format!("identifier={}", p.pid)).await;
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], 1);
    let person = matches(&bundle)[0];
    assert_eq!(person["resourceType"], "Person");
    assert_eq!(person["identifier"][0]["system"], FNR);
    assert_eq!(person["identifier"][0]["value"], p.pid.as_str());
    assert!(
        person.get("name").is_none() && person.get("address").is_none(),
        "{person}"
    );
    assert_eq!(person["meta"]["tag"][0]["code"], "SUBSETTED");
    assert!(outcomes(&bundle)[0].contains("no _elements"));

    // system|value with _elements: what was asked for.
    let (status, bundle) = tb
        .search(
            "Person",
            &format!(
                "identifier={FNR}%7C{}&_elements=name,birthDate,gender,address",
                p.pid
            ),
        )
        .await;
    assert_eq!(status, 200, "{bundle}");
    let person = matches(&bundle)[0];
    assert_eq!(person["name"][0]["family"], p.family_name);
    assert_eq!(person["name"][0]["given"][0], p.given_name);
    assert_eq!(
        person["name"][0]["extension"][0],
        json!({"url": "http://hl7.no/fhir/StructureDefinition/no-basis-middlename", "valueString": p.middle_name.unwrap()})
    );
    assert_eq!(person["birthDate"], p.birth_date.to_string());
    assert_eq!(person["gender"], p.sex.as_str());
    let address = &person["address"][0];
    let a = p.address.as_ref().unwrap();
    assert_eq!(address["postalCode"], a.postcode);
    assert_eq!(address["city"], a.post_town);
    let municipality = &address["extension"][0]["extension"][0]["valueCoding"];
    assert_eq!(municipality["system"], "urn:oid:2.16.578.1.12.4.1.1.3402");
    assert_eq!(municipality["code"], a.municipality_number);
    assert!(person.get("identifier").is_none());
    assert!(person.get("extension").is_none());

    // Several numbers at once; a D-number under the fødselsnummer system is nobody.
    let d = tb.find(|p| p.pid_kind == NinKind::DNumber);
    let (_, bundle) = tb
        .search(
            "Person",
            &format!("identifier={},{}&_elements=identifier", p.pid, d.pid),
        )
        .await;
    assert_eq!(bundle["total"], 2);
    let (_, bundle) = tb
        .search("Person", &format!("identifier={FNR}%7C{}", d.pid))
        .await;
    assert_eq!(bundle["total"], 0);
    let (_, bundle) = tb
        .search("Person", &format!("identifier={DNR}%7C{}", d.pid))
        .await;
    assert_eq!(bundle["total"], 1);
    assert_eq!(matches(&bundle)[0]["identifier"][0]["system"], DNR);
}

#[tokio::test]
async fn an_identifier_in_the_url_or_a_malformed_one_is_refused() {
    let tb = Testbed::start().await;
    let p = tb.find(ordinary);
    let (status, body) = tb
        .get(&format!("/Person?identifier={}&_elements=name", p.pid))
        .await;
    assert_eq!(status, 400);
    assert!(outcome_text(&body).contains("POST [base]/Person/_search"));
    // Also in the URL of a POST.
    let (status, _) = read(
        tb.call(
            Method::POST,
            &format!("/Person/_search?identifier={}", p.pid),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = tb.search("Person", "identifier=123").await;
    assert_eq!(status, 400);
    assert!(outcome_text(&body).contains("11 digits"));
    let (status, body) = tb
        .search("Person", &format!("identifier=urn:oid:1.2.3%7C{}", p.pid))
        .await;
    assert_eq!(status, 400);
    assert!(outcome_text(&body).contains("urn:oid:1.2.3"));
    // A body that is not a form.
    let (status, body) = read(
        tb.call(Method::POST, "/Person/_search")
            .header("Content-Type", "application/json")
            .body(format!(r#"{{"identifier":"{}"}}"#, p.pid))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 415);
    assert!(outcome_text(&body).contains("x-www-form-urlencoded"));
    // A search without criteria lists nobody.
    let (status, body) = tb.get("/Person?_elements=name").await;
    assert_eq!(status, 400);
    assert!(outcome_text(&body).contains("at least one search parameter"));
}

#[tokio::test]
async fn a_name_search_counts_every_match_and_pages_through_them() {
    let tb = Testbed::start().await;
    let p = tb.find(ordinary);
    let family = p.family_name;
    let prefix: String = family.chars().take(3).collect();
    // What the population says, worked out here without the API.
    let expected: Vec<String> = tb
        .population
        .persons()
        .filter(|q| {
            q.family_name
                .split([' ', '-'])
                .any(|w| w.starts_with(&prefix))
                || q.family_name.starts_with(&prefix)
        })
        .map(|q| q.pid.to_string())
        .collect();
    assert!(expected.len() > 3, "the test needs several matches");
    let lower = prefix.to_lowercase();
    let (status, first) = tb
        .get(&format!(
            "/Person?family={lower}&_elements=identifier,name&_count=2"
        ))
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["total"], expected.len());
    assert_eq!(matches(&first).len(), 2);
    let next = first["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = next.strip_prefix(&tb.base).unwrap();
    let (status, second) = tb.get(path).await;
    assert_eq!(status, 200);
    let mut seen: Vec<String> = matches(&first)
        .iter()
        .chain(matches(&second).iter())
        .map(|r| r["identifier"][0]["value"].as_str().unwrap().to_owned())
        .collect();
    seen.dedup();
    assert_eq!(
        seen,
        expected[..seen.len()].to_vec(),
        "pages follow each other"
    );
    assert!(
        second["link"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["relation"] == "previous")
    );

    // _total=none leaves the count out; _summary=count gives only the count.
    let (_, none) = tb
        .get(&format!(
            "/Person?family={lower}&_elements=name&_total=none"
        ))
        .await;
    assert!(none.get("total").is_none());
    let (_, count) = tb
        .get(&format!("/Person?family={lower}&_summary=count"))
        .await;
    assert_eq!(count["total"], expected.len());
    assert!(matches(&count).is_empty());

    // Given name and birth date narrow it to the person; :exact needs the register's casing.
    let (_, exact) = tb
        .get(&format!(
            "/Person?given:exact={}&family={family}&birthdate={}&_elements=identifier",
            p.given_name, p.birth_date
        ))
        .await;
    let ids: Vec<&str> = matches(&exact)
        .iter()
        .map(|r| r["identifier"][0]["value"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&p.pid.as_str()), "{exact}");
    let lower_given = p.given_name.to_lowercase();
    let (_, wrong_case) = tb
        .get(&format!(
            "/Person?given:exact={lower_given}&family={family}&_elements=identifier"
        ))
        .await;
    assert_eq!(wrong_case["total"], 0);
    let (_, name) = tb
        .get(&format!(
            "/Person?name={}&birthdate=ge{}&birthdate=le{}&_elements=identifier",
            lower_given,
            p.birth_date.year(),
            p.birth_date.year()
        ))
        .await;
    assert!(
        matches(&name)
            .iter()
            .any(|r| r["identifier"][0]["value"] == p.pid.as_str())
    );
    let (_, not_born) = tb
        .get(&format!(
            "/Person?name={lower_given}&birthdate=gt{}&_elements=identifier",
            p.birth_date.year()
        ))
        .await;
    assert!(
        !matches(&not_born)
            .iter()
            .any(|r| r["identifier"][0]["value"] == p.pid.as_str())
    );
}

#[tokio::test]
async fn bad_search_parameters_get_an_operation_outcome() {
    let tb = Testbed::start().await;
    for (query, says) in [
        ("/Person?birthdate=1990-13", "not a date"),
        ("/Person?birthdate=ap1990", "ap"),
        ("/Person?name=A&_count=0", "_count"),
        ("/Person?name:fuzzy=A", ":fuzzy"),
        ("/Person?name=A&_summary=true", "_summary"),
    ] {
        let (status, body) = tb.get(query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(outcome_text(&body).contains(says), "{query}: {body}");
    }
    // An unknown parameter is ignored with a warning, or refused when strict.
    let (status, body) = tb.get("/Person?name=A&colour=blue&_elements=name").await;
    assert_eq!(status, 200);
    assert!(
        outcomes(&body).iter().any(|w| w.contains("colour")),
        "{body}"
    );
    let (status, body) = read(
        tb.call(Method::GET, "/Person?name=A&colour=blue")
            .header("Prefer", "handling=strict")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(outcome_text(&body).contains("colour"));
    // An unknown element is ignored with a warning.
    let (_, body) = tb.get("/Person?name=A&_elements=name,shoeSize").await;
    assert!(
        outcomes(&body).iter().any(|w| w.contains("shoeSize")),
        "{body}"
    );
}

#[tokio::test]
async fn a_person_is_read_by_id_and_protected_addresses_are_withheld() {
    let tb = Testbed::start().await;
    let p = tb.find(ordinary);
    let id = tb.id_of(&p).await;
    let (status, person) = tb
        .get(&format!("/Person/{id}?_elements=name,address,extension"))
        .await;
    assert_eq!(status, 200, "{person}");
    assert_eq!(person["id"], id.as_str());
    assert_eq!(
        person["meta"]["profile"][0],
        "http://ehelse.no/fhir/StructureDefinition/gd-Person"
    );
    assert_eq!(person["meta"]["versionId"], "1");
    assert!(person["meta"].get("security").is_none());
    assert!(person.get("address").is_some());
    let status_ext = person["extension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["url"] == "http://ehelse.no/fhir/StructureDefinition/gd-person-status")
        .unwrap();
    assert_eq!(status_ext["extension"][0]["valueCode"], "bosatt");
    // Without _elements: the identifier only.
    let (_, bare) = tb.get(&format!("/Person/{id}")).await;
    assert!(bare.get("name").is_none() && bare.get("identifier").is_some());
    // Version 1 is the only one.
    let (status, _) = tb
        .get(&format!("/Person/{id}/_history/1?_elements=name"))
        .await;
    assert_eq!(status, 200);
    let (status, body) = tb.get(&format!("/Person/{id}/_history/2")).await;
    assert_eq!(status, 404);
    assert!(outcome_text(&body).contains("version"));
    // Unknown ids, and identity numbers used as ids, are not found.
    for bad in ["00000000-0000-0000-0000-000000000000", p.pid.as_str(), "x"] {
        let (status, body) = tb.get(&format!("/Person/{bad}")).await;
        assert_eq!(status, 404);
        assert_eq!(body["issue"][0]["code"], "not-found");
    }

    for (protection, code) in [
        (AddressProtection::StrengtFortrolig, "strengtFortrolig"),
        (AddressProtection::Fortrolig, "fortrolig"),
    ] {
        let hidden = tb.find(|q| q.address_protection == protection);
        let (_, bundle) = tb
            .search(
                "Person",
                &format!("identifier={}&_elements=address,name", hidden.pid),
            )
            .await;
        let person = matches(&bundle)[0];
        assert!(person.get("address").is_none(), "{person}");
        assert_eq!(person["meta"]["security"][0]["code"], code);
        assert_eq!(
            person["meta"]["security"][0]["system"],
            "http://ehelse.no/fhir/CodeSystem/gd-address-confidentiality"
        );
    }
}

#[tokio::test]
async fn relations_are_related_persons_found_from_either_end() {
    let tb = Testbed::start().await;
    let child = tb.find(|p| {
        p.relations.mother.is_some()
            && p.age_on(synthpop::census_date()) < 18
            && p.pid_kind == NinKind::Fodselsnummer
    });
    let mother = child.relations.mother.unwrap();
    let child_id = tb.id_of(&child).await;
    let (status, bundle) = tb
        .get(&format!(
            "/RelatedPerson?patient=Person/{child_id}&_elements=identifier,relationship"
        ))
        .await;
    assert_eq!(status, 200, "{bundle}");
    let related = matches(&bundle);
    assert_eq!(bundle["total"], related.len());
    let to_mother = related
        .iter()
        .find(|r| r["identifier"][0]["value"] == mother.as_str())
        .expect("the mother is a RelatedPerson");
    assert_eq!(
        to_mother["patient"]["reference"],
        format!("{}/Person/{child_id}", tb.base)
    );
    let family = &to_mother["relationship"][0];
    assert_eq!(
        family["coding"][0]["system"],
        "http://hl7.no/fhir/CodeSystem/no-basis-family-relation"
    );
    assert_eq!(family["coding"][0]["code"], "barn");
    assert_eq!(family["extension"][0]["extension"][0]["valueCode"], "mor");
    assert!(
        to_mother["relationship"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["coding"][0]["system"]
                == "http://hl7.no/fhir/CodeSystem/no-basis-parental-responsibility"),
        "a parent of a minor has parental responsibility: {to_mother}"
    );
    // Read by its id.
    let id = to_mother["id"].as_str().unwrap();
    let (status, read) = tb
        .get(&format!("/RelatedPerson/{id}?_elements=identifier"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(read["identifier"][0]["value"], mother.as_str());
    // From the mother's end: the child's RelatedPerson names her.
    let (_, by_identifier) = tb
        .search(
            "RelatedPerson",
            &format!("identifier={mother}&_elements=identifier"),
        )
        .await;
    assert!(
        matches(&by_identifier).iter().any(|r| r["id"] == id),
        "{by_identifier}"
    );
    // Filtered by relationship code.
    let (_, mothers) = tb
        .get(&format!(
            "/RelatedPerson?patient={child_id}&relationship=http://hl7.no/fhir/CodeSystem/no-basis-family-relation%7Cbarn&_elements=identifier"
        ))
        .await;
    assert!(
        matches(&mothers)
            .iter()
            .all(|r| r["identifier"][0]["value"] != child.pid.as_str())
    );
    assert!(!matches(&mothers).is_empty());
    // Relationship alone would list the register.
    let (status, body) = tb.get("/RelatedPerson?relationship=barn").await;
    assert_eq!(status, 400);
    assert!(outcome_text(&body).contains("patient"));
    // An id that is no pair of relatives.
    let (status, _) = tb
        .get("/RelatedPerson/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn only_a_token_for_this_api_gets_in() {
    let tb = Testbed::start().await;
    let url = format!("{}/Person?name=A&_elements=name", tb.base);
    // No token: a bare challenge and an OperationOutcome.
    let response = tb.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("www-authenticate").is_some());
    let (_, body) = read(response).await;
    assert_eq!(body["issue"][0]["code"], "login");

    // A DPoP token sent as Bearer.
    let response = tb
        .http
        .get(&url)
        .header("Authorization", format!("Bearer {}", tb.token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // The same token with a proof for another URL.
    let response = tb
        .client
        .api_request(Method::GET, &format!("{}/Person/other", tb.base), &tb.token)
        .unwrap()
        .build()
        .unwrap();
    let mut wrong = tb.http.get(&url).build().unwrap();
    *wrong.headers_mut() = response.headers().clone();
    let response = tb.http.execute(wrong).await.unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("invalid_dpop_proof"), "{challenge}");

    // A token for another API.
    let (other_client, other_token) = client_and_token(
        &tb.sts,
        &tb.issuer,
        TokenBinding::Dpop,
        "nhn:testbed-api/read",
    )
    .await;
    let response = other_client
        .api_request(Method::GET, &url, &other_token)
        .unwrap()
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("invalid_token") && challenge.contains("nhn:hgd-persontjenesten-api"),
        "{challenge}"
    );

    // A token for this audience without any of its scopes (the STS would not issue one).
    let now = tb.sts.now();
    let claims = json!({
        "iss": tb.issuer, "aud": "nhn:hgd-persontjenesten-api", "scope": ["openid"],
        "client_id": "c", "iat": now, "nbf": now, "exp": now + 300, "jti": "j1",
    });
    let header = json!({"typ": "at+jwt"}).as_object().unwrap().clone();
    let unscoped = tb
        .sts
        .keys()
        .unwrap()
        .active
        .sign_jwt(header, &claims)
        .unwrap();
    let response = tb
        .http
        .get(&url)
        .header("Authorization", format!("Bearer {unscoped}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let (_, body) = read(response).await;
    assert_eq!(body["issue"][0]["code"], "forbidden");

    // Every one of the API's scopes lets a client in, Bearer or DPoP.
    for scope in seed::PERSONTJENESTEN_SCOPES {
        let scope = format!("nhn:hgd-persontjenesten-api/{scope}");
        let (c, t) =
            client_and_token(&tb.sts, &tb.issuer, TokenBinding::LegacyBearer, &scope).await;
        let response = c
            .api_request(Method::GET, &url, &t)
            .unwrap()
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scope}");
    }
}

#[tokio::test]
async fn media_types_methods_and_paths_outside_the_interface_are_refused() {
    let tb = Testbed::start().await;
    for accept in [
        "application/fhir+xml",
        "application/fhir+json; fhirVersion=3.0",
        "text/html",
    ] {
        let response = tb
            .client
            .api_request(
                Method::GET,
                &format!("{}/Person?name=A", tb.base),
                &tb.token,
            )
            .unwrap()
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 406, "{accept}");
    }
    for accept in ["application/json", "*/*", "application/fhir+json"] {
        let response = tb
            .client
            .api_request(
                Method::GET,
                &format!("{}/Person?name=A&_elements=name", tb.base),
                &tb.token,
            )
            .unwrap()
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{accept}");
    }
    let (status, _) = tb.get("/Person?name=A&_format=xml").await;
    assert_eq!(status, 406);
    let (status, body) = tb.get("/Patient?name=A").await;
    assert_eq!(status, 404);
    assert!(outcome_text(&body).contains("Person and RelatedPerson"));
    let (status, body) = read(tb.call(Method::DELETE, "/Person/x").send().await.unwrap()).await;
    assert_eq!(status, 405);
    assert!(outcome_text(&body).contains("DELETE"));
    // The CapabilityStatement is public, as FHIR's metadata is.
    let response = tb
        .http
        .get(format!("{}/metadata", tb.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, cs) = read(response).await;
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    // The environment lists the API where it is served, with its scopes.
    let env: Value = tb
        .http
        .get(format!("{}/testbed/environment", tb.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api = env["apis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["audience"] == "nhn:hgd-persontjenesten-api")
        .unwrap();
    assert_eq!(api["url"], tb.base.as_str());
    assert!(api["scopes"].as_array().unwrap().iter().any(|s| s == SCOPE));
    assert!(
        env["apis"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a.get("url").is_some())
            .count()
            == 1,
        "only the API the testbed serves has a url"
    );
}

#[tokio::test]
async fn a_plus_65_person_is_reserved_by_one_team_and_released_by_it() {
    let tb = Testbed::start().await;
    let reserved = tb.find(|p| p.world == World::SyntPopReserved);
    let id = tb.id_of(&reserved).await;
    let op_as = |name: &str, content_type: &str, body: &str| {
        tb.call(
            Method::POST,
            &format!("/Person/{id}/${name}?_elements=extension"),
        )
        .header("Content-Type", content_type)
        .body(body.to_owned())
    };
    let op = |name: &str, body: &str| op_as(name, "application/x-www-form-urlencoded", body);
    let (status, person) = read(op("reserve", "team=team-a").send().await.unwrap()).await;
    assert_eq!(status, 200, "{person}");
    let syntpop = person["extension"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["url"] == "urn:helseid-testbed:fhir:StructureDefinition:syntpop")
        .unwrap();
    assert_eq!(syntpop["extension"][0]["valueCode"], "syntpop-reservert");
    assert_eq!(syntpop["extension"][1]["valueString"], "team-a");
    // Kept in the store the SyntPop pages read.
    assert_eq!(
        tb.sts
            .store
            .reservation(reserved.pid.as_str())
            .unwrap()
            .unwrap()
            .0,
        "team-a"
    );
    let (status, body) = read(op("reserve", "team=team-b").send().await.unwrap()).await;
    assert_eq!(status, 409);
    assert!(outcome_text(&body).contains("team-a"));
    let (status, _) = read(op("release", "team=team-b").send().await.unwrap()).await;
    assert_eq!(status, 409);
    let (status, body) = read(op("reserve", "team=a%0Ab").send().await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = read(op("release", "team=team-a").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        tb.sts.store.reservation(reserved.pid.as_str()).unwrap(),
        None
    );
    // Without a team, as a FHIR Parameters resource or not at all: the calling client.
    let (status, _) = read(
        op_as(
            "reserve",
            "application/fhir+json",
            r#"{"resourceType":"Parameters","parameter":[{"name":"team","valueString":"team-c"}]}"#,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        tb.sts
            .store
            .reservation(reserved.pid.as_str())
            .unwrap()
            .unwrap()
            .0,
        "team-c"
    );
    tb.sts
        .store
        .release(reserved.pid.as_str(), "team-c")
        .unwrap();
    let (status, _) = read(op("reserve", "").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        tb.sts
            .store
            .reservation(reserved.pid.as_str())
            .unwrap()
            .unwrap()
            .0,
        tb.client.client_id
    );
    // Test-Norge's persons belong to nobody.
    let test_norge = tb.find(|p| p.world != World::SyntPopReserved);
    let other = tb.id_of(&test_norge).await;
    let (status, body) = read(
        tb.call(Method::POST, &format!("/Person/{other}/$reserve"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("team=team-a")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(outcome_text(&body).contains("+65"));
}

#[tokio::test]
async fn resource_type_comes_first_in_every_resource() {
    let tb = Testbed::start().await;
    let response = tb
        .call(Method::GET, "/Person?name=a&_elements=name&_count=3")
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert!(text.starts_with(r#"{"resourceType":"Bundle","#), "{text}");
    assert!(
        text.contains(r#""resource":{"resourceType":"Person","#),
        "{text}"
    );
    let refused = tb
        .http
        .get(format!("{}/Person?name=a", tb.base))
        .send()
        .await
        .unwrap();
    let text = refused.text().await.unwrap();
    assert!(
        text.starts_with(r#"{"resourceType":"OperationOutcome","#),
        "{text}"
    );
}

/// A request of the bad-input battery: method, path, and a body with its content type.
type Case = (Method, String, Option<(&'static str, String)>);

/// Bad input of every kind gets a 4xx with an `OperationOutcome`, never a 5xx or a dropped
/// connection: odd paths, broken encodings, huge or negative numbers, Unicode, bodies of the
/// wrong kind, and seeded random queries built from the API's own parameter names.
#[tokio::test]
async fn bad_input_is_refused_cleanly() {
    let tb = Testbed::start().await;
    let mut cases: Vec<Case> = vec![
        (Method::GET, "/Person?name=%FF".into(), None),
        (Method::GET, "/Person?name=%".into(), None),
        (
            Method::GET,
            "/Person?_count=99999999999999999999999&name=a".into(),
            None,
        ),
        (
            Method::GET,
            "/Person?_offset=18446744073709551615&name=a".into(),
            None,
        ),
        (
            Method::GET,
            "/Person?birthdate=ge9999-12-31&name=a".into(),
            None,
        ),
        (Method::GET, "/Person?birthdate=0000-01-01".into(), None),
        (
            Method::GET,
            "/Person?name=%F0%9F%92%A9&_elements=%F0%9F%92%A9".into(),
            None,
        ),
        (Method::GET, "/Person?name:=a".into(), None),
        (Method::GET, "/Person?:exact=a".into(), None),
        (Method::GET, "/Person?_elements=,,,&name=a".into(), None),
        (Method::GET, "/Person/%00".into(), None),
        (Method::GET, "/Person/../metadata".into(), None),
        (Method::GET, "/Person/x/_history/%FF".into(), None),
        (Method::GET, "/RelatedPerson?patient=%2F%2F".into(), None),
        (
            Method::GET,
            "/RelatedPerson?_id=zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz".into(),
            None,
        ),
        (Method::GET, "/Person/x/y/z/w".into(), None),
        (Method::POST, "/RelatedPerson/x/$reserve".into(), None),
        (Method::POST, "/Person/_search".into(), None),
        (
            Method::POST,
            "/Person/_search".into(),
            Some(("application/x-www-form-urlencoded", "identifier=%".into())),
        ),
        (
            Method::POST,
            "/Person/_search".into(),
            Some((
                "application/x-www-form-urlencoded",
                "identifier=".repeat(20_000),
            )),
        ),
        (
            Method::POST,
            "/Person/_search".into(),
            Some(("application/x-www-form-urlencoded", "identifier=|||".into())),
        ),
        (
            Method::POST,
            "/Person/not-an-id/$reserve".into(),
            Some(("application/fhir+json", "{".into())),
        ),
        (
            Method::POST,
            "/Person/not-an-id/$reserve".into(),
            Some(("text/plain", "team=a".into())),
        ),
    ];
    // Seeded random queries over the parameter names, values and modifiers the API reads.
    let names = [
        "name",
        "given",
        "family",
        "middlename",
        "birthdate",
        "_id",
        "patient",
        "relationship",
        "_elements",
        "_count",
        "_offset",
        "_total",
        "_summary",
        "_format",
        "name:exact",
        "given:contains",
        "x",
        "",
    ];
    let values = [
        "a",
        "",
        "ge1990",
        "1990-02-30",
        "-1",
        "0",
        "none",
        "count",
        "json",
        "xml",
        "Person/x",
        "%C3%98",
        "a,b,,c",
        "%25",
        "ne2000-01",
        "99999999999",
        "eb",
        "|",
        "sa1990-01-01",
    ];
    let mut state: u64 = 0x5eed_1234;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((state >> 33) as usize) % n
    };
    for _ in 0..300 {
        let resource = if next(2) == 0 {
            "Person"
        } else {
            "RelatedPerson"
        };
        let pairs: Vec<String> = (0..1 + next(4))
            .map(|_| {
                format!(
                    "{}={}",
                    names[next(names.len())],
                    values[next(values.len())]
                )
            })
            .collect();
        cases.push((
            Method::GET,
            format!("/{resource}?{}", pairs.join("&")),
            None,
        ));
    }
    for (method, path, body) in cases {
        let mut request = tb.call(method.clone(), &path);
        if let Some((content_type, text)) = body {
            request = request.header("Content-Type", content_type).body(text);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(status < 500, "{method} {path}: {status} {text}");
        if status >= 400 {
            assert!(
                text.contains(r#""resourceType":"OperationOutcome""#),
                "{method} {path}: {status} {text}"
            );
        }
    }
}

/// As `up` serves it, every call is in the STS's flow log: the flow inspector shows a person
/// lookup beside the token request that handed out its token.
#[tokio::test]
async fn calls_are_in_the_flow_log_with_the_token_request() {
    let tb = Testbed::start().await;
    let p = tb.find(ordinary);
    let (status, _) = tb
        .search("Person", &format!("identifier={}&_elements=name", p.pid))
        .await;
    assert_eq!(status, 200);
    let log: Value = tb
        .http
        .get(format!("{}/testbed/flows?limit=10", tb.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exchanges = log["exchanges"].as_array().unwrap();
    let call = exchanges
        .iter()
        .find(|e| e["request"]["path"] == "/persontjenesten/fhir/Person/_search")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(call["response"]["status"], 200, "{call}");
    // The token decoded (no signature), the person in the body, FHIR codes not masked.
    let token = &call["request"]["headers"]["authorization"]["token"]["jwt"]["claims"];
    assert_eq!(token["aud"], "nhn:hgd-persontjenesten-api", "{call}");
    assert_eq!(call["request"]["body"]["identifier"], p.pid.as_str());
    let tag = &call["response"]["body"]["entry"][0]["resource"]["meta"]["tag"][0];
    assert_eq!(tag["code"], "SUBSETTED", "{call}");
    assert!(
        exchanges
            .iter()
            .any(|e| e["request"]["path"] == "/connect/token" && e["response"]["status"] == 200),
        "{log}"
    );
}
