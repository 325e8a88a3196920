//! `helseid-bench`: a load generator for the token endpoint (BENCHMARKS.md). It lives beside
//! the benchmarks, not in the user CLI: `cargo run --release -p helseid-bench -- --help`.
//!
//! Every token is what a vendor's client does (reference §3.3): a request with a fresh client
//! assertion and DPoP proof, the STS's 400 `use_dpop_nonce` with a `DPoP-Nonce` header, and a
//! second request with a fresh assertion and a proof carrying the nonce. The reference client
//! ([`helseid_reference::client`]) does the signing and the round trip.
//!
//! Beside tokens per second it reports the server's CPU time per issued token (utime + stime
//! from `/proc/<pid>/stat`) next to the cost of one RS256 signature with a 2048-bit key,
//! measured in the same run: the STS signs one RS256 token per issued token, so that is the
//! floor. By default it starts its own STS (`helseid-testbed up --port 0`, the binary beside this
//! one unless `--testbed` names another) in a fresh data directory and stops it at the end; `--issuer` and `--client` aim it at a running one instead.
//!
//! `--soak` measures memory under endless load instead (`soak.rs`), and `--persons` the person
//! API's latency over the default population (`persons.rs`).

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;

mod persons;
mod soak;
use helseid_reference::client::{Client, TokenRequest};
use protocol::jose::{Alg, b64_encode};
use protocol::signing::SigningKey;
use serde_json::{Value, json};

/// The targets: server CPU per token at most this many RS256 signatures ...
const TARGET_RATIO: f64 = 2.0;
/// ... and idle RSS under 40 MB (decimal megabytes).
const TARGET_IDLE_RSS_BYTES: f64 = 40_000_000.0;
/// A token that takes longer than this counts as failed.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);
/// Signature timing: the median of this many batches ...
const SIGN_BATCHES: usize = 7;
/// ... of this many RS256 signatures each.
const SIGNS_PER_BATCH: usize = 100;
/// Verifications per batch (they are some twenty times cheaper than signing).
const VERIFIES_PER_BATCH: usize = 500;

#[derive(Debug, Parser)]
#[command(
    name = "helseid-bench",
    about = "Load the token endpoint and compare server CPU per token with one RS256 signature"
)]
struct BenchArgs {
    /// The helseid-testbed binary to start (default: the one beside this program, as cargo
    /// builds both into the same target directory).
    #[arg(long, value_name = "PATH", conflicts_with = "issuer")]
    testbed: Option<PathBuf>,
    /// Tokens per run; each is the two-request DPoP nonce round trip.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    tokens: u32,
    /// Token requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    concurrency: u32,
    /// Measured runs against the same server; the report gives medians and every run.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    runs: u32,
    /// Tokens before the first run, not measured (default: a tenth of --tokens, at least 10).
    #[arg(long, value_name = "TOKENS")]
    warmup: Option<u32>,
    /// Load a running STS instead of starting one; needs --client.
    #[arg(long, value_name = "URL", requires = "client")]
    issuer: Option<String>,
    /// The client configuration file (the portal's format) to use with --issuer.
    #[arg(long, value_name = "FILE", requires = "issuer")]
    client: Option<PathBuf>,
    /// The process id of the STS at --issuer, for its CPU and memory figures (Linux /proc).
    #[arg(long, value_name = "PID", requires = "issuer")]
    server_pid: Option<u32>,
    /// Seconds to wait for the server to start and answer discovery.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    startup_timeout: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Memory under endless load instead (issue 14): a warm-up of system tokens, then
    /// --soak-tokens more, then --soak-mixed requests of a vendor's mix (system tokens,
    /// logins with userinfo, refreshes, malformed requests); prints RSS along the way and
    /// the verdicts as JSON.
    #[arg(long, conflicts_with = "issuer")]
    soak: bool,
    #[arg(long, value_name = "TOKENS", default_value_t = 20_000)]
    soak_warmup: u64,
    #[arg(long, value_name = "TOKENS", default_value_t = 300_000)]
    soak_tokens: u64,
    #[arg(long, value_name = "REQUESTS", default_value_t = 200_000)]
    soak_mixed: u64,
    /// The person API's latency instead (issue 15): identifier searches, name searches and
    /// reads by id over the default 20,000 persons, one request at a time with a fresh DPoP
    /// proof each; the median, p95 and maximum of each kind against the 20 ms target, as
    /// JSON.
    #[arg(long, conflicts_with_all = ["issuer", "soak"])]
    persons: bool,
    /// Measured requests of each kind with --persons.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    persons_requests: u32,
}

