//! The route table: what the registry (`plugins`) persists and pushes, and what keel routes by.
//! It is one JSON document in the state store under [`ROUTES_KEY`], versioned so a stale push or
//! re-read never replaces a newer table.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::PluginStatus;
use crate::tokens::PLATFORM_TENANT;

/// The state store every core service uses (component `components/statestore.yaml`, whose
/// `keyPrefix: name` lets keel, plugins and auth see the same keys).
pub const STATE_STORE: &str = "statestore";
/// The key holding the [`RouteTable`].
pub const ROUTES_KEY: &str = "keel-routes";

/// Every registered plugin keel may route to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    /// Increases with every change; keel ignores a table older than the one it has.
    pub version: u64,
    /// By plugin id.
    #[serde(default)]
    pub plugins: BTreeMap<String, RouteEntry>,
}

/// What keel needs to know about one plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEntry {
    /// Its current status; only `ACTIVE` plugins receive traffic.
    pub status: PluginStatus,
    /// Its version.
    #[serde(default)]
    pub version: String,
    /// The addon points it offers, each with its implementer (absent while none).
    #[serde(default)]
    pub addons: BTreeMap<String, Option<AddonTarget>>,
    /// Endpoints reachable from the public port without a token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_endpoints: Vec<String>,
    /// Per-plugin override of keel's upstream timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The tenants that enabled the plugin (tKeel's model, `platform.md` §10); `None`: every
    /// tenant (the core services). The platform tenant always has every plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenants: Option<BTreeSet<String>>,
}

impl RouteEntry {
    /// Whether users of `tenant` may call the plugin.
    pub fn enabled_for(&self, tenant: &str) -> bool {
        tenant == PLATFORM_TENANT || self.tenants.as_ref().is_none_or(|t| t.contains(tenant))
    }
}

/// Who implements a point, and at which endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonTarget {
    /// The implementing plugin.
    pub plugin: String,
    /// Its endpoint for the point.
    pub endpoint: String,
}

impl RouteTable {
    /// Resolves `point` among `caller`'s own points: `Ok(Some)` when implemented, `Ok(None)` when
    /// declared without an implementer, `Err(())` when the caller declared no such point.
    #[allow(clippy::result_unit_err)]
    pub fn addon(&self, caller: &str, point: &str) -> Result<Option<&AddonTarget>, ()> {
        match self.plugins.get(caller).and_then(|p| p.addons.get(point)) {
            Some(target) => Ok(target.as_ref()),
            None => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn addons_resolve_among_the_callers_own_points() {
        let table: RouteTable = serde_json::from_value(json!({
            "version": 3,
            "plugins": {
                "greeter": {"status": "ACTIVE", "version": "1.0.0", "addons": {
                    "decorate": {"plugin": "emoji", "endpoint": "hooks/decorate"}, "other": null}},
                "emoji": {"status": "ACTIVE", "version": "1.0.0"}
            }
        }))
        .unwrap();
        assert_eq!(table.addon("greeter", "decorate").unwrap().unwrap().plugin, "emoji");
        assert_eq!(table.addon("greeter", "other"), Ok(None));
        assert_eq!(table.addon("emoji", "decorate"), Err(()));
        assert_eq!(table.addon("nobody", "decorate"), Err(()));
    }
}
