//! `helseid-bench --persons`: the person API's latency over the default population
//! (BENCHMARKS.md, issue 15: "answers an identifier search and a name search over 20,000
//! persons in under 20 ms each").
//!
//! One request at a time, since latency is the point: the median, p95 and maximum of
//!
//! - identifier searches (`POST [base]/Person/_search`, `identifier=<number>`) for random
//!   persons of the population, each answer checked to hold that one person;
//! - name searches (`GET [base]/Person?name=...&_count=20`): mostly three-letter prefixes of
//!   a random person's family name, every fifth a random person's whole given name; each
//!   scans all persons, and each answer must be 200 with a total of at least 1;
//! - reads by id (`GET [base]/Person/[id]`) of persons the identifier searches found.
//!
//! Every request carries the DPoP-bound token and a fresh proof, both made before the clock
//! starts; the clock stops when the whole body has been read. Beside the three kinds it
//! times, as diagnostics, the unauthenticated `GET [base]/metadata` (the HTTP floor) and
//! name searches with `_summary=count` (authorisation and the scan, no resources), and the
//! server's CPU per request of each kind, which say where the time goes.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt as _, SeedableRng};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use helseid_reference::client::{Client, TokenRequest};
use reqwest::Method;
use serde_json::{Value, json};
use synthpop::Population;

/// The target for the median of each kind.
pub const TARGET_MEDIAN_MS: f64 = 20.0;
/// The person API's read scope, which the demo client has.
pub const SCOPE: &str = "nhn:hgd-persontjenesten-api/read-with-legal-basis";
/// `up`'s default population (mock_sts::seed::DEFAULT_POPULATION).
pub const POPULATION: u64 = 20_000;
const FHIR_JSON: &str = "application/fhir+json; fhirVersion=4.0";
/// A token with less than this left is replaced before the next request.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// One request that takes longer than this is an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Every this many name searches, one is a whole given name instead of a family prefix.
const GIVEN_EVERY: u32 = 5;

#[derive(Debug, Clone, Copy)]
pub struct PersonsPlan {
    /// Measured requests of each kind.
    pub requests: u32,
    /// How long the API may take to answer its first request (the index is built then).
    pub startup_timeout: Duration,
}

/// The server's CPU time so far, in clock ticks, and the ticks per second.
pub struct ServerCpu {
    pub read: Box<dyn Fn() -> Option<u64>>,
    pub ticks_per_sec: u64,
}

pub fn run(
    plan: PersonsPlan,
    issuer: &str,
    client: Client,
    server_cpu: Option<ServerCpu>,
) -> Result<Value, String> {
    let population = Population::new(synthpop::DEFAULT_SEED, POPULATION)
        .map_err(|e| format!("the population: {e}"))?;
    // One thread: the requests go one at a time, and the proofs are made between them.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut bench = Bench {
        base: format!("{}/persontjenesten/fhir", issuer.trim_end_matches('/')),
        client,
        token: None,
        tokens: 0,
        population,
        rng: Picker::new(seed),
        ids: Vec::new(),
        cpu: server_cpu,
    };
    runtime.block_on(bench.go(plan, seed))
}

struct Token {
    value: String,
    until: Instant,
}

struct Bench {
    base: String,
    client: Client,
    token: Option<Token>,
    tokens: u32,
    population: Population,
    rng: Picker,
    /// Person ids the identifier searches found, for the reads.
    ids: Vec<String>,
    cpu: Option<ServerCpu>,
}

/// What one request is and what its answer must be.
enum Call {
    Identifier { pid: String },
    Name { value: String, count_only: bool },
    Read { id: String },
    Metadata,
}

/// One answer: status, body (JSON when it parses) and the time from send to the body's end.
struct Answer {
    status: u16,
    body: Value,
    elapsed: Duration,
}

