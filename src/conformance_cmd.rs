//! `helseid-testbed conformance`: run acceptance suites against a vendor's target, list and
//! explain the checks, print the schemas. Exit codes: 0 conformant, 1 not conformant (a
//! must-check failed or could not be decided), 2 the run could not happen (bad scenario, bad
//! arguments, port taken).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use conformance::report::{FailOn, Report};
use conformance::scenario::{
    self, ApiResource, Binding, ClientTarget, ClientTenancy, Kind, Requirements, Scenario, Target,
};
use conformance::{Loaded, RunOptions, catalogue, terminal};

#[derive(Debug, Args)]
pub(crate) struct ConformanceArgs {
    #[command(subcommand)]
    command: ConformanceCommand,
}

#[derive(Debug, Subcommand)]
enum ConformanceCommand {
    /// Run scenario files (or every .yaml in a folder).
    Run(RunArgs),
    /// Run the whole api suite against one endpoint, no scenario file needed.
    Api(ApiArgs),
    /// Run the whole client suite against a client started by a command, no scenario file
    /// needed: `conformance client [--login] -- ./my-client --its-args`.
    Client(ClientArgs),
    /// Serve the reference API (reference/src/api.rs) as api scenarios describe their API,
    /// each at its target.url, or as the `conformance api` flags describe one at --target:
    /// a target that passes, to run the suites against. Until Ctrl-C.
    ReferenceApi(ReferenceApiArgs),
    /// Print the catalogue of checks.
    List {
        /// The catalogue as the Markdown table of docs/conformance.md (ID, level, the rule
        /// and its words).
        #[arg(long)]
        markdown: bool,
    },
    /// Print what a check requires and where that is written.
    Explain {
        /// A check ID, e.g. API-AUD-01.
        id: String,
    },
    /// Print a JSON Schema: of scenario files or of the JSON report.
    Schema {
        #[arg(value_enum)]
        which: SchemaKind,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SchemaKind {
    Scenario,
    Report,
}

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
enum FailOnArg {
    #[default]
    Must,
    Should,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the JSON report here (schema: schemas/report.schema.json).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Run only these checks: IDs (API-AUD-01), prefixes (API-DPOP) or groups (signature).
    #[arg(long, value_name = "ID", num_args = 1..)]
    only: Vec<String>,
    /// What fails the run: must-checks only (default), or should-checks too.
    #[arg(long, value_enum, default_value_t = FailOnArg::Must)]
    fail_on: FailOnArg,
    /// Port of the embedded STS on 127.0.0.1 (issuer http://127.0.0.1:PORT); default: the
    /// first scenario's sts.port, else a free one. An idp run starts no STS.
    #[arg(long, value_name = "PORT")]
    sts_port: Option<u16>,
    /// Where the embedded STS keeps its state between runs: its signing key (so an API that
    /// caches the JWKS keeps trusting the next run's tokens), the seeded population, the
    /// clients it registered. Delete it for a new key.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
}

/// `--data-dir`'s default, beside `up`'s `.testbed`.
const DEFAULT_DATA_DIR: &str = ".testbed-conformance";

#[derive(Debug, Args)]
struct RunArgs {
    /// Scenario files or folders.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Call this URL instead of each scenario's target.url (api), or use it as the issuer
    /// instead of idp.issuer (idp; the scenario may then leave idp.issuer out). Not for
    /// client scenarios.
    #[arg(long, value_name = "URL")]
    target: Option<String>,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Debug, Args)]
struct ApiArgs {
    /// The API endpoint to call, e.g. http://127.0.0.1:9000/api/patients.
    #[arg(long, value_name = "URL")]
    target: String,
    /// The API's audience (the aud of its tokens), e.g. nhn:my-api.
    #[arg(long, value_name = "AUD")]
    audience: String,
    #[command(flatten)]
    needs: ApiNeeds,
    #[command(flatten)]
    report: ReportArgs,
}

/// What an API requires, as `conformance api` and `conformance reference-api` take it.
#[derive(Debug, Args)]
struct ApiNeeds {
    /// The HTTP method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// Scopes the API requires (full names, AUD/name).
    #[arg(long, value_name = "SCOPE", num_args = 1..)]
    scope: Vec<String>,
    /// The API takes DPoP-bound tokens (the default).
    #[arg(long, conflicts_with = "bearer")]
    dpop: bool,
    /// The API takes plain Bearer tokens.
    #[arg(long)]
    bearer: bool,
    /// The API requires user tokens of this security level.
    #[arg(long, value_name = "LEVEL", value_parser = clap::value_parser!(u8).range(3..=4))]
    level: Option<u8>,
    /// The API requires the Tillitsrammeverk claim.
    #[arg(long)]
    tillitsrammeverk: bool,
    /// Organisation numbers the API serves (tokens are for the first).
    #[arg(long, value_name = "ORGNR", num_args = 1..)]
    org: Vec<String>,
    /// Tokens are issued to a supplier's multi-tenant client acting for the first --org
    /// (requirements.tenancy: multi; needs --org).
    #[arg(long)]
    multi_tenant: bool,
}

#[derive(Debug, Args)]
struct ReferenceApiArgs {
    /// Api scenario files or folders: one reference API per api scenario, at its target.url.
    #[arg(value_name = "PATH", conflicts_with_all = ["target", "audience"])]
    paths: Vec<PathBuf>,
    /// Instead of scenario files: serve the API the flags describe (as `conformance api`
    /// takes them) at this URL.
    #[arg(long, value_name = "URL", requires = "audience")]
    target: Option<String>,
    /// The API's audience (with --target).
    #[arg(long, value_name = "AUD", requires = "target")]
    audience: Option<String>,
    #[command(flatten)]
    needs: ApiNeeds,
    /// The STS whose tokens are accepted; default http://127.0.0.1:PORT with --sts-port, else
    /// the scenario's sts.port.
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// The port of the runner's embedded STS (issuer http://127.0.0.1:PORT).
    #[arg(long, value_name = "PORT")]
    sts_port: Option<u16>,
    /// Switch a validation step off (for conformance tests only; repeatable).
    #[arg(long = "flaw", value_name = "NAME")]
    flaws: Vec<helseid_reference::api::Flaw>,
    /// Require a nonce of the API's in DPoP proofs (RFC 9449 §9), as some APIs do: the
    /// runner must follow the API's use_dpop_nonce challenges.
    #[arg(long)]
    dpop_nonce: bool,
}

#[derive(Debug, Args)]
struct ClientArgs {
    /// The client logs a person in (authorization code with PAR and PKCE); without it, a
    /// machine client (client credentials).
    #[arg(long)]
    login: bool,
    /// The client is a supplier's multi-tenant client; it gets HELSEID_ORGNR to act for.
    #[arg(long)]
    multi_tenant: bool,
    /// Seconds one run of the driver may take.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    timeout: u64,
    /// More API scopes to register for the client (full names, AUD/name).
    #[arg(long, value_name = "SCOPE", num_args = 1..)]
    scope: Vec<String>,
    /// Redirect URIs to register (login clients; default
    /// http://localhost:7890/conformance/callback).
    #[arg(long, value_name = "URI", num_args = 1..)]
    redirect_uri: Vec<String>,
    /// More environment variables for the driver, NAME=VALUE.
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
    #[command(flatten)]
    report: ReportArgs,
    /// The command that runs the client, after `--`.
    #[arg(last = true, required = true, value_name = "DRIVER")]
    driver: Vec<String>,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

pub(crate) fn run(args: ConformanceArgs) -> Result<ExitCode, (String, u8)> {
    match args.command {
        ConformanceCommand::List { markdown } => {
            if markdown {
                emit(&catalogue::markdown_table());
            } else {
                list();
            }
            Ok(ExitCode::SUCCESS)
        }
        ConformanceCommand::Explain { id } => explain(&id).map_err(|e| (e, 2)),
        ConformanceCommand::Schema { which } => {
            let schema = match which {
                SchemaKind::Scenario => scenario::schema(),
                SchemaKind::Report => conformance::report::schema(),
            };
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            ));
            Ok(ExitCode::SUCCESS)
        }
        ConformanceCommand::Run(a) => {
            let mut loaded = Vec::new();
            for path in &a.paths {
                let files = scenario::files(path).map_err(|e| (e.to_string(), 2))?;
                if files.is_empty() {
                    return Err((format!("{}: no .yaml scenario files", path.display()), 2));
                }
                for file in files {
                    let s = scenario::load(&file).map_err(|e| (e.to_string(), 2))?;
                    loaded.push(Loaded {
                        scenario: s,
                        source: file.display().to_string(),
                    });
                }
            }
            execute(loaded, a.target, None, &a.report)
        }
        ConformanceCommand::Api(a) => {
            let scenario = api_scenario(&a.target, &a.audience, &a.needs)?;
            execute(
                vec![Loaded {
                    scenario,
                    source: "(command line)".into(),
                }],
                None,
                None,
                &a.report,
            )
        }
        ConformanceCommand::ReferenceApi(a) => reference_api(a),
        ConformanceCommand::Client(a) => {
            let scenario = Scenario {
                name: format!("Client {}", a.driver.join(" ")),
                description: None,
                kind: Kind::Client,
                target: None,
                api: None,
                idp: None,
                client: Some(ClientTarget {
                    driver: a.driver.clone(),
                    timeout_secs: a.timeout,
                    env: a.env.iter().cloned().collect(),
                    redirect_uris: a.redirect_uri.clone(),
                    scopes: a.scope.clone(),
                    login: a.login,
                    tenancy: if a.multi_tenant {
                        ClientTenancy::Multi
                    } else {
                        ClientTenancy::Single
                    },
                }),
                requirements: Requirements::default(),
                sts: Default::default(),
                checks: Default::default(),
            };
            scenario::validate(&scenario).map_err(|e| (format!("(command line): {e}"), 2))?;
            execute(
                vec![Loaded {
                    scenario,
                    source: "(command line)".into(),
                }],
                None,
                None,
                &a.report,
            )
        }
    }
}

