//! `helseid-testbed up`: the STS (and, later, the identity providers and APIs) on one listener.
//!
//! Loopback by default; any other address only when `--bind` is given, with a warning, since
//! the testbed's keys are not secret. The first line on stdout is the issuer; the demo
//! client's configuration file and the API key follow.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use mock_sts::clock::{Clock, SystemClock};
use mock_sts::config_file;
use mock_sts::seed::{self, SeedOptions};
use mock_sts::{Sts, StsConfig};
use thiserror::Error;

/// Environment variable that supplies `--api-key`.
pub const API_KEY_ENV: &str = "HELSEID_TESTBED_API_KEY";

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Address to listen on. Anything but loopback exposes keys that are not secret.
    #[arg(long, value_name = "ADDR")]
    bind: Option<IpAddr>,
    /// Port to listen on; 0 takes a free one.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The issuer URL clients are told (default: http://<bind>:<port>; with --bind 0.0.0.0
    /// give the name clients reach this machine by).
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    #[command(flatten)]
    data: DataDirArg,
    /// A testbed configuration (YAML) or a client configuration file from HelseID's portal
    /// (JSON); may be given more than once.
    #[arg(long, value_name = "FILE")]
    config: Vec<PathBuf>,
    /// The Selvbetjening `api-key` and test-token `X-Auth-Key` (default: $HELSEID_TESTBED_API_KEY,
    /// else one generated on first start and kept in the data directory).
    #[arg(long, value_name = "KEY", env = API_KEY_ENV, hide_env_values = true)]
    api_key: Option<String>,
    /// Conformance sessions kept (the oldest go first).
    #[arg(long, value_name = "N", default_value_t = conformance::session::DEFAULT_MAX_KEPT,
          value_parser = clap::value_parser!(usize))]
    max_sessions: usize,
    /// Seconds before a Selvbetjening change (a new key, `PUT /v1/client`) reaches the token
    /// endpoint, as in HelseID's TEST (up to 20 s), to test a client's retry logic; 0 applies
    /// changes at once.
    #[arg(long, value_name = "SECONDS", default_value_t = 0,
          value_parser = clap::value_parser!(u16).range(0..=600))]
    selvbetjening_delay: u16,
    /// Audit-log rows kept (the oldest go first).
    #[arg(long, value_name = "N", default_value_t = mock_sts::store::AuditRetention::default().max_rows)]
    audit_max_rows: u64,
    /// Days an audit-log row is kept.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    audit_max_days: u32,
    /// What to seed besides the default environment: `helseid-samples` adds the clients, APIs,
    /// organisations and delegations NorskHelsenett's HelseID.Samples expect
    /// (docs/helseid-samples.md). Applied on every start it is given; applying it again
    /// changes nothing, and its clients stay in the data directory when it is not given.
    #[arg(long, value_enum, value_name = "PROFILE", default_value_t = ProfileArg::Default)]
    profile: ProfileArg,
    /// Connections served at once (default: as many as the file limit allows, at most
    /// 10,000); at the limit the oldest connection waiting for its client is closed.
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
}

/// `up --profile`: the seed profiles of [`seed::Profile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ProfileArg {
    /// The default environment only.
    Default,
    /// The default environment and HelseID.Samples' clients, APIs and organisations.
    HelseidSamples,
}

impl From<ProfileArg> for seed::Profile {
    fn from(p: ProfileArg) -> seed::Profile {
        match p {
            ProfileArg::Default => seed::Profile::Default,
            ProfileArg::HelseidSamples => seed::Profile::HelseidSamples,
        }
    }
}

/// `--data-dir`, shared by every command that opens the testbed's state.
#[derive(Debug, Clone, Args)]
pub(crate) struct DataDirArg {
    /// Where the testbed keeps its state.
    #[arg(long, value_name = "DIR", default_value = ".testbed")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Error)]
pub(crate) enum UpError {
    #[error("{0}")]
    Config(String),
    #[error("cannot listen on {addr}: {detail}")]
    Bind { addr: SocketAddr, detail: String },
    #[error("--issuer {0:?} is not an http(s) URL")]
    Issuer(String),
    #[error("{0}")]
    Start(String),
}

impl UpError {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            UpError::Config(_) | UpError::Issuer(_) => 2,
            UpError::Bind { .. } | UpError::Start(_) => 1,
        }
    }
}

