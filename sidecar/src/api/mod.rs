//! The HTTP API server of one sidecar (daprd's `pkg/api/http`): turns each request into a typed
//! call and hands it on. The pipeline, in daprd's middleware order:
//!
//! 1. max body size — every body is read through a `--max-body-size` cap ("stream too large");
//! 2. API token — `DAPR_API_TOKEN` checked, healthz exempt ([`token`]);
//! 3. router — chi-style matching on the cleaned path ([`routes`]); unmatched → invocation.
//!
//! [`admit`] is those three steps; [`own_api`] answers the routes the sidecar serves itself, and
//! [`invoke`] everything else. The `test-util` fake sidecar reuses the first two as they are.

pub mod errors;
pub mod health;
pub mod invoke;
pub mod metadata;
pub mod routes;
pub mod secrets;
pub mod state;
pub mod token;

use crate::channel::body::RequestBody;
use crate::config::SidecarConfig;
use crate::configuration::Configuration;
use crate::golang::url;
use crate::messaging::DirectMessaging;
use crate::secrets::SecretStores;
use crate::state::Stores;
use actix_web::dev::Service;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use errors::ApiError;
use routes::Route;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// daprd's `ReadHeaderTimeout`.
const READ_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the sidecar stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRequest {
    /// `POST /v1.0/shutdown`.
    Graceful,
    /// `POST /v1.0/shutdown` with `dapr-force-shutdown: true`.
    Forced,
}

/// Everything the sidecar's own API handlers share (built once, outside the server factory).
/// Invocation also needs the messaging layer, which the server hands it separately.
pub struct ApiContext {
    /// This sidecar's app-id.
    pub app_id: String,
    /// Settings.
    pub cfg: Arc<SidecarConfig>,
    /// State stores.
    pub stores: Arc<Stores>,
    /// Secret stores.
    pub secrets: Arc<SecretStores>,
    /// The Configuration (secret scopes).
    pub configuration: Arc<Configuration>,
    /// Init status for `/v1.0/healthz`.
    pub readiness: Arc<health::Readiness>,
    /// `extended` metadata set with `PUT /v1.0/metadata/{key}`.
    pub extended: Mutex<BTreeMap<String, String>>,
    /// Where `POST /v1.0/shutdown` reports.
    pub stop: tokio::sync::mpsc::UnboundedSender<StopRequest>,
}

/// A request that passed the pipeline's first steps.
pub struct Admitted {
    /// The API route it matched; `None` is the invocation fallback.
    pub route: Option<Route>,
    /// The path as Go decoded it (what invocation addresses on).
    pub decoded_path: String,
    /// The body, capped at `--max-body-size`.
    pub body: RequestBody,
}

/// Steps 1–3 of the pipeline: the body cap, the API token, the router. An `Err` is the answer.
pub fn admit(req: &HttpRequest, payload: web::Payload, cfg: &SidecarConfig) -> Result<Admitted, ApiError> {
    let (routing_path, decoded_path) = url::server_paths(req.uri().path());
    // 1. useMaxBodySize: the cap is part of the body stream, applied wherever it is read.
    let body = RequestBody::from_request(req.headers(), payload, cfg.max_body_size);
    // 2. APITokenAuthMiddleware.
    token::check(req.method(), &decoded_path, req.headers(), cfg.dapr_api_token.as_deref())?;
    // 3. The router; unmatched paths and verbs fall back to invocation.
    let route = routes::resolve(req.method(), &routing_path)?;
    Ok(Admitted { route, decoded_path, body })
}

/// The single entry point: every request of every verb and path comes here.
pub async fn serve(
    req: HttpRequest,
    payload: web::Payload,
    ctx: web::Data<ApiContext>,
    messaging: web::Data<DirectMessaging>,
    client: web::Data<awc::Client>,
) -> HttpResponse {
    match admit(&req, payload, &ctx.cfg) {
        Err(e) => e.error_response(),
        Ok(Admitted { route: Some(route), body, .. }) => own_api(&req, route, body, &ctx).await,
        Ok(Admitted { route: None, decoded_path, body }) => {
            invoke::direct_message(&req, &decoded_path, body, &ctx, &messaging, &client).await
        }
    }
}

/// Answers a route the sidecar serves itself (health, metadata, shutdown, state, secrets).
pub async fn own_api(req: &HttpRequest, route: Route, body: RequestBody, ctx: &ApiContext) -> HttpResponse {
    let result = match route {
        Route::Healthz => health::healthz(req, ctx),
        Route::HealthzOutbound => health::outbound(),
        Route::GetMetadata => metadata::get(ctx),
        Route::PutMetadata(key) => metadata::put(ctx, key, body).await,
        Route::Shutdown => shutdown(req, ctx),
        Route::GetState(store, key) => state::get(ctx, &store, &key).await,
        Route::DeleteState(store, key) => state::delete(ctx, req, &store, &key).await,
        Route::SaveState(store) => state::save(ctx, req, &store, body).await,
        Route::BulkState(store) => state::bulk_get(ctx, &store, body).await,
        Route::Transaction(store) => state::transaction(ctx, req, &store, body).await,
        Route::QueryState(store) => state::query(ctx, &store).await,
        Route::GetSecret(store, key) => secrets::get(ctx, req, &store, &key, body).await,
        Route::BulkSecret(store) => secrets::bulk(ctx, req, &store, body).await,
    };
    result.unwrap_or_else(|e| {
        tracing::debug!(app_id = %ctx.app_id, path = %req.path(), error = %e, "API error");
        e.error_response()
    })
}

/// `POST /v1.0/shutdown`: 204 now, graceful stop afterwards.
fn shutdown(req: &HttpRequest, ctx: &ApiContext) -> Result<HttpResponse, ApiError> {
    let forced = req
        .headers()
        .get("dapr-force-shutdown")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let _ = ctx.stop.send(if forced { StopRequest::Forced } else { StopRequest::Graceful });
    Ok(HttpResponse::NoContent().finish())
}

/// Builds the API server on already-bound listeners (not yet running).
pub fn server(
    ctx: web::Data<ApiContext>,
    messaging: web::Data<DirectMessaging>,
    listeners: Vec<std::net::TcpListener>,
    workers: usize,
    graceful: Duration,
) -> std::io::Result<actix_web::dev::Server> {
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(ctx.clone())
            .app_data(messaging.clone())
            // awc clients are per thread: one per worker, built inside the factory.
            .app_data(web::Data::new(crate::channel::http_client()))
            // Status lines carry Go's reason phrases, as daprd's server writes them.
            .wrap_fn(|req, srv| {
                let res = srv.call(req);
                async move {
                    let mut res = res.await?;
                    let code = res.status().as_u16();
                    res.response_mut().head_mut().reason = Some(crate::golang::status::reason(code));
                    Ok(res)
                }
            })
            .default_service(web::to(serve))
    })
    .workers(workers.max(1))
    .disable_signals()
    // Go's listeners set TCP_NODELAY on what they accept (keel_sdk::http).
    .tcp_nodelay(keel_sdk::http::NODELAY)
    .client_request_timeout(READ_HEADER_TIMEOUT)
    // A caller that goes away cancels its in-flight call (and so the upstream request), like
    // Go's request context.
    .h1_allow_half_closed(false)
    .shutdown_timeout(graceful.as_secs().max(1));
    for l in listeners {
        server = server.listen(l)?;
    }
    Ok(server.run())
}
