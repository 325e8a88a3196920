//! `helseid-testbed login`: a whole user login through the running testbed, the way HelseID's
//! samples do it (PAR, the eID chooser or TestIDP automation, the IdP's page, the code
//! redeemed with DPoP), printed step by step with every token decoded. The reference client
//! in `reference/src/login.rs` does the work.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use helseid_reference::client::Client;
use helseid_reference::login::{Browser, LoginRequest, UserChoice};
use serde_json::{Value, json};

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

const USER_SCOPES: &str = "openid profile offline_access helseid://scopes/identity/pid helseid://scopes/identity/security_level helseid://scopes/identity/assurance_level helseid://scopes/hpr/hpr_number";

pub(crate) fn run(args: LoginArgs) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(&args.client)
        .map_err(|e| format!("{}: {e}", args.client.display()))?;
    let file = protocol::client_config::parse(&text)
        .map_err(|e| format!("{}: {e}", args.client.display()))?;
    if args.level != 3 && args.level != 4 {
        return Err(format!("--level {} must be 3 or 4", args.level));
    }
    let client = Client::from_config(&file, args.issuer.as_deref()).map_err(|e| e.to_string())?;
    // The portal's file lists the identity scopes too (openid, offline_access): add only
    // what USER_SCOPES lacks.
    let api_scopes: Vec<String> = file
        .scopes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !USER_SCOPES.split(' ').any(|u| u == s))
        .collect();
    let scope = args.scope.clone().unwrap_or_else(|| {
        format!("{USER_SCOPES} {}", api_scopes.join(" "))
            .trim()
            .to_owned()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(login(&client, &args, &scope))
}

async fn login(client: &Client, args: &LoginArgs, scope: &str) -> Result<ExitCode, String> {
    let pid = match &args.pid {
        Some(p) => p.clone(),
        None => first_practitioner(client).await?,
    };
    let automatic = args.idp == "testidp";
    let request = LoginRequest {
        redirect_uri: args.redirect_uri.clone(),
        scope: scope.to_owned(),
        acr_values: Some(format!("Level{} idp:{}", args.level, scheme(&args.idp))),
        test_pid: automatic.then(|| pid.clone()),
        test_security_level: automatic.then_some(args.level),
        login_hint: (!automatic).then(|| pid.clone()),
        ..Default::default()
    };
    let choice = UserChoice {
        idp: Some(args.idp.clone()),
        pid: Some(pid.clone()),
        method: None,
    };
    let browser = Browser::new().map_err(|e| e.to_string())?;
    let (login, tokens) = client
        .login_and_redeem(&browser, &request, &choice)
        .await
        .map_err(|e| e.to_string())?;
    let token = &tokens.response.access_token;
    let userinfo: Value = match client
        .api_request(
            reqwest::Method::GET,
            &format!("{}/connect/userinfo", client.issuer),
            token,
        )
        .map_err(|e| e.to_string())?
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(e) => json!({ "error": e.to_string() }),
    };
    let shown = json!({
        "person": pid,
        "browser_steps": login.trail,
        "token_requests": tokens.attempts,
        "token_response": tokens.response,
        "access_token_claims": decode(token),
        "id_token_claims": tokens.response.id_token.as_deref().map(decode),
        "userinfo": userinfo,
    });
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

fn decode(jwt: &str) -> Value {
    jwt.split('.')
        .nth(1)
        .and_then(protocol::jose::b64_decode)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}
