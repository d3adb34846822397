//! The router (app-id `keel`, `platform.md` §5): forwards `/<plugin_id>/<endpoint...>` and
//! `/addons/<point>` from its app port to the plugins through its own sidecar, and
//! `/apis/<plugin_id>/<endpoint...>` from its public port, streaming bodies both ways. Routes come
//! from the registry's table, held in memory; keel's own refusals are in [`errors`].
//!
//! Where a request enters, is checked, and leaves: [`forward`].
//!
//! # How to use
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use keel::{start, Config};
//! let cfg = Config::from_env().expect("valid configuration");
//! let running = start(cfg).await?;
//! println!("app port {}, metrics on {}", running.app_addr, running.admin_addr);
//! keel_sdk::service::shutdown_signal().await;
//! running.stop().await
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod access;
pub mod app;
pub mod caller;
pub mod config;
pub mod control;
pub mod errors;
pub mod forward;
pub mod loader;
pub mod metrics;
pub mod precheck;
pub mod public;
pub mod routes;
pub mod target;
pub mod upstream;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

pub use config::{Config, RouterConfig};
pub use errors::RouteError;
pub use public::{Identity, TokenVerifier};

use keel_sdk::dapr::DaprClient;

/// How long keel keeps an idle connection from its sidecar open: longer than daprd's own idle
/// pooling would be wasted, shorter makes the sidecar race keel's close on reuse.
const KEEP_ALIVE: Duration = Duration::from_secs(90);

/// A started router. Dropping it leaves the servers running until the system stops; call
/// [`Running::stop`] to stop them.
pub struct Running {
    /// The app port (internal flow, keel's `/v1` API).
    pub app_addr: SocketAddr,
    /// The admin port (`/metrics`, `/healthz`, `/readyz`).
    pub admin_addr: SocketAddr,
    /// The public port, when enabled.
    pub public_addr: Option<SocketAddr>,
    shared: web::Data<app::Shared>,
    servers: Vec<(ServerHandle, actix_rt::task::JoinHandle<io::Result<()>>)>,
    loader: actix_rt::task::JoinHandle<()>,
}

/// Starts the router: binds every port (so a bad address fails here), then loads routes in the
/// background. Must run inside an actix system (`#[actix_web::main]`, `#[actix_web::test]`).
pub async fn start(cfg: Config) -> io::Result<Running> {
    cfg.router.validate().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let shared = web::Data::new(app::Shared::new(&cfg)?);
    let workers = cfg.router.worker_count();
    let shutdown = cfg.router.shutdown_timeout_s;
    let mut servers = Vec::new();

    // The app port: the token check runs first, the access log sees every answer (middleware
    // runs in reverse order of registration).
    let listener = TcpListener::bind(cfg.router.app_addr())?;
    let app_addr = listener.local_addr()?;
    let (data, sidecar, keel) = (shared.clone(), cfg.sidecar.clone(), shared.keel.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::Data::new(DaprClient::new(sidecar.clone()))) // one client per worker
            .wrap(from_fn(caller::require_app_token))
            .wrap(from_fn(access::record))
            .configure(app::app_port(&keel))
    })
    .workers(workers)
    .keep_alive(KeepAlive::Timeout(KEEP_ALIVE))
    .shutdown_timeout(shutdown)
    .disable_signals()
    .listen(listener)?
    .run();
    servers.push(spawn(server));

    // The public port, only when enabled; without a verifier it refuses everything.
    let mut public_addr = None;
    if cfg.router.public_enabled {
        let listener = TcpListener::bind(cfg.router.public_listen)?;
        public_addr = Some(listener.local_addr()?);
        if cfg.verifier.is_none() {
            tracing::warn!(
                "The public port has no token verification configured: it refuses every request (401)"
            );
        }
        let (data, sidecar) = (shared.clone(), cfg.sidecar.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::Data::new(DaprClient::new(sidecar.clone())))
                .wrap(from_fn(access::record))
                .configure(app::public_port)
        })
        .workers(workers)
        .shutdown_timeout(shutdown)
        .disable_signals()
        .listen(listener)?
        .run();
        servers.push(spawn(server));
    }

    // The admin port: one worker is plenty for scrapes.
    let listener = TcpListener::bind(cfg.router.admin_listen)?;
    let admin_addr = listener.local_addr()?;
    let data = shared.clone();
    let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(app::admin_port))
        .workers(1)
        .shutdown_timeout(1)
        .disable_signals()
        .listen(listener)?
        .run();
    servers.push(spawn(server));

    let schedule = loader::Schedule {
        retry: Duration::from_millis(cfg.router.routes_retry_ms),
        refresh: Duration::from_millis(cfg.router.routes_refresh_ms),
    };
    if let Some(verifier) = &cfg.verifier {
        verifier.keep_fresh(DaprClient::new(cfg.sidecar.clone()));
    }
    let loader = actix_rt::spawn(loader::run(shared.clone(), cfg.sidecar.clone(), schedule));
    Ok(Running { app_addr, admin_addr, public_addr, shared, servers, loader })
}

fn spawn(server: actix_web::dev::Server) -> (ServerHandle, actix_rt::task::JoinHandle<io::Result<()>>) {
    (server.handle(), actix_rt::spawn(server))
}

// === impl Running ===

impl keel_sdk::service::Running for Running {
    fn addresses(&self) -> Vec<(&'static str, SocketAddr)> {
        let mut out = vec![("app", self.app_addr), ("admin", self.admin_addr)];
        out.extend(self.public_addr.map(|a| ("public", a)));
        out
    }

    async fn stop(self) -> io::Result<()> {
        Running::stop(self).await
    }
}

impl Running {
    /// The version of the route table in use, if one is loaded.
    pub fn routes_version(&self) -> Option<u64> {
        self.shared.routes.version()
    }

    /// Stops accepting, lets in-flight requests finish (up to `shutdown_timeout_s`), and waits
    /// for every server to end.
    pub async fn stop(self) -> io::Result<()> {
        self.loader.abort();
        for (handle, _) in &self.servers {
            handle.stop(true).await;
        }
        for (_, task) in self.servers {
            task.await.map_err(io::Error::other)??;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
