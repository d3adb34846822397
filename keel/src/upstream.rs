//! The hop to keel's own sidecar: the request head copied with sidecar hygiene, the body streamed
//! under the size limit, and the answer turned back into a response (or into a keel error when
//! it is the sidecar's own invocation failure, not the plugin's answer).
//!
//! Two failures look alike and are not: keel failing to reach its *own* sidecar (a connect
//! error: nothing is known about the plugin, `ERR_SIDECAR_UNAVAILABLE`), and the sidecar
//! answering that it could not invoke the plugin (its `ERR_DIRECT_INVOKE` answer,
//! `ERR_PLUGIN_UNREACHABLE`, or `ERR_PLUGIN_TIMEOUT` when the cause it reports is a deadline).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodyStream, BoxBody, SizedStream};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{StatusCode, Version};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use awc::error::SendRequestError;
use bytes::{Bytes, BytesMut};
use futures_util::{stream, Stream, StreamExt};

use super::errors::RouteError;
use super::routes::Resolved;
use keel_sdk::dapr::headers::copy_end_to_end;
use keel_sdk::dapr::invoke::sidecar_invoke_error;
use keel_sdk::dapr::DaprClient;
use keel_sdk::protocol::headers::{KEEL_PREFIX, X_KEEL_CALLER, X_KEEL_ERROR};
use keel_sdk::tokens::Identity;

/// Largest error answer read to tell the sidecar's invocation errors from a plugin's answer.
const PEEK_LIMIT: usize = 64 * 1024;

/// Who the request is from, as keel vouches for it to the plugin.
#[derive(Debug, Clone, Copy)]
pub enum Vouch<'a> {
    /// A plugin or core service, by app-id (internal flow).
    Caller(&'a str),
    /// An external client: its verified identity, or none on a declared public endpoint.
    External(Option<&'a Identity>),
}

/// Headers never copied from the caller: `dapr-*` are sidecar-stamped facts about the previous
/// hop or sidecar controls (`dapr-app-id` would even redirect the call, `dapr-api-token` is
/// keel's app token), `x-keel-*` are keel's to set, the forwarding headers (`forwarded`,
/// `x-forwarded-for`, `x-real-ip`) are the caller's claims about its address, which keel
/// decides itself ([`crate::client_addr`]), and awc sets `host`, the body framing and no
/// `expect` (the caller's 100-continue was already answered by keel's server).
pub(super) fn is_caller_only(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("dapr-")
        || n.starts_with(KEEL_PREFIX)
        || matches!(n, "host" | "content-length" | "expect" | "forwarded" | "x-forwarded-for" | "x-real-ip")
}

/// Headers never copied from the plugin's answer: the framing is keel's, and `x-keel-error` must
/// only ever mean that keel refused.
fn is_not_passed_back(name: &HeaderName) -> bool {
    name == header::CONTENT_LENGTH || name == X_KEEL_ERROR
}

/// Builds the request to `/v1.0/invoke/<plugin>/method/<endpoint>?<raw query>` on keel's sidecar
/// (carrying `DAPR_API_TOKEN` when configured), with the caller's end-to-end headers and keel's
/// word on who is calling.
pub fn request(
    dapr: &DaprClient,
    req: &HttpRequest,
    route: &Resolved,
    vouch: Vouch<'_>,
) -> Result<awc::ClientRequest, RouteError> {
    request_to(dapr, req, &route.plugin, route, vouch)
}

/// [`request`] to another invocation target than the plugin's app-id: a pushed service's URL
/// (Dapr's non-Dapr endpoint invocation, `gateway.rs`), with everything else the same.
pub fn request_to(
    dapr: &DaprClient,
    req: &HttpRequest,
    invoke_id: &str,
    route: &Resolved,
    vouch: Vouch<'_>,
) -> Result<awc::ClientRequest, RouteError> {
    let query = req.query_string();
    let mut method_path = String::with_capacity(route.endpoint.len() + query.len() + 1);
    method_path.push_str(&route.endpoint);
    if !query.is_empty() {
        method_path.push('?');
        method_path.push_str(query);
    }
    // `no_decompress`: bodies pass as they are, and awc adds no `Accept-Encoding` of its own.
    let mut up = dapr
        .invoke_request(req.method().clone(), invoke_id, &method_path)
        .timeout(route.timeout)
        .no_decompress();
    let headers = up.headers_mut();
    copy_end_to_end(req.headers(), headers, is_caller_only);
    match vouch {
        Vouch::Caller(caller) => {
            headers.insert(X_KEEL_CALLER, value(caller)?);
        }
        Vouch::External(Some(who)) => {
            for (name, v) in who.headers() {
                headers.insert(name, value(&v)?);
            }
        }
        Vouch::External(None) => {}
    }
    Ok(up)
}

fn value(v: &str) -> Result<HeaderValue, RouteError> {
    HeaderValue::from_str(v).map_err(|e| RouteError::Internal(format!("identity header value {v:?}: {e}")))
}

/// Sends `up` with the caller's body streamed through: with its `Content-Length` when it had one
/// (refused at once when over the limit), chunked and counted when it had none.
pub async fn send(
    up: awc::ClientRequest,
    req: &HttpRequest,
    payload: web::Payload,
    route: &Resolved,
    limit: u64,
) -> Result<awc::ClientResponse, RouteError> {
    let declared = match req.headers().get(header::CONTENT_LENGTH) {
        Some(v) => Some(v.to_str().ok().and_then(|s| s.parse::<u64>().ok()).ok_or_else(|| {
            RouteError::BadBody { plugin: route.plugin.clone(), reason: "malformed Content-Length".into() }
        })?),
        None => None,
    };
    if declared.is_some_and(|n| n > limit) {
        return Err(RouteError::BodyTooLarge { plugin: route.plugin.clone(), limit });
    }
    let body = Limited { inner: payload, left: limit, limit };
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING) || req.version() == Version::HTTP_2;
    let sent = match declared {
        Some(len) => up.send_body(SizedStream::new(len, body)).await,
        None if chunked => up.send_stream(body).await,
        // No framing header on HTTP/1: the request has no body, and neither will the forwarded one.
        None => up.send_body(actix_web::body::None::new()).await,
    };
    sent.map_err(|e| send_error(e, route, limit))
}

