//! `helseid-testbed token`: get an access token with a client configuration file, the way a
//! vendor's client should (client assertion, DPoP proof, nonce round trip), and show it
//! decoded. The quickest way to see the testbed work.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use helseid_reference::client::{Client, TokenRequest};
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// A client configuration file (the portal's format).
    #[arg(long, value_name = "FILE")]
    client: PathBuf,
    /// The STS (default: the file's `authority`).
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// Scopes to ask for (space-separated; default: all the client's).
    #[arg(long)]
    scope: Option<String>,
    /// The API (audience) the token is for.
    #[arg(long)]
    resource: Option<String>,
    /// The organisation to act for: PARENT[:CHILD] for a multi-tenant client, CHILD for a
    /// single-tenant one.
    #[arg(long, value_name = "ORGNR")]
    org: Option<String>,
    /// Print only the access token.
    #[arg(long)]
    raw: bool,
}

pub(crate) fn run(args: TokenArgs) -> Result<ExitCode, String> {
    let text = crate::hints::read_client_file(&args.client)?;
    let file = protocol::client_config::parse(&text)
        .map_err(|e| format!("{}: {e}", args.client.display()))?;
    let multi = file
        .testbed
        .as_ref()
        .and_then(|t| t.tenancy)
        .is_some_and(|t| t == protocol::client_config::Tenancy::MultiTenant);
    let details = args.org.as_deref().map(|org| org_details(org, multi));
    let client = Client::from_config(&file, args.issuer.as_deref()).map_err(|e| e.to_string())?;
    let request = TokenRequest {
        scope: args.scope.clone(),
        resource: args.resource.clone(),
        details,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let outcome = runtime
        .block_on(client.token(&request))
        .map_err(|e| crate::hints::request_failed(&e, &client.issuer))?;
    if args.raw {
        println!("{}", outcome.response.access_token);
        return Ok(ExitCode::SUCCESS);
    }
    let decoded = decode(&outcome.response.access_token);
    let shown = json!({
        "requests": outcome.attempts,
        "token_response": outcome.response,
        "access_token_header": decoded.0,
        "access_token_claims": decoded.1,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&shown).map_err(|e| e.to_string())?
    );
    Ok(ExitCode::SUCCESS)
}

/// `assertion_details` naming an organisation (reference §6.2).
fn org_details(org: &str, multi_tenant: bool) -> Value {
    if multi_tenant {
        let (parent, child) = org.split_once(':').unwrap_or((org, ""));
        protocol::assertion_details::multi_tenant_org(parent, Some(child).filter(|c| !c.is_empty()))
    } else {
        protocol::assertion_details::single_tenant_child(org)
    }
}

fn decode(jwt: &str) -> (Value, Value) {
    let part = |i: usize| {
        jwt.split('.')
            .nth(i)
            .and_then(protocol::jose::b64_decode)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null)
    };
    (part(0), part(1))
}
