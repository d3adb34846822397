//! hosting's app port: the management API (reached through keel like every core service's) and
//! the `/plugin_service/<root_route>/...` door keel forwards to.
//!
//! | method and path | what | who |
//! |---|---|---|
//! | `POST /v1/services` (body: `.tar.gz`) | install (201) or upgrade (202) | platform scope |
//! | `GET /v1/services` | every service: status, version, root, port, restarts, last exit | any caller |
//! | `GET /v1/services/{app_id}` | one, with its exit history | any caller |
//! | `DELETE /v1/services/{app_id}` | stop and remove | platform scope |
//! | `POST /v1/services/{app_id}/restart` | start a `FAILED` service again | platform scope |
//! | `GET /v1/services/{app_id}/logs?tail=&follow=&source=` | output (text, streamed with `follow`) | platform scope |
//! | `<VERB> /plugin_service/{root_route}/{path}` | the service at `/{path}` | a login unless `is_open` |

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use keel_sdk::protocol::Reply;
use serde::Deserialize;

use crate::authorize::PlatformScope;
use crate::error::HostingError;
use crate::host::{Installed, LogSource, Shared};
use crate::proxy::{self, Door};
use keel_sdk::management::hosting::{ServiceAnswer, ServiceList};

/// The management API's routes as `(method, path)`: what the OpenAPI document ([`OPENAPI`])
/// lists, compared by `tests/tests/openapi_hosting.rs` with what the port serves. [`configure`]
/// registers them as resources, so that another method on their paths is a 400 of ours.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/openapi.json"),
    ("post", "/v1/services"),
    ("get", "/v1/services"),
    ("get", "/v1/services/{app_id}"),
    ("delete", "/v1/services/{app_id}"),
    ("post", "/v1/services/{app_id}/restart"),
    ("get", "/v1/services/{app_id}/logs"),
];

