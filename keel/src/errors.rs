//! Keel's own refusals (`platform.md` §5): one enum, one place that maps each case to its HTTP
//! status, one JSON shape on the wire. Every refusal carries `x-keel-error: 1` so a caller can
//! tell it from the plugin's own answer; answers that come back from a plugin never pass here.

use std::time::Duration;

use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use keel_sdk::protocol::{IdError, PluginStatus};

/// `x-keel-error: 1` marks an answer keel built itself.
pub const KEEL_ERROR: HeaderName = HeaderName::from_static("x-keel-error");

/// Why keel refused or failed a request. Grouped by who is at fault: the caller (4xx), the
/// plugin or the sidecar (502/503/504), keel itself (500).
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    // === the caller ===
    /// The path is not `/<plugin_id>/<endpoint...>` (or `/addons/<point>`, `/apis/...`).
    #[error("malformed path {path:?}: {reason}")]
    BadPath { path: String, reason: &'static str },
    /// The plugin id in the path is not a valid id.
    #[error("bad plugin id in the path: {0}")]
    BadId(#[source] IdError),
    /// The request carries no caller identity (`dapr-caller-app-id`): it did not come through a
    /// sidecar.
    #[error("no caller identity: keel accepts calls only through a Dapr sidecar (dapr-caller-app-id)")]
    NoCaller,
    /// The app API token is missing or wrong.
    #[error("missing or wrong dapr-api-token: only keel's sidecar may call keel's app port")]
    AppToken,
    /// The public port has no way to verify tokens, or the token did not verify.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is not a registered plugin (nor a core service).
    #[error("caller {caller:?} is not a registered plugin")]
    UnregisteredCaller { caller: String },
    /// The caller may not use this route (e.g. keel's control API).
    #[error("{0}")]
    Forbidden(String),
    /// No plugin with this id is registered.
    #[error("plugin {plugin:?} is not registered")]
    UnknownPlugin { plugin: String },
    /// The caller declared no addon point of this name.
    #[error("plugin {caller:?} declares no addon point {point:?}")]
    UnknownPoint { caller: String, point: String },
    /// The point is declared but no plugin implements it.
    #[error("no plugin implements addon point {point:?} of {caller:?}")]
    NoImplementer { caller: String, point: String },
    /// A path under keel's own `/v1/...` API that does not exist.
    #[error("keel serves no {path:?}: /v1/... is keel's own API (identify, status, routes)")]
    NoSuchApi { path: String },
    /// The method is not allowed on one of keel's own endpoints.
    #[error("{method} is not allowed on {path:?}")]
    MethodNotAllowed { method: String, path: String },
    /// The request body is larger than the configured limit.
    #[error("request body to {plugin:?} is larger than the limit of {limit} bytes")]
    BodyTooLarge { plugin: String, limit: u64 },
    /// The request body could not be read from the caller.
    #[error("request body to {plugin:?} could not be read: {reason}")]
    BadBody { plugin: String, reason: String },
    /// The external pre-route check (keel's addon point) refused the request.
    #[error("the external pre-route check refused the request: {reason}")]
    Denied { reason: String },
    /// A control-plane document (the pushed route table) does not parse.
    #[error("malformed {what}: {reason}")]
    BadDocument { what: &'static str, reason: String },

    // === the plugin or the sidecar ===
    /// The target is registered but not `ACTIVE`.
    #[error("plugin {plugin:?} is {status}, not ACTIVE")]
    NotActive { plugin: String, status: PluginStatus, retry_after: Duration },
    /// Keel has no route table yet (starting up, store not readable).
    #[error("keel is starting: the route table is not loaded yet")]
    NotReady { retry_after: Duration },
    /// The plugin (or keel's sidecar) could not be reached. `detail` is logged, not sent: it may
    /// name internal addresses.
    #[error("plugin {plugin:?} is unreachable")]
    Unreachable { plugin: String, detail: String },
    /// The external pre-route check could not be asked, so the request is refused (fail closed).
    /// `detail` is logged, not sent.
    #[error("the external pre-route check ({plugin}) did not answer, so the request is refused")]
    CheckUnavailable { plugin: String, detail: String, retry_after: Duration },
    /// No answer from the plugin within its time limit.
    #[error("plugin {plugin:?} did not answer within {after:?}")]
    Timeout { plugin: String, after: Duration },

    // === keel itself ===
    /// A bug or an impossible state; the detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

/// The JSON body of a refusal: the protocol envelope plus what a program needs to react.
#[derive(Serialize)]
struct Body<'a> {
    ret: i32,
    msg: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<PluginStatus>,
}

// === impl RouteError ===

impl RouteError {
    /// A stable machine-readable name for the case (also the metrics label).
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadPath { .. } => "ERR_BAD_PATH",
            Self::BadId(_) => "ERR_BAD_PLUGIN_ID",
            Self::NoCaller => "ERR_NO_CALLER",
            Self::AppToken => "ERR_APP_TOKEN",
            Self::Unauthenticated(_) => "ERR_UNAUTHENTICATED",
            Self::UnregisteredCaller { .. } => "ERR_UNREGISTERED_CALLER",
            Self::Forbidden(_) => "ERR_FORBIDDEN",
            Self::Denied { .. } => "ERR_PRE_ROUTE_DENIED",
            Self::UnknownPlugin { .. } => "ERR_UNKNOWN_PLUGIN",
            Self::UnknownPoint { .. } => "ERR_UNKNOWN_POINT",
            Self::NoImplementer { .. } => "ERR_NO_IMPLEMENTER",
            Self::NoSuchApi { .. } => "ERR_NO_SUCH_API",
            Self::MethodNotAllowed { .. } => "ERR_METHOD_NOT_ALLOWED",
            Self::BodyTooLarge { .. } => "ERR_BODY_TOO_LARGE",
            Self::BadBody { .. } => "ERR_BAD_BODY",
            Self::BadDocument { .. } => "ERR_BAD_DOCUMENT",
            Self::NotActive { .. } => "ERR_PLUGIN_NOT_ACTIVE",
            Self::NotReady { .. } => "ERR_NOT_READY",
            Self::CheckUnavailable { .. } => "ERR_PRE_ROUTE_UNAVAILABLE",
            Self::Unreachable { .. } => "ERR_PLUGIN_UNREACHABLE",
            Self::Timeout { .. } => "ERR_PLUGIN_TIMEOUT",
            Self::Internal(_) => "ERR_INTERNAL",
        }
    }

    /// The plugin the refusal is about, when there is one.
    fn plugin(&self) -> Option<&str> {
        match self {
            Self::UnknownPlugin { plugin }
            | Self::BodyTooLarge { plugin, .. }
            | Self::BadBody { plugin, .. }
            | Self::NotActive { plugin, .. }
            | Self::Unreachable { plugin, .. }
            | Self::Timeout { plugin, .. } => Some(plugin),
            _ => None,
        }
    }

    /// What the log line gets beyond the message: causes that are not sent to the caller.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Unreachable { detail, .. }
            | Self::CheckUnavailable { detail, .. }
            | Self::Internal(detail) => Some(detail),
            _ => None,
        }
    }
}

