//! The `sidecar` binary: parse the command line, start tracing, hand over to the supervisor.

#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    let cli = sidecar::cli::Cli::parse();
    std::process::exit(sidecar::supervisor::main(cli));
}
