//! Pushed services in the registry's management listings (`GET /v1/plugins[/{id}]`, so
//! `keelctl plugins list` and `keelctl status` show them), as `PluginView`s of kind `pushed`.

use std::collections::BTreeMap;

use keel_sdk::management::registry::{PluginKind, PluginView};
use keel_sdk::protocol::{PluginStatus, PushedRoute, RouteTable};

use super::model::{record_key, ServiceRecord};
use crate::error::RegistryError;
use crate::model::rfc3339;
use crate::store::Store;

/// The view of every pushed service in `table` whose record is readable, by name.
pub async fn pushed_views(
    store: &Store,
    table: &RouteTable,
) -> Result<BTreeMap<String, PluginView>, RegistryError> {
    let mut out = BTreeMap::new();
    if table.services.is_empty() {
        return Ok(out);
    }
    let keys: Vec<String> = table.services.keys().map(|n| record_key(n)).collect();
    for item in store.dapr().bulk_get(store.name(), &keys).await.map_err(RegistryError::store)? {
        let Some(data) = item.data else { continue };
        let Ok(record) = serde_json::from_value::<ServiceRecord>(data) else { continue };
        if let Some(route) = table.services.get(&record.name) {
            out.insert(record.name.clone(), view(&record, route));
        }
    }
    Ok(out)
}

fn view(r: &ServiceRecord, route: &PushedRoute) -> PluginView {
    let public =
        r.endpoints.iter().filter(|e| e.is_public || !r.requires_auth).map(|e| e.path.clone()).collect();
    PluginView {
        id: r.name.clone(),
        version: r.version.clone(),
        keel_version: None,
        status: route.status,
        core: false,
        registered_at_ms: r.registered_at_ms,
        registered_at: rfc3339(r.registered_at_ms),
        // Its liveness is its heartbeat.
        last_checked_ms: r.last_heartbeat_ms,
        last_checked_at: rfc3339(r.last_heartbeat_ms),
        last_error: (route.status == PluginStatus::Unreachable).then(|| {
            format!("no heartbeat since {} (or its health check fails)", rfc3339(r.last_heartbeat_ms))
        }),
        consecutive_failures: 0,
        addons: Vec::new(),
        implements: Vec::new(),
        public_endpoints: public,
        timeout_ms: None,
        kind: PluginKind::Pushed,
    }
}