/// Maps a failure of the hop to the status the caller gets.
fn send_error(err: SendRequestError, route: &Resolved, limit: u64) -> RouteError {
    let plugin = route.plugin.clone();
    match err {
        SendRequestError::Timeout => RouteError::Timeout { plugin, after: route.timeout },
        SendRequestError::Body(e) => match e.downcast_ref::<BodyError>() {
            Some(BodyError::TooLarge) => RouteError::BodyTooLarge { plugin, limit },
            _ => RouteError::BadBody { plugin, reason: e.to_string() },
        },
        SendRequestError::Url(e) => RouteError::Internal(format!("invoke URL for {plugin:?}: {e}")),
        // No connection to keel's own sidecar: the request never left keel, and nothing is known
        // about the plugin.
        SendRequestError::Connect(e) => RouteError::SidecarUnavailable {
            detail: format!("connecting to keel's sidecar for {plugin:?}: {e}"),
        },
        // The sidecar took the request and then broke off: the invocation failed on its way.
        other => RouteError::Unreachable { plugin, detail: other.to_string() },
    }
}

/// Turns the sidecar's answer into the response: the plugin's status, headers and body as they
/// are, streamed, except that the sidecar's own invocation failures (`ERR_DIRECT_INVOKE`) become
/// 502 (or 504 when it gave up on time, 413 over its body `limit`). `invoke_id` is the target as
/// the sidecar names it in those failures (the plugin's app-id, or a pushed service's URL).
pub async fn respond(
    mut res: awc::ClientResponse,
    route: &Resolved,
    invoke_id: &str,
    started: Instant,
    limit: u64,
) -> Result<HttpResponse, RouteError> {
    let status = res.status();
    let length = res.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let body: BoxBody = if may_be_sidecar_error(status, res.headers()) {
        let left = route.timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(1));
        let (head, complete) = tokio::time::timeout(left, peek(&mut res))
            .await
            .map_err(|_| RouteError::Timeout { plugin: route.plugin.clone(), after: route.timeout })?
            .map_err(|e| RouteError::Unreachable { plugin: route.plugin.clone(), detail: e.to_string() })?;
        if complete {
            if let Some(failure) = sidecar_invoke_error(status, &head)
                .and_then(|e| invoke_failure(route, invoke_id, e.message, limit))
            {
                return Err(failure);
            }
            BoxBody::new(head)
        } else {
            let rest = stream::iter([Ok::<_, PayloadError>(head)]).chain(res.take_payload());
            boxed(length, rest)
        }
    } else {
        boxed(length, res.take_payload())
    };
    let mut out = HttpResponse::with_body(status, body);
    copy_end_to_end(res.headers(), out.headers_mut(), is_not_passed_back);
    Ok(out)
}

