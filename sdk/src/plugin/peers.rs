//! Calling other plugins through keel, and calling this plugin's own addon points.

use actix_web::http::Method;
use serde::Serialize;

use crate::dapr::{DaprClient, DaprError, Invoked};
use crate::protocol::KEEL_APP_ID;

/// Calls peers through keel's internal flow (`/v1.0/invoke/keel/method/<id>/<endpoint>`), so
/// keel checks the target's status and tells it who called.
#[derive(Clone)]
pub struct KeelClient {
    dapr: DaprClient,
}

impl KeelClient {
    /// Uses `dapr` (this plugin's sidecar) to reach keel.
    pub fn new(dapr: DaprClient) -> Self {
        Self { dapr }
    }

    /// The sidecar client underneath.
    pub fn dapr(&self) -> &DaprClient {
        &self.dapr
    }

    /// Calls `endpoint` (relative, may carry `?query`) on plugin `plugin_id` with an optional JSON
    /// body. Keel's own refusals carry the header `x-keel-error: 1`; see [`is_keel_error`].
    pub async fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        plugin_id: &str,
        endpoint: &str,
        body: Option<&B>,
    ) -> Result<Invoked, DaprError> {
        let path = format!("{plugin_id}/{}", endpoint.trim_start_matches('/'));
        self.dapr.invoke(method, KEEL_APP_ID, &path, body).await
    }

    /// Calls this plugin's own addon point `point`: keel forwards to whichever plugin implements
    /// it, or answers 404 when none does.
    pub async fn call_addon<B: Serialize + ?Sized>(
        &self,
        method: Method,
        point: &str,
        body: Option<&B>,
    ) -> Result<Invoked, DaprError> {
        self.dapr.invoke(method, KEEL_APP_ID, &format!("addons/{point}"), body).await
    }
}

/// True when an answer is keel's own refusal rather than the target plugin's answer.
pub fn is_keel_error(answer: &Invoked) -> bool {
    answer.headers.get("x-keel-error").is_some_and(|v| v == "1")
}
