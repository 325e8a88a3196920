//! The pages in a real browser (headless Chromium): a conformance session started on the
//! page, the reference client run against its authority with nothing else changed, the
//! session ended and its HTML report downloaded; the start page's links, the locale switch
//! and the configuration download. Screenshots land in `target/browser-artifacts/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::{Browser, reference_client, testbed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_the_pages_judges_the_reference_client() {
    let (tb, _dir) = testbed().await;
    let scenario = conformance::scenario::parse(
        "name: app\nkind: client\nclient:\n  driver: [x]\n  login: true\n",
        "browser.yaml",
    )
    .unwrap();
    let registered = conformance::client::register(&tb, scenario.client.as_ref().unwrap()).unwrap();
    let (pid, _) = tb.practitioner().unwrap();
    let b = Browser::open("session").await;

    // Start the session from the list of clients.
    b.goto(&format!("{}/sessions", tb.issuer)).await;
    b.screenshot("sessions-empty").await;
    let start = format!(
        "button[aria-label='Start sesjon for {}']",
        registered.client_id
    );
    b.click(&start).await;
    b.wait_for_url(|u| u.contains("/sessions/")).await;
    let authority = b.value("#authority").await;
    let probe = b.value("#probe").await;
    assert!(
        authority.starts_with(&format!("{}/s/", tb.issuer)),
        "{authority}"
    );
    assert_eq!(probe, format!("{authority}/probe"));

    // The application, with only its authority changed.
    let mut env = BTreeMap::new();
    env.insert("HELSEID_ISSUER".to_owned(), authority.clone());
    env.insert(
        "HELSEID_CLIENT_CONFIG".to_owned(),
        registered.config_path.display().to_string(),
    );
    env.insert("HELSEID_PROBE_API".to_owned(), probe.clone());
    env.insert(
        "HELSEID_PROBE_AUDIENCE".to_owned(),
        conformance::client::PROBE_AUDIENCE.to_owned(),
    );
    env.insert(
        "HELSEID_PROBE_SCOPE".to_owned(),
        conformance::client::PROBE_SCOPE.to_owned(),
    );
    env.insert("HELSEID_FLOW".to_owned(), "login".to_owned());
    env.insert("HELSEID_TEST_PID".to_owned(), pid);
    let argv = vec![reference_client().display().to_string()];
    let run = conformance::client::run_driver(&argv, &env, Duration::from_secs(60)).await;
    assert!(run.succeeded(), "{}: {}", run.describe(), run.output);

    // The page shows what was recorded; a fault step is armed with a button.
    b.client.refresh().await.unwrap();
    let summary = b.text("#recorded-summary").await;
    assert!(summary.contains("1 kall til probe-API-et"), "{summary}");
    b.click("#fault-wrong-aud").await;
    b.wait_for_url(|u| !u.ends_with("/fault")).await;
    assert!(b.text("#armed").await.contains("til en annen klient"));
    let spoiled = conformance::client::run_driver(&argv, &env, Duration::from_secs(60)).await;
    assert!(
        !spoiled.succeeded(),
        "the reference client took a spoiled ID token"
    );
    b.client.refresh().await.unwrap();
    b.screenshot("session").await;
    let session_page = b.url().await;

    // The session's own exchanges in the flow inspector, tokens verified with its keys.
    b.click("#session-flows").await;
    b.wait_for_url(|u| u.contains("session=")).await;
    assert!(b.text("#flows-body").await.contains("login"));
    b.click("#flows-body tr a").await;
    b.wait_for_url(|u| u.contains("/flows/")).await;
    assert!(b.text("#sequence").await.contains("/connect/par"));
    let flow = b.text("main").await;
    assert!(flow.contains("signaturen stemmer"));
    assert!(
        !flow.contains("signaturen stemmer IKKE"),
        "the session's own keys"
    );
    b.goto(&session_page).await;

    // End: the verdicts, with evidence, and the downloads.
    b.click("#end").await;
    b.wait_for_url(|u| u.ends_with("/results")).await;
    assert_eq!(b.text("#verdict").await, "Bestått");
    let idt02 = b.text("#r-CLIENT-IDT-02").await;
    assert!(idt02.contains("bestått"), "{idt02}");
    let skipped = b.text("#r-CLIENT-IDT-01").await;
    assert!(skipped.contains("hoppet over"), "{skipped}");
    b.screenshot("results").await;
    b.click("#download-html").await;
    let report = std::fs::read_to_string(b.downloaded(".html").await).unwrap();
    assert!(report.contains("CLIENT-RUN-01"), "the downloaded report");
    for link in ["#download-junit", "#download-json"] {
        let href = b.attr(link, "href").await.unwrap();
        let got = reqwest::get(&href).await.unwrap();
        assert_eq!(got.status(), 200, "{href}");
    }
    // The authority stopped answering when the session ended.
    let ended = reqwest::get(format!("{authority}/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(ended.status(), 404);

    b.goto(&format!("{}/sessions", tb.issuer)).await;
    assert!(b.text("#sessions").await.contains("bestått"));
    b.screenshot("sessions").await;

    // Every control has a name, the text has contrast, and the keyboard reaches the links.
    for page in ["/", "/sessions"] {
        b.goto(&format!("{}{page}", tb.issuer)).await;
        assert_eq!(
            b.unlabelled_controls().await,
            Vec::<String>::new(),
            "{page}"
        );
        assert_eq!(b.low_contrast(4.5).await, Vec::<String>::new(), "{page}");
    }
    b.goto(&format!("{}/", tb.issuer)).await;
    assert_eq!(b.tab_to(1).await, "Hopp til innholdet");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_page_links_work_and_switch_language_and_download_the_configuration() {
    let (tb, _dir) = testbed().await;
    let b = Browser::open("start").await;
    b.goto(&format!("{}/", tb.issuer)).await;
    assert_eq!(b.text("#issuer").await, tb.issuer);
    b.screenshot("start").await;

    // Every link on the page answers.
    let links = b
        .client
        .find_all(fantoccini::Locator::Css("main a[href]"))
        .await
        .unwrap();
    let mut hrefs = Vec::new();
    for l in links {
        hrefs.push(l.attr("href").await.unwrap().unwrap());
    }
    assert!(hrefs.len() >= 10, "{hrefs:?}");
    for href in &hrefs {
        let url = if href.starts_with('/') {
            format!("{}{href}", tb.issuer)
        } else {
            href.clone()
        };
        let status = reqwest::get(&url).await.unwrap().status();
        assert_eq!(status, 200, "{url}");
    }

    // The configuration file of the demo client.
    b.click("#demo-download").await;
    let file = std::fs::read_to_string(b.downloaded("demo-client.json").await).unwrap();
    let config: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(config["authority"], tb.issuer);

    // English on request, remembered.
    b.click("#lang-switch").await;
    assert!(b.text("h1").await.contains("HelseID testbed"));
    b.click("#sessions-link").await;
    assert_eq!(b.text("h1").await, "Conformance sessions");
    b.screenshot("sessions-en").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_usage_chart_and_the_audit_log_after_a_few_tokens() {
    let (tb, dir) = testbed().await;
    support::some_usage(&tb, dir.path()).await;
    let b = Browser::open("usage").await;
    b.goto(&format!("{}/usage?range=hour", tb.issuer)).await;
    assert_eq!(b.text("#token-total").await, "2");
    let bars = b
        .client
        .find_all(fantoccini::Locator::Css("#usage-chart svg.chart rect"))
        .await
        .unwrap();
    assert!(bars.len() >= 2, "the tokens' and the errors' bars");
    b.screenshot("usage").await;
    assert_eq!(b.unlabelled_controls().await, Vec::<String>::new());
    assert_eq!(b.low_contrast(4.5).await, Vec::<String>::new());

    // The audit log, searched from its form.
    b.goto(&format!("{}/audit", tb.issuer)).await;
    b.client
        .find(fantoccini::Locator::Css("#q"))
        .await
        .unwrap()
        .send_keys("use_dpop_nonce")
        .await
        .unwrap();
    b.click("#search").await;
    b.wait_for_url(|u| u.contains("q=use_dpop_nonce")).await;
    let rows = b
        .client
        .find_all(fantoccini::Locator::Css("#audit tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "the two nonce challenges");
    b.screenshot("audit").await;
    assert_eq!(b.unlabelled_controls().await, Vec::<String>::new());
    b.click("#export-csv").await;
    let csv = std::fs::read_to_string(b.downloaded(".csv").await).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthpop_search_log_in_as_and_reserve_for_a_team() {
    let (tb, _dir) = testbed().await;
    let b = Browser::open("synthpop").await;
    b.goto(&format!("{}/synthpop", tb.issuer)).await;
    b.click("#hpr").await;
    b.click("#search").await;
    b.wait_for_url(|u| u.contains("hpr=on")).await;
    b.screenshot("synthpop").await;
    assert_eq!(b.unlabelled_controls().await, Vec::<String>::new());
    assert_eq!(b.low_contrast(4.5).await, Vec::<String>::new());
    b.click("#persons tbody tr a").await;
    b.wait_for_url(|u| u.contains("/synthpop/")).await;
    let pid = b.text("#pid").await;
    // Where the person API serves this person.
    let population = tb.sts.population().unwrap();
    let person = population.by_pid(&pid).unwrap();
    assert_eq!(
        b.text("#fhir-url").await,
        format!(
            "{}/persontjenesten/fhir/Person/{}",
            tb.issuer,
            persontjenesten::index::person_id(&population, person.index)
        )
    );
    assert!(
        b.text("#approvals tbody").await.lines().count() >= 1,
        "a health worker's approvals"
    );
    b.screenshot("person").await;
    assert_eq!(b.unlabelled_controls().await, Vec::<String>::new());

    // Log in as this person at TestIDP (the first IdP): every token shown, naming them.
    b.click("#login").await;
    b.wait_for_url(|u| u.ends_with("/login")).await;
    let access = b.text("#access-token").await;
    assert!(access.contains(&pid), "{access}");
    assert!(b.text("#steps").await.contains("/connect/authorize"));
    b.screenshot("login-as").await;

    // A +65 person, reserved for a team, shows as another owner to everyone else.
    b.goto(&format!("{}/synthpop?tag=syntpop-reservert", tb.issuer))
        .await;
    b.click("#persons tbody tr a").await;
    b.wait_for_url(|u| u.contains("/synthpop/")).await;
    let page = b.url().await;
    b.client
        .find(fantoccini::Locator::Css("#team"))
        .await
        .unwrap()
        .send_keys("team-a")
        .await
        .unwrap();
    b.click("#reserve").await;
    assert!(b.text("#owner").await.contains("vårt team (team-a)"));
    let other = Browser::open("synthpop-other").await;
    other.goto(&page).await;
    assert!(other.text("#owner").await.contains("Annen eier"));
    assert!(
        other
            .client
            .find(fantoccini::Locator::Css("#release"))
            .await
            .is_err(),
        "only the owner may release"
    );
    other.close().await;
    b.click("#release").await;
    assert!(b.text("#owner").await.contains("Ledig"));
    b.close().await;
}

/// A token with the configuration file at `path`: Ok with the access token, or the error.
async fn token_with(path: &std::path::Path, issuer: &str) -> Result<String, String> {
    let file = protocol::client_config::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let client = helseid_reference::client::Client::from_config(&file, Some(issuer)).unwrap();
    client
        .token(&helseid_reference::client::TokenRequest {
            scope: None,
            resource: None,
            details: None,
        })
        .await
        .map(|o| o.response.access_token)
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_service_creates_a_client_that_works_and_rotates_its_key() {
    let (tb, _dir) = testbed().await;
    let b = Browser::open("self-service").await;
    b.goto(&format!("{}/self-service", tb.issuer)).await;
    assert_eq!(b.unlabelled_controls().await, Vec::<String>::new());
    assert_eq!(b.low_contrast(4.5).await, Vec::<String>::new());
    b.click("input[value='nhn:testbed-api/read']").await;
    b.screenshot("self-service").await;
    b.click("#create-client").await;
    let first = b.downloaded(".json").await;
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&first).unwrap()).unwrap();
    let client_id = file["clientId"].as_str().unwrap().to_owned();
    let registered = tb.sts.store.client(&client_id).unwrap().unwrap();
    assert_eq!(registered.scopes, vec!["nhn:testbed-api/read".to_owned()]);
    assert_eq!(registered.tenancy.owner(), mock_sts::seed::SAMPLE_PARENT);
    token_with(&first, &tb.issuer).await.unwrap();

    // A new key: the new file works, the old one no longer does.
    let kept = first.with_extension("old");
    std::fs::rename(&first, &kept).unwrap();
    b.goto(&format!("{}/self-service?limit=200", tb.issuer))
        .await;
    b.click(&format!(
        "button[aria-label='Ny nøkkel og konfigurasjon for {client_id}']"
    ))
    .await;
    let second = b.downloaded(&format!("{client_id}.json")).await;
    token_with(&second, &tb.issuer).await.unwrap();
    let refused = token_with(&kept, &tb.issuer).await.unwrap_err();
    assert!(refused.contains("invalid_client"), "{refused}");

    // An API, then one whose audience breaks the rule, named on the error page.
    b.goto(&format!("{}/self-service", tb.issuer)).await;
    for (field, value) in [
        ("#audience", "nhn:mitt-api"),
        ("#api-scopes", "nhn:mitt-api/read"),
    ] {
        b.client
            .find(fantoccini::Locator::Css(field))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    b.click("#create-api").await;
    assert!(b.text("#apis").await.contains("nhn:mitt-api"));
    assert!(tb.sts.store.api("nhn:mitt-api").unwrap().is_some());
    for (field, value) in [("#audience", "Mitt API"), ("#api-scopes", "x")] {
        b.client
            .find(fantoccini::Locator::Css(field))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    b.click("#create-api").await;
    assert!(b.text("[role=alert]").await.contains("Mitt API"));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flow_inspector_shows_a_login_with_its_diagram_and_verified_tokens() {
    let (tb, _dir) = testbed().await;
    let b = Browser::open("flows").await;
    // A login at BankID (a page filled in as a user would), from a person's page.
    let (pid, _) = tb.practitioner().unwrap();
    b.goto(&format!("{}/synthpop/{pid}", tb.issuer)).await;
    b.client
        .find(fantoccini::Locator::Css("#idp option[value='bankid']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.click("#login").await;
    b.wait_for_url(|u| u.ends_with("/login")).await;
    assert!(b.text("#access-token").await.contains(&pid));

    b.goto(&format!("{}/flows", tb.issuer)).await;
    let first = b.text("#flows tbody tr").await;
    assert!(first.starts_with("login"), "{}", b.text("#flows").await);
    b.screenshot("flows").await;
    assert_eq!(b.unlabelled_controls().await, Vec::<String>::new());
    b.click("#flows tbody tr a").await;
    b.wait_for_url(|u| u.contains("/flows/")).await;
    let diagram = b.text("#sequence").await;
    assert!(diagram.contains("IdP bankid"), "{diagram}");
    assert!(diagram.contains("/connect/par"));
    let page = b.text("main").await;
    assert!(page.contains("signaturen stemmer"), "tokens verified");
    assert!(!page.contains("signaturen stemmer IKKE"));
    assert!(
        page.contains("sikkerhetsnivået for innloggingen"),
        "claims explained"
    );
    b.screenshot("flow").await;
    assert_eq!(b.low_contrast(4.5).await, Vec::<String>::new());
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flow_inspector_shows_new_flows_live() {
    let (tb, dir) = testbed().await;
    let b = Browser::open("flows-live").await;
    b.goto(&format!("{}/flows", tb.issuer)).await;
    b.wait_for_text("#live", "fortløpende").await;
    // Tokens for the demo client while the page is open: their flows appear without a reload.
    support::some_usage(&tb, dir.path()).await;
    let started = std::time::Instant::now();
    loop {
        let rows = b
            .client
            .find_all(fantoccini::Locator::Css("#flows-body tr"))
            .await
            .unwrap();
        let text = b.text("#flows-body").await;
        if rows.len() >= 2 && text.matches("system token").count() >= 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no live rows: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.screenshot("flows-live").await;
    // A live row links to its flow.
    b.click("#flows-body tr a").await;
    b.wait_for_url(|u| u.contains("/flows/")).await;
    assert!(b.text("#sequence").await.contains("/connect/token"));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_client_gets_a_system_token_step_by_step() {
    let (tb, _dir) = testbed().await;
    let b = Browser::open("demo").await;
    b.goto(&format!("{}/demo", tb.issuer)).await;
    b.click("#start-system-token").await;
    b.wait_for_url(|u| u.contains("/demo/run/")).await;
    // Each step is announced before it is done.
    assert!(b.text("#h-next").await.contains("klient-assertion"));
    for (n, expected) in [
        "client assertion",
        "DPoP proof",
        "use_dpop_nonce",
        "access token",
        "DPoP proof (API call)",
    ]
    .into_iter()
    .enumerate()
    {
        b.click("#next").await;
        b.wait_for_steps(n + 1).await;
        b.wait_for_text("#done", expected).await;
    }
    let done = b.text("#done").await;
    assert!(
        done.contains("DPoP-Nonce:"),
        "the challenge's nonce is shown"
    );
    assert!(done.contains("DPoP-bindingen"), "cnf explained");
    // The last step called the person API with the token and shows what it answered.
    assert!(
        done.contains("/persontjenesten/fhir/Person?name=a"),
        "{done}"
    );
    assert!(done.contains("HTTP 200 OK"), "{done}");
    assert!(done.contains(r#""resourceType": "Bundle""#), "{done}");
    b.wait_for_text("#finished", "Ferdig").await;
    b.screenshot("demo").await;
    assert_eq!(b.unlabelled_controls().await, Vec::<String>::new());
    assert_eq!(b.low_contrast(4.5).await, Vec::<String>::new());
    // The steps were real: the flow inspector has the token flow.
    b.goto(&format!("{}/flows", tb.issuer)).await;
    assert!(b.text("#flows-body").await.contains("system token"));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_client_logs_a_user_in_step_by_step_in_the_browser() {
    let (tb, _dir) = testbed().await;
    // A second window keeps the flow inspector open: the logins show there live.
    let inspector = Browser::open("demo-login-inspector").await;
    inspector.goto(&format!("{}/flows", tb.issuer)).await;
    inspector.wait_for_text("#live", "fortløpende").await;
    // Each login in a browser of its own: in one browser the second login would be single
    // sign-on on the STS's session, with no IdP to show.
    let first = Browser::open("demo-login-bankid").await;
    demo_login(&first, &tb.issuer, "bankid").await;
    first.close().await;
    let b = Browser::open("demo-login").await;
    demo_login(&b, &tb.issuer, "testidp").await;
    b.screenshot("demo-login").await;
    assert_eq!(b.low_contrast(4.5).await, Vec::<String>::new());
    let live = inspector.wait_for_text("#flows-body", "login").await;
    assert!(
        live.matches("login").count() >= 2,
        "both logins live: {live}"
    );
    // The newest login's diagram has the IdP it went through.
    inspector.click("#flows-body tr a").await;
    inspector.wait_for_url(|u| u.contains("/flows/")).await;
    let diagram = inspector.text("#sequence").await;
    assert!(diagram.contains("IdP testidp"), "{diagram}");
    inspector.screenshot("demo-login-flow").await;
    inspector.close().await;
    // A stray callback is refused, naming why.
    b.goto(&format!("{}/demo/callback?code=x&state=nosuch", tb.issuer))
        .await;
    assert!(b.text("[role=alert]").await.contains("Ukjent state"));
    b.close().await;
}

/// The demo's user login at `idp`, every step done and checked.
async fn demo_login(b: &Browser, issuer: &str, idp: &str) {
    b.goto(&format!("{issuer}/demo")).await;
    assert_eq!(b.unlabelled_controls().await, Vec::<String>::new());
    b.client
        .find(fantoccini::Locator::Css(&format!(
            "#idp option[value='{idp}']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.click("#start-user-login").await;
    b.wait_for_url(|u| u.contains("/demo/run/")).await;
    b.click("#next").await;
    b.wait_for_text("#done", "code_challenge_method=S256").await;
    // The browser goes to the IdP's page, and a person is chosen there.
    b.click("#to-login").await;
    // An IdP with a page (BankID) waits for the person to be chosen; TestIDP may answer at
    // once with its default person.
    let at = b
        .wait_for_url(|u| u.contains(&format!("/idp/{idp}/")) || u.contains("/demo/run/"))
        .await;
    if at.contains("/idp/") {
        b.screenshot(&format!("demo-idp-{idp}")).await;
        b.click("button[name='pid']").await;
        b.wait_for_url(|u| u.contains("/demo/run/")).await;
    }
    b.wait_for_text("#done", "koden kan løses inn").await;
    for (n, expected) in [
        "ID token",
        "Gyldig:",
        "access token (second API)",
        "access token (with the attestation)",
        "access token (exchanged)",
        "/connect/userinfo",
    ]
    .into_iter()
    .enumerate()
    {
        b.click("#next").await;
        b.wait_for_steps(n + 3).await;
        b.wait_for_text("#done", expected).await;
    }
    b.wait_for_text("#finished", "Ferdig").await;
    let done = b.text("#done").await;
    assert!(
        done.contains("klienten brukeren opprinnelig logget inn i"),
        "the exchanged token's claims explained"
    );
}
