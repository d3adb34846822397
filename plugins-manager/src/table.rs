//! Pure rules over the route table: may a plugin implement the points it claims, what a plugin
//! adds to the table, what unregistering it removes. No I/O here, so registration re-checks the
//! rules against the freshest table inside every commit attempt.

use std::collections::BTreeSet;

use keel_sdk::protocol::{
    parse_version, AddonTarget, PluginStatus, PointImpl, RouteEntry, RouteTable, ValidIdentify,
};

use crate::error::RegistryError;

/// The points of one extended plugin that a new plugin will implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extended plugin.
    pub main: String,
    /// What is implemented, in the order the identify listed it.
    pub points: Vec<PointImpl>,
}

/// Step 2 of registration without its remote call: each `main_plugin` entry names a registered
/// plugin, within the version range, and points it declares that nobody else implements.
pub fn check_extensions(table: &RouteTable, plugin: &ValidIdentify) -> Result<Vec<Extension>, RegistryError> {
    let me = plugin.id.as_str();
    let mut plan = Vec::with_capacity(plugin.doc.main_plugin.len());
    for (index, main) in plugin.doc.main_plugin.iter().enumerate() {
        let entry = table
            .plugins
            .get(&main.id)
            .ok_or_else(|| RegistryError::MainNotRegistered { index, main: main.id.clone() })?;
        let wanted = &plugin.main_plugin_reqs[index];
        let in_range = parse_version("version", &entry.version).is_ok_and(|v| wanted.matches(&v));
        if !in_range {
            return Err(RegistryError::MainVersion {
                index,
                main: main.id.clone(),
                actual: entry.version.clone(),
                wanted: main.version.clone(),
            });
        }
        for imp in &main.endpoints {
            match entry.addons.get(&imp.addons) {
                None => {
                    return Err(RegistryError::PointNotDeclared {
                        index,
                        main: main.id.clone(),
                        point: imp.addons.clone(),
                        offered: offered(entry),
                    })
                }
                Some(Some(taken)) if taken.plugin != me => {
                    return Err(RegistryError::PointTaken {
                        main: main.id.clone(),
                        point: imp.addons.clone(),
                        by: taken.plugin.clone(),
                    })
                }
                Some(_) => {}
            }
        }
        plan.push(Extension { main: main.id.clone(), points: main.endpoints.clone() });
    }
    Ok(plan)
}

fn offered(entry: &RouteEntry) -> String {
    if entry.addons.is_empty() {
        "no points at all".to_owned()
    } else {
        entry.addons.keys().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", ")
    }
}

/// Adds `plugin` with `status` and makes it the implementer of the points in `plan`. A core
/// service is enabled for every tenant; any other plugin for none yet (each tenant enables it,
/// see `tenants.rs`; the platform tenant always has it).
pub fn add_plugin(
    table: &mut RouteTable,
    plugin: &ValidIdentify,
    status: PluginStatus,
    plan: &[Extension],
    core: bool,
) {
    let me = plugin.id.as_str().to_owned();
    let entry = RouteEntry {
        status,
        version: plugin.version.to_string(),
        addons: plugin.doc.addons.iter().map(|a| (a.endpoint.clone(), None)).collect(),
        public_endpoints: plugin.doc.public_endpoints.clone(),
        timeout_ms: plugin.doc.timeout_ms,
        tenants: (!core).then(BTreeSet::new),
    };
    table.plugins.insert(me.clone(), entry);
    for ext in plan {
        if let Some(main) = table.plugins.get_mut(&ext.main) {
            for imp in &ext.points {
                main.addons.insert(
                    imp.addons.clone(),
                    Some(AddonTarget { plugin: me.clone(), endpoint: imp.endpoint.clone() }),
                );
            }
        }
    }
}

/// Updates an existing entry to `plugin`'s current identify: version, public endpoints, and the
/// points it offers (a point still offered keeps its implementer; a point no longer offered goes).
pub fn refresh_entry(entry: &mut RouteEntry, plugin: &ValidIdentify) {
    entry.version = plugin.version.to_string();
    entry.public_endpoints = plugin.doc.public_endpoints.clone();
    entry.timeout_ms = plugin.doc.timeout_ms;
    let mut previous = std::mem::take(&mut entry.addons);
    entry.addons = plugin
        .doc
        .addons
        .iter()
        .map(|a| (a.endpoint.clone(), previous.remove(&a.endpoint).flatten()))
        .collect();
}

