//! `keel`, the router (Dapr app-id `keel`): loads its configuration, starts the router, logs its
//! addresses and runs until SIGINT/SIGTERM. Everything else lives in [`keel::router`].

use std::process::ExitCode;

/// Exit status for an invalid configuration (sysexits' `EX_USAGE`).
const EX_USAGE: u8 = 64;

fn main() -> ExitCode {
    keel::telemetry::init("keel");
    // Load configuration from the environment without binding ports.
    let cfg = match keel::router::Config::from_env() {
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

async fn run(cfg: keel::router::Config) -> std::io::Result<()> {
    let running = keel::router::start(cfg).await?;
    tracing::info!(port = "app", addr = %running.app_addr, "listening");
    tracing::info!(port = "admin", addr = %running.admin_addr, "listening");
    if let Some(addr) = running.public_addr {
        tracing::info!(port = "public", %addr, "listening");
    }
    keel::router::shutdown_signal().await;
    tracing::info!("Shutting down: finishing in-flight requests");
    running.stop().await
}
