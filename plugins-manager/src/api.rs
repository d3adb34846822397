//! The management API (routes in [`configure`]), served on the app port next to the protocol
//! endpoints the plugin kit serves, and reached through keel like any plugin
//! (`/v1.0/invoke/keel/method/plugins/v1/plugins`). Answers carry the `{"ret": 0, "msg": "ok"}`
//! envelope ([`Reply`]) around the shared wire records of [`keel_sdk::management::registry`];
//! refusals are [`RegistryError`]s, answered with the platform's error body and the status of
//! their catalogue code.

use actix_web::{web, HttpRequest, HttpResponse};
use keel_sdk::access::Permission;
use keel_sdk::management::console::{ConsoleDeleteQuery, ConsoleListQuery, ConsoleRegistration};
use keel_sdk::management::registry::{Enable, ListQuery, UnregisterQuery};
use keel_sdk::protocol::Reply;

use crate::authorize::Caller;
use crate::error::RegistryError;
use crate::register::RegisterRequest;
use crate::registry::Registry;

// The API's routes, written once: `configure` serves them and `ROUTES` lists them, which the
// tests compare with the paths and methods of the OpenAPI document (`OPENAPI`).
keel_sdk::management_routes! {
    get "/openapi.json" => openapi,
    post "/v1/plugins" => register,
    get "/v1/plugins" => list,
    get "/v1/plugins/{id}" => get,
    delete "/v1/plugins/{id}" => unregister,
    post "/v1/plugins/{id}/suspect" => suspect,
    get "/v1/routes" => routes,
    get "/v1/tenants/{tenant}/plugins" => tenant_plugins,
    post "/v1/tenants/{tenant}/plugins/{id}" => enable,
    delete "/v1/tenants/{tenant}/plugins/{id}" => disable,
    get "/v1/console/entries" => console_entries,
    put "/v1/console/entries" => put_console,
    delete "/v1/console/entries" => delete_console,
}

/// The API's OpenAPI 3.1 document (`plugins-manager/openapi.json`), checked in rather than
/// generated: the handlers take raw bodies and queries (so no parse error can quote a secret),
/// which schema-deriving crates cannot describe without reshaping them. The tests keep it true.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// `GET /openapi.json`: the document above.
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

/// `POST /v1/plugins {"id", "secret"}`: registers a plugin; `201` with its record. Platform
/// scope, or an app granted `register-plugins` (see [`crate::authorize`]).
async fn register(
    caller: Caller,
    reg: web::Data<Registry>,
    body: web::Bytes,
) -> Result<HttpResponse, RegistryError> {
    caller.may(Permission::RegisterPlugins)?;
    let req = RegisterRequest::parse(&body)?;
    let view = reg.register(req).await?;
    Ok(HttpResponse::Created().json(Reply::ok(view)))
}

/// `GET /v1/plugins?limit=&offset=` or `?limit=&after=<id>`, optionally `&status=`: one page.
async fn list(reg: web::Data<Registry>, req: HttpRequest) -> Result<HttpResponse, RegistryError> {
    let q = web::Query::<ListQuery>::from_query(req.query_string())
        .map_err(|e| RegistryError::BadRequest(format!("query: {e}")))?;
    Ok(HttpResponse::Ok().json(Reply::ok(reg.list(q.into_inner()).await?)))
}

/// `GET /v1/plugins/{id}`: one plugin.
async fn get(reg: web::Data<Registry>, id: web::Path<String>) -> Result<HttpResponse, RegistryError> {
    Ok(HttpResponse::Ok().json(Reply::ok(reg.get(&id).await?)))
}

