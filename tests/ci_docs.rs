//! docs/ci.md's commands, run as a CI job runs them: the block marked `<!-- ci-commands -->`
//! in `bash -eo pipefail`, with this build's `helseid-testbed` first on `PATH`, in an empty
//! directory holding a copy of `scenarios/`, port 8080 moved to a free one. It must exit as
//! the document says, leave the JUnit reports and be what the GitHub and GitLab jobs run.
//! Needs bash and curl.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const DOC: &str = include_str!("../docs/ci.md");
const MARK: &str = "<!-- ci-commands -->";
/// The line that stands in for the application's own tests.
const APPLICATION: &str = "# your application's tests";

/// The fenced block right after `marker`: its lines, `\`-continued lines joined.
fn block_after(doc: &str, marker: &str) -> Vec<String> {
    let (_, after) = doc
        .split_once(marker)
        .unwrap_or_else(|| panic!("no {marker}"));
    let after = after.trim_start();
    assert!(
        after.starts_with("```sh"),
        "{marker} is not before a sh block"
    );
    let body = &after[after.find('\n').unwrap() + 1..];
    let body = &body[..body.find("\n```").expect("the block ends")];
    body.replace("\\\n", " ")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The ```yaml block whose first line is `first`.
fn yaml_block(doc: &str, first: &str) -> String {
    doc.split("```yaml\n")
        .skip(1)
        .map(|b| &b[..b.find("\n```").unwrap()])
        .find(|b| b.starts_with(first))
        .unwrap_or_else(|| panic!("no yaml block starting {first}"))
        .to_owned()
}

/// A bash script's process group, killed (with the background `up` in it) when dropped.
struct Job {
    child: Child,
    dir: PathBuf,
}

impl Job {
    fn start(dir: &Path, script: &str) -> Job {
        std::fs::write(dir.join("ci.sh"), script).unwrap();
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_helseid-testbed"))
            .parent()
            .unwrap();
        let path = std::env::join_paths(std::iter::once(bin_dir.to_owned()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        let out = std::fs::File::create(dir.join("job.out")).unwrap();
        let child = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "ci.sh"])
            .current_dir(dir)
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            // Its own process group, so the `up` it leaves running can be stopped with it.
            .process_group(0)
            .spawn()
            .expect("bash");
        Job {
            child,
            dir: dir.to_owned(),
        }
    }

    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "the commands took over {limit:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn output(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        format!(
            "--- output\n{}--- testbed.log\n{}",
            read("job.out"),
            read("testbed.log")
        )
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An empty directory with the bundled scenarios copied in, as a vendor's repository holds
/// its own.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, scenarios.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// The block with port 8080 moved to a free one.
fn script(lines: &[String]) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut text = lines.join("\n") + "\n";
    text = text
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
        .replace("--port 8080", &format!("--port {port}"));
    assert!(!text.contains("8080"), "8080 left in {text}");
    text
}

fn junit(dir: &Path, name: &str) -> String {
    let path = dir.join("reports").join(name);
    let xml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("<testsuites"), "{xml}");
    xml
}

#[test]
fn the_ci_commands_pass_and_leave_junit_reports() {
    let lines = block_after(DOC, MARK);
    assert!(lines.iter().any(|l| l.starts_with("helseid-testbed up ")));
    assert!(lines.iter().any(|l| l.contains(APPLICATION)));
    let dir = workdir();
    let mut job = Job::start(dir.path(), &script(&lines));
    let status = job.wait(Duration::from_secs(45));
    // The doc: exit code 0 when every must-check passed.
    assert_eq!(status.code(), Some(0), "{}", job.output());
    for report in ["session.xml", "client.xml"] {
        let xml = junit(dir.path(), report);
        let head = xml.lines().nth(1).unwrap();
        assert!(
            head.contains(r#"failures="0" errors="0""#),
            "{report}: {head}"
        );
        assert!(xml.contains("<testcase "), "{report}");
    }
    for report in ["session.html", "client.html"] {
        assert!(
            dir.path().join("reports").join(report).is_file(),
            "{report}"
        );
    }
    assert!(
        std::fs::read_to_string(dir.path().join("testbed.log"))
            .unwrap()
            .starts_with("issuer: http://127.0.0.1:"),
        "{}",
        job.output()
    );
}

/// Without the application's tests the session has nothing to judge: `session end` exits 1,
/// as the doc says, after writing its reports, and the job stops there.
#[test]
fn without_the_application_the_session_fails_with_exit_1_and_still_reports() {
    let lines: Vec<String> = block_after(DOC, MARK)
        .into_iter()
        .filter(|l| !l.contains(APPLICATION))
        .collect();
    let dir = workdir();
    let mut job = Job::start(dir.path(), &script(&lines));
    let status = job.wait(Duration::from_secs(45));
    assert_eq!(status.code(), Some(1), "{}", job.output());
    // Nothing to judge is inconclusive: a JUnit error.
    let xml = junit(dir.path(), "session.xml");
    assert!(xml.contains("<error") || xml.contains("<failure"), "{xml}");
    assert!(!dir.path().join("reports/client.xml").exists());
}

/// The GitHub Actions and GitLab CI jobs run the tested commands, every one of them.
#[test]
fn the_jobs_run_the_tested_commands() {
    let github = yaml_block(DOC, "# .github/workflows/");
    let gitlab = yaml_block(DOC, "# .gitlab-ci.yml");
    for line in block_after(DOC, MARK) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        assert!(github.contains(line), "the GitHub job lacks {line}");
        assert!(gitlab.contains(line), "the GitLab job lacks {line}");
    }
    assert!(github.contains("reporter: java-junit"));
    assert!(github.contains("actions/upload-artifact"));
    assert!(gitlab.contains("junit: reports/*.xml"));
    assert!(gitlab.contains("when: always"));
}

/// README.md's Persontjenesten commands: a token from the test-token service, an identifier
/// search and a name search, against `up` with its default population.
#[test]
fn the_readme_person_api_commands_find_the_person() {
    const README: &str = include_str!("../README.md");
    let lines: Vec<String> = block_after(README, "<!-- person-api-commands -->")
        .into_iter()
        .map(|l| {
            if l.starts_with("export HELSEID_TESTBED_API_KEY=") {
                "export HELSEID_TESTBED_API_KEY=readme-key".to_owned()
            } else {
                l
            }
        })
        .collect();
    let mut all = vec![
        "helseid-testbed up --port 8080 --data-dir .testbed --api-key readme-key > testbed.log 2>&1 &"
            .to_owned(),
        "for i in $(seq 100); do curl -sf http://127.0.0.1:8080/.well-known/openid-configuration > /dev/null && break; sleep 0.2; done"
            .to_owned(),
    ];
    all.extend(lines);
    let dir = tempfile::tempdir().unwrap();
    let mut job = Job::start(dir.path(), &script(&all));
    let status = job.wait(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "{}", job.output());
    let out = job.output();
    // The identifier search finds exactly the person, with a name.
    assert!(out.contains(r#""total":1"#), "{out}");
    assert!(out.contains(r#""value":"05757041733""#), "{out}");
    assert!(out.contains(r#""family":"REDDIK""#), "{out}");
    // The name search finds persons born in 1970 named SNILL.
    let searches: Vec<&str> = out.matches(r#"{"resourceType":"Bundle""#).collect();
    assert_eq!(searches.len(), 2, "{out}");
    assert!(out.contains(r#""given":["SNILL"]"#), "{out}");
    assert!(!out.contains("OperationOutcome"), "{out}");
}
