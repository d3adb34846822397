//! `keelctl`: the operator's command line for a Keel platform. It talks to the platform only
//! through keel's public port, with the token `keelctl login` stored in the user's config
//! directory, and reads the platform's answers as keel-sdk's shared records
//! (`keel_sdk::management`). For plugin authors it also checks a plugin against the protocol
//! before registration, talking to the plugin alone ([`check`]), and writes new plugins from
//! embedded templates ([`scaffold`]).
//!
//! It speaks its own language: the platform's refusals are shown with their message, with the
//! API's parameters replaced by keelctl's flags and advice added by catalogue code
//! ([`refusal`]); a `--url` that is malformed, or that points at a sidecar or keel's app port, is
//! a usage error with a hint.
//!
//! Exit codes (stable, for scripts; `--help` lists them, [`args::EXIT_CODES`]): 0 success,
//! 1 other failure, 2 usage error (bad arguments, malformed `--url`, a `--url` that is not keel's
//! public port, an id or document refused as malformed), 3 not logged in, login refused or token refused (401), 4 not allowed (403),
//! 5 not found (404), 6 conflict (409), 7 platform unavailable (unreachable, 502/503/504, still
//! starting, or a wait that timed out), 8 `plugin check` found errors.

#![forbid(unsafe_code)]

mod api;
mod args;
mod check;
mod commands;
mod credentials;
mod error;
mod output;
mod refusal;
mod scaffold;

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
