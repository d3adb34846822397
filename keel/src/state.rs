//! The state every worker of every port shares, built once before the servers start: the route
//! table, the metrics, the settings that shape each request, the public port's token verifier and
//! keel as a plugin. Per-request state is [`crate::ctx::Ctx`]; nothing here changes per request
//! but the counters.

use std::sync::Arc;
use std::time::Duration;

use super::client_addr::TrustedProxies;
use super::config::Config;
use super::credentials::Credentials;
use super::errors::RouteError;
use super::gate::TokenVerifier;
use super::limits::HeadLimits;
use super::metrics::Metrics;
use super::outlier::Outliers;
use super::precheck;
use super::routes::{Applied, Policy, Routes};
use super::shedding::Shedding;
use keel_sdk::plugin::{Plugin, PluginSpec, StatusHandle};
use keel_sdk::protocol::{PluginStatus, RouteTable, KEEL_APP_ID, KEEL_VERSION};

/// The router's shared state (`web::Data<RouterState>` on every port).
pub struct RouterState {
    /// The route table in use.
    pub routes: Routes,
    /// Request metrics.
    pub metrics: Metrics,
    /// Passive health: plugins ejected after connection failures on live traffic.
    pub outliers: Outliers,
    /// Load shedding: turns to forward, overall and per plugin.
    pub shedding: Shedding,
    /// Default time limit and `Retry-After`.
    pub policy: Policy,
    /// Largest request body forwarded, in bytes.
    pub max_body_bytes: u64,
    /// Who may use keel's control API: the grants of internal callers.
    pub access: keel_sdk::access::Policy,
    /// The request head's limits on the routing ports.
    pub head_limits: HeadLimits,
    /// The proxies whose `Forwarded`/`X-Forwarded-For` are believed.
    pub trusted_proxies: TrustedProxies,
    /// What is removed from external requests before a plugin sees them.
    pub credentials: Credentials,
    /// The public port's token verifier, if any.
    pub verifier: Option<Arc<dyn TokenVerifier>>,
    /// The console's sessions (the cookie `keel_session`), which the verifier also accepts.
    pub sessions: Arc<crate::session::Sessions>,
    /// Keel as a plugin: what `/v1/identify` and `/v1/status` answer, and the app token its app
    /// port requires ([`Plugin::app_token`]).
    pub keel: Plugin,
}

// === impl RouterState ===

impl RouterState {
    /// The shared state for `cfg`; keel reports `STARTING` until a route table is installed.
    pub fn new(cfg: &Config) -> std::io::Result<Self> {
        let keel = PluginSpec::new(KEEL_APP_ID, KEEL_VERSION)
            .addon_point(precheck::POINT, precheck::POINT_DESC)
            .status(StatusHandle::new(PluginStatus::Starting))
            .app_token(cfg.app_token.clone())
            .build()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let sessions = Arc::new(crate::session::Sessions::default());
        Ok(Self {
            routes: Routes::default(),
            metrics: Metrics::default(),
            shedding: Shedding::new(
                usize::try_from(cfg.router.max_in_flight).unwrap_or(usize::MAX),
                usize::try_from(cfg.router.max_in_flight_per_plugin).unwrap_or(usize::MAX),
                Duration::from_millis(cfg.router.queue_timeout_ms),
                cfg.router.retry_after(),
            ),
            outliers: Outliers::new(
                cfg.router.outlier_failures,
                Duration::from_millis(cfg.router.outlier_ejection_ms),
                Duration::from_millis(cfg.router.outlier_max_ejection_ms),
            ),
            policy: Policy {
                default_timeout: cfg.router.upstream_timeout(),
                retry_after: cfg.router.retry_after(),
            },
            max_body_bytes: cfg.router.max_body_bytes,
            credentials: Credentials::new(&cfg.router.credential_cookies),
            head_limits: HeadLimits {
                target_bytes: cfg.router.max_target_bytes,
                headers: cfg.router.max_headers,
                header_bytes: cfg.router.max_header_bytes,
            },
            trusted_proxies: TrustedProxies::parse(&cfg.router.trusted_proxies)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
            // Every caller of keel's app port has a stamped app-id, so nothing is "local" here.
            access: keel_sdk::access::Policy { grants: cfg.router.grants.clone(), trust_local: false },
            verifier: cfg.verifier.clone().map(|tokens| {
                Arc::new(crate::session::SessionGate::new(tokens, sessions.clone())) as Arc<dyn TokenVerifier>
            }),
            sessions,
            keel,
        })
    }

    /// The current table, or the refusal for a keel that has none yet.
    pub fn table(&self) -> Result<Arc<RouteTable>, RouteError> {
        self.routes.current().ok_or(RouteError::NotReady { retry_after: self.policy.retry_after })
    }

    /// Installs `table` (from `source`: a push or the store) if it is newer than the one in use,
    /// and reports keel `ACTIVE` from the first table on.
    pub fn install(&self, table: RouteTable, source: &'static str) -> Applied {
        let (version, plugins) = (table.version, table.plugins.len());
        let applied = self.routes.apply(table);
        if let (Applied::Installed { .. }, Some(current)) = (&applied, self.routes.current()) {
            self.outliers.table_installed(&current);
        }
        match applied {
            Applied::Installed { previous } => {
                tracing::info!(version, ?previous, plugins, source, "Route table installed");
                self.keel.status_handle().set(PluginStatus::Active);
            }
            Applied::Stale { current } if version < current => {
                // The store going backwards means it was reset or restored: say so, keep serving.
                tracing::warn!(version, current, source, "Ignoring an older route table");
            }
            Applied::Stale { .. } => tracing::debug!(version, source, "Route table unchanged"),
        }
        applied
    }
}
