//! `keelctl`: the operator's command line for a Keel platform. It talks only to keel's public
//! port, with the token `keelctl login` stored in the user's config directory.
//!
//! Exit codes (stable, for scripts): 0 success, 1 other failure, 2 usage error, 3 not logged in,
//! login refused or token refused (401), 4 not allowed (403), 5 not found (404), 6 conflict (409), 7 platform
//! unavailable (unreachable, 502/503/504, or a wait that timed out).

mod api;
mod args;
mod commands;
mod credentials;
mod error;
mod output;

use clap::Parser;

fn main() {
    let args = args::Cli::parse();
    let system = actix_rt::System::new();
    let result = system.block_on(commands::run(args));
    if let Err(e) = result {
        eprintln!("keelctl: {e}");
        std::process::exit(e.exit_code());
    }
}