/// The latencies of one kind of request and what went wrong.
#[derive(Default)]
struct Kind {
    ms: Vec<f64>,
    /// Milliseconds to make the DPoP proof (outside the measured time).
    proof_ms: Vec<f64>,
    wrong: u64,
    first_wrong: Option<String>,
    server_ticks: Option<u64>,
}

impl Kind {
    fn record(&mut self, answer: &Answer, proof: Option<Duration>, verdict: Result<(), String>) {
        self.ms.push(ms(answer.elapsed));
        if let Some(p) = proof {
            self.proof_ms.push(ms(p));
        }
        if let Err(e) = verdict {
            self.wrong += 1;
            self.first_wrong.get_or_insert(e);
        }
    }

    fn to_json(&self, cpu: Option<&ServerCpu>, target: Option<f64>) -> Value {
        let mut sorted = self.ms.clone();
        sorted.sort_by(f64::total_cmp);
        let median = percentile(&sorted, 0.5);
        let mut out = json!({
            "count": sorted.len(),
            "median_ms": round3(median),
            "p95_ms": round3(percentile(&sorted, 0.95)),
            "max_ms": round3(sorted.last().copied().unwrap_or(f64::NAN)),
            "min_ms": round3(sorted.first().copied().unwrap_or(f64::NAN)),
            "mean_ms": round3(sorted.iter().sum::<f64>() / sorted.len().max(1) as f64),
            "wrong_answers": self.wrong,
            "first_wrong": self.first_wrong,
        });
        if !self.proof_ms.is_empty() {
            let mut proofs = self.proof_ms.clone();
            proofs.sort_by(f64::total_cmp);
            out["dpop_proof_median_ms"] = json!(round3(percentile(&proofs, 0.5)));
        }
        if let (Some(ticks), Some(cpu)) = (self.server_ticks, cpu) {
            let per = ticks as f64 * 1000.0 / cpu.ticks_per_sec as f64 / sorted.len().max(1) as f64;
            out["server_cpu_ms_per_request"] = json!(round3(per));
        }
        if let Some(t) = target {
            out["median_met"] = json!(median < t);
        }
        out
    }
}

