//! The hop to a hosted service, for both doors:
//! - the app port's `/plugin_service/<root_route>/<path>` (what keel forwards
//!   `/plugin_service/<root_route>/...` of its public port to, through Dapr), prefix
//!   `/plugin_service/<root_route>`, keel's identity headers kept when keel is the caller (but
//!   never `x-keel-ticket`);
//! - the local port's `/<root_route>/<path>` (the seed's `http://127.0.0.1:9008/<root_route>/`),
//!   prefix `/<root_route>`, every `x-keel-*` header dropped (nobody vouches for it there).
//!
//! The request path, top to bottom: resolve the root (404), check the status (503 with
//! `Retry-After`), copy the head with sidecar hygiene (hop-by-hop, `dapr-*`, `host` dropped;
//! `X-Forwarded-Prefix` set), stream the body up, stream the answer back as it is.

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BodyStream, SizedStream};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Version;
use actix_web::{web, HttpRequest, HttpResponse};
use awc::error::SendRequestError;
use keel_sdk::dapr::headers::{copy_end_to_end, DAPR_CALLER_APP_ID};
use keel_sdk::protocol::headers::{KEEL_PREFIX, X_KEEL_ERROR, X_KEEL_TICKET};
use keel_sdk::protocol::KEEL_APP_ID;

use crate::error::HostingError;
use crate::host::Shared;
use crate::model::ServiceStatus;

/// `X-Forwarded-Prefix`: the path prefix hosting stripped, so the service can build links.
pub const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");

/// The app port's prefix in front of every root.
pub const APP_PREFIX: &str = "/plugin_service";

/// Which door a request came in by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// The app port, behind hosting's sidecar.
    App,
    /// The local port.
    Local,
}

/// The per-worker client to the services: no redirects, no decompression, a time limit on the
/// answer's head only.
pub fn client(head_timeout: Duration) -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(head_timeout)
        // TCP_NODELAY: bodies stream through in pieces (keel_sdk::http).
        .connector(keel_sdk::http::connector().limit(0).conn_keep_alive(Duration::from_secs(4)))
        .finish()
}

/// Splits `/<root>/<rest>` into the root and `/<rest>` (`/` when there is none).
fn split(path: &str) -> (&str, &str) {
    let path = path.trim_start_matches('/');
    match path.find('/') {
        Some(i) => (&path[..i], &path[i..]),
        None => (path, "/"),
    }
}

/// Headers never copied up: sidecar facts and controls, the framing, the prefix (set here), and
/// the console's login ticket (keel binds it to the app it calls, hosting, which checks none: a
/// bundle's code must not hold a ticket of a core service).
fn not_copied_up(name: &HeaderName, keep_identity: bool) -> bool {
    let n = name.as_str();
    n.starts_with("dapr-")
        || matches!(n, "host" | "content-length" | "expect" | "x-forwarded-prefix")
        || *name == X_KEEL_TICKET
        || (!keep_identity && n.starts_with(KEEL_PREFIX))
}

/// `<VERB> <door's prefix>/<root_route>/<path...>`: forwards to the service.
pub async fn forward(
    req: HttpRequest,
    body: web::Payload,
    shared: web::Data<Arc<Shared>>,
    client: web::Data<awc::Client>,
    door: Door,
) -> Result<HttpResponse, HostingError> {
    let path = req.path();
    let inner = match door {
        Door::App => path.strip_prefix(APP_PREFIX).unwrap_or(path),
        Door::Local => path,
    };
    let (root, rest) = split(inner);
    if !shared.is_ready() {
        return Err(HostingError::NotReady); // 503 while booting
    }
    let route = shared.route(root).ok_or_else(|| HostingError::UnknownRoot(root.to_owned()))?; // 404
    if door == Door::App {
        crate::authorize::may_open(&req, root, &route)?; // 401 a closed service, nobody logged in
    }
    let port = ready_port(&shared, root, &route)?; // 503 STARTING, RESTARTING, FAILED
    let keep_identity = door == Door::App
        && req.headers().get(DAPR_CALLER_APP_ID).is_some_and(|v| v.as_bytes() == KEEL_APP_ID.as_bytes());
    let prefix = match door {
        Door::App => format!("{APP_PREFIX}/{root}"),
        Door::Local => format!("/{root}"),
    };
    let mut url = format!("http://127.0.0.1:{port}{rest}");
    if !req.query_string().is_empty() {
        url.push('?');
        url.push_str(req.query_string());
    }
    let mut up = client.request(req.method().clone(), url).no_decompress();
    copy_end_to_end(req.headers(), up.headers_mut(), |n| not_copied_up(n, keep_identity));
    let prefix = HeaderValue::from_str(&prefix).map_err(HostingError::internal)?;
    up.headers_mut().insert(X_FORWARDED_PREFIX, prefix);
    let res = send(up, &req, body).await.map_err(|e| send_error(e, &shared, &route.app_id, root))?; // 503, 504
    Ok(respond(res))
}

