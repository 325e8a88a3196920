//! `helseid-testbed keys ...`: the STS's signing keys in a data directory.
//!
//! `rotate` makes a new active key; the old one stays in the JWKS for the overlap period (so
//! tokens it signed keep verifying), then moves to `/connect/expiredjwks`. A running server
//! picks the change up on its next request.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use mock_sts::clock::{Clock, SystemClock, rfc3339};
use mock_sts::keys;
use mock_sts::store::Store;

use crate::up_cmd::DataDirArg;

#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a new signing key and make it the active one.
    Rotate(DataDirArg),
    /// List the signing keys with their state.
    List(DataDirArg),
}

pub(crate) fn run(args: KeysArgs) -> Result<ExitCode, String> {
    let now = SystemClock.now();
    match args.command {
        KeysCommand::Rotate(d) => {
            let store = open(&d)?;
            // Make sure a first key exists so the rotation has something to overlap with.
            keys::load(&store, keys::MAIN_RING, now, 0).map_err(|e| e.to_string())?;
            let kid = keys::rotate(&store, keys::MAIN_RING, now).map_err(|e| e.to_string())?;
            println!("new signing key: {kid}");
        }
        KeysCommand::List(d) => {
            let store = open(&d)?;
            let ring = keys::load(
                &store,
                keys::MAIN_RING,
                now,
                mock_sts::StsConfig::new("", "").key_overlap,
            )
            .map_err(|e| e.to_string())?;
            for k in &ring.keys {
                let state = match k.replaced_at {
                    None => "active".to_owned(),
                    Some(at) if now < at + ring.overlap => {
                        format!("published until {}", rfc3339(at + ring.overlap))
                    }
                    Some(_) => "expired".to_owned(),
                };
                println!(
                    "{}  created {}  {state}",
                    k.public.kid.as_deref().unwrap_or("-"),
                    rfc3339(k.created_at)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open(d: &DataDirArg) -> Result<Store, String> {
    crate::hints::existing_data_dir(&d.data_dir)?;
    Store::open(&d.data_dir).map_err(|e| e.to_string())
}