impl Bench {
    async fn go(&mut self, plan: PersonsPlan, seed: u64) -> Result<Value, String> {
        let started = Instant::now();
        let ready_ms = self.wait_until_ready(plan.startup_timeout).await?;
        eprintln!("persons: the API answered after {ready_ms:.0} ms; warming up");
        let n = plan.requests;
        let warmup = (n / 10).max(20);
        // Warm-up, not measured: connections, the server's caches (keys), the first ids.
        let mut discard = Kind::default();
        for i in 0..warmup {
            let call = self.identifier_call();
            self.measure(&call, &mut discard).await?;
            let call = self.name_call(i, false);
            self.measure(&call, &mut discard).await?;
            if let Some(call) = self.read_call() {
                self.measure(&call, &mut discard).await?;
            }
            self.measure(&Call::Metadata, &mut discard).await?;
        }
        if discard.wrong > 0 {
            return Err(format!(
                "{} wrong answers in the warm-up, the first: {}",
                discard.wrong,
                discard.first_wrong.unwrap_or_default()
            ));
        }

        // The kinds one after another, so the server's CPU per request is each kind's own.
        eprintln!("persons: {n} identifier searches");
        let mut identifier = Kind::default();
        let cpu = self.cpu_ticks();
        for _ in 0..n {
            let call = self.identifier_call();
            self.measure(&call, &mut identifier).await?;
        }
        identifier.server_ticks = self.ticks_since(cpu);

        eprintln!("persons: {n} name searches");
        let (mut name, mut family, mut given) = (Kind::default(), Kind::default(), Kind::default());
        let cpu = self.cpu_ticks();
        for i in 0..n {
            let call = self.name_call(i, false);
            let part = if i % GIVEN_EVERY == GIVEN_EVERY - 1 {
                &mut given
            } else {
                &mut family
            };
            let before = (part.ms.len(), part.wrong);
            self.measure(&call, part).await?;
            // The same figures for the kind as a whole.
            if let Some(&last) = part.ms.get(before.0) {
                name.ms.push(last);
            }
            if part.proof_ms.len() > before.0
                && let Some(&p) = part.proof_ms.last()
            {
                name.proof_ms.push(p);
            }
            if part.wrong > before.1 {
                name.wrong += 1;
                if name.first_wrong.is_none() {
                    name.first_wrong = part.first_wrong.clone();
                }
            }
        }
        name.server_ticks = self.ticks_since(cpu);

        eprintln!("persons: {n} reads by id");
        let mut read = Kind::default();
        let cpu = self.cpu_ticks();
        for _ in 0..n {
            let call = self
                .read_call()
                .ok_or("no person ids: the identifier searches found nobody")?;
            self.measure(&call, &mut read).await?;
        }
        read.server_ticks = self.ticks_since(cpu);

        let diagnostics_n = (n / 5).max(20);
        eprintln!("persons: diagnostics, {diagnostics_n} of metadata and _summary=count");
        let mut metadata = Kind::default();
        let cpu = self.cpu_ticks();
        for _ in 0..diagnostics_n {
            self.measure(&Call::Metadata, &mut metadata).await?;
        }
        metadata.server_ticks = self.ticks_since(cpu);
        let mut counted = Kind::default();
        let cpu = self.cpu_ticks();
        for i in 0..diagnostics_n {
            // Family prefixes only, as most of the name searches above.
            let call = self.name_call(i * GIVEN_EVERY, true);
            self.measure(&call, &mut counted).await?;
        }
        counted.server_ticks = self.ticks_since(cpu);

        let cpu = self.cpu.as_ref();
        let target = Some(TARGET_MEDIAN_MS);
        let kinds = [&identifier, &name, &read];
        let medians_met = kinds
            .iter()
            .all(|k| percentile_of(&k.ms, 0.5) < TARGET_MEDIAN_MS);
        let all_right = kinds.iter().all(|k| k.wrong == 0) && metadata.wrong + counted.wrong == 0;
        let mut name_json = name.to_json(cpu, target);
        name_json["family_prefix_3"] = family.to_json(None, None);
        name_json["given_name"] = given.to_json(None, None);
        Ok(json!({
            "seconds": round3(started.elapsed().as_secs_f64()),
            "build": if cfg!(debug_assertions) { "debug" } else { "release" },
            "base": self.base,
            "population": { "seed": synthpop::DEFAULT_SEED, "size": POPULATION },
            "rng_seed": seed,
            "requests_per_kind": n,
            "warmup_per_kind": warmup,
            "sequential": true,
            "api_ready_ms": round3(ready_ms),
            "tokens_fetched": self.tokens,
            "target_median_ms": TARGET_MEDIAN_MS,
            "identifier": identifier.to_json(cpu, target),
            "name": name_json,
            "read": read.to_json(cpu, target),
            "diagnostics": {
                "metadata_without_token": metadata.to_json(cpu, None),
                "name_summary_count": counted.to_json(cpu, None),
            },
            "medians_met": medians_met,
            "answers_right": all_right,
            "met": medians_met && all_right,
        }))
    }

    /// Identifier searches until one is answered 200; the milliseconds it took.
    async fn wait_until_ready(&mut self, timeout: Duration) -> Result<f64, String> {
        let started = Instant::now();
        let mut last = String::from("no answer");
        while started.elapsed() < timeout {
            let call = self.identifier_call();
            match self.send(&call).await {
                Ok((answer, _)) if answer.status == 200 => {
                    return Ok(ms(started.elapsed()));
                }
                Ok((answer, _)) => {
                    last = format!("status {}: {}", answer.status, clip(&answer.body));
                }
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "the person API did not answer within {} s ({last})",
            timeout.as_secs()
        ))
    }

