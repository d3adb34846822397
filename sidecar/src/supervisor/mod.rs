//! Runs a plan the way `dapr run` does: every sidecar first, then every app (in its folder,
//! with `APP_ID`, `APP_PORT`, `DAPR_HTTP_PORT`, ... in its environment), a readiness line per app
//! once its sidecar is ready, and on Ctrl-C / SIGTERM every app and sidecar stopped cleanly.
//!
//! Nothing starts until everything has been checked: run file, components, stores, registry and
//! ports. If a later step fails (an app command that cannot start), what was started is stopped.

pub mod output;
pub mod process;

use crate::api::StopRequest;
use crate::cli::{self, Cli, Command};
use crate::config::AppPlan;
use crate::sidecar::{self, Prepared, Running};
use output::{Console, Stream};
use process::AppProcess;
use std::time::Duration;
use tokio::sync::watch;

/// Exit code for an invalid command line, run file or component (linkerd's `EX_USAGE`).
pub const EXIT_USAGE: i32 = 64;
/// Exit code when the run could not start.
pub const EXIT_FAILURE: i32 = 1;
/// How long apps get between SIGTERM and SIGKILL.
pub const APP_GRACE: Duration = Duration::from_secs(5);

/// The readiness line, printed on stdout once an app's sidecar reports ready.
pub fn readiness_line(app_id: &str, http_port: u16, app_port: Option<u16>) -> String {
    format!("sidecar ready app_id={app_id} dapr_http_port={http_port} app_port={}", app_port.unwrap_or(0))
}

/// The binary's body: returns the process exit code.
pub fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Run(args) => {
            init_tracing(&args.log_level);
            let env = cli::process_env();
            let plan = match args.plan(&env) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!("{e}");
                    return EXIT_USAGE;
                }
            };
            // Token files for tools, when asked for; they go when the run does.
            let _token_files = match &args.tokens_dir {
                None => None,
                Some(dir) => match crate::tokens::TokenFiles::write(dir, &plan) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        tracing::error!(dir = %dir.display(), error = %e, "Cannot write the token files");
                        return EXIT_FAILURE;
                    }
                },
            };
            actix_rt::System::new().block_on(run(plan, env))
        }
    }
}

fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(format!("sidecar={level},warn")))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(keel_sdk::telemetry::colour())
        .with_target(false)
        .try_init();
}

/// Runs every app of `plan` until a signal (or every sidecar was shut down); returns the exit code.
pub async fn run(plan: Vec<AppPlan>, env: Vec<(String, String)>) -> i32 {
    let console = Console::start();
    // Take over Ctrl-C / SIGTERM before anything starts, so no signal finds a half-started run
    // with the default (die at once) disposition.
    let stop_signal = signal();
    tokio::pin!(stop_signal);

    // 1. Prepare every sidecar (configuration, components, stores, identity, ports); any failure
    //    means nothing was started.
    let mut prepared: Vec<Prepared> = Vec::with_capacity(plan.len());
    for p in &plan {
        match sidecar::prepare(p.sidecar.clone()).await {
            Ok(ready) => prepared.push(ready),
            Err(e) => {
                tracing::error!("{e}");
                return match e {
                    sidecar::StartError::Bind { .. }
                    | sidecar::StartError::Registry { .. }
                    | sidecar::StartError::Identity { .. }
                    | sidecar::StartError::Task { .. } => EXIT_FAILURE,
                    _ => EXIT_USAGE,
                };
            }
        }
    }

    // 2. Start the sidecars; a failure stops those already running.
    let mut running: Vec<Running> = Vec::with_capacity(prepared.len());
    for p in prepared {
        match sidecar::start(p).await {
            Ok(r) => running.push(r),
            Err(e) => {
                tracing::error!("{e}");
                for r in running {
                    r.stop(true).await;
                }
                return EXIT_FAILURE;
            }
        }
    }

    // 3. Start the apps; a failure stops everything started so far.
    let mut apps: Vec<Option<AppProcess>> = Vec::with_capacity(plan.len());
    for (p, r) in plan.iter().zip(&running) {
        let Some(cmd) = &p.command else {
            apps.push(None);
            continue;
        };
        match AppProcess::spawn(&p.sidecar.app_id, cmd, &app_env(p, r, &env, cmd), &console) {
            Ok(a) => apps.push(Some(a)),
            Err(e) => {
                tracing::error!("{e}");
                for a in apps.into_iter().flatten() {
                    a.stop(APP_GRACE).await;
                }
                for r in running {
                    r.stop(true).await;
                }
                return EXIT_FAILURE;
            }
        }
    }

    // 4. One unit per app: prints its readiness line, stops on request or with the run.
    let (stop_all_tx, stop_all) = watch::channel(false);
    let mut units = Vec::with_capacity(running.len());
    for ((r, app), p) in running.into_iter().zip(apps).zip(&plan) {
        let line = readiness_line(r.app_id(), r.http_port(), p.sidecar.app_port);
        units.push(actix_rt::spawn(unit(r, app, line, console.clone(), stop_all.clone())));
    }

    // 5. Wait for Ctrl-C / SIGTERM, or for every sidecar to have been shut down.
    let all_done = futures_util::future::join_all(units);
    tokio::pin!(all_done);
    tokio::select! {
        _ = &mut stop_signal => {
            tracing::info!("Received signal to stop; stopping every app and sidecar");
            let _ = stop_all_tx.send(true);
            all_done.await;
        }
        _ = &mut all_done => {}
    }
    console.line(Stream::Err, "Exited Dapr successfully").await;
    // Let the console thread drain before the process exits.
    tokio::time::sleep(Duration::from_millis(50)).await;
    0
}