impl ResponseError for RouteError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadPath { .. } | Self::BadId(_) | Self::BadBody { .. } | Self::BadDocument { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::NoCaller | Self::AppToken | Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::UnregisteredCaller { .. } | Self::Forbidden(_) | Self::Denied { .. } => {
                StatusCode::FORBIDDEN
            }
            Self::UnknownPlugin { .. }
            | Self::UnknownPoint { .. }
            | Self::NoImplementer { .. }
            | Self::NoSuchApi { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotActive { .. } | Self::NotReady { .. } | Self::CheckUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Unreachable { .. } => StatusCode::BAD_GATEWAY,
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut res = HttpResponse::build(status);
        res.insert_header((KEEL_ERROR, HeaderValue::from_static("1")));
        if let Self::NotActive { retry_after, .. }
        | Self::NotReady { retry_after }
        | Self::CheckUnavailable { retry_after, .. } = self
        {
            res.insert_header((RETRY_AFTER, retry_after.as_secs().max(1)));
        }
        res.json(Body {
            ret: -i32::from(status.as_u16()),
            msg: self.to_string(),
            code: self.code(),
            plugin: self.plugin(),
            status: match self {
                Self::NotActive { status, .. } => Some(*status),
                _ => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn wire(e: RouteError) -> (StatusCode, actix_web::http::header::HeaderMap, serde_json::Value) {
        let res = e.error_response();
        let (status, headers) = (res.status(), res.headers().clone());
        let body = to_bytes(res.into_body()).await.unwrap();
        (status, headers, serde_json::from_slice(&body).unwrap())
    }

    #[actix_web::test]
    async fn refusals_are_tagged_envelopes_with_negative_ret() {
        let (status, headers, body) = wire(RouteError::UnknownPlugin { plugin: "nope".into() }).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers.get(KEEL_ERROR).unwrap(), "1");
        assert_eq!(body["ret"], -404);
        assert_eq!(body["code"], "ERR_UNKNOWN_PLUGIN");
        assert_eq!(body["plugin"], "nope");
        assert!(body["msg"].as_str().unwrap().contains("\"nope\""));
    }

    #[actix_web::test]
    async fn not_active_is_503_with_status_and_retry_after() {
        let e = RouteError::NotActive {
            plugin: "echo".into(),
            status: PluginStatus::Failed,
            retry_after: Duration::from_secs(5),
        };
        let (status, headers, body) = wire(e).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers.get(RETRY_AFTER).unwrap(), "5");
        assert_eq!(body["status"], "FAILED");
        let (_, headers, _) = wire(RouteError::NotReady { retry_after: Duration::ZERO }).await;
        assert_eq!(headers.get(RETRY_AFTER).unwrap(), "1");
    }

    #[actix_web::test]
    async fn gateway_failures_map_to_502_and_504_without_internal_detail() {
        let e = RouteError::Unreachable { plugin: "echo".into(), detail: "dial tcp 10.0.0.7:3001".into() };
        let (status, _, body) = wire(e).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(!body["msg"].as_str().unwrap().contains("10.0.0.7"));
        let e = RouteError::Timeout { plugin: "echo".into(), after: Duration::from_millis(500) };
        assert_eq!(wire(e).await.0, StatusCode::GATEWAY_TIMEOUT);
        let (status, _, body) = wire(RouteError::Internal("boom at line 3".into())).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["msg"], "internal error");
    }

    #[test]
    fn every_status_of_the_platform_table_is_reachable() {
        let cases: Vec<(RouteError, u16)> = vec![
            (RouteError::BadPath { path: "/".into(), reason: "empty" }, 400),
            (RouteError::AppToken, 401),
            (RouteError::UnregisteredCaller { caller: "x".into() }, 403),
            (RouteError::UnknownPoint { caller: "x".into(), point: "p".into() }, 404),
            (RouteError::BodyTooLarge { plugin: "x".into(), limit: 1 }, 413),
        ];
        for (e, code) in cases {
            assert_eq!(e.status_code().as_u16(), code, "{e}");
        }
    }
}
