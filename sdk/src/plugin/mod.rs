//! The plugin kit: declare a plugin once and the kit serves the Keel protocol for it
//! (`GET /v1/identify`, `GET /v1/status`, `POST /v1/addons/identify`, `GET /healthz`), checks the
//! app API token, and helps it call its peers through keel.
//!
//! # A complete plugin
//!
//! ```no_run
//! use actix_web::{web, HttpResponse};
//! use keel_sdk::plugin::{PluginSpec, serve};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     keel_sdk::telemetry::init("hello");
//!     let plugin = PluginSpec::new("hello", "0.1.0")
//!         .addon_point("decorate", "changes the greeting")
//!         .build()
//!         .expect("a valid declaration");
//!     let listen = keel_sdk::config::app_listen_addr();
//!     serve(plugin, listen, |cfg| {
//!         cfg.route("/hello", web::get().to(|| async { HttpResponse::Ok().body("hello") }));
//!     })
//!     .await
//! }
//! ```

mod endpoints;
pub mod peers;
pub mod spec;
pub mod status;
pub mod tickets;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::protocol::{paths, Identify};
use crate::service::AppToken;

pub use peers::{is_keel_error, KeelClient};
pub use spec::{AddonsJudge, PluginSpec};
pub use status::StatusHandle;

/// A validated plugin declaration, ready to serve. Cheap to clone.
#[derive(Clone)]
pub struct Plugin(Arc<Inner>);

struct Inner {
    identify: Identify,
    status: StatusHandle,
    judge: Option<AddonsJudge>,
    app_token: AppToken,
}

impl Plugin {
    fn new(
        identify: Identify,
        status: StatusHandle,
        judge: Option<AddonsJudge>,
        app_token: AppToken,
    ) -> Self {
        Self(Arc::new(Inner { identify, status, judge, app_token }))
    }

    /// What `/v1/identify` answers.
    pub fn identify(&self) -> &Identify {
        &self.0.identify
    }

    /// The plugin's id.
    pub fn id(&self) -> &str {
        &self.0.identify.plugin_id
    }

    /// The status cell behind `/v1/status`.
    pub fn status_handle(&self) -> &StatusHandle {
        &self.0.status
    }

    fn judge(&self) -> Option<&AddonsJudge> {
        self.0.judge.as_ref()
    }

    /// The app API token policy of the plugin's app port (wrap the app with it, as [`serve`]
    /// does).
    pub fn app_token(&self) -> &AppToken {
        &self.0.app_token
    }

    /// Registers the protocol endpoints and the plugin as app data. Wrap the app with
    /// [`Plugin::app_token`] to enforce the app token (as [`serve`] does).
    pub fn configure(&self) -> impl FnOnce(&mut web::ServiceConfig) + Clone + 'static {
        let data = web::Data::new(self.clone());
        move |cfg| {
            cfg.app_data(data)
                .route(&format!("/{}", paths::IDENTIFY), web::get().to(endpoints::identify))
                .route(&format!("/{}", paths::STATUS), web::get().to(endpoints::status))
                .route(&format!("/{}", paths::ADDONS_IDENTIFY), web::post().to(endpoints::addons_identify))
                .route("/healthz", web::get().to(endpoints::healthz));
        }
    }
}

/// Serves `plugin` and the plugin's own `routes` on `listen` until SIGINT/SIGTERM, with the app
/// token check, one log line per request, and a 404 with the envelope for paths nobody serves.
pub async fn serve<F>(plugin: Plugin, listen: SocketAddr, routes: F) -> std::io::Result<()>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let id = plugin.id().to_owned();
    let server = HttpServer::new(move || {
        // Middleware runs in reverse order of registration: the token check runs first, then
        // the request log sees every answer, refusals included.
        App::new()
            .wrap(from_fn(crate::telemetry::log_request))
            .wrap(plugin.app_token().clone())
            .configure(plugin.configure())
            // Unknown paths get the envelope too (platform.md §2); a plugin's own
            // `default_service` in `routes` replaces this one.
            .default_service(web::to(endpoints::not_found))
            .configure(routes.clone())
    })
    .bind(listen)?;
    for addr in server.addrs() {
        tracing::info!(plugin = %id, %addr, "listening");
    }
    server.run().await
}

#[cfg(test)]
mod tests;
