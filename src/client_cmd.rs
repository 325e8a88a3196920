//! `helseid-testbed client create`: register a client in a data directory and write its
//! configuration file in the format HelseID's portal downloads (`clientId`, `authority`,
//! `privateJwk`, `scopes`, ...), so the same client code reads it for the testbed and HelseID.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use mock_sts::clock::{Clock, SystemClock};
use mock_sts::registration::{self, NewClient};
use mock_sts::store::{Store, Tenancy, TokenBinding};

use crate::up_cmd::DataDirArg;

#[derive(Debug, Args)]
pub(crate) struct ClientArgs {
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Register a client with a new key and write its client configuration file.
    Create(CreateArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TenancyArg {
    SingleTenant,
    MultiTenant,
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// The client's name (`helseid://claims/client/client_name`).
    #[arg(long)]
    name: String,
    /// Scopes it may request (repeat, or separate with spaces).
    #[arg(long = "scope", value_name = "SCOPE", required = true)]
    scopes: Vec<String>,
    #[arg(long, value_enum, default_value = "single-tenant")]
    tenancy: TenancyArg,
    /// Owning organisation (single-tenant) or supplier (multi-tenant).
    #[arg(long, value_name = "ORGNR", default_value = mock_sts::seed::SAMPLE_PARENT)]
    org: String,
    /// Child organisations a single-tenant client may name (repeatable).
    #[arg(long = "child", value_name = "ORGNR")]
    children: Vec<String>,
    /// A legacy client that may get plain Bearer tokens.
    #[arg(long)]
    legacy_bearer: bool,
    /// Where to write the client configuration file (default: <data-dir>/<client id>.json).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The issuer written as `authority` (default: the one the last `up` used).
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    #[command(flatten)]
    data: DataDirArg,
}

pub(crate) fn run(args: ClientArgs) -> Result<ExitCode, String> {
    let ClientCommand::Create(a) = args.command;
    crate::hints::existing_data_dir(&a.data.data_dir)?;
    let store = Store::open(&a.data.data_dir).map_err(|e| e.to_string())?;
    let scopes: Vec<String> = a
        .scopes
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect();
    let tenancy = match a.tenancy {
        TenancyArg::SingleTenant => Tenancy::SingleTenant {
            orgnr: a.org.clone(),
            child_orgnrs: a.children.clone(),
        },
        TenancyArg::MultiTenant => {
            if !a.children.is_empty() {
                return Err("--child is for single-tenant clients; a multi-tenant client names the child per request".into());
            }
            Tenancy::MultiTenant {
                supplier_orgnr: a.org.clone(),
            }
        }
    };
    let (client, key) = registration::create(
        &store,
        NewClient {
            client_id: None,
            name: a.name.clone(),
            tenancy,
            scopes,
            grant_types: vec!["client_credentials".into()],
            redirect_uris: Vec::new(),
            binding: if a.legacy_bearer {
                TokenBinding::LegacyBearer
            } else {
                TokenBinding::Dpop
            },
            key_expires_at: None,
            origin: "cli".into(),
        },
        SystemClock.now(),
    )
    .map_err(|e| e.to_string())?;
    let issuer = match a.issuer {
        Some(i) => i,
        None => store
            .meta("issuer")
            .map_err(|e| e.to_string())?
            .unwrap_or_else(|| "http://127.0.0.1:8080".into()),
    };
    let path = a
        .out
        .unwrap_or_else(|| a.data.data_dir.join(format!("{}.json", client.client_id)));
    let file = registration::config_file(&client, &key, &issuer).map_err(|e| e.to_string())?;
    registration::write_config_file(&path, &file).map_err(|e| e.to_string())?;
    println!(
        "client {} registered; configuration file {}",
        client.client_id,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
