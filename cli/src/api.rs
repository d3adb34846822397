//! Requests to keel's public port, with the stored bearer token, and the platform's error
//! envelopes turned into [`CliError`]s that quote the platform's message.

use std::time::Duration;

use awc::http::{Method, StatusCode};
use serde_json::Value;

use crate::error::CliError;

/// A client for one keel URL.
pub struct Api {
    http: awc::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    /// A client for `base` (keel's public URL) with an optional bearer token.
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Self {
        let http = awc::Client::builder().timeout(timeout).disable_redirects().finish();
        Self { http, base: base.trim_end_matches('/').to_owned(), token }
    }

    /// The URL of `path` on plugin `plugin` through the public port (`/apis/<plugin>/<path>`).
    pub fn url(&self, plugin: &str, path: &str) -> String {
        format!("{}/apis/{plugin}/{}", self.base, path.trim_start_matches('/'))
    }

    fn request(&self, method: Method, url: &str) -> awc::ClientRequest {
        let req = self.http.request(method, url);
        match &self.token {
            Some(t) => req.insert_header(("authorization", format!("Bearer {t}"))),
            None => req,
        }
    }

    /// Sends a JSON request (or none) and returns the JSON answer; non-2xx answers are errors.
    pub async fn call(
        &self,
        method: Method,
        plugin: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        let url = self.url(plugin, path);
        let what = format!("{method} {}", url);
        let req = self.request(method, &url);
        let sent = match body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        };
        self.read(what, sent).await
    }

    /// Sends a form (OAuth token requests) and returns the JSON answer.
    pub async fn form(&self, plugin: &str, path: &str, form: &[(&str, &str)]) -> Result<Value, CliError> {
        let url = self.url(plugin, path);
        let what = format!("POST {url}");
        let sent = self.request(Method::POST, &url).send_form(&form).await;
        self.read(what, sent).await
    }

    async fn read<S>(
        &self,
        what: String,
        sent: Result<awc::ClientResponse<S>, awc::error::SendRequestError>,
    ) -> Result<Value, CliError>
    where
        S: futures_util::Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>> + Unpin,
    {
        let mut res =
            sent.map_err(|e| CliError::Unreachable { url: self.base.clone(), reason: e.to_string() })?;
        let status = res.status();
        let body = res
            .body()
            .limit(64 * 1024 * 1024)
            .await
            .map_err(|e| CliError::Unreachable { url: self.base.clone(), reason: e.to_string() })?;
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if status.is_success() {
            return Ok(json.unwrap_or(Value::Null));
        }
        Err(CliError::Api { what, status: status.as_u16(), msg: error_message(status, json.as_ref(), &body) })
    }
}

/// The most useful message in an error answer: the envelope's `msg`, an OAuth error's
/// description, or the raw text.
fn error_message(status: StatusCode, json: Option<&Value>, body: &[u8]) -> String {
    let field = |k: &str| json.and_then(|j| j.get(k)).and_then(Value::as_str).map(str::to_owned);
    field("msg")
        .or_else(|| field("error_description"))
        .or_else(|| field("error"))
        .or_else(|| field("message"))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_owned();
            if text.is_empty() {
                status.canonical_reason().unwrap_or("error").to_owned()
            } else {
                text
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_messages_prefer_the_envelope_then_oauth_then_text() {
        let s = StatusCode::BAD_REQUEST;
        assert_eq!(
            error_message(s, Some(&json!({"ret": -1, "msg": "no such plugin"})), b""),
            "no such plugin"
        );
        assert_eq!(
            error_message(s, Some(&json!({"error": "invalid_grant", "error_description": "bad login"})), b""),
            "bad login"
        );
        assert_eq!(error_message(s, None, b"plain failure\n"), "plain failure");
        assert_eq!(error_message(s, None, b""), "Bad Request");
    }
}
