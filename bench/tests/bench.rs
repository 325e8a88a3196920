//! `helseid-bench` run as BENCHMARKS.md runs it, on a tiny load.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The helseid-testbed binary the bench starts, built once beside this test's binary.
fn testbed_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "-q",
                "-p",
                "helseid-testbed",
                "--bin",
                "helseid-testbed",
            ])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .unwrap();
        assert!(status.success(), "building helseid-testbed");
        let bench = PathBuf::from(env!("CARGO_BIN_EXE_helseid-bench"));
        let bin = bench
            .parent()
            .unwrap()
            .join(format!("helseid-testbed{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{}", bin.display());
        bin
    })
    .clone()
}

fn testbed(args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    // Only a run that starts its own STS needs the testbed binary.
    if !args.contains(&"--issuer")
        && !args
            .iter()
            .any(|a| a.starts_with("--server-pid") || *a == "--client")
    {
        all.push("--testbed".into());
        all.push(testbed_binary().display().to_string());
    }
    Command::new(env!("CARGO_BIN_EXE_helseid-bench"))
        .args(&all)
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
}

/// The number after `label` on its line of the bench report.
fn figure(report: &str, label: &str) -> f64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in {report}"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no figure after {label:?} in {line:?}"))
}

#[test]
fn bench_reports_throughput_server_cpu_and_the_signature_floor() {
    let o = testbed(&["--tokens", "20", "--runs", "1", "--concurrency", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(figure(&out, "tokens/s:") > 0.0, "{out}");
    assert!(figure(&out, "server CPU per token:") >= 0.0, "{out}");
    assert!(
        figure(&out, "RS256 sign (2048-bit key, the floor):") > 0.0,
        "{out}"
    );
    assert!(
        figure(&out, "ratio server CPU per token / RS256 sign:") >= 0.0,
        "{out}"
    );
    assert!(figure(&out, "server idle RSS:") > 0.0, "{out}");
    assert!(out.contains("each token: 2.00 requests"), "{out}");
    assert!(out.contains("after the load"), "{out}");
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn bench_refuses_bad_flags_with_a_reason() {
    // A server pid or a client file means nothing without the STS they belong to.
    let o = testbed(&["--server-pid", "1"]);
    assert_refused(&o, "--issuer");
    let o = testbed(&["--client", "demo-client.json"]);
    assert_refused(&o, "--issuer");
    let o = testbed(&["--concurrency", "0"]);
    assert_refused(&o, "--concurrency");
    let o = testbed(&["--issuer", "ftp://x", "--client", "c.json"]);
    assert_refused(&o, "not an http(s) URL");
    let missing = std::env::temp_dir().join(format!("no-such-client-{}.json", std::process::id()));
    let o = testbed(&[
        "--issuer",
        "http://127.0.0.1:9",
        "--client",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_refused(&o, missing.to_str().unwrap());
}
