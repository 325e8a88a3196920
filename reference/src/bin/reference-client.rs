//! `reference-client`: the reference HelseID client as a conformance driver
//! ([`helseid_reference::driver`]).

use clap::Parser;

fn main() -> std::process::ExitCode {
    helseid_reference::driver::main(helseid_reference::driver::Args::parse())
}
