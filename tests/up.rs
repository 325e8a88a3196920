//! `helseid-testbed up` and the commands around it, run as processes the way users run them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use helseid_reference::client::{Client, TokenRequest};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_helseid-testbed");

/// A running `up`, killed when dropped.
struct Up {
    child: Child,
    issuer: String,
    stdout: Vec<String>,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn up(dir: &Path, extra: &[&str]) -> Up {
    up_with(dir, extra, &[])
}

fn up_with(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Up {
    let mut child = Command::new(BIN)
        .envs(env.iter().copied())
        .args(["up", "--data-dir"])
        .arg(dir)
        .args(if extra.contains(&"--port") {
            &[][..]
        } else {
            &["--port", "0"][..]
        })
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a first line").unwrap();
    let issuer = first
        .strip_prefix("issuer: ")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_owned();
    let mut rest = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("data directory:");
        rest.push(line);
        if done {
            break;
        }
    }
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Up {
        child,
        issuer,
        stdout: rest,
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn get(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

fn load_client(path: &Path, issuer: &str) -> Client {
    let file = protocol::client_config::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    Client::from_config(&file, Some(issuer)).unwrap()
}

#[tokio::test]
async fn a_newcomer_gets_a_token_with_the_demo_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = up(dir.path(), &[]);
    assert!(
        server.issuer.starts_with("http://127.0.0.1:"),
        "{}",
        server.issuer
    );
    let doc = get(&format!(
        "{}/.well-known/openid-configuration",
        server.issuer
    ))
    .await;
    assert_eq!(doc["issuer"], server.issuer);
    let demo = dir.path().join("demo-client.json");
    assert!(
        server.stdout.iter().any(|l| l.contains("demo-client.json")),
        "{:?}",
        server.stdout
    );
    assert!(
        server.stdout.iter().any(|l| l.starts_with("api key")),
        "{:?}",
        server.stdout
    );

    let o = run(&[
        "token",
        "--client",
        demo.to_str().unwrap(),
        "--scope",
        "nhn:testbed-api/read",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["requests"], 2);
    assert_eq!(shown["token_response"]["token_type"], "DPoP");
    assert_eq!(shown["access_token_claims"]["aud"], "nhn:testbed-api");

    // A client registered from the command line while the server runs works at once.
    let out = dir.path().join("new.json");
    let o = run(&[
        "client",
        "create",
        "--name",
        "CLI client",
        "--scope",
        "nhn:testbed-api/write",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(file["authority"], server.issuer);
    assert!(
        file["privateJwk"].is_string(),
        "privateJwk is a JSON string, as the portal writes it"
    );
    let o = run(&["token", "--client", out.to_str().unwrap(), "--raw"]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    // A key rotated from the command line is served by the running server.
    let o = run(&["keys", "rotate", "--data-dir", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let kid = text(&o.stdout)
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    let jwks = get(&format!(
        "{}/.well-known/openid-configuration/jwks",
        server.issuer
    ))
    .await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2, "old and new key during the overlap");
    assert_eq!(kids[1], kid);
}

#[test]
fn login_shows_a_whole_user_login() {
    let dir = tempfile::tempdir().unwrap();
    let server = up(dir.path(), &[]);
    let client = dir.path().join("demo-login-client.json");
    for idp in ["testidp", "bankid"] {
        let o = run(&["login", "--client", client.to_str().unwrap(), "--idp", idp]);
        assert!(o.status.success(), "{idp}: {}", text(&o.stderr));
        let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(shown["access_token_claims"]["iss"], server.issuer);
        assert_eq!(
            shown["access_token_claims"]["helseid://claims/identity/security_level"],
            "4"
        );
        assert_eq!(
            shown["id_token_claims"]["aud"],
            shown["access_token_claims"]["client_id"]
        );
        assert!(
            shown["userinfo"]["helseid://claims/hpr/hpr_details"].is_object(),
            "{}",
            shown["userinfo"]
        );
    }
    let o = run(&[
        "login",
        "--client",
        client.to_str().unwrap(),
        "--level",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("invalid value '5' for '--level"),
        "{}",
        text(&o.stderr)
    );
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_when_killed() {
    let dir = tempfile::tempdir().unwrap();
    // The same port before and after, so the issuer (and the token's iss) stay the same.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut server = up(dir.path(), &["--port", &port]);
    let client = load_client(&dir.path().join("demo-client.json"), &server.issuer);
    let token = client
        .token(&TokenRequest::default())
        .await
        .unwrap()
        .response
        .access_token;
    let revocation = format!("{}/connect/revocation", server.issuer);
    let form = [
        ("client_id", client.client_id.clone()),
        (
            "client_assertion_type",
            protocol::client_assertion::ASSERTION_TYPE.to_owned(),
        ),
        ("client_assertion", client.assertion(None).unwrap()),
        ("token", token.clone()),
    ];
    let resp = client
        .http()
        .post(&revocation)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // SIGKILL right after the acknowledgement.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = up(dir.path(), &["--port", &port]);
    let introspect = format!("{}/connect/introspect", server.issuer);
    // A new connection: the old one died with the server.
    let http = reqwest::Client::new();
    let form = [
        ("client_id", client.client_id.clone()),
        (
            "client_assertion_type",
            protocol::client_assertion::ASSERTION_TYPE.to_owned(),
        ),
        ("client_assertion", client.assertion(None).unwrap()),
        ("token", token.clone()),
    ];
    let resp: Value = http
        .post(&introspect)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        resp,
        json!({ "active": false }),
        "the revocation survived kill -9"
    );
    let claims: Value = serde_json::from_slice(
        &protocol::jose::b64_decode(token.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    let store = mock_sts::store::Store::open(dir.path()).unwrap();
    assert!(store.is_revoked(claims["jti"].as_str().unwrap()).unwrap());
    let log = store.audit_log(10).unwrap();
    assert!(log.iter().any(|e| e.event == "token_revoked"), "{log:?}");
    assert!(log.iter().any(|e| e.event == "token_issued"), "{log:?}");
}

#[test]
fn sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = up(dir.path(), &[]);
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut err = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("stopped"), "{err}");
}

#[test]
fn other_addresses_only_when_asked_and_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = up(dir.path(), &["--bind", "0.0.0.0"]);
    assert!(
        server.issuer.starts_with("http://0.0.0.0:"),
        "{}",
        server.issuer
    );
    server.child.kill().unwrap();
    let mut err = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("warning") && err.contains("not secret"),
        "{err}"
    );
}

#[tokio::test]
async fn a_portal_client_file_given_as_config_is_registered() {
    let dir = tempfile::tempdir().unwrap();
    // A client file as the portal writes it, without testbed extensions.
    let key = protocol::signing::SigningKey::generate_rsa(
        2048,
        protocol::jose::Alg::RS512,
        "ABCDEF".into(),
    )
    .unwrap();
    let file = json!({
        "clientName": "Portal client",
        "authority": "https://helseid-sts.test.nhn.no",
        "clientId": "fcffea32-8f2d-4efc-a25a-b668a788d4f1",
        "grantTypes": ["client_credentials"],
        "scopes": ["nhn:test-public-samplecode/client-credentials"],
        "secretType": "private_key_jwt:RsaPrivateKeyJwtSecret",
        "rsaKeySizeBits": 2048,
        "privateJwk": key.to_private_jwk().unwrap().to_string(),
    });
    let path = dir.path().join("portal.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let server = up(
        &dir.path().join("state"),
        &["--config", path.to_str().unwrap()],
    );
    assert!(
        server
            .stdout
            .iter()
            .any(|l| l.contains("fcffea32-8f2d-4efc-a25a-b668a788d4f1")),
        "{:?}",
        server.stdout
    );
    let client = load_client(&path, &server.issuer);
    let t = client
        .token(&TokenRequest::default())
        .await
        .unwrap()
        .response;
    assert_eq!(t.scope, "nhn:test-public-samplecode/client-credentials");
}

#[test]
fn bad_configuration_is_named_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "seed: many\n").unwrap();
    let o = run(&[
        "up",
        "--port",
        "0",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--config",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("bad.yaml"), "{}", text(&o.stderr));
    let o = run(&["up", "--port", "0", "--selvbetjening-delay", "601"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--selvbetjening-delay"),
        "{}",
        text(&o.stderr)
    );
    for limit in ["--audit-max-rows", "--audit-max-days", "--max-connections"] {
        let o = run(&["up", "--port", "0", limit, "0"]);
        assert_eq!(o.status.code(), Some(2), "{limit} 0");
        assert!(text(&o.stderr).contains(limit), "{}", text(&o.stderr));
    }
    let o = run(&["up", "--port", "0", "--issuer", "ftp://x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("ftp://x"));
    let o = run(&[
        "keys",
        "rotate",
        "--data-dir",
        dir.path().join("nothing").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("has no testbed state"),
        "{}",
        text(&o.stderr)
    );
    let o = run(&[
        "token",
        "--client",
        dir.path().join("missing.json").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("missing.json"));
}

#[test]
fn a_session_from_the_command_line_judges_the_demo_client() {
    let dir = tempfile::tempdir().unwrap();
    let tb = up(dir.path(), &[]);
    let data = dir.path().to_str().unwrap();
    let listed = run(&["session", "list", "--data-dir", data]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(text(&listed.stdout).contains("0 of 0 session(s)"));
    let demo: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("demo-client.json")).unwrap(),
    )
    .unwrap();
    let client_id = demo["clientId"].as_str().unwrap();
    let started = run(&[
        "session",
        "start",
        "--client-id",
        client_id,
        "--data-dir",
        data,
    ]);
    assert!(started.status.success(), "{}", text(&started.stderr));
    let out = text(&started.stdout);
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .to_owned()
    };
    let (id, authority) = (field("session"), field("authority"));
    assert_eq!(authority, format!("{}/s/{id}", tb.issuer));
    // The demo client with only its issuer changed.
    let token = run(&[
        "token",
        "--client",
        dir.path().join("demo-client.json").to_str().unwrap(),
        "--issuer",
        &authority,
        "--raw",
    ]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    let report = dir.path().join("session.json");
    let ended = run(&[
        "session",
        "end",
        &id,
        "--data-dir",
        data,
        "--json",
        report.to_str().unwrap(),
    ]);
    assert!(
        ended.status.success(),
        "{}{}",
        text(&ended.stdout),
        text(&ended.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["passed"], true);
    assert!(text(&ended.stdout).contains("CLIENT-AUTH-01"));

    // A session where nothing happened does not pass; bad names are named, exit 2.
    let empty = run(&[
        "session",
        "start",
        "--client-id",
        client_id,
        "--data-dir",
        data,
    ]);
    let empty_id = text(&empty.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("session: ").map(str::to_owned))
        .unwrap();
    let ended = run(&["session", "end", &empty_id, "--data-dir", data]);
    assert_eq!(ended.status.code(), Some(1), "{}", text(&ended.stdout));
    let nosuch = run(&["session", "end", "nosuch", "--data-dir", data]);
    assert_eq!(nosuch.status.code(), Some(2));
    assert!(
        text(&nosuch.stderr).contains("no session \"nosuch\""),
        "{}",
        text(&nosuch.stderr)
    );
    let unknown = run(&[
        "session",
        "start",
        "--client-id",
        "nosuch",
        "--data-dir",
        data,
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("no client \"nosuch\""));
    let fault = run(&[
        "session",
        "fault",
        &empty_id,
        "wrong-iss",
        "--data-dir",
        data,
    ]);
    assert_eq!(
        fault.status.code(),
        Some(2),
        "an ended session takes no fault"
    );
    assert!(
        text(&fault.stderr).contains("has ended"),
        "{}",
        text(&fault.stderr)
    );
}

/// A `FROM scratch` image has no CA certificates; `up` needs none (its back channel to the
/// IdPs is plain HTTP), so it must start and serve logins without them.
#[tokio::test]
async fn up_runs_without_any_ca_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let mut tb = up_with(
        dir.path(),
        &[],
        &[
            ("SSL_CERT_FILE", "/dev/null"),
            ("SSL_CERT_DIR", "/nonexistent"),
        ],
    );
    let doc = get(&format!("{}/.well-known/openid-configuration", tb.issuer)).await;
    assert_eq!(doc["issuer"], tb.issuer);
    // A login goes through the STS's back channel to an IdP.
    let o = run(&[
        "login",
        "--client",
        dir.path().join("demo-login-client.json").to_str().unwrap(),
        "--issuer",
        &tb.issuer,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        tb.child.try_wait().unwrap().is_none(),
        "up stopped without certificates"
    );
}

#[tokio::test]
async fn the_helseid_samples_profile_registers_the_samples_clients_once() {
    let dir = tempfile::tempdir().unwrap();
    let clients = [
        "helseid-sample-client-credentials-for-multitenant-app",
        "helseid-sample-client-credentials-with-underenhet",
        "helseid-sample-api-access",
        "helseid-sample-api-access-for-multitenant-app",
        "helseid-sample-token-exchange-subject-client",
        "helseid-sample-token-exchange-actor-client",
        "helseid-sample-request-objects-console",
        "helseid-sample-resource-indicators",
        "helseid-sample-client-authentication",
    ];
    {
        let u = up(dir.path(), &["--profile", "helseid-samples"]);
        let out = u.stdout.join("\n");
        assert!(out.contains("profile helseid-samples: 13 clients"), "{out}");
        assert!(out.contains("(13 new, 0 updated, 0 unchanged)"), "{out}");
        for id in clients {
            assert!(out.contains(&format!("sample client: {id}")), "{id}: {out}");
        }
        // The environment lists the samples' APIs and organisations beside the default ones.
        let env = get(&format!("{}/testbed/environment?limit=1000", u.issuer)).await;
        let text = env.to_string();
        for expected in [
            "nhn:test-public-samplecode-for-token-exchange",
            "nhn:test-public-sample-api-2",
            "Hansens legekontor AS",
            "Granfjelldal kommune legekontor",
            "nhn:testbed-api",
        ] {
            assert!(text.contains(expected), "{expected} not in the environment");
        }
    }
    // Again on the same data directory: nothing is added twice, nothing fails.
    {
        let u = up(dir.path(), &["--profile", "helseid-samples"]);
        let out = u.stdout.join("\n");
        assert!(out.contains("(0 new, 0 updated, 13 unchanged)"), "{out}");
    }
    // Without the profile the default start says nothing of it.
    {
        let u = up(dir.path(), &[]);
        assert!(!u.stdout.join("\n").contains("profile helseid-samples"));
    }
    let o = run(&[
        "up",
        "--port",
        "0",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--profile",
        "nonsense",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("invalid value 'nonsense' for '--profile"),
        "{err}"
    );
    assert!(
        err.contains("default") && err.contains("helseid-samples"),
        "the profiles are listed: {err}"
    );
}
