//! What each of the router's ports serves, and the state their workers share.

use std::sync::Arc;

use actix_web::{web, HttpResponse};

use super::config::Config;
use super::metrics::Metrics;
use super::public::TokenVerifier;
use super::routes::{Applied, Policy, Routes};
use super::{control, forward, precheck};
use keel_sdk::plugin::{Plugin, PluginSpec, StatusHandle};
use keel_sdk::protocol::{PluginStatus, RouteTable, KEEL_VERSION};

/// Largest route table accepted in a push (about 30,000 plugins).
const MAX_PUSH_BYTES: usize = 32 * 1024 * 1024;

/// State shared by every worker of every port (built once, before the servers start).
pub struct Shared {
    /// The route table in use.
    pub routes: Routes,
    /// Request metrics.
    pub metrics: Metrics,
    /// Default time limit and `Retry-After`.
    pub policy: Policy,
    /// Largest request body forwarded.
    pub max_body_bytes: u64,
    /// The app API token the app port requires, if any.
    pub app_token: Option<String>,
    /// The public port's token verifier, if any.
    pub verifier: Option<Arc<dyn TokenVerifier>>,
    /// Keel as a plugin: what `/v1/identify` and `/v1/status` answer.
    pub keel: Plugin,
}

// === impl Shared ===

impl Shared {
    /// The shared state for `cfg`; keel reports `STARTING` until a route table is installed.
    pub fn new(cfg: &Config) -> std::io::Result<Self> {
        let keel = PluginSpec::new(keel_sdk::protocol::KEEL_APP_ID, KEEL_VERSION)
            .addon_point(precheck::POINT, precheck::POINT_DESC)
            .status(StatusHandle::new(PluginStatus::Starting))
            // The router checks the app token itself, as a keel error (see `caller`).
            .app_token(None)
            .build()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        Ok(Self {
            routes: Routes::default(),
            metrics: Metrics::default(),
            policy: Policy {
                default_timeout: cfg.router.upstream_timeout(),
                retry_after: cfg.router.retry_after(),
            },
            max_body_bytes: cfg.router.max_body_bytes,
            app_token: cfg.app_token.clone(),
            verifier: cfg.verifier.clone(),
            keel,
        })
    }

    /// Installs `table` (from `source`: a push or the store) if it is newer than the one in use,
    /// and reports keel `ACTIVE` from the first table on.
    pub fn install(&self, table: RouteTable, source: &'static str) -> Applied {
        let (version, plugins) = (table.version, table.plugins.len());
        let applied = self.routes.apply(table);
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

/// The app port: keel's protocol endpoints and `/v1` API, then the internal flow for every other
/// path. Wrap it with `caller::require_app_token` and `access::record`.
pub fn app_port(keel: &Plugin) -> impl FnOnce(&mut web::ServiceConfig) + Clone + 'static {
    let protocol = keel.configure();
    move |cfg| {
        // Registration order is match order: keel's own paths first.
        protocol(cfg);
        cfg.service(
            web::resource("/v1/routes")
                .app_data(web::PayloadConfig::new(MAX_PUSH_BYTES))
                .route(web::get().to(control::get_routes))
                .route(web::put().to(control::put_routes))
                .default_service(web::to(control::method_not_allowed)),
        )
        .service(web::scope("/v1").default_service(web::to(control::no_such_api)))
        .default_service(web::to(forward::internal));
    }
}

/// The public port: the external flow only.
pub fn public_port(cfg: &mut web::ServiceConfig) {
    cfg.default_service(web::to(forward::external));
}

/// The admin port: metrics and health.
pub fn admin_port(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics))
        .route("/healthz", web::get().to(|| async { HttpResponse::NoContent().finish() }))
        .route("/readyz", web::get().to(readyz));
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(shared.metrics.render(&shared.routes))
}

/// `GET /readyz`: 204 once a route table is loaded, 503 before.
async fn readyz(shared: web::Data<Shared>) -> HttpResponse {
    match shared.routes.version() {
        Some(_) => HttpResponse::NoContent().finish(),
        None => HttpResponse::ServiceUnavailable().body("route table not loaded yet"),
    }
}
