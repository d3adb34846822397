//! The request path, top to bottom: one named step per phase, the status each can refuse with on
//! the right. Each flow has its own front half that *resolves* a target from its path and checks
//! its caller; from a resolved route on, both share one tail, [`proxy`]:
//!
//! ```text
//!   (both ports: the head's limits, limits.rs, before any handler)
//!   internal (app port)                      external (public port: /apis/, /plugin_service/, /plugins/)
//!   ─────────────────────────────            ──────────────────────────────────────────
//!   path → target or addon point             client address (peer / trusted proxies)
//!   caller: the stamped app-id,              gate: a verifier is configured
//!           never keel itself                path → plugin endpoint (/apis/...)
//!   check: caller registered,                check: token (unless a public endpoint),
//!          point implemented,                       may call the plugin, enabled for the
//!          target ACTIVE                            tenant, pre-route hook, target ACTIVE
//!                   └──────────────────┬──────────────────┘
//!                 proxy: request (external: credentials removed, x-forwarded-for set)
//!                        → send → respond (the plugin's answer, streamed)
//!                 logging phase (access_log): one line and the metrics, from the Ctx
//! ```
//!
//! A new way into the external flow (another prefix of the public port) is a new front half
//! producing a [`target::Endpoint`]; everything after it is shared.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::X_FORWARDED_FOR;
use actix_web::{web, HttpRequest, HttpResponse};

use super::ctx::{Caller, Ctx, Flow};
use super::errors::RouteError;
use super::outlier::{self, Admission};
use super::routes::{self, Resolved};
use super::state::RouterState;
use super::target::{self, Destination};
use super::upstream::{self, Vouch};
use super::{caller, client_addr, gate, precheck};
use keel_sdk::dapr::DaprClient;
use keel_sdk::tokens::Identity;

/// What the tail needs of the request it forwards.
pub struct Hop<'a> {
    /// The request's head.
    pub req: &'a HttpRequest,
    /// Its body, not read yet.
    pub body: web::Payload,
    /// The router's state.
    pub state: &'a RouterState,
    /// This worker's sidecar client.
    pub dapr: &'a DaprClient,
}

/// `<VERB> /<plugin_id>/<endpoint...>` and `<VERB> /addons/<point>` on the app port (internal
/// flow): a plugin or core service calling through its sidecar and keel's.
pub async fn internal(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<RouterState>,
    dapr: web::Data<DaprClient>,
) -> HttpResponse {
    let mut ctx = Ctx::new(Flow::Internal);
    let answer = match resolve_internal(&req, &state, &mut ctx) {
        Ok((route, caller)) => {
            let hop = Hop { req: &req, body, state: &state, dapr: &dapr };
            proxy(hop, route, Vouch::Caller(caller), &mut ctx).await
        }
        Err(e) => Err(e),
    };
    ctx.finish(answer)
}

/// `<VERB> /apis/<plugin_id>/<endpoint...>` (and `/plugin_service/...`, `/plugins/<group>/...`)
/// on the public port (external flow): a client outside the mesh, authenticated by keel itself.
pub async fn external(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<RouterState>,
    dapr: web::Data<DaprClient>,
) -> HttpResponse {
    let mut ctx = Ctx::new(Flow::External);
    let answer = match resolve_external(&req, &state, &dapr, &mut ctx).await {
        Ok((route, invoke_id, who)) => {
            let hop = Hop { req: &req, body, state: &state, dapr: &dapr };
            proxy_via(hop, route, invoke_id.as_deref(), Vouch::External(who.as_deref()), &mut ctx).await
        }
        Err(e) => Err(e),
    };
    ctx.finish(answer)
}

/// The internal flow's front half: the target and the caller, checked against the table.
fn resolve_internal<'r>(
    req: &'r HttpRequest,
    state: &RouterState,
    ctx: &mut Ctx,
) -> Result<(Resolved, &'r str), RouteError> {
    let dest = target::internal(req.path())?; // 400 malformed path, bad id; 403 keel itself
    ctx.named(dest);
    let caller = caller::caller(req)?; // 401 no caller identity
    ctx.caller = Caller::App(caller.to_owned());
    let route = state.routes.for_caller(caller, dest, &state.policy)?; // 403 unregistered caller; 404 unknown plugin or point, no implementer; 503 not ACTIVE, no table yet
    Ok((route, caller))
}