fn boxed<S>(length: Option<u64>, body: S) -> BoxBody
where
    S: Stream<Item = Result<Bytes, PayloadError>> + 'static,
{
    match length {
        Some(n) => BoxBody::new(SizedStream::new(n, body)),
        None => BoxBody::new(BodyStream::new(body)),
    }
}

/// daprd reports invocation failures as JSON with these statuses; anything else is the plugin's.
fn may_be_sidecar_error(status: StatusCode, headers: &HeaderMap) -> bool {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    json && (status.is_server_error() || status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN)
}

/// Reads up to [`PEEK_LIMIT`] bytes of the answer; `true` when that was all of it.
async fn peek(res: &mut awc::ClientResponse) -> Result<(Bytes, bool), PayloadError> {
    let mut buf = BytesMut::new();
    while buf.len() <= PEEK_LIMIT {
        match res.next().await {
            Some(chunk) => buf.extend_from_slice(&chunk?),
            None => return Ok((buf.freeze(), true)),
        }
    }
    Ok((buf.freeze(), false))
}

/// The sidecar's word that it could not invoke the plugin, as a keel error; `None` when the
/// failure is about another app (a plugin passing on what its own sidecar told it about a call
/// it made), which is the plugin's answer and goes back as it is.
fn invoke_failure(route: &Resolved, invoke_id: &str, message: String, limit: u64) -> Option<RouteError> {
    let plugin = route.plugin.clone();
    match InvokeFailure::parse(&message) {
        Some(f) if f.app_id != invoke_id => None,
        Some(InvokeFailure { cause: Cause::Deadline, .. }) => {
            Some(RouteError::Timeout { plugin, after: route.timeout })
        }
        // The caller's fault, not the plugin's: the body is over a sidecar's request limit.
        Some(InvokeFailure { cause: Cause::TooLarge, .. }) => {
            Some(RouteError::OverSidecarLimit { plugin, limit })
        }
        // Other causes, and the sidecar's messages without an app-id ("invoke API is not ready").
        _ => Some(RouteError::Unreachable { plugin, detail: message }),
    }
}

/// daprd's `ERR_DIRECT_INVOKE` message, read as the template it is written from
/// (`failed to invoke, id: <app-id>, err: <cause>`, `pkg/messages/predefined.go`).
#[derive(Debug, PartialEq, Eq)]
struct InvokeFailure<'a> {
    /// The app-id the sidecar tried.
    app_id: &'a str,
    /// What it reported as the cause.
    cause: Cause<'a>,
}

/// The causes keel tells apart.
#[derive(Debug, PartialEq, Eq)]
enum Cause<'a> {
    /// The invocation ran out of time on the sidecar: a resiliency `timeout` policy fired. daprd
    /// reports Go's `context.DeadlineExceeded` (`context deadline exceeded`), or the callee
    /// sidecar's gRPC status `DeadlineExceeded`.
    Deadline,
    /// A sidecar on the way stopped reading the body at its request size limit (daprd's
    /// `--max-body-size`, `--dapr-http-max-request-size`): dapr/kit's `streams.ErrStreamTooLarge`,
    /// `stream too large`, at the end of the cause (bare or inside a gRPC status).
    TooLarge,
    /// Anything else (the app is unknown, down, unhealthy, the breaker is open...).
    Other(&'a str),
}

