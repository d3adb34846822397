//! The `sidecar` binary: parse the command line, start tracing, hand over to the supervisor.

use clap::Parser;

fn main() {
    let cli = sidecar::cli::Cli::parse();
    std::process::exit(sidecar::supervisor::main(cli));
}
