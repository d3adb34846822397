//! The sidecar client: one awc client plus the sidecar's address, token and time limit.
//!
//! `awc::Client` is built for one thread (actix runs one per worker), so [`DaprClient`] is cheap to
//! clone but not `Send`: create one per worker (inside the `HttpServer::new` closure) or per task
//! on the current thread.

use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::uri::{Authority, PathAndQuery, Scheme, Uri};
use actix_web::http::{Method, StatusCode};
use awc::error::SendRequestError;

use super::error::DaprError;
use super::headers::DAPR_API_TOKEN;
use super::SidecarConfig;

/// Largest answer read into memory from a sidecar API (state values, buffered invocations).
pub const MAX_BUFFERED_BODY: usize = 16 * 1024 * 1024;

/// How long an idle pooled connection to the sidecar is kept (below actix-web's and most
/// servers' 5 s keep-alive).
pub const IDLE_CONNECTION_LIFETIME: Duration = Duration::from_secs(4);

/// A client for one Dapr sidecar's HTTP API.
#[derive(Clone)]
pub struct DaprClient {
    http: awc::Client,
    cfg: Rc<SidecarConfig>,
    /// The endpoint, parsed once; `None` when it is not a plain `scheme://authority[/path]` URL,
    /// and every request then carries the URL as configured, for awc to report as invalid.
    base: Option<Rc<Base>>,
}

/// The sidecar's address as every request's URI and `Host` header are built from it: parsed
/// once rather than formatted and parsed again (and the `Host` header formatted by awc) on every
/// call, which is on the router's path for each forwarded request.
struct Base {
    scheme: Scheme,
    authority: Authority,
    host: HeaderValue,
    /// A path the endpoint carries before `/v1.0/...` (none for a sidecar's usual address).
    prefix: String,
}

impl Base {
    fn parse(endpoint: &str) -> Option<Self> {
        let uri: Uri = endpoint.parse().ok()?;
        let parts = uri.into_parts();
        let (scheme, authority) = (parts.scheme?, parts.authority?);
        // Credentials in the URL are not part of `Host`: left to awc, which drops them.
        if authority.as_str().contains('@') {
            return None;
        }
        let prefix = match parts.path_and_query {
            Some(pq) if pq.query().is_some() => return None,
            Some(pq) => pq.path().trim_end_matches('/').to_owned(),
            None => String::new(),
        };
        let host = HeaderValue::from_str(authority.as_str()).ok()?;
        Some(Self { scheme, authority, host, prefix })
    }

    /// `path` (starting with `/`) on the sidecar; `None` when it is not a valid request target.
    fn uri(&self, path: &str) -> Option<Uri> {
        let path = match self.prefix.is_empty() {
            true => PathAndQuery::try_from(path).ok()?,
            false => PathAndQuery::try_from(format!("{}{path}", self.prefix)).ok()?,
        };
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path)
            .build()
            .ok()
    }
}

impl DaprClient {
    /// A client for the sidecar described by `cfg`.
    pub fn new(cfg: SidecarConfig) -> Self {
        // Pool without a per-host cap: everything goes to the one local sidecar, and a cap would
        // queue concurrent calls behind each other. Connect timeout bounds a dead sidecar.
        // Idle connections are dropped after 4 s, before a server's usual 5 s keep-alive closes
        // them: reusing one at the moment the server closes it fails the call ("connector has
        // been disconnected"), which a caller on a 5 s rhythm (the registry's polls) hits often.
        // TCP_NODELAY, as daprd's own connections: see crate::http.
        let connector = crate::http::connector()
            .limit(0)
            .timeout(Duration::from_secs(2))
            .conn_keep_alive(IDLE_CONNECTION_LIFETIME);
        let http =
            awc::Client::builder().connector(connector).disable_redirects().timeout(cfg.timeout).finish();
        let base = Base::parse(&cfg.endpoint).map(Rc::new);
        Self { http, cfg: Rc::new(cfg), base }
    }

    /// A client configured from `DAPR_HTTP_ENDPOINT`/`DAPR_HTTP_PORT`/`DAPR_API_TOKEN`.
    pub fn from_env() -> Self {
        Self::new(SidecarConfig::from_env())
    }

