//! Which caller headers travel to the app, and what the sidecar adds (daprd's
//! `HTTPHeadersToInternalMetadata` → `InternalMetadataToHTTPHeader`, `addForwardedHeadersToMetadata`).

use crate::internal::protocol;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, EXPECT, HOST};
use keel_sdk::dapr::headers::{
    copy_end_to_end, DAPR_API_TOKEN, DAPR_APP_ID, DAPR_CALLEE_APP_ID, DAPR_CALLER_APP_ID,
    DAPR_CALLER_NAMESPACE,
};

/// `destination-app-id`: a gRPC routing header daprd never forwards.
const DESTINATION_APP_ID: &str = "destination-app-id";
/// `baggage`: only its first value is forwarded.
const BAGGAGE: &str = "baggage";

/// The caller's headers as daprd forwards them: everything end-to-end except `dapr-app-id`,
/// `destination-app-id`, `*-bin`, the identity stamps (re-set below, so never spoofable),
/// `dapr-api-token` when this sidecar checked it (`strip_api_token`), and what the transport
/// re-creates itself (`Host`, `Content-Length`, `Expect`). `Content-Type` passes only if sent.
pub fn forwarded(incoming: &HeaderMap, strip_api_token: bool) -> HeaderMap {
    let mut out = HeaderMap::new();
    copy_end_to_end(incoming, &mut out, |name| {
        let n = name.as_str();
        n == HOST.as_str()
            || n == CONTENT_LENGTH.as_str()
            || n == EXPECT.as_str()
            || n == DAPR_APP_ID
            || n == DESTINATION_APP_ID
            || n.ends_with("-bin")
            || n == DAPR_CALLER_APP_ID
            || n == DAPR_CALLER_NAMESPACE
            || n == DAPR_CALLEE_APP_ID
            || (strip_api_token && n == DAPR_API_TOKEN)
            || protocol::is_internal(n)
    });
    // baggage: daprd forwards the first value only.
    if out.get_all(BAGGAGE).count() > 1 {
        if let Some(first) = out.get(BAGGAGE).cloned() {
            out.insert(HeaderName::from_static(BAGGAGE), first);
        }
    }
    out
}

/// Stamps the caller's identity and the callee, replacing anything the app sent.
pub fn stamp_identity(h: &mut HeaderMap, caller_id: &str, caller_ns: &str, callee_id: &str) {
    for (name, value) in
        [(DAPR_CALLER_APP_ID, caller_id), (DAPR_CALLER_NAMESPACE, caller_ns), (DAPR_CALLEE_APP_ID, callee_id)]
    {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
}

/// `X-Forwarded-For`, `X-Forwarded-Host` and `Forwarded` as this sidecar appends them to a
/// remote call (daprd adds them only when the call leaves the sidecar). Built once per sidecar:
/// the host's address and name do not change between calls.
pub struct Forwarded(Vec<(HeaderName, HeaderValue)>);

impl Forwarded {
    /// The values for a sidecar on `host_ip` named `hostname`.
    pub fn new(host_ip: &str, hostname: &str) -> Self {
        let ip = if host_ip.contains(':') { format!("\"[{host_ip}]\"") } else { host_ip.to_owned() };
        let values = [
            ("x-forwarded-for", host_ip.to_owned()),
            ("x-forwarded-host", hostname.to_owned()),
            ("forwarded", format!("for={ip};by={ip};host={hostname}")),
        ];
        Forwarded(
            values
                .into_iter()
                .filter_map(|(name, v)| {
                    Some((HeaderName::from_static(name), HeaderValue::from_str(&v).ok()?))
                })
                .collect(),
        )
    }

    /// Appends them to `h` (after any the caller already carried).
    pub fn append_to(&self, h: &mut HeaderMap) {
        for (name, value) in &self.0 {
            h.append(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn identity_and_routing_headers_are_replaced_or_dropped() {
        let incoming = map(&[
            ("dapr-app-id", "b"),
            ("dapr-caller-app-id", "spoof"),
            ("host", "x"),
            ("content-length", "3"),
            ("connection", "close"),
            ("content-type", "text/plain"),
            ("dapr-api-token", "t"),
            ("grpc-trace-bin", "x"),
            ("traceparent", "00-1-2-01"),
            ("baggage", "a=1"),
            ("baggage", "b=2"),
        ]);
        let mut out = forwarded(&incoming, true);
        stamp_identity(&mut out, "a", "default", "b");
        assert_eq!(out.get("dapr-caller-app-id").unwrap(), "a");
        assert_eq!(out.get_all("dapr-caller-app-id").count(), 1);
        assert_eq!(out.get("dapr-callee-app-id").unwrap(), "b");
        for gone in
            ["dapr-app-id", "host", "content-length", "connection", "dapr-api-token", "grpc-trace-bin"]
        {
            assert!(out.get(gone).is_none(), "{gone}");
        }
        assert_eq!(out.get("content-type").unwrap(), "text/plain");
        assert_eq!(out.get("traceparent").unwrap(), "00-1-2-01");
        assert_eq!(out.get_all("baggage").count(), 1);
        assert!(forwarded(&incoming, false).get("dapr-api-token").is_some());
    }

    #[test]
    fn forwarded_headers_append() {
        let mut h = map(&[("x-forwarded-for", "10.0.0.1")]);
        Forwarded::new("127.0.0.1", "box").append_to(&mut h);
        assert_eq!(h.get_all("x-forwarded-for").count(), 2);
        assert_eq!(h.get("forwarded").unwrap(), "for=127.0.0.1;by=127.0.0.1;host=box");
        let mut h6 = HeaderMap::new();
        Forwarded::new("::1", "box").append_to(&mut h6);
        assert_eq!(h6.get("forwarded").unwrap(), "for=\"[::1]\";by=\"[::1]\";host=box");
    }
}
