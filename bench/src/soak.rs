//! `helseid-bench --soak`: memory under endless load (BENCHMARKS.md, issue 14).
//!
//! Three phases against one STS: a warm-up of system tokens, after which the server's RSS is
//! the reference; then many more system tokens, sampling RSS as they go; then a mix of HTTP
//! requests as a vendor's test suite sends them (system tokens, user logins through TestIDP
//! with userinfo, refreshes, and malformed requests). The verdicts: RSS at the end of the
//! tokens phase at most 1.25× the warm figure, and in the mixed phase no 5xx and no failure
//! of a well-formed flow, with RSS as flat.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use helseid_reference::client::{Client, TokenRequest};
use helseid_reference::login::{PersonLogin, as_person};
use serde_json::{Value, json};

/// RSS after the load may be at most this many times the warm figure.
pub const MAX_GROWTH: f64 = 1.25;

#[derive(Debug, Clone, Copy)]
pub struct SoakPlan {
    pub warmup_tokens: u64,
    pub tokens: u64,
    pub mixed_requests: u64,
    pub concurrency: u32,
}

/// One RSS reading, after `done` units of the phase.
#[derive(Debug, Clone, Copy)]
struct Sample {
    done: u64,
    rss_kib: u64,
}

#[derive(Debug, Default)]
struct Mixed {
    /// Which kind of request comes next (a counter over the whole phase).
    turn: AtomicU64,
    /// Refresh tokens from logins, waiting to be redeemed (each rotates).
    refresh_tokens: std::sync::Mutex<Vec<String>>,
    requests: AtomicU64,
    tokens: AtomicU64,
    logins: AtomicU64,
    refreshes: AtomicU64,
    bad: AtomicU64,
    /// Statuses of the malformed requests, by class.
    status_4xx: AtomicU64,
    status_5xx: AtomicU64,
    /// Well-formed flows that did not succeed.
    failed: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

impl Mixed {
    fn fail(&self, e: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(e);
    }
}

/// Malformed requests a fuzzing vendor or a broken client sends: (method, path, content
/// type, body).
const BAD: [(&str, &str, &str, &str); 6] = [
    (
        "POST",
        "/connect/token",
        "application/x-www-form-urlencoded",
        "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJ.garbage.x",
    ),
    (
        "POST",
        "/connect/token",
        "application/json",
        "{\"grant_type\":1}",
    ),
    (
        "POST",
        "/connect/par",
        "application/x-www-form-urlencoded",
        "",
    ),
    (
        "GET",
        "/connect/authorize?client_id=nobody&request_uri=urn:x",
        "",
        "",
    ),
    ("GET", "/connect/userinfo", "", ""),
    (
        "POST",
        "/connect/token",
        "application/x-www-form-urlencoded",
        "grant_type=refresh_token&refresh_token=%FF%FE&grant_type=x",
    ),
];

#[allow(clippy::too_many_arguments)]
pub fn run(
    plan: SoakPlan,
    issuer: &str,
    system: Arc<Client>,
    login: Arc<Client>,
    login_scopes: Vec<String>,
    redirect_uri: String,
    pid: Option<u32>,
    read_rss: fn(u32) -> Result<u64, String>,
) -> Result<Value, String> {
    let Some(pid) = pid else {
        return Err("--soak needs the server's process id (start it here, or --server-pid)".into());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(plan.concurrency.clamp(2, 64) as usize)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let started = Instant::now();
    let rss_start = read_rss(pid)?;

    eprintln!("soak: warm-up, {} system tokens", plan.warmup_tokens);
    runtime.block_on(tokens(&system, plan.warmup_tokens, plan.concurrency))?;
    std::thread::sleep(Duration::from_millis(500));
    let rss_warm = read_rss(pid)?;
    eprintln!("soak: warm RSS {:.1} MiB", mib(rss_warm));

    let mut token_samples = Vec::new();
    let step = (plan.tokens / 10).max(1);
    let mut done = 0;
    while done < plan.tokens {
        let n = step.min(plan.tokens - done);
        runtime.block_on(tokens(&system, n, plan.concurrency))?;
        done += n;
        let rss = read_rss(pid)?;
        eprintln!(
            "soak: {done} tokens after the warm-up, RSS {:.1} MiB",
            mib(rss)
        );
        token_samples.push(Sample { done, rss_kib: rss });
    }
    let rss_tokens = token_samples.last().map_or(rss_warm, |s| s.rss_kib);

    let practitioner = runtime.block_on(first_practitioner(&login, issuer))?;
    let mixed = Arc::new(Mixed::default());
    let mut mixed_samples = Vec::new();
    let step = (plan.mixed_requests / 10).max(1);
    let mut target = 0;
    while target < plan.mixed_requests {
        target = (target + step).min(plan.mixed_requests);
        runtime.block_on(mix(
            &system,
            &login,
            &login_scopes,
            &redirect_uri,
            &practitioner,
            issuer,
            &mixed,
            target,
            plan.concurrency,
        ));
        let rss = read_rss(pid)?;
        let sent = mixed.requests.load(Ordering::Relaxed);
        eprintln!("soak: {sent} mixed requests, RSS {:.1} MiB", mib(rss));
        mixed_samples.push(Sample {
            done: sent,
            rss_kib: rss,
        });
    }
    let rss_end = mixed_samples.last().map_or(rss_tokens, |s| s.rss_kib);
    let growth = rss_tokens as f64 / rss_warm.max(1) as f64;
    let growth_end = rss_end as f64 / rss_warm.max(1) as f64;
    let load = |o: &AtomicU64| o.load(Ordering::Relaxed);
    let fives = load(&mixed.status_5xx);
    let failed = load(&mixed.failed);
    let first_error = mixed
        .first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let samples = |s: &[Sample]| {
        s.iter()
            .map(|x| json!({"after": x.done, "rss_mib": round(mib(x.rss_kib))}))
            .collect::<Vec<_>>()
    };
    Ok(json!({
        "seconds": started.elapsed().as_secs(),
        "rss_mib": {
            "start": round(mib(rss_start)),
            "warm": round(mib(rss_warm)),
            "after_tokens": round(mib(rss_tokens)),
            "after_mixed": round(mib(rss_end)),
        },
        "tokens_phase": { "tokens": plan.tokens, "samples": samples(&token_samples) },
        "mixed_phase": {
            "requests": load(&mixed.requests),
            "system_tokens": load(&mixed.tokens),
            "logins": load(&mixed.logins),
            "refreshes": load(&mixed.refreshes),
            "malformed": load(&mixed.bad),
            "malformed_4xx": load(&mixed.status_4xx),
            "status_5xx": fives,
            "failed_flows": failed,
            "first_error": first_error,
            "samples": samples(&mixed_samples),
        },
        "growth_after_tokens": round(growth),
        "growth_after_mixed": round(growth_end),
        "max_growth": MAX_GROWTH,
        "memory_met": growth <= MAX_GROWTH && growth_end <= MAX_GROWTH,
        "no_5xx_met": fives == 0 && failed == 0,
    }))
}

fn pool(m: &Mixed) -> std::sync::MutexGuard<'_, Vec<String>> {
    m.refresh_tokens.lock().unwrap_or_else(|p| p.into_inner())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

async fn tokens(client: &Arc<Client>, n: u64, concurrency: u32) -> Result<(), String> {
    let next = Arc::new(AtomicU64::new(0));
    let request = Arc::new(TokenRequest::default());
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, next, request) = (client.clone(), next.clone(), request.clone());
        workers.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                client.token(&request).await.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }));
    }
    for w in workers {
        w.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

async fn first_practitioner(client: &Client, issuer: &str) -> Result<String, String> {
    let env: Value = client
        .http()
        .get(format!("{issuer}/testbed/environment"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    env["test_persons"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["hpr_number"].is_string()))
        .and_then(|p| p["pid"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| "the environment lists no health worker".into())
}

#[allow(clippy::too_many_arguments)]
async fn mix(
    system: &Arc<Client>,
    login: &Arc<Client>,
    scopes: &[String],
    redirect_uri: &str,
    pid: &str,
    issuer: &str,
    m: &Arc<Mixed>,
    until: u64,
    concurrency: u32,
) {
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (system, login, m) = (system.clone(), login.clone(), m.clone());
        let (scopes, redirect_uri, pid, issuer) = (
            scopes.to_vec(),
            redirect_uri.to_owned(),
            pid.to_owned(),
            issuer.to_owned(),
        );
        workers.push(tokio::spawn(async move {
            let request = TokenRequest::default();
            while m.requests.load(Ordering::Relaxed) < until {
                let turn = m.turn.fetch_add(1, Ordering::Relaxed);
                match turn % 20 {
                    // Half system tokens (each two requests: the DPoP nonce round trip).
                    0..=9 => match system.token(&request).await {
                        Ok(o) => {
                            m.tokens.fetch_add(1, Ordering::Relaxed);
                            m.requests
                                .fetch_add(u64::from(o.attempts), Ordering::Relaxed);
                        }
                        Err(e) => m.fail(format!("system token: {e}")),
                    },
                    // A user login through TestIDP, the code redeemed, then userinfo.
                    10 => {
                        let who = PersonLogin {
                            idp: "testidp",
                            scheme: "testidp-oidc",
                            pid: &pid,
                            level: 4,
                            redirect_uri: &redirect_uri,
                            scope: None,
                        };
                        match as_person(&login, &scopes, &who).await {
                            Ok(shown) => {
                                m.logins.fetch_add(1, Ordering::Relaxed);
                                let steps = shown["browser_steps"].as_array().map_or(0, Vec::len)
                                    + shown["token_requests"].as_array().map_or(0, Vec::len)
                                    + 2;
                                m.requests.fetch_add(steps as u64, Ordering::Relaxed);
                                match shown["token_response"]["refresh_token"].as_str() {
                                    Some(rt) => pool(&m).push(rt.to_owned()),
                                    None => m.fail("login: no refresh token".into()),
                                }
                            }
                            Err(e) => m.fail(format!("login: {e}")),
                        }
                    }
                    // Refreshes of the last login's refresh token (it rotates).
                    11..=14 => {
                        let Some(rt) = pool(&m).pop() else {
                            continue;
                        };
                        match login.refresh(&rt, None, None).await {
                            Ok(o) => {
                                m.refreshes.fetch_add(1, Ordering::Relaxed);
                                m.requests
                                    .fetch_add(u64::from(o.attempts), Ordering::Relaxed);
                                if let Some(rt) = o.response.refresh_token.clone() {
                                    pool(&m).push(rt);
                                }
                            }
                            Err(e) => m.fail(format!("refresh: {e}")),
                        }
                    }
                    // Malformed requests.
                    t => {
                        let (method, path, content_type, body) = BAD[(t as usize) % BAD.len()];
                        let url = format!("{issuer}{path}");
                        let mut req = match method {
                            "GET" => login.http().get(url),
                            _ => login.http().post(url).body(body),
                        };
                        if !content_type.is_empty() {
                            req = req.header("content-type", content_type);
                        }
                        m.requests.fetch_add(1, Ordering::Relaxed);
                        m.bad.fetch_add(1, Ordering::Relaxed);
                        match req.send().await {
                            Ok(r) if r.status().is_server_error() => {
                                m.status_5xx.fetch_add(1, Ordering::Relaxed);
                                m.fail(format!("{method} {path}: {}", r.status()));
                            }
                            Ok(r) if r.status().is_client_error() => {
                                m.status_4xx.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(r) => m.fail(format!(
                                "{method} {path}: {} to a malformed request",
                                r.status()
                            )),
                            Err(e) => m.fail(format!("{method} {path}: {e}")),
                        }
                    }
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
}
