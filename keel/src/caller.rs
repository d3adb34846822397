//! Who is calling keel's app port. Only keel's own sidecar may (the app API token proves it, see
//! [`keel_sdk::service::AppToken`], wrapped around the app port), and the caller is the app-id the
//! caller's sidecar stamped in `dapr-caller-app-id`, which Dapr overwrites whatever the app sent.
//!
//! The one stamp that proves nothing is `keel`: keel never calls itself, so a request stamped
//! `keel` was sent to keel's *own* sidecar by someone else (any local process can, when that
//! sidecar has no API token). It is refused, not treated as a core service's call.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use super::errors::RouteError;
use keel_sdk::dapr::headers::DAPR_CALLER_APP_ID;
use keel_sdk::protocol::{PluginId, KEEL_APP_ID};

/// The calling app's id, borrowed from the request.
pub fn caller(req: &HttpRequest) -> Result<&str, RouteError> {
    let value = req.headers().get(DAPR_CALLER_APP_ID).ok_or(RouteError::NoCaller)?;
    let id = value.to_str().map_err(|_| RouteError::NoCaller)?;
    // A stamped id is always a valid app-id; anything else did not come from a sidecar.
    PluginId::parse(id)
        .map_err(|_| RouteError::UnregisteredCaller { caller: id.chars().take(64).collect() })?;
    if id == KEEL_APP_ID {
        return Err(RouteError::ThroughKeelsSidecar);
    }
    Ok(id)
}

/// The calling app, as an extractor: a handler that takes it cannot run without one (keel's own
/// `/v1` API). The forwarding path reads [`caller`] instead, to keep it borrowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCaller(pub String);

impl FromRequest for AppCaller {
    type Error = RouteError;
    type Future = Ready<Result<Self, RouteError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller(req).map(|id| AppCaller(id.to_owned())))
    }
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
        let req = TestRequest::default().insert_header((DAPR_CALLER_APP_ID, "keel")).to_http_request();
        assert_eq!(caller(&req).unwrap_err().status_code().as_u16(), 403);
    }
}
