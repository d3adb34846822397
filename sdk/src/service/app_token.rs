//! The app API token check every Keel app port shares: with `APP_API_TOKEN` configured, daprd
//! sends it as `dapr-api-token` on every call it makes to the app, so a request without it did
//! not come from the app's own sidecar and is refused (401 `ERR_APP_TOKEN`). The middleware is
//! built with its token, so there is no request on which it could find itself unconfigured and
//! skip the check.

use std::future::{ready, Ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{HttpResponse, ResponseError};
use futures_util::future::{Either, MapOk, TryFutureExt};
use subtle::ConstantTimeEq;

use crate::dapr::headers::DAPR_API_TOKEN;
use crate::protocol::errors::{self, Code, PlatformError};

/// The path daprd's app health probes use; they never carry the app token.
pub const HEALTHZ: &str = "/healthz";

/// Compares two secrets in time that does not depend on where they differ.
pub fn secret_eq(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

/// The app token policy of one app port: wrap the app with it (`App::new().wrap(token)`).
#[derive(Clone)]
pub struct AppToken {
    expected: Option<Arc<str>>,
}

/// The refusal of a request without the app token.
#[derive(Debug, thiserror::Error)]
#[error("missing or wrong dapr-api-token: only this app's Dapr sidecar may call it")]
pub struct AppTokenRefused;

impl PlatformError for AppTokenRefused {
    fn code(&self) -> Code {
        Code::AppToken
    }
}

impl ResponseError for AppTokenRefused {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        errors::respond(self)
    }
}

// === impl AppToken ===

impl AppToken {
    /// Requires `token` on every request but [`HEALTHZ`]; `None` (no `APP_API_TOKEN` configured,
    /// so daprd sends none) lets every request through, as daprd's apps do.
    pub fn new(token: Option<String>) -> Self {
        Self { expected: token.filter(|t| !t.is_empty()).map(Arc::from) }
    }

    /// The policy `APP_API_TOKEN` sets (what `dapr run` and the stand-in give every app).
    pub fn from_env() -> Self {
        Self::new(std::env::var("APP_API_TOKEN").ok())
    }

    /// Whether a token is required.
    pub fn is_required(&self) -> bool {
        self.expected.is_some()
    }

    /// Whether `req` may pass.
    pub fn allows(&self, req: &ServiceRequest) -> bool {
        let Some(expected) = &self.expected else { return true };
        if req.path() == HEALTHZ {
            return true;
        }
        let given = req.headers().get(DAPR_API_TOKEN).map(|v| v.as_bytes()).unwrap_or_default();
        secret_eq(given, expected.as_bytes())
    }
}

impl<S, B> Transform<S, ServiceRequest> for AppToken
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = AppTokenMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AppTokenMiddleware { service: Rc::new(service), policy: self.clone() }))
    }
}

/// [`AppToken`] around one worker's service.
pub struct AppTokenMiddleware<S> {
    service: Rc<S>,
    policy: AppToken,
}

type Passed<B> = fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>;

impl<S, B> Service<ServiceRequest> for AppTokenMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Either<MapOk<S::Future, Passed<B>>, Ready<Result<Self::Response, Self::Error>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if self.policy.allows(&req) {
            let passed: Passed<B> = ServiceResponse::map_into_left_body;
            return Either::Left(self.service.call(req).map_ok(passed));
        }
        // `from_error` keeps the typed refusal on the response for the logging phase.
        let res = HttpResponse::from_error(AppTokenRefused);
        Either::Right(ready(Ok(req.into_response(res).map_into_right_body())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::{call_service, init_service, TestRequest};
    use actix_web::{web, App};

    async fn status(policy: AppToken, path: &str, token: Option<&str>) -> u16 {
        let app = init_service(
            App::new()
                .wrap(policy)
                .route("/healthz", web::get().to(HttpResponse::NoContent))
                .default_service(web::to(HttpResponse::Ok)),
        )
        .await;
        let mut req = TestRequest::get().uri(path);
        if let Some(t) = token {
            req = req.insert_header((DAPR_API_TOKEN, t));
        }
        let res = call_service(&app, req.to_request()).await;
        if res.status() == 401 {
            assert_eq!(res.headers().get("x-keel-error").unwrap(), "1");
        }
        res.status().as_u16()
    }

    #[actix_web::test]
    async fn the_token_guards_everything_but_healthz() {
        let required = || AppToken::new(Some("s3cret".into()));
        assert_eq!(status(required(), "/v1/identify", None).await, 401);
        assert_eq!(status(required(), "/v1/identify", Some("wrong")).await, 401);
        assert_eq!(status(required(), "/v1/identify", Some("s3cret")).await, 200);
        assert_eq!(status(required(), "/healthz", None).await, 204);
    }

    #[actix_web::test]
    async fn without_a_configured_token_every_request_passes() {
        assert_eq!(status(AppToken::new(None), "/x", None).await, 200);
        assert_eq!(status(AppToken::new(Some(String::new())), "/x", None).await, 200);
        assert!(!AppToken::new(Some(String::new())).is_required());
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(secret_eq(b"abc", b"abc"));
        assert!(!secret_eq(b"abc", b"abd"));
        assert!(!secret_eq(b"ab", b"abc"));
        assert!(!secret_eq(b"", b"abc"));
    }
}