impl<'a> InvokeFailure<'a> {
    /// Go's `context.DeadlineExceeded.Error()`.
    const DEADLINE: &'static str = "context deadline exceeded";
    /// A gRPC status with code `DeadlineExceeded`, as Go's gRPC formats it.
    const GRPC_DEADLINE: &'static str = "rpc error: code = DeadlineExceeded desc = ";
    /// dapr/kit's `streams.ErrStreamTooLarge.Error()`.
    const TOO_LARGE: &'static str = "stream too large";

    fn parse(message: &'a str) -> Option<Self> {
        let rest = message.strip_prefix("failed to invoke, id: ")?;
        let (app_id, cause) = rest.split_once(", err: ")?;
        let cause = if cause == Self::DEADLINE || cause.starts_with(Self::GRPC_DEADLINE) {
            Cause::Deadline
        } else if cause.ends_with(Self::TOO_LARGE) {
            Cause::TooLarge
        } else {
            Cause::Other(cause)
        };
        Some(Self { app_id, cause })
    }
}

/// Why the request body stopped.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    #[error("request body exceeds the limit")]
    TooLarge,
    #[error("reading the request body: {0}")]
    Read(#[from] PayloadError),
}

/// The caller's body, failing once it passes `limit` bytes.
struct Limited {
    inner: web::Payload,
    left: u64,
    limit: u64,
}

impl Stream for Limited {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let len = chunk.len() as u64;
                if len > self.left {
                    tracing::debug!(limit = self.limit, "request body over the limit");
                    return Poll::Ready(Some(Err(BodyError::TooLarge)));
                }
                self.left -= len;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn route() -> Resolved {
        Resolved { plugin: "echo".into(), endpoint: "a/b%20c".into(), timeout: Duration::from_secs(3) }
    }