/// The scenario the `conformance api` flags describe (the same rules as a scenario file, so
/// the messages agree).
fn api_scenario(target: &str, audience: &str, needs: &ApiNeeds) -> Result<Scenario, (String, u8)> {
    let scenario = Scenario {
        name: format!("API {audience}"),
        description: None,
        kind: Kind::Api,
        target: Some(Target {
            url: target.to_owned(),
            method: needs.method.to_ascii_uppercase(),
            body: None,
            content_type: None,
        }),
        api: Some(ApiResource {
            audience: audience.to_owned(),
            scopes: needs.scope.clone(),
        }),
        idp: None,
        client: None,
        requirements: Requirements {
            // --dpop only documents the default; --bearer is what changes it.
            token_binding: if needs.bearer {
                Binding::Bearer
            } else {
                Binding::Dpop
            },
            user: false,
            security_level: needs.level,
            tillitsrammeverk: needs.tillitsrammeverk,
            organisations: needs.org.clone(),
            tenancy: if needs.multi_tenant {
                ClientTenancy::Multi
            } else {
                ClientTenancy::Single
            },
        },
        sts: Default::default(),
        checks: Default::default(),
    };
    let _ = needs.dpop;
    scenario::validate(&scenario).map_err(|e| (format!("(command line): {e}"), 2))?;
    Ok(scenario)
}