fn main() -> ExitCode {
    match run(BenchArgs::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("helseid-bench: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: BenchArgs) -> Result<ExitCode, String> {
    let deadline = Instant::now() + Duration::from_secs(args.startup_timeout);
    let mut spawned = None;
    let target = match (&args.issuer, &args.client) {
        (Some(issuer), Some(file)) => {
            if !(issuer.starts_with("http://") || issuer.starts_with("https://")) {
                return Err(format!("--issuer {issuer:?} is not an http(s) URL"));
            }
            if let Some(pid) = args.server_pid {
                proc_cpu(pid).map_err(|e| format!("--server-pid {pid}: {e}"))?;
            }
            Target {
                issuer: issuer.trim_end_matches('/').to_owned(),
                client_file: file.clone(),
                pid: args.server_pid,
                spawned: false,
            }
        }
        (None, None) => {
            let server = Server::start(args.testbed.as_deref(), deadline)?;
            let target = Target {
                issuer: server.issuer.clone(),
                client_file: server.data_dir.join(mock_sts::seed::DEMO_CLIENT_FILE),
                pid: Some(server.child.id()),
                spawned: true,
            };
            spawned = Some(server);
            target
        }
        _ => return Err("--issuer and --client go together".into()),
    };
    if args.soak {
        let result = soak_run(&args, &target, spawned.as_ref());
        let stderr = spawned.map(Server::stop).unwrap_or_default();
        let report = result.map_err(|e| format!("{e}\nserver stderr:\n{}", stderr.trim_end()))?;
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
        let met = report["memory_met"] == true && report["no_5xx_met"] == true;
        return Ok(if met {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(3)
        });
    }
    if args.persons {
        let result = persons_run(&args, &target);
        let stderr = spawned.map(Server::stop).unwrap_or_default();
        let report = result.map_err(|e| format!("{e}\nserver stderr:\n{}", stderr.trim_end()))?;
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
        return Ok(if report["met"] == true {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(3)
        });
    }
    let outcome = bench(&args, &target, deadline);
    match (outcome, spawned) {
        (Ok(report), server) => {
            if let Some(server) = server {
                server.stop();
            }
            print(&report, args.json)?;
            Ok(ExitCode::SUCCESS)
        }
        (Err(e), None) => Err(e),
        (Err(e), Some(server)) => {
            let stderr = server.stop();
            if stderr.trim().is_empty() {
                Err(e)
            } else {
                Err(format!("{e}\nserver stderr:\n{}", stderr.trim_end()))
            }
        }
    }
}

/// Where the load goes.
#[derive(Debug)]
struct Target {
    issuer: String,
    client_file: PathBuf,
    pid: Option<u32>,
    spawned: bool,
}

/// `name` in the directory of this program (cargo builds every binary of the workspace into
/// one directory).
fn beside_this_program(name: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe()
        .map_err(|e| format!("cannot find this program to start the server: {e}"))?;
    let exe = me
        .parent()
        .map(|d| d.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
        .ok_or("this program has no directory")?;
    if exe.exists() {
        Ok(exe)
    } else {
        Err(format!(
            "{} does not exist: build it (cargo build --release) or name it with --testbed",
            exe.display()
        ))
    }
}

/// An STS this command started: `helseid-testbed up --port 0` in a fresh data directory.
/// Dropping it kills the process and removes the directory.
#[derive(Debug)]
struct Server {
    child: Child,
    issuer: String,
    data_dir: PathBuf,
    stderr: Option<JoinHandle<String>>,
}

impl Server {
    fn start(testbed: Option<&std::path::Path>, deadline: Instant) -> Result<Server, String> {
        let exe = match testbed {
            Some(p) => p.to_path_buf(),
            None => beside_this_program("helseid-testbed")?,
        };
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let data_dir = std::env::temp_dir().join(format!(
            "helseid-testbed-bench-{}-{stamp}",
            std::process::id()
        ));
        std::fs::create_dir(&data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        let spawn = Command::new(&exe)
            .arg("up")
            .args(["--port", "0", "--data-dir"])
            .arg(&data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawn {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&data_dir);
                return Err(format!("cannot start {} up: {e}", exe.display()));
            }
        };
        // Drain both pipes for the server's whole life, so its later lines never meet a
        // closed or full pipe; the first stdout line is the issuer.
        let (first_tx, first_rx) = mpsc::channel();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        });
        let mut server = Server {
            child,
            issuer: String::new(),
            data_dir,
            stderr,
        };
        let Some(stdout) = stdout else {
            return Err("the server's stdout was not captured".into());
        };
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = first_tx.send(first);
            for _ in lines.map_while(Result::ok) {}
        });
        let wait = deadline.saturating_duration_since(Instant::now());
        let line = match first_rx.recv_timeout(wait) {
            Ok(Some(line)) => line,
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = server
                    .child
                    .wait()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|e| e.to_string());
                return Err(format!(
                    "the server exited before naming its issuer ({status}): {}",
                    server.stop().trim()
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(format!(
                    "the server did not name its issuer within {} s",
                    wait.as_secs()
                ));
            }
        };
        let Some(issuer) = line.strip_prefix("issuer: ") else {
            return Err(format!(
                "the server's first line is {line:?}, not \"issuer: <url>\""
            ));
        };
        server.issuer = issuer.trim().trim_end_matches('/').to_owned();
        Ok(server)
    }

    /// Kills the server and returns what it wrote on stderr.
    fn stop(mut self) -> String {
        self.kill();
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }

    fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Everything one invocation measured.
