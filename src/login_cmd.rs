//! `helseid-testbed login`: a whole user login through the running testbed, the way HelseID's
//! samples do it (PAR, the eID chooser or TestIDP automation, the IdP's page, the code
//! redeemed with DPoP), printed step by step with every token decoded. The reference client
//! in `reference/src/login.rs` does the work.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use helseid_reference::client::Client;
use helseid_reference::login::PersonLogin;
use serde_json::Value;

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// A login client's configuration file (default: the seeded demo login client).
    #[arg(
        long,
        value_name = "FILE",
        default_value = ".testbed/demo-login-client.json"
    )]
    client: PathBuf,
    /// The STS (default: the file's `authority`).
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// The identity provider: testidp (automatic, no page), idporten, bankid, buypass,
    /// commfides or jobbkonto (pages filled in as a user would).
    #[arg(long, default_value = "testidp")]
    idp: String,
    /// The person to log in as (default: the first health worker the environment lists).
    #[arg(long, value_name = "PID")]
    pid: Option<String>,
    /// The security level to ask for (3 or 4).
    #[arg(long, default_value_t = 4)]
    level: u8,
    /// Scopes (default: openid, profile, offline_access, the identity and HPR scopes and the
    /// client's API scopes).
    #[arg(long)]
    scope: Option<String>,
    /// The redirect URI registered for the client.
    #[arg(long, default_value = mock_sts::seed::DEMO_REDIRECT_URI)]
    redirect_uri: String,
}

pub(crate) fn run(args: LoginArgs) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(&args.client)
        .map_err(|e| format!("{}: {e}", args.client.display()))?;
    let file = protocol::client_config::parse(&text)
        .map_err(|e| format!("{}: {e}", args.client.display()))?;
    if args.level != 3 && args.level != 4 {
        return Err(format!("--level {} must be 3 or 4", args.level));
    }
    let client = Client::from_config(&file, args.issuer.as_deref()).map_err(|e| e.to_string())?;
    let api_scopes = file.scopes.clone().unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(login(&client, &args, &api_scopes))
}

async fn login(
    client: &Client,
    args: &LoginArgs,
    api_scopes: &[String],
) -> Result<ExitCode, String> {
    let pid = match &args.pid {
        Some(p) => p.clone(),
        None => first_practitioner(client).await?,
    };
    let scheme = scheme(&args.idp);
    let shown = helseid_reference::login::as_person(
        client,
        api_scopes,
        &PersonLogin {
            idp: &args.idp,
            scheme: &scheme,
            pid: &pid,
            level: args.level,
            redirect_uri: &args.redirect_uri,
            scope: args.scope.as_deref(),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&shown).map_err(|e| e.to_string())?
    );
    Ok(ExitCode::SUCCESS)
}

/// HelseID's `idp` scheme for a bundled IdP's name.
fn scheme(name: &str) -> String {
    mock_idp::bundled()
        .into_iter()
        .find(|d| d.name == name)
        .map(|d| d.scheme.to_owned())
        .unwrap_or_else(|| name.to_owned())
}

async fn first_practitioner(client: &Client) -> Result<String, String> {
    let env: Value = client
        .http()
        .get(format!("{}/testbed/environment", client.issuer))
        .send()
        .await
        .map_err(|e| format!("cannot reach the testbed at {}: {e}", client.issuer))?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    env["test_persons"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["hpr_number"].is_string()))
        .and_then(|p| p["pid"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| "the environment lists no health worker; give --pid".into())
}