/// `DELETE /v1/plugins/{id}[?force=true]`: unregisters; `200` with the record as it was. Platform
/// scope, or an app granted `register-plugins`.
async fn unregister(
    caller: Caller,
    reg: web::Data<Registry>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, RegistryError> {
    caller.may(Permission::RegisterPlugins)?;
    let q = web::Query::<UnregisterQuery>::from_query(req.query_string())
        .map_err(|e| RegistryError::BadRequest(format!("query: {e} (use ?force=true)")))?;
    Ok(HttpResponse::Ok().json(Reply::ok(reg.unregister(&id, q.force).await?)))
}

/// `POST /v1/plugins/{id}/suspect`: keel's passive health could not reach the plugin on live
/// traffic; the next poll probes it at once, and one failed probe marks it `UNREACHABLE`.
/// `202`; keel (the grant `report-health`) only.
async fn suspect(
    caller: Caller,
    reg: web::Data<Registry>,
    id: web::Path<String>,
) -> Result<HttpResponse, RegistryError> {
    caller.may(Permission::ReportHealth)?;
    reg.suspect(&id).await?;
    Ok(HttpResponse::Accepted().json(Reply::ok(serde_json::json!({"id": id.as_str()}))))
}

/// `GET /v1/routes`: the route table keel routes by, with its version.
async fn routes(reg: web::Data<Registry>) -> Result<HttpResponse, RegistryError> {
    Ok(HttpResponse::Ok().json(Reply::ok(reg.routes().await?)))
}

/// `GET /v1/tenants/{tenant}/plugins`: the plugins the tenant's users may call.
async fn tenant_plugins(
    reg: web::Data<Registry>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, RegistryError> {
    Ok(HttpResponse::Ok().json(Reply::ok(reg.tenant_plugins(&tenant).await?)))
}

/// `POST /v1/tenants/{tenant}/plugins/{id}` with an optional `{"extra": ...}`: enables the plugin
/// and what it needs for the tenant. The tenant's admin, or platform scope.
async fn enable(
    caller: Caller,
    reg: web::Data<Registry>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, RegistryError> {
    let (tenant, id) = path.into_inner();
    caller.may(Permission::EnablePlugins { tenant: &tenant })?;
    let req: Enable = if body.trim_ascii().is_empty() {
        Enable::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| RegistryError::BadRequest(format!("body: {e}")))?
    };
    Ok(HttpResponse::Ok().json(Reply::ok(reg.enable(&tenant, &id, req.extra).await?)))
}

/// `DELETE /v1/tenants/{tenant}/plugins/{id}`: disables the plugin for the tenant. The tenant's
/// admin, or platform scope.
async fn disable(
    caller: Caller,
    reg: web::Data<Registry>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, RegistryError> {
    let (tenant, id) = path.into_inner();
    caller.may(Permission::EnablePlugins { tenant: &tenant })?;
    Ok(HttpResponse::Ok().json(Reply::ok(reg.disable(&tenant, &id).await?)))
}

/// `GET /v1/console/entries[?type=1|2|3]`: every console entry with its owner's status.
async fn console_entries(reg: web::Data<Registry>, req: HttpRequest) -> Result<HttpResponse, RegistryError> {
    let q = web::Query::<ConsoleListQuery>::from_query(req.query_string())
        .map_err(|e| RegistryError::BadRequest(format!("query: {e} (use ?type=1, 2 or 3)")))?;
    Ok(HttpResponse::Ok().json(Reply::ok(reg.console_entries(q.into_inner()).await?)))
}

/// `PUT /v1/console/entries {name, name_en, obj, type, path, extern}`: registers (or re-registers)
/// a console entry of `obj`, the calling app itself unless a platform admin calls.
async fn put_console(
    caller: Caller,
    reg: web::Data<Registry>,
    body: web::Bytes,
) -> Result<HttpResponse, RegistryError> {
    let registration: ConsoleRegistration =
        serde_json::from_slice(&body).map_err(|e| RegistryError::BadRequest(format!("body: {e}")))?;
    Ok(HttpResponse::Ok().json(Reply::ok(reg.put_console(&caller, registration).await?)))
}

/// `DELETE /v1/console/entries?path=...`: removes an entry; its owner or a platform admin.
async fn delete_console(
    caller: Caller,
    reg: web::Data<Registry>,
    req: HttpRequest,
) -> Result<HttpResponse, RegistryError> {
    let q = web::Query::<ConsoleDeleteQuery>::from_query(req.query_string())
        .map_err(|e| RegistryError::BadRequest(format!("query: {e} (use ?path=/plugins/<group>/...)")))?;
    Ok(HttpResponse::Ok().json(Reply::ok(reg.delete_console(&caller, &q.path).await?)))
}

#[cfg(test)]
mod tests;
