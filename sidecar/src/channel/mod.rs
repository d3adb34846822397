//! The app channel: how a sidecar talks to its own app, like daprd's `pkg/channel/http`.
//!
//! One request in, one response out, nothing buffered: the request body is handed to awc as a
//! stream (sized when the caller sent a `Content-Length`, chunked otherwise) and the response body
//! comes back as a stream. Redirects are not followed, the response is not decompressed, and there
//! is no overall timeout — daprd's app client is a bare `http.Client{}`, so a slow app is only cut
//! off when the caller goes away (dropping our future drops the upstream connection) or by a
//! resiliency policy, which the stand-in does not implement.

pub mod body;
pub mod health;

use crate::golang::url as gourl;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use actix_web::http::{Method, StatusCode};
use body::{BodyError, Reclaimable, RequestBody};
use bytes::Bytes;
use futures_util::stream::LocalBoxStream;
use futures_util::StreamExt;
use keel_sdk::dapr::headers::DAPR_API_TOKEN;
use std::sync::Arc;
use std::time::Duration;

/// How long establishing a TCP connection may take (Go's default dialer uses 30 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a pooled connection may stay idle before it is closed: below the shortest keep-alive
/// app servers commonly use (gunicorn's 2 s; actix-web, Node.js and uvicorn use 5 s), so the
/// sidecar drops an idle connection before the app does and never writes into one the app has
/// already closed. (awc's default is 15 s.)
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_millis(1500);

/// What Go's HTTP client sends when the caller sent no `User-Agent`.
const GO_USER_AGENT: &str = "Go-http-client/1.1";

/// The awc client every forwarding hop uses: no redirects, no overall timeout, no default
/// headers, no connection limit, idle connections closed after [`POOL_IDLE_TIMEOUT`]. awc clients
/// are per thread, so build one per worker.
pub fn http_client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .disable_timeout()
        .no_default_headers()
        // TCP_NODELAY, as Go's dialer sets it (keel_sdk::http).
        .connector(
            keel_sdk::http::connector().timeout(CONNECT_TIMEOUT).limit(0).conn_keep_alive(POOL_IDLE_TIMEOUT),
        )
        .finish()
}

/// A response from the app (or another sidecar): status, headers, and the body as a stream.
pub struct AppResponse {
    /// Status code as the app sent it.
    pub status: StatusCode,
    /// Headers as the app sent them.
    pub headers: HeaderMap,
    /// The body, not yet read.
    pub body: LocalBoxStream<'static, Result<Bytes, awc::error::PayloadError>>,
}

impl AppResponse {
    /// Wraps an awc response without reading its body.
    pub fn from_client<S>(resp: awc::ClientResponse<S>) -> Self
    where
        S: futures_util::Stream<Item = Result<Bytes, awc::error::PayloadError>> + Unpin + 'static,
    {
        let (status, headers) = (resp.status(), resp.headers().clone());
        AppResponse { status, headers, body: resp.boxed_local() }
    }

    /// Reads the whole body (used only where daprd buffers: non-2xx/3xx answers to
    /// non-streaming requests, and sidecar error texts).
    pub async fn collect(mut self) -> Result<(StatusCode, HeaderMap, Bytes), awc::error::PayloadError> {
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = self.body.next().await {
            buf.extend_from_slice(&chunk?);
        }
        Ok((self.status, self.headers, buf.freeze()))
    }
}

/// One call to the app, fully resolved.
pub struct ChannelRequest {
    /// The verb, already mapped as daprd maps it.
    pub verb: Method,
    /// The normalised method (no leading slash); the app is called at `/<method>`.
    pub method: String,
    /// The caller's raw query string, verbatim (empty for none).
    pub raw_query: String,
    /// Headers to send (already filtered and stamped by the messaging layer).
    pub headers: HeaderMap,
    /// The body.
    pub body: RequestBody,
}

/// Why the app could not be called. The texts are daprd's (Go's `url.Error` for transport
/// failures); the messaging layer wraps them for remote callers.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The sidecar runs without `--app-port`.
    #[error("cannot invoke local endpoint: app channel not initialized")]
    NotInitialized,
    /// App health checks are on and the app is unhealthy.
    #[error("rpc error: code = Internal desc = app is not in a healthy state")]
    Unhealthy,
    /// The method does not make a valid URL (Go's `url.Parse` failure).
    #[error("parse {}: {source}", crate::golang::quote::quote(.url))]
    Url {
        /// The URL text.
        url: String,
        /// Go's escape error.
        #[source]
        source: gourl::EscapeError,
    },
    /// The request could not be sent or the response head not read.
    #[error("{op} {}: {detail}", crate::golang::quote::quote(.url))]
    Send {
        /// Go's `url.Error.Op`: the verb in title case (`Post`).
        op: String,
        /// The URL called.
        url: String,
        /// What went wrong, worded like Go's net errors where it matters.
        detail: String,
        /// True when the TCP connection could not be established (nothing was sent).
        connect_failed: bool,
    },
}