/// The app's environment: the run's own, then what `dapr run` sets, then the run file's `env`.
fn app_env(
    p: &AppPlan,
    r: &Running,
    inherited: &[(String, String)],
    cmd: &crate::config::AppCommand,
) -> Vec<(String, String)> {
    let s = &p.sidecar;
    let mut env: Vec<(String, String)> = inherited.to_vec();
    let mut set = |k: &str, v: String| env.push((k.to_owned(), v));
    set("APP_ID", s.app_id.clone());
    set("APP_CHANNEL_ADDRESS", s.app_channel_address.clone());
    if let Some(port) = s.app_port {
        set("APP_PORT", port.to_string());
    }
    set("APP_PROTOCOL", p.app_protocol.clone());
    set("DAPR_HTTP_PORT", r.http_port().to_string());
    set("DAPR_GRPC_PORT", s.dapr_grpc_port.to_string());
    set("DAPR_METRICS_PORT", s.metrics_port.to_string());
    env.extend(cmd.env.iter().cloned());
    // Later entries win (as with Go's exec): keep only the last value of each name.
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<(String, String)> =
        env.into_iter().rev().filter(|(k, _)| seen.insert(k.clone())).collect();
    out.reverse();
    out
}

/// One app and its sidecar for the life of the run.
async fn unit(
    mut sidecar: Running,
    app: Option<AppProcess>,
    ready_line: String,
    console: Console,
    mut stop_all: watch::Receiver<bool>,
) {
    let readiness = sidecar.readiness();
    let announce = async {
        readiness.wait().await;
        console.line(Stream::Out, &ready_line).await;
    };
    tokio::pin!(announce);
    let mut announced = false;
    let forced = loop {
        tokio::select! {
            _ = &mut announce, if !announced => announced = true,
            req = sidecar.stop_requested() => break req == StopRequest::Forced,
            _ = stop_all.wait_for(|s| *s) => break false,
        }
    };
    if let Some(app) = app {
        app.stop(if forced { Duration::ZERO } else { APP_GRACE }).await;
    }
    sidecar.stop(forced).await;
}

/// Installs the Ctrl-C / SIGTERM handlers now and returns a future that resolves on either.
fn signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let handlers = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()));
    async move {
        let (Ok(mut int), Ok(mut term)) = handlers else {
            tracing::error!("Cannot install signal handlers; stop the run with SIGKILL");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
}
