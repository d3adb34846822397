//! Getting the route table from the state store: at boot (after the sidecar is up, retrying while
//! the store or the table is not there yet) and then on a timer, in case a push from the registry
//! was missed. This is the only code that reads the store; the request path never does.

use std::time::Duration;

use actix_web::web;

use super::state::RouterState;
use keel_sdk::dapr::{DaprClient, DaprError, SidecarConfig};
use keel_sdk::protocol::{RouteTable, ROUTES_KEY, STATE_STORE};

/// How long one wait for the sidecar lasts before keel says it is still waiting.
const SIDECAR_WAIT: Duration = Duration::from_secs(30);

/// When to read the store.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Between attempts at boot.
    pub retry: Duration,
    /// Between re-reads once loaded.
    pub refresh: Duration,
}

/// Runs for the life of the router (on the current thread: the sidecar client is per thread).
pub async fn run(state: web::Data<RouterState>, sidecar: SidecarConfig, schedule: Schedule) {
    let dapr = DaprClient::new(sidecar);
    wait_for_sidecar(&dapr).await;
    load_at_boot(&state, &dapr, schedule.retry).await;
    refresh(&state, &dapr, schedule.refresh).await;
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

/// Re-reads the table every `every`; a newer one replaces the one in use.
async fn refresh(state: &RouterState, dapr: &DaprClient, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; the table was just loaded
    loop {
        tick.tick().await;
        match fetch(dapr).await {
            Ok(Some(table)) => {
                state.install(table, "store");
            }
            Ok(None) => tracing::warn!(
                key = ROUTES_KEY,
                "The route table disappeared from the store; keeping the one in use"
            ),
            Err(e) => tracing::warn!(error = %e, "Cannot re-read the route table; keeping the one in use"),
        }
    }
}

async fn fetch(dapr: &DaprClient) -> Result<Option<RouteTable>, DaprError> {
    Ok(dapr.get_state_json::<RouteTable>(STATE_STORE, ROUTES_KEY).await?.map(|(table, _etag)| table))
}