/// How this sidecar reaches its app.
pub struct AppChannel {
    /// `host:port` of the app, or `None` without `--app-port`.
    authority: Option<String>,
    /// `APP_API_TOKEN`, sent as `dapr-api-token`.
    app_api_token: Option<HeaderValue>,
    /// App health, when checks are enabled.
    health: Option<Arc<health::AppHealth>>,
}

// === impl AppChannel ===

impl AppChannel {
    /// A channel to `address:port` (`None` port: no app channel).
    pub fn new(
        address: &str,
        port: Option<u16>,
        app_api_token: Option<&str>,
        health: Option<Arc<health::AppHealth>>,
    ) -> Self {
        let host = if address.contains(':') && !address.starts_with('[') {
            format!("[{address}]")
        } else {
            address.to_owned()
        };
        AppChannel {
            authority: port.map(|p| format!("{host}:{p}")),
            app_api_token: app_api_token.and_then(|t| HeaderValue::from_str(t).ok()),
            health,
        }
    }

    /// Calls the app. Fails fast while the app is unhealthy, as daprd does.
    pub async fn invoke(
        &self,
        client: &awc::Client,
        req: ChannelRequest,
    ) -> Result<AppResponse, ChannelError> {
        let authority = self.authority.as_deref().ok_or(ChannelError::NotInitialized)?;
        if self.health.as_ref().is_some_and(|h| !h.is_healthy()) {
            return Err(ChannelError::Unhealthy);
        }
        // daprd: fmt.Sprintf("%s/%s", base, method), then url.Parse, then the raw query as is.
        let url_text = format!("http://{authority}/{}", req.method);
        let path = gourl::wire_path(&format!("/{}", req.method))
            .map_err(|source| ChannelError::Url { url: url_text.clone(), source })?;
        let query = if req.raw_query.is_empty() { String::new() } else { format!("?{}", req.raw_query) };
        let url = format!("http://{authority}{path}{query}");

        let mut headers = req.headers;
        if let Some(token) = &self.app_api_token {
            // Header.Set: the callee's token replaces whatever the caller sent.
            headers.insert(HeaderName::from_static(DAPR_API_TOKEN), token.clone());
        }
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, HeaderValue::from_static(GO_USER_AGENT));
        }
        send(client, req.verb, &url, headers, req.body).await
    }
}

