//! The request path, top to bottom: one named step per phase, the status each can refuse with on
//! the right. Both ports share every step after the gate.

use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};

use super::access::note;
use super::app::Shared;
use super::errors::RouteError;
use super::target::Destination;
use super::upstream::{self, Vouch};
use super::{caller, precheck, public, target};
use keel_sdk::dapr::DaprClient;

/// `<VERB> /<plugin_id>/<endpoint...>` and `<VERB> /addons/<point>` on the app port (internal
/// flow): a plugin or core service calling through its sidecar and keel's.
pub async fn internal(
    req: HttpRequest,
    body: web::Payload,
    shared: web::Data<Shared>,
    dapr: web::Data<DaprClient>,
) -> Result<HttpResponse, RouteError> {
    let started = Instant::now();
    let dest = target::internal(req.path())?; // 400 malformed path, bad id; 403 keel itself
    let caller = caller::caller(&req)?; // 401 no caller identity
    note(&req, |r| named(r, dest, Some(caller)));
    let route = shared.routes.resolve(Some(caller), dest, &shared.policy); // 403 unregistered caller, 404 unknown plugin or point, 503 not ACTIVE
    note(&req, |r| resolved(r, &route));
    let route = route?;
    let up = upstream::request(&dapr, &req, &route, Vouch::Caller(caller))?; // hop-by-hop, dapr-*, x-keel-* dropped; x-keel-caller set
    let res = upstream::send(up, &req, body, &route, shared.max_body_bytes).await?; // 413 too large, 502 unreachable, 504 too slow
    upstream::respond(res, &route, started).await // the plugin's answer as it is; 502 when the sidecar could not invoke it
}

/// `<VERB> /apis/<plugin_id>/<endpoint...>` on the public port (external flow): a client outside
/// the mesh, authenticated by keel itself.
pub async fn external(
    req: HttpRequest,
    body: web::Payload,
    shared: web::Data<Shared>,
    dapr: web::Data<DaprClient>,
) -> Result<HttpResponse, RouteError> {
    let started = Instant::now();
    let verifier = public::verifier(shared.verifier.as_deref())?; // 401 for everything while no verification is configured
    let dest = target::public(req.path())?; // 400 malformed path, bad id; 403 addons, keel itself
    note(&req, |r| named(r, dest, None));
    let table =
        shared.routes.current().ok_or(RouteError::NotReady { retry_after: shared.policy.retry_after })?; // 503 starting
    let Destination::Plugin { plugin, endpoint } = dest else {
        return Err(RouteError::Forbidden("addon points are not reachable from outside".into()));
    };
    let who = public::authenticate(verifier, &req, &dapr, &table, plugin, endpoint).await?; // 401 no or bad token, 403 not allowed
    note(&req, |r| r.caller = who.as_ref().map(|w| w.sub.clone()));
    precheck::check(&dapr, &req, &table, &shared.policy, (plugin, endpoint), who.as_deref()).await?; // 403 the hook refused, 503 no answer from it (none: no hop)
    let route = super::routes::resolve(&table, None, dest, &shared.policy); // 404 unknown plugin, 503 not ACTIVE
    drop(table); // from here on a route swap cannot touch this request
    note(&req, |r| resolved(r, &route));
    let route = route?;
    let up = upstream::request(&dapr, &req, &route, Vouch::External(who.as_deref()))?; // client dapr-*, x-keel-* dropped; identity set
    let res = upstream::send(up, &req, body, &route, shared.max_body_bytes).await?; // 413, 502, 504
    upstream::respond(res, &route, started).await // the plugin's answer as it is
}

/// What the path named, before the table was consulted.
fn named(r: &mut super::access::Routed, dest: Destination<'_>, caller: Option<&str>) {
    let (plugin, endpoint) = match dest {
        Destination::Plugin { plugin, endpoint } => (plugin, endpoint),
        Destination::Addon { point } => (target::ADDONS, point),
    };
    r.plugin = plugin.to_owned();
    r.endpoint = endpoint.to_owned();
    r.caller = caller.map(str::to_owned);
}

/// What the table said: the real target, and whether it is registered (for its metrics series).
fn resolved(r: &mut super::access::Routed, route: &Result<super::routes::Resolved, RouteError>) {
    match route {
        Ok(route) => {
            r.plugin.clone_from(&route.plugin);
            r.endpoint.clone_from(&route.endpoint);
            r.registered = true;
        }
        // A registered plugin that is not ACTIVE still gets its own series: its 503s matter.
        Err(RouteError::NotActive { plugin, .. }) => {
            r.plugin.clone_from(plugin);
            r.registered = true;
        }
        Err(_) => {}
    }
}
