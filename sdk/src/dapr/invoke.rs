//! Service invocation: `/v1.0/invoke/<app-id>/method/<path>` through the sidecar, either streamed
//! (the router) or buffered into a typed answer (protocol calls).

use std::time::Instant;

use actix_web::http::{header, Method, StatusCode};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::DaprError;
use super::{DaprClient, DaprErrorBody};
use crate::service::snippet;

/// The sidecar path that invokes `method_path` (relative, may carry `?query`) on `app_id`.
pub fn invoke_path(app_id: &str, method_path: &str) -> String {
    // Pushed, not `format!`ted: built for every forwarded request.
    let (head, tail) = ("/v1.0/invoke/", "/method/");
    let method_path = method_path.trim_start_matches('/');
    let mut path = String::with_capacity(head.len() + app_id.len() + tail.len() + method_path.len());
    for part in [head, app_id, tail, method_path] {
        path.push_str(part);
    }
    path
}

/// The app-id segment that addresses a non-Dapr endpoint by URL (Dapr's service invocation of
/// non-Dapr endpoints, `/v1.0/invoke/<url>/method/...`): the URL percent-encoded whole, one of the
/// forms daprd documents (`http%3A%2F%2Fhost%3A8010`), so no `/` in it can be mistaken for a
/// path separator on the way.
pub fn endpoint_id(base_url: &str) -> String {
    percent_encoding::utf8_percent_encode(base_url, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// An app's answer, read whole.
#[derive(Debug, Clone)]
pub struct Invoked {
    /// What the app (or, for invocation failures, the sidecar) answered.
    pub status: StatusCode,
    /// The answer's headers.
    pub headers: header::HeaderMap,
    /// The answer's body.
    pub body: Bytes,
    /// What was called, for error messages.
    pub what: String,
}

impl Invoked {
    /// Decodes the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, DaprError> {
        serde_json::from_slice(&self.body).map_err(|e| DaprError::Decode {
            what: self.what.clone(),
            reason: format!("{e} in {}", snippet(&self.body)),
        })
    }
}

/// True when a 5xx answer is the sidecar's own invocation error rather than the app's answer:
/// daprd reports unknown or unreachable apps as 500 with `errorCode: ERR_DIRECT_INVOKE`.
pub fn sidecar_invoke_error(status: StatusCode, body: &[u8]) -> Option<DaprErrorBody> {
    if !(status.is_server_error() || status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN) {
        return None;
    }
    serde_json::from_slice::<DaprErrorBody>(body).ok().filter(|e| e.error_code == "ERR_DIRECT_INVOKE")
}

impl DaprClient {
    /// A streaming invocation request; the caller adds headers and sends a body or stream with
    /// awc (`send_stream`). Carries the token and the configured time limit for the answer's head.
    pub fn invoke_request(&self, method: Method, app_id: &str, method_path: &str) -> awc::ClientRequest {
        self.request(method, &invoke_path(app_id, method_path))
    }

    /// Invokes `method_path` on `app_id` with an optional JSON body and reads the whole answer.
    /// Sidecar failures (unknown app, unreachable app, timeout) are errors; every answer of the
    /// app itself, whatever its status, is `Ok`.
    pub async fn invoke<B: Serialize + ?Sized>(
        &self,
        method: Method,
        app_id: &str,
        method_path: &str,
        body: Option<&B>,
    ) -> Result<Invoked, DaprError> {
        let what = format!("{method} {method_path} on {app_id}");
        let mut req = self.invoke_request(method, app_id, method_path);
        let payload = match body {
            Some(b) => {
                req = req.insert_header((header::CONTENT_TYPE, "application/json"));
                Some(
                    serde_json::to_vec(b)
                        .map_err(|e| DaprError::Decode { what: what.clone(), reason: e.to_string() })?,
                )
            }
            None => None,
        };
        let started = Instant::now();
        let (status, headers, body) = self.send_buffered(&what, req, payload).await?;
        if let Some(e) = sidecar_invoke_error(status, &body) {
            return Err(DaprError::Api {
                what,
                status: status.as_u16(),
                code: e.error_code,
                message: e.message,
            });
        }
        tracing::trace!(%what, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "invoked");
        Ok(Invoked { status, headers, body, what })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_ids_are_the_url_percent_encoded() {
        assert_eq!(endpoint_id("http://localhost:8010"), "http%3A%2F%2Flocalhost%3A8010");
    }

    #[test]
    fn invoke_paths_are_relative_to_the_method_prefix() {
        assert_eq!(invoke_path("echo", "v1/identify"), "/v1.0/invoke/echo/method/v1/identify");
        assert_eq!(invoke_path("keel", "/echo/x?a=1"), "/v1.0/invoke/keel/method/echo/x?a=1");
    }

    #[test]
    fn only_dapr_invoke_errors_count_as_sidecar_failures() {
        let dapr = br#"{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: x, err: no host"}"#;
        assert!(sidecar_invoke_error(StatusCode::INTERNAL_SERVER_ERROR, dapr).is_some());
        assert!(sidecar_invoke_error(StatusCode::OK, dapr).is_none());
        assert!(sidecar_invoke_error(StatusCode::INTERNAL_SERVER_ERROR, br#"{"ret":-1}"#).is_none());
    }
}
