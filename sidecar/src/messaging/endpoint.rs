//! Invocation of non-Dapr endpoints by URL (daprd's `invokeHTTPEndpoint` with an app-id that
//! starts with `http://` or `https://`): the call goes straight to `<url>/<method>?<query>` from
//! this sidecar, with the caller's headers and the trace context, and without the identity stamps
//! and `Forwarded` headers daprd adds only on a sidecar-to-sidecar hop. No built-in retries:
//! daprd retries only gRPC `Unavailable`, which a plain HTTP call never reports.

use super::InvokeError;
use crate::channel::body::RequestBody;
use crate::channel::{self, AppResponse};
use crate::golang::url as gourl;
use actix_web::http::header::{HeaderMap, HeaderValue, USER_AGENT};
use actix_web::http::Method;

/// What Go's HTTP client sends when the caller sent no `User-Agent`.
const GO_USER_AGENT: &str = "Go-http-client/1.1";

/// True when `target` addresses a non-Dapr endpoint by URL rather than an app-id.
pub fn is_url(target: &str) -> bool {
    target.starts_with("http://") || target.starts_with("https://")
}

/// Calls `base` (a URL target) at `method`, as daprd's HTTP endpoint channel does:
/// `base` + `/` (unless the method is empty or starts with one) + method, then the raw query.
pub async fn invoke(
    client: &awc::Client,
    base: &str,
    verb: Method,
    method: &str,
    raw_query: &str,
    mut headers: HeaderMap,
    body: RequestBody,
) -> Result<AppResponse, InvokeError> {
    // The stand-in's client has no TLS: refuse clearly rather than send cleartext to https.
    let Some(rest) = base.strip_prefix("http://") else {
        return Err(InvokeError::Endpoint(format!(
            "cannot invoke http endpoint {base}: the stand-in calls http:// endpoints only"
        )));
    };
    let (authority, base_path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(InvokeError::Endpoint(format!("parse \"{base}\": missing host")));
    }
    let sep = if method.is_empty() || method.starts_with('/') { "" } else { "/" };
    let path = format!("{base_path}{sep}{method}");
    let path = if path.is_empty() { "/".to_owned() } else { path };
    let wire = gourl::wire_path(&path)
        .map_err(|e| InvokeError::Endpoint(format!("parse \"{base}{sep}{method}\": {e}")))?;
    let query = if raw_query.is_empty() { String::new() } else { format!("?{raw_query}") };
    let url = format!("http://{authority}{wire}{query}");
    if !headers.contains_key(USER_AGENT) {
        headers.insert(USER_AGENT, HeaderValue::from_static(GO_USER_AGENT));
    }
    channel::send(client, verb, &url, headers, body).await.map_err(|e| InvokeError::Endpoint(e.to_string()))
}
