//! The calls `plugin check` makes: through the local Dapr sidecar by service invocation (an
//! app-id), or straight to the app (a URL), each with its own time limit covering the whole
//! answer, body included.

use std::time::{Duration, Instant};

use awc::http::Method;
use bytes::Bytes;
use keel_sdk::dapr::invoke::sidecar_invoke_error;
use keel_sdk::dapr::{invoke_path, SidecarConfig};

/// Largest answer read (echo sends a large body back, with its headers).
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// What is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An app-id, reached through the local sidecar.
    AppId(String),
    /// The app's own URL (`http://host:port`), reached directly.
    Url(String),
}

/// An answer, read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `content-type`, when there was one.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
    /// How long it took, from sending to the last byte.
    pub elapsed: Duration,
}

/// Why there is no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Nothing within the limit.
    Timeout(Duration),
    /// The connection failed (refused, reset, closed early).
    Unreachable(String),
    /// The sidecar could not invoke the app (daprd's `ERR_DIRECT_INVOKE`), with its status: 403
    /// when the callee's access policy denied the call.
    Sidecar { status: u16, message: String },
}

/// Makes the calls of one check run.
pub struct Probe {
    http: awc::Client,
    target: Target,
    /// `http://127.0.0.1:3500` (the sidecar) or the app's URL.
    base: String,
    /// Sent as `dapr-api-token`: the sidecar's API token, or the app's, as its sidecar would.
    token: Option<String>,
}

// === impl CallError ===

impl CallError {
    /// What went wrong, for a finding's message.
    pub fn describe(&self) -> String {
        match self {
            Self::Timeout(limit) => format!("no answer within {} ms", limit.as_millis()),
            Self::Unreachable(reason) => format!("the connection failed ({reason})"),
            Self::Sidecar { status: 403, message } => {
                format!("the plugin's sidecar denied the call (HTTP 403: {message})")
            }
            Self::Sidecar { message, .. } => format!("the sidecar could not invoke the app ({message})"),
        }
    }
}

// === impl Probe ===

impl Probe {
    /// A probe for `target`: an app-id through the sidecar named by `DAPR_HTTP_ENDPOINT` or
    /// `DAPR_HTTP_PORT` (with `DAPR_API_TOKEN`), a URL directly (with `app_token`).
    pub fn new(target: &Target, app_token: Option<String>) -> Self {
        let http = awc::Client::builder().disable_redirects().timeout(Duration::from_secs(3_600)).finish();
        let (base, token) = match target {
            Target::AppId(_) => {
                let sidecar = SidecarConfig::from_env();
                (sidecar.endpoint, sidecar.api_token)
            }
            Target::Url(url) => (url.clone(), app_token.filter(|t| !t.is_empty())),
        };
        Self { http, target: target.clone(), base, token }
    }

    /// The target as given.
    pub fn target(&self) -> &str {
        match &self.target {
            Target::AppId(id) | Target::Url(id) => id,
        }
    }

    /// True when the plugin is reached through a sidecar.
    pub fn via_sidecar(&self) -> bool {
        matches!(self.target, Target::AppId(_))
    }

    /// How the plugin is reached, for the report.
    pub fn via(&self) -> String {
        match &self.target {
            Target::AppId(id) => {
                format!("service invocation of {id} through the sidecar at {} (DAPR_HTTP_PORT)", self.base)
            }
            Target::Url(url) => format!("directly at {url}"),
        }
    }

    /// `method path` (relative, e.g. `v1/identify`) with an optional JSON body, within `limit`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        limit: Duration,
    ) -> Result<Answer, CallError> {
        let url = match &self.target {
            Target::AppId(id) => format!("{}{}", self.base, invoke_path(id, path)),
            Target::Url(base) => format!("{base}/{path}"),
        };
        let mut req = self.http.request(method, &url);
        if let Some(token) = &self.token {
            req = req.insert_header(("dapr-api-token", token.as_str()));
        }
        let started = Instant::now();
        let exchange = async {
            let sent = match body {
                Some(b) => req.content_type("application/json").send_body(b).await,
                None => req.send().await,
            };
            let mut res = sent.map_err(|e| CallError::Unreachable(e.to_string()))?;
            let status = res.status();
            let content_type = res
                .headers()
                .get(awc::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body =
                res.body().limit(MAX_ANSWER).await.map_err(|e| CallError::Unreachable(e.to_string()))?;
            if self.via_sidecar() {
                if let Some(e) = sidecar_invoke_error(status, &body) {
                    return Err(CallError::Sidecar { status: status.as_u16(), message: e.message });
                }
            }
            Ok(Answer { status: status.as_u16(), content_type, body, elapsed: started.elapsed() })
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(result) => result,
            Err(_) => Err(CallError::Timeout(limit)),
        }
    }
}
