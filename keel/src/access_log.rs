//! The logging phase (pingora's `logging`): once per request, after the answer's head is ready,
//! one access line and the request metrics, read from what the request left on its response —
//! the per-request [`Ctx`] (flow, target, caller) and the catalogue's [`Refused`] (which
//! refusal), wherever it was made (the handler, an extractor, the app token middleware).
//!
//! The line is written under the target `keel::access`, so it can be turned down on its own
//! (`KEEL_LOG=info,keel::access=warn`): at `info` for answered requests, at the refusal's own
//! level for keel's refusals (the caller's at `info`, a plugin's at `warn`, the sidecar's at
//! `error`). Requests to keel's own API that were neither routed nor refused (identify, status,
//! a push) are logged at `debug`. The query string is never logged: it may carry secrets.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use super::ctx::{Ctx, Flow};
use super::state::RouterState;
use keel_sdk::dapr::headers::TRACEPARENT;
use keel_sdk::protocol::errors::{log_at, Refused};

/// Middleware, outermost on the app and public ports (`start`'s one server builder puts it
/// there): counts the request in flight while it runs, then logs and measures it.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<RouterState>>().cloned();
    let in_flight = state.as_ref().map(|s| s.metrics.in_flight());
    let mut res = next.call(req).await?;
    drop(in_flight);
    if let Some(state) = &state {
        logging(&mut res, started.elapsed(), state);
    }
    Ok(res)
}

/// Writes the request's line and records its metrics.
fn logging<B>(res: &mut ServiceResponse<B>, elapsed: Duration, state: &RouterState) {
    let ctx = res.response_mut().extensions_mut().remove::<Ctx>();
    let status = res.status();
    let req = res.request();
    let ext = res.response().extensions();
    let refused = ext.get::<Refused>();
    if ctx.is_none() && refused.is_none() {
        tracing::debug!(target: "keel::access", method = %req.method(), path = req.path(), status = status.as_u16(), "keel api");
        return;
    }
    // Refused before any handler ran (the app token, an extractor): nothing else is known.
    let (flow, plugin, endpoint, caller) = match &ctx {
        Some(c) => (flow_name(c.flow), c.plugin.as_str(), c.endpoint.as_str(), c.caller_name()),
        None => ("", "", "", ""),
    };
    let client = ctx.as_ref().and_then(|c| c.client).map(tracing::field::display);
    let trace_id = req.headers().get(TRACEPARENT).and_then(|v| v.to_str().ok()).and_then(|t| t.get(3..35));
    let level = refused.map_or(tracing::Level::INFO, |r| r.code.level());
    log_at!(
        level,
        target: "keel::access",
        method = %req.method(),
        flow,
        plugin,
        endpoint,
        caller,
        client,
        status = status.as_u16(),
        elapsed_ms = elapsed.as_secs_f64() * 1e3,
        error = refused.map(|r| r.code.name()),
        detail = refused.and_then(|r| r.detail.as_deref()),
        trace_id,
        "request"
    );
    if let Some(r) = refused {
        state.metrics.refused(r.code);
    }
    let series = ctx.and_then(|c| c.registered.then_some(c.plugin));
    state.metrics.observe(series, status, elapsed);
}

fn flow_name(flow: Flow) -> &'static str {
    match flow {
        Flow::Internal => "internal",
        Flow::External => "external",
    }
}
