//! Service invocation: decides where a call goes (daprd's `pkg/messaging`). A call to this
//! sidecar's own app-id and namespace goes straight to the app channel; any other app-id is
//! resolved through the name registry and streamed to that app's sidecar over its internal port,
//! where the callee sidecar applies its own rules (its `APP_API_TOKEN`, its app's health).

pub mod endpoint;
pub mod headers;
pub mod method;
pub mod target;

use crate::channel::body::{Reclaimable, RequestBody};
use crate::channel::{self, AppChannel, AppResponse, ChannelError, ChannelRequest};
use crate::components::endpoints::HttpEndpoint;
use crate::internal::protocol;
use crate::registry::{Registry, RegistryError};
use crate::security::WorkloadIdentity;
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};
use method::ForbiddenMethod;
use std::sync::Arc;
use std::time::Duration;

/// daprd's built-in retries for an unreachable target sidecar (`DaprBuiltInServiceRetries`).
const UNREACHABLE_RETRIES: u32 = 3;
/// ... and the constant pause between them.
const UNREACHABLE_BACKOFF: Duration = Duration::from_secs(1);

/// Why an invocation failed; the text goes after daprd's `failed to invoke, id: <id>, err: `.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// More than one dot in the app-id.
    #[error("invalid app id {0}")]
    InvalidAppId(String),
    /// `CONNECT` cannot be invoked.
    #[error("rpc error: code = InvalidArgument desc = invalid HTTP verb: {0}")]
    InvalidVerb(String),
    /// A forbidden character in the method.
    #[error(transparent)]
    ForbiddenMethod(#[from] ForbiddenMethod),
    /// Self-invocation failed at the app channel.
    #[error(transparent)]
    Local(ChannelError),
    /// The registry has no live sidecar for the app-id (sqlite resolver's `ErrNoHost`).
    #[error("no host found with the given ID")]
    NoHost,
    /// The registry could not be read.
    #[error("{0}")]
    Registry(#[from] RegistryError),
    /// The target sidecar refused connections through every built-in retry.
    #[error("failed to invoke target {app_id} after {UNREACHABLE_RETRIES} retries. Error: rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: {detail}\"")]
    Unreachable {
        /// The target.
        app_id: String,
        /// The dial error.
        detail: String,
    },
    /// The target sidecar refused the connection and the request could not be retried
    /// (a streaming body).
    #[error("rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: {0}\"")]
    UnreachableNoRetry(String),
    /// The sidecar-to-sidecar hop broke after it started.
    #[error("rpc error: code = Unavailable desc = {0}")]
    Hop(String),
    /// The callee sidecar reported an error (its text is already daprd's remote wording).
    #[error("{0}")]
    Remote(String),
    /// The callee's access-control policies refused the call (gRPC `PermissionDenied`).
    #[error("{0}")]
    PermissionDenied(String),
    /// A non-Dapr endpoint (a URL target) could not be called (Go's `url.Error` text).
    #[error("{0}")]
    Endpoint(String),
}

impl InvokeError {
    /// The status daprd answers with: 403 for `PermissionDenied` (callee-side allowlists), 500
    /// for everything else (`onDirectMessage`).
    pub fn status(&self) -> StatusCode {
        match self {
            InvokeError::PermissionDenied(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// One invocation as the API layer hands it over.
pub struct InvokeRequest {
    /// The caller's verb.
    pub verb: Method,
    /// The method as addressed (normalised here).
    pub method: String,
    /// The raw query string, verbatim.
    pub raw_query: String,
    /// The caller's headers, already filtered by [`headers::forwarded`].
    pub headers: HeaderMap,
    /// The body.
    pub body: RequestBody,
}

/// Where this sidecar sends invocations.
pub struct DirectMessaging {
    app_id: String,
    namespace: String,
    channel: Arc<AppChannel>,
    registry: Registry,
    forwarded: headers::Forwarded,
    identity: Arc<WorkloadIdentity>,
    /// Named non-Dapr endpoints (`HTTPEndpoint` resources), by name.
    endpoints: Arc<std::collections::HashMap<String, HttpEndpoint>>,
}

// === impl DirectMessaging ===

impl DirectMessaging {
    /// Builds the messaging layer of one sidecar.
    pub fn new(
        app_id: &str,
        namespace: &str,
        channel: Arc<AppChannel>,
        registry: Registry,
        host_ip: &str,
    ) -> Self {
        let hostname = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".to_owned());
        DirectMessaging {
            app_id: app_id.to_owned(),
            namespace: namespace.to_owned(),
            channel,
            registry,
            forwarded: headers::Forwarded::new(host_ip, &hostname),
            identity: Arc::new(WorkloadIdentity::disabled()),
            endpoints: Arc::default(),
        }
    }

    /// Serves `endpoints` (`HTTPEndpoint` resources) by name.
    pub fn with_endpoints(mut self, endpoints: Vec<HttpEndpoint>) -> Self {
        self.endpoints = Arc::new(endpoints.into_iter().map(|e| (e.name.clone(), e)).collect());
        self
    }

    /// Presents `identity` to the sidecars it calls (mTLS; without it, none).
    pub fn with_identity(mut self, identity: Arc<WorkloadIdentity>) -> Self {
        self.identity = identity;
        self
    }

    /// The app channel (the internal server uses it for calls from other sidecars).
    pub fn channel(&self) -> &AppChannel {
        &self.channel
    }

    /// This sidecar's app-id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// This sidecar's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Invokes `target` (an app-id, optionally `id.namespace`, or a non-Dapr endpoint's URL),
    /// locally or remotely.
    pub async fn invoke(
        &self,
        client: &awc::Client,
        target: &str,
        req: InvokeRequest,
    ) -> Result<AppResponse, InvokeError> {
        // daprd's precedence: an HTTPEndpoint's name, then a URL, then an app-id. The first
        // two are non-Dapr endpoints, called from here (checked before splitting
        // `id.namespace`, since a URL has dots).
        let named = self.endpoints.get(target);
        if named.is_some() || endpoint::is_url(target) {
            let verb = map_verb(&req.verb)?;
            let method = method::normalize(&req.method)?;
            let mut headers = req.headers;
            let base = match named {
                Some(ep) => {
                    // The resource's headers are set, replacing the caller's (Header.Set).
                    for (name, value) in &ep.headers {
                        headers.insert(name.clone(), value.clone());
                    }
                    ep.base_url.as_str()
                }
                None => target,
            };
            return endpoint::invoke(client, base, verb, &method, &req.raw_query, headers, req.body).await;
        }
        // Split `id.namespace`; one part means our own namespace.
        let (id, ns) = self.split_app_id(target)?;
        // Verbs outside the HTTP extension enum become POST; CONNECT is refused.
        let verb = map_verb(&req.verb)?;
        // Refuse forbidden characters, clean the path (the v1.18 traversal fix).
        let method = method::normalize(&req.method)?;
        // Stamp who calls whom, replacing anything the app sent.
        let mut headers = req.headers;
        headers::stamp_identity(&mut headers, &self.app_id, &self.namespace, &id);

        if id == self.app_id && ns == self.namespace {
            let call = ChannelRequest { verb, method, raw_query: req.raw_query, headers, body: req.body };
            return self.channel.invoke(client, call).await.map_err(InvokeError::Local);
        }
        self.forwarded.append_to(&mut headers);
        self.invoke_remote(client, &id, &ns, verb, &method, &req.raw_query, headers, req.body).await
    }

    fn split_app_id(&self, target: &str) -> Result<(String, String), InvokeError> {
        let parts: Vec<&str> = target.split('.').collect();
        match parts.as_slice() {
            [id] => Ok(((*id).to_owned(), self.namespace.clone())),
            [id, ns] => Ok(((*id).to_owned(), (*ns).to_owned())),
            _ => Err(InvokeError::InvalidAppId(target.to_owned())),
        }
    }

    /// Streams the call to the target's sidecar, retrying (like daprd's built-in policy) only
    /// when the connection could not be made and the body was never read.
    #[allow(clippy::too_many_arguments)]
    async fn invoke_remote(
        &self,
        client: &awc::Client,
        id: &str,
        ns: &str,
        verb: Method,
        method: &str,
        raw_query: &str,
        mut headers: HeaderMap,
        body: RequestBody,
    ) -> Result<AppResponse, InvokeError> {
        protocol::set_call(&mut headers, id, ns, method);
        self.identity.present(&mut headers);
        let streaming = body.is_streaming();
        let (length, body) = match body {
            RequestBody::Empty => (Some(0), None),
            RequestBody::Sized(n, s) => (Some(n), Some(Reclaimable::new(s))),
            RequestBody::Chunked(s) => (None, Some(Reclaimable::new(s))),
        };
        let mut attempt = 0;
        loop {
            // Resolve through the shared registry (sqlite-resolver semantics: any namespace).
            let host = self.registry.lookup(id).await?.ok_or(InvokeError::NoHost)?;
            let url = protocol::url(&host.address, raw_query);
            let this_body = match (&body, length) {
                (None, _) => RequestBody::Empty,
                (Some(b), Some(n)) => RequestBody::Sized(n, b.stream()),
                (Some(b), None) => RequestBody::Chunked(b.stream()),
            };
            match channel::send(client, verb.clone(), &url, headers.clone(), this_body).await {
                Ok(resp) if protocol::is_sidecar_error(&resp.headers) => {
                    let denied = resp.status == StatusCode::FORBIDDEN;
                    let text = match resp.collect().await {
                        Ok((_, _, b)) => String::from_utf8_lossy(&b).into_owned(),
                        Err(e) => e.to_string(),
                    };
                    return Err(if denied {
                        InvokeError::PermissionDenied(text)
                    } else {
                        InvokeError::Remote(text)
                    });
                }
                Ok(resp) => return Ok(resp),
                Err(ChannelError::Send { connect_failed: true, detail, .. }) => {
                    self.registry.invalidate(id);
                    let replayable = !streaming && !body.as_ref().is_some_and(Reclaimable::touched);
                    if !replayable {
                        return Err(InvokeError::UnreachableNoRetry(detail));
                    }
                    if attempt == UNREACHABLE_RETRIES {
                        return Err(InvokeError::Unreachable { app_id: id.to_owned(), detail });
                    }
                    attempt += 1;
                    tracing::debug!(app_id = %self.app_id, target = id, attempt, "Target sidecar unreachable, retrying");
                    actix_rt::time::sleep(UNREACHABLE_BACKOFF).await;
                }
                Err(ChannelError::Send { detail, .. }) => return Err(InvokeError::Hop(detail)),
                Err(other) => return Err(InvokeError::Hop(other.to_string())),
            }
        }
    }
}

/// daprd's verb mapping: the HTTP extension verbs pass, CONNECT is refused, the rest is POST.
pub fn map_verb(verb: &Method) -> Result<Method, InvokeError> {
    let upper = verb.as_str().to_ascii_uppercase();
    match upper.as_str() {
        "GET" => Ok(Method::GET),
        "HEAD" => Ok(Method::HEAD),
        "POST" => Ok(Method::POST),
        "PUT" => Ok(Method::PUT),
        "DELETE" => Ok(Method::DELETE),
        "OPTIONS" => Ok(Method::OPTIONS),
        "TRACE" => Ok(Method::TRACE),
        "PATCH" => Ok(Method::PATCH),
        "CONNECT" => Err(InvokeError::InvalidVerb(upper)),
        _ => Ok(Method::POST),
    }
}