    fn identifier_call(&mut self) -> Call {
        let person = self.random_person();
        Call::Identifier {
            pid: person.pid.as_str().to_owned(),
        }
    }

    /// The `i`th name search: a random person's family-name prefix, or every
    /// [`GIVEN_EVERY`]th their given name.
    fn name_call(&mut self, i: u32, count_only: bool) -> Call {
        let person = self.random_person();
        let value = if i % GIVEN_EVERY == GIVEN_EVERY - 1 {
            person.given_name.to_owned()
        } else {
            person.family_name.chars().take(3).collect()
        };
        Call::Name { value, count_only }
    }

    fn read_call(&mut self) -> Option<Call> {
        if self.ids.is_empty() {
            return None;
        }
        let i = self.rng.below(self.ids.len() as u64) as usize;
        Some(Call::Read {
            id: self.ids.get(i)?.clone(),
        })
    }

    fn random_person(&mut self) -> synthpop::Person {
        loop {
            let i = self.rng.below(POPULATION);
            if let Some(p) = self.population.person(i) {
                return p;
            }
        }
    }

    fn cpu_ticks(&self) -> Option<u64> {
        self.cpu.as_ref().and_then(|c| (c.read)())
    }

    fn ticks_since(&self, before: Option<u64>) -> Option<u64> {
        Some(self.cpu_ticks()?.saturating_sub(before?))
    }

    /// A token for the person API with at least [`TOKEN_MARGIN`] left.
    async fn token(&mut self) -> Result<String, String> {
        if let Some(t) = &self.token
            && t.until > Instant::now() + TOKEN_MARGIN
        {
            return Ok(t.value.clone());
        }
        let request = TokenRequest {
            scope: Some(SCOPE.to_owned()),
            ..TokenRequest::default()
        };
        let asked = Instant::now();
        let outcome = self
            .client
            .token(&request)
            .await
            .map_err(|e| format!("a token for {SCOPE}: {e}"))?;
        if outcome.response.token_type != "DPoP" {
            return Err(format!(
                "the token for {SCOPE} is {} , not DPoP-bound",
                outcome.response.token_type
            ));
        }
        self.tokens += 1;
        let life = Duration::from_secs(u64::try_from(outcome.response.expires_in).unwrap_or(0));
        let value = outcome.response.access_token;
        self.token = Some(Token {
            value: value.clone(),
            until: asked + life,
        });
        Ok(value)
    }

    /// Sends `call` and checks its answer into `kind`. Only a failure to get an answer at
    /// all is an error; a wrong answer is counted.
    async fn measure(&mut self, call: &Call, kind: &mut Kind) -> Result<(), String> {
        let (answer, proof) = self.send(call).await?;
        let verdict = self.check(call, &answer);
        kind.record(&answer, proof, verdict);
        Ok(())
    }