#[derive(Debug)]
struct Report {
    command: String,
    target: String,
    spawned: bool,
    pid: Option<u32>,
    tokens: u32,
    concurrency: u32,
    warmup: u32,
    ticks: ClockTicks,
    runs: Vec<RunResult>,
    verify: VerifyCosts,
    rss_after_startup: Option<Memory>,
    rss_after_load: Option<Memory>,
}

#[derive(Debug)]
struct RunResult {
    wall: Duration,
    /// Requests sent (2 per token with the nonce round trip).
    requests: u64,
    /// Server CPU ticks (user, system) during the run.
    server_ticks: Option<(u64, u64)>,
    /// This process's CPU ticks (user + system) during the run.
    own_ticks: u64,
    /// Median wall µs per RS256 signature, measured just before the run.
    sign_us: f64,
    /// The same signatures' on-CPU µs (this thread's utime + stime over all batches), which
    /// other work on the machine does not inflate.
    sign_cpu_us: Option<f64>,
    tokens: u32,
}

#[derive(Debug, Clone, Copy)]
struct VerifyCosts {
    rs256_us: f64,
    ps256_us: f64,
    es256_us: f64,
}

#[derive(Debug, Clone, Copy)]
struct Memory {
    rss_kib: u64,
    peak_kib: u64,
}

#[derive(Debug, Clone)]
struct ClockTicks {
    per_sec: u64,
    source: &'static str,
}

fn bench(args: &BenchArgs, target: &Target, deadline: Instant) -> Result<Report, String> {
    let ticks = clock_ticks();
    let warmup = args.warmup.unwrap_or((args.tokens / 10).max(10));
    let text = std::fs::read_to_string(&target.client_file)
        .map_err(|e| format!("{}: {e}", target.client_file.display()))?;
    let file = protocol::client_config::parse(&text)
        .map_err(|e| format!("{}: {e}", target.client_file.display()))?;
    let client = Arc::new(
        Client::from_config(&file, Some(&target.issuer))
            .map_err(|e| format!("{}: {e}", target.client_file.display()))?,
    );
    // Client signing is CPU work inside the tasks; give each in-flight token a thread.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.concurrency.clamp(2, 64) as usize)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(wait_for_discovery(client.http(), &target.issuer, deadline))?;
    let rss_after_startup = target.pid.map(proc_memory).transpose()?;

    let request = Arc::new(TokenRequest::default());
    if warmup > 0 {
        progress(&format!("warm-up: {warmup} tokens"));
        let done = runtime.block_on(drive(&client, &request, warmup, args.concurrency));
        done.check("the warm-up")?;
    }

    let floor_key = SigningKey::generate_rsa(2048, Alg::RS256, "bench-floor".into())
        .map_err(|e| format!("cannot make an RSA key: {e}"))?;
    let input = token_signing_input();
    let mut runs = Vec::new();
    for run in 1..=args.runs {
        let (sign_us, sign_cpu_us) = sign_cost(&floor_key, &input, &ticks)?;
        let own_before = proc_cpu(std::process::id())?;
        let server_before = target.pid.map(proc_cpu).transpose()?;
        let started = Instant::now();
        let done = runtime.block_on(drive(&client, &request, args.tokens, args.concurrency));
        let wall = started.elapsed();
        let server_after = target.pid.map(proc_cpu).transpose()?;
        let own_after = proc_cpu(std::process::id())?;
        done.check(&format!("run {run}"))?;
        let server_ticks = match (server_before, server_after) {
            (Some(b), Some(a)) => Some((a.0.saturating_sub(b.0), a.1.saturating_sub(b.1))),
            _ => None,
        };
        let result = RunResult {
            wall,
            requests: done.requests,
            server_ticks,
            own_ticks: (own_after.0 + own_after.1).saturating_sub(own_before.0 + own_before.1),
            sign_us,
            sign_cpu_us,
            tokens: args.tokens,
        };
        progress(&format!(
            "run {run}/{}: {:.0} tokens/s, server CPU {} µs/token, RS256 sign {:.0} µs",
            args.runs,
            result.tokens_per_sec(),
            result
                .server_us_per_token(&ticks)
                .map_or("n/a".into(), |v| format!("{v:.0}")),
            sign_us
        ));
        runs.push(result);
    }
    // Let the server settle before the second idle sample.
    std::thread::sleep(Duration::from_millis(500));
    let rss_after_load = target.pid.map(proc_memory).transpose()?;
    let verify = verify_costs(&floor_key, &input)?;
    Ok(Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        target: target.issuer.clone(),
        spawned: target.spawned,
        pid: target.pid,
        tokens: args.tokens,
        concurrency: args.concurrency,
        warmup,
        ticks,
        runs,
        verify,
        rss_after_startup,
        rss_after_load,
    })
}

