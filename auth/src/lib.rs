//! `auth` (Dapr app-id `auth`): Keel's identity service (`../shared/spec/platform.md` §6).
//!
//! - Tenants, users (Argon2id password hashes), roles (`super-admin` of the platform, `admin` and
//!   `user` of every tenant, custom roles) and per-plugin grants; a tenant admin never sees or
//!   changes another tenant ([`api`]).
//! - OAuth2: `POST /v1/oauth/token` (password, client_credentials, refresh_token grants),
//!   introspection and revocation. Access tokens are Ed25519-signed JWTs ([`keys`], [`tokens`])
//!   that keel verifies itself from `GET /v1/oauth/jwks` with `keel_sdk::tokens`.
//! - Console login tickets and permission checks for plugin back ends ([`tickets`],
//!   `POST /v1/tickets...`, `POST /v1/permissions/check`).
//! - Client credentials for plugins, set by the registry at registration ([`api::clients`]).
//! - On the first start: the signing key, the platform tenant and its super-admin
//!   ([`bootstrap`]).
//!
//! Everything lives in auth's own Dapr state store (`auth-state`, scoped to auth) under keys
//! starting with `auth/` ([`model::keys`]), the private keys sealed with a key from a Dapr secret
//! store ([`sealing`]); what keel reads (revocations, grants) is published to the shared
//! `statestore`. Writes that must not race are conditional ([`store`], [`directory`]).
//!
//! # How to use
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let cfg = auth::Config::default();
//! let running = auth::start(cfg, keel_sdk::dapr::SidecarConfig::from_env()).await?;
//! println!("listening on {}", running.addr);
//! running.stop().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod api;
pub mod authorize;
pub mod bootstrap;
pub mod config;
pub mod directory;
pub mod error;
pub mod keys;
pub mod migrate;
pub mod model;
pub mod passwords;
pub mod sealing;
pub mod state;
pub mod store;
#[cfg(test)]
pub mod testing;
pub mod throttle;
pub mod tickets;
pub mod tokens;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use keel_sdk::dapr::{DaprClient, SidecarConfig};
use keel_sdk::plugin::PluginSpec;
use keel_sdk::protocol::AUTH_APP_ID;

pub use config::Config;
pub use error::AuthError;
pub use state::AuthState;
pub use store::Store;

/// A started auth service: its address, its HTTP server and its background task.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    server: ServerHandle,
    server_task: actix_rt::task::JoinHandle<io::Result<()>>,
    reloader: actix_rt::task::JoinHandle<()>,
}

impl Running {
    /// Stops reloading, then the server, letting requests in flight finish.
    pub async fn stop(self) {
        self.reloader.abort();
        self.server.stop(true).await;
        let _ = self.server_task.await;
    }
}

impl keel_sdk::service::Running for Running {
    fn addresses(&self) -> Vec<(&'static str, SocketAddr)> {
        vec![("app", self.addr)]
    }

    async fn stop(self) -> io::Result<()> {
        Running::stop(self).await;
        Ok(())
    }
}

/// Starts auth on the current actix system: waits for the sidecar, loads (or on the first start
/// creates) the signing keys, the platform tenant and the super-admin, then serves the API and
/// the plugin protocol on `cfg.listen`.
pub async fn start(cfg: Config, sidecar: SidecarConfig) -> io::Result<Running> {
    let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
    let failed = |e: AuthError| io::Error::other(e.detailed());
    cfg.validate().map_err(|e| invalid(e.to_string()))?;
    let mut spec = PluginSpec::new(AUTH_APP_ID, env!("CARGO_PKG_VERSION"));
    for endpoint in api::PUBLIC_ENDPOINTS {
        spec = spec.public_endpoint(endpoint);
    }
    let plugin = spec.build().map_err(|e| invalid(e.to_string()))?;

    let sidecar = sidecar.with_timeout(cfg.store_timeout());
    let dapr = DaprClient::new(sidecar.clone());
    dapr.wait_for_sidecar(Duration::from_millis(cfg.sidecar_wait_ms))
        .await
        .map_err(|e| io::Error::other(e.to_string()))?;
    // No sealing key is the operator's to fix: an InvalidInput error, which exits 64 like a bad
    // configuration.
    let sealer =
        sealing::Sealer::load(&dapr, &cfg.secret_store, &cfg.sealing_secret).await.map_err(|e| match e {
            sealing::SealingKeyError::Missing { .. } => invalid(e.to_string()),
            sealing::SealingKeyError::Sidecar(_) => io::Error::other(e.to_string()),
        })?;
    let store = Store::split(dapr, &cfg.store, &cfg.shared_store);
    // The decoy hash takes one Argon2 computation: off the async thread.
    let state_cfg = cfg.clone();
    let state = web::block(move || AuthState::new(state_cfg, sealer))
        .await
        .map_err(|e| io::Error::other(e.to_string()))?;
    let state = Arc::new(state.map_err(failed)?);
    migrate::directory_from_shared(&store).await.map_err(failed)?;
    let legacy = store.legacy();
    let ring = keys::load_or_create(&store, legacy.as_ref(), &state.sealer, keel_sdk::tokens::now_secs())
        .await
        .map_err(failed)?;
    state.install_ring(&ring).map_err(failed)?;
    state.reload(&store).await.map_err(failed)?;
    bootstrap::run(&state, &store).await.map_err(failed)?;
    directory::publish(&store).await.map_err(failed)?;

    let data = web::Data::from(state.clone());
    let (store_name, shared_name) = (cfg.store.clone(), cfg.shared_store.clone());
    let mut server = HttpServer::new(move || {
        // Per worker: the sidecar client belongs to one thread.
        let store = web::Data::new(Store::split(DaprClient::new(sidecar.clone()), &store_name, &shared_name));
        // Middleware runs in reverse order of registration: the app token check first, then the
        // request log, then the error log, then actix's own refusals put in the catalogue's body.
        App::new()
            .wrap(from_fn(keel_sdk::service::catalogue_errors))
            .wrap(from_fn(keel_sdk::telemetry::log_failures))
            .wrap(from_fn(keel_sdk::telemetry::log_request))
            .wrap(plugin.app_token().clone())
            .configure(plugin.configure())
            .app_data(data.clone())
            .app_data(store)
            .configure(api::configure)
    })
    .tcp_nodelay(keel_sdk::http::NODELAY) // as daprd's Go does (keel_sdk::http)
    .disable_signals()
    .shutdown_timeout(5);
    if cfg.workers > 0 {
        server = server.workers(cfg.workers);
    }
    let server = server.bind(cfg.listen)?;
    let addr = server.addrs().first().copied().ok_or_else(|| invalid("no address bound".into()))?;
    let server = server.run();
    let handle = server.handle();
    let server_task = actix_rt::spawn(server);
    let reloader = state::spawn_reloader(state, store);
    Ok(Running { addr, server: handle, server_task, reloader })
}
