//! One sidecar: assembles the layers (stores, registry, app channel, messaging, API server,
//! internal server) for one app and runs them, like one `daprd` process.
//!
//! # How to use
//! [`prepare`] does everything that can fail — load the Configuration and the components, open
//! stores (connecting to their servers), secret stores, the registry and (with mTLS) the trust
//! anchor, bind the ports — without starting anything. [`start`]
//! then serves, registers in the name registry and waits for the app in the background; the
//! returned [`Running`] reports readiness and stops cleanly.

use crate::acl::{AccessControlList, InvalidSpec};
use crate::api::{self, health::Readiness, ApiContext, StopRequest};
use crate::channel::{health::AppHealth, AppChannel};
use crate::components::{self, ComponentError};
use crate::config::{ConfigError, SidecarConfig};
use crate::configuration::{ConfigFile, Configuration, ConfigurationError};
use crate::internal::{self, InternalContext};
use crate::messaging::DirectMessaging;
use crate::registry::{Registration, Registry, RegistryError, HEARTBEAT_INTERVAL};
use crate::secrets::{self, SecretStores};
use crate::security::{self, AnchorError, TrustAnchor, WorkloadIdentity};
use crate::state::{OpenError, Stores};
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// daprd's `blockUntilAppIsReady`: dial every 100 ms with a 500 ms timeout.
const APP_DIAL_INTERVAL: Duration = Duration::from_millis(100);
const APP_DIAL_TIMEOUT: Duration = Duration::from_millis(500);