    /// The same client (sharing its connection pool) with another per-call time limit: for
    /// calls whose patience differs from the default, e.g. a short status poll or a slow identify.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        let cfg = SidecarConfig { timeout, ..(*self.cfg).clone() };
        Self { http: self.http.clone(), cfg: Rc::new(cfg), base: self.base.clone() }
    }

    /// The configuration in use.
    pub fn config(&self) -> &SidecarConfig {
        &self.cfg
    }

    /// The underlying HTTP client, for callers that build their own requests.
    pub fn http(&self) -> &awc::Client {
        &self.http
    }

    /// A request to `path` (starting with `/v1.0/...`) on the sidecar, carrying the API token and
    /// the configured time limit.
    pub fn request(&self, method: Method, path: &str) -> awc::ClientRequest {
        let built = self.base.as_deref().and_then(|base| Some((base.uri(path)?, base.host.clone())));
        let mut req = match built {
            Some((uri, host)) => self.http.request(method, uri).insert_header((header::HOST, host)),
            // Not a URL this client could build on: awc reports it when the request is sent.
            None => self.http.request(method, format!("{}{}", self.cfg.endpoint, path)),
        }
        .timeout(self.cfg.timeout);
        if let Some(token) = &self.cfg.api_token {
            req = req.insert_header((DAPR_API_TOKEN, token.as_str()));
        }
        req
    }

    /// Maps a send failure to a [`DaprError`] with context.
    pub fn send_error(&self, what: impl Into<String>, err: SendRequestError, after: Duration) -> DaprError {
        let what = what.into();
        match err {
            SendRequestError::Timeout => DaprError::Timeout { what, after },
            other => {
                DaprError::Connect { what, endpoint: self.cfg.endpoint.clone(), reason: other.to_string() }
            }
        }
    }

    /// Sends `req` with an optional body and reads the whole answer (bounded by
    /// [`MAX_BUFFERED_BODY`] and the time limit). Transport failures become errors; any HTTP
    /// status is returned to the caller to interpret.
    pub async fn send_buffered(
        &self,
        what: &str,
        req: awc::ClientRequest,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, actix_web::http::header::HeaderMap, bytes::Bytes), DaprError> {
        let started = Instant::now();
        let sent = match body {
            Some(b) => req.send_body(b).await,
            None => req.send().await,
        };
        let mut res = sent.map_err(|e| self.send_error(what, e, started.elapsed()))?;
        let status = res.status();
        let headers = res.headers().clone();
        let left = self.cfg.timeout.saturating_sub(started.elapsed());
        let body = match tokio::time::timeout(left, res.body().limit(MAX_BUFFERED_BODY)).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => return Err(DaprError::Decode { what: what.to_owned(), reason: e.to_string() }),
            Err(_) => return Err(DaprError::Timeout { what: what.to_owned(), after: started.elapsed() }),
        };
        Ok((status, headers, body))
    }

    /// One probe of `GET /v1.0/healthz/outbound`: whether the sidecar can serve this app's calls
    /// now (its state and invocation APIs), answered within `limit`.
    pub async fn is_healthy(&self, limit: Duration) -> bool {
        let req = self.request(Method::GET, "/v1.0/healthz/outbound").timeout(limit);
        matches!(req.send().await, Ok(res) if res.status().is_success())
    }

    /// Waits until the sidecar answers `GET /v1.0/healthz/outbound` with 2xx (what the SDKs'
    /// wait-for-sidecar does: it is ready before the app's own port is), polling every 100 ms.
    pub async fn wait_for_sidecar(&self, limit: Duration) -> Result<(), DaprError> {
        let started = Instant::now();
        loop {
            let req = self.request(Method::GET, "/v1.0/healthz/outbound").timeout(Duration::from_millis(500));
            if let Ok(res) = req.send().await {
                if res.status().is_success() {
                    return Ok(());
                }
            }
            if started.elapsed() >= limit {
                return Err(DaprError::Timeout {
                    what: format!("waiting for the Dapr sidecar at {}", self.cfg.endpoint),
                    after: started.elapsed(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn with_timeout_changes_only_the_time_limit() {
        let base =
            DaprClient::new(SidecarConfig::from_lookup(|k| (k == "DAPR_HTTP_PORT").then(|| "3999".into())));
        let quick = base.with_timeout(Duration::from_millis(250));
        assert_eq!(quick.config().timeout, Duration::from_millis(250));
        assert_eq!(quick.config().endpoint, base.config().endpoint);
        assert_eq!(base.config().timeout, super::super::config::DEFAULT_TIMEOUT);
    }

    fn client(endpoint: &str) -> DaprClient {
        DaprClient::new(SidecarConfig { endpoint: endpoint.into(), ..Default::default() })
    }

    #[actix_rt::test]
    async fn requests_are_built_on_the_endpoint_with_its_host() {
        let req = client("http://127.0.0.1:3999")
            .request(Method::POST, "/v1.0/invoke/echo/method/a/b%20c?x=1&y=%2F");
        assert_eq!(
            req.get_uri().to_string(),
            "http://127.0.0.1:3999/v1.0/invoke/echo/method/a/b%20c?x=1&y=%2F"
        );
        assert_eq!(req.headers().get(header::HOST).unwrap(), "127.0.0.1:3999");
        // An endpoint with a path of its own (a sidecar behind a prefix) keeps it.
        let req = client("http://side:4000/dapr/").request(Method::GET, "/v1.0/state/s/k");
        assert_eq!(req.get_uri().to_string(), "http://side:4000/dapr/v1.0/state/s/k");
        assert_eq!(req.headers().get(header::HOST).unwrap(), "side:4000");
        let req = client("http://u:p@side:4000").request(Method::GET, "/v1.0/state/s/k");
        assert!(req.headers().get(header::HOST).is_none(), "awc sets Host without the credentials");
    }

    #[actix_rt::test]
    async fn an_endpoint_that_is_no_url_fails_when_sent_not_when_built() {
        let dapr = client("not a url");
        let err = dapr.request(Method::GET, "/v1.0/healthz/outbound").send().await.unwrap_err();
        assert!(matches!(err, SendRequestError::Http(_)), "{err:?}");
        // A path that is no request target, on a good endpoint: the same.
        let err = client("http://127.0.0.1:3999").request(Method::GET, "/a b").send().await.unwrap_err();
        assert!(matches!(err, SendRequestError::Http(_)), "{err:?}");
    }
}