/// `--soak` against the server this program started (it needs its data directory for the
/// demo login client).
fn soak_run(args: &BenchArgs, target: &Target, server: Option<&Server>) -> Result<Value, String> {
    let server = server.ok_or("--soak starts its own server")?;
    let load = |path: &std::path::Path| -> Result<(Client, protocol::client_config::ClientConfigFile), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file = protocol::client_config::parse(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let client = Client::from_config(&file, Some(&target.issuer))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((client, file))
    };
    let (system, _) = load(&target.client_file)?;
    let (login, file) = load(&server.data_dir.join(mock_sts::seed::DEMO_LOGIN_CLIENT_FILE))?;
    let redirect_uri = file
        .redirect_uris
        .as_ref()
        .and_then(|r| r.first().cloned())
        .ok_or("the demo login client has no redirect URI")?;
    soak::run(
        soak::SoakPlan {
            warmup_tokens: args.soak_warmup,
            tokens: args.soak_tokens,
            mixed_requests: args.soak_mixed,
            concurrency: args.concurrency,
        },
        &target.issuer,
        Arc::new(system),
        Arc::new(login),
        file.scopes.clone().unwrap_or_default(),
        redirect_uri,
        target.pid,
        |pid| proc_memory(pid).map(|m| m.rss_kib),
    )
}

fn persons_run(args: &BenchArgs, target: &Target) -> Result<Value, String> {
    let path = &target.client_file;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file =
        protocol::client_config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let client = Client::from_config(&file, Some(&target.issuer))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let server_cpu = target.pid.map(|pid| persons::ServerCpu {
        read: Box::new(move || proc_cpu(pid).ok().map(|(u, s)| u + s)),
        ticks_per_sec: clock_ticks().per_sec,
    });
    persons::run(
        persons::PersonsPlan {
            requests: args.persons_requests,
            startup_timeout: Duration::from_secs(args.startup_timeout),
        },
        &target.issuer,
        client,
        server_cpu,
    )
}

/// Progress goes to stderr, with or without --json; stdout holds only the report.
fn progress(line: &str) {
    eprintln!("{line}");
}

async fn wait_for_discovery(
    http: &reqwest::Client,
    issuer: &str,
    deadline: Instant,
) -> Result<(), String> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let mut last = String::from("no answer");
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "the STS did not answer {url} within the startup timeout ({last})"
            ));
        }
        match tokio::time::timeout(left, http.get(&url).send()).await {
            Ok(Ok(r)) if r.status().is_success() => return Ok(()),
            Ok(Ok(r)) => last = format!("status {}", r.status()),
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = "timed out".into(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a batch of tokens came to.
#[derive(Debug, Default)]
struct Driven {
    ok: u32,
    failed: u32,
    requests: u64,
    first_error: Option<String>,
}

impl Driven {
    fn merge(&mut self, other: Driven) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.requests += other.requests;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn check(&self, what: &str) -> Result<(), String> {
        if self.failed == 0 {
            return Ok(());
        }
        Err(format!(
            "{what}: {} of {} tokens failed; the first: {}",
            self.failed,
            self.failed + self.ok,
            self.first_error.as_deref().unwrap_or("(no message)")
        ))
    }
}

/// Gets `tokens` tokens with `concurrency` requests in flight.
async fn drive(
    client: &Arc<Client>,
    request: &Arc<TokenRequest>,
    tokens: u32,
    concurrency: u32,
) -> Driven {
    let next = Arc::new(AtomicU32::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency.min(tokens) {
        let client = client.clone();
        let request = request.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut done = Driven::default();
            while next.fetch_add(1, Ordering::Relaxed) < tokens {
                match tokio::time::timeout(TOKEN_TIMEOUT, client.token(&request)).await {
                    Ok(Ok(outcome)) => {
                        done.ok += 1;
                        done.requests += u64::from(outcome.attempts);
                    }
                    Ok(Err(e)) => {
                        done.failed += 1;
                        done.first_error.get_or_insert_with(|| e.to_string());
                    }
                    Err(_) => {
                        done.failed += 1;
                        done.first_error.get_or_insert_with(|| {
                            format!("no token within {} s", TOKEN_TIMEOUT.as_secs())
                        });
                    }
                }
            }
            done
        }));
    }
    let mut total = Driven::default();
    for worker in workers {
        match worker.await {
            Ok(done) => total.merge(done),
            Err(e) => total.merge(Driven {
                failed: 1,
                first_error: Some(format!("a load task failed: {e}")),
                ..Driven::default()
            }),
        }
    }
    total
}

