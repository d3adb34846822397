//! `keel`, the router (Dapr app-id `keel`): loads its configuration, starts the router, logs its
//! addresses and runs until SIGINT/SIGTERM. Everything else lives in the library (`src/lib.rs`).

use std::process::ExitCode;

/// Every routed request allocates and frees header maps, URLs and body chunks; with jemalloc keel
/// forwards a few percent more requests per core than with glibc's malloc, whose fastbin
/// consolidation showed up in its profile, at about the same resident memory (14 MB under
/// load). mimalloc was measured too: as fast, but its huge-page-backed segments took keel's RSS
/// to 28 MB with two plugins, too close to the 30 MB budget (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Exit status for an invalid configuration (sysexits' `EX_USAGE`).
const EX_USAGE: u8 = 64;

fn main() -> ExitCode {
    keel_sdk::telemetry::init("keel");
    // Load configuration from the environment without binding ports.
    let cfg = match keel::Config::from_env() {
        Ok(cfg) => cfg,
        Err(e) => {
            tracing::error!(error = %e, "Invalid configuration");
            return ExitCode::from(EX_USAGE);
        }
    };
    match actix_web::rt::System::new().block_on(run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "keel stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run(cfg: keel::Config) -> std::io::Result<()> {
    let running = keel::start(cfg).await?;
    tracing::info!(port = "app", addr = %running.app_addr, "listening");
    tracing::info!(port = "admin", addr = %running.admin_addr, "listening");
    if let Some(addr) = running.public_addr {
        tracing::info!(port = "public", %addr, "listening");
    }
    keel::shutdown_signal().await;
    tracing::info!("Shutting down: finishing in-flight requests");
    running.stop().await
}
