//! The gateway, `{ANY} /api/<name>/<path...>` on keel's public port (seed 003's guide,
//! `docs/push.md`): one URL shape for pushed services and Keel plugins. A new *resolve* front
//! half of the external flow; the tail is the one every flow shares (`forward::proxy`).
//!
//! - A pushed service (`RouteTable::services`): only declared endpoints route ([`matching`]);
//!   an `is_public` endpoint, or any endpoint of a service with `requires_auth: false`, passes
//!   without a token, the rest need one as `/apis/` does; then the pre-route hook, then the
//!   status (not `ACTIVE`: 503 with `Retry-After`). The request goes to
//!   `<base_path>/<path>` on the service through keel's sidecar, addressed by its URL (Dapr's
//!   invocation of non-Dapr endpoints): keel never dials the service itself.
//! - A Keel plugin: exactly `/apis/<id>/<path...>`.

pub mod error;
pub mod matching;

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use keel_sdk::dapr::invoke::endpoint_id;
use keel_sdk::dapr::DaprClient;
use keel_sdk::protocol::errors;
use keel_sdk::protocol::PluginId;
use keel_sdk::tokens::Identity;

use super::ctx::{Caller, Ctx, Flow};
use super::errors::RouteError;
use super::forward::{self, Hop};
use super::routes::{self, Resolved};
use super::state::RouterState;
use super::target::{self, Destination, Endpoint};
use super::upstream::Vouch;
use super::{gate, precheck};
use error::GatewayError;
use matching::Match;

/// The gateway's prefix on the public port.
pub const PREFIX: &str = "/api";

/// Why the front half stopped.
enum Refusal {
    Route(RouteError),
    Gateway(GatewayError),
}

impl From<RouteError> for Refusal {
    fn from(e: RouteError) -> Self {
        Refusal::Route(e)
    }
}

/// Where the resolved request goes.
struct Resolution {
    route: Resolved,
    /// The sidecar invocation target when it is not the plugin's app-id (a pushed service).
    invoke_id: Option<String>,
    who: Option<Arc<Identity>>,
}

/// `{ANY} /api/<name>/<path...>`.
pub async fn handle(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<RouterState>,
    dapr: web::Data<DaprClient>,
) -> HttpResponse {
    let mut ctx = Ctx::new(Flow::External);
    let answer = match resolve(&req, &state, &dapr, &mut ctx).await {
        Ok(Resolution { route, invoke_id, who }) => {
            let hop = Hop { req: &req, body, state: &state, dapr: &dapr };
            let vouch = Vouch::External(who.as_deref());
            forward::proxy_via(hop, route, invoke_id.as_deref(), vouch, &mut ctx).await
        }
        Err(Refusal::Route(e)) => Err(e),
        Err(Refusal::Gateway(e)) => Ok(errors::respond(&e)),
    };
    ctx.finish(answer)
}

/// Splits `/api/<name>/<path...>`; the path may be empty.
fn split(path: &str) -> Result<(&str, &str), RouteError> {
    let bad = |reason| RouteError::BadPath { path: path.chars().take(200).collect(), reason };
    let rest = path.strip_prefix("/api/").ok_or_else(|| bad("expected /api/<name>/<path>"))?;
    let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
    PluginId::parse(name).map_err(RouteError::BadId)?;
    if tail.split('/').any(is_dot_segment) {
        return Err(bad("'.' and '..' segments are not allowed"));
    }
    Ok((name, tail))
}

fn is_dot_segment(s: &str) -> bool {
    let d = percent_encoding::percent_decode_str(s).collect::<Vec<u8>>();
    d == b"." || d == b".."
}

async fn resolve(
    req: &HttpRequest,
    state: &RouterState,
    dapr: &DaprClient,
    ctx: &mut Ctx,
) -> Result<Resolution, Refusal> {
    ctx.client = req.peer_addr().map(|peer| state.trusted_proxies.client(peer.ip(), req.headers())); // the peer, or what trusted proxies recorded
    let verifier = gate::verifier(state.verifier.as_deref())?; // 401 while no verification is configured
    let (name, path) = split(req.path())?; // 400 malformed path, bad name
    ctx.named(Destination::Plugin(Endpoint { plugin: name, endpoint: path }));
    let table = state.table()?; // 503 starting
    let Some(service) = table.services.get(name) else {
        if !table.plugins.contains_key(name) {
            return Err(Refusal::Gateway(GatewayError::UnknownService(name.to_owned())));
            // 404
        }
        // A Keel plugin: the same checks as /apis/<id>/<path...>.
        let apis = format!("{}{name}/{path}", target::APIS_PREFIX);
        let endpoint = target::external(&apis)?; // 400 no endpoint; 403 keel itself, addons
        let who = gate::authenticate(verifier, req, dapr, &table, endpoint).await?; // 401, 403
        ctx.caller = who.clone().map_or(Caller::Anonymous, Caller::User);
        precheck::check(dapr, req, &table, state, endpoint, who.as_deref(), ctx.client).await?; // 403, 503
        let route = routes::endpoint(&table, endpoint, &state.policy)?; // 503 not ACTIVE
        return Ok(Resolution { route, invoke_id: None, who });
    };
    let declared = match matching::find(service, req.method().as_str(), path) {
        Match::Found(e) => e,
        Match::WrongMethod(allow) => {
            return Err(Refusal::Gateway(GatewayError::WrongMethod {
                service: name.to_owned(),
                method: req.method().to_string(),
                path: path.chars().take(200).collect(),
                allow,
            })); // 405 with Allow
        }
        Match::Undeclared => {
            return Err(Refusal::Gateway(GatewayError::Undeclared {
                service: name.to_owned(),
                path: path.chars().take(200).collect(),
            })); // 404
        }
    };
    let target = Endpoint { plugin: name, endpoint: path };
    let who = if declared.is_public || !service.requires_auth {
        None
    } else {
        let who = verifier.authenticate(req, dapr).await?; // 401
        verifier.authorize(&who, name)?; // 403
        Some(who)
    };
    ctx.caller = who.clone().map_or(Caller::Anonymous, Caller::User);
    precheck::check(dapr, req, &table, state, target, who.as_deref(), ctx.client).await?; // 403, 503
    if !service.status.is_active() {
        return Err(RouteError::NotActive {
            plugin: name.to_owned(),
            status: service.status,
            retry_after: state.policy.retry_after,
        }
        .into()); // 503 with Retry-After
    }
    let route = Resolved {
        plugin: name.to_owned(),
        endpoint: matching::upstream_path(&service.base_path, path),
        timeout: state.policy.default_timeout,
    };
    Ok(Resolution { route, invoke_id: Some(endpoint_id(&service.base_url)), who })
}
