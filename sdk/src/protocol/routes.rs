//! The route table: what the registry (`plugins`) persists and pushes, and what keel routes by.
//! It is one JSON document in the state store under [`ROUTES_KEY`], versioned so a stale push or
//! re-read never replaces a newer table.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::console::{ConsoleEntry, CONSOLE_PREFIX};
use super::PluginStatus;
use crate::tokens::PLATFORM_TENANT;

/// The state store every core service uses (component `components/statestore.yaml`, whose
/// `keyPrefix: name` lets keel, plugins and auth see the same keys).
pub const STATE_STORE: &str = "statestore";
/// The key holding the [`RouteTable`].
pub const ROUTES_KEY: &str = "keel-routes";
/// The key holding the table's version alone ([`RoutesVersion`]), written in the same
/// transaction as the table. A registry's push after a change reaches one keel replica (a Dapr
/// invocation goes to one instance of an app-id); every replica watches this small key, so each
/// learns of a change within its watch interval without re-reading the whole table.
pub const ROUTES_VERSION_KEY: &str = "keel-routes-version";

/// The document under [`ROUTES_VERSION_KEY`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutesVersion {
    /// The version of the table in the store.
    pub version: u64,
}

/// Every registered plugin keel may route to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    /// Increases with every change; keel ignores a table older than the one it has.
    pub version: u64,
    /// By plugin id.
    #[serde(default)]
    pub plugins: BTreeMap<String, RouteEntry>,
    /// Services that registered themselves (push registration, `docs/push.md`), by name; a name
    /// is never both a plugin and a pushed service. Reached only through `/api/<name>/`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, PushedRoute>,
    /// Console entries (issue 16), by path: a proxied path `/plugins/<group>/...` always belongs
    /// to the registrant whose id is `<group>`, which is where keel sends it. Kept in the table
    /// so that uniqueness is decided in the same conditional write as every other change, and
    /// keel's view is swapped with the rest of the table.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub console: BTreeMap<String, ConsoleRoute>,
}

/// One console entry in the route table, with who registered it and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleRoute {
    /// The entry as declared.
    pub entry: ConsoleEntry,
    /// The registrant: a Keel plugin's id or a Dapr app-id (`obj`); the group of the path.
    pub owner: String,
    /// How it was registered.
    pub source: ConsoleSource,
}

/// How a console entry was registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleSource {
    /// Declared in the plugin's `/v1/identify`: it changes with the plugin's registration only.
    Identify,
    /// Registered with `PUT /v1/console/entries` (TarsWeb's `registerPlugin`).
    Put,
}

/// What keel needs to know about one pushed service: where it is, which endpoints it declared,
/// which of them need no token. keel reaches it through its sidecar as a non-Dapr endpoint
/// (`/v1.0/invoke/<base_url>/method/<base_path>/<path>`), never directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedRoute {
    /// `ACTIVE` while it heartbeats (and its health check answers); anything else is a 503.
    pub status: PluginStatus,
    /// Its version, as registered.
    #[serde(default)]
    pub version: String,
    /// `http://<host>:<port>`, checked against the registry's allow-list at registration.
    pub base_url: String,
    /// The path prefix on the service (`/` for none), without a trailing slash except for `/`.
    #[serde(default)]
    pub base_path: String,
    /// False: every endpoint passes without a token.
    #[serde(default)]
    pub requires_auth: bool,
    /// The only paths that route.
    #[serde(default)]
    pub endpoints: Vec<PushedEndpoint>,
}

/// One declared endpoint of a pushed service: `path` matches itself and what lies below it on
/// segment boundaries (`data` matches `data/7`, not `database`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedEndpoint {
    /// Relative to the service's base path, without leading or trailing slashes.
    pub path: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// Passes without a token.
    #[serde(default)]
    pub is_public: bool,
}

impl PushedEndpoint {
    /// Whether `path` (relative, no leading slash) is this endpoint's path or lies below it.
    pub fn covers(&self, path: &str) -> bool {
        let own = self.path.as_str();
        own.is_empty()
            || path == own
            || (path.len() > own.len() && path.starts_with(own) && path.as_bytes()[own.len()] == b'/')
    }
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
    /// A plugin in `status` at `version`, with no points, public endpoints, timeout override or
    /// tenant list (open to every tenant): what a fresh registration starts from.
    pub fn new(status: PluginStatus, version: impl Into<String>) -> Self {
        Self {
            status,
            version: version.into(),
            addons: BTreeMap::new(),
            public_endpoints: Vec::new(),
            timeout_ms: None,
            tenants: None,
        }
    }

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
    /// The first proxied console entry under `/plugins/<group>/`, if the group has any: keel
    /// routes a group's paths only while it does. A range read, no scan.
    pub fn console_group(&self, group: &str) -> Option<&ConsoleRoute> {
        let prefix = format!("{CONSOLE_PREFIX}{group}/");
        self.console
            .range(prefix.clone()..)
            .next()
            .filter(|(path, _)| path.starts_with(&prefix))
            .map(|(_, r)| r)
    }

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
        assert!(table.services.is_empty());
    }

    #[test]
    fn a_console_group_is_known_while_it_has_a_proxied_entry() {
        let route = |path: &str, external: u8| ConsoleRoute {
            entry: ConsoleEntry {
                name: "n".into(),
                name_en: "N".into(),
                kind: 2,
                path: path.into(),
                external,
            },
            owner: "notes".into(),
            source: ConsoleSource::Identify,
        };
        let mut table = RouteTable::default();
        for (path, ext) in
            [("/plugins/notes/ui", 0), ("/plugins/notesx/ui", 0), ("https://x/plugins/web/", 1)]
        {
            table.console.insert(path.into(), route(path, ext));
        }
        assert_eq!(table.console_group("notes").unwrap().entry.path, "/plugins/notes/ui");
        assert_eq!(table.console_group("notesx").unwrap().entry.path, "/plugins/notesx/ui");
        assert!(table.console_group("note").is_none());
        assert!(table.console_group("web").is_none());
        let json = serde_json::to_value(&table).unwrap();
        assert_eq!(json["console"]["/plugins/notes/ui"]["source"], "identify");
        assert_eq!(serde_json::from_value::<RouteTable>(json).unwrap(), table);
    }

    #[test]
    fn pushed_endpoints_cover_their_path_on_segment_boundaries() {
        let e = PushedEndpoint { path: "data".into(), method: "GET".into(), is_public: true };
        assert!(e.covers("data") && e.covers("data/7") && e.covers("data/7/x"));
        assert!(!e.covers("database") && !e.covers("dat") && !e.covers("hello"));
        let root = PushedEndpoint { path: String::new(), method: "GET".into(), is_public: false };
        assert!(root.covers("anything"));
    }
}