/// A signing input the size of an access token the STS issues (header and claims).
fn token_signing_input() -> Vec<u8> {
    let header =
        json!({"alg": "RS256", "kid": "0123456789ABCDEF0123456789ABCDEF", "typ": "at+jwt"});
    let claims = json!({
        "iss": "http://127.0.0.1:8080",
        "nbf": 1_790_000_000, "iat": 1_790_000_000, "exp": 1_790_000_600,
        "aud": "nhn:bench-api",
        "scope": ["nhn:bench-api/read"],
        "client_id": "0123456789ABCDEF0123456789ABCDEF",
        "jti": "0123456789ABCDEF0123456789ABCDEF",
        "cnf": {"jkt": "0123456789abcdef0123456789abcdef0123456789a"},
        "helseid://claims/client/client_name": "Testbed demo client",
        "helseid://claims/client/client_tenancy": "single-tenancy",
        "helseid://claims/client/claims/orgnr_parent": "999999999",
        "helseid://claims/client/amr": "rsa_private_key",
    });
    let mut input = b64_encode(header.to_string().as_bytes());
    input.push('.');
    input.push_str(&b64_encode(claims.to_string().as_bytes()));
    input.into_bytes()
}

/// Median µs per operation over [`SIGN_BATCHES`] batches of `per_batch`.
fn median_cost(
    per_batch: usize,
    mut op: impl FnMut() -> Result<(), String>,
) -> Result<f64, String> {
    let mut batches = Vec::with_capacity(SIGN_BATCHES);
    for _ in 0..SIGN_BATCHES {
        let started = Instant::now();
        for _ in 0..per_batch {
            op()?;
        }
        batches.push(started.elapsed().as_secs_f64() * 1e6 / per_batch as f64);
    }
    Ok(median(&batches))
}

/// One RS256 signature with a 2048-bit key, as the STS signs its tokens: the median wall µs of
/// the batches, and the mean on-CPU µs of this thread over all of them (clock ticks, so only
/// with enough signatures to span many ticks).
fn sign_cost(
    key: &SigningKey,
    input: &[u8],
    ticks: &ClockTicks,
) -> Result<(f64, Option<f64>), String> {
    let before = thread_cpu();
    let wall = median_cost(SIGNS_PER_BATCH, || {
        key.sign_raw(std::hint::black_box(input))
            .map(|s| {
                std::hint::black_box(s);
            })
            .map_err(|e| format!("RS256 signing failed: {e}"))
    })?;
    let cpu = match (before, thread_cpu()) {
        (Some(b), Some(a)) => {
            Some(ticks_us(a.saturating_sub(b), ticks) / (SIGN_BATCHES * SIGNS_PER_BATCH) as f64)
        }
        _ => None,
    };
    Ok((wall, cpu))
}

/// This thread's utime + stime in clock ticks, where Linux tells it.
fn thread_cpu() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let (u, s) = parse_stat(&text).ok()?;
    Some(u + s)
}