fn ready_port(shared: &Shared, root: &str, route: &crate::host::Route) -> Result<u16, HostingError> {
    let (root, app_id) = (root.to_owned(), route.app_id.clone());
    match (route.status, route.port) {
        (ServiceStatus::Running, Some(port)) => Ok(port),
        (ServiceStatus::Failed, _) => Err(HostingError::Failed {
            root,
            app_id,
            retry_after: Duration::from_secs(shared.cfg.retry_after_failed_s),
        }),
        (status, _) => Err(HostingError::Starting {
            root,
            app_id,
            status,
            retry_after: Duration::from_secs(shared.cfg.retry_after_starting_s),
        }),
    }
}

/// Sends the head with the caller's body streamed: sized when it had a `Content-Length`,
/// chunked when it was chunked, none otherwise.
async fn send(
    up: awc::ClientRequest,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<awc::ClientResponse, SendRequestError> {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING) || req.version() == Version::HTTP_2;
    match declared {
        Some(len) => up.send_body(SizedStream::new(len, payload)).await,
        None if chunked => up.send_stream(payload).await,
        None => up.send_body(actix_web::body::None::new()).await,
    }
}

fn send_error(err: SendRequestError, shared: &Shared, app_id: &str, root: &str) -> HostingError {
    let (app_id, root) = (app_id.to_owned(), root.to_owned());
    match err {
        SendRequestError::Timeout => HostingError::Timeout {
            root,
            app_id,
            after: Duration::from_millis(shared.cfg.upstream_timeout_ms),
        },
        other => HostingError::Unreachable {
            root,
            app_id,
            detail: other.to_string(),
            retry_after: Duration::from_secs(shared.cfg.retry_after_starting_s),
        },
    }
}

/// The service's answer as it is, streamed; only the framing and `x-keel-error` (which must
/// only ever mean a Keel refusal) are not passed back.
fn respond(res: awc::ClientResponse) -> HttpResponse {
    let mut out = HttpResponse::build(res.status());
    for (name, value) in keel_sdk::dapr::headers::end_to_end(res.headers(), |n| {
        n == header::CONTENT_LENGTH || *n == X_KEEL_ERROR
    }) {
        out.append_header((name.clone(), value.clone()));
    }
    let length = res.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    match length {
        Some(len) => out.body(SizedStream::new(len, res)),
        None => out.body(BodyStream::new(res)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_root_and_rest() {
        assert_eq!(split("/files/a/b"), ("files", "/a/b"));
        assert_eq!(split("/files"), ("files", "/"));
        assert_eq!(split("/files/"), ("files", "/"));
        assert_eq!(split("/"), ("", "/"));
    }

    #[test]
    fn identity_headers_go_up_only_when_keel_vouches() {
        let user = HeaderName::from_static("x-keel-user");
        assert!(!not_copied_up(&user, true));
        assert!(not_copied_up(&user, false));
        assert!(not_copied_up(&HeaderName::from_static("dapr-api-token"), true));
        assert!(not_copied_up(&HeaderName::from_static("x-forwarded-prefix"), true));
        assert!(not_copied_up(&X_KEEL_TICKET, true), "a ticket bound to hosting stays with hosting");
        assert!(!not_copied_up(&HeaderName::from_static("traceparent"), false));
    }
}
