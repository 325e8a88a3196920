//! `helseid-testbed login`: a whole user login through the running testbed, the way HelseID's
//! samples do it (PAR, the eID chooser or TestIDP automation, the IdP's page, the code
//! redeemed with DPoP), printed step by step with every token decoded. The reference client
//! in `reference/src/login.rs` does the work.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use helseid_reference::client::Client;
use helseid_reference::login::PersonLogin;
use mock_idp::{IdpDescriptor, SecurityLevel};
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
    // The help and the accepted names come from the bundled IdPs (mock_idp::bundled).
    #[arg(
        long,
        default_value = "testidp",
        ignore_case = true,
        value_parser = idp_parser(),
        help = idp_help()
    )]
    idp: String,
    /// The person to log in as (default: the first health worker the environment lists).
    #[arg(long, value_name = "PID")]
    pid: Option<String>,
    /// The security level to ask for (3 or 4); an IdP that only gives level 3 needs 3.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(3..=4))]
    level: u8,
    /// Scopes (default: openid, profile, offline_access, the identity and HPR scopes and the
    /// client's API scopes).
    #[arg(long)]
    scope: Option<String>,
    /// The redirect URI registered for the client.
    #[arg(long, default_value = mock_sts::seed::DEMO_REDIRECT_URI)]
    redirect_uri: String,
}

type Failure = (String, u8);

pub(crate) fn run(args: LoginArgs) -> Result<ExitCode, Failure> {
    let idp = bundled(&args.idp)
        .ok_or_else(|| (format!("--idp {}: no such identity provider", args.idp), 2))?;
    // Level 3 asked of a level-4 IdP gets level 4; level 4 of a level-3 one gets nothing.
    let wanted = SecurityLevel::from_digit(&args.level.to_string())
        .ok_or_else(|| (format!("--level {} must be 3 or 4", args.level), 2))?;
    let levels = idp.levels();
    if let Some(highest) = levels.last()
        && *highest < wanted
    {
        return Err((
            format!(
                "--idp {} logs in at level {} only; give --level {}",
                idp.name,
                levels_text(&levels),
                highest.as_claim()
            ),
            2,
        ));
    }
    let text = crate::hints::read_client_file(&args.client).map_err(|e| (e, 1))?;
    let file = protocol::client_config::parse(&text)
        .map_err(|e| (format!("{}: {e}", args.client.display()), 1))?;
    let client =
        Client::from_config(&file, args.issuer.as_deref()).map_err(|e| (e.to_string(), 1))?;
    let api_scopes = file.scopes.clone().unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| (e.to_string(), 1))?;
    runtime
        .block_on(login(&client, &args, idp.scheme, &api_scopes))
        .map_err(|e| (e, 1))
}

async fn login(
    client: &Client,
    args: &LoginArgs,
    scheme: &str,
    api_scopes: &[String],
) -> Result<ExitCode, String> {
    let pid = match &args.pid {
        Some(p) => p.clone(),
        None => first_practitioner(client).await?,
    };
    let shown = helseid_reference::login::as_person(
        client,
        api_scopes,
        &PersonLogin {
            idp: &args.idp,
            scheme,
            pid: &pid,
            level: args.level,
            redirect_uri: &args.redirect_uri,
            scope: args.scope.as_deref(),
        },
    )
    .await
    .map_err(|e| crate::hints::request_failed(&e, &client.issuer))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&shown).map_err(|e| e.to_string())?
    );
    Ok(ExitCode::SUCCESS)
}

/// The bundled IdP of that name (the parser has made it the canonical one).
fn bundled(name: &str) -> Option<IdpDescriptor> {
    mock_idp::bundled().into_iter().find(|d| d.name == name)
}

/// The names `--idp` takes, each with what it gives; in any casing (`BankID` is `bankid`).
fn idp_parser() -> impl TypedValueParser<Value = String> {
    let values: Vec<PossibleValue> = mock_idp::bundled()
        .into_iter()
        .map(|d| {
            let levels = d.levels();
            let how = if d.test_automation {
                "no page: the person is passed along (test_pid)"
            } else {
                "its page filled in as a user would"
            };
            let level = if levels.iter().all(|l| *l == SecurityLevel::Level3) {
                "level 3 only, so give --level 3".to_owned()
            } else {
                format!("level {}", levels_text(&levels))
            };
            PossibleValue::new(d.name).help(format!("{}; {level}; {how}", d.display_name.en))
        })
        .collect();
    PossibleValuesParser::new(values).map(|given| {
        mock_idp::bundled()
            .into_iter()
            .find(|d| d.name.eq_ignore_ascii_case(&given))
            .map_or(given, |d| d.name.to_owned())
    })
}

/// `--idp`'s help: which IdPs need `--level 3`.
fn idp_help() -> String {
    let level3: Vec<&str> = mock_idp::bundled()
        .into_iter()
        .filter(|d| d.levels().iter().all(|l| *l == SecurityLevel::Level3))
        .map(|d| d.name)
        .collect();
    let mut help = "The identity provider to log in at (any casing: BankID is bankid)".to_owned();
    if !level3.is_empty() {
        help.push_str(&format!(
            "; {} gives level 3 only and needs --level 3",
            level3.join(", ")
        ));
    }
    help
}

/// "3 or 4", "4".
fn levels_text(levels: &[SecurityLevel]) -> String {
    levels
        .iter()
        .map(|l| l.as_claim())
        .collect::<Vec<_>>()
        .join(" or ")
}

async fn first_practitioner(client: &Client) -> Result<String, String> {
    let env: Value = client
        .http()
        .get(format!("{}/testbed/environment", client.issuer))
        .send()
        .await
        .map_err(|e| crate::hints::request_failed(&e, &client.issuer))?
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
