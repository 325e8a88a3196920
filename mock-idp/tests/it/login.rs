//! Complete logins at every bundled IdP with a plain HTTP client, and the page's search,
//! language toggle, `login_hint` and TestIDP's `test_pid` automation.

use serde_json::{Value, json};

use crate::support::*;

/// What a login at one IdP with one method must yield.
struct Expect {
    idp: &'static str,
    method: Option<&'static str>,
    acr: &'static str,
    amr: Value,
    level: &'static str,
}

/// GET authorize → read the form → click the first listed person → follow the redirect →
/// redeem the code → verify the ID token against the JWKS.
async fn login_impl(e: Expect) {
    let idps = Idps::start().await;
    let login = Login::new();
    let (status, html) = idps.get(&login.authorize_url(&idps, e.idp, &[])).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(page_lang(&html), "nb");
    let form = login_form(&html);
    assert_eq!(form.action, idps.url(e.idp, "/authorize"));
    assert_eq!(form.persons.len(), 20);
    // Health personnel first, with HPR number and profession.
    let first = practitioner();
    assert_eq!(form.persons[0], first.pid.as_str());
    let hpr = first.hpr.as_ref().unwrap().hpr_number.to_string();
    assert!(html.contains(&hpr), "HPR number shown");
    assert!(
        html.contains(
            first.hpr.as_ref().unwrap().approvals[0]
                .profession
                .description
        )
    );
    if let Some(m) = e.method {
        assert!(form.methods.iter().any(|x| x == m), "{:?}", form.methods);
    }

    let resp = idps
        .post(&form.action, &form.choose(&form.persons[0], e.method))
        .await;
    assert_eq!(resp.status(), 303);
    let (base, params) = location(&resp);
    assert_eq!(base, REDIRECT_URI);
    assert_eq!(params["state"], login.state);
    assert_eq!(params["iss"], idps.issuer(e.idp));
    assert!(!params.contains_key("error"), "{params:?}");

    let (status, tokens) = idps.redeem(e.idp, &params["code"], &login.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 300);
    assert!(tokens["access_token"].as_str().unwrap().len() >= 32);

    let claims = idps
        .verify_id_token(e.idp, tokens["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["pid"], first.pid.as_str());
    assert_eq!(claims["amr"], e.amr);
    assert_eq!(claims["acr"], e.acr);
    assert_eq!(claims["security_level"], e.level);
    assert_eq!(claims["nonce"], login.nonce.as_str());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert!(claims["auth_time"].as_i64().unwrap() <= claims["iat"].as_i64().unwrap());
    assert!(!claims["sub"].as_str().unwrap().is_empty());
    assert_ne!(claims["sub"], first.pid.as_str());

    // The discovery document names the same issuer and endpoints.
    let (_, doc) = idps
        .get(&idps.url(e.idp, "/.well-known/openid-configuration"))
        .await;
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["issuer"], idps.issuer(e.idp));
    assert_eq!(doc["authorization_endpoint"], form.action);
    assert!(
        doc["acr_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(e.acr))
    );
}

#[tokio::test]
async fn testidp_level_4() {
    login_impl(Expect {
        idp: "testidp",
        method: Some("level4"),
        acr: "Level4",
        amr: json!(["testidp"]),
        level: "4",
    })
    .await;
}

#[tokio::test]
async fn testidp_level_3() {
    login_impl(Expect {
        idp: "testidp",
        method: Some("level3"),
        acr: "Level3",
        amr: json!(["testidp"]),
        level: "3",
    })
    .await;
}

#[tokio::test]
async fn idporten_minid() {
    login_impl(Expect {
        idp: "idporten",
        method: Some("minid"),
        acr: "idporten-loa-substantial",
        amr: json!(["minid"]),
        level: "3",
    })
    .await;
}

#[tokio::test]
async fn idporten_bankid() {
    login_impl(Expect {
        idp: "idporten",
        method: Some("bankid"),
        acr: "idporten-loa-high",
        amr: json!(["bankid"]),
        level: "4",
    })
    .await;
}

#[tokio::test]
async fn bankid() {
    login_impl(Expect {
        idp: "bankid",
        method: None,
        acr: "Level4",
        amr: json!(["bankid"]),
        level: "4",
    })
    .await;
}

#[tokio::test]
async fn buypass_smart_card() {
    login_impl(Expect {
        idp: "buypass",
        method: None,
        acr: "Level4",
        amr: json!(["bp:amr:sc"]),
        level: "4",
    })
    .await;
}

#[tokio::test]
async fn commfides() {
    login_impl(Expect {
        idp: "commfides",
        method: None,
        acr: "Level4",
        amr: json!(["commfides"]),
        level: "4",
    })
    .await;
}

#[tokio::test]
async fn employer_work_account_is_level_3() {
    login_impl(Expect {
        idp: "jobbkonto",
        method: None,
        acr: "Level3",
        amr: json!(["pwd"]),
        level: "3",
    })
    .await;
}

/// Logs `pid` in at `idp` by typing the number; the ID token's claims.
async fn typed_login(idps: &Idps, idp: &str, pid: &str) -> Value {
    let login = Login::new();
    let (_, html) = idps.get(&login.authorize_url(idps, idp, &[])).await;
    let form = login_form(&html);
    let resp = idps.post(&form.action, &form.typed(pid)).await;
    assert_eq!(resp.status(), 303);
    let (_, params) = location(&resp);
    let (status, tokens) = idps.redeem(idp, &params["code"], &login.verifier).await;
    assert_eq!(status, 200, "{tokens}");
    idps.verify_id_token(idp, tokens["id_token"].as_str().unwrap())
        .await
}

#[tokio::test]
async fn every_idp_has_its_own_look_issuer_and_key() {
    let idps = Idps::start().await;
    let login = Login::new();
    let mut brands = Vec::new();
    let mut kids = Vec::new();
    for idp in ALL_IDPS {
        let (status, html) = idps.get(&login.authorize_url(&idps, idp, &[])).await;
        assert_eq!(status, 200);
        let brand_at = html.find("<span class=\"brand\">").unwrap();
        brands.push(html[brand_at..brand_at + 60].to_owned());
        let (_, jwks) = idps.get(&idps.url(idp, "/jwks")).await;
        let jwks: Value = serde_json::from_str(&jwks).unwrap();
        assert_eq!(jwks["keys"][0]["alg"], "RS256");
        kids.push(jwks["keys"][0]["kid"].as_str().unwrap().to_owned());
        assert_eq!(idps.idps.jwks(idp).unwrap(), jwks);
    }
    for (i, b) in brands.iter().enumerate() {
        assert!(!brands[i + 1..].contains(b), "{b}");
        assert!(!kids[i + 1..].contains(&kids[i]));
    }
    let names: Vec<&str> = idps.idps.descriptors().map(|d| d.name).collect();
    assert_eq!(names, ALL_IDPS);
}

#[tokio::test]
async fn typed_pid_logs_in_and_sub_is_stable_per_person_and_idp() {
    let idps = Idps::start().await;
    let person = layperson();
    let pid = person.pid.as_str();
    let a = typed_login(&idps, "bankid", pid).await;
    let b = typed_login(&idps, "bankid", pid).await;
    let c = typed_login(&idps, "commfides", pid).await;
    assert_eq!(a["pid"], pid);
    assert_eq!(a["sub"], b["sub"]);
    assert_ne!(a["sub"], c["sub"]);
    // Spaces in the typed number are ignored.
    let spaced = format!("{} {}", &pid[..6], &pid[6..]);
    assert_eq!(typed_login(&idps, "bankid", &spaced).await["pid"], pid);
}

#[tokio::test]
async fn d_number_holders_log_in_with_their_d_number() {
    let idps = Idps::start().await;
    let person = population()
        .persons()
        .find(|p| p.pid_kind == synthpop::nin::NinKind::DNumber)
        .unwrap();
    let claims = typed_login(&idps, "idporten", person.pid.as_str()).await;
    assert_eq!(claims["pid"], person.pid.as_str());
}

#[tokio::test]
async fn search_by_name_and_by_number_without_javascript() {
    let idps = Idps::start().await;
    let login = Login::new();
    let (_, html) = idps
        .get(&login.authorize_url(&idps, "commfides", &[]))
        .await;
    let form = login_form(&html);
    let request_id = form
        .fields
        .iter()
        .find(|(k, _)| k == "request_id")
        .unwrap()
        .1
        .clone();
    // The search form is a GET to the same endpoint with request_id, lang and q.
    assert!(html.contains("<form id=\"search\" method=\"get\""));
    let target = population().persons().nth(1234).unwrap();
    let family = target.family_name.to_lowercase();
    let (status, page) = idps
        .get(&format!(
            "{}?request_id={request_id}&lang=nb&q={}",
            form.action,
            enc(&family)
        ))
        .await;
    assert_eq!(status, 200);
    let found = login_form(&page);
    assert!(!found.persons.is_empty());
    for pid in &found.persons {
        let p = population().by_pid(pid).unwrap();
        assert!(p.name.contains(target.family_name), "{}", p.name);
    }
    // Health personnel come first among the matches.
    let hpr: Vec<bool> = found
        .persons
        .iter()
        .map(|pid| population().by_pid(pid).unwrap().hpr.is_some())
        .collect();
    assert!(hpr.windows(2).all(|w| w[0] || !w[1]), "{hpr:?}");

    let (_, page) = idps
        .get(&format!(
            "{}?request_id={request_id}&q={}",
            form.action,
            target.pid.as_str()
        ))
        .await;
    let by_number = login_form(&page);
    assert_eq!(by_number.persons, [target.pid.as_str()]);
    assert!(page.contains(&format!("value=\"{}\"", target.pid.as_str())));

    let (_, page) = idps
        .get(&format!("{}?request_id={request_id}&q=zzzqqq", form.action))
        .await;
    assert!(login_form(&page).persons.is_empty());
    assert!(page.contains("id=\"no-results\""));

    // The person found can log in from the search result.
    let resp = idps
        .post(&form.action, &by_number.choose(&by_number.persons[0], None))
        .await;
    assert_eq!(resp.status(), 303);
    let (_, params) = location(&resp);
    let (_, tokens) = idps
        .redeem("commfides", &params["code"], &login.verifier)
        .await;
    let claims = idps
        .verify_id_token("commfides", tokens["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["pid"], target.pid.as_str());
}

#[tokio::test]
async fn english_by_ui_locales_or_toggle_kept_through_the_flow() {
    let idps = Idps::start().await;
    let login = Login::new();

    // ui_locales=en starts in English.
    let (_, html) = idps
        .get(&login.authorize_url(&idps, "idporten", &[("ui_locales", "en nb")]))
        .await;
    assert_eq!(page_lang(&html), "en");
    assert!(html.contains("Choose your electronic ID"));

    // Norwegian by default; the toggle switches to English and back.
    let (_, html) = idps.get(&login.authorize_url(&idps, "idporten", &[])).await;
    assert_eq!(page_lang(&html), "nb");
    assert!(html.contains("Velg elektronisk ID"));
    let href = toggle_href(&html);
    assert!(href.contains("lang=en"), "{href}");
    let (status, english) = idps.get(&href).await;
    assert_eq!(status, 200);
    assert_eq!(page_lang(&english), "en");
    assert!(english.contains("Choose your electronic ID"));
    let form = login_form(&english);
    assert!(form.fields.contains(&("lang".into(), "en".into())));
    // The search keeps the language.
    assert!(english.contains("name=\"lang\" value=\"en\""));

    // A refused submission answers in English too.
    let resp = idps.post(&form.action, &form.typed("12345678901")).await;
    assert_eq!(resp.status(), 400);
    let page = resp.text().await.unwrap();
    assert_eq!(page_lang(&page), "en");
    assert!(
        page.contains("is not a valid national identity number"),
        "{page}"
    );

    let (_, norwegian) = idps.get(&toggle_href(&english)).await;
    assert_eq!(page_lang(&norwegian), "nb");

    // And the login completes from the English page.
    let resp = idps
        .post(&form.action, &form.choose(&form.persons[0], Some("bankid")))
        .await;
    assert_eq!(resp.status(), 303);
}

async fn testidp_automation_impl(level: Option<&str>, acr: &str, expected_level: &str) {
    let idps = Idps::start().await;
    let login = Login::new();
    let person = practitioner();
    let mut extra = vec![("test_pid", person.pid.as_str())];
    if let Some(l) = level {
        extra.push(("test_security_level", l));
    }
    let resp = idps
        .http
        .get(login.authorize_url(&idps, "testidp", &extra))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "no page: straight back with a code");
    let (base, params) = location(&resp);
    assert_eq!(base, REDIRECT_URI);
    assert_eq!(params["state"], login.state);
    let (status, tokens) = idps
        .redeem("testidp", &params["code"], &login.verifier)
        .await;
    assert_eq!(status, 200, "{tokens}");
    let claims = idps
        .verify_id_token("testidp", tokens["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["pid"], person.pid.as_str());
    assert_eq!(claims["acr"], acr);
    assert_eq!(claims["security_level"], expected_level);
}

#[tokio::test]
async fn testidp_test_pid_defaults_to_level_4() {
    testidp_automation_impl(None, "Level4", "4").await;
}

#[tokio::test]
async fn testidp_test_pid_with_level_3() {
    testidp_automation_impl(Some("3"), "Level3", "3").await;
}

#[tokio::test]
async fn test_pid_is_only_for_testidp() {
    let idps = Idps::start().await;
    let login = Login::new();
    let pid = practitioner().pid.as_str().to_owned();
    let (status, html) = idps
        .get(&login.authorize_url(&idps, "bankid", &[("test_pid", &pid)]))
        .await;
    assert_eq!(status, 200, "other IdPs show their page");
    assert!(html.contains("<form id=\"login\""));
}

#[tokio::test]
async fn login_hint_preselects_the_person() {
    let idps = Idps::start().await;
    let login = Login::new();
    let person = layperson();
    let pid = person.pid.as_str();
    for idp in ALL_IDPS {
        let (status, html) = idps
            .get(&login.authorize_url(&idps, idp, &[("login_hint", pid)]))
            .await;
        assert_eq!(status, 200);
        let form = login_form(&html);
        assert_eq!(form.typed_pid, pid, "{idp}");
        assert_eq!(form.persons[0], pid, "{idp}: the hinted person comes first");
        assert!(html.contains("class=\"hinted\""));
    }
    // Submitting the prefilled field logs the hinted person in.
    let (_, html) = idps
        .get(&login.authorize_url(&idps, "buypass", &[("login_hint", pid)]))
        .await;
    let form = login_form(&html);
    let resp = idps.post(&form.action, &form.typed(&form.typed_pid)).await;
    let (_, params) = location(&resp);
    let (_, tokens) = idps
        .redeem("buypass", &params["code"], &login.verifier)
        .await;
    let claims = idps
        .verify_id_token("buypass", tokens["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["pid"], pid);
}

#[tokio::test]
async fn acr_values_narrow_the_methods_offered() {
    let idps = Idps::start().await;
    let login = Login::new();
    let methods = |html: &str| login_form(html).methods;
    let (_, html) = idps.get(&login.authorize_url(&idps, "idporten", &[])).await;
    assert_eq!(methods(&html), ["minid", "bankid"]);
    let (_, html) = idps
        .get(&login.authorize_url(&idps, "idporten", &[("acr_values", "Level4")]))
        .await;
    assert_eq!(methods(&html), ["bankid"]);
    let (_, html) = idps
        .get(&login.authorize_url(&idps, "idporten", &[("acr_values", "amr:minid")]))
        .await;
    assert_eq!(methods(&html), ["minid"]);
    // The employer IdP cannot do level 4; it still offers its login, and the token says 3.
    let (_, html) = idps
        .get(&login.authorize_url(&idps, "jobbkonto", &[("acr_values", "Level4")]))
        .await;
    assert_eq!(methods(&html), ["pwd"]);
    // A method the request ruled out cannot be posted.
    let (_, html) = idps
        .get(&login.authorize_url(&idps, "idporten", &[("acr_values", "Level4")]))
        .await;
    let form = login_form(&html);
    let resp = idps
        .post(&form.action, &form.choose(&form.persons[0], Some("minid")))
        .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn client_secret_basic_is_accepted() {
    let idps = Idps::start().await;
    let login = Login::new();
    let pid = practitioner().pid.as_str().to_owned();
    let resp = idps
        .http
        .get(login.authorize_url(&idps, "testidp", &[("test_pid", &pid)]))
        .send()
        .await
        .unwrap();
    let (_, params) = location(&resp);
    let resp = idps
        .http
        .post(idps.url("testidp", "/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", params["code"].as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", login.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let tokens: Value = resp.json().await.unwrap();
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn a_redirect_uri_with_a_query_keeps_it() {
    let idps = Idps::start().await;
    let login = Login::new();
    let pid = practitioner().pid.as_str().to_owned();
    let resp = idps
        .http
        .get(login.authorize_url(
            &idps,
            "testidp",
            &[
                ("test_pid", &pid),
                ("redirect_uri", "http://sts.test/other?x=1"),
            ],
        ))
        .send()
        .await
        .unwrap();
    let (base, params) = location(&resp);
    assert_eq!(base, "http://sts.test/other");
    assert_eq!(params["x"], "1");
    assert!(params.contains_key("code"));
}
