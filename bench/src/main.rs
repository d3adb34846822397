//! `keel-bench`: one command that measures, in one run on one machine, the plugin called
//! directly, one sidecar hop, two sidecars, the internal keel path, the external keel path and
//! nginx proxying the same plugin, and writes the figures to `docs/benchmarks.md`.
//!
//! `cargo run --release -p bench -- [--smoke] [--seconds 10] [--only <label>...] [--plugins <n>...] [--out docs/benchmarks.md]`

mod auth;
mod floors;
mod instructions;
mod load;
mod nginx;
mod overload;
mod paired;
mod procstat;
mod propagation;
mod registry;
mod report;
mod routes;
mod scenario;
mod syscalls;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Measure keel's overhead against direct calls, sidecar hops and nginx.
#[derive(Debug, Parser)]
#[command(name = "keel-bench")]
pub struct Args {
    /// A few seconds at a tiny load: proves the benchmark still runs (used by the test suite).
    #[arg(long)]
    pub smoke: bool,
    /// Seconds per measurement in a full run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Only the runs whose label contains one of these (repeatable): a path and body
    /// (`"keel at its app port 1 MiB"`, `"1 MiB"`), a comparison's name (`"keel's own hop, 1 MiB"`)
    /// or `"auth"`; everything when not given. Write such a partial report with `--out` elsewhere.
    #[arg(long, value_name = "LABEL SUBSTRING")]
    pub only: Vec<String>,
    /// Route-table sizes the keel paths are measured with (repeatable; the first is also the
    /// size the other paths and the judged rounds run with). Default: 1 and 1000.
    #[arg(long, value_name = "PLUGINS")]
    pub plugins: Vec<usize>,
    /// Where to write the report.
    #[arg(long, default_value = "docs/benchmarks.md")]
    pub out: PathBuf,
    /// Another benchmark instead of the router's.
    #[command(subcommand)]
    pub bench: Option<registry::Bench>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match &args.bench {
        Some(registry::Bench::Registry(r)) => return registry::main(r.clone()),
        Some(registry::Bench::Instructions(i)) => return instructions::main(i.clone()),
        Some(registry::Bench::Propagation(p)) => return propagation::main(p.clone()),
        None => {}
    }
    match actix_rt::System::new().block_on(scenario::run(args)) {
        Ok(path) => {
            eprintln!("report written to {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("keel-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
