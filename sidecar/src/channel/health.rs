//! App health checks, with daprd's state machine (`pkg/apphealth/health.go`): the failure count
//! starts *at* the threshold, so an app is unhealthy until its first successful probe; one
//! success resets the count; reaching the threshold again makes it unhealthy.
//!
//! The probe is a bare `GET <app>/<path>` (no `dapr-api-token`, as daprd sends none) with the
//! probe timeout; any 2xx is healthy, anything else or a network error is a failure.

use crate::config::AppHealthConfig;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// The health of one app.
#[derive(Debug)]
pub struct AppHealth {
    failures: AtomicU32,
    threshold: u32,
}

/// A change of state reported by [`AppHealth::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The app became healthy.
    Healthy,
    /// The app became unhealthy.
    Unhealthy,
}

// === impl AppHealth ===

impl AppHealth {
    /// A new, unhealthy app.
    pub fn new(threshold: u32) -> Self {
        let threshold = threshold.max(1);
        AppHealth { failures: AtomicU32::new(threshold), threshold }
    }

    /// True while fewer than `threshold` consecutive probes have failed since the last success.
    pub fn is_healthy(&self) -> bool {
        self.failures.load(Ordering::Acquire) < self.threshold
    }

    /// Records one probe result and returns the change of state it caused, if any.
    pub fn record(&self, success: bool) -> Option<Change> {
        if success {
            let prev = self.failures.swap(0, Ordering::AcqRel);
            (prev >= self.threshold).then_some(Change::Healthy)
        } else {
            // Saturate rather than wrap, so a long outage never looks healthy.
            let prev = self
                .failures
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| Some(f.saturating_add(1)))
                .unwrap_or(u32::MAX);
            (prev.saturating_add(1) == self.threshold).then_some(Change::Unhealthy)
        }
    }
}

/// Probes `url` every `cfg.interval` (the first probe at once) until the task is dropped.
/// Runs on the sidecar's own arbiter: awc clients are per thread.
pub async fn probe_forever(health: Arc<AppHealth>, cfg: AppHealthConfig, url: String, app_id: String) {
    let client = super::http_client();
    let mut ticker = tokio::time::interval(cfg.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let ok = probe(&client, &url, &cfg).await;
        match health.record(ok) {
            Some(Change::Healthy) => tracing::info!(app_id = %app_id, "App entered healthy status"),
            Some(Change::Unhealthy) => tracing::warn!(app_id = %app_id, "App entered un-healthy status"),
            None => {}
        }
    }
}

async fn probe(client: &awc::Client, url: &str, cfg: &AppHealthConfig) -> bool {
    let call = async {
        let mut resp = client.get(url).no_decompress().send().await.ok()?;
        // Drain the body so the connection can be reused; its content is ignored.
        let _ = resp.body().limit(64 * 1024).await;
        Some(resp.status().is_success())
    };
    matches!(tokio::time::timeout(cfg.timeout, call).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhealthy_until_first_success_then_threshold_failures() {
        let h = AppHealth::new(3);
        assert!(!h.is_healthy());
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(true), Some(Change::Healthy));
        assert!(h.is_healthy());
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        assert!(h.is_healthy());
        assert_eq!(h.record(false), Some(Change::Unhealthy));
        assert!(!h.is_healthy());
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(true), Some(Change::Healthy));
    }
}
