//! The registry, `plugins-manager` (Dapr app-id `plugins`): how a service becomes part of the
//! platform (`../shared/spec/platform.md` §3, §4, §7).
//!
//! - `POST /v1/plugins` registers a plugin through its `/v1/identify`, checks what it claims,
//!   asks the plugins it extends, records its status, then writes its record and the new route
//!   table in one conditional transaction and pushes the table to keel ([`register`]).
//! - `GET /v1/plugins[/{id}]`, `DELETE /v1/plugins/{id}`, `GET /v1/routes` ([`api`]); who may
//!   change the registry is decided in one place ([`authorize`]).
//! - `PUT`/`DELETE`/`GET /v1/console/entries`: console entries of services that are not Keel
//!   plugins, and the listing of every entry ([`console`]); plugins declare theirs in identify.
//! - `GET /v1/tenants/{tenant}/plugins`, `POST`/`DELETE /v1/tenants/{tenant}/plugins/{id}`:
//!   which plugins each tenant has enabled ([`tenants`]).
//! - Every refusal is a [`RegistryError`], answered with the platform's error catalogue
//!   (`keel_sdk::protocol::errors`) ([`error`]).
//! - The replica holding the polling lease ([`lease`]) polls every plugin's `/v1/status` and
//!   records changes ([`poll`]).
//! - At boot it registers the core services, retrying until they answer ([`boot`]).
//! - Changes that span the registry and auth (a plugin's client credentials) go under an intent
//!   ([`intents`]); what a crash leaves half done is finished at boot and periodically
//!   ([`reconcile`]).
//!
//! Everything lives in the Dapr state store ([`store`], [`model`]); nothing only in memory.
//!
//! # How to use
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let cfg = plugins_manager::Config::default();
//! let running = plugins_manager::start(cfg, keel_sdk::dapr::SidecarConfig::from_env()).await?;
//! println!("listening on {}", running.addr);
//! running.stop().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod api;
pub mod authorize;
pub mod boot;
pub mod calls;
pub mod config;
pub mod console;
pub mod crash_point;
pub mod error;
pub mod intents;
pub mod lease;
pub mod model;
pub mod poll;
pub mod push;
pub mod reconcile;
pub mod register;
pub mod registry;
pub mod secret;
pub mod store;
pub mod table;
pub mod tenants;

use std::io;
use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use keel_sdk::dapr::SidecarConfig;
use keel_sdk::plugin::PluginSpec;
use keel_sdk::protocol::REGISTRY_APP_ID;
use tokio::sync::watch;

pub use config::Config;
pub use error::RegistryError;
pub use registry::{Registry, RegistryState};

/// A started registry: its address, its HTTP server and its background tasks.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// This replica's name in the polling lease.
    pub holder: String,
    /// Where the push API listens, when enabled.
    pub push_addr: Option<SocketAddr>,
    push: Option<push::PushServer>,
    server: ServerHandle,
    server_task: actix_rt::task::JoinHandle<io::Result<()>>,
    shutdown: watch::Sender<bool>,
    background: Vec<actix_rt::task::JoinHandle<()>>,
}

impl Running {
    /// Stops the background tasks (releasing the polling lease if held), then the server,
    /// letting requests in flight finish.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.background {
            let _ = task.await;
        }
        if let Some(p) = self.push {
            p.handle.stop(true).await;
            let _ = p.task.await;
        }
        self.server.stop(true).await;
        let _ = self.server_task.await;
    }
}

impl keel_sdk::service::Running for Running {
    fn addresses(&self) -> Vec<(&'static str, SocketAddr)> {
        let mut out = vec![("app", self.addr)];
        out.extend(self.push_addr.map(|a| ("push", a)));
        out
    }

    async fn stop(self) -> io::Result<()> {
        Running::stop(self).await;
        Ok(())
    }
}

/// Starts the registry on the current actix system: binds `cfg.listen`, serves the API and the
/// protocol endpoints, and starts the lease, polling and core registration tasks.
pub async fn start(cfg: Config, sidecar: SidecarConfig) -> io::Result<Running> {
    let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
    cfg.validate().map_err(|e| invalid(e.to_string()))?;
    let plugin = PluginSpec::new(REGISTRY_APP_ID, env!("CARGO_PKG_VERSION"))
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    let state = RegistryState::new(cfg.clone(), sidecar);

    let factory_state = state.clone();
    let server = HttpServer::new(move || {
        // Per worker: awc clients belong to one thread.
        let registry = web::Data::new(Registry::new(factory_state.clone()));
        // Middleware runs in reverse order of registration: the app token check first, then the
        // request log, then the error log, then actix's own refusals put in the catalogue's body.
        App::new()
            .wrap(from_fn(keel_sdk::service::catalogue_errors))
            .wrap(from_fn(keel_sdk::telemetry::log_failures))
            .wrap(from_fn(keel_sdk::telemetry::log_request))
            .wrap(plugin.app_token().clone())
            .configure(plugin.configure())
            .app_data(registry)
            .configure(api::configure)
    })
    .workers(cfg.workers)
    .tcp_nodelay(keel_sdk::http::NODELAY) // as daprd's Go does (keel_sdk::http)
    .disable_signals()
    .shutdown_timeout(5)
    .bind(cfg.listen)?;
    let addr = server.addrs().first().copied().ok_or_else(|| invalid("no address bound".into()))?;
    let server = server.run();
    let handle = server.handle();
    let server_task = actix_rt::spawn(server);

    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    tracing::info!(%holder, "This replica's name in the polling lease");
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (lead_tx, lead_rx) = watch::channel(lease::Leadership::default());
    let mut background = vec![
        actix_rt::spawn(lease::run(
            Registry::new(state.clone()),
            holder.clone(),
            lead_tx,
            shutdown_rx.clone(),
        )),
        actix_rt::spawn(poll::run(Registry::new(state.clone()), lead_rx.clone(), shutdown_rx.clone())),
        actix_rt::spawn(reconcile::run(Registry::new(state.clone()), shutdown_rx.clone())),
    ];
    // Push registration: its own listener, and the lease holder's liveness sweep.
    let push = if cfg.push.enabled {
        let push_state = push::service::PushState::new(cfg.push.clone());
        drop(push_state.verifier.spawn_refresher(keel_sdk::dapr::DaprClient::new(state.sidecar.clone())));
        let server = push::serve(state.clone(), push_state.clone())?;
        background.push(actix_rt::spawn(push::run_sweeper(
            Registry::new(state.clone()),
            push_state,
            lead_rx,
            shutdown_rx.clone(),
        )));
        Some(server)
    } else {
        None
    };
    let push_addr = push.as_ref().map(|p| p.addr);
    if cfg.register_core {
        background.push(actix_rt::spawn(boot::register_core(Registry::new(state), shutdown_rx)));
    }
    Ok(Running { addr, holder, push_addr, push, server: handle, server_task, shutdown, background })
}
