//! `helseid-testbed`: the command line that composes the testbed's crates.
//!
//! Subcommands live in their own modules; this file only parses and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod client_cmd;
mod conformance_cmd;
mod keys_cmd;
mod login_cmd;
mod session_cmd;
mod synthpop_cmd;
mod token_cmd;
mod up_cmd;

/// An offline HelseID look-alike: synthetic population, mock STS, identity providers and a
/// conformance runner.
#[derive(Debug, Parser)]
#[command(name = "helseid-testbed", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the testbed: the HelseID-like STS and its environment.
    Up(up_cmd::UpArgs),
    /// Get an access token with a client configuration file and show it decoded.
    Token(token_cmd::TokenArgs),
    /// Log a synthetic person in through an identity provider and show every token.
    Login(login_cmd::LoginArgs),
    /// Register clients and write their configuration files.
    Client(client_cmd::ClientArgs),
    /// Rotate and list the STS's signing keys.
    Keys(keys_cmd::KeysArgs),
    /// Synthetic persons, health personnel and organisations (SyntPop style).
    Synthpop(synthpop_cmd::SynthpopArgs),
    /// Check a vendor's API against HelseID's acceptance requirements, with evidence.
    Conformance(conformance_cmd::ConformanceArgs),
    /// Conformance sessions at a running testbed: start one for a client, use the
    /// application against its authority, end it for the verdict.
    Session(session_cmd::SessionArgs),
    /// The reference client as a conformance driver (the bundled client scenarios run it);
    /// reads HELSEID_ISSUER, HELSEID_CLIENT_CONFIG, HELSEID_PROBE_API, ... from the runner.
    ReferenceClient(helseid_reference::driver::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up_cmd::run(args).map_err(|e| (e.to_string(), e.exit_code())),
        Command::Token(args) => token_cmd::run(args).map_err(|e| (e, 1)),
        Command::Client(args) => client_cmd::run(args).map_err(|e| (e, 1)),
        Command::Login(args) => login_cmd::run(args).map_err(|e| (e, 1)),
        Command::Keys(args) => keys_cmd::run(args).map_err(|e| (e, 1)),
        Command::Conformance(args) => conformance_cmd::run(args),
        Command::ReferenceClient(args) => Ok(helseid_reference::driver::main(args)),
        Command::Session(args) => session_cmd::run(args),
        Command::Synthpop(args) => {
            synthpop_cmd::run(args).map_err(|e| (e.to_string(), e.exit_code()))
        }
    };
    match result {
        Ok(code) => code,
        Err((message, code)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}