/// Why a sidecar could not start; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is invalid.
    #[error("app {app_id}: {source}")]
    Config {
        /// The app.
        app_id: String,
        /// What is wrong.
        #[source]
        source: ConfigError,
    },
    /// A Configuration file is invalid.
    #[error("app {app_id}: {source}")]
    Configuration {
        /// The app.
        app_id: String,
        /// What is wrong.
        #[source]
        source: ConfigurationError,
    },
    /// The Configuration's access-control policies are invalid.
    #[error("app {app_id}: {source}")]
    AccessControl {
        /// The app.
        app_id: String,
        /// What is wrong.
        #[source]
        source: InvalidSpec,
    },
    /// The trust anchor (mTLS) could not be read or created.
    #[error("app {app_id}: {source}")]
    Identity {
        /// The app.
        app_id: String,
        /// What is wrong.
        #[source]
        source: AnchorError,
    },
    /// A secret store could not be initialised.
    #[error("app {app_id}: {source}")]
    Secrets {
        /// The app.
        app_id: String,
        /// What is wrong.
        #[source]
        source: Box<secrets::OpenError>,
    },
    /// A component file is invalid.
    #[error("app {app_id}: {source}")]
    Components {
        /// The app.
        app_id: String,
        /// What is wrong.
        #[source]
        source: ComponentError,
    },
    /// A store could not be opened.
    #[error("app {app_id}: {source}")]
    Stores {
        /// The app.
        app_id: String,
        /// What is wrong.
        #[source]
        source: OpenError,
    },
    /// The name registry could not be used.
    #[error("app {app_id}: {source}")]
    Registry {
        /// The app.
        app_id: String,
        /// What is wrong.
        #[source]
        source: RegistryError,
    },
    /// A start-up step on the blocking pool did not finish (the runtime is shutting down).
    #[error("app {app_id}: {step}: {reason}")]
    Task {
        /// The app.
        app_id: String,
        /// What it was doing.
        step: &'static str,
        /// Why the task ended.
        reason: String,
    },
    /// A port could not be bound.
    #[error("app {app_id}: cannot listen on {addr}: {source}")]
    Bind {
        /// The app.
        app_id: String,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A sidecar ready to start: everything that can fail has been done.
pub struct Prepared {
    cfg: SidecarConfig,
    configuration: Configuration,
    acl: Option<AccessControlList>,
    identity: WorkloadIdentity,
    stores: Stores,
    secrets: SecretStores,
    registry: Registry,
    endpoints: Vec<components::endpoints::HttpEndpoint>,
    api_listeners: Vec<TcpListener>,
    internal_listener: TcpListener,
    http_port: u16,
}

impl Prepared {
    /// The HTTP API port (resolved when 0 was asked for).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The settings.
    pub fn config(&self) -> &SidecarConfig {
        &self.cfg
    }
}

/// Validates `cfg`, loads the Configuration and components, opens stores, secret stores, the
/// registry and (with mTLS) the trust anchor, and binds the ports. The file work runs on the
/// blocking pool; stores connect to their servers within their time limits.
pub async fn prepare(cfg: SidecarConfig) -> Result<Prepared, StartError> {
    let app_id = cfg.app_id.clone();
    cfg.validate().map_err(|source| StartError::Config { app_id: app_id.clone(), source })?;
    // The Configuration (access control, mTLS, secret scopes) and the trust anchor: files.
    let (files, env, registry_path) =
        (cfg.config_files.clone(), cfg.environment.clone(), cfg.registry_path.clone());
    let (namespace, id) = (cfg.namespace.clone(), cfg.app_id.clone());
    let (configuration, acl, identity) = blocking(&app_id, "loading the Configuration", move || {
        load_trust(&files, &env, &registry_path, &namespace, &id)
    })
    .await?;
    let (paths, id) = (cfg.resources_paths.clone(), cfg.app_id.clone());
    let (comps, endpoints) = tokio::task::spawn_blocking(move || {
        Ok((components::load(&paths, &id)?, components::endpoints::load(&paths, &id)?))
    })
    .await
    .unwrap_or_else(|e| Err(ComponentError::Task(e.to_string())))
    .map_err(|source| StartError::Components { app_id: app_id.clone(), source })?;
    let stores = Stores::open(&comps, &cfg.app_id, cfg.namespace_env.as_deref())
        .await
        .map_err(|source| StartError::Stores { app_id: app_id.clone(), source })?;
    let (env, id) = (cfg.environment.clone(), app_id.clone());
    let secrets = blocking(&app_id, "opening the secret stores", move || {
        SecretStores::open(&comps, &env)
            .map_err(|source| StartError::Secrets { app_id: id, source: Box::new(source) })
    })
    .await?;
    let path = cfg.registry_path.clone();
    let registry = tokio::task::spawn_blocking(move || Registry::open(&path))
        .await
        .unwrap_or_else(|_| Err(RegistryError::Cancelled))
        .map_err(|source| StartError::Registry { app_id: app_id.clone(), source })?;

    let bind = |addr: SocketAddr| {
        TcpListener::bind(addr).map_err(|source| StartError::Bind { app_id: app_id.clone(), addr, source })
    };
    let mut api_listeners = Vec::new();
    let mut http_port = cfg.dapr_http_port;
    for ip in &cfg.listen_addresses {
        // The first listener picks the port when 0 was asked for; the others share it.
        let l = bind(SocketAddr::new(*ip, http_port))?;
        http_port = l.local_addr().map(|a| a.port()).unwrap_or(http_port);
        api_listeners.push(l);
    }
    // The internal port is only for other sidecars on this machine.
    let internal_listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    Ok(Prepared {
        cfg,
        configuration,
        acl,
        identity,
        stores,
        secrets,
        registry,
        endpoints,
        api_listeners,
        internal_listener,
        http_port,
    })
}

/// The Configuration at `files`, its access-control policies and this sidecar's identity (with
/// mTLS, read from or created in the trust anchor beside the name registry). Blocking.
fn load_trust(
    files: &[ConfigFile],
    environment: &[(String, String)],
    registry_path: &Path,
    namespace: &str,
    app_id: &str,
) -> Result<(Configuration, Option<AccessControlList>, WorkloadIdentity), StartError> {
    let configuration = Configuration::load(files, |k| env_lookup(environment, k))
        .map_err(|source| StartError::Configuration { app_id: app_id.to_owned(), source })?;
    let acl = AccessControlList::parse(configuration.access_control.as_ref())
        .map_err(|source| StartError::AccessControl { app_id: app_id.to_owned(), source })?;
    let identity = if configuration.mtls_enabled {
        let anchor = TrustAnchor::load_or_create(&security::anchor_path(registry_path))
            .map_err(|source| StartError::Identity { app_id: app_id.to_owned(), source })?;
        WorkloadIdentity::enabled(anchor, namespace, app_id)
    } else {
        WorkloadIdentity::disabled()
    };
    Ok((configuration, acl, identity))
}

/// Runs the start-up step `f` on the blocking pool, so that file work never stalls the runtime
/// (other sidecars of the run, stores connecting).
async fn blocking<T: Send + 'static>(
    app_id: &str,
    step: &'static str,
    f: impl FnOnce() -> Result<T, StartError> + Send + 'static,
) -> Result<T, StartError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(StartError::Task { app_id: app_id.to_owned(), step, reason: e.to_string() }))
}