    #[actix_web::test]
    async fn the_head_is_copied_with_hygiene_and_the_caller_vouched_for() {
        let dapr = DaprClient::new(keel_sdk::dapr::SidecarConfig {
            api_token: Some("sidecar-token".into()),
            ..Default::default()
        });
        let req = TestRequest::post()
            .uri("/echo/a/b%20c?x=1&x=2&y=%2F")
            .insert_header(("x-a", "1"))
            .append_header(("x-a", "2"))
            .insert_header(("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
            .insert_header(("connection", "keep-alive, x-hop"))
            .insert_header(("x-hop", "h"))
            .insert_header(("dapr-api-token", "app-token"))
            .insert_header(("dapr-app-id", "elsewhere"))
            .insert_header(("dapr-caller-app-id", "greeter"))
            .insert_header(("x-keel-caller", "forged"))
            .insert_header(("x-keel-user", "admin"))
            .insert_header(("content-length", "0"))
            .to_http_request();
        let up = request(&dapr, &req, &route(), Vouch::Caller("greeter")).unwrap();
        assert_eq!(up.get_uri().path(), "/v1.0/invoke/echo/method/a/b%20c");
        assert_eq!(up.get_uri().query(), Some("x=1&x=2&y=%2F"));
        let h = up.headers();
        assert_eq!(h.get_all("x-a").count(), 2);
        assert!(h.get("traceparent").is_some());
        assert_eq!(h.get("dapr-api-token").unwrap(), "sidecar-token");
        for gone in
            ["connection", "x-hop", "dapr-app-id", "dapr-caller-app-id", "x-keel-user", "content-length"]
        {
            assert!(h.get(gone).is_none(), "{gone} must not be forwarded");
        }
        assert_eq!(h.get_all("x-keel-caller").collect::<Vec<_>>(), ["greeter"]);
        assert!(h.get("accept-encoding").is_none());
    }

    #[actix_web::test]
    async fn external_identity_replaces_whatever_the_client_claimed() {
        let dapr = DaprClient::new(keel_sdk::dapr::SidecarConfig::default());
        let req =
            TestRequest::get().uri("/apis/echo/x").insert_header(("x-keel-roles", "admin")).to_http_request();
        let who = crate::gate::tests::ann();
        let up = request(&dapr, &req, &route(), Vouch::External(Some(&who))).unwrap();
        assert_eq!(up.headers().get_all("x-keel-roles").collect::<Vec<_>>(), ["admin,dev"]);
        assert_eq!(up.headers().get("x-keel-user").unwrap(), "ann");
        assert_eq!(up.headers().get("x-keel-tenant").unwrap(), "t1");
        assert!(up.headers().get(X_KEEL_CALLER).is_none());
        let up = request(&dapr, &req, &route(), Vouch::External(None)).unwrap();
        assert!(up.headers().get("x-keel-roles").is_none());
    }

    #[test]
    fn the_sidecars_invoke_failures_are_read_from_their_template() {
        let deadline = "failed to invoke, id: echo, err: context deadline exceeded";
        assert_eq!(
            InvokeFailure::parse(deadline),
            Some(InvokeFailure { app_id: "echo", cause: Cause::Deadline })
        );
        let remote = "failed to invoke, id: echo, err: rpc error: code = DeadlineExceeded desc = context deadline exceeded";
        assert_eq!(InvokeFailure::parse(remote).unwrap().cause, Cause::Deadline);
        let refused = "failed to invoke, id: echo, err: rpc error: code = Internal desc = error invoking app channel: \
                       Post \"http://127.0.0.1:3001/x\": dial tcp 127.0.0.1:3001: connect: connection refused";
        assert!(matches!(InvokeFailure::parse(refused).unwrap().cause, Cause::Other(_)));
        // A plugin's own words about deadlines are not the sidecar's timeout.
        let app = "failed to invoke, id: echo, err: rpc error: code = Internal desc = upstream said: deadline exceeded";
        assert!(matches!(InvokeFailure::parse(app).unwrap().cause, Cause::Other(_)));
        assert_eq!(InvokeFailure::parse("invoke API is not ready"), None);

        let route = route();
        let e = invoke_failure(&route, &route.plugin, deadline.into(), 9);
        assert!(matches!(e, Some(RouteError::Timeout { .. })), "{e:?}");
        let e = invoke_failure(&route, &route.plugin, refused.into(), 9);
        assert!(matches!(e, Some(RouteError::Unreachable { .. })), "{e:?}");
        let e = invoke_failure(&route, &route.plugin, "invoke API is not ready".into(), 9);
        assert!(matches!(e, Some(RouteError::Unreachable { .. })), "{e:?}");
        for big in [
            "failed to invoke, id: echo, err: stream too large",
            "failed to invoke, id: echo, err: rpc error: code = Unavailable desc = stream too large",
        ] {
            assert_eq!(InvokeFailure::parse(big).unwrap().cause, Cause::TooLarge);
            let e = invoke_failure(&route, &route.plugin, big.into(), 9);
            assert!(matches!(e, Some(RouteError::OverSidecarLimit { limit: 9, .. })), "{e:?}");
        }
        // echo relaying what its own sidecar said about a call to `db`: echo's answer.
        let relayed = "failed to invoke, id: db, err: context deadline exceeded";
        assert!(invoke_failure(&route, &route.plugin, relayed.into(), 9).is_none());
    }

    #[test]
    fn only_json_error_statuses_are_inspected() {
        let mut json = HeaderMap::new();
        json.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert!(may_be_sidecar_error(StatusCode::INTERNAL_SERVER_ERROR, &json));
        assert!(!may_be_sidecar_error(StatusCode::OK, &json));
        assert!(!may_be_sidecar_error(StatusCode::BAD_REQUEST, &json));
        assert!(!may_be_sidecar_error(StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new()));
    }
}