/// What the STS verifies per request: the client assertion (the demo client signs PS256; RS256
/// for comparison) and the DPoP proof (ES256).
fn verify_costs(rsa: &SigningKey, input: &[u8]) -> Result<VerifyCosts, String> {
    let pkcs8 = rsa.to_pkcs8().map_err(|e| e.to_string())?;
    let pss = SigningKey::from_pkcs8(&pkcs8, Alg::PS256, "bench-pss".into())
        .map_err(|e| e.to_string())?;
    let ec = SigningKey::generate_ec(Alg::ES256, "bench-ec".into()).map_err(|e| e.to_string())?;
    let cost = |key: &SigningKey| -> Result<f64, String> {
        let sig = key.sign_raw(input).map_err(|e| e.to_string())?;
        let public = key.public_jwk();
        median_cost(VERIFIES_PER_BATCH, || {
            public
                .verify(key.alg, std::hint::black_box(input), &sig)
                .map_err(|e| format!("{} verification failed: {e}", key.alg))
        })
    };
    Ok(VerifyCosts {
        rs256_us: cost(rsa)?,
        ps256_us: cost(&pss)?,
        es256_us: cost(&ec)?,
    })
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `getconf CLK_TCK`, else the usual 100.
fn clock_ticks() -> ClockTicks {
    let read = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|n| *n > 0);
    match read {
        Some(per_sec) => ClockTicks {
            per_sec,
            source: "getconf CLK_TCK",
        },
        None => ClockTicks {
            per_sec: 100,
            source: "assumed (getconf CLK_TCK failed)",
        },
    }
}

/// (utime, stime) of a process in clock ticks, all its threads together (proc(5)).
fn proc_cpu(pid: u32) -> Result<(u64, u64), String> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("cannot read {path}: {e} (CPU figures need Linux's /proc and a live process)")
    })?;
    parse_stat(&text).map_err(|e| format!("{path}: {e}"))
}

/// utime and stime (fields 14 and 15) of a `stat` line.
fn parse_stat(text: &str) -> Result<(u64, u64), String> {
    // The command name (field 2) may hold spaces; fields after it are plain numbers.
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("no command name")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state).
    let field = |i: usize| -> Result<u64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("field {} is not a number", i + 3))
    };
    Ok((field(11)?, field(12)?))
}

/// VmRSS and VmHWM of a process (proc(5), `/proc/<pid>/status`).
fn proc_memory(pid: u32) -> Result<Memory, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let kib = |name: &str| -> Result<u64, String> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("{path} has no {name} line"))
    };
    Ok(Memory {
        rss_kib: kib("VmRSS:")?,
        peak_kib: kib("VmHWM:")?,
    })
}

impl RunResult {
    fn tokens_per_sec(&self) -> f64 {
        f64::from(self.tokens) / self.wall.as_secs_f64()
    }

    fn server_us_per_token(&self, ticks: &ClockTicks) -> Option<f64> {
        self.server_ticks
            .map(|(u, s)| ticks_us(u + s, ticks) / f64::from(self.tokens))
    }

    fn server_split_us(&self, ticks: &ClockTicks) -> Option<(f64, f64)> {
        self.server_ticks.map(|(u, s)| {
            (
                ticks_us(u, ticks) / f64::from(self.tokens),
                ticks_us(s, ticks) / f64::from(self.tokens),
            )
        })
    }

    fn own_us_per_token(&self, ticks: &ClockTicks) -> f64 {
        ticks_us(self.own_ticks, ticks) / f64::from(self.tokens)
    }

    fn ratio(&self, ticks: &ClockTicks) -> Option<f64> {
        self.server_us_per_token(ticks).map(|s| s / self.sign_us)
    }

    /// The ratio against the on-CPU cost of a signature.
    fn ratio_cpu(&self, ticks: &ClockTicks) -> Option<f64> {
        self.server_us_per_token(ticks)
            .zip(self.sign_cpu_us)
            .map(|(s, c)| s / c)
    }

    fn to_json(&self, ticks: &ClockTicks) -> Value {
        json!({
            "tokens": self.tokens,
            "requests": self.requests,
            "wall_s": self.wall.as_secs_f64(),
            "tokens_per_s": self.tokens_per_sec(),
            "server_cpu_ticks": self.server_ticks.map(|(u, s)| json!({"user": u, "system": s})),
            "server_cpu_us_per_token": self.server_us_per_token(ticks),
            "server_user_us_per_token": self.server_split_us(ticks).map(|s| s.0),
            "server_system_us_per_token": self.server_split_us(ticks).map(|s| s.1),
            "rs256_sign_us": self.sign_us,
            "rs256_sign_cpu_us": self.sign_cpu_us,
            "ratio": self.ratio(ticks),
            "ratio_against_sign_cpu": self.ratio_cpu(ticks),
            "load_generator_cpu_us_per_token": self.own_us_per_token(ticks),
        })
    }
}