/// `conformance reference-api`: the reference API of each api scenario (or of the flags),
/// listening where the scenario's target.url says, until Ctrl-C.
fn reference_api(a: ReferenceApiArgs) -> Result<ExitCode, (String, u8)> {
    let mut scenarios = Vec::new();
    match (&a.target, &a.audience) {
        (Some(target), Some(audience)) => {
            scenarios.push((
                "(command line)".to_owned(),
                api_scenario(target, audience, &a.needs)?,
            ));
        }
        _ if a.paths.is_empty() => {
            return Err((
                "name api scenario files, or the API with --target URL --audience AUD".into(),
                2,
            ));
        }
        _ => {}
    }
    for path in &a.paths {
        for file in scenario::files(path).map_err(|e| (e.to_string(), 2))? {
            let s = scenario::load(&file).map_err(|e| (e.to_string(), 2))?;
            if s.kind == Kind::Api {
                scenarios.push((file.display().to_string(), s));
            }
        }
    }
    if scenarios.is_empty() {
        return Err(("no api scenario among the files named".into(), 2));
    }
    let mut apis = Vec::new();
    for (source, s) in &scenarios {
        let issuer = match (&a.issuer, a.sts_port.or(s.sts.port)) {
            (Some(issuer), _) => issuer.clone(),
            (None, Some(port)) => format!("http://127.0.0.1:{port}"),
            (None, None) => {
                return Err((
                    format!(
                        "{source}: which STS should the API trust? Give --sts-port PORT (the runner's) or --issuer URL, or sts.port in the scenario"
                    ),
                    2,
                ));
            }
        };
        let url = s.target.as_ref().map(|t| t.url.clone()).unwrap_or_default();
        let address = listen_address(&url).map_err(|e| (format!("{source}: {e}"), 2))?;
        let mut config = conformance::api::reference_api_config(s, &issuer)
            .ok_or_else(|| (format!("{source}: the scenario names no API"), 2))?;
        config.flaws = a.flaws.iter().copied().collect();
        config.require_dpop_nonce = a.dpop_nonce;
        apis.push((source.clone(), s.name.clone(), url, address, config));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| (format!("cannot start the runtime: {e}"), 2))?;
    runtime.block_on(async move {
        // Every listener is bound before the first line is printed, so a reader of that
        // line can call any of them.
        let mut bound = Vec::new();
        for (source, name, url, address, config) in apis {
            let listener = tokio::net::TcpListener::bind(address.as_str())
                .await
                .map_err(|e| (format!("{source}: cannot listen on {address}: {e}"), 2))?;
            bound.push((name, url, config, listener));
        }
        let mut servers = tokio::task::JoinSet::new();
        for (name, url, config, listener) in bound {
            let flaws: Vec<&str> = config.flaws.iter().map(|f| f.name()).collect();
            let flaws = if flaws.is_empty() {
                String::new()
            } else {
                format!("; FLAWS (for conformance tests only): {}", flaws.join(" "))
            };
            anstream::println!(
                "listening: {url} ({name}; audience {}, trusting {}{flaws})",
                config.audience,
                config.issuer
            );
            servers.spawn(helseid_reference::api::serve(config, listener));
        }
        tokio::select! {
            Some(result) = servers.join_next() => {
                let message = match result {
                    Ok(Ok(())) => "a reference API stopped".to_owned(),
                    Ok(Err(e)) => format!("a reference API failed: {e}"),
                    Err(e) => format!("a reference API failed: {e}"),
                };
                Err((message, 1))
            }
            _ = tokio::signal::ctrl_c() => Ok(ExitCode::SUCCESS),
        }
    })
}

