//! Registration of the core services at boot: `keel`, `auth`, `hosting` and the registry itself
//! are plugins too, registered by the registry (their ids are reserved for everyone else). This
//! list is not [`CORE_APP_IDS`]: being registered at boot gives no right as a caller (grants
//! do, `keel_sdk::access`). Each is retried on
//! the platform's schedule for a peer still starting (`keel_sdk::service::retry::until_up`: 200 ms
//! doubling up to `core_retry_max_ms`, jittered) until it answers, so the platform comes up in any
//! start order; a refusal that retrying cannot fix (a malformed identify, say) is logged as an
//! error once.

use std::time::Duration;

use futures_util::future::join_all;
use keel_sdk::protocol::errors::PlatformError;
use keel_sdk::protocol::{CORE_APP_IDS, HOSTING_APP_ID};
use keel_sdk::service::retry::{self, Retryable};
use tokio::sync::watch;

use crate::error::RegistryError;
use crate::registry::Registry;

/// The pause after the first failed attempt.
const FIRST_PAUSE: Duration = Duration::from_millis(200);

/// Registers every core service, each in its own loop, until done or `shutdown`.
pub async fn register_core(reg: Registry, shutdown: watch::Receiver<bool>) {
    let hosting = reg.state.cfg.register_hosting.then_some(HOSTING_APP_ID);
    let ids = CORE_APP_IDS.into_iter().chain(hosting);
    join_all(ids.map(|id| register_one(reg.clone(), id, shutdown.clone()))).await;
}

/// Registers core service `id`, retrying transient failures, until done or `shutdown` (which
/// also abandons an attempt in flight: registration is all-or-nothing).
async fn register_one(reg: Registry, id: &'static str, mut shutdown: watch::Receiver<bool>) {
    let schedule = retry::until_up(FIRST_PAUSE, Duration::from_millis(reg.state.cfg.core_retry_max_ms));
    let mut failures = 0u32;
    let registering = (|| reg.register_core(id))
        .retry(schedule)
        .when(RegistryError::is_transient)
        .notify(|error, pause| {
            failures += 1;
            // The first failure is worth a line; the retries that follow are expected noise.
            if failures == 1 {
                tracing::info!(plugin = id, %error, detail = error.detail(), "Core service not registered yet; retrying until it answers");
            } else {
                tracing::debug!(plugin = id, attempt = failures, ?pause, %error, detail = error.detail(), "Core service still not registered");
            }
        });
    tokio::select! {
        outcome = registering => match outcome {
            Ok(Some(view)) => tracing::info!(plugin = id, status = %view.status, "Core service registered"),
            Ok(None) => tracing::debug!(plugin = id, "Core service already registered"),
            Err(error) => {
                tracing::error!(plugin = id, %error, detail = error.detail(), "Core service cannot be registered; not retrying")
            }
        },
        _ = shutdown.changed() => {}
    }
}
