//! Every error the HTTP API answers with, in daprd's exact shapes:
//! - legacy `APIError`: `{"errorCode":"<TAG>","message":"<msg>"}` (no trailing newline);
//! - rich kit errors: the same plus `"details":[...]` of `google.rpc.*` entries;
//! - Go's `http.Error`: a text/plain body ending in `\n` (bad token, bad path escape).
//!
//! One enum, one place that maps it to a response.

use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use keel_sdk::dapr::DaprErrorBody;
use serde_json::{json, Value};
use std::fmt;

/// daprd's error codes used by the stand-in.
pub mod codes {
    /// Service invocation failures.
    pub const DIRECT_INVOKE: &str = "ERR_DIRECT_INVOKE";
    /// `/v1.0/healthz` before init completes.
    pub const HEALTH_NOT_READY: &str = "ERR_HEALTH_NOT_READY";
    /// `/v1.0/healthz?appid=` with another app-id.
    pub const HEALTH_APPID_NOT_MATCH: &str = "ERR_HEALTH_APPID_NOT_MATCH";
    /// A body or key the API cannot accept.
    pub const MALFORMED_REQUEST: &str = "ERR_MALFORMED_REQUEST";
    /// No state store at all.
    pub const STATE_STORE_NOT_CONFIGURED: &str = "ERR_STATE_STORE_NOT_CONFIGURED";
    /// No state store of that name.
    pub const STATE_STORE_NOT_FOUND: &str = "ERR_STATE_STORE_NOT_FOUND";
    /// The store lacks the feature (querying).
    pub const STATE_STORE_NOT_SUPPORTED: &str = "ERR_STATE_STORE_NOT_SUPPORTED";
    /// Save failed.
    pub const STATE_SAVE: &str = "ERR_STATE_SAVE";
    /// Get failed.
    pub const STATE_GET: &str = "ERR_STATE_GET";
    /// Delete failed.
    pub const STATE_DELETE: &str = "ERR_STATE_DELETE";
    /// Bulk get failed.
    pub const STATE_BULK_GET: &str = "ERR_STATE_BULK_GET";
    /// Transaction failed.
    pub const STATE_TRANSACTION: &str = "ERR_STATE_TRANSACTION";
    /// Unknown transaction operation.
    pub const NOT_SUPPORTED_STATE_OPERATION: &str = "ERR_NOT_SUPPORTED_STATE_OPERATION";
    /// Metadata update failed.
    pub const METADATA_SET: &str = "ERR_METADATA_SET";
    /// No secret store at all.
    pub const SECRET_STORES_NOT_CONFIGURED: &str = "ERR_SECRET_STORES_NOT_CONFIGURED";
    /// No secret store of that name.
    pub const SECRET_STORE_NOT_FOUND: &str = "ERR_SECRET_STORE_NOT_FOUND";
    /// The Configuration's secret scopes refuse the key.
    pub const PERMISSION_DENIED: &str = "ERR_PERMISSION_DENIED";
    /// The store failed to give the secret(s).
    pub const SECRET_GET: &str = "ERR_SECRET_GET";
    /// The request body could not be read.
    pub const BODY_READ: &str = "ERR_BODY_READ";
}

/// An API error response.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// `{"errorCode","message"}`.
    Legacy {
        /// HTTP status.
        status: StatusCode,
        /// daprd's tag.
        code: &'static str,
        /// The message.
        message: String,
    },
    /// `{"errorCode","message","details"}`.
    Rich {
        /// HTTP status.
        status: StatusCode,
        /// daprd's tag.
        code: &'static str,
        /// The message.
        message: String,
        /// `google.rpc.*` detail objects.
        details: Vec<Value>,
    },
    /// Go's `http.Error(w, text, status)`.
    Text {
        /// HTTP status.
        status: StatusCode,
        /// The text, without the trailing newline Go adds.
        text: String,
    },
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Legacy { code, message, .. } | ApiError::Rich { code, message, .. } => {
                write!(f, "{code}: {message}")
            }
            ApiError::Text { text, .. } => f.write_str(text),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Legacy { status, .. }
            | ApiError::Rich { status, .. }
            | ApiError::Text { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Legacy { status, code, message } => {
                json_response(*status, &DaprErrorBody::new(*code, message.clone()))
            }
            ApiError::Rich { status, code, message, details } => {
                let mut body = DaprErrorBody::new(*code, message.clone());
                body.details = details.clone();
                json_response(*status, &body)
            }
            ApiError::Text { status, text } => HttpResponse::build(*status)
                .insert_header((CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")))
                .insert_header(("x-content-type-options", "nosniff"))
                .body(format!("{text}\n")),
        }
    }
}

