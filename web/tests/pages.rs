//! The pages over HTTP: security headers on every HTML response, CSRF and the api-key on
//! forms that change state, paging, the locale switch, and errors that say what was wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE, X_FRAME_OPTIONS};

/// A client that keeps cookies and does not follow redirects.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The CSRF token of a page (from its first form).
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[at..at + 32].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_html_response_has_a_policy_and_no_framing() {
    let (tb, _dir) = support::testbed().await;
    let base = &tb.issuer;
    let pages = [
        format!("{base}/"),
        format!("{base}/sessions"),
        format!("{base}/sessions/nosuch"),
        // The IdPs' login page and the STS's own HTML error page are covered too.
        format!(
            "{base}/idp/testidp/authorize?client_id=conformance-runner&redirect_uri=http%3A%2F%2Flocalhost%3A7890%2Fconformance%2Fcallback&response_type=code&scope=openid&state=abcdefghijklmnop&nonce=abcdefghijklmnop&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        ),
        format!("{base}/connect/authorize"),
    ];
    for url in pages {
        let r = http().get(&url).send().await.unwrap();
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/html"), "{url}: {ct}");
        let csp = r.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{url}: {csp}");
        assert!(
            !csp.contains("script-src"),
            "{url}: no scripts allowed: {csp}"
        );
        assert_eq!(r.headers()[X_FRAME_OPTIONS], "DENY", "{url}");
    }
    let own = http().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(
        own.headers()[CONTENT_SECURITY_POLICY],
        helseid_web::security::PAGE_CSP
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_pages_csrf_token() {
    let (tb, _dir) = support::testbed().await;
    let client_id = tb.sts.store.clients().unwrap()[0].client_id.clone();
    let h = http();
    let page = h
        .get(format!("{}/sessions", tb.issuer))
        .send()
        .await
        .unwrap();
    assert!(
        page.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("SameSite=Strict")
    );
    let token = csrf_of(&page.text().await.unwrap());
    // Without the token, with another one, and from a browser without the cookie: 403.
    for (client, csrf) in [
        (&h, ""),
        (&h, "0123456789ABCDEF0123456789ABCDEF"),
        (&http(), token.as_str()),
    ] {
        let r = client
            .post(format!("{}/sessions", tb.issuer))
            .form(&[("csrf", csrf), ("client_id", client_id.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("CSRF"));
    }
    assert_eq!(
        tb.sessions.list(10, 0).unwrap().1,
        0,
        "no session was started"
    );
    // With it: a session, and a redirect to its page.
    let r = h
        .post(format!("{}/sessions", tb.issuer))
        .form(&[("csrf", token.as_str()), ("client_id", client_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let (docs, total) = tb.sessions.list(10, 0).unwrap();
    assert_eq!(total, 1);
    assert_eq!(location, format!("/sessions/{}", docs[0].id));
    // An unknown client and an unknown fault are named, with 400.
    let r = h
        .post(format!("{}/sessions", tb.issuer))
        .form(&[("csrf", token.as_str()), ("client_id", "nosuch")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("nosuch"));
    let r = h
        .post(format!("{}{location}/fault", tb.issuer))
        .form(&[("csrf", token.as_str()), ("fault", "nosuch")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Results before the end: 404 saying why.
    let r = h
        .get(format!("{}{location}/results", tb.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("avslutt den først"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_loopback_admin_forms_need_the_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let tb = conformance::embedded::Embedded::start_serving(
        0,
        Some(dir.path()),
        |sts, sessions, app| {
            let web = helseid_web::Web::new(
                sts,
                sessions,
                helseid_web::WebSettings {
                    public: true,
                    demo_config: None,
                    demo_login_config: None,
                },
            );
            helseid_web::app(web, app)
        },
    )
    .await
    .unwrap();
    let client_id = tb.sts.store.clients().unwrap()[0].client_id.clone();
    let h = http();
    let html = h
        .get(format!("{}/sessions", tb.issuer))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("name=\"api_key\""),
        "the form asks for the key"
    );
    let token = csrf_of(&html);
    let post = |key: &'static str| {
        h.post(format!("{}/sessions", tb.issuer))
            .form(&[
                ("csrf", token.clone()),
                ("client_id", client_id.clone()),
                ("api_key", key.to_owned()),
            ])
            .send()
    };
    assert_eq!(
        post("wrong").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let key: &'static str = Box::leak(tb.sts.config.api_key.clone().into_boxed_str());
    assert_eq!(post(key).await.unwrap().status(), StatusCode::SEE_OTHER);
    // No private key is handed out beyond loopback.
    let r = h
        .get(format!("{}/downloads/demo-client.json", tb.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_paged() {
    let (tb, _dir) = support::testbed().await;
    let total = tb.sts.store.clients().unwrap().len();
    assert!(total >= 2, "{total}");
    let html = http()
        .get(format!("{}/?climit=1&coffset=1", tb.issuer))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("2–2 av {total}")),
        "the pager says where it is"
    );
    assert!(html.contains("coffset=0&#38;climit=1"), "a link back");
    // Sessions: 3 started, 2 shown per page.
    let id = tb.sts.store.clients().unwrap()[0].client_id.clone();
    for _ in 0..3 {
        tb.sessions
            .start(&conformance::session::StartRequest {
                client_id: id.clone(),
                orgnr: None,
            })
            .await
            .unwrap();
    }
    let html = http()
        .get(format!("{}/sessions?limit=2", tb.issuer))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("href=\"/sessions/").count(), 2);
    assert!(html.contains("1–2 av 3"));
    let api: serde_json::Value =
        reqwest::get(format!("{}/testbed/sessions?limit=2&offset=2", tb.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(api["total"], 3);
    assert_eq!(api["sessions"].as_array().unwrap().len(), 1);
    // English on request.
    let en = http()
        .get(format!("{}/sessions?lang=en", tb.issuer))
        .send()
        .await
        .unwrap();
    assert!(
        en.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("tb_lang=en")
    );
    assert!(en.text().await.unwrap().contains("<html lang=\"en\">"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_audit_and_metrics_count_the_same_tokens_and_errors() {
    let (tb, dir) = support::testbed().await;
    let client_id = support::some_usage(&tb, dir.path()).await;
    let issuer = tb.issuer.clone();
    let get = |path: String| {
        let url = format!("{issuer}{path}");
        async move {
            let r = reqwest::get(&url).await.unwrap();
            assert_eq!(r.status(), 200, "{url}");
            r.text().await.unwrap()
        }
    };

    let metrics = get("/metrics".into()).await;
    let issued = metrics
        .lines()
        .find(|l| {
            l.starts_with("helseid_testbed_tokens_issued_total")
                && l.contains(&format!("client_id=\"{client_id}\""))
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(issued.ends_with(" 2"), "{issued}");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("helseid_testbed_errors_total")
                && l.contains("client_id=\"nosuch-client\"")),
        "{metrics}"
    );

    let usage = get("/usage?range=hour".into()).await;
    assert!(
        usage.contains("<span id=\"token-total\">2</span>"),
        "{usage}"
    );
    // Errors by kind: the refused client, and the DPoP nonce challenges (RFC 9449 §8) each
    // token request met first.
    assert!(
        usage.contains("<span id=\"error-total\">3</span>"),
        "{usage}"
    );
    assert!(usage.contains("<code>use_dpop_nonce</code>"));
    assert!(usage.contains("<code>nosuch-client</code>"));
    assert!(usage.contains("<rect"), "the chart has bars");
    let only_other = get("/usage?client=nosuch-client".into()).await;
    assert!(only_other.contains("<span id=\"token-total\">0</span>"));

    let audit = get("/audit?event=error".into()).await;
    assert!(audit.contains("nosuch-client"));
    assert!(
        !audit.contains("<td>token_issued</td>"),
        "filtered to errors"
    );
    assert!(audit.contains("<td>error</td>"));
    let csv = get(format!("/audit.csv?client={client_id}&event=token_issued")).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,time,event,client_id,detail");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].contains("token_issued"));
    let json: serde_json::Value =
        serde_json::from_str(&get("/audit.json?q=invalid_client".into()).await).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1, "{json:#}");
    assert_eq!(json[0]["event"], "error");
}
