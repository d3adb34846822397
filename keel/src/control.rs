//! Keel's own API under `/v1/...` on its app port, next to the protocol endpoints every plugin
//! serves (`/v1/identify`, `/v1/status`): the route table, pushed by the registry and readable by
//! the core services. Anything else under `/v1/` is refused: `v1` is no plugin id.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::app::Shared;
use super::caller::caller;
use super::errors::RouteError;
use super::routes::Applied;
use keel_sdk::protocol::{Envelope, Reply, RouteTable, CORE_APP_IDS, REGISTRY_APP_ID};

/// The answer to a push.
#[derive(Debug, Serialize)]
struct PushAnswer {
    /// Whether the pushed table is now in use.
    applied: bool,
    /// The version in use after the push.
    version: u64,
}

/// `PUT /v1/routes`: the registry pushes a new route table (JSON [`RouteTable`]); keel applies it
/// at once if it is newer than the one in use, and answers 200 either way.
pub async fn put_routes(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> Result<HttpResponse, RouteError> {
    let who = caller(&req)?;
    if who != REGISTRY_APP_ID {
        return Err(RouteError::Forbidden(format!(
            "only the registry ({REGISTRY_APP_ID}) pushes routes; {who:?} may not"
        )));
    }
    let table: RouteTable = serde_json::from_slice(&body)
        .map_err(|e| RouteError::BadDocument { what: "route table", reason: e.to_string() })?;
    let pushed = table.version;
    let (applied, version) = match shared.install(table, "push") {
        Applied::Installed { .. } => (true, pushed),
        Applied::Stale { current } => (false, current),
    };
    let msg = if applied {
        "ok".to_owned()
    } else {
        format!("ignored: version {pushed} is not newer than {version}")
    };
    Ok(HttpResponse::Ok()
        .json(Reply { envelope: Envelope { ret: 0, msg }, body: PushAnswer { applied, version } }))
}

/// `GET /v1/routes`: the route table in use, for the core services (diagnostics, the registry
/// checking what keel has).
pub async fn get_routes(req: HttpRequest, shared: web::Data<Shared>) -> Result<HttpResponse, RouteError> {
    let who = caller(&req)?;
    if !CORE_APP_IDS.contains(&who) {
        return Err(RouteError::Forbidden(format!(
            "only core services read keel's route table; {who:?} may not"
        )));
    }
    let table =
        shared.routes.current().ok_or(RouteError::NotReady { retry_after: shared.policy.retry_after })?;
    Ok(HttpResponse::Ok().json(Reply::ok(&*table)))
}

/// Any other method on `/v1/routes`.
pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, RouteError> {
    Err(RouteError::MethodNotAllowed { method: req.method().to_string(), path: req.path().to_owned() })
}

/// Any other path under `/v1/`.
pub async fn no_such_api(req: HttpRequest) -> Result<HttpResponse, RouteError> {
    Err(RouteError::NoSuchApi { path: req.path().chars().take(200).collect() })
}
