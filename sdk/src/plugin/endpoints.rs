//! The protocol endpoints the kit serves from a [`super::Plugin`]'s declaration, and the app API
//! token check that guards every route of the app.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use crate::dapr::headers::DAPR_API_TOKEN;
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

/// Refuses requests that do not carry the configured app API token: only the app's own sidecar
/// (started with the same `APP_API_TOKEN`) can reach the app then. `/healthz` stays open because
/// daprd's health probes never carry the token.
pub async fn require_app_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let expected = req.app_data::<web::Data<Plugin>>().and_then(|p| p.app_token().map(str::to_owned));
    if let Some(expected) = expected {
        let given = req.headers().get(DAPR_API_TOKEN).map(|v| v.as_bytes()).unwrap_or_default();
        if req.path() != "/healthz" && !constant_time_eq(given, expected.as_bytes()) {
            let res = HttpResponse::Unauthorized().json(Envelope::error(
                -401,
                "missing or wrong dapr-api-token: only this app's sidecar may call it",
            ));
            return Ok(req.into_response(res));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Compares without an early exit, so timing does not reveal how much of a token matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
