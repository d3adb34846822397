//! actix's own refusals, in the platform's error body. An extractor that fails before a
//! handler runs (a body over the payload limit, a malformed query or JSON document) answers in
//! plain text with actix's wording; a core service's clients, its OpenAPI document and the
//! fuzzing tests expect the catalogue's body with `x-keel-error: 1` on every refusal.
//!
//! Only responses that carry an actix error and are not already a catalogue refusal are
//! rewritten, so a handler's deliberate answers (a proxied service's own 404, say) pass as they
//! are. The message is generic on purpose: actix's parse errors can quote the body, and a body
//! may hold a password.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::protocol::errors::{self, Code, PlatformError};
use crate::protocol::headers::X_KEEL_ERROR;

/// One of actix's refusals, as the catalogue names it.
#[derive(Debug, thiserror::Error)]
#[error("{msg}")]
struct FrameworkRefusal {
    code: Code,
    msg: &'static str,
}

impl PlatformError for FrameworkRefusal {
    fn code(&self) -> Code {
        self.code
    }
}

/// The catalogue's code and message for a status actix refused with.
fn refusal(status: u16) -> FrameworkRefusal {
    let (code, msg) = match status {
        404 => (Code::NotFound, "no such resource"),
        405 => (Code::MethodNotAllowed, "this method is not allowed on this path"),
        413 => (Code::BodyTooLarge, "the request body is over this service's limit"),
        414 => (Code::UriTooLong, "the request target is too long"),
        431 => (Code::HeadersTooLarge, "the request's headers are too large"),
        s if s >= 500 => (Code::Internal, "internal error"),
        _ => (Code::BadRequest, "the request is malformed (its body, query or headers could not be read)"),
    };
    FrameworkRefusal { code, msg }
}

/// Middleware (`App::new().wrap(from_fn(catalogue_errors))`, inside the logging middleware):
/// rewrites actix's own refusals into the platform's error body.
pub async fn catalogue_errors<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let res = next.call(req).await?;
    let status = res.status();
    let framework = res.response().error().is_some()
        && !res.headers().contains_key(X_KEEL_ERROR)
        && (status.is_client_error() || status.is_server_error());
    if !framework {
        return Ok(res.map_into_left_body());
    }
    let (req, _) = res.into_parts();
    let answer = errors::respond(&refusal(status.as_u16()));
    Ok(ServiceResponse::new(req, answer).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use actix_web::middleware::from_fn;
    use actix_web::test::{call_service, init_service, read_body_json, TestRequest};
    use actix_web::{web, App, HttpResponse};

    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Query {
        n: u32,
    }

    #[actix_web::test]
    async fn actix_refusals_get_the_catalogue_body_and_deliberate_answers_pass() {
        let app = init_service(
            App::new()
                .wrap(from_fn(catalogue_errors))
                .app_data(web::PayloadConfig::new(16))
                .route("/body", web::post().to(|_: web::Bytes| async { HttpResponse::Ok().finish() }))
                .route("/query", web::get().to(|_: web::Query<Query>| async { HttpResponse::Ok().finish() }))
                .route(
                    "/own",
                    web::get().to(|| async { HttpResponse::NotFound().body("the service's own") }),
                ),
        )
        .await;
        let big = TestRequest::post().uri("/body").set_payload(vec![b'x'; 64]).to_request();
        let res = call_service(&app, big).await;
        assert_eq!(res.status(), 413);
        assert!(res.headers().contains_key(X_KEEL_ERROR));
        let body: serde_json::Value = read_body_json(res).await;
        assert_eq!(body["code"], "ERR_BODY_TOO_LARGE");
        let bad = TestRequest::get().uri("/query?n=secret-password").to_request();
        let res = call_service(&app, bad).await;
        assert_eq!(res.status(), 400);
        let body: serde_json::Value = read_body_json(res).await;
        assert_eq!(body["code"], "ERR_BAD_REQUEST");
        assert!(!body.to_string().contains("secret-password"), "never quotes the input: {body}");
        let own = call_service(&app, TestRequest::get().uri("/own").to_request()).await;
        assert_eq!(own.status(), 404);
        assert!(!own.headers().contains_key(X_KEEL_ERROR), "a handler's own answer passes as it is");
    }
}
