//! `helseid-testbed`: the command line that composes the testbed's crates.
//!
//! Subcommands live in their own modules; this file only parses and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod synthpop_cmd;

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
    /// Synthetic persons, health personnel and organisations (SyntPop style).
    Synthpop(synthpop_cmd::SynthpopArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Synthpop(args) => synthpop_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
