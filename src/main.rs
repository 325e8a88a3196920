//! `helseid-testbed`: the command line that composes the testbed's crates.
//!
//! Subcommands live in their own modules; this file only parses and dispatches.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod client_cmd;
mod conformance_cmd;
mod hints;
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
    /// Check a vendor's API, client or identity provider against HelseID's acceptance
    /// requirements, with evidence.
    ///
    /// Three kinds of target: an api (an API that takes HelseID tokens: the runner's embedded
    /// STS issues good and spoiled tokens and the API must take or refuse each), a client (a
    /// client system started as a command: the embedded STS records what it sends and
    /// answers it, faults injected) and an idp (an identity provider HelseID would use: the
    /// runner logs test users in as HelseID's relying party and checks the ID tokens). `run`
    /// takes scenario files of any kind; `api` and `client` need none.
    Conformance(conformance_cmd::ConformanceArgs),
    /// Conformance sessions at a running testbed: start one for a client, use the
    /// application against its authority, end it for the verdict.
    Session(session_cmd::SessionArgs),
    /// The reference client as a conformance driver (the bundled client scenarios run it);
    /// reads HELSEID_ISSUER, HELSEID_CLIENT_CONFIG, HELSEID_PROBE_API, ... from the runner.
    ReferenceClient(helseid_reference::driver::Args),
    /// Print a shell completion script, e.g. `helseid-testbed completions bash >
    /// ~/.local/share/bash-completion/completions/helseid-testbed`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `helseid-testbed man | man -l -`.
    Man {
        /// Write every page instead (helseid-testbed.1 and one per subcommand, as the main
        /// page refers to them) into this existing folder.
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up_cmd::run(args).map_err(|e| (e.to_string(), e.exit_code())),
        Command::Token(args) => token_cmd::run(args).map_err(|e| (e, 1)),
        Command::Client(args) => client_cmd::run(args).map_err(|e| (e, 1)),
        Command::Login(args) => login_cmd::run(args),
        Command::Keys(args) => keys_cmd::run(args).map_err(|e| (e, 1)),
        Command::Conformance(args) => conformance_cmd::run(args),
        Command::ReferenceClient(args) => Ok(helseid_reference::driver::main(args)),
        Command::Session(args) => session_cmd::run(args),
        Command::Synthpop(args) => {
            synthpop_cmd::run(args).map_err(|e| (e.to_string(), e.exit_code()))
        }
        Command::Completions { shell } => {
            // Into memory first: the generator panics on a failed write (a closed pipe).
            let mut command = Cli::command();
            let name = command.get_name().to_owned();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, name, &mut script);
            print_bytes(&script, "the completion script")
        }
        Command::Man { dir } => man(dir.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err((message, code)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

/// `man`: the manual page on stdout, or every page (one per subcommand too) written to a
/// folder.
fn man(dir: Option<&std::path::Path>) -> Result<ExitCode, (String, u8)> {
    let command = Cli::command();
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| (format!("cannot render the manual page: {e}"), 1))?;
            print_bytes(&page, "the manual page")
        }
        Some(dir) => {
            if !dir.is_dir() {
                return Err((
                    format!("--dir {}: not a directory (make it first)", dir.display()),
                    2,
                ));
            }
            clap_mangen::generate_to(command, dir).map_err(|e| {
                (
                    format!("cannot write the pages into {}: {e}", dir.display()),
                    1,
                )
            })?;
            println!("manual pages written to {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `bytes` on stdout; a reader that stops early (`| head`) is no error.
fn print_bytes(bytes: &[u8], what: &str) -> Result<ExitCode, (String, u8)> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err((format!("cannot write {what}: {e}"), 1))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
