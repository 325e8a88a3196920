//! Bad input of any shape gets an RFC 6749 JSON error with a 4xx, never a 5xx or a panic.

use serde_json::Value;

use crate::support::*;

async fn raw(tb: &Testbed, path: &str, content_type: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = tb.http.post(tb.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

const FORM: &str = "application/x-www-form-urlencoded";

/// Path, content type, body, expected status, text the description must contain.
type Case = (
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    u16,
    &'static str,
);

#[tokio::test]
async fn malformed_requests_are_4xx_json_errors() {
    let tb = Testbed::start().await;
    let cases: Vec<Case> = vec![
        ("/connect/token", Some("application/json"), b"{\"grant_type\":\"client_credentials\"}".to_vec(), 400, "must be application/x-www-form-urlencoded"),
        ("/connect/token", None, b"grant_type=client_credentials".to_vec(), 400, "(none)"),
        ("/connect/token", Some(FORM), b"".to_vec(), 400, "grant_type is missing"),
        ("/connect/token", Some(FORM), b"grant_type=client_credentials&grant_type=x".to_vec(), 400, "grant_type is repeated"),
        ("/connect/token", Some(FORM), b"grant_type=%zz".to_vec(), 400, "%-escape"),
        ("/connect/token", Some(FORM), vec![0xff, 0xfe, b'='], 400, "not UTF-8"),
        ("/connect/token", Some(FORM), b"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=%%%".to_vec(), 400, "%-escape"),
        ("/connect/token", Some(FORM), b"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c".to_vec(), 400, "not base64url"),
        ("/connect/token", Some(FORM), b"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=e30.e30.e30".to_vec(), 400, "lacks the sub"),
        ("/connect/token", Some(FORM), b"grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=onlyonepart".to_vec(), 400, "found 1"),
        ("/connect/revocation", Some("text/plain"), b"token=x".to_vec(), 400, "x-www-form-urlencoded"),
        ("/connect/introspect", Some(FORM), b"token=x".to_vec(), 400, "client_assertion_type is missing"),
        ("/no/such/endpoint", Some(FORM), b"".to_vec(), 404, "no endpoint at /no/such/endpoint"),
    ];
    for (path, ct, body, status, needle) in cases {
        let (s, json) = raw(&tb, path, ct, body.clone()).await;
        assert_eq!(
            s,
            status,
            "{path} {:?}: {json}",
            String::from_utf8_lossy(&body)
        );
        let description = json["error_description"].as_str().unwrap_or_default();
        assert!(json["error"].is_string(), "{json}");
        assert!(
            description.contains(needle),
            "{needle:?} not in {description:?}"
        );
    }
}

#[tokio::test]
async fn huge_bodies_are_refused_with_413() {
    let tb = Testbed::start().await;
    let body = format!("grant_type=client_credentials&x={}", "a".repeat(300 * 1024)).into_bytes();
    let (status, json) = raw(&tb, "/connect/token", Some(FORM), body).await;
    assert_eq!(status, 413, "{json}");
    let body = format!("grant_type=client_credentials&x={}", "a".repeat(100 * 1024)).into_bytes();
    let (status, json) = raw(&tb, "/connect/token", Some(FORM), body).await;
    assert_eq!(status, 413, "{json}");
    assert!(
        json["error_description"]
            .as_str()
            .unwrap()
            .contains("at most"),
        "{json}"
    );
}

#[tokio::test]
async fn garbage_never_causes_a_server_error() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    // Assertions and proofs of many broken shapes.
    let samples = [
        "",
        ".",
        "..",
        "...",
        "a.b.c",
        "e30.e30.",
        "eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
        "eyJhbGciOiJSUzI1NiJ9.W10.AAAA",
        "eyJhbGciOiJFUzUxMiIsInR5cCI6ImRwb3Arand0IiwiandrIjp7Imt0eSI6IkVDIn19.e30.AAAA",
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjpbXX0.e30.AA",
    ];
    for s in samples {
        let form = cc_form(&demo.id, s.to_owned(), &[]);
        let (status, _, body) = tb.post_token(&form, Some(s.to_owned())).await;
        assert!((400..500).contains(&status), "{s:?} → {status} {body}");
        let form = cc_form(
            &demo.id,
            tb.assertion_with(&demo, serde_json::Map::new(), serde_json::json!({})),
            &[],
        );
        let (status, _, body) = tb.post_token(&form, Some(s.to_owned())).await;
        assert!(
            (400..500).contains(&status),
            "proof {s:?} → {status} {body}"
        );
    }
}

#[tokio::test]
async fn wrong_methods_are_refused() {
    let tb = Testbed::start().await;
    let resp = tb.http.get(tb.token_endpoint()).send().await.unwrap();
    assert_eq!(resp.status(), 405);
}
