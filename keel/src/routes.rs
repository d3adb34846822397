//! The route table in memory: read without locks on every request (an atomically swapped `Arc`),
//! replaced whole when a newer version arrives. A request resolves its target once, copies what it
//! needs, and lets go of the table, so a swap never disturbs a request already on its way.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use super::errors::RouteError;
use super::gateway::matching::upstream_path;
use super::target::{Destination, Endpoint};
use keel_sdk::dapr::invoke::endpoint_id;
use keel_sdk::protocol::{RouteTable, CORE_APP_IDS};

/// The current route table, if one was loaded.
#[derive(Default)]
pub struct Routes {
    current: ArcSwapOption<RouteTable>,
    // Writers are rare (pushes, timer); serialising them keeps "only newer versions win" exact.
    write: Mutex<()>,
}

/// What [`Routes::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The table is now current; `previous` is the version it replaced.
    Installed { previous: Option<u64> },
    /// The table was not newer than the current one and was ignored.
    Stale { current: u64 },
}

/// A target resolved from the table: everything the rest of the request needs, owned, so the
/// table can be swapped meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The plugin that receives the request.
    pub plugin: String,
    /// Its endpoint, relative, percent-encoded.
    pub endpoint: String,
    /// How long it may take to answer.
    pub timeout: Duration,
}

/// Settings that shape resolution.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Time limit for plugins without their own.
    pub default_timeout: Duration,
    /// `Retry-After` for plugins that are not ACTIVE.
    pub retry_after: Duration,
}

// === impl Routes ===

impl Routes {
    /// The current table, or `None` before the first one was loaded. Hold it only briefly.
    pub fn current(&self) -> Option<Arc<RouteTable>> {
        self.current.load_full()
    }

    /// The version in use.
    pub fn version(&self) -> Option<u64> {
        self.current.load().as_ref().map(|t| t.version)
    }

    /// Installs `table` if no table is loaded yet or it is newer than the current one.
    pub fn apply(&self, table: RouteTable) -> Applied {
        let _writer = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let previous = self.version();
        match previous {
            Some(current) if table.version <= current => Applied::Stale { current },
            _ => {
                self.current.store(Some(Arc::new(table)));
                Applied::Installed { previous }
            }
        }
    }

    /// Resolves `dest` for `caller` against the current table ([`for_caller`]).
    pub fn for_caller(
        &self,
        caller: &str,
        dest: Destination<'_>,
        policy: &Policy,
    ) -> Result<Resolved, RouteError> {
        let guard = self.current.load();
        let table = guard.as_deref().ok_or(RouteError::NotReady { retry_after: policy.retry_after })?;
        for_caller(table, caller, dest, policy)
    }
}

/// The internal flow's resolution: `caller` must be a registered plugin or a core service, and
/// the target is the plugin the path names or the implementer of one of the caller's own points.
pub fn for_caller(
    table: &RouteTable,
    caller: &str,
    dest: Destination<'_>,
    policy: &Policy,
) -> Result<Resolved, RouteError> {
    // Check the caller: a registered plugin or a core service.
    if !table.plugins.contains_key(caller) && !CORE_APP_IDS.contains(&caller) {
        return Err(RouteError::UnregisteredCaller { caller: caller.to_owned() });
    }
    let target = match dest {
        Destination::Plugin(target) => target,
        Destination::Addon { point } => implementer(table, caller, point)?,
    };
    endpoint(table, target, policy)
}

/// A plugin's endpoint for a caller already checked (the external flow, the pre-route hook): the
/// plugin must be registered and `ACTIVE`.
pub fn endpoint(table: &RouteTable, target: Endpoint<'_>, policy: &Policy) -> Result<Resolved, RouteError> {
    let Endpoint { plugin, endpoint } = target;
    let entry =
        table.plugins.get(plugin).ok_or_else(|| RouteError::UnknownPlugin { plugin: plugin.to_owned() })?;
    if !entry.status.is_active() {
        return Err(RouteError::NotActive {
            plugin: plugin.to_owned(),
            status: entry.status,
            retry_after: policy.retry_after,
        });
    }
    Ok(Resolved {
        plugin: plugin.to_owned(),
        endpoint: endpoint.to_owned(),
        timeout: entry.timeout_ms.map_or(policy.default_timeout, Duration::from_millis),
    })
}

