//! What each of the router's ports serves (routes declared once, shared by `start` and the
//! tests): the app port (keel's protocol endpoints, its `/v1` API, then the internal flow), the
//! public port (the external flow) and the admin port (metrics and health).

use actix_web::{web, HttpResponse};

use super::errors::RouteError;
use super::metrics;
use super::state::RouterState;
use super::{console_api, control, forward, gateway};
use keel_sdk::dapr::DaprClient;
use keel_sdk::plugin::Plugin;

/// Largest route table accepted in a push (about 30,000 plugins).
const MAX_PUSH_BYTES: usize = 32 * 1024 * 1024;

/// The app port: keel's protocol endpoints and `/v1` API, then the internal flow for every other
/// path. `start`'s server builder wraps it with keel's app token check and the logging phase.
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

/// The public port: the web console at `/console/` (its pages, embedded), the external flow:
/// `/api/<name>/...` (the gateway, pushed services and plugins), everything else `/apis/...`.
pub fn public_port(cfg: &mut web::ServiceConfig) {
    control_console(cfg);
    cfg.service(web::scope(gateway::PREFIX).default_service(web::to(gateway::handle)))
        .default_service(web::to(forward::external));
}

/// The console: keel's session endpoints (`/console/api/...`), then its pages.
fn control_console(cfg: &mut web::ServiceConfig) {
    console_api::configure(cfg);
    keel_console::configure(cfg);
}

/// The admin port: metrics and health.
pub fn admin_port(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(render_metrics))
        .route("/healthz", web::get().to(|| async { HttpResponse::NoContent().finish() }))
        .route("/readyz", web::get().to(readyz));
}

/// `GET /metrics`: the OpenMetrics text format.
async fn render_metrics(state: web::Data<RouterState>) -> Result<HttpResponse, RouteError> {
    let text =
        state.metrics.render(&state.routes).map_err(|e| RouteError::Internal(format!("metrics: {e}")))?;
    Ok(HttpResponse::Ok().content_type(metrics::CONTENT_TYPE).body(text))
}

/// How long `/readyz` waits for keel's own sidecar: a probe must answer quickly.
const SIDECAR_PROBE: std::time::Duration = std::time::Duration::from_millis(500);

/// `GET /readyz`: 204 while a route table is loaded and keel's own sidecar answers (every
/// forwarded request goes through it), 503 with the reason otherwise.
async fn readyz(state: web::Data<RouterState>, dapr: web::Data<DaprClient>) -> HttpResponse {
    if state.routes.version().is_none() {
        return HttpResponse::ServiceUnavailable().body("route table not loaded yet");
    }
    if !dapr.is_healthy(SIDECAR_PROBE).await {
        return HttpResponse::ServiceUnavailable().body("keel's own Dapr sidecar does not answer");
    }
    HttpResponse::NoContent().finish()
}