fn json_response(status: StatusCode, body: &DaprErrorBody) -> HttpResponse {
    // respondWithData: no trailing newline on error bodies.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    HttpResponse::build(status).insert_header((CONTENT_TYPE, "application/json")).body(bytes)
}

/// `google.rpc.ErrorInfo` with `domain: dapr.io`; a `None` metadata map is JSON `null`.
pub fn error_info(reason: &str, metadata: Option<Value>) -> Value {
    json!({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "domain": "dapr.io",
        "metadata": metadata.unwrap_or(Value::Null),
        "reason": reason,
    })
}

/// `google.rpc.ResourceInfo`.
pub fn resource_info(resource_type: &str, name: &str) -> Value {
    json!({
        "@type": "type.googleapis.com/google.rpc.ResourceInfo",
        "description": "",
        "owner": "",
        "resource_name": name,
        "resource_type": resource_type,
    })
}

/// `google.rpc.BadRequest` with one field violation.
pub fn bad_request(field: &str, description: &str) -> Value {
    json!({
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "field_violations": [{"field": field, "description": description}],
    })
}

// === impl ApiError ===

impl ApiError {
    /// A legacy-shaped error.
    pub fn legacy(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Legacy { status, code, message: message.into() }
    }

    /// 404 `failed getting app id either from the URL path or the header dapr-app-id`.
    pub fn no_app_id() -> Self {
        Self::legacy(
            StatusCode::NOT_FOUND,
            codes::DIRECT_INVOKE,
            "failed getting app id either from the URL path or the header dapr-app-id",
        )
    }

    /// 500 `failed to invoke, id: <id>, err: <err>`.
    pub fn direct_invoke(app_id: &str, err: impl fmt::Display) -> Self {
        Self::legacy(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::DIRECT_INVOKE,
            format!("failed to invoke, id: {app_id}, err: {err}"),
        )
    }

    /// The same error with another status (daprd answers a callee's `PermissionDenied` with 403).
    pub fn with_status(mut self, new: StatusCode) -> Self {
        match &mut self {
            ApiError::Legacy { status, .. }
            | ApiError::Rich { status, .. }
            | ApiError::Text { status, .. } => *status = new,
        }
        self
    }

    /// 500 `ERR_SECRET_STORES_NOT_CONFIGURED` (no secret store at all).
    pub fn secret_stores_not_configured() -> Self {
        Self::legacy(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::SECRET_STORES_NOT_CONFIGURED,
            "secret store is not configured",
        )
    }

    /// 401 `ERR_SECRET_STORE_NOT_FOUND` (daprd's status for it is 401 Unauthorized).
    pub fn secret_store_not_found(store: &str) -> Self {
        Self::legacy(
            StatusCode::UNAUTHORIZED,
            codes::SECRET_STORE_NOT_FOUND,
            format!("failed finding secret store with key {store}"),
        )
    }

    /// 403 `ERR_PERMISSION_DENIED`: the Configuration's secret scopes refuse `key`.
    pub fn secret_permission_denied(key: &str, store: &str) -> Self {
        use crate::golang::quote::quote;
        Self::legacy(
            StatusCode::FORBIDDEN,
            codes::PERMISSION_DENIED,
            format!("access denied by policy to get {} from {}", quote(key), quote(store)),
        )
    }

    /// 500 `ERR_SECRET_GET` for one secret.
    pub fn secret_get(key: &str, store: &str, err: impl fmt::Display) -> Self {
        Self::legacy(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::SECRET_GET,
            format!("failed getting secret with key {key} from secret store {store}: {err}"),
        )
    }

    /// 500 `ERR_SECRET_GET` for the bulk API.
    pub fn bulk_secret_get(store: &str, err: impl fmt::Display) -> Self {
        Self::legacy(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::SECRET_GET,
            format!("failed getting secrets from secret store {store}: {err}"),
        )
    }

    /// 400 `ERR_BODY_READ` (`failed to read request body: <err>`).
    pub fn body_read(err: impl fmt::Display) -> Self {
        Self::legacy(StatusCode::BAD_REQUEST, codes::BODY_READ, format!("failed to read request body: {err}"))
    }

