//! The protocol endpoints the kit serves from a [`super::Plugin`]'s declaration.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::protocol::{AddonsIdentifyRequest, Envelope, Reply, StatusResponse};

use super::Plugin;

/// `GET /v1/identify`: the declaration.
pub(super) async fn identify(plugin: web::Data<Plugin>) -> HttpResponse {
    HttpResponse::Ok().json(Reply::ok(plugin.identify()))
}

/// `GET /v1/status`: the current status.
pub(super) async fn status(plugin: web::Data<Plugin>) -> HttpResponse {
    HttpResponse::Ok().json(Reply::ok(StatusResponse { status: plugin.status_handle().get() }))
}

/// `POST /v1/addons/identify`: asks the judge, if any. A body that does not parse is refused
/// with a message saying why, as an envelope like every other answer.
pub(super) async fn addons_identify(plugin: web::Data<Plugin>, body: web::Bytes) -> HttpResponse {
    let req: AddonsIdentifyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return HttpResponse::BadRequest()
                .json(Envelope::error(1, format!("malformed addons identify: {e}")))
        }
    };
    let verdict = match plugin.judge() {
        Some(judge) => judge(req).await,
        None => Ok(()),
    };
    match verdict {
        Ok(()) => HttpResponse::Ok().json(Envelope::ok()),
        Err(msg) => HttpResponse::Ok().json(Envelope::error(1, msg)),
    }
}

/// `GET /healthz`: for Dapr's optional app health checks; 204 while the process serves.
pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// Any path the plugin does not serve: 404 with the envelope, saying what was asked. Not
/// `x-keel-error`: that header marks keel's own refusals, and this answer is the plugin's.
pub(super) async fn not_found(req: HttpRequest) -> HttpResponse {
    HttpResponse::NotFound()
        .json(Envelope::error(404, format!("no such endpoint: {} {}", req.method(), req.path())))
}