fn ticks_us(ticks: u64, clock: &ClockTicks) -> f64 {
    ticks as f64 * 1e6 / clock.per_sec as f64
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The median of a per-run figure, if every run has it.
fn median_of(runs: &[RunResult], f: impl Fn(&RunResult) -> Option<f64>) -> Option<f64> {
    let values: Option<Vec<f64>> = runs.iter().map(f).collect();
    values.filter(|v| !v.is_empty()).map(|v| median(&v))
}

impl Report {
    fn medians(&self) -> Medians {
        let t = &self.ticks;
        Medians {
            tokens_per_sec: median_of(&self.runs, |r| Some(r.tokens_per_sec())),
            server_us: median_of(&self.runs, |r| r.server_us_per_token(t)),
            server_user_us: median_of(&self.runs, |r| r.server_split_us(t).map(|s| s.0)),
            server_system_us: median_of(&self.runs, |r| r.server_split_us(t).map(|s| s.1)),
            sign_us: median_of(&self.runs, |r| Some(r.sign_us)),
            sign_cpu_us: median_of(&self.runs, |r| r.sign_cpu_us),
            ratio: median_of(&self.runs, |r| r.ratio(t)),
            ratio_cpu: median_of(&self.runs, |r| r.ratio_cpu(t)),
            own_us: median_of(&self.runs, |r| Some(r.own_us_per_token(t))),
            requests_per_token: median_of(&self.runs, |r| {
                Some(r.requests as f64 / f64::from(r.tokens))
            }),
        }
    }

    fn idle_rss_met(&self) -> Option<bool> {
        let worst = [self.rss_after_startup, self.rss_after_load]
            .iter()
            .flatten()
            .map(|m| m.rss_kib)
            .max()?;
        Some((worst as f64) * 1024.0 < TARGET_IDLE_RSS_BYTES)
    }

    fn to_json(&self) -> Value {
        let m = self.medians();
        let memory = |m: Option<Memory>| {
            m.map(|m| json!({"rss_mib": mib(m.rss_kib), "peak_rss_mib": mib(m.peak_kib)}))
        };
        json!({
            "command": self.command,
            "build": build_profile(),
            "issuer": self.target,
            "server": if self.spawned { "spawned" } else { "external" },
            "server_pid": self.pid,
            "tokens_per_run": self.tokens,
            "concurrency": self.concurrency,
            "warmup_tokens": self.warmup,
            "runs": self.runs.len(),
            "clock_ticks_per_s": self.ticks.per_sec,
            "clock_ticks_source": self.ticks.source,
            "median": {
                "tokens_per_s": m.tokens_per_sec,
                "server_cpu_us_per_token": m.server_us,
                "server_user_us_per_token": m.server_user_us,
                "server_system_us_per_token": m.server_system_us,
                "rs256_sign_us": m.sign_us,
                "rs256_sign_cpu_us": m.sign_cpu_us,
                "ratio": m.ratio,
                "ratio_against_sign_cpu": m.ratio_cpu,
                "load_generator_cpu_us_per_token": m.own_us,
                "requests_per_token": m.requests_per_token,
            },
            "all_runs": self.runs.iter().map(|r| r.to_json(&self.ticks)).collect::<Vec<_>>(),
            "verify_us": {
                "rs256": self.verify.rs256_us,
                "ps256": self.verify.ps256_us,
                "es256": self.verify.es256_us,
            },
            "server_memory": {
                "after_startup": memory(self.rss_after_startup),
                "after_load": memory(self.rss_after_load),
            },
            "targets": {
                "ratio_max": TARGET_RATIO,
                "ratio_met": m.ratio.map(|r| r <= TARGET_RATIO),
                "idle_rss_max_mb": TARGET_IDLE_RSS_BYTES / 1e6,
                "idle_rss_met": self.idle_rss_met(),
            },
        })
    }

    fn to_text(&self) -> String {
        let m = self.medians();
        let t = &self.ticks;
        let opt =
            |v: Option<f64>, digits: usize| v.map_or("n/a".to_owned(), |v| format!("{v:.digits$}"));
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!(
            "helseid-bench: {} tokens x {} runs, concurrency {}, warm-up {} tokens ({} build)",
            self.tokens,
            self.runs.len(),
            self.concurrency,
            self.warmup,
            build_profile()
        ));
        line(format!(
            "STS: {} ({}{})",
            self.target,
            if self.spawned {
                "started by this command"
            } else {
                "external"
            },
            self.pid.map_or(String::new(), |p| format!(", pid {p}"))
        ));
        line(format!(
            "each token: {} requests (use_dpop_nonce, then the token), a fresh client assertion and DPoP proof per request",
            opt(m.requests_per_token, 2)
        ));
        line(format!(
            "CPU time from /proc/<pid>/stat utime+stime at {} ticks/s ({})",
            t.per_sec, t.source
        ));
        line(String::new());
        let row = |cells: [&str; 9]| {
            format!(
                "{:>4}  {:>9}  {:>10}  {:>8}  {:>8}  {:>10}  {:>8}  {:>6}  {:>13}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                cells[5],
                cells[6],
                cells[7],
                cells[8]
            )
        };
        line(row([
            "run",
            "tokens/s",
            "server CPU",
            "user",
            "system",
            "RS256 sign",
            "sign CPU",
            "ratio",
            "load gen. CPU",
        ]));
        line(row([
            "",
            "",
            "µs/token",
            "µs/token",
            "µs/token",
            "µs",
            "µs",
            "",
            "µs/token",
        ]));
        for (i, r) in self.runs.iter().enumerate() {
            let split = r.server_split_us(t);
            line(row([
                &(i + 1).to_string(),
                &format!("{:.1}", r.tokens_per_sec()),
                &opt(r.server_us_per_token(t), 0),
                &opt(split.map(|s| s.0), 0),
                &opt(split.map(|s| s.1), 0),
                &format!("{:.1}", r.sign_us),
                &opt(r.sign_cpu_us, 1),
                &opt(r.ratio(t), 2),
                &format!("{:.0}", r.own_us_per_token(t)),
            ]));
        }
        line(row([
            "med.",
            &opt(m.tokens_per_sec, 1),
            &opt(m.server_us, 0),
            &opt(m.server_user_us, 0),
            &opt(m.server_system_us, 0),
            &opt(m.sign_us, 1),
            &opt(m.sign_cpu_us, 1),
            &opt(m.ratio, 2),
            &opt(m.own_us, 0),
        ]));
        line(String::new());
        line(format!("tokens/s: {} (median)", opt(m.tokens_per_sec, 1)));
        line(format!(
            "server CPU per token: {} µs (median)",
            opt(m.server_us, 0)
        ));
        line(format!(
            "RS256 sign (2048-bit key, the floor): {} µs (median wall time of {SIGN_BATCHES} batches of {SIGNS_PER_BATCH}, per run; {} µs on-CPU)",
            opt(m.sign_us, 1),
            opt(m.sign_cpu_us, 1)
        ));
        line(format!(
            "verify for context: RS256 {:.1} µs, PS256 {:.1} µs, ES256 {:.1} µs",
            self.verify.rs256_us, self.verify.ps256_us, self.verify.es256_us
        ));
        let verdict = |ratio: Option<f64>| match ratio {
            Some(r) if r <= TARGET_RATIO => "met",
            Some(_) => "MISSED",
            None => "not measured",
        };
        line(format!(
            "ratio server CPU per token / RS256 sign: {} (target <= {TARGET_RATIO:.1}: {}); against the on-CPU sign cost: {} ({})",
            opt(m.ratio, 2),
            verdict(m.ratio),
            opt(m.ratio_cpu, 2),
            verdict(m.ratio_cpu)
        ));
        let rss = |m: Option<Memory>| {
            m.map_or("n/a".to_owned(), |m| {
                format!(
                    "{:.1} MiB (peak {:.1} MiB)",
                    mib(m.rss_kib),
                    mib(m.peak_kib)
                )
            })
        };
        let rss_verdict = match self.idle_rss_met() {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        };
        line(format!(
            "server idle RSS: {} after startup, {} after the load (target < 40 MB = 38.1 MiB: {rss_verdict})",
            rss(self.rss_after_startup),
            rss(self.rss_after_load)
        ));
        if self.pid.is_none() {
            line("no server CPU or memory figures: give --server-pid with --issuer".into());
        }
        out
    }
}

#[derive(Debug)]
struct Medians {
    tokens_per_sec: Option<f64>,
    server_us: Option<f64>,
    server_user_us: Option<f64>,
    server_system_us: Option<f64>,
    sign_us: Option<f64>,
    sign_cpu_us: Option<f64>,
    ratio: Option<f64>,
    ratio_cpu: Option<f64>,
    own_us: Option<f64>,
    requests_per_token: Option<f64>,
}

fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

fn print(report: &Report, as_json: bool) -> Result<(), String> {
    if as_json {
        let text = serde_json::to_string_pretty(&report.to_json()).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn own_cpu_and_memory_are_readable() {
        let (u, s) = proc_cpu(std::process::id()).unwrap();
        assert!(u + s < u64::MAX);
        let m = proc_memory(std::process::id()).unwrap();
        assert!(m.rss_kib > 0 && m.peak_kib >= m.rss_kib);
        assert!(proc_cpu(u32::MAX).is_err());
    }
}
