//! The wire protocol between two stand-in sidecars (daprd uses gRPC `CallLocalStream` on an
//! internal port; the stand-in uses plain HTTP on 127.0.0.1).
//!
//! The caller sidecar sends the already-stamped request with the app's verb, body and raw query
//! to [`PATH`], naming the callee and the method in two headers. The callee answers with the app's
//! response as it is, or — for a failure of its own — with [`ERROR`] set and daprd's error text
//! as the body. Headers with the [`PREFIX`] are owned by this protocol: a caller sidecar drops any
//! an app sent, and a callee strips them before calling its app and from its app's response.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};

/// The internal endpoint.
pub const PATH: &str = "/v1.0-internal/invoke";
/// Every protocol header starts with this.
pub const PREFIX: &str = "x-dapr-standin-";
/// The callee app-id.
pub const CALLEE: &str = "x-dapr-standin-callee";
/// The namespace the caller addressed.
pub const CALLEE_NAMESPACE: &str = "x-dapr-standin-callee-namespace";
/// The normalised method, percent-encoded (it may hold bytes a URL path cannot).
pub const METHOD: &str = "x-dapr-standin-method";
/// Set on a response that is the callee sidecar's own error.
pub const ERROR: &str = "x-dapr-standin-error";

/// One call as the callee reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The app-id the caller resolved.
    pub app_id: String,
    /// The method.
    pub method: String,
}

/// True for a protocol-owned header name (lower-case).
pub fn is_internal(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// Adds the call headers (replacing any the app sent).
pub fn set_call(h: &mut HeaderMap, app_id: &str, namespace: &str, method: &str) {
    let encoded = utf8_percent_encode(method, NON_ALPHANUMERIC).to_string();
    for (name, value) in
        [(CALLEE, app_id.to_owned()), (CALLEE_NAMESPACE, namespace.to_owned()), (METHOD, encoded)]
    {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
}

/// Reads the call headers.
pub fn read_call(h: &HeaderMap) -> Option<Call> {
    let app_id = h.get(CALLEE)?.to_str().ok()?.to_owned();
    let method = percent_decode_str(h.get(METHOD)?.to_str().ok()?).decode_utf8().ok()?.into_owned();
    Some(Call { app_id, method })
}

/// The URL of the internal endpoint at `address`, carrying the raw query verbatim.
pub fn url(address: &str, raw_query: &str) -> String {
    if raw_query.is_empty() {
        format!("http://{address}{PATH}")
    } else {
        format!("http://{address}{PATH}?{raw_query}")
    }
}

/// True when a response is the callee sidecar's error rather than its app's answer.
pub fn is_sidecar_error(h: &HeaderMap) -> bool {
    h.contains_key(ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_headers_round_trip_any_method() {
        let mut h = HeaderMap::new();
        set_call(&mut h, "app2", "default", "a b/%zz/é\"");
        let call = read_call(&h).unwrap();
        assert_eq!(call, Call { app_id: "app2".into(), method: "a b/%zz/é\"".into() });
    }
}
