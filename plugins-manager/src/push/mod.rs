//! Push registration (`docs/push.md`, seed 003's hot-plug guide): a service registers itself
//! with a description of its endpoints, heartbeats, deregisters on shutdown, and keel's gateway
//! routes `/api/<name>/<path>` to it. It shares the registry's store, route table and lease with
//! pull-registered plugins: one platform, two ways in.
//!
//! - [`api`]: the guide's API, on its own listener ([`config::PushConfig::listen`], 8001).
//! - [`model`]: the body, the stored record, validation, the host allow-list, liveness rules.
//! - [`service`]: the operations over the store, and the liveness sweep.
//! - [`run_sweeper`]: the lease holder's sweep, every `sweep_interval_ms`.

pub mod api;
pub mod config;
pub mod error;
pub mod model;
pub mod service;
pub mod views;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use tokio::sync::watch;

pub use config::PushConfig;
use service::{Push, PushState};

use crate::lease::Leadership;
use crate::registry::{Registry, RegistryState};

/// The running push listener.
pub struct PushServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its server.
    pub handle: ServerHandle,
    /// Its task.
    pub task: actix_rt::task::JoinHandle<io::Result<()>>,
}

/// Binds the push listener and serves the API; `shared` is the registry's process state.
pub fn serve(shared: Arc<RegistryState>, push: Arc<PushState>) -> io::Result<PushServer> {
    let limit = push.cfg.max_body_bytes;
    let listen = push.cfg.listen;
    let server = HttpServer::new(move || {
        let handle = Push { reg: Registry::new(shared.clone()), state: push.clone() };
        App::new()
            .wrap(from_fn(keel_sdk::service::catalogue_errors))
            .wrap(from_fn(keel_sdk::telemetry::log_failures))
            .wrap(from_fn(keel_sdk::telemetry::log_request))
            .app_data(web::Data::new(handle))
            .app_data(web::PayloadConfig::new(limit))
            .configure(api::configure)
    })
    .workers(1)
    .tcp_nodelay(keel_sdk::http::NODELAY) // as daprd's Go does (keel_sdk::http)
    .disable_signals()
    .shutdown_timeout(5)
    .bind(listen)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "push: no address bound"))?;
    let server = server.run();
    let handle = server.handle();
    Ok(PushServer { addr, handle, task: actix_rt::spawn(server) })
}

/// Sweeps every `sweep_interval_ms` while this replica holds the polling lease.
pub async fn run_sweeper(
    reg: Registry,
    push: Arc<PushState>,
    lead: watch::Receiver<Leadership>,
    mut shutdown: watch::Receiver<bool>,
) {
    let handle = Push { reg, state: push.clone() };
    let mut tick = tokio::time::interval(push.cfg.sweep_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        if !lead.borrow().is_valid() {
            continue;
        }
        if let Err(error) = handle.sweep().await {
            tracing::warn!(%error, "Pushed services' liveness sweep failed; next round retries");
        }
    }
}