/// Sends one request with a streamed body and returns the response head with its body unread.
/// Shared by the app channel and the sidecar-to-sidecar hop.
///
/// Like Go's HTTP transport (which daprd uses), a request that failed on a connection the peer
/// had closed — the connection dropped before any byte of a response came back — is sent once
/// more on another connection, when it can be replayed: no byte of its body was read, and it is
/// idempotent (`GET`, `HEAD`, `OPTIONS`, `TRACE`) or carries an `Idempotency-Key` (net/http's
/// `isReplayable`). That is the race of a pooled connection the app closed while idle.
pub async fn send(
    client: &awc::Client,
    verb: Method,
    url: &str,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<AppResponse, ChannelError> {
    let replayable = is_replayable(&verb, &headers);
    let (length, body) = match body {
        RequestBody::Empty => (Some(0), None),
        RequestBody::Sized(n, s) => (Some(n), Some(Reclaimable::new(s))),
        RequestBody::Chunked(s) => (None, Some(Reclaimable::new(s))),
    };
    let attempt = |headers: HeaderMap| {
        let this_body = match (&body, length) {
            (None, _) => RequestBody::Empty,
            (Some(b), Some(n)) => RequestBody::Sized(n, b.stream()),
            (Some(b), None) => RequestBody::Chunked(b.stream()),
        };
        send_once(client, verb.clone(), url, headers, this_body)
    };
    match attempt(headers.clone()).await {
        Err((e, stale)) if stale && replayable && !body.as_ref().is_some_and(Reclaimable::touched) => {
            tracing::debug!(url, error = %e, "Connection closed by the peer before a response, retrying once");
            attempt(headers).await.map_err(|(e, _)| e)
        }
        other => other.map_err(|(e, _)| e),
    }
}

/// net/http's `Request.isReplayable`, for a request whose body can be re-read.
fn is_replayable(verb: &Method, headers: &HeaderMap) -> bool {
    matches!(*verb, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
        || headers.contains_key("idempotency-key")
        || headers.contains_key("x-idempotency-key")
}

/// One try of [`send`]; the flag is true when the connection was lost before any response byte
/// (awc's `Disconnected`, or a reset / broken pipe while sending).
async fn send_once(
    client: &awc::Client,
    verb: Method,
    url: &str,
    headers: HeaderMap,
    body: RequestBody,
) -> Result<AppResponse, (ChannelError, bool)> {
    let op = go_op(&verb);
    let mut request = client.request(verb.clone(), url).no_decompress();
    // Replace, not merge: the client adds no default headers, and repeated caller headers must
    // arrive repeated (moving the map keeps them as they are, without a copy per request).
    *request.headers_mut() = headers;
    let sent = match body {
        RequestBody::Empty => {
            // Go sends `Content-Length: 0` for an empty POST/PUT/PATCH and nothing otherwise.
            if matches!(verb, Method::POST | Method::PUT | Method::PATCH) {
                request.send_body(Bytes::new()).await
            } else {
                request.send().await
            }
        }
        RequestBody::Sized(len, stream) => {
            request.send_body(actix_web::body::SizedStream::new(len, stream)).await
        }
        RequestBody::Chunked(stream) => request.send_stream(stream).await,
    };
    let resp = sent.map_err(|e| {
        let (detail, connect_failed) = describe_send_error(&e, url);
        let stale = is_stale_connection(&e);
        (ChannelError::Send { op: op.clone(), url: url.to_owned(), detail, connect_failed }, stale)
    })?;
    Ok(AppResponse::from_client(resp))
}

/// True when the peer closed the connection before answering (what a pooled connection the app
/// closed while idle looks like).
fn is_stale_connection(e: &awc::error::SendRequestError) -> bool {
    use awc::error::{ConnectError, SendRequestError};
    use std::io::ErrorKind;
    match e {
        SendRequestError::Connect(ConnectError::Disconnected) => true,
        SendRequestError::Send(io) => {
            matches!(io.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof)
        }
        _ => false,
    }
}

/// Go's `url.Error.Op` for a verb: first letter upper-case, rest lower-case (`Post`, `Get`).
fn go_op(verb: &Method) -> String {
    let s = verb.as_str();
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        out.push(if i == 0 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
    }
    out
}

/// Words an awc failure the way Go's net/http would, for the cases a client can tell apart.
fn describe_send_error(e: &awc::error::SendRequestError, url: &str) -> (String, bool) {
    use awc::error::{ConnectError, SendRequestError};
    let addr = url.strip_prefix("http://").and_then(|rest| rest.split('/').next()).unwrap_or(url).to_owned();
    match e {
        SendRequestError::Connect(ConnectError::Io(io)) => {
            let reason = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_owned(),
                _ => io.to_string(),
            };
            (format!("dial tcp {addr}: {reason}"), true)
        }
        SendRequestError::Connect(ConnectError::Timeout) => (format!("dial tcp {addr}: i/o timeout"), true),
        // The peer closed the connection before a response: Go's client reports `EOF`.
        SendRequestError::Connect(ConnectError::Disconnected) => ("EOF".to_owned(), false),
        SendRequestError::Connect(other) => (format!("dial tcp {addr}: {other}"), true),
        SendRequestError::Body(err)
            if err.downcast_ref::<BodyError>().is_some_and(BodyError::is_too_large) =>
        {
            (BodyError::TooLarge.to_string(), false)
        }
        SendRequestError::Body(err) => (err.to_string(), false),
        SendRequestError::Send(io) => (io.to_string(), false),
        other => (other.to_string(), false),
    }
}

/// Copies an upstream response's headers onto `builder`: end-to-end only, never
/// `Content-Length` (the body framing is ours to decide), never `dapr-app-id`, never a
/// sidecar-protocol header.
pub fn copy_response_headers(from: &HeaderMap, builder: &mut actix_web::HttpResponseBuilder) {
    let passed = keel_sdk::dapr::headers::end_to_end(from, |n| {
        n == actix_web::http::header::CONTENT_LENGTH
            || n.as_str() == keel_sdk::dapr::headers::DAPR_APP_ID
            || crate::internal::protocol::is_internal(n.as_str())
    });
    for (name, value) in passed {
        builder.append_header((name.clone(), value.clone()));
    }
}

/// The declared `Content-Length` of a response, if any.
pub fn content_length(h: &HeaderMap) -> Option<u64> {
    h.get(actix_web::http::header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Streams an upstream response back unchanged (status, end-to-end headers, body), keeping its
/// length when it declared one. `head` is true for a HEAD request (no body follows).
pub fn stream_back(resp: AppResponse, head: bool) -> actix_web::HttpResponse {
    let mut builder = actix_web::HttpResponse::build(resp.status);
    copy_response_headers(&resp.headers, &mut builder);
    let length = content_length(&resp.headers);
    if resp.status == StatusCode::NO_CONTENT || resp.status == StatusCode::NOT_MODIFIED {
        return builder.finish();
    }
    if head {
        let empty = futures_util::stream::empty::<Result<Bytes, awc::error::PayloadError>>();
        return builder.body(actix_web::body::SizedStream::new(length.unwrap_or(0), empty));
    }
    match length {
        Some(0) => builder.finish(),
        Some(n) => builder.body(actix_web::body::SizedStream::new(n, resp.body)),
        // `.body(BodyStream)`, not `.streaming()`: the latter invents a Content-Type.
        None => builder.body(actix_web::body::BodyStream::new(resp.body)),
    }
}