/// The management API's OpenAPI 3.1 document (`hosting/openapi.json`), checked in like the
/// registry's (see `plugins-manager/README.md`, "OpenAPI").
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /openapi.json`: the document above.
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

/// Registers the API and the app port's proxy door.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi))
        .service(
            web::resource("/v1/services")
                .route(web::post().to(install))
                .route(web::get().to(list))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/v1/services/{app_id}")
                .route(web::get().to(get))
                .route(web::delete().to(uninstall))
                .default_service(web::to(method_not_allowed)),
        )
        .route("/v1/services/{app_id}/restart", web::post().to(restart))
        .route("/v1/services/{app_id}/logs", web::get().to(logs))
        .service(web::resource(["/plugin_service/{root}", "/plugin_service/{root}/{tail:.*}"]).to(app_door));
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, HostingError> {
    Err(HostingError::BadRequest(format!("{} is not served on {}", req.method(), req.path())))
}

/// `POST /v1/services`: the body is a bundle (`.tar.gz`, at most `max_archive_bytes`). 201 with
/// the new service, 202 when it upgrades an installed one (the new version starts beside the
/// old and takes the route once it serves). Refusals leave nothing behind.
async fn install(
    _scope: PlatformScope,
    req: HttpRequest,
    mut body: web::Payload,
    shared: web::Data<Arc<Shared>>,
) -> Result<HttpResponse, HostingError> {
    let limit = shared.cfg.max_archive_bytes;
    let too_large =
        || HostingError::BundleTooLarge(format!("the archive is over {limit} bytes (max_archive_bytes)"));
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut archive = Vec::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| HostingError::BadBody(e.to_string()))?;
        if archive.len() as u64 + chunk.len() as u64 > limit {
            return Err(too_large());
        }
        archive.extend_from_slice(&chunk);
    }
    if archive.is_empty() {
        return Err(HostingError::BadBundle("the body is empty; send the bundle as a .tar.gz".into()));
    }
    let staged = shared.stage(archive).await?;
    let (how, service) = shared.install(staged).await?;
    let mut res = match how {
        Installed::New => HttpResponse::Created(),
        Installed::Upgrade => HttpResponse::Accepted(),
    };
    Ok(res.json(Reply::ok(ServiceAnswer { service })))
}

/// `GET /v1/services`.
async fn list(shared: web::Data<Arc<Shared>>) -> Result<HttpResponse, HostingError> {
    if !shared.is_ready() {
        return Err(HostingError::NotReady);
    }
    Ok(HttpResponse::Ok().json(Reply::ok(ServiceList { services: shared.list() })))
}

/// `GET /v1/services/{app_id}`.
async fn get(path: web::Path<String>, shared: web::Data<Arc<Shared>>) -> Result<HttpResponse, HostingError> {
    let app_id = path.into_inner();
    let service = shared.get(&app_id).ok_or(HostingError::NotFound(app_id))?;
    Ok(HttpResponse::Ok().json(Reply::ok(ServiceAnswer { service })))
}

/// `DELETE /v1/services/{app_id}`: stops it (`stop`, then signals) and removes its files,
/// record and archive; 200 with the service as it was.
async fn uninstall(
    _scope: PlatformScope,
    path: web::Path<String>,
    shared: web::Data<Arc<Shared>>,
) -> Result<HttpResponse, HostingError> {
    let service = shared.uninstall(&path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(Reply::ok(ServiceAnswer { service })))
}

/// `POST /v1/services/{app_id}/restart`: a `FAILED` service starts again with a clean crash count;
/// 409 for any other status.
async fn restart(
    _scope: PlatformScope,
    path: web::Path<String>,
    shared: web::Data<Arc<Shared>>,
) -> Result<HttpResponse, HostingError> {
    let service = shared.restart(&path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(Reply::ok(ServiceAnswer { service })))
}

/// The query of the logs endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Lines from the end (default 100, at most 10,000).
    tail: Option<usize>,
    /// Keep the answer open and stream what is appended.
    follow: Option<bool>,
    /// `output` (the script's and service's output, default) or `nohup` (the seed's `nohup.out`).
    source: Option<String>,
}

/// `GET /v1/services/{app_id}/logs`: `text/plain`, the tail, then (with `follow=true`) what is
/// appended, until the service is uninstalled or the client goes away.
async fn logs(
    _scope: PlatformScope,
    path: web::Path<String>,
    query: Result<web::Query<LogQuery>, actix_web::Error>,
    shared: web::Data<Arc<Shared>>,
) -> Result<HttpResponse, HostingError> {
    let app_id = path.into_inner();
    let q = query.map_err(|e| HostingError::BadRequest(format!("logs query: {e}")))?.into_inner();
    let lines = q.tail.unwrap_or(100);
    if lines > 10_000 {
        return Err(HostingError::BadRequest("tail is at most 10000 lines".into()));
    }
    let source = match q.source.as_deref() {
        None | Some("output") => LogSource::Output,
        Some("nohup") => LogSource::Nohup,
        Some(other) => {
            return Err(HostingError::BadRequest(format!("source {other:?}: use output or nohup")))
        }
    };
    let file = shared.log_path(&app_id, source).ok_or_else(|| HostingError::NotFound(app_id.clone()))?;
    let offset = crate::logs::size(&file);
    let head = crate::logs::tail(&file, lines);
    let mut res = HttpResponse::Ok();
    res.content_type("text/plain; charset=utf-8");
    if !q.follow.unwrap_or(false) {
        return Ok(res.body(head));
    }
    let first = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes::Bytes::from(head)) });
    let rest = crate::logs::follow(file, offset, shared.gone(&app_id));
    Ok(res.insert_header((header::CACHE_CONTROL, "no-cache")).streaming(first.chain(rest)))
}

/// `<VERB> /plugin_service/{root_route}/{path}`.
async fn app_door(
    req: HttpRequest,
    body: web::Payload,
    shared: web::Data<Arc<Shared>>,
    client: web::Data<awc::Client>,
) -> Result<HttpResponse, HostingError> {
    proxy::forward(req, body, shared, client, Door::App).await
}

/// Every path of the local port: `<VERB> /{root_route}/{path}`.
pub async fn local_door(
    req: HttpRequest,
    body: web::Payload,
    shared: web::Data<Arc<Shared>>,
    client: web::Data<awc::Client>,
) -> Result<HttpResponse, HostingError> {
    proxy::forward(req, body, shared, client, Door::Local).await
}

#[cfg(test)]
mod tests {
    use keel_sdk::management::openapi::{documented_routes, served_routes};

    use super::{OPENAPI, ROUTES};

    /// The document lists exactly [`ROUTES`]; that they are served is checked end to end
    /// (`tests/tests/openapi_hosting.rs`), since the handlers need a booted host.
    #[test]
    fn the_openapi_document_lists_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(documented_routes(&doc).expect("paths"), served_routes(ROUTES));
    }
}
