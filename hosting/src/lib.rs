//! `hosting` (Dapr app-id `hosting`): the core service that runs plugins' own web services, the
//! ONES "hosted standalone application" ability (`../shared/seeds/000_13ad20e406f62f62.txt`).
//!
//! - A bundle is the seed's `plugin.yaml` (a `web_service` ability with `root_route`,
//!   `start_file`, `is_open`, `args`) beside a `workspace/` folder ([`bundle`]); installed through
//!   the API as a `.tar.gz`, or from a folder named in configuration at boot. Refusals are 4xx
//!   and leave nothing behind.
//! - Each installed service runs as `<start_file> start --port=<N> --args=<args>` in its
//!   workspace; hosting waits for its PID file and port, watches it, restarts it with backoff and
//!   marks it `FAILED` after too many crashes ([`supervise`]); stops it with `<start_file> stop`,
//!   then signals; sweeps at boot whatever a killed predecessor left running ([`host`]).
//! - It is served at `/plugin_service/<root_route>/` on the app port (keel forwards its public
//!   `/plugin_service/` there through Dapr) and at `/<root_route>/` on the local port
//!   (`127.0.0.1:9008` by default) ([`proxy`]).
//! - Records, restart history and archives live in the Dapr state store ([`store`]).
//!
//! # How to use
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let cfg = hosting::Config::default();
//! let running = hosting::start(cfg, keel_sdk::dapr::SidecarConfig::from_env()).await?;
//! println!("app port {}, local port {}", running.addr, running.local_addr);
//! running.stop().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod api;
pub mod authorize;
pub mod bundle;
pub mod config;
pub mod error;
pub mod host;
pub mod logs;
pub mod model;
pub mod proxy;
pub mod store;
pub mod supervise;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use keel_sdk::dapr::{DaprClient, SidecarConfig};
use keel_sdk::plugin::PluginSpec;
use keel_sdk::protocol::HOSTING_APP_ID;

pub use config::Config;
pub use error::HostingError;
pub use host::Shared;

/// A started hosting: its two ports, its servers and the host.
pub struct Running {
    /// The app port.
    pub addr: SocketAddr,
    /// The local port.
    pub local_addr: SocketAddr,
    /// The host.
    pub shared: Arc<Shared>,
    servers: Vec<(ServerHandle, actix_rt::task::JoinHandle<io::Result<()>>)>,
    manager: actix_rt::task::JoinHandle<()>,
}

impl Running {
    /// Stops every hosted service (their records stay: they start again with hosting), then the
    /// servers, letting requests in flight finish.
    pub async fn stop(self) {
        self.shared.shutdown().await;
        let _ = self.manager.await;
        for (handle, task) in self.servers {
            handle.stop(true).await;
            let _ = task.await;
        }
    }
}

impl keel_sdk::service::Running for Running {
    fn addresses(&self) -> Vec<(&'static str, SocketAddr)> {
        vec![("app", self.addr), ("local", self.local_addr)]
    }

    async fn stop(self) -> io::Result<()> {
        Running::stop(self).await;
        Ok(())
    }
}

/// Starts hosting on the current actix system: becomes the subreaper of what it will run, binds
/// both ports (answering 503 until boot is over), then boots the host.
pub async fn start(mut cfg: Config, sidecar: SidecarConfig) -> io::Result<Running> {
    let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
    cfg.validate().map_err(|e| invalid(e.to_string()))?;
    std::fs::create_dir_all(&cfg.data_dir)?;
    // Absolute from here on: scripts run in their workspace, where a relative path means another place.
    cfg.data_dir = std::fs::canonicalize(&cfg.data_dir)?;
    supervise::reap::start();
    let sidecar = sidecar.with_timeout(Config::ms(cfg.store_timeout_ms));
    let (shared, manager) = host::start(cfg.clone(), DaprClient::new(sidecar));
    let plugin = PluginSpec::new(HOSTING_APP_ID, env!("CARGO_PKG_VERSION"))
        .status(shared.status.clone())
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    let data = web::Data::new(shared.clone());
    let head_timeout = Config::ms(cfg.upstream_timeout_ms);

    let (app_data, app_plugin) = (data.clone(), plugin.clone());
    let app = HttpServer::new(move || {
        // Middleware runs in reverse order of registration: the app token check first, then the
        // request log, then the error log, then actix's own refusals put in the catalogue's body.
        App::new()
            .wrap(from_fn(keel_sdk::service::catalogue_errors))
            .wrap(from_fn(keel_sdk::telemetry::log_failures))
            .wrap(from_fn(keel_sdk::telemetry::log_request))
            .wrap(app_plugin.app_token().clone())
            .configure(app_plugin.configure())
            .app_data(app_data.clone())
            .app_data(web::Data::new(proxy::client(head_timeout)))
            .configure(api::configure)
    })
    .workers(cfg.workers)
    .disable_signals()
    .shutdown_timeout(5)
    .bind(cfg.listen)?;
    let addr = app.addrs().first().copied().ok_or_else(|| invalid("no app address bound".into()))?;

    let local_data = data.clone();
    let local = HttpServer::new(move || {
        // No app token here: this port is for processes on this machine, never a sidecar.
        App::new()
            .wrap(from_fn(keel_sdk::telemetry::log_failures))
            .wrap(from_fn(keel_sdk::telemetry::log_request))
            .app_data(local_data.clone())
            .app_data(web::Data::new(proxy::client(head_timeout)))
            .default_service(web::to(api::local_door))
    })
    .workers(cfg.workers)
    .disable_signals()
    .shutdown_timeout(5)
    .bind(cfg.local_listen)?;
    let local_addr =
        local.addrs().first().copied().ok_or_else(|| invalid("no local address bound".into()))?;

    let mut servers = Vec::new();
    for server in [app.run(), local.run()] {
        let handle = server.handle();
        servers.push((handle, actix_rt::spawn(server)));
    }
    Ok(Running { addr, local_addr, shared, servers, manager })
}
