//! `keel-bench registry`: the registry's performance targets of issue 3, measured for real —
//! register 1,000 plugins (one fake plugin process behind 1,000 sidecars) through the registry's
//! sidecar and time it, then let the registry poll them every 5 s and measure its CPU and
//! resident memory. Once with plain registrations and once with a client secret per plugin
//! (handed to auth, which argon2-hashes it: the expensive kind). Writes `docs/benchmarks-registry.md`.
//!
//! `cargo run --release -p bench -- registry [--smoke] [--plugins 1000] [--poll-seconds 60]`

mod case;
mod drive;
mod fleet;
mod machine;
mod report;
mod sample;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use case::Case;
use fleet::MIN_NOFILE;
use machine::{soft_nofile, Machine};

/// The benchmarks other than the router's (the default).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Bench {
    /// The registry: registering 1,000 plugins and polling them (docs/benchmarks-registry.md).
    Registry(Args),
    /// CPU per forwarded request as instructions under callgrind, keel against nginx in its seat
    /// (docs/benchmarks-cpu.md).
    Instructions(crate::instructions::Args),
    /// A route-table change reaching every keel replica, with a large table (docs/scaling.md).
    Propagation(crate::propagation::Args),
}

/// How plugins are registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// `{"id"}` only.
    Plain,
    /// `{"id", "secret"}`: auth stores an argon2id hash of each secret as client credentials.
    Secrets,
}

/// Settings of the registry benchmark.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// 20 plugins and 5 s of polling: proves the benchmark runs (used by the test suite).
    #[arg(long)]
    pub smoke: bool,
    /// Plugins to register [default: 1000, or 20 with --smoke].
    #[arg(long)]
    pub plugins: Option<usize>,
    /// Registrations in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds of polling measured [default: 60, or 5 with --smoke].
    #[arg(long)]
    pub poll_seconds: Option<u64>,
    /// The registry's poll interval (`KEEL_POLL_INTERVAL_MS`); the target is for 5 s.
    #[arg(long, default_value_t = 5000)]
    pub poll_interval_ms: u64,
    /// Which registrations to measure, each on a fresh platform.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Kind::Plain, Kind::Secrets])]
    pub kinds: Vec<Kind>,
    /// Where to write the report [default: docs/benchmarks-registry.md, or
    /// target/benchmarks-registry-smoke.md with --smoke].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the platform's files (state store, name registry) live [default: /dev/shm when
    /// present]. The 1,000 stand-in sidecars commit 500 name-registry heartbeats a second (daprd
    /// uses mDNS instead); on a shared disk their fsyncs stall and sidecars drop out.
    #[arg(long)]
    pub tmpdir: Option<PathBuf>,
}

/// Runs the benchmark on its own actix system; the binary's exit code.
pub fn main(args: Args) -> ExitCode {
    match actix_rt::System::new().block_on(run(args)) {
        Ok(path) => {
            eprintln!("report written to {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("keel-bench registry: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every kind of registration asked for and writes the report; returns its path.
pub async fn run(args: Args) -> Result<PathBuf, String> {
    let root = keel_e2e::build::workspace_root();
    let out = args.out.clone().unwrap_or_else(|| match args.smoke {
        true => root.join("target").join("benchmarks-registry-smoke.md"),
        false => root.join("docs").join("benchmarks-registry.md"),
    });
    let nofile = soft_nofile().unwrap_or(0);
    if nofile < MIN_NOFILE {
        return Err(format!(
            "the soft open-files limit is {nofile}; the registry benchmark needs at least {MIN_NOFILE} \
             (the registry's sidecar keeps a connection to every plugin's): run `ulimit -n 20000` first"
        ));
    }
    let shm = PathBuf::from("/dev/shm");
    let files =
        args.tmpdir.clone().or_else(|| shm.is_dir().then_some(shm)).unwrap_or_else(std::env::temp_dir);
    let machine = Machine::read(&root, &files);
    let case = Case {
        plugins: args.plugins.unwrap_or(if args.smoke { 20 } else { 1000 }).max(1),
        concurrency: args.concurrency.max(1),
        poll_window: Duration::from_secs(args.poll_seconds.unwrap_or(if args.smoke { 5 } else { 60 })),
        interval: Duration::from_millis(args.poll_interval_ms.max(100)),
        nofile,
        smoke: args.smoke,
        files,
    };
    let mut figures = Vec::new();
    let mut kinds = args.kinds.clone();
    kinds.dedup();
    for kind in kinds {
        figures.push(case.run(kind).await?);
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    }
    let text = report::markdown(&command_line(), &machine, &figures);
    std::fs::write(&out, text).map_err(|e| format!("write {}: {e}", out.display()))?;
    Ok(out)
}

/// The command that reproduces this run.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let profile = if cfg!(debug_assertions) { "" } else { " --release" };
    format!("cargo run{profile} -p bench -- {}", args.join(" "))
}