/// `name` in the sidecar's environment (the last value wins).
fn env_lookup(environment: &[(String, String)], name: &str) -> Option<String> {
    environment.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// A running sidecar.
pub struct Running {
    app_id: String,
    http_port: u16,
    internal_addr: SocketAddr,
    api: ServerHandle,
    internal: ServerHandle,
    tasks: Vec<actix_rt::task::JoinHandle<()>>,
    readiness: Arc<Readiness>,
    stop_rx: tokio::sync::mpsc::UnboundedReceiver<StopRequest>,
    registry: Registry,
    registration: Registration,
    graceful: Duration,
}

/// Starts a prepared sidecar on the current actix system.
pub async fn start(p: Prepared) -> Result<Running, StartError> {
    let Prepared {
        cfg,
        configuration,
        acl,
        identity,
        stores,
        secrets,
        registry,
        endpoints,
        api_listeners,
        internal_listener,
        http_port,
    } = p;
    let app_id = cfg.app_id.clone();
    let internal_addr = internal_listener.local_addr().map_err(|source| StartError::Bind {
        app_id: app_id.clone(),
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        source,
    })?;
    let cfg = Arc::new(cfg);

    // The app channel, with health checks when enabled.
    let app_health = cfg.app_health.as_ref().map(|h| Arc::new(AppHealth::new(h.threshold)));
    let channel = Arc::new(AppChannel::new(
        &cfg.app_channel_address,
        cfg.app_port,
        cfg.app_api_token.as_deref(),
        app_health.clone(),
    ));
    let (mtls, policies) = (identity.mtls_enabled(), acl.is_some());
    let identity = Arc::new(identity);
    let messaging = web::Data::new(
        DirectMessaging::new(&cfg.app_id, &cfg.namespace, channel.clone(), registry.clone(), &cfg.host_ip)
            .with_identity(identity.clone())
            .with_endpoints(endpoints),
    );
    let readiness = Arc::new(Readiness::default());
    let (stop_tx, stop_rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = web::Data::new(ApiContext {
        app_id: app_id.clone(),
        cfg: cfg.clone(),
        stores: Arc::new(stores),
        secrets: Arc::new(secrets),
        configuration: Arc::new(configuration),
        readiness: readiness.clone(),
        extended: Mutex::new(Default::default()),
        stop: stop_tx,
    });
    let bind_err = |source| StartError::Bind { app_id: app_id.clone(), addr: internal_addr, source };

    // The internal server for other sidecars, then the public API.
    let internal_ctx = web::Data::new(InternalContext {
        app_id: app_id.clone(),
        has_app_channel: cfg.app_port.is_some(),
        identity,
        acl: acl.map(Arc::new),
        channel,
    });
    let internal_server = HttpServer::new(move || {
        App::new()
            .app_data(internal_ctx.clone())
            .app_data(web::Data::new(crate::channel::http_client()))
            .default_service(web::to(internal::handle))
    })
    .workers(cfg.workers.max(1))
    .disable_signals()
    // Go's listeners set TCP_NODELAY on what they accept (keel_sdk::http).
    .tcp_nodelay(keel_sdk::http::NODELAY)
    .h1_allow_half_closed(false)
    .shutdown_timeout(cfg.graceful_shutdown.as_secs().max(1))
    .listen(internal_listener)
    .map_err(bind_err)?
    .run();
    let api_server =
        api::server(ctx, messaging, api_listeners, cfg.workers, cfg.graceful_shutdown).map_err(bind_err)?;
    let (api, internal) = (api_server.handle(), internal_server.handle());
    let mut tasks = vec![
        actix_rt::spawn(async move {
            let _ = internal_server.await;
        }),
        actix_rt::spawn(async move {
            let _ = api_server.await;
        }),
    ];

    // Register so other sidecars find us, and keep the row fresh.
    let registration = registry
        .register(&cfg.app_id, &cfg.namespace, &internal_addr.to_string())
        .await
        .map_err(|source| StartError::Registry { app_id: app_id.clone(), source })?;
    tasks.push(actix_rt::spawn(heartbeat(registry.clone(), registration.clone(), app_id.clone())));

    // Init completes once the app's port accepts connections; then the health probes start.
    tasks.push(actix_rt::spawn(init(cfg.clone(), readiness.clone(), app_health)));

    tracing::info!(app_id = %app_id, http_port, internal = %internal_addr, mtls, policies, "Sidecar serving");
    Ok(Running {
        app_id,
        http_port,
        internal_addr,
        api,
        internal,
        tasks,
        readiness,
        stop_rx,
        registry,
        registration,
        graceful: cfg.graceful_shutdown,
    })
}

async fn heartbeat(registry: Registry, registration: Registration, app_id: String) {
    let mut ticker = tokio::time::interval(HEARTBEAT_INTERVAL);
    ticker.tick().await; // the first tick is immediate: the row was just written
    loop {
        ticker.tick().await;
        if let Err(e) = registry.heartbeat(&registration).await {
            tracing::warn!(app_id = %app_id, error = %e, "Name registry heartbeat failed");
        }
    }
}

async fn init(cfg: Arc<SidecarConfig>, readiness: Arc<Readiness>, app_health: Option<Arc<AppHealth>>) {
    if let Some(port) = cfg.app_port {
        let host = &cfg.app_channel_address;
        let addr = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let mut tries: u64 = 0;
        loop {
            let dial = tokio::time::timeout(APP_DIAL_TIMEOUT, tokio::net::TcpStream::connect(&addr)).await;
            if matches!(dial, Ok(Ok(_))) {
                break;
            }
            if tries % 100 == 0 {
                tracing::info!(app_id = %cfg.app_id, port, "Waiting for application to listen on port {port}");
            }
            tries += 1;
            tokio::time::sleep(APP_DIAL_INTERVAL).await;
        }
        tracing::info!(app_id = %cfg.app_id, port, "Application discovered on port {port}");
    }
    readiness.set_ready();
    match (cfg.app_health.clone(), app_health, cfg.app_port) {
        (Some(h), Some(state), Some(port)) => {
            let path = h.path.trim_start_matches('/').to_owned();
            let url = format!("http://{}:{port}/{path}", cfg.app_channel_address);
            crate::channel::health::probe_forever(state, h, url, cfg.app_id.clone()).await;
        }
        (_, Some(state), None) => {
            // No app to probe: nothing can become unhealthy or healthy.
            let _ = state;
        }
        _ => {}
    }
}

// === impl Running ===

impl Running {
    /// The app-id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The HTTP API port.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The internal (sidecar-to-sidecar) address.
    pub fn internal_addr(&self) -> SocketAddr {
        self.internal_addr
    }

    /// Resolves once `/v1.0/healthz` answers 204.
    pub async fn ready(&self) {
        self.readiness.wait().await
    }

    /// A handle to wait for readiness from elsewhere.
    pub fn readiness(&self) -> Arc<Readiness> {
        self.readiness.clone()
    }

    /// Resolves when `POST /v1.0/shutdown` asks this sidecar to stop.
    pub async fn stop_requested(&mut self) -> StopRequest {
        match self.stop_rx.recv().await {
            Some(r) => r,
            None => std::future::pending().await,
        }
    }

    /// Stops serving: leaves the registry, then lets in-flight requests finish (up to the
    /// graceful period, or not at all when `forced`).
    pub async fn stop(self, forced: bool) {
        if let Err(e) = self.registry.deregister(&self.registration).await {
            tracing::warn!(app_id = %self.app_id, error = %e, "Could not leave the name registry");
        }
        let graceful = !forced;
        let stop_both = async {
            futures_util::join!(self.api.stop(graceful), self.internal.stop(graceful));
        };
        if tokio::time::timeout(self.graceful + Duration::from_secs(1), stop_both).await.is_err() {
            tracing::warn!(app_id = %self.app_id, "Sidecar did not stop within the graceful period");
        }
        for t in self.tasks {
            t.abort();
        }
        tracing::info!(app_id = %self.app_id, "Sidecar stopped");
    }
}