/// `host:port` of an http URL (port 80 when it names none).
fn listen_address(url: &str) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("target.url {url} is not an http:// URL the reference API can serve")
    })?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!("target.url {url} names no host"));
    }
    Ok(
        if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        },
    )
}

fn list() {
    let mut out = String::new();
    // Columns as wide as their widest entry (client IDs and groups are the longest).
    let id_w = catalogue::CHECKS
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(0);
    let group_w = catalogue::CHECKS
        .iter()
        .map(|c| c.group.len())
        .max()
        .unwrap_or(0);
    for c in catalogue::CHECKS {
        out.push_str(&format!(
            "{:<id_w$} {:<6} {:<7} {:<group_w$} {}\n",
            c.id,
            c.severity.as_str(),
            c.kind.as_str(),
            c.group,
            c.title
        ));
    }
    emit(&out);
}

/// Writes `text` to stdout. A reader that has gone (`| head`) ends the output quietly:
/// `print!` would panic.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn explain(id: &str) -> Result<ExitCode, String> {
    let c = catalogue::find(id).ok_or_else(|| {
        format!("no check {id:?}; `helseid-testbed conformance list` shows them all")
    })?;
    let mut text = format!(
        "{} ({}, {}, {})\n{}\n\n{}\n\nRule: {}\n  \"{}\"\nSource: {}\n",
        c.id,
        c.severity.as_str(),
        c.kind.as_str(),
        c.group,
        c.title,
        c.requirement,
        c.source.cite,
        c.source.words,
        c.source.link
    );
    if let Some(note) = c.level_note {
        text.push_str(&format!("\nLevel {}: {note}\n", c.severity.as_str()));
    }
    emit(&text);
    Ok(ExitCode::SUCCESS)
}

fn execute(
    loaded: Vec<Loaded>,
    target: Option<String>,
    method: Option<String>,
    report_args: &ReportArgs,
) -> Result<ExitCode, (String, u8)> {
    let options = RunOptions {
        target,
        method,
        sts_port: report_args.sts_port,
        data_dir: Some(report_args.data_dir.clone()),
        only: report_args.only.clone(),
        fail_on: match report_args.fail_on {
            FailOnArg::Must => FailOn::Must,
            FailOnArg::Should => FailOn::Should,
        },
    };
    conformance::prepare(&loaded, &options).map_err(|e| (e.to_string(), 2))?;
    // Fail on unwritable report paths before the run, not after it.
    for path in [&report_args.junit, &report_args.json, &report_args.html]
        .into_iter()
        .flatten()
    {
        check_writable(path).map_err(|e| (e, 2))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| (format!("cannot start the runtime: {e}"), 2))?;
    let report = runtime
        .block_on(conformance::run(
            &loaded,
            &options,
            &|e| {
                anstream::println!("embedded STS: {} (issuer)", e.issuer);
            },
            &|s, r| {
                let _ = s;
                anstream::println!("{}", terminal::progress_line(r));
            },
        ))
        .map_err(|e| (e.to_string(), 2))?;
    anstream::print!("{}", terminal::summary(&report));
    write_reports(&report, report_args).map_err(|e| (e, 2))?;
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn check_writable(path: &Path) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(format!(
            "{}: the folder {} does not exist",
            path.display(),
            dir.display()
        ));
    }
    Ok(())
}

fn write_reports(report: &Report, a: &ReportArgs) -> Result<(), String> {
    write_report_files(
        report,
        a.junit.as_deref(),
        a.json.as_deref(),
        a.html.as_deref(),
    )
}

/// Writes the report as JUnit, JSON and HTML to the paths given.
pub(crate) fn write_report_files(
    report: &Report,
    junit: Option<&Path>,
    json: Option<&Path>,
    html: Option<&Path>,
) -> Result<(), String> {
    let write = |path: &Path, text: &str| -> Result<(), String> {
        let mut f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
        Ok(())
    };
    if let Some(p) = junit {
        write(p, &conformance::junit::render(report)?)?;
    }
    if let Some(p) = json {
        write(p, &report.to_json())?;
    }
    if let Some(p) = html {
        write(p, &conformance::html::render(report)?)?;
    }
    Ok(())
}
