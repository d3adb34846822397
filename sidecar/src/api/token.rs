//! `DAPR_API_TOKEN` enforcement (daprd's `APITokenAuthMiddleware`): when the sidecar has a token,
//! every request must carry it in `dapr-api-token`, except `GET /v1.0/healthz` and
//! `GET /v1.0/healthz/outbound` (matched after trimming slashes, on the decoded path). The header
//! is then dropped so it never reaches an app (see `messaging::headers::forwarded`).

use super::errors::ApiError;
use actix_web::http::header::HeaderMap;
use actix_web::http::Method;
use keel_sdk::dapr::headers::DAPR_API_TOKEN;
use subtle::ConstantTimeEq;

/// Checks the request against the sidecar's token.
pub fn check(
    method: &Method,
    decoded_path: &str,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<(), ApiError> {
    let Some(expected) = token else {
        return Ok(());
    };
    if method == Method::GET
        && matches!(decoded_path.trim_matches('/'), "v1.0/healthz" | "v1.0/healthz/outbound")
    {
        return Ok(());
    }
    match headers.get(DAPR_API_TOKEN) {
        // Constant time, so timing does not reveal how much of a guess was right (a length
        // mismatch fails at once: the length is not the secret).
        Some(sent) if bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        _ => Err(ApiError::invalid_token()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn with_token(t: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HeaderName::from_static("dapr-api-token"), HeaderValue::from_static(t));
        h
    }

    #[test]
    fn only_get_healthz_routes_are_exempt() {
        let none = HeaderMap::new();
        assert!(check(&Method::GET, "/v1.0/healthz", &none, Some("t")).is_ok());
        assert!(check(&Method::GET, "/v1.0/healthz/outbound/", &none, Some("t")).is_ok());
        assert!(check(&Method::HEAD, "/v1.0/healthz", &none, Some("t")).is_err());
        assert!(check(&Method::GET, "/v1.0/metadata", &none, Some("t")).is_err());
        assert!(check(&Method::GET, "/v1.0/metadata", &with_token("t"), Some("t")).is_ok());
        assert!(check(&Method::GET, "/v1.0/metadata", &with_token("T"), Some("t")).is_err());
        assert!(check(&Method::GET, "/v1.0/metadata", &with_token("tt"), Some("t")).is_err());
        assert!(check(&Method::GET, "/v1.0/metadata", &with_token(""), Some("t")).is_err());
        assert!(check(&Method::GET, "/v1.0/metadata", &none, None).is_ok());
    }
}
