//! Header names and sidecar hygiene shared by every part that forwards HTTP: the router and the
//! local sidecar stand-in strip and stamp headers exactly the same way `daprd` does.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

/// `dapr-app-id`: the header addressing form of service invocation; consumed, never forwarded.
pub const DAPR_APP_ID: &str = "dapr-app-id";
/// `dapr-api-token`: app → sidecar (`DAPR_API_TOKEN`) and sidecar → app (`APP_API_TOKEN`).
pub const DAPR_API_TOKEN: &str = "dapr-api-token";
/// Stamped by the caller's sidecar: the app-id of whoever made the call. Cannot be spoofed.
pub const DAPR_CALLER_APP_ID: &str = "dapr-caller-app-id";
/// Stamped by the caller's sidecar: the caller's namespace (`default` when self-hosted).
pub const DAPR_CALLER_NAMESPACE: &str = "dapr-caller-namespace";
/// Stamped by the sidecar: the app-id the call was addressed to.
pub const DAPR_CALLEE_APP_ID: &str = "dapr-callee-app-id";
/// W3C trace context: always passed through.
pub const TRACEPARENT: &str = "traceparent";
/// W3C trace context: always passed through.
pub const TRACESTATE: &str = "tracestate";

/// Hop-by-hop headers (RFC 9110 §7.6.1 plus the ones daprd's `hopbyhop` test strips).
/// Compared case-insensitively; header names in [`HeaderMap`] are already lower-case.
pub const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-authenticate",
];

/// The hop-by-hop names of one message: the fixed list plus whatever its own `Connection` header
/// names, read once per message rather than once per header (this runs on every forwarded request).
struct HopByHop<'a> {
    named: Vec<&'a str>,
}

impl<'a> HopByHop<'a> {
    fn of(headers: &'a HeaderMap) -> Self {
        let named = headers
            .get_all(actix_web::http::header::CONNECTION)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        HopByHop { named }
    }

    fn contains(&self, name: &HeaderName) -> bool {
        let name = name.as_str();
        HOP_BY_HOP.contains(&name) || self.named.iter().any(|t| t.eq_ignore_ascii_case(name))
    }
}

/// The end-to-end headers of `from` in order (repeated headers preserved): hop-by-hop headers
/// and any name for which `skip` returns true are left out.
pub fn end_to_end<'a>(
    from: &'a HeaderMap,
    skip: impl Fn(&HeaderName) -> bool + 'a,
) -> impl Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + 'a {
    let hop = HopByHop::of(from);
    from.iter().filter(move |(name, _)| !hop.contains(name) && !skip(name))
}

/// Copies every end-to-end header of `from` into `to` (see [`end_to_end`]).
pub fn copy_end_to_end(from: &HeaderMap, to: &mut HeaderMap, skip: impl Fn(&HeaderName) -> bool) {
    for (name, value) in end_to_end(from, skip) {
        to.append(name.clone(), value.clone());
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
    fn fixed_hop_by_hop_headers_are_dropped_and_repeats_kept() {
        let from = map(&[
            ("connection", "close"),
            ("te", "trailers"),
            ("x-a", "1"),
            ("x-a", "2"),
            ("traceparent", "00-abc-def-01"),
        ]);
        let mut to = HeaderMap::new();
        copy_end_to_end(&from, &mut to, |_| false);
        assert!(to.get("connection").is_none());
        assert!(to.get("te").is_none());
        assert_eq!(to.get_all("x-a").count(), 2);
        assert!(to.get(TRACEPARENT).is_some());
    }

    #[test]
    fn headers_named_by_connection_are_hop_by_hop() {
        let from = map(&[("connection", "x-secret, keep-alive"), ("x-secret", "s"), ("x-b", "b")]);
        let mut to = HeaderMap::new();
        copy_end_to_end(&from, &mut to, |n| n.as_str() == "x-b");
        assert!(to.is_empty());
    }
}