/// The other plugins implementing `id`'s points, as `point → implementer` pairs.
pub fn implementers_of(table: &RouteTable, id: &str) -> Vec<(String, String)> {
    table
        .plugins
        .get(id)
        .map(|entry| {
            entry
                .addons
                .iter()
                .filter_map(|(point, t)| {
                    t.as_ref().filter(|t| t.plugin != id).map(|t| (point.clone(), t.plugin.clone()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Removes `id` and every implementation it provided to other plugins; returns its entry.
pub fn remove_plugin(table: &mut RouteTable, id: &str) -> Option<RouteEntry> {
    let removed = table.plugins.remove(id)?;
    for entry in table.plugins.values_mut() {
        for target in entry.addons.values_mut() {
            if target.as_ref().is_some_and(|t| t.plugin == id) {
                *target = None;
            }
        }
    }
    Some(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_sdk::protocol::Identify;
    use serde_json::json;

    fn identify(v: serde_json::Value) -> ValidIdentify {
        serde_json::from_value::<Identify>(v).unwrap().validate().unwrap()
    }

    fn greeter() -> ValidIdentify {
        identify(json!({"plugin_id": "greeter", "version": "1.2.0",
            "addons": [{"endpoint": "decorate"}, {"endpoint": "sign"}]}))
    }

    fn emoji(range: &str, point: &str) -> ValidIdentify {
        identify(json!({"plugin_id": "emoji", "version": "0.1.0",
            "main_plugin": [{"id": "greeter", "version": range,
                "endpoints": [{"addons": point, "endpoint": "hooks/decorate"}]}]}))
    }

    fn with_greeter() -> RouteTable {
        let mut t = RouteTable::default();
        add_plugin(&mut t, &greeter(), PluginStatus::Active, &[], false);
        t
    }

    #[test]
    fn an_implementer_is_recorded_on_the_extended_plugin() {
        let mut t = with_greeter();
        let e = emoji("1.0", "decorate");
        let plan = check_extensions(&t, &e).unwrap();
        add_plugin(&mut t, &e, PluginStatus::Starting, &plan, false);
        let target = t.addon("greeter", "decorate").unwrap().unwrap();
        assert_eq!((target.plugin.as_str(), target.endpoint.as_str()), ("emoji", "hooks/decorate"));
        assert_eq!(t.plugins["emoji"].status, PluginStatus::Starting);
        assert_eq!(implementers_of(&t, "greeter"), vec![("decorate".to_owned(), "emoji".to_owned())]);
    }

    #[test]
    fn each_extension_refusal_names_what_to_fix() {
        let t = with_greeter();
        let err = check_extensions(&RouteTable::default(), &emoji("1.0", "decorate")).unwrap_err();
        assert!(matches!(err, RegistryError::MainNotRegistered { .. }), "{err}");
        let err = check_extensions(&t, &emoji("2.0", "decorate")).unwrap_err();
        assert!(err.to_string().contains("version 1.2.0, outside the range \"2.0\""), "{err}");
        let err = check_extensions(&t, &emoji("1.0", "nope")).unwrap_err();
        assert!(
            err.to_string().contains("no addon point \"nope\" (it offers: \"decorate\", \"sign\")"),
            "{err}"
        );
        let mut taken = t.clone();
        let other = identify(json!({"plugin_id": "other", "version": "1.0.0",
            "main_plugin": [{"id": "greeter", "version": "1", "endpoints": [{"addons": "decorate", "endpoint": "x"}]}]}));
        let plan = check_extensions(&taken, &other).unwrap();
        add_plugin(&mut taken, &other, PluginStatus::Active, &plan, false);
        let err = check_extensions(&taken, &emoji("1.0", "decorate")).unwrap_err();
        assert!(err.to_string().contains("already implemented by plugin \"other\""), "{err}");
    }

    #[test]
    fn refreshing_an_entry_keeps_implementers_of_points_still_offered() {
        let mut t = with_greeter();
        let e = emoji("1", "decorate");
        let plan = check_extensions(&t, &e).unwrap();
        add_plugin(&mut t, &e, PluginStatus::Active, &plan, false);
        let upgraded = identify(json!({"plugin_id": "greeter", "version": "1.3.0", "timeout_ms": 30000,
            "addons": [{"endpoint": "decorate"}, {"endpoint": "translate"}], "public_endpoints": ["login"]}));
        let entry = t.plugins.get_mut("greeter").unwrap();
        refresh_entry(entry, &upgraded);
        assert_eq!(entry.version, "1.3.0");
        assert_eq!(entry.public_endpoints, vec!["login".to_owned()]);
        assert_eq!(entry.timeout_ms, Some(30_000));
        assert_eq!(t.addon("greeter", "decorate").unwrap().unwrap().plugin, "emoji");
        assert_eq!(t.addon("greeter", "translate"), Ok(None));
        assert_eq!(t.addon("greeter", "sign"), Err(()));
    }

    #[test]
    fn removing_a_plugin_frees_the_points_it_implemented() {
        let mut t = with_greeter();
        let e = emoji("1", "decorate");
        let plan = check_extensions(&t, &e).unwrap();
        add_plugin(&mut t, &e, PluginStatus::Active, &plan, false);
        assert!(remove_plugin(&mut t, "emoji").is_some());
        assert_eq!(t.addon("greeter", "decorate"), Ok(None));
        assert!(remove_plugin(&mut t, "emoji").is_none());
    }
}
