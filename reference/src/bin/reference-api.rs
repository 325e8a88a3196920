//! `reference-api`: the testbed's reference HelseID-protected API on a port of its own.
//!
//! ```sh
//! reference-api --issuer http://127.0.0.1:8080 --audience nhn:testbed-api \
//!     --scope nhn:testbed-api/read --dpop --level 4
//! ```
//!
//! The first line on stdout is `listening: http://ADDRESS:PORT` (with `--port 0` the system
//! picks the port), so a script or test can read where it is. `--flaw NAME` switches one
//! validation step off, for conformance tests (`--list-flaws` names them).

use std::io::Write as _;
use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;
use helseid_reference::api::{ApiConfig, DEFAULT_LEEWAY_SECS, Flaw, serve};

#[derive(Debug, Parser)]
#[command(
    name = "reference-api",
    about = "A HelseID-protected API that validates tokens and DPoP proofs the way HelseID's profile asks"
)]
struct Args {
    /// The STS whose tokens are accepted (its discovery document gives the keys).
    #[arg(long, required_unless_present = "list_flaws")]
    issuer: Option<String>,
    /// The token's one audience, e.g. nhn:testbed-api.
    #[arg(long, required_unless_present = "list_flaws")]
    audience: Option<String>,
    /// A scope the token must grant (repeat for several; all are required).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Accept only DPoP-bound tokens (without it, Bearer tokens are accepted too, but a
    /// DPoP-bound token must still come with a proof).
    #[arg(long)]
    dpop: bool,
    /// Require a nonce of this API's in DPoP proofs (RFC 9449 §9): a proof without one is
    /// answered 401 use_dpop_nonce with a DPoP-Nonce header. HelseID's APIs do not ask for
    /// one; some APIs do.
    #[arg(long)]
    dpop_nonce: bool,
    /// Require a logged-in user: tokens must name the user (pid or HPR number) and the level
    /// of the login; client-credentials tokens are refused. Implied by --level.
    #[arg(long)]
    user: bool,
    /// The lowest helseid://claims/identity/security_level accepted (tokens without a user
    /// are then refused).
    #[arg(long, value_name = "LEVEL", value_parser = clap::value_parser!(u8).range(1..=4))]
    level: Option<u8>,
    /// Require a well-formed nhn:tillitsrammeverk:parameters attestation.
    #[arg(long)]
    tillitsrammeverk: bool,
    /// An organisation number served (repeat for several; the token's orgnr_child, else
    /// orgnr_parent, must be one of them).
    #[arg(long = "org", value_name = "ORGNR")]
    orgs: Vec<String>,
    /// Seconds of clock difference tolerated.
    #[arg(long, default_value_t = DEFAULT_LEEWAY_SECS)]
    leeway: i64,
    /// The API's external base URL for DPoP htu (default http:// and the Host header).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Switch a validation step off (for conformance tests only; repeatable).
    #[arg(long = "flaw", value_name = "NAME")]
    flaws: Vec<Flaw>,
    /// Print the flaw names and exit.
    #[arg(long)]
    list_flaws: bool,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_flaws {
        // Not println!, which panics when the reader has gone (`| head`).
        let mut out = std::io::stdout().lock();
        for flaw in Flaw::ALL {
            if writeln!(out, "{flaw}").is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    let (Some(issuer), Some(audience)) = (&args.issuer, &args.audience) else {
        eprintln!("reference-api: --issuer and --audience are required");
        return ExitCode::from(2);
    };
    let mut config = ApiConfig::new(issuer, audience);
    config.required_scopes = args.scopes.clone();
    config.require_dpop = args.dpop;
    config.require_dpop_nonce = args.dpop_nonce;
    config.require_user = args.user;
    config.min_security_level = args.level;
    config.require_tillitsrammeverk = args.tillitsrammeverk;
    config.allowed_orgs = args.orgs.clone();
    config.leeway_secs = args.leeway;
    config.public_base_url = args.public_url.clone();
    config.flaws = args.flaws.iter().copied().collect();

    let listener = match tokio::net::TcpListener::bind((args.bind, args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "reference-api: cannot listen on {}:{}: {e}",
                args.bind, args.port
            );
            return ExitCode::FAILURE;
        }
    };
    let address = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("reference-api: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Status lines are written without println!/eprintln!, which panic when the reader has
    // gone: a parent that reads the first line and closes the pipe must not stop the API.
    let _ = writeln!(std::io::stdout(), "listening: http://{address}");
    let flaws = if config.flaws.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = config.flaws.iter().map(|f| f.name()).collect();
        format!("; FLAWS (for conformance tests only): {}", names.join(" "))
    };
    let _ = writeln!(
        std::io::stderr(),
        "reference-api: issuer {}, audience {}, scopes [{}], {}{flaws}",
        config.issuer,
        config.audience,
        config.required_scopes.join(" "),
        if config.require_dpop {
            "DPoP only"
        } else {
            "Bearer or DPoP"
        },
    );
    tokio::select! {
        result = serve(config, listener) => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "reference-api: {e}");
                ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}
