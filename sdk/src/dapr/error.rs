//! Errors from calls to the sidecar. Each carries what was being done, so a log line or a message
//! to a user says which call failed and why.

use std::time::Duration;

use actix_web::http::StatusCode;

use super::DaprErrorBody;
use crate::service::snippet;

/// A failed call to the Dapr sidecar.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DaprError {
    /// The sidecar could not be reached at all.
    #[error("{what}: cannot reach the Dapr sidecar at {endpoint}: {reason}")]
    Connect { what: String, endpoint: String, reason: String },
    /// No answer within the time limit.
    #[error("{what}: no answer within {after:?}")]
    Timeout { what: String, after: Duration },
    /// The sidecar refused the call with one of its JSON errors.
    #[error("{what}: dapr answered {status} {code}: {message}")]
    Api { what: String, status: u16, code: String, message: String },
    /// A write lost a concurrency race (ETag mismatch or first-write conflict).
    #[error("{what}: etag mismatch: {message}")]
    EtagMismatch { what: String, message: String },
    /// The sidecar answered with a status this client does not expect and no Dapr error body.
    #[error("{what}: unexpected HTTP {status}: {body}")]
    Status { what: String, status: u16, body: String },
    /// The answer could not be read or decoded.
    #[error("{what}: cannot read the answer: {reason}")]
    Decode { what: String, reason: String },
}

impl DaprError {
    /// Builds the error for a non-success answer from a sidecar API, recognising Dapr's own JSON
    /// error bodies.
    pub fn from_answer(what: impl Into<String>, status: StatusCode, body: &[u8]) -> Self {
        let what = what.into();
        match serde_json::from_slice::<DaprErrorBody>(body) {
            Ok(e) if is_etag_conflict(status, &e) => Self::EtagMismatch { what, message: e.message },
            Ok(e) => Self::Api { what, status: status.as_u16(), code: e.error_code, message: e.message },
            Err(_) => Self::Status { what, status: status.as_u16(), body: snippet(body) },
        }
    }

    /// True when retrying after re-reading the current value may succeed.
    pub fn is_etag_mismatch(&self) -> bool {
        matches!(self, Self::EtagMismatch { .. })
    }

    /// True for transport failures (unreachable, timeout) as opposed to refusals.
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::Timeout { .. })
    }
}

/// Save and delete report lost races as 409; transactions report them as 500 with daprd's
/// "possible etag mismatch" text (no distinct status), so both shapes are recognised.
fn is_etag_conflict(status: StatusCode, e: &DaprErrorBody) -> bool {
    status == StatusCode::CONFLICT
        || (e.error_code == "ERR_STATE_TRANSACTION" && e.message.contains("etag mismatch"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dapr_json_errors_become_typed_errors() {
        let body = br#"{"errorCode":"ERR_STATE_STORE_NOT_FOUND","message":"state store x is not found"}"#;
        let e = DaprError::from_answer("get state k", StatusCode::BAD_REQUEST, body);
        assert!(
            matches!(&e, DaprError::Api { code, status: 400, .. } if code == "ERR_STATE_STORE_NOT_FOUND")
        );
        assert!(e.to_string().starts_with("get state k: dapr answered 400"));
    }

    #[test]
    fn etag_conflicts_are_recognised_on_save_and_transaction() {
        let save = br#"{"errorCode":"ERR_STATE_SAVE","message":"possible etag mismatch"}"#;
        assert!(DaprError::from_answer("s", StatusCode::CONFLICT, save).is_etag_mismatch());
        let tx = br#"{"errorCode":"ERR_STATE_TRANSACTION","message":"error while executing state transaction: possible etag mismatch. error from state store"}"#;
        assert!(DaprError::from_answer("t", StatusCode::INTERNAL_SERVER_ERROR, tx).is_etag_mismatch());
    }

    #[test]
    fn other_bodies_are_quoted_briefly() {
        let e = DaprError::from_answer("x", StatusCode::BAD_GATEWAY, &[b'a'; 2000]);
        let msg = e.to_string();
        assert!(msg.contains("502") && msg.ends_with('…') && msg.len() < 600, "{msg}");
    }
}
