//! Getting the route table from the state store: at boot (after the sidecar is up, retrying while
//! the store or the table is not there yet), then whenever the table's version key says it
//! changed (the registry's push reaches one keel replica; the others learn of a change from the
//! key within `watch`), and on a slower timer in any case. This is the only code that reads the
//! store; the request path never does.

use std::time::Duration;

use actix_web::web;

use super::state::RouterState;
use keel_sdk::dapr::{DaprClient, DaprError, SidecarConfig};
use keel_sdk::protocol::{RouteTable, RoutesVersion, ROUTES_KEY, ROUTES_VERSION_KEY, STATE_STORE};

/// How long one wait for the sidecar lasts before keel says it is still waiting.
const SIDECAR_WAIT: Duration = Duration::from_secs(30);

/// When to read the store.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Between attempts at boot.
    pub retry: Duration,
    /// Between re-reads once loaded.
    pub refresh: Duration,
    /// Between reads of the version key.
    pub watch: Duration,
}

/// Runs for the life of the router (on the current thread: the sidecar client is per thread).
pub async fn run(state: web::Data<RouterState>, sidecar: SidecarConfig, schedule: Schedule) {
    let dapr = DaprClient::new(sidecar);
    wait_for_sidecar(&dapr).await;
    load_at_boot(&state, &dapr, schedule.retry).await;
    refresh(&state, &dapr, schedule).await;
}

async fn wait_for_sidecar(dapr: &DaprClient) {
    while let Err(e) = dapr.wait_for_sidecar(SIDECAR_WAIT).await {
        tracing::warn!(error = %e, "Still waiting for keel's Dapr sidecar");
    }
}

/// Until a table is in use: from the store, or from a push that arrived first.
async fn load_at_boot(state: &RouterState, dapr: &DaprClient, retry: Duration) {
    let mut attempt = 0u64;
    while state.routes.version().is_none() {
        match fetch(dapr).await {
            Ok(Some(table)) => {
                state.install(table, "store");
                return;
            }
            // Log the first miss and then every 30th: a fresh platform waits for the registry.
            Ok(None) if attempt % 30 == 0 => {
                tracing::info!(
                    store = STATE_STORE,
                    key = ROUTES_KEY,
                    "No route table in the store yet; waiting for the registry"
                )
            }
            Ok(None) => {}
            Err(e) if attempt % 30 == 0 => {
                tracing::warn!(error = %e, "Cannot read the route table yet; retrying")
            }
            Err(e) => tracing::debug!(error = %e, "Cannot read the route table yet; retrying"),
        }
        attempt += 1;
        tokio::time::sleep(retry).await;
    }
}

/// Re-reads the table every `refresh`, and whenever the version key, read every `watch`, is
/// ahead of the table in use; a newer table replaces the one in use.
async fn refresh(state: &RouterState, dapr: &DaprClient, schedule: Schedule) {
    let mut tick = tokio::time::interval(schedule.refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; the table was just loaded
    let mut watch = tokio::time::interval(schedule.watch);
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => reload(state, dapr).await,
            _ = watch.tick() => {
                if stored_version(dapr).await.is_some_and(|v| state.routes.version().is_none_or(|in_use| v > in_use)) {
                    reload(state, dapr).await;
                }
            }
        }
    }
}

async fn reload(state: &RouterState, dapr: &DaprClient) {
    match fetch(dapr).await {
        Ok(Some(table)) => {
            state.install(table, "store");
        }
        Ok(None) => {
            tracing::warn!(
                key = ROUTES_KEY,
                "The route table disappeared from the store; keeping the one in use"
            )
        }
        Err(e) => tracing::warn!(error = %e, "Cannot re-read the route table; keeping the one in use"),
    }
}

/// The version the store's table has, by its version key; `None` when it cannot be read (the
/// slower full re-read covers that) or a registry older than the key wrote the table.
async fn stored_version(dapr: &DaprClient) -> Option<u64> {
    match dapr.get_state_json::<RoutesVersion>(STATE_STORE, ROUTES_VERSION_KEY).await {
        Ok(found) => found.map(|(v, _etag)| v.version),
        Err(e) => {
            tracing::debug!(error = %e, "Cannot read the route table's version key");
            None
        }
    }
}

async fn fetch(dapr: &DaprClient) -> Result<Option<RouteTable>, DaprError> {
    Ok(dapr.get_state_json::<RouteTable>(STATE_STORE, ROUTES_KEY).await?.map(|(table, _etag)| table))
}
