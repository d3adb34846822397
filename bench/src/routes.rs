//! Seeding keel's route table for the benchmark: echo and the benchmark's client as ACTIVE
//! plugins, plus enough fake ones to reach the wanted count. Written through the Dapr state API
//! exactly where the registry keeps it, and pushed to keel the way the registry pushes it (from a
//! sidecar with the registry's app-id), so keel runs with its default periodic re-read.

use std::collections::BTreeMap;
use std::time::Duration;

use awc::http::Method;
use keel_sdk::dapr::{DaprClient, SaveItem};
use keel_sdk::protocol::{PluginStatus, RouteEntry, RouteTable, ROUTES_KEY, STATE_STORE};

/// An ACTIVE plugin at version 1.0.0, with nothing else declared.
pub fn entry() -> RouteEntry {
    RouteEntry {
        status: PluginStatus::Active,
        version: "1.0.0".into(),
        addons: BTreeMap::new(),
        public_endpoints: Vec::new(),
        timeout_ms: None,
        tenants: None,
    }
}

/// echo's endpoint declared public in the seeded table.
pub const OPEN_ENDPOINT: &str = "open";

/// The name of the `i`-th fake plugin.
pub fn fake(i: usize) -> String {
    format!("fake-{i:04}")
}

/// Writes a table of `count` plugins (echo and `client` included) at `version`, and pushes it to
/// keel through `registry` (a sidecar with the registry's app-id) when keel is running.
pub async fn seed(
    dapr: &DaprClient,
    registry: Option<&DaprClient>,
    client: &str,
    count: usize,
    version: u64,
) -> Result<(), String> {
    let mut plugins = BTreeMap::new();
    // `open` is declared public: the external path to it skips token verification, which is
    // what isolates the verification's cost.
    plugins.insert("echo".to_owned(), RouteEntry { public_endpoints: vec![OPEN_ENDPOINT.into()], ..entry() });
    plugins.insert(client.to_owned(), entry());
    for i in 0..count.saturating_sub(2) {
        plugins.insert(fake(i), entry());
    }
    let table = RouteTable { version, plugins, ..RouteTable::default() };
    let value = serde_json::to_value(&table).map_err(|e| e.to_string())?;
    dapr.save_state(STATE_STORE, &[SaveItem::new(ROUTES_KEY, value)]).await.map_err(|e| e.to_string())?;
    if let Some(registry) = registry {
        let answer = registry
            .invoke(Method::PUT, "keel", "v1/routes", Some(&table))
            .await
            .map_err(|e| format!("push the route table to keel: {e}"))?;
        if !answer.status.is_success() {
            return Err(format!("keel refused the pushed route table: HTTP {}", answer.status.as_u16()));
        }
    }
    Ok(())
}

/// Waits until keel routes to the last fake plugin (it answers something other than 404: the
/// fake has no sidecar, so keel reports it unreachable), i.e. keel has the new table.
pub async fn wait_loaded(keel_url: &str, count: usize) -> Result<(), String> {
    if count <= 2 {
        return Ok(());
    }
    let url = format!("{keel_url}/{}/x", fake(count - 3));
    let http = awc::Client::builder().timeout(Duration::from_secs(5)).finish();
    for _ in 0..200 {
        if let Ok(res) = http.get(&url).send().await {
            if res.status().as_u16() != 404 {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("keel did not load the table of {count} plugins"))
}