/// The external flow's front half: the gate, the target, who the client is, the pre-route hook,
/// and the target checked against the table (with the invocation target when it is not the
/// plugin's app-id: a pushed service's URL, for its console entries).
async fn resolve_external(
    req: &HttpRequest,
    state: &RouterState,
    dapr: &DaprClient,
    ctx: &mut Ctx,
) -> Result<(Resolved, Option<String>, Option<Arc<Identity>>), RouteError> {
    ctx.client = req.peer_addr().map(|peer| state.trusted_proxies.client(peer.ip(), req.headers())); // the peer, or what trusted proxies recorded
    let verifier = gate::verifier(state.verifier.as_deref())?; // 401 for everything while no verification is configured
    let target = target::external(req.path())?; // 400 malformed path, bad id; 403 addons, keel itself
    ctx.named(Destination::Plugin(target));
    let table = state.table()?; // 503 starting
    let who = gate::authenticate(verifier, req, dapr, &table, target).await?; // 401 no or bad token; 403 may not call the plugin
    ctx.caller = who.clone().map_or(Caller::Anonymous, Caller::User);
    precheck::check(dapr, req, &table, state, target, who.as_deref(), ctx.client).await?; // 403 the hook refused; 503 no answer from it (none: no hop)
    let (route, invoke_id) = match target::is_console_path(req.path()) {
        true => routes::console(&table, target, &state.policy)?, // 404 no console entry under the group; 503 owner not ACTIVE
        false => (routes::endpoint(&table, target, &state.policy)?, None), // 404 unknown plugin; 503 not ACTIVE
    };
    Ok((route, invoke_id, who)) // the table is let go here: a route swap cannot touch this request
}

/// The tail both flows share: from a resolved route to the plugin's answer.
pub async fn proxy(
    hop: Hop<'_>,
    route: Resolved,
    vouch: Vouch<'_>,
    ctx: &mut Ctx,
) -> Result<HttpResponse, RouteError> {
    proxy_via(hop, route, None, vouch, ctx).await
}

/// [`proxy`] to another invocation target than the plugin's app-id (`invoke_id`: a pushed
/// service's URL, Dapr's non-Dapr endpoint invocation, `gateway`), everything else the same.
pub async fn proxy_via(
    hop: Hop<'_>,
    route: Resolved,
    invoke_id: Option<&str>,
    vouch: Vouch<'_>,
    ctx: &mut Ctx,
) -> Result<HttpResponse, RouteError> {
    ctx.resolved(&route);
    if let Admission::Ejected(left) = hop.state.outliers.admit(&route.plugin) {
        let retry_after = left.max(Duration::from_secs(1));
        // 503 at once while its last requests failed to reach it
        return Err(RouteError::Ejected { plugin: route.plugin.clone(), retry_after });
    }
    // 503 overloaded: no turn within the queue timeout; held until the answer's head is back.
    let _turn = hop.state.shedding.enter(&route.plugin).await?;
    let target = invoke_id.unwrap_or(&route.plugin);
    let mut up = upstream::request_to(hop.dapr, hop.req, target, &route, vouch)?; // hop-by-hop, dapr-*, x-keel-* dropped; who called set
    if let Vouch::External(_) = vouch {
        hop.state.credentials.strip_for(&route.plugin, up.headers_mut()); // the client's token and credential cookies stay with keel (and auth)
        if let Some(bound) = crate::session::bound_for(hop.req, hop.state, hop.dapr, &route.plugin).await? {
            up.headers_mut().insert(keel_sdk::protocol::headers::X_KEEL_TICKET, bound);
            // the console session's ticket bound to this plugin (pages under /plugins/, /plugin_service/)
        }
        if let Some(token) =
            crate::session::auth_bearer_for(hop.req, hop.state, hop.dapr, &route.plugin).await
        {
            up.headers_mut().insert(actix_web::http::header::AUTHORIZATION, token);
            // auth's management API verifies bearer tokens itself: the session's own
        }
        if let Some(client) = ctx.client.and_then(client_addr::header_value) {
            up.headers_mut().insert(X_FORWARDED_FOR, client); // keel's word on the client's address, for auth's throttling
        }
    }
    let answer = async {
        let res = upstream::send(up, hop.req, hop.body, &route, hop.state.max_body_bytes).await?; // 413 too large; 502 unreachable; 503 keel's sidecar down; 504 too slow
                                                                                                  // The sidecar names the target as it decoded it (a pushed service's URL itself).
        let named = percent_encoding::percent_decode_str(target).decode_utf8_lossy();
        upstream::respond(res, &route, &named, ctx.started, hop.state.max_body_bytes).await
        // the plugin's answer as it is; 413 over a sidecar's body limit, 502/504 when the sidecar could not invoke it
    }
    .await;
    passive_health(hop.state, hop.dapr, &route.plugin, &answer);
    answer
}

/// Feeds the plugin's passive health: not reaching it counts, any answer of its own clears;
/// the first ejection of an outage is reported to the registry, whose next poll probes it.
fn passive_health(
    state: &RouterState,
    dapr: &DaprClient,
    plugin: &str,
    answer: &Result<HttpResponse, RouteError>,
) {
    match answer {
        Err(RouteError::Unreachable { .. }) => {
            if state.outliers.failed(plugin) {
                actix_rt::spawn(outlier::report(dapr.clone(), plugin.to_owned()));
            }
        }
        Ok(_) => state.outliers.succeeded(plugin),
        Err(_) => {}
    }
}
