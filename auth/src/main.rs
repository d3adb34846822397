//! `auth`: loads its configuration, starts the identity service, runs until SIGINT/SIGTERM.
//! Invalid configuration exits with 64 (EX_USAGE).

use std::process::ExitCode;

use auth::{start, Config};
use keel_sdk::dapr::SidecarConfig;
use keel_sdk::protocol::AUTH_APP_ID;

const EX_USAGE: u8 = 64;

#[actix_web::main]
async fn main() -> ExitCode {
    keel_sdk::telemetry::init(AUTH_APP_ID);
    let cfg = match Config::load() {
        Ok(cfg) => cfg,
        Err(error) => {
            tracing::error!(%error, "Invalid configuration");
            return ExitCode::from(EX_USAGE);
        }
    };
    if let Err(error) = cfg.validate() {
        tracing::error!(%error, "Invalid configuration");
        return ExitCode::from(EX_USAGE);
    }
    let running = match start(cfg, SidecarConfig::from_env()).await {
        Ok(running) => running,
        Err(error) => {
            tracing::error!(%error, "Cannot start");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %running.addr, "listening");
    wait_for_signal().await;
    tracing::info!("Stopping");
    running.stop().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
