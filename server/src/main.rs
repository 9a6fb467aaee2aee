//! The `duet` binary: parse the command line, run it, report a fatal error.

// No unwrap() or expect() outside tests: input, the network and the disk
// must never crash the server. Clippy refuses any new one.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::process::ExitCode;

use clap::Parser;

// A fatal error is reported on stderr, before or without logging.
#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = duet_server::cli::Cli::parse();
    match duet_server::cli::dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The binary's edge: logging may not be set up yet.
            eprintln!("duet: {e:#}");
            ExitCode::FAILURE
        }
    }
}
