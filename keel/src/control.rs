//! Keel's own API under `/v1/...` on its app port, next to the protocol endpoints every plugin
//! serves (`/v1/identify`, `/v1/status`): the route table, pushed by the registry and readable by
//! the core services. Anything else under `/v1/` is refused: `v1` is no plugin id.
//!
//! Who may push or read is decided by grants ([`keel_sdk::access`]): the registry holds
//! `push-routes`, the core services `read-routes`, and a plugin only what the operator grants it
//! (`grants` in keel's configuration file). Being a core app-id grants nothing by itself.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::caller::AppCaller;
use super::errors::RouteError;
use super::routes::Applied;
use super::state::RouterState;
use keel_sdk::access::{Permission, Principal};
use keel_sdk::protocol::{Envelope, Reply, RouteTable};

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
    AppCaller(who): AppCaller,
    body: web::Bytes,
    state: web::Data<RouterState>,
) -> Result<HttpResponse, RouteError> {
    allowed(&state, who, Permission::PushRoutes)?;
    let table: RouteTable = serde_json::from_slice(&body)
        .map_err(|e| RouteError::BadDocument { what: "route table", reason: e.to_string() })?;
    let pushed = table.version;
    let (applied, version) = match state.install(table, "push") {
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
pub async fn get_routes(
    AppCaller(who): AppCaller,
    state: web::Data<RouterState>,
) -> Result<HttpResponse, RouteError> {
    allowed(&state, who, Permission::ReadRoutes)?;
    let table = state.table()?;
    Ok(HttpResponse::Ok().json(Reply::ok(&*table)))
}

/// Whether the calling app holds the grant for `what`. The caller is the stamped app-id alone:
/// on keel's own port, no `x-keel-*` header a caller sent is believed.
fn allowed(state: &RouterState, app: String, what: Permission<'_>) -> Result<(), RouteError> {
    state.access.check(&Principal::App(app), what).map_err(RouteError::NotGranted)
}

/// Any other method on `/v1/routes`.
pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, RouteError> {
    Err(RouteError::MethodNotAllowed { method: req.method().to_string(), path: req.path().to_owned() })
}

/// Any other path under `/v1/`.
pub async fn no_such_api(req: HttpRequest) -> Result<HttpResponse, RouteError> {
    Err(RouteError::NoSuchApi { path: req.path().chars().take(200).collect() })
}
