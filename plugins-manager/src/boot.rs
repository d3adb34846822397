//! Registration of the core services at boot: `keel`, `auth` and the registry itself are plugins
//! too, registered by the registry (their ids are reserved for everyone else). Each is retried
//! with a doubling pause until it answers, so the platform comes up in any start order; a
//! refusal that retrying cannot fix (a malformed identify, say) is logged as an error once.

use std::time::Duration;

use futures_util::future::join_all;
use keel_sdk::protocol::errors::PlatformError;
use keel_sdk::protocol::CORE_APP_IDS;
use tokio::sync::watch;

use crate::registry::Registry;

/// Registers every core service, each in its own loop, until done or `shutdown`.
pub async fn register_core(reg: Registry, shutdown: watch::Receiver<bool>) {
    join_all(CORE_APP_IDS.map(|id| register_one(reg.clone(), id, shutdown.clone()))).await;
}

async fn register_one(reg: Registry, id: &'static str, mut shutdown: watch::Receiver<bool>) {
    let max = Duration::from_millis(reg.shared.cfg.core_retry_max_ms.max(200));
    let mut pause = Duration::from_millis(200);
    for attempt in 1u32.. {
        match reg.register_core(id).await {
            Ok(Some(view)) => {
                tracing::info!(plugin = id, status = %view.status, "Core service registered");
                return;
            }
            Ok(None) => {
                tracing::debug!(plugin = id, "Core service already registered");
                return;
            }
            Err(error) if error.is_transient() => {
                // The first failure is worth a line; the retries that follow are expected noise.
                if attempt == 1 {
                    tracing::info!(plugin = id, %error, detail = error.detail(), "Core service not registered yet; retrying until it answers");
                } else {
                    tracing::debug!(plugin = id, attempt, %error, detail = error.detail(), "Core service still not registered");
                }
            }
            Err(error) => {
                tracing::error!(plugin = id, %error, detail = error.detail(), "Core service cannot be registered; not retrying");
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
        pause = (pause * 2).min(max);
    }
}
