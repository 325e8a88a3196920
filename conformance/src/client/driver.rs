//! The vendor's driver command: started with the run's environment, stopped at its time
//! limit, its ending and output kept as evidence; and what one run of it left behind.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use mock_sts::flow_log::FlowRecord;

use super::MAX_OUTPUT;
use super::probe::ProbeCall;
use crate::report::Exchange;

/// How one run of the driver ended.
#[derive(Debug, Clone)]
pub struct DriverRun {
    /// The exit code (`None`: killed by a signal, or stopped at the time limit).
    pub code: Option<i32>,
    pub timed_out: bool,
    /// Why it could not start.
    pub spawn_error: Option<String>,
    pub output: String,
    pub elapsed_ms: u64,
    /// When it ended (Unix milliseconds).
    pub ended_at_ms: i64,
    /// Set (to the session's id) when this is a part of a conformance session's recording
    /// ([`crate::session`]) instead of a driver run: nothing was started, nothing exited, and
    /// the application's own report of an error is for the tester to see.
    pub session: Option<String>,
}

impl DriverRun {
    /// A part of session `id`'s recording that ended at `ended_at_ms`.
    pub fn session(id: &str, ended_at_ms: i64) -> DriverRun {
        DriverRun {
            code: None,
            timed_out: false,
            spawn_error: None,
            output: String::new(),
            elapsed_ms: 0,
            ended_at_ms,
            session: Some(id.to_owned()),
        }
    }

    /// Whether the driver exited 0 in time. A session's recording has no exit: it counts as
    /// having gone on (the application kept running), so only what it sent decides.
    pub fn succeeded(&self) -> bool {
        self.session.is_some() || (self.code == Some(0) && !self.timed_out)
    }

    pub fn describe(&self) -> String {
        if let Some(id) = &self.session {
            return format!("session {id} recorded what the application sent");
        }
        if let Some(e) = &self.spawn_error {
            return format!("the driver could not start: {e}");
        }
        if self.timed_out {
            return format!("the driver did not finish within {} ms", self.elapsed_ms);
        }
        match self.code {
            Some(c) => format!("the driver exited with {c}"),
            None => "the driver was killed by a signal".into(),
        }
    }

    pub fn evidence(&self, argv: &[String]) -> Exchange {
        if let Some(id) = &self.session {
            return Exchange {
                label: "session".into(),
                method: "SESSION".into(),
                url: id.clone(),
                status: None,
                error: Some(self.describe()),
                ..Default::default()
            };
        }
        Exchange {
            label: "driver".into(),
            method: "EXEC".into(),
            url: argv.join(" "),
            status: None,
            response_body: self.output.clone(),
            error: Some(self.describe()),
            ..Default::default()
        }
    }
}

/// The program to start for a driver's `argv[0]`: `helseid-testbed` is this very binary when
/// the runner is `helseid-testbed` (so the bundled scenarios' `helseid-testbed
/// reference-client` works from a released binary, without it on the PATH); anything else as
/// given.
fn program(name: &str) -> std::path::PathBuf {
    if name == TESTBED
        && let Ok(me) = std::env::current_exe()
        && me.file_stem().is_some_and(|s| s == TESTBED)
    {
        return me;
    }
    std::path::PathBuf::from(name)
}

/// The testbed's own command name.
const TESTBED: &str = "helseid-testbed";

/// Runs `argv` with `env` added, stopping it after `timeout`.
pub async fn run_driver(
    argv: &[String],
    env: &BTreeMap<String, String>,
    timeout: Duration,
) -> DriverRun {
    let started = Instant::now();
    let mut command = tokio::process::Command::new(program(&argv[0]));
    command
        .args(&argv[1..])
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return DriverRun {
                code: None,
                timed_out: false,
                spawn_error: Some(format!("{}: {e}", argv[0])),
                output: String::new(),
                elapsed_ms: 0,
                ended_at_ms: crate::now_ms(),
                session: None,
            };
        }
    };
    let waited = tokio::time::timeout(timeout, child.wait_with_output()).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match waited {
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            DriverRun {
                code: out.status.code(),
                timed_out: false,
                spawn_error: None,
                output: tail(&text, MAX_OUTPUT),
                elapsed_ms,
                ended_at_ms: crate::now_ms(),
                session: None,
            }
        }
        Ok(Err(e)) => DriverRun {
            code: None,
            timed_out: false,
            spawn_error: Some(e.to_string()),
            output: String::new(),
            elapsed_ms,
            ended_at_ms: crate::now_ms(),
            session: None,
        },
        // Dropping the future kills the child (kill_on_drop).
        Err(_) => DriverRun {
            code: None,
            timed_out: true,
            spawn_error: None,
            output: String::new(),
            elapsed_ms,
            ended_at_ms: crate::now_ms(),
            session: None,
        },
    }
}

/// What one run of the driver left: its ending, what the STS recorded, the probe's calls.
#[derive(Debug, Clone)]
pub struct Observed {
    pub driver: DriverRun,
    pub flows: Vec<FlowRecord>,
    pub probe_calls: Vec<ProbeCall>,
}

/// The last `max` bytes of `s` (driver output: the end says why it stopped).
fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("(… {} bytes before) {}", start, &s[start..])
}
