//! `keel-bench registry`: the registry's performance targets of issue 3, measured for real —
//! register 1,000 plugins (one fake plugin process behind 1,000 sidecars) through the registry's
//! sidecar and time it, then let the registry poll them every 5 s and measure its CPU and
//! resident memory. Writes `docs/benchmarks-registry.md`.
//!
//! `cargo run --release -p bench -- registry [--smoke] [--plugins 1000] [--poll-seconds 60]`

mod drive;
mod fleet;
mod machine;
mod report;
mod sample;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use keel_e2e::{bin_path, free_port, AppSpec, Platform};

use drive::{list, plugins_url, register_all, Listed};
use fleet::{Fleet, Setup, MIN_NOFILE};
use machine::{load_average, soft_nofile, Machine};
use report::Figures;
use sample::{lifetime_peak_rss, Scope, Watches};

/// The benchmarks other than the router's (the default).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Bench {
    /// The registry: registering 1,000 plugins and polling them (docs/benchmarks-registry.md).
    Registry(Args),
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
    /// Where to write the report [default: docs/benchmarks-registry.md, or
    /// target/benchmarks-registry-smoke.md with --smoke].
    #[arg(long)]
    pub out: Option<PathBuf>,
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

/// Runs the whole benchmark and writes the report; returns its path.
pub async fn run(args: Args) -> Result<PathBuf, String> {
    let root = keel_e2e::build::workspace_root();
    let plugins = args.plugins.unwrap_or(if args.smoke { 20 } else { 1000 }).max(1);
    let poll_window = Duration::from_secs(args.poll_seconds.unwrap_or(if args.smoke { 5 } else { 60 }));
    let interval = Duration::from_millis(args.poll_interval_ms.max(100));
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
    let machine = Machine::read();
    let client = keel_e2e::client();

    let mut platform = Platform::new();
    // keel and auth as in production: the registry registers them at boot and pushes every new
    // route table to keel. Their own logs are not what is measured.
    let keel = AppSpec::bin("keel", "keel")
        .env("KEEL_ADMIN_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("KEEL_PUBLIC_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("KEEL_LOG", "warn");
    platform.start(keel).await;
    platform.start(AppSpec::bin("auth", "auth").env("KEEL_LOG", "warn")).await;
    let fleet_dir = platform.dir().join("fleet");
    std::fs::create_dir_all(&fleet_dir).map_err(|e| format!("create {}: {e}", fleet_dir.display()))?;
    let (sidecar_bin, fake_bin) = (bin_path("sidecar"), bin_path("fake-plugin"));
    let (components, name_registry) = (platform.components_dir(), platform.registry());
    let setup = Setup {
        sidecar_bin: &sidecar_bin,
        fake_bin: &fake_bin,
        dir: &fleet_dir,
        components: &components,
        registry: &name_registry,
        app_port: free_port(),
    };
    let ready_limit = Duration::from_secs(60 + plugins as u64 / 5);
    let fleet = Fleet::start(&setup, plugins, nofile, ready_limit).await?;
    eprintln!("{plugins} plugin sidecars ready in {} shard(s)", fleet.shards);

    platform
        .start(
            AppSpec::bin("plugins", "plugins-manager")
                .env("KEEL_POLL_INTERVAL_MS", interval.as_millis().to_string()),
        )
        .await;
    let sidecar_pid = platform.app("plugins").pid();
    // The app runs as the `sidecar run` process's child; only the app is the registry.
    let registry_pid = crate::procstat::children(sidecar_pid)
        .into_iter()
        .next()
        .ok_or("the registry process was not found")?;
    let url = plugins_url(&platform.dapr_url("plugins"));
    wait_for_core(&client, &url).await?;

    eprintln!("registering {plugins} plugins, {} at once", args.concurrency);
    let watch = Watches::start(&[Scope::Tree(registry_pid)]);
    let registered = register_all(&client, &url, &fleet.ids, args.concurrency).await;
    let registration = watch.finish()[0];
    let active_after_registration = count_perf(&list(&client, &url).await?, |p| p.status == "ACTIVE");
    eprintln!(
        "registered {} of {plugins} in {:.2} s; settling one poll interval",
        registered.latencies.len(),
        registered.elapsed.as_secs_f64()
    );

    // One interval for the last registrations' work to end, so the window is polling alone.
    tokio::time::sleep(interval).await;
    eprintln!("measuring {} s of polling", poll_window.as_secs());
    let log_start = file_len(&fleet.fake_log);
    let window_start_ms = unix_ms();
    let mut fleet_scopes: Vec<Scope> = fleet.shard_pids().into_iter().map(Scope::Tree).collect();
    fleet_scopes.push(Scope::Tree(fleet.fake_pid()));
    let mut scopes = vec![Scope::Tree(registry_pid), Scope::Alone(sidecar_pid)];
    scopes.extend(&fleet_scopes);
    let watch = Watches::start(&scopes);
    tokio::time::sleep(poll_window).await;
    let usages = watch.finish();
    let polls_seen = status_polls_since(&fleet.fake_log, log_start);
    let listed = list(&client, &url).await?;

    let fleet_usage = usages[2..].iter().fold(sample::Usage::default(), |acc, u| sample::Usage {
        seconds: u.seconds,
        cpu_seconds: acc.cpu_seconds + u.cpu_seconds,
        peak_rss: acc.peak_rss + u.peak_rss,
    });
    let figures = Figures {
        command: command_line(),
        smoke: args.smoke,
        machine,
        load_after: load_average(),
        plugins,
        concurrency: args.concurrency,
        shards: fleet.shards,
        poll_interval_ms: interval.as_millis() as u64,
        registered,
        active_after_registration,
        registration,
        polling: usages[0],
        polling_sidecar: usages[1],
        polling_fleet: fleet_usage,
        polls_seen,
        polled_in_window: count_perf(&listed, |p| p.last_checked_ms >= window_start_ms),
        active_after_polling: count_perf(&listed, |p| p.status == "ACTIVE"),
        lifetime_peak_rss: lifetime_peak_rss(registry_pid),
    };
    drop(fleet);
    drop(platform);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    }
    std::fs::write(&out, report::markdown(&figures)).map_err(|e| format!("write {}: {e}", out.display()))?;
    Ok(out)
}

/// Waits until the registry has registered the core services at boot, so that work is not timed.
async fn wait_for_core(client: &awc::Client, url: &str) -> Result<(), String> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(60) {
        match list(client, url).await {
            Ok(listed) if ["keel", "auth", "plugins"].iter().all(|c| listed.iter().any(|p| p.id == *c)) => {
                return Ok(())
            }
            Ok(listed) => {
                last = format!("registered so far: {:?}", listed.iter().map(|p| &p.id).collect::<Vec<_>>())
            }
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("the registry did not register keel, auth and itself within 60 s ({last})"))
}

fn count_perf(listed: &[Listed], pred: impl Fn(&Listed) -> bool) -> usize {
    listed.iter().filter(|p| p.id.starts_with("perf-") && pred(p)).count()
}

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// `GET /v1/status` requests logged by the fake plugin after byte `from` of its log.
fn status_polls_since(path: &std::path::Path, from: u64) -> usize {
    let text = std::fs::read(path).unwrap_or_default();
    let tail = text.get(usize::try_from(from).unwrap_or(usize::MAX).min(text.len())..).unwrap_or_default();
    String::from_utf8_lossy(tail).matches("method=GET path=/v1/status").count()
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The command that reproduces this run.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let profile = if cfg!(debug_assertions) { "" } else { " --release" };
    format!("cargo run{profile} -p bench -- {}", args.join(" "))
}
