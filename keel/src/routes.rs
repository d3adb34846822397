//! The route table in memory: read without locks on every request (an atomically swapped `Arc`),
//! replaced whole when a newer version arrives. A request resolves its target once, copies what it
//! needs, and lets go of the table, so a swap never disturbs a request already on its way.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use super::errors::RouteError;
use super::target::Destination;
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

    /// Resolves `dest` for `caller` (`None`: an external client, already authenticated) against
    /// the current table: the caller must be known, the target registered and ACTIVE.
    pub fn resolve(
        &self,
        caller: Option<&str>,
        dest: Destination<'_>,
        policy: &Policy,
    ) -> Result<Resolved, RouteError> {
        let guard = self.current.load();
        let table = guard.as_deref().ok_or(RouteError::NotReady { retry_after: policy.retry_after })?;
        resolve(table, caller, dest, policy)
    }
}

/// [`Routes::resolve`] on a given table.
pub fn resolve(
    table: &RouteTable,
    caller: Option<&str>,
    dest: Destination<'_>,
    policy: &Policy,
) -> Result<Resolved, RouteError> {
    // Check the caller: a registered plugin or a core service.
    if let Some(caller) = caller {
        if !table.plugins.contains_key(caller) && !CORE_APP_IDS.contains(&caller) {
            return Err(RouteError::UnregisteredCaller { caller: caller.to_owned() });
        }
    }
    // Find the target plugin and endpoint: named in the path, or the implementer of a point.
    let (plugin, endpoint) = match dest {
        Destination::Plugin { plugin, endpoint } => (plugin, endpoint),
        Destination::Addon { point } => {
            let caller =
                caller.ok_or_else(|| RouteError::Forbidden("addon points need a calling plugin".into()))?;
            match table.addon(caller, point) {
                Ok(Some(target)) => (target.plugin.as_str(), target.endpoint.as_str()),
                Ok(None) => {
                    return Err(RouteError::NoImplementer {
                        caller: caller.to_owned(),
                        point: point.to_owned(),
                    })
                }
                Err(()) => {
                    return Err(RouteError::UnknownPoint {
                        caller: caller.to_owned(),
                        point: point.to_owned(),
                    })
                }
            }
        }
    };
    // Only ACTIVE plugins receive traffic.
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::ResponseError;
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
        (e.status_code().as_u16(), e.code())
    }

    #[test]
    fn plugins_and_addon_points_resolve_with_their_timeouts() {
        let t = table(1);
        let r =
            resolve(&t, Some("emoji"), Destination::Plugin { plugin: "greeter", endpoint: "hi" }, &POLICY)
                .unwrap();
        assert_eq!(
            (r.plugin.as_str(), r.endpoint.as_str(), r.timeout),
            ("greeter", "hi", Duration::from_secs(30))
        );
        let r = resolve(&t, Some("greeter"), Destination::Addon { point: "decorate" }, &POLICY).unwrap();
        assert_eq!((r.plugin.as_str(), r.endpoint.as_str()), ("emoji", "hooks/decorate"));
        assert_eq!(r.timeout, Duration::from_millis(250));
    }

    #[test]
    fn refusals_name_the_reason() {
        let t = table(1);
        let to = |plugin| Destination::Plugin { plugin, endpoint: "x" };
        assert_eq!(
            code(resolve(&t, Some("stranger"), to("emoji"), &POLICY)),
            (403, "ERR_UNREGISTERED_CALLER")
        );
        assert_eq!(code(resolve(&t, Some("greeter"), to("nope"), &POLICY)), (404, "ERR_UNKNOWN_PLUGIN"));
        assert_eq!(code(resolve(&t, Some("greeter"), to("sleepy"), &POLICY)), (503, "ERR_PLUGIN_NOT_ACTIVE"));
        let point = |point| Destination::Addon { point };
        assert_eq!(code(resolve(&t, Some("emoji"), point("decorate"), &POLICY)), (404, "ERR_UNKNOWN_POINT"));
        assert_eq!(code(resolve(&t, Some("greeter"), point("spare"), &POLICY)), (404, "ERR_NO_IMPLEMENTER"));
        // Core services call before they are registered; external clients have no caller.
        assert!(resolve(&t, Some("plugins"), to("emoji"), &POLICY).is_ok());
        assert!(resolve(&t, None, to("emoji"), &POLICY).is_ok());
    }

    #[test]
    fn only_newer_tables_replace_the_current_one() {
        let routes = Routes::default();
        let to = Destination::Plugin { plugin: "emoji", endpoint: "x" };
        assert_eq!(code(routes.resolve(Some("greeter"), to, &POLICY)), (503, "ERR_NOT_READY"));
        assert_eq!(routes.apply(table(3)), Applied::Installed { previous: None });
        assert_eq!(routes.apply(table(3)), Applied::Stale { current: 3 });
        assert_eq!(routes.apply(table(2)), Applied::Stale { current: 3 });
        assert_eq!(routes.apply(table(4)), Applied::Installed { previous: Some(3) });
        assert_eq!(routes.version(), Some(4));
        assert!(routes.resolve(Some("greeter"), to, &POLICY).is_ok());
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