/// A console entry's page (`/plugins/<group>/...`, `target.plugin` the group): known only while
/// the table has a proxied entry under the group. A group owned by a registered plugin resolves
/// as the plugin does (status, its time limit); a pushed service's is reached by its URL under
/// its base path while `ACTIVE` (the second value: that invocation target, as the gateway's);
/// another Dapr app's has no status the registry knows, so it is sent on with keel's default
/// time limit and answers for itself.
pub fn console(
    table: &RouteTable,
    target: Endpoint<'_>,
    policy: &Policy,
) -> Result<(Resolved, Option<String>), RouteError> {
    let group = target.plugin;
    if table.console_group(group).is_none() {
        return Err(RouteError::UnknownConsoleGroup { group: group.to_owned() });
    }
    if table.plugins.contains_key(group) {
        return Ok((endpoint(table, target, policy)?, None));
    }
    let resolved =
        |endpoint| Resolved { plugin: group.to_owned(), endpoint, timeout: policy.default_timeout };
    match table.services.get(group) {
        Some(pushed) if !pushed.status.is_active() => Err(RouteError::NotActive {
            plugin: group.to_owned(),
            status: pushed.status,
            retry_after: policy.retry_after,
        }),
        Some(pushed) => Ok((
            resolved(upstream_path(&pushed.base_path, target.endpoint)),
            Some(endpoint_id(&pushed.base_url)),
        )),
        None => Ok((resolved(target.endpoint.to_owned()), None)),
    }
}

