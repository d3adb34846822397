//! The router (app-id `keel`, `platform.md` §5): forwards `/<plugin_id>/<endpoint...>` and
//! `/addons/<point>` from its app port to the plugins through its own sidecar, and
//! `/apis/<plugin_id>/<endpoint...>` (and `/api/`, `/plugin_service/`, `/plugins/<group>/` for
//! console entries) from its public port, streaming bodies both ways. Routes come
//! from the registry's table, held in memory; keel's own refusals are in [`errors`].
//!
//! Where a request enters, is checked, and leaves: [`forward`]. The modules, by phase:
//! [`ports`] (what each port serves) → [`limits`] (the head's limits) → [`target`] (path →
//! target) → [`client_addr`] (the client's address) → [`caller`] / [`gate`] (who calls, tenant
//! enablement) → [`precheck`] (the external hook) → [`routes`] (the table) → [`upstream`] (the hop
//! to keel's sidecar, less the client's [`credentials`]) → [`access_log`] (the logging phase,
//! reading [`ctx`]). keel's own API: [`control`]. The web console (crate `keel-console`) on the
//! public port at `/console/`, with its session endpoints ([`console_api`]), cookie sessions
//! accepted by the gate ([`session`]) and their CSRF defence ([`csrf`]). Shared state: [`state`]; refusals: [`errors`];
//! counters: [`metrics`]; the table's loading: [`loader`].
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

pub mod access_log;
pub mod caller;
pub mod client_addr;
pub mod config;
pub mod console_api;
pub mod control;
pub mod credentials;
pub mod csrf;
pub mod ctx;
pub mod errors;
pub mod forward;
pub mod gate;
pub mod gateway;
pub mod limits;
pub mod loader;
pub mod metrics;
pub mod outlier;
pub mod ports;
pub mod precheck;
pub mod routes;
pub mod session;
pub mod shedding;
pub mod state;
pub mod target;
pub mod upstream;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::KeepAlive;
use actix_web::middleware::{from_fn, Condition};
use actix_web::{web, App, HttpServer};

pub use config::{Config, RouterConfig};
pub use errors::RouteError;
pub use gate::{Identity, TokenVerifier};
pub use state::RouterState;

use keel_sdk::dapr::{DaprClient, SidecarConfig};
use keel_sdk::service::AppToken;

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
    state: web::Data<RouterState>,
    servers: Vec<(ServerHandle, actix_rt::task::JoinHandle<io::Result<()>>)>,
    loader: actix_rt::task::JoinHandle<()>,
}

/// One port as [`serve`] builds it.
struct Port<F> {
    /// Where it listens (bound already, so a bad address fails before anything starts).
    listener: TcpListener,
    /// Worker threads.
    workers: usize,
    /// Seconds in-flight requests get to finish on stop.
    shutdown_s: u64,
    /// How long an idle connection stays open; `None`: actix's default.
    keep_alive: Option<Duration>,
    /// The app token the port requires (`AppToken::new(None)` requires none).
    token: AppToken,
    /// Whether requests pass the logging phase (the access log and the request metrics): the
    /// routing ports, not the admin port, whose scrapes must not count as requests.
    logged: bool,
    /// What it serves ([`ports`]).
    routes: F,
}

/// Starts the router: binds every port (so a bad address fails here), then loads routes in the
/// background. Must run inside an actix system (`#[actix_web::main]`, `#[actix_web::test]`).
pub async fn start(cfg: Config) -> io::Result<Running> {
    cfg.router.validate().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let state = web::Data::new(RouterState::new(&cfg)?);
    let workers = cfg.router.worker_count();
    let shutdown_s = cfg.router.shutdown_timeout_s;
    let mut servers = Vec::new();

    // The app port: keel's sidecar is its only client, with keel's app token when configured.
    let listener = TcpListener::bind(cfg.router.app_addr())?;
    let app_addr = listener.local_addr()?;
    let token = state.keel.app_token().clone();
    let routes = ports::app_port(&state.keel);
    let port =
        Port { listener, workers, shutdown_s, keep_alive: Some(KEEP_ALIVE), token, logged: true, routes };
    servers.push(serve(port, &state, &cfg.sidecar)?);

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
        let token = AppToken::new(None); // clients are verified by their bearer tokens
        let port = Port {
            listener,
            workers,
            shutdown_s,
            keep_alive: None,
            token,
            logged: true,
            routes: ports::public_port,
        };
        servers.push(serve(port, &state, &cfg.sidecar)?);
    }

    // The admin port: one worker is plenty for scrapes.
    let listener = TcpListener::bind(cfg.router.admin_listen)?;
    let admin_addr = listener.local_addr()?;
    let token = AppToken::new(None); // keep it off the public network instead
    let port = Port {
        listener,
        workers: 1,
        shutdown_s: 1,
        keep_alive: None,
        token,
        logged: false,
        routes: ports::admin_port,
    };
    servers.push(serve(port, &state, &cfg.sidecar)?);

    let schedule = loader::Schedule {
        retry: Duration::from_millis(cfg.router.routes_retry_ms),
        refresh: Duration::from_millis(cfg.router.routes_refresh_ms),
        watch: Duration::from_millis(cfg.router.routes_watch_ms),
    };
    if let Some(verifier) = &cfg.verifier {
        verifier.keep_fresh(DaprClient::new(cfg.sidecar.clone()));
    }
    let loader = actix_rt::spawn(loader::run(state.clone(), cfg.sidecar.clone(), schedule));
    Ok(Running { app_addr, admin_addr, public_addr, state, servers, loader })
}

/// Builds and spawns one port's server: every port gets the shared state and a sidecar client
/// per worker (awc: at most one client per thread), its token check, the logging phase when it
/// routes, and its routes.
fn serve<F>(
    port: Port<F>,
    state: &web::Data<RouterState>,
    sidecar: &SidecarConfig,
) -> io::Result<(ServerHandle, actix_rt::task::JoinHandle<io::Result<()>>)>
where
    F: FnOnce(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let Port { listener, workers, shutdown_s, keep_alive, token, logged, routes } = port;
    let (state, sidecar) = (state.clone(), sidecar.clone());
    let server = HttpServer::new(move || {
        // Middleware runs in reverse order of registration: the logging phase (outermost) sees
        // every answer, then the head's limits (routing ports), then the token check.
        App::new()
            .app_data(state.clone())
            .app_data(web::Data::new(DaprClient::new(sidecar.clone())))
            .wrap(token.clone())
            .wrap(Condition::new(logged, from_fn(limits::enforce)))
            .wrap(Condition::new(logged, from_fn(access_log::record)))
            .configure(routes.clone())
    })
    .workers(workers)
    // Streamed bodies are written in pieces: without it their last piece waits for the peer's
    // delayed ACK (keel_sdk::http).
    .tcp_nodelay(keel_sdk::http::NODELAY)
    .shutdown_timeout(shutdown_s)
    .disable_signals();
    let server = match keep_alive {
        Some(after) => server.keep_alive(KeepAlive::Timeout(after)),
        None => server,
    };
    let server = server.listen(listener)?.run();
    Ok((server.handle(), actix_rt::spawn(server)))
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
        self.state.routes.version()
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