    /// 401 `invalid api token` (Go's `http.Error`).
    pub fn invalid_token() -> Self {
        ApiError::Text { status: StatusCode::UNAUTHORIZED, text: "invalid api token".into() }
    }

    /// 400 for a route parameter with a bad `%` escape.
    pub fn bad_param(name: &str, err: impl fmt::Display) -> Self {
        ApiError::Text {
            status: StatusCode::BAD_REQUEST,
            text: format!("failed to unescape request parameter {name:?}. Error: {err}"),
        }
    }

    /// 400 `ERR_MALFORMED_REQUEST` with `message` as it is.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::legacy(StatusCode::BAD_REQUEST, codes::MALFORMED_REQUEST, message)
    }

    /// 500 `ERR_STATE_STORE_NOT_CONFIGURED` (no state store at all).
    pub fn store_not_configured(store: &str, app_id: &str) -> Self {
        ApiError::Rich {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: codes::STATE_STORE_NOT_CONFIGURED,
            message: format!("state store {store} is not configured"),
            details: vec![error_info("DAPR_STATE_NOT_CONFIGURED", app_meta(app_id))],
        }
    }

    /// 400 `ERR_STATE_STORE_NOT_FOUND`.
    pub fn store_not_found(store: &str, app_id: &str) -> Self {
        ApiError::Rich {
            status: StatusCode::BAD_REQUEST,
            code: codes::STATE_STORE_NOT_FOUND,
            message: format!("state store {store} is not found"),
            details: vec![error_info("DAPR_STATE_NOT_FOUND", app_meta(app_id))],
        }
    }

    /// 400 `ERR_MALFORMED_REQUEST` for a key with `||` (daprd's double-wrapped message).
    pub fn illegal_key(store: &str, key_error: impl fmt::Display) -> Self {
        let inner = format!("api error: code = InvalidArgument desc = {key_error}");
        let field = key_error.to_string();
        let field = field
            .strip_prefix("input key/keyPrefix '")
            .and_then(|s| s.strip_suffix("' can't contain '||'"))
            .unwrap_or(&field)
            .to_owned();
        ApiError::Rich {
            status: StatusCode::BAD_REQUEST,
            code: codes::MALFORMED_REQUEST,
            message: inner.clone(),
            details: vec![
                bad_request(&field, &inner),
                resource_info("state", store),
                error_info("DAPR_STATE_ILLEGAL_KEY", None),
            ],
        }
    }

    /// 500 `ERR_STATE_STORE_NOT_SUPPORTED` on the query API.
    pub fn query_not_supported(store: &str) -> Self {
        ApiError::Rich {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: codes::STATE_STORE_NOT_SUPPORTED,
            message: "state store does not support querying".into(),
            details: vec![
                error_info("DAPR_STATE_QUERYING_NOT_SUPPORTED", None),
                resource_info("state", store),
            ],
        }
    }
}

/// `{"appID": id}`, or `null` for an empty id (the query endpoint passes "").
fn app_meta(app_id: &str) -> Option<Value> {
    (!app_id.is_empty()).then(|| json!({ "appID": app_id }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(e: &ApiError) -> (StatusCode, String, String) {
        let resp = e.error_response();
        let ct = resp.headers().get(CONTENT_TYPE).unwrap().to_str().unwrap().to_owned();
        let status = resp.status();
        let bytes = resp.into_body().try_into_bytes().unwrap();
        (status, ct, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[test]
    fn legacy_errors_are_exact_and_have_no_newline() {
        let (status, ct, text) = body(&ApiError::no_app_id());
        assert_eq!(status, 404);
        assert_eq!(ct, "application/json");
        assert_eq!(
            text,
            r#"{"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id either from the URL path or the header dapr-app-id"}"#
        );
    }

    #[test]
    fn token_errors_are_go_http_error_text() {
        let (status, ct, text) = body(&ApiError::invalid_token());
        assert_eq!(
            (status.as_u16(), ct.as_str(), text.as_str()),
            (401, "text/plain; charset=utf-8", "invalid api token\n")
        );
    }

    #[test]
    fn store_not_found_has_error_info_details() {
        let (status, _, text) = body(&ApiError::store_not_found("nostore", "myapp"));
        assert_eq!(status, 400);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["details"][0]["reason"], "DAPR_STATE_NOT_FOUND");
        assert_eq!(v["details"][0]["metadata"]["appID"], "myapp");
        assert!(text.starts_with(r#"{"errorCode":"ERR_STATE_STORE_NOT_FOUND","message":"state store nostore is not found","details":["#));
    }
}
