//! The request head's limits, enforced by keel itself so that refusing an oversized head is a keel
//! refusal like any other: status, `x-keel-error: 1`, the JSON envelope, an access line.
//!
//! actix-http parses the head below every handler and middleware, and answers what it cannot
//! parse itself, with an empty body and no way for the application to change it: a head over
//! 128 KiB or with more than 96 headers is a bare 431, bytes that are not HTTP a bare 400
//! (actix-http 3's `h1::decoder`, `MAX_BUFFER_SIZE` and `MAX_HEADERS`). keel's own limits sit
//! below those ([`RouterConfig::validate`](crate::RouterConfig::validate) keeps them there), so
//! every head actix-http accepts but keel finds too large gets keel's answer; only heads past
//! actix-http's own hard limits still get its bare one.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use super::errors::RouteError;
use super::state::RouterState;

/// actix-http's hard limits, for validation: the head's buffer and the header count.
pub const ACTIX_MAX_HEAD_BYTES: usize = 131_072;
/// See [`ACTIX_MAX_HEAD_BYTES`].
pub const ACTIX_MAX_HEADERS: usize = 96;

/// The limits keel applies to every request head on its routing ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Longest request target (path and query), in bytes: 414 above.
    pub target_bytes: usize,
    /// Most header lines: 431 above.
    pub headers: usize,
    /// Largest sum of header names and values, in bytes: 431 above.
    pub header_bytes: usize,
}

impl HeadLimits {
    /// The refusal for a head over a limit, if it is.
    pub fn check(&self, req: &ServiceRequest) -> Result<(), RouteError> {
        let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
        if target > self.target_bytes {
            return Err(RouteError::TargetTooLong { limit: self.target_bytes });
        }
        let headers = req.headers();
        if headers.len() > self.headers {
            return Err(RouteError::HeadTooLarge { what: "header lines", limit: self.headers });
        }
        let bytes: usize = headers.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
        if bytes > self.header_bytes {
            return Err(RouteError::HeadTooLarge { what: "bytes of headers", limit: self.header_bytes });
        }
        Ok(())
    }
}

/// Middleware on the routing ports, inside the logging phase so its refusals are logged and
/// counted like the handlers'.
pub async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limits = req.app_data::<web::Data<RouterState>>().map(|s| s.head_limits);
    if let Some(Err(refusal)) = limits.map(|l| l.check(&req)) {
        return Ok(req.into_response(refusal.error_response()).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use keel_sdk::protocol::errors::PlatformError;

    const LIMITS: HeadLimits = HeadLimits { target_bytes: 20, headers: 3, header_bytes: 40 };

    fn code(req: ServiceRequest) -> Option<(u16, &'static str)> {
        LIMITS.check(&req).err().map(|e| (e.status_code().as_u16(), e.code().name()))
    }

    #[test]
    fn a_head_over_a_limit_is_keels_414_or_431() {
        assert_eq!(code(TestRequest::get().uri("/echo/x?a=1").to_srv_request()), None);
        let long = TestRequest::get().uri("/echo/x?a=123456789012345").to_srv_request();
        assert_eq!(code(long), Some((414, "ERR_URI_TOO_LONG")));
        let mut many = TestRequest::get().uri("/e/x");
        for i in 0..4 {
            many = many.insert_header((format!("x-{i}"), "1"));
        }
        assert_eq!(code(many.to_srv_request()), Some((431, "ERR_HEADERS_TOO_LARGE")));
        let big = TestRequest::get().uri("/e/x").insert_header(("x-big", "v".repeat(40))).to_srv_request();
        assert_eq!(code(big), Some((431, "ERR_HEADERS_TOO_LARGE")));
    }
}
