//! The JSON error body every Dapr HTTP API answers with: `{"errorCode": ..., "message": ...}`,
//! optionally with rich `details`.

use serde::{Deserialize, Serialize};

/// A Dapr API error as it travels on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaprErrorBody {
    /// Dapr's error tag, for example `ERR_DIRECT_INVOKE` or `ERR_STATE_SAVE`.
    #[serde(rename = "errorCode")]
    pub error_code: String,
    /// Human-readable description.
    pub message: String,
    /// Rich error details (`google.rpc.*` shapes), present on newer daprd errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<serde_json::Value>,
}

impl DaprErrorBody {
    /// A legacy-shaped error (no details).
    pub fn new(error_code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { error_code: error_code.into(), message: message.into(), details: Vec::new() }
    }
}
