//! The `helseid-testbed` command line, run as a user would run it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn testbed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 errors")
}

fn assert_refused(o: &Output, needle: &str) {
    assert!(!o.status.success(), "expected a failure, got success");
    let err = stderr(o);
    assert!(
        err.contains(needle),
        "stderr {err:?} does not mention {needle:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.stdout.is_empty() || !stdout(o).contains("panicked"));
}

#[test]
fn generate_jsonl_is_deterministic() {
    let a = testbed(&["synthpop", "generate", "--count", "5"]);
    assert!(a.status.success(), "{}", stderr(&a));
    let text = stdout(&a);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let pid = v["pid"].as_str().unwrap();
        assert!(synthpop::nin::validate(pid).is_ok(), "{pid}");
        assert_eq!(
            v["name"].as_str().unwrap().to_uppercase(),
            v["name"].as_str().unwrap()
        );
    }
    let b = testbed(&["synthpop", "generate", "--count", "5"]);
    assert_eq!(a.stdout, b.stdout, "same seed, same bytes");
    let c = testbed(&["synthpop", "generate", "--count", "5", "--seed", "2"]);
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn generate_csv_and_json() {
    let o = testbed(&["synthpop", "generate", "--count", "40", "--format", "csv"]);
    assert!(o.status.success());
    let mut reader = csv::Reader::from_reader(o.stdout.as_slice());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[1], "pid");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 40);
    assert!(rows.iter().all(|r| r.len() == headers.len()));

    let o = testbed(&["synthpop", "generate", "--count", "40", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 40);

    // The same population's practitioners and organisations.
    let o = testbed(&[
        "synthpop",
        "generate",
        "--count",
        "40",
        "--format",
        "json",
        "--kind",
        "practitioner",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let practitioners = v.as_array().unwrap();
    assert!(!practitioners.is_empty(), "block 0 holds a GP");
    assert!(practitioners[0]["hpr_details"]["approvals"][0]["profession"].is_string());

    let o = testbed(&[
        "synthpop",
        "generate",
        "--count",
        "40",
        "--kind",
        "organisation",
    ]);
    let orgs: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(orgs.len() >= 10);
    for org in &orgs {
        assert!(synthpop::orgnr::validate(org["orgnr"].as_str().unwrap()).is_ok());
    }
    let o = testbed(&[
        "synthpop",
        "generate",
        "--count",
        "40",
        "--kind",
        "practitioner",
        "--format",
        "csv",
    ]);
    assert!(stdout(&o).starts_with("hpr_number,pid,"));
}

#[test]
fn generate_to_a_file_appears_only_complete() {
    let dir = std::env::temp_dir().join(format!("synthpop-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("persons.jsonl");
    let o = testbed(&[
        "synthpop",
        "generate",
        "--count",
        "100",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 100);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "persons.jsonl")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A directory and a path below a file cannot be written.
    let o = testbed(&[
        "synthpop",
        "generate",
        "--count",
        "5",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_refused(&o, "cannot write");
    let below_file = out.join("x.jsonl");
    let o = testbed(&[
        "synthpop",
        "generate",
        "--count",
        "5",
        "--out",
        below_file.to_str().unwrap(),
    ]);
    assert_refused(&o, "cannot write");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_counts_are_refused_with_a_reason() {
    for count in ["0", "-5", "abc", "2000001", "99999999999999999999999", ""] {
        let o = testbed(&["synthpop", "generate", "--count", count]);
        assert_refused(&o, "count must be a whole number from 1 to 2000000");
    }
    let o = testbed(&["synthpop", "generate"]);
    assert_refused(&o, "--count");
    let o = testbed(&["synthpop", "generate", "--count", "5", "--format", "xml"]);
    assert_refused(&o, "xml");
}

#[test]
fn validate_reports_each_number() {
    let o = testbed(&[
        "synthpop",
        "validate",
        "15038512363",
        "15838512329",
        "988077917",
    ]);
    assert!(o.status.success(), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("15038512363  valid    fødselsnummer, born 1985-03-15"),
        "{out}"
    );
    assert!(out.contains("Test-Norge"), "{out}");
    assert!(out.contains("organisation number"), "{out}");

    let o = testbed(&[
        "synthpop",
        "validate",
        "15038512363",
        "1503851236",
        "15038512364",
        "abc",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("1503851236  invalid  11 digits expected, got 10"),
        "{out}"
    );
    assert!(
        out.contains("15038512364  invalid  check digit 2 is 4, expected 3"),
        "{out}"
    );
    assert!(
        out.contains("abc  invalid  11 digits expected, got 3"),
        "{out}"
    );

    let o = testbed(&["synthpop", "validate", "--json", "15438512346", "988077918"]);
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["facts"]["kind"], "h-number");
    assert_eq!(lines[0]["facts"]["alternative"]["world"], "nav-dolly");
    assert_eq!(lines[1]["valid"], false);
    assert_eq!(lines[1]["reason"], "check digit is 8, expected 7");
}

#[test]
fn show_prints_a_person_with_relations_gp_and_hpr() {
    let o = testbed(&["synthpop", "generate", "--count", "8"]);
    let first: serde_json::Value =
        serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    let pid = first["pid"].as_str().unwrap();
    let o = testbed(&["synthpop", "show", pid, "--count", "8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with(first["name"].as_str().unwrap()), "{out}");
    for needle in [
        "pid",
        "born",
        "fastlege",
        "hpr number",
        "approval",
        "gp list",
        "tags",
    ] {
        assert!(out.contains(needle), "{needle} missing in {out}");
    }
    // By HPR number, and as JSON.
    let hpr = first["hpr"]["hpr_number"].as_u64().unwrap().to_string();
    let o = testbed(&["synthpop", "show", &hpr, "--count", "8", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pid"], first["pid"]);

    let o = testbed(&["synthpop", "show", "15038512363"]);
    assert_eq!(o.status.code(), Some(1));
    assert_refused(&o, "nobody with number 15038512363");
    let o = testbed(&["synthpop", "show", "15038512364"]);
    assert_refused(&o, "check digit 2 is 4, expected 3");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
        .args(["synthpop", "generate", "--count", "200000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with('{'));
    drop(reader);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

/// Free ports on 127.0.0.1 standing in for the fixed ones the README and the bundled
/// scenarios name, so the examples run beside anything else on the machine.
struct Ports(Vec<(u16, u16)>);

impl Ports {
    fn new(fixed: &[u16]) -> Ports {
        // All bound at once, so they differ; released before use.
        let listeners: Vec<std::net::TcpListener> = fixed
            .iter()
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        Ports(
            fixed
                .iter()
                .zip(&listeners)
                .map(|(f, l)| (*f, l.local_addr().unwrap().port()))
                .collect(),
        )
    }

    /// `text` with every fixed port, in a URL or as `port:`, moved.
    fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (fixed, free) in &self.0 {
            out = out
                .replace(&format!("127.0.0.1:{fixed}"), &format!("127.0.0.1:{free}"))
                .replace(&format!("port: {fixed}"), &format!("port: {free}"));
        }
        out
    }

    /// One argument: a fixed port alone (`--sts-port 8099`) or in a URL, moved.
    fn arg(&self, arg: &str) -> String {
        match self.0.iter().find(|(fixed, _)| arg == fixed.to_string()) {
            Some((_, free)) => free.to_string(),
            None => self.text(arg),
        }
    }
}

/// `arg` with a `*` in its file name expanded in `dir`, as the shell would (sorted); other
/// arguments as they are.
fn glob(dir: &std::path::Path, arg: &str) -> Vec<String> {
    let Some((prefix, suffix)) = arg.split_once('*') else {
        return vec![arg.to_owned()];
    };
    let (folder, start) = prefix.rsplit_once('/').unwrap_or((".", prefix));
    let mut found: Vec<String> = std::fs::read_dir(dir.join(folder))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(start) && n.ends_with(suffix))
        .map(|n| format!("{folder}/{n}"))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "{arg} matches nothing");
    found
}

/// Starts a server command in the background and waits for its first line, which must start
/// with `ready`.
fn background(dir: &std::path::Path, args: &[String], ready: &str) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with(ready), "{args:?}: {first}");
    std::thread::spawn(move || for _ in lines {});
    child
}

/// The README's examples keep working. `up` lines and lines ending in `&` are started in the
/// background and stopped at the end; the others must succeed against them. Every port they
/// and the bundled scenarios (copied) name is moved to a free one; nothing else changes. The
/// conformance commands against the reader's own client or IdP (`./my-client`,
/// `my-idp.yaml`) can only be parsed.
#[test]
fn readme_examples_run() {
    let readme = include_str!("../README.md").replace("\\\n", " ");
    let examples: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.trim().strip_prefix("helseid-testbed "))
        .map(|l| l.split(" #").next().unwrap_or(l).trim())
        .collect();
    assert!(examples.len() >= 5, "{examples:?}");
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let ports = Ports::new(&[8099, 9000, 9001, 9002, 9003, 9004, 9005]);
    let scenarios = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    for entry in std::fs::read_dir(scenarios).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            dir.join("scenarios").join(path.file_name().unwrap()),
            ports.text(&text),
        )
        .unwrap();
    }
    let mut conformance_runs = 0;
    let mut servers = Vec::new();
    // The last session started (id, authority).
    let mut session = (String::new(), String::new());
    for example in examples {
        let in_background = example.ends_with('&');
        let example = example.trim_end_matches('&').trim();
        let mut args: Vec<String> = example
            .split_whitespace()
            .flat_map(|a| glob(dir, &ports.arg(a)))
            .collect();
        if args[0] == "up" {
            if let Some(i) = args.iter().position(|a| a == "--port") {
                args[i + 1] = "0".into();
            } else {
                args.extend(["--port".into(), "0".into()]);
            }
            servers.push(background(dir, &args, "issuer: http://127.0.0.1:"));
            continue;
        }
        if in_background {
            servers.push(background(dir, &args, "listening: http://127.0.0.1:"));
            continue;
        }
        // A session example names the client and the session: the demo client `up` seeded
        // and the session the example before started.
        for a in args.iter_mut() {
            if a == "<CLIENT_ID>" {
                let demo = std::fs::read_to_string(dir.join(".testbed/demo-client.json")).unwrap();
                let demo: serde_json::Value = serde_json::from_str(&demo).unwrap();
                *a = demo["clientId"].as_str().unwrap().to_owned();
            } else if a == "<id>" {
                *a = session.0.clone();
            }
        }
        let o = Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
            .args(&args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        if args[0] == "conformance" && matches!(args[1].as_str(), "run" | "api" | "client") {
            // The api suites run against the reference APIs started above and must pass;
            // a command naming the reader's own files or programs can only parse.
            let own = args
                .iter()
                .any(|a| a.starts_with("./my-") || a.starts_with("my-"));
            if own {
                assert!(!stderr(&o).contains("Usage:"), "{example}: {}", stderr(&o));
                assert!(!stderr(&o).contains("panicked"), "{example}");
            } else {
                assert!(
                    o.status.success(),
                    "{example}: {}{}",
                    stdout(&o),
                    stderr(&o)
                );
                assert!(stdout(&o).contains("CONFORMANT"), "{example}");
                conformance_runs += 1;
            }
            continue;
        }
        if args[0] == "session" && args[1] == "start" {
            // The application: the demo client, with the session's authority as its issuer.
            let out = stdout(&o);
            let field = |name: &str| {
                out.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .unwrap_or_else(|| panic!("{example}: no {name} in {out}"))
                    .to_owned()
            };
            session = (field("session: "), field("authority: "));
            let used = Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
                .args([
                    "token",
                    "--client",
                    ".testbed/demo-client.json",
                    "--issuer",
                    &session.1,
                ])
                .current_dir(dir)
                .output()
                .unwrap();
            assert!(used.status.success(), "{}", stderr(&used));
        }
        let expect_ok = !example.contains("validate") || !example.contains("15038512364");
        assert_eq!(o.status.success(), expect_ok, "{example}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{example}");
    }
    for mut s in servers {
        s.kill().unwrap();
        s.wait().unwrap();
    }
    // The README's api runs: the one against a stand-in and the bundled scenarios.
    assert!(conformance_runs >= 2, "{conformance_runs}");
    assert!(dir.join("junit.xml").exists());
    assert!(dir.join(".testbed-conformance").is_dir());
}

/// Two `conformance api` runs in a row against an API that caches the JWKS (the reference
/// API fetches it again for an unknown kid at most once per 10 s): the embedded STS keeps its
/// signing key in the data directory, so both runs sign with the same key and both pass.
/// Another data directory is another key.
#[test]
fn two_api_runs_in_a_row_sign_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new(&[8099, 9000]);
    let sts = ports.arg("8099");
    let target = ports.text("http://127.0.0.1:9000/api/records");
    let api: Vec<String> = [
        "--target",
        &target,
        "--audience",
        "nhn:my-api",
        "--scope",
        "nhn:my-api/read",
        "--sts-port",
        &sts,
    ]
    .map(str::to_owned)
    .to_vec();
    let mut args: Vec<String> = vec!["conformance".into(), "reference-api".into()];
    args.extend(api.iter().cloned());
    let mut server = background(dir.path(), &args, "listening: http://127.0.0.1:");
    let run = |data_dir: &str, n: u32| {
        let json = dir.path().join(format!("run{n}.json"));
        let o = Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
            .args(["conformance", "api"])
            .args(&api)
            .args(["--data-dir", data_dir, "--json", json.to_str().unwrap()])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let kid = report["scenarios"][0]["kid"].as_str().unwrap().to_owned();
        (o, kid)
    };
    let (first, kid1) = run("state", 1);
    assert!(first.status.success(), "{}", stdout(&first));
    let (second, kid2) = run("state", 2);
    assert!(second.status.success(), "{}", stdout(&second));
    assert_eq!(kid1, kid2);
    assert!(dir.path().join("state").is_dir());
    // A new directory is a new key (an API that fetched the JWKS a moment ago may refuse it).
    let (_, kid3) = run("other-state", 3);
    assert_ne!(kid1, kid3);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn conformance_list_explain_and_schema() {
    let o = testbed(&["conformance", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = stdout(&o);
    assert!(list.lines().count() >= 27, "{list}");
    assert!(list.contains("API-ALG-02") && list.contains("API-DPOP-06"));
    let o = testbed(&["conformance", "explain", "api-dpop-06"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("rfc9449"), "{}", stdout(&o));
    let o = testbed(&["conformance", "explain", "API-NOPE-99"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("API-NOPE-99"));
    let o = testbed(&["conformance", "schema", "scenario"]);
    let schema: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(schema["title"], "Scenario");
    // A reader that stops early (`| head -1`) ends the output quietly, never a panic.
    for args in [
        &["conformance", "schema", "report"][..],
        &["conformance", "list", "--markdown"],
        &["conformance", "explain", "API-DPOP-06"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn conformance_refuses_bad_scenarios_and_arguments_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: x\nkind: api\ntarget:\n  url: http://127.0.0.1:1/x\napi:\n  audience: nhn:a\n  scopes: [nhn:b/read]\n",
    )
    .unwrap();
    let o = testbed(&["conformance", "run", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad.yaml:7:12: api.scopes"), "{err}");
    let o = testbed(&[
        "conformance",
        "run",
        dir.path().join("missing.yaml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = testbed(&[
        "conformance",
        "api",
        "--target",
        "http://127.0.0.1:1/x",
        "--audience",
        "nhn:a",
        "--only",
        "API-NOPE",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("API-NOPE"), "{}", stderr(&o));
    let o = testbed(&[
        "conformance",
        "api",
        "--target",
        "http://127.0.0.1:1/x",
        "--audience",
        "nhn:a",
        "--level",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(2));
    // A multi-tenant client acts for an organisation the API serves: --org is needed.
    let o = testbed(&[
        "conformance",
        "api",
        "--target",
        "http://127.0.0.1:1/x",
        "--audience",
        "nhn:a",
        "--multi-tenant",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("requirements.tenancy"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn conformance_against_an_unreachable_api_is_not_conformant_and_writes_reports() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let html = dir.path().join("report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
        .args([
            "conformance",
            "api",
            "--target",
            "http://127.0.0.1:1/nothing",
            "--audience",
            "nhn:a",
            "--scope",
            "nhn:a/read",
            "--junit",
            junit.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--data-dir",
            dir.path().join("state").to_str().unwrap(),
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("NOT CONFORMANT"), "{out}");
    assert!(!out.contains('\u{1b}'), "NO_COLOR honoured");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(
        report["scenarios"][0]["results"][0]["outcome"],
        "inconclusive"
    );
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuites")
    );
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("Not conformant")
    );
}

#[test]
fn conformance_client_runs_the_client_suite_on_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    // The reference client is this binary's `reference-client` command.
    let bin = env!("CARGO_BIN_EXE_helseid-testbed");
    let o = Command::new(bin)
        .args([
            "conformance",
            "client",
            "--json",
            json.to_str().unwrap(),
            "--data-dir",
            dir.path().join("state").to_str().unwrap(),
            "--",
            bin,
            "reference-client",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["scenarios"][0]["kind"], "client");
    let results = report["scenarios"][0]["results"].as_array().unwrap();
    let outcome = |id: &str| {
        results
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["outcome"].clone())
            .unwrap()
    };
    assert_eq!(outcome("CLIENT-RUN-01"), "passed");
    assert_eq!(outcome("CLIENT-TOKRESP-01"), "passed");
    // A machine client: the login checks do not apply.
    assert_eq!(outcome("CLIENT-PAR-01"), "skipped");

    // A flawed client fails, with exit 1.
    let state = dir.path().join("state");
    let o = testbed(&[
        "conformance",
        "client",
        "--only",
        "CLIENT-DPOP-01",
        "--data-dir",
        state.to_str().unwrap(),
        "--",
        bin,
        "reference-client",
        "--flaw",
        "no-dpop",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("CLIENT-DPOP-01"), "{}", stdout(&o));
}

#[test]
fn conformance_client_refuses_bad_arguments_and_fails_a_broken_driver() {
    // No driver: a usage error.
    let o = testbed(&["conformance", "client"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("DRIVER"), "{}", stderr(&o));
    let o = testbed(&["conformance", "client", "--env", "NOEQUALS", "--", "true"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("NAME=VALUE"), "{}", stderr(&o));
    // A driver that exits 3 without calling the API fails the baseline.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let o = testbed(&[
        "conformance",
        "client",
        "--data-dir",
        state.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("CLIENT-RUN-01"), "{out}");
    assert!(out.contains("exited with 3"), "{out}");
}

#[test]
fn a_bundled_client_scenario_runs_the_reference_client_of_this_binary() {
    // The scenario's driver is `helseid-testbed reference-client`: the runner starts itself,
    // so the released binary needs neither cargo nor itself on the PATH.
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/client-machine.yaml");
    let state = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
        .args(["conformance", "run", scenario, "--data-dir"])
        .arg(state.path())
        .env("NO_COLOR", "1")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("CLIENT-RUN-01"), "{}", stdout(&o));
    let o = testbed(&["reference-client", "--list-flaws"]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("use-before-validation"),
        "{}",
        stdout(&o)
    );
}

/// A running `up` in `dir` (killed when dropped): its issuer, and its standard error once
/// stopped.
struct Up {
    child: std::process::Child,
    issuer: String,
}

impl Up {
    fn start(dir: &std::path::Path, extra: &[&str]) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
            .args(["up", "--port", "0"])
            .args(extra)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let issuer = first.strip_prefix("issuer: ").unwrap().to_owned();
        // Everything is announced (warnings included) by the last line.
        for line in lines.by_ref() {
            if line.unwrap().starts_with("data directory:") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Up { child, issuer }
    }

    /// Stops it and returns what it wrote on standard error.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut err).unwrap();
        }
        err
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request to the testbed at `issuer`: (status, content type, body).
fn http(
    issuer: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let host = issuer.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

#[test]
fn login_refuses_an_unknown_idp_listing_the_bundled_ones() {
    // Refused before any file is read or any request is sent.
    for idp in ["nosuch", "bank-id"] {
        let o = testbed(&["login", "--idp", idp]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_refused(&o, &format!("invalid value '{idp}' for '--idp"));
        for name in mock_idp::bundled().iter().map(|d| d.name) {
            assert!(stderr(&o).contains(name), "{name} missing: {}", stderr(&o));
        }
    }
    // An IdP that gives level 3 only, asked for 4 (the default).
    let o = testbed(&["login", "--idp", "jobbkonto"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_refused(&o, "give --level 3");
    let o = testbed(&["login", "--level", "5"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // The help names the IdPs and which of them needs --level 3.
    let o = testbed(&["login", "--help"]);
    let help = stdout(&o);
    assert!(
        help.contains("jobbkonto gives level 3 only and needs --level 3"),
        "{help}"
    );
    for name in mock_idp::bundled().iter().map(|d| d.name) {
        assert!(
            help.contains(&format!("- {name}:")),
            "{name} missing: {help}"
        );
    }
}

#[test]
fn synthpop_show_finds_persons_of_the_population_up_seeds() {
    // `up` seeds mock_sts::seed::DEFAULT_POPULATION persons; one far past 10,000 of them is
    // found without --count, from a folder with no data directory.
    let size = mock_sts::seed::DEFAULT_POPULATION;
    assert!(size > 10_000);
    let o = testbed(&[
        "synthpop",
        "generate",
        "--count",
        &size.to_string(),
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut reader = csv::Reader::from_reader(o.stdout.as_slice());
    let late = reader.records().nth(15_000).unwrap().unwrap();
    let pid = late[1].to_owned();
    let empty = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
        .args(["synthpop", "show", &pid])
        .current_dir(empty.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("index          15000"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn commands_say_when_nothing_answers_or_there_is_no_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let run_in = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
    };
    // No data directory yet.
    let o = run_in(&["login"]);
    assert_refused(&o, "helseid-testbed up");
    let o = run_in(&["token", "--client", ".testbed/demo-client.json"]);
    assert_refused(&o, "helseid-testbed up");
    let o = run_in(&["keys", "list"]);
    assert_refused(&o, "helseid-testbed up");
    // A data directory that is a file.
    std::fs::write(dir.join("state"), "not a directory").unwrap();
    for args in [
        &["keys", "list", "--data-dir", "state"][..],
        &[
            "client",
            "create",
            "--name",
            "x",
            "--scope",
            "nhn:testbed-api/read",
            "--data-dir",
            "state",
        ],
        &["session", "list", "--data-dir", "state"],
        &["synthpop", "show", "15038512363", "--data-dir", "state"],
    ] {
        let o = run_in(args);
        assert_refused(&o, "state is a file, not a directory");
    }

    // The seeded files, with nothing answering at the issuer.
    let up = Up::start(dir, &[]);
    let nobody = "http://127.0.0.1:9";
    for args in [
        &[
            "token",
            "--client",
            ".testbed/demo-client.json",
            "--issuer",
            nobody,
        ][..],
        &["login", "--issuer", nobody],
        &["login", "--issuer", nobody, "--pid", "15038512363"],
    ] {
        let o = run_in(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert_refused(&o, &format!("nothing answers at the issuer {nobody}"));
        assert_refused(&o, "helseid-testbed up");
    }
    // Any casing of a bundled IdP's name is that IdP.
    let o = run_in(&["login", "--idp", "BankID", "--issuer", &up.issuer]);
    assert!(o.status.success(), "{}", stderr(&o));
    let shown: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(shown.to_string().contains("\"bankid-oidc\""), "{shown}");
}

#[test]
fn synthpop_show_looks_in_the_population_up_seeded_the_data_directory_with() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::write(dir.join("settings.yaml"), "seed: 7\npopulation: 300\n").unwrap();
    let up = Up::start(dir, &["--config", "settings.yaml"]);
    let (status, _, body) = http(&up.issuer, "GET", "/testbed/environment", &[], "");
    assert_eq!(status, 200, "{body}");
    let env: serde_json::Value = serde_json::from_str(&body).unwrap();
    let pid = env["test_persons"][0]["pid"].as_str().unwrap().to_owned();
    drop(up);
    let show = |cwd: &std::path::Path, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_helseid-testbed"))
            .args(["synthpop", "show", &pid])
            .args(extra)
            .current_dir(cwd)
            .output()
            .unwrap()
    };
    let o = show(dir, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("(seed 7)"), "{}", stdout(&o));
    // From elsewhere, with the data directory named.
    let elsewhere = tempfile::tempdir().unwrap();
    let o = show(
        elsewhere.path(),
        &["--data-dir", dir.join(".testbed").to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Without it: `up`'s defaults, where that person is not.
    let o = show(elsewhere.path(), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_refused(&o, "the defaults of `up`");
}

#[test]
fn up_on_every_address_without_an_issuer_warns_that_it_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), &["--bind", "0.0.0.0"]);
    assert!(up.issuer.starts_with("http://0.0.0.0:"), "{}", up.issuer);
    let err = up.stop();
    assert!(err.contains("is not reachable by that name"), "{err}");
    assert!(err.contains("--issuer http://HOSTNAME:"), "{err}");
    let up = Up::start(
        dir.path(),
        &[
            "--bind",
            "0.0.0.0",
            "--issuer",
            "http://testbed.example:8080",
        ],
    );
    let err = up.stop();
    assert!(!err.contains("not reachable"), "{err}");
}

#[test]
fn every_testbed_json_endpoint_answers_errors_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path(), &[]);
    // One bad request per endpoint (/metrics is Prometheus text by design).
    let cases = [
        ("POST", "/testbed/environment", ""),
        ("GET", "/testbed/flows?limit=many", ""),
        ("PUT", "/testbed/flows", ""),
        ("GET", "/testbed/sessions?limit=-1", ""),
        ("POST", "/testbed/sessions", "{}"),
        ("GET", "/testbed/sessions/%FF", ""),
        ("DELETE", "/testbed/sessions/nosuch", ""),
        ("GET", "/testbed/sessions/nosuch/fault", ""),
        ("GET", "/testbed/sessions/nosuch/end", ""),
        ("GET", "/testbed/sessions/nosuch/reset", ""),
        ("POST", "/testbed/sessions/nosuch/report", ""),
        ("GET", "/testbed/sessions/nosuch/report.html", ""),
        ("PUT", "/testbed/sessions/nosuch/report.xml", ""),
    ];
    for (method, path, body) in cases {
        let (status, content_type, answer) = http(&up.issuer, method, path, &[], body);
        assert!(status >= 400, "{method} {path}: {status} {answer}");
        assert!(
            content_type.starts_with("application/json"),
            "{method} {path}: {status} {content_type} {answer}"
        );
        let v: serde_json::Value = serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}: {answer}"));
        assert!(v["error"].is_string(), "{method} {path}: {v}");
        assert!(v["error_description"].is_string(), "{method} {path}: {v}");
    }
}

#[test]
fn conformance_help_describes_the_three_target_kinds() {
    for flag in ["--help", "-h"] {
        let o = testbed(&["conformance", flag]);
        assert!(o.status.success(), "{}", stderr(&o));
        let help = stdout(&o);
        assert!(help.contains("API, client or identity provider"), "{help}");
    }
    let help = stdout(&testbed(&["conformance", "--help"]));
    for kind in ["an api (", "a client (", "an idp ("] {
        assert!(help.contains(kind), "{kind} missing: {help}");
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = testbed(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        for sub in ["login", "synthpop", "conformance", "completions"] {
            assert!(script.contains(sub), "{shell}: {sub} missing");
        }
    }
    let o = testbed(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert_refused(&o, "possible values");

    let o = testbed(&["man"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = stdout(&o);
    assert!(page.contains(".TH helseid-testbed 1"), "{page}");
    for sub in ["up", "login", "synthpop", "conformance", "man"] {
        // roff escapes the hyphens.
        assert!(
            page.contains(&format!("helseid\\-testbed\\-{sub}(1)")),
            "{sub} missing: {page}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let o = testbed(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for page in [
        "helseid-testbed.1",
        "helseid-testbed-login.1",
        "helseid-testbed-synthpop-show.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".SH"), "{page}");
    }
    let login = std::fs::read_to_string(dir.path().join("helseid-testbed-login.1")).unwrap();
    assert!(login.contains("jobbkonto"), "{login}");
}