    /// The request, made in full (token, proof) before the clock starts; the answer and
    /// how long the proof took to make (`None` without a token).
    async fn send(&mut self, call: &Call) -> Result<(Answer, Option<Duration>), String> {
        let (method, url, form) = match call {
            Call::Identifier { pid } => (
                Method::POST,
                format!("{}/Person/_search", self.base),
                Some(format!(
                    "identifier={pid}&_elements=identifier,name,birthDate,address"
                )),
            ),
            Call::Name { value, count_only } => {
                let mut params = vec![("name", value.as_str())];
                if *count_only {
                    params.push(("_summary", "count"));
                } else {
                    params.extend([("_elements", "identifier,name"), ("_count", "20")]);
                }
                let url = reqwest::Url::parse_with_params(&format!("{}/Person", self.base), params)
                    .map_err(|e| format!("the name search's URL: {e}"))?;
                (Method::GET, url.to_string(), None)
            }
            Call::Read { id } => (
                Method::GET,
                format!(
                    "{}/Person/{id}?_elements=identifier,name,birthDate,address",
                    self.base
                ),
                None,
            ),
            Call::Metadata => (Method::GET, format!("{}/metadata", self.base), None),
        };
        let token = match call {
            Call::Metadata => None,
            _ => Some(self.token().await?),
        };
        // The proof (an ES/RS signature) and the request are made here, off the clock.
        let proof_started = Instant::now();
        let builder = match &token {
            None => self.client.http().request(method, &url),
            Some(token) => self
                .client
                .api_request(method, &url, token)
                .map_err(|e| format!("the DPoP proof: {e}"))?,
        };
        let mut builder = builder.header("Accept", FHIR_JSON).timeout(REQUEST_TIMEOUT);
        if let Some(form) = form {
            builder = builder
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form);
        }
        let request = builder
            .build()
            .map_err(|e| format!("the request to {url}: {e}"))?;
        let proof = token.is_some().then(|| proof_started.elapsed());
        let started = Instant::now();
        let response = self
            .client
            .http()
            .execute(request)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("{url}: the body: {e}"))?;
        let elapsed = started.elapsed();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok((
            Answer {
                status,
                body,
                elapsed,
            },
            proof,
        ))
    }

    /// Whether `answer` is right for `call`; the ids of persons found are kept for reads.
    fn check(&mut self, call: &Call, answer: &Answer) -> Result<(), String> {
        let body = &answer.body;
        let what = match call {
            Call::Identifier { pid } => format!("identifier search for {pid}"),
            Call::Name { value, .. } => format!("name search for {value:?}"),
            Call::Read { id } => format!("read of Person/{id}"),
            Call::Metadata => "metadata".into(),
        };
        if answer.status != 200 {
            return Err(format!("{what}: status {}: {}", answer.status, clip(body)));
        }
        let total = body["total"].as_u64();
        match call {
            Call::Identifier { pid } => {
                if total != Some(1) {
                    return Err(format!("{what}: total {total:?}, not 1"));
                }
                let resource = &body["entry"][0]["resource"];
                let named = resource["identifier"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|i| i["value"] == pid.as_str());
                if !named {
                    return Err(format!("{what}: the person found is someone else"));
                }
                let id = resource["id"]
                    .as_str()
                    .ok_or_else(|| format!("{what}: the person has no id"))?;
                if self.ids.len() < 100_000 {
                    self.ids.push(id.to_owned());
                }
            }
            Call::Name { count_only, .. } => {
                if total.unwrap_or(0) < 1 {
                    return Err(format!("{what}: total {total:?}, not at least 1"));
                }
                let entries = body["entry"].as_array().map_or(0, Vec::len);
                if !count_only && entries == 0 {
                    return Err(format!("{what}: no entries"));
                }
            }
            Call::Read { id } => {
                if body["id"] != id.as_str() || body["resourceType"] != "Person" {
                    return Err(format!("{what}: another resource: {}", clip(body)));
                }
            }
            Call::Metadata => {
                if body["resourceType"] != "CapabilityStatement" {
                    return Err(format!("{what}: not a CapabilityStatement"));
                }
            }
        }
        Ok(())
    }
}

/// A seeded generator to pick persons (the workspace's ChaCha, as synthpop uses).
struct Picker(ChaCha8Rng);

impl Picker {
    fn new(seed: u64) -> Picker {
        Picker(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.0.random_range(0..n) }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The nearest-rank percentile `q` (0..=1) of sorted `values`.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    if q == 0.5 {
        let n = sorted.len();
        return if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn percentile_of(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile(&sorted, q)
}

/// The start of a body, for error messages.
fn clip(body: &Value) -> String {
    let text = body.to_string();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.5);
        assert_eq!(percentile(&v, 0.95), 95.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn picks_stay_below() {
        let mut r = Picker::new(1);
        assert!((0..1000).all(|_| r.below(20_000) < 20_000));
        assert_eq!(r.below(0), 0);
    }
}
