//! The conformance runner: scenarios in, verdicts with evidence out.
//!
//! A scenario (YAML, [`scenario`]) names a target of one of the three kinds of seed 001 (an
//! API, a client, an identity provider) and what it requires. The runner embeds the testbed's
//! STS ([`embedded`]), runs the checks of the catalogue ([`catalogue`]) that apply, and
//! reports ([`report`], [`junit`], [`html`], [`terminal`]).
//!
//! Kinds: `api` ([`api`]), `client` ([`client`]) and `idp` ([`idp`]).

pub mod api;
pub mod catalogue;
pub mod check_driver;
pub mod client;
pub mod embedded;
pub mod html;
pub mod idp;
pub mod junit;
pub mod report;
pub mod scenario;
pub mod session;
pub mod terminal;

use catalogue::Check;
use embedded::Embedded;
use report::{CheckResult, FailOn, Report, ScenarioReport};
use scenario::{Kind, Scenario};

/// Options of a run (the command line's).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides every scenario's target: an api scenario's URL, an idp scenario's issuer
    /// (client scenarios are refused with it).
    pub target: Option<String>,
    /// Overrides every scenario's target method.
    pub method: Option<String>,
    /// Port of the embedded STS (issuer `http://127.0.0.1:PORT`).
    pub sts_port: Option<u16>,
    /// Where the embedded STS keeps its state, so its signing key outlives the run (an API
    /// that cached the JWKS still trusts the next run's tokens). `None`: a throw-away
    /// directory, new keys every run.
    pub data_dir: Option<std::path::PathBuf>,
    /// Only these checks (IDs, prefixes, groups), on top of each scenario's selection.
    pub only: Vec<String>,
    pub fail_on: FailOn,
}

impl RunOptions {
    /// Whether `check` is selected by the scenario and the command line.
    pub fn selected(&self, check: &Check, scenario: &Scenario) -> bool {
        let sel = &scenario.checks;
        let by_scenario =
            sel.only.is_empty() || sel.only.iter().any(|s| catalogue::selects(s, check));
        let skipped = sel.skip.iter().any(|s| catalogue::selects(s, check));
        let by_cli = self.only.is_empty() || self.only.iter().any(|s| catalogue::selects(s, check));
        by_scenario && !skipped && by_cli
    }
}

/// A scenario to run and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub scenario: Scenario,
    pub source: String,
}

/// A run that could not happen at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Embed(#[from] embedded::EmbedError),
    #[error("{origin}: {message}")]
    Scenario { origin: String, message: String },
    #[error(
        "--only {0:?} names no check, prefix or group (see `helseid-testbed conformance list`)"
    )]
    UnknownSelector(String),
}

