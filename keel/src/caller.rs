//! Who is calling keel's app port: only keel's own sidecar may (the app API token proves it), and
//! the caller is the app-id the caller's sidecar stamped in `dapr-caller-app-id`, which Dapr
//! overwrites whatever the app sent.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};

use super::app::Shared;
use super::errors::RouteError;
use keel_sdk::dapr::headers::{DAPR_API_TOKEN, DAPR_CALLER_APP_ID};
use keel_sdk::protocol::PluginId;

/// The path daprd's app health probes use; they never carry the app token.
pub const HEALTHZ: &str = "/healthz";

/// The calling app's id, borrowed from the request.
pub fn caller(req: &HttpRequest) -> Result<&str, RouteError> {
    let value = req.headers().get(DAPR_CALLER_APP_ID).ok_or(RouteError::NoCaller)?;
    let id = value.to_str().map_err(|_| RouteError::NoCaller)?;
    // A stamped id is always a valid app-id; anything else did not come from a sidecar.
    PluginId::parse(id)
        .map_err(|_| RouteError::UnregisteredCaller { caller: id.chars().take(64).collect() })?;
    Ok(id)
}

/// Middleware for the app port: refuses requests without the configured app API token
/// (`APP_API_TOKEN`), as a keel error, so that only keel's sidecar can reach keel.
pub async fn require_app_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let expected = req.app_data::<web::Data<Shared>>().and_then(|s| s.app_token.clone());
    if let Some(expected) = expected {
        let given = req.headers().get(DAPR_API_TOKEN).map(|v| v.as_bytes()).unwrap_or_default();
        if req.path() != HEALTHZ && !keel_sdk::service::secret_eq(given, expected.as_bytes()) {
            // `from_error` keeps the typed error on the response for the access log.
            return Ok(req.into_response(HttpResponse::from_error(RouteError::AppToken)));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use actix_web::ResponseError;

    #[test]
    fn the_caller_is_the_stamped_app_id() {
        let req = TestRequest::default().insert_header((DAPR_CALLER_APP_ID, "greeter")).to_http_request();
        assert_eq!(caller(&req).unwrap(), "greeter");
        let req = TestRequest::default().to_http_request();
        assert_eq!(caller(&req).unwrap_err().status_code().as_u16(), 401);
        let req = TestRequest::default().insert_header((DAPR_CALLER_APP_ID, "Not An Id")).to_http_request();
        assert_eq!(caller(&req).unwrap_err().status_code().as_u16(), 403);
    }
}
