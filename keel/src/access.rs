//! The access log and the request metrics: one line per routed request (plugin, endpoint, caller,
//! status, duration, and keel's error code when keel refused), written when the response head
//! leaves, at `info` under the target `keel::access` so it can be turned down on its own
//! (`KEEL_LOG=info,keel::access=warn`). The query string is never logged: it may carry secrets.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};

use super::app::Shared;
use super::errors::RouteError;
use keel_sdk::dapr::headers::TRACEPARENT;

/// What the handler learned about a request, for the log line and the metrics.
#[derive(Debug, Default)]
pub struct Routed {
    /// The target plugin (the implementer for addon calls), or what the path named.
    pub plugin: String,
    /// The endpoint on it (or the addon point before it resolved).
    pub endpoint: String,
    /// The calling app-id (internal flow) or the verified user (external flow).
    pub caller: Option<String>,
    /// True once the target was found in the route table: only then does it get its own series.
    pub registered: bool,
}

/// Notes what the handler learned so far about `req`.
pub fn note(req: &HttpRequest, update: impl FnOnce(&mut Routed)) {
    let mut ext = req.extensions_mut();
    match ext.get_mut::<Routed>() {
        Some(r) => update(r),
        None => {
            let mut r = Routed::default();
            update(&mut r);
            ext.insert(r);
        }
    }
}

/// Middleware (outermost on the app and public ports): logs and measures every request that was
/// routed or refused by keel; keel's own API calls (identify, status) are logged at `debug`.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let shared = req.app_data::<web::Data<Shared>>().cloned();
    if let Some(s) = &shared {
        s.metrics.in_flight(1);
    }
    let res = next.call(req).await;
    if let Some(s) = &shared {
        s.metrics.in_flight(-1);
    }
    let res = res?;
    let elapsed = started.elapsed();
    let status = res.status();
    let error = res.response().error().and_then(|e| e.as_error::<RouteError>());
    let ext = res.request().extensions();
    let routed = ext.get::<Routed>();
    if routed.is_none() && error.is_none() {
        tracing::debug!(target: "keel::access", method = %res.request().method(), path = res.request().path(), status = status.as_u16(), "keel api");
        drop(ext);
        return Ok(res);
    }
    if let Some(s) = &shared {
        let plugin = routed.filter(|r| r.registered).map(|r| r.plugin.as_str());
        s.metrics.observe(plugin, status, elapsed);
        if let Some(e) = error {
            s.metrics.refused(e.code());
        }
    }
    let trace_id =
        res.request().headers().get(TRACEPARENT).and_then(|v| v.to_str().ok()).and_then(|t| t.get(3..35));
    tracing::info!(
        target: "keel::access",
        method = %res.request().method(),
        plugin = routed.map_or("", |r| r.plugin.as_str()),
        endpoint = routed.map_or("", |r| r.endpoint.as_str()),
        caller = routed.and_then(|r| r.caller.as_deref()).unwrap_or(""),
        status = status.as_u16(),
        elapsed_ms = elapsed.as_secs_f64() * 1e3,
        error = error.map(|e| e.code()),
        detail = error.and_then(|e| e.detail()),
        trace_id,
        "request"
    );
    drop(ext);
    Ok(res)
}