pub(crate) fn run(args: UpArgs) -> Result<ExitCode, UpError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| UpError::Start(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(args))
}

async fn serve(args: UpArgs) -> Result<ExitCode, UpError> {
    if args.audit_max_rows == 0 || args.audit_max_days == 0 || args.max_connections == Some(0) {
        return Err(UpError::Config(
            "--audit-max-rows, --audit-max-days and --max-connections must be at least 1".into(),
        ));
    }
    let loaded = config_file::load(&args.config).map_err(|e| UpError::Config(e.to_string()))?;
    if let Some(issuer) = &args.issuer
        && !(issuer.starts_with("http://") || issuer.starts_with("https://"))
    {
        return Err(UpError::Issuer(issuer.clone()));
    }
    let ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let addr = SocketAddr::new(ip, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| UpError::Bind {
            addr,
            detail: e.to_string(),
        })?;
    let local = listener.local_addr().map_err(|e| UpError::Bind {
        addr,
        detail: e.to_string(),
    })?;
    let issuer = args
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = mock_sts::store::Store::open(&args.data.data_dir)
        .map_err(|e| UpError::Start(e.to_string()))?;
    let api_key = match &args.api_key {
        Some(k) if !k.trim().is_empty() => k.clone(),
        _ => stored_api_key(&store)?,
    };
    let mut config = StsConfig::new(&issuer, &api_key);
    if let Some(lifetime) = loaded.settings.access_token_lifetime {
        config.access_token_lifetime = lifetime;
    }
    if let Some(confirm) = loaded.settings.require_draft_confirmation {
        config.require_draft_confirmation = confirm;
    }
    config.selvbetjening_delay = i64::from(args.selvbetjening_delay);
    store.set_audit_retention(mock_sts::store::AuditRetention {
        max_rows: args.audit_max_rows,
        max_age: i64::from(args.audit_max_days) * 24 * 3600,
    });
    let sts = Sts::new(config, store, clock.clone()).map_err(|e| UpError::Start(e.to_string()))?;
    let defaults = SeedOptions::default();
    let options = SeedOptions {
        seed: loaded.settings.seed.unwrap_or(defaults.seed),
        population: loaded.settings.population.unwrap_or(defaults.population),
    };
    let seeded = seed::seed_if_new(
        &sts.store,
        options,
        &sts.config.issuer,
        &args.data.data_dir,
        clock.now(),
    )
    .map_err(|e| UpError::Start(format!("seeding the environment: {e}")))?;
    let profile =
        seed::apply_profile(&sts.store, args.profile.into(), clock.now()).map_err(|e| {
            UpError::Start(format!(
                "applying --profile {}: {e}",
                seed::Profile::from(args.profile).name()
            ))
        })?;
    let default_org = seed::SAMPLE_PARENT;
    let mut imported = Vec::new();
    for (path, file) in &loaded.clients {
        let client = mock_sts::registration::import(&sts.store, file, default_org, clock.now())
            .map_err(|e| UpError::Config(format!("{}: {e}", path.display())))?;
        imported.push((path.clone(), client.client_id));
    }
    sts.store
        .set_meta("issuer", &sts.config.issuer)
        .map_err(|e| UpError::Start(e.to_string()))?;

    // Signal handlers go in before anything is announced, so a SIGTERM sent by someone who
    // read the first line already stops the server cleanly.
    let shutdown = shutdown_signal()?;
    // The first line states the issuer; scripts read it.
    println!("issuer: {}", sts.config.issuer);
    if !ip.is_loopback() {
        eprintln!(
            "warning: listening on {local}, beyond this machine. This is a test STS: its signing keys and client keys are not secret."
        );
    }
    if ip.is_unspecified() && args.issuer.is_none() {
        eprintln!(
            "warning: the issuer {} is not reachable by that name: {ip} means \"every address\" to listen on, not an address to connect to. Clients fetch discovery from the issuer and check it as the tokens' `iss`; give --issuer with a name or address they reach this machine by, e.g. --issuer http://HOSTNAME:{}",
            sts.config.issuer,
            local.port()
        );
    }
    let demo_file = args.data.data_dir.join(seed::DEMO_CLIENT_FILE);
    let demo_id = sts
        .store
        .meta("demo_client_id")
        .ok()
        .flatten()
        .unwrap_or_default();
    println!(
        "demo client: {demo_id} (configuration file {})",
        demo_file.display()
    );
    if seeded.is_some() {
        println!(
            "  try: helseid-testbed token --client {} --issuer {}",
            demo_file.display(),
            sts.config.issuer
        );
    }
    if let Some(applied) = &profile {
        println!(
            "profile {}: {} clients of HelseID.Samples ({} new, {} updated, {} unchanged); see docs/helseid-samples.md",
            seed::helseid_samples::NAME,
            applied.client_ids().len(),
            applied.added.len(),
            applied.updated.len(),
            applied.unchanged.len()
        );
        for id in applied.client_ids() {
            println!("  sample client: {id}");
        }
    }
    for (path, id) in &imported {
        println!("client from {}: {id}", path.display());
    }
    if args.api_key.is_none() {
        println!("api key (Selvbetjening api-key, TTT X-Auth-Key): {api_key}");
    }
    println!("pages: {}/", sts.config.issuer);
    println!("environment: {}/testbed/environment", sts.config.issuer);
    println!("data directory: {}", args.data.data_dir.display());

    // The STS reaches its identity providers on the address it listens on.
    let reach = if ip.is_unspecified() {
        SocketAddr::new(
            if ip.is_ipv4() {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
            },
            local.port(),
        )
    } else {
        local
    };
    let (sts, app) = mock_sts::app_with_idps(sts, &format!("http://{reach}"))
        .map_err(|e| UpError::Start(e.to_string()))?;
    if args.max_sessions == 0 {
        return Err(UpError::Config("--max-sessions must be at least 1".into()));
    }
    let sessions = conformance::session::Sessions::new(
        sts.clone(),
        conformance::session::SessionSettings {
            max_kept: args.max_sessions,
        },
    )
    .map_err(|e| UpError::Start(format!("the conformance sessions: {e}")))?;
    let web = helseid_web::Web::new(
        sts,
        sessions,
        helseid_web::WebSettings {
            public: !ip.is_loopback(),
            demo_config: Some(demo_file),
            demo_login_config: Some(args.data.data_dir.join(seed::DEMO_LOGIN_CLIENT_FILE)),
        },
    );
    match &web.persons {
        Some(persons) => {
            println!("person API (FHIR R4): {}", persons.base_url());
            // The search index is one pass over the population: made now, not on the first
            // search.
            let warm = persons.clone();
            tokio::task::spawn_blocking(move || warm.index());
        }
        None => eprintln!("warning: the person API is not served (no population)"),
    }
    let app = helseid_web::app(web, app);
    let mut limits = mock_sts::server::Limits::default();
    if let Some(n) = args.max_connections {
        limits.max_connections = n;
    }
    mock_sts::server::serve(listener, app, limits, shutdown)
        .await
        .map_err(|e| UpError::Start(format!("server stopped: {e}")))?;
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// The API key kept in the data directory, made on first use.
fn stored_api_key(store: &mock_sts::store::Store) -> Result<String, UpError> {
    let err = |e: mock_sts::store::StoreError| UpError::Start(e.to_string());
    if let Some(k) = store.meta("api_key").map_err(err)? {
        return Ok(k);
    }
    // A secret: from the CSPRNG, and no key at all if it fails.
    let key = protocol::jose::random_hex::<16>()
        .map_err(|e| UpError::Start(format!("cannot make the API key: {e}")))?;
    store.set_meta("api_key", &key).map_err(err)?;
    Ok(key)
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, UpError> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| UpError::Start(format!("cannot handle SIGTERM: {e}")))?;
    let ctrl_c = tokio::signal::ctrl_c();
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    })
}