/// The plugin and endpoint implementing `caller`'s addon `point`.
fn implementer<'t>(table: &'t RouteTable, caller: &str, point: &str) -> Result<Endpoint<'t>, RouteError> {
    match table.addon(caller, point) {
        Ok(Some(target)) => Ok(Endpoint { plugin: &target.plugin, endpoint: &target.endpoint }),
        Ok(None) => Err(RouteError::NoImplementer { caller: caller.to_owned(), point: point.to_owned() }),
        Err(()) => Err(RouteError::UnknownPoint { caller: caller.to_owned(), point: point.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;
    use keel_sdk::protocol::errors::PlatformError;
    use serde_json::json;

    fn table(version: u64) -> RouteTable {
        serde_json::from_value(json!({
            "version": version,
            "plugins": {
                "greeter": {"status": "ACTIVE", "version": "1.0.0", "addons": {
                    "decorate": {"plugin": "emoji", "endpoint": "hooks/decorate"}, "spare": null}},
                "emoji": {"status": "ACTIVE", "version": "1.0.0", "timeout_ms": 250},
                "sleepy": {"status": "STARTING", "version": "1.0.0"}
            }
        }))
        .unwrap()
    }

    const POLICY: Policy =
        Policy { default_timeout: Duration::from_secs(30), retry_after: Duration::from_secs(5) };

    fn code(r: Result<Resolved, RouteError>) -> (u16, &'static str) {
        let e = r.unwrap_err();
        (e.status_code().as_u16(), e.code().name())
    }

    fn to(plugin: &str) -> Destination<'_> {
        Destination::Plugin(Endpoint { plugin, endpoint: "x" })
    }

    #[test]
    fn plugins_and_addon_points_resolve_with_their_timeouts() {
        let t = table(1);
        let hi = Destination::Plugin(Endpoint { plugin: "greeter", endpoint: "hi" });
        let r = for_caller(&t, "emoji", hi, &POLICY).unwrap();
        assert_eq!(
            (r.plugin.as_str(), r.endpoint.as_str(), r.timeout),
            ("greeter", "hi", Duration::from_secs(30))
        );
        let r = for_caller(&t, "greeter", Destination::Addon { point: "decorate" }, &POLICY).unwrap();
        assert_eq!((r.plugin.as_str(), r.endpoint.as_str()), ("emoji", "hooks/decorate"));
        assert_eq!(r.timeout, Duration::from_millis(250));
    }

    #[test]
    fn refusals_name_the_reason() {
        let t = table(1);
        assert_eq!(code(for_caller(&t, "stranger", to("emoji"), &POLICY)), (403, "ERR_UNREGISTERED_CALLER"));
        assert_eq!(code(for_caller(&t, "greeter", to("nope"), &POLICY)), (404, "ERR_UNKNOWN_PLUGIN"));
        assert_eq!(code(for_caller(&t, "greeter", to("sleepy"), &POLICY)), (503, "ERR_PLUGIN_NOT_ACTIVE"));
        let point = |point| Destination::Addon { point };
        assert_eq!(code(for_caller(&t, "emoji", point("decorate"), &POLICY)), (404, "ERR_UNKNOWN_POINT"));
        assert_eq!(code(for_caller(&t, "greeter", point("spare"), &POLICY)), (404, "ERR_NO_IMPLEMENTER"));
        // Core services call before they are registered; external clients have no caller.
        assert!(for_caller(&t, "plugins", to("emoji"), &POLICY).is_ok());
        assert!(endpoint(&t, Endpoint { plugin: "emoji", endpoint: "x" }, &POLICY).is_ok());
        assert_eq!(
            code(endpoint(&t, Endpoint { plugin: "sleepy", endpoint: "x" }, &POLICY)),
            (503, "ERR_PLUGIN_NOT_ACTIVE")
        );
    }

    #[test]
    fn console_groups_resolve_to_their_owner_while_they_have_an_entry() {
        let mut t = table(1);
        for (path, owner) in
            [("/plugins/emoji/tab", "emoji"), ("/plugins/sleepy/ui", "sleepy"), ("/plugins/svc/ui", "svc")]
        {
            let entry = keel_sdk::protocol::ConsoleEntry {
                name: "n".into(),
                name_en: "N".into(),
                kind: 2,
                path: path.into(),
                external: 0,
            };
            let source = keel_sdk::protocol::ConsoleSource::Put;
            t.console
                .insert(path.into(), keel_sdk::protocol::ConsoleRoute { entry, owner: owner.into(), source });
        }
        let at = |plugin, endpoint| Endpoint { plugin, endpoint };
        let r = console(&t, at("emoji", "plugins/emoji/tab/x"), &POLICY).unwrap().0;
        assert_eq!((r.plugin.as_str(), r.endpoint.as_str()), ("emoji", "plugins/emoji/tab/x"));
        assert_eq!(r.timeout, Duration::from_millis(250));
        let (r, via) = console(&t, at("svc", "plugins/svc/ui"), &POLICY).unwrap();
        assert_eq!((r.plugin.as_str(), r.timeout, via), ("svc", Duration::from_secs(30), None));
        let code = |r: Result<(Resolved, Option<String>), RouteError>| code(r.map(|(r, _)| r));
        assert_eq!(
            code(console(&t, at("sleepy", "plugins/sleepy/ui"), &POLICY)),
            (503, "ERR_PLUGIN_NOT_ACTIVE")
        );
        assert_eq!(code(console(&t, at("greeter", "plugins/greeter/x"), &POLICY)), (404, "ERR_NOT_FOUND"));
        // A pushed service: by its URL, under its base path, while ACTIVE.
        let mut pushed = keel_sdk::protocol::PushedRoute {
            status: keel_sdk::protocol::PluginStatus::Active,
            version: "1".into(),
            base_url: "http://127.0.0.1:9000".into(),
            base_path: "/svc".into(),
            requires_auth: true,
            endpoints: vec![],
        };
        t.services.insert("svc".into(), pushed.clone());
        let (r, via) = console(&t, at("svc", "plugins/svc/ui"), &POLICY).unwrap();
        assert_eq!(r.endpoint, "svc/plugins/svc/ui");
        assert_eq!(via, Some(endpoint_id("http://127.0.0.1:9000")));
        pushed.status = keel_sdk::protocol::PluginStatus::Unreachable;
        t.services.insert("svc".into(), pushed);
        assert_eq!(code(console(&t, at("svc", "plugins/svc/ui"), &POLICY)), (503, "ERR_PLUGIN_NOT_ACTIVE"));
    }

    #[test]
    fn only_newer_tables_replace_the_current_one() {
        let routes = Routes::default();
        assert_eq!(code(routes.for_caller("greeter", to("emoji"), &POLICY)), (503, "ERR_NOT_READY"));
        assert_eq!(routes.apply(table(3)), Applied::Installed { previous: None });
        assert_eq!(routes.apply(table(3)), Applied::Stale { current: 3 });
        assert_eq!(routes.apply(table(2)), Applied::Stale { current: 3 });
        assert_eq!(routes.apply(table(4)), Applied::Installed { previous: Some(3) });
        assert_eq!(routes.version(), Some(4));
        assert!(routes.for_caller("greeter", to("emoji"), &POLICY).is_ok());
    }

    #[test]
    fn a_table_held_by_a_request_survives_a_swap() {
        let routes = Routes::default();
        routes.apply(table(1));
        let held = routes.current().unwrap();
        routes.apply(RouteTable { version: 2, ..RouteTable::default() });
        assert_eq!(held.version, 1);
        assert!(held.plugins.contains_key("emoji"));
        assert!(routes.current().unwrap().plugins.is_empty());
    }
}