/// Checks everything that can be checked before starting servers.
pub fn prepare(loaded: &[Loaded], options: &RunOptions) -> Result<(), RunError> {
    for sel in &options.only {
        if !catalogue::CHECKS.iter().any(|c| catalogue::selects(sel, c)) {
            return Err(RunError::UnknownSelector(sel.clone()));
        }
    }
    for l in loaded {
        match l.scenario.kind {
            Kind::Api => {
                if l.scenario.target.is_none() && options.target.is_none() {
                    return Err(RunError::Scenario {
                        origin: l.source.clone(),
                        message:
                            "target.url: an api scenario needs the API's URL (or --target URL)"
                                .into(),
                    });
                }
            }
            Kind::Idp => {
                let Some(idp) = &l.scenario.idp else {
                    return Err(RunError::Scenario {
                        origin: l.source.clone(),
                        message: "idp: an idp scenario needs the idp section (issuer, client_id, client_secret, redirect_uri, users)".into(),
                    });
                };
                let refuse = |message: String| RunError::Scenario {
                    origin: l.source.clone(),
                    message,
                };
                idp::client_secret(idp).map_err(refuse)?;
                match (&options.target, &idp.issuer) {
                    (Some(t), _) => scenario::idp_issuer("--target", t).map_err(refuse)?,
                    (None, Some(_)) => {}
                    (None, None) => {
                        return Err(refuse(
                            "idp.issuer: name the IdP's issuer in the scenario or with --target ISSUER"
                                .into(),
                        ));
                    }
                }
            }
            Kind::Client => {
                if l.scenario.client.is_none() {
                    return Err(RunError::Scenario {
                        origin: l.source.clone(),
                        message: "client: a client scenario needs the client section (driver)"
                            .into(),
                    });
                }
                if options.target.is_some() {
                    return Err(RunError::Scenario {
                        origin: l.source.clone(),
                        message: "--target does not apply to a client scenario (its driver runs the client); name api or idp scenarios with --target".into(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Runs every scenario against one embedded STS and reports. `progress` sees each result as
/// it is decided.
pub async fn run(
    loaded: &[Loaded],
    options: &RunOptions,
    on_start: &(dyn Fn(&Embedded) + Sync),
    progress: &(dyn Fn(&Scenario, &CheckResult) + Sync),
) -> Result<Report, RunError> {
    prepare(loaded, options)?;
    // Idp scenarios do not use the STS (the runner is the IdP's relying party itself), so a
    // run of idp scenarios alone neither starts nor names it.
    let embedded = if loaded.iter().any(|l| l.scenario.kind != Kind::Idp) {
        let port = options
            .sts_port
            .or_else(|| loaded.iter().find_map(|l| l.scenario.sts.port))
            .unwrap_or(0);
        let embedded = Embedded::start_in(port, options.data_dir.as_deref()).await?;
        on_start(&embedded);
        Some(embedded)
    } else {
        None
    };
    run_scenarios(embedded.as_ref(), loaded, options, progress).await
}

/// Runs every scenario against an embedded STS the caller started (tests start the target
/// after the STS, so it can be told the issuer).
pub async fn run_on(
    embedded: &Embedded,
    loaded: &[Loaded],
    options: &RunOptions,
    progress: &(dyn Fn(&Scenario, &CheckResult) + Sync),
) -> Result<Report, RunError> {
    prepare(loaded, options)?;
    run_scenarios(Some(embedded), loaded, options, progress).await
}

/// Runs the scenarios in order; `embedded` is needed by api and client scenarios.
async fn run_scenarios(
    embedded: Option<&Embedded>,
    loaded: &[Loaded],
    options: &RunOptions,
    progress: &(dyn Fn(&Scenario, &CheckResult) + Sync),
) -> Result<Report, RunError> {
    let mut reports: Vec<ScenarioReport> = Vec::new();
    for l in loaded {
        if l.scenario.kind == Kind::Idp {
            let report = idp::run(&l.scenario, &l.source, options, &|r| {
                progress(&l.scenario, r)
            })
            .await;
            reports.push(report);
            continue;
        }
        let Some(embedded) = embedded else {
            return Err(RunError::Scenario {
                origin: l.source.clone(),
                message: format!(
                    "a {} scenario needs the embedded STS, and none was started",
                    l.scenario.kind.as_str()
                ),
            });
        };
        if l.scenario.kind == Kind::Client {
            let report = client::run(&l.scenario, &l.source, options, embedded, &|r| {
                progress(&l.scenario, r)
            })
            .await;
            reports.push(report);
            continue;
        }
        let mut target = l.scenario.target.clone().unwrap_or(scenario::Target {
            url: String::new(),
            method: "GET".into(),
            body: None,
            content_type: None,
        });
        if let Some(url) = &options.target {
            target.url = url.clone();
        }
        if let Some(m) = &options.method {
            target.method = m.to_ascii_uppercase();
        }
        let report = api::run(&l.scenario, &l.source, &target, options, embedded, &|r| {
            progress(&l.scenario, r)
        })
        .await;
        reports.push(report);
    }
    Ok(Report::new(reports, options.fail_on))
}

/// Milliseconds since the epoch, for ordering what a client did (probe calls, the driver's
/// exit) in verdicts.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// `HH:MM:SS.mmm` (UTC) of a [`now_ms`] time, as verdicts show it.
pub fn clock_time(ms: i64) -> String {
    let day_ms = ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03} UTC",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

/// Seconds since the epoch (the STS's system clock).
pub fn now() -> i64 {
    use mock_sts::clock::Clock;
    mock_sts::clock::SystemClock.now()
}
