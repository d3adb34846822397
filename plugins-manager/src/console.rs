//! Console entries (issue 16): the rules over the route table's `console` map, and the API's
//! operations on it. Entries live in the route table itself, so a path's uniqueness is decided
//! inside the same conditional write as every other change (two registrants racing for a path
//! cannot both win), and keel gets them swapped in with the rest of the table.
//!
//! - A plugin's `/v1/identify` entries are written with its registration ([`declare`]) and go
//!   with its unregistration ([`drop_owner`]); only that changes them.
//! - Any Dapr app registers its own entries with `PUT /v1/console/entries` (TarsWeb's
//!   `registerPlugin`, an idempotent upsert keyed by path; a platform admin may do it for any
//!   app) and removes them with `DELETE /v1/console/entries?path=`.
//! - A proxied path is `/plugins/<owner>/...`, checked by [`ConsoleEntry::check`], so two
//!   registrants never share a group.

use keel_sdk::management::console::{
    ConsoleEntryView, ConsoleListQuery, ConsoleListing, ConsoleRegistration, OwnerKind, UNKNOWN_STATUS,
};
use keel_sdk::protocol::{
    ConsoleEntry, ConsoleRoute, ConsoleSource, PluginId, RouteTable, KEEL_APP_ID, MAX_CONSOLE_ENTRIES,
};

use crate::authorize::Caller;
use crate::error::RegistryError;
use crate::registry::Registry;

// === rules over the table (pure: they run again inside every commit attempt) ===

/// Makes `entries` (validated with the identify) the entries `owner` declares in its identify:
/// the ones it declared before go, a path it registered through `PUT` becomes declared, and a
/// path held by anyone else is refused.
pub fn declare(table: &mut RouteTable, owner: &str, entries: &[ConsoleEntry]) -> Result<(), RegistryError> {
    for entry in entries {
        if let Some(held) = table.console.get(&entry.path).filter(|r| r.owner != owner) {
            return Err(RegistryError::ConsolePathTaken {
                path: entry.path.clone(),
                owner: held.owner.clone(),
            });
        }
    }
    table.console.retain(|_, r| !(r.owner == owner && r.source == ConsoleSource::Identify));
    for entry in entries {
        let route =
            ConsoleRoute { entry: entry.clone(), owner: owner.to_owned(), source: ConsoleSource::Identify };
        table.console.insert(entry.path.clone(), route);
    }
    Ok(())
}

/// Removes every entry of `owner`, however registered (it is no longer there to serve them).
pub fn drop_owner(table: &mut RouteTable, owner: &str) -> usize {
    let before = table.console.len();
    table.console.retain(|_, r| r.owner != owner);
    before - table.console.len()
}

/// `PUT`'s rule: inserts or replaces `owner`'s entry at `entry.path`. Refused when another
/// registrant holds the path, when a registered plugin declared it in its identify, or when the
/// owner already holds [`MAX_CONSOLE_ENTRIES`] other entries.
pub fn upsert(table: &mut RouteTable, owner: &str, entry: &ConsoleEntry) -> Result<(), RegistryError> {
    match table.console.get(&entry.path) {
        Some(held) if held.owner != owner => {
            return Err(RegistryError::ConsolePathTaken {
                path: entry.path.clone(),
                owner: held.owner.clone(),
            })
        }
        Some(held) if declared(table, held) => {
            return Err(RegistryError::ConsoleDeclared { path: entry.path.clone(), owner: owner.to_owned() })
        }
        Some(_) => {}
        None => {
            if table.console.values().filter(|r| r.owner == owner).count() >= MAX_CONSOLE_ENTRIES {
                return Err(RegistryError::TooManyConsoleEntries {
                    owner: owner.to_owned(),
                    max: MAX_CONSOLE_ENTRIES,
                });
            }
        }
    }
    let route = ConsoleRoute { entry: entry.clone(), owner: owner.to_owned(), source: ConsoleSource::Put };
    table.console.insert(entry.path.clone(), route);
    Ok(())
}

/// `DELETE`'s rule: removes the entry at `path` (checked by the caller against its owner), unless
/// a registered plugin declared it.
pub fn remove(table: &mut RouteTable, path: &str) -> Result<ConsoleRoute, RegistryError> {
    let held = table.console.get(path).ok_or_else(|| RegistryError::ConsoleNotFound(path.to_owned()))?;
    if declared(table, held) {
        return Err(RegistryError::ConsoleDeclared { path: path.to_owned(), owner: held.owner.clone() });
    }
    table.console.remove(path).ok_or_else(|| RegistryError::ConsoleNotFound(path.to_owned()))
}

/// Declared in the identify of a plugin that is registered (only its registration changes it).
fn declared(table: &RouteTable, route: &ConsoleRoute) -> bool {
    route.source == ConsoleSource::Identify && table.plugins.contains_key(&route.owner)
}

/// The entry as listed, with its owner's kind and status from `table`.
pub fn view(table: &RouteTable, route: &ConsoleRoute) -> ConsoleEntryView {
    let (owner_kind, status) = match (table.plugins.get(&route.owner), table.services.get(&route.owner)) {
        (Some(plugin), _) => (OwnerKind::Plugin, plugin.status.to_string()),
        (None, Some(pushed)) => (OwnerKind::Service, pushed.status.to_string()),
        (None, None) => (OwnerKind::Service, UNKNOWN_STATUS.to_owned()),
    };
    let e = &route.entry;
    ConsoleEntryView {
        name: e.name.clone(),
        name_en: e.name_en.clone(),
        obj: route.owner.clone(),
        kind: e.kind,
        path: e.path.clone(),
        external: e.external,
        owner: route.owner.clone(),
        owner_kind,
        status,
    }
}

/// Every entry of `table` (of type `kind` when given), by ascending path.
pub fn listing(table: &RouteTable, kind: Option<u8>) -> ConsoleListing {
    let entries = table
        .console
        .values()
        .filter(|r| kind.is_none_or(|k| r.entry.kind == k))
        .map(|r| view(table, r))
        .collect();
    ConsoleListing { entries }
}

// === the API's operations ===

impl Registry {
    /// `GET /v1/console/entries[?type=]`.
    pub async fn console_entries(&self, q: ConsoleListQuery) -> Result<ConsoleListing, RegistryError> {
        if let Some(k) = q.kind.filter(|k| !(1..=3).contains(k)) {
            return Err(RegistryError::BadRequest(format!("type {k} is not an entry type: use 1, 2 or 3")));
        }
        Ok(listing(&self.store.table().await?.0, q.kind))
    }

    /// `PUT /v1/console/entries`: `caller` registers `reg` for `reg.obj` (itself, unless it is a
    /// platform admin). Same body again: the same record, nothing written.
    pub async fn put_console(
        &self,
        caller: &Caller,
        reg: ConsoleRegistration,
    ) -> Result<ConsoleEntryView, RegistryError> {
        let owner = PluginId::parse(&reg.obj).map_err(RegistryError::InvalidId)?;
        // keel never routes to itself nor to `addons` (they are not plugins' groups).
        if [KEEL_APP_ID, "addons"].contains(&owner.as_str()) {
            return Err(RegistryError::ReservedId(owner.to_string()));
        }
        caller.may_act_for(owner.as_str())?;
        let entry = reg.entry();
        entry.check(owner.as_str()).map_err(RegistryError::BadConsoleEntry)?;
        let mut answered = None;
        let table = self
            .store
            .commit(|t| {
                upsert(t, owner.as_str(), &entry)?;
                answered = t.console.get(&entry.path).map(|r| view(t, r));
                Ok(vec![])
            })
            .await?;
        let view = answered.ok_or_else(|| RegistryError::Internal("upserted entry vanished".into()))?;
        if let Some(table) = table {
            tracing::info!(owner = %owner, path = %entry.path, table_version = table.version, "Console entry registered");
            self.calls.push_routes(&table).await;
        }
        Ok(view)
    }

    /// `DELETE /v1/console/entries?path=`: by the entry's owner or a platform admin; the entry as
    /// it was.
    pub async fn delete_console(
        &self,
        caller: &Caller,
        path: &str,
    ) -> Result<ConsoleEntryView, RegistryError> {
        let (current, _) = self.store.table().await?;
        let held =
            current.console.get(path).ok_or_else(|| RegistryError::ConsoleNotFound(path.to_owned()))?;
        caller.may_act_for(&held.owner)?;
        let owner = held.owner.clone();
        let mut removed = None;
        let table = self
            .store
            .commit(|t| {
                // The owner may have changed since the check above only if the entry went and
                // came back: check it again against the table written.
                if t.console.get(path).is_some_and(|r| r.owner != owner) {
                    return Err(RegistryError::ConsolePathTaken {
                        path: path.to_owned(),
                        owner: owner.clone(),
                    });
                }
                let route = remove(t, path)?;
                removed = Some(view(t, &route));
                Ok(vec![])
            })
            .await?
            .ok_or_else(|| RegistryError::Internal("deleting a console entry changed nothing".into()))?;
        tracing::info!(%owner, path, table_version = table.version, "Console entry removed");
        self.calls.push_routes(&table).await;
        removed.ok_or_else(|| RegistryError::Internal("removed entry vanished".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_sdk::protocol::{PluginStatus, RouteEntry};

    fn entry(path: &str) -> ConsoleEntry {
        ConsoleEntry {
            name: "笔记".into(), name_en: "Notes".into(), kind: 2, path: path.into(), external: 0
        }
    }

    fn with_plugin(id: &str) -> RouteTable {
        let mut t = RouteTable::default();
        let e = RouteEntry::new(PluginStatus::Active, "1.0.0");
        t.plugins.insert(id.into(), e);
        t
    }

    #[test]
    fn a_registration_declares_and_an_unregistration_drops() {
        let mut t = with_plugin("notes");
        declare(&mut t, "notes", &[entry("/plugins/notes/a"), entry("/plugins/notes/b")]).unwrap();
        assert_eq!(t.console.len(), 2);
        // A refresh replaces what it declared before.
        declare(&mut t, "notes", &[entry("/plugins/notes/b")]).unwrap();
        assert_eq!(t.console.keys().collect::<Vec<_>>(), ["/plugins/notes/b"]);
        let listed = listing(&t, None);
        assert_eq!(listed.entries[0].owner_kind, OwnerKind::Plugin);
        assert_eq!(listed.entries[0].status, "ACTIVE");
        assert_eq!(drop_owner(&mut t, "notes"), 1);
        assert!(t.console.is_empty());
    }

    #[test]
    fn put_is_an_idempotent_upsert_that_cannot_touch_what_others_hold() {
        let mut t = with_plugin("notes");
        declare(&mut t, "notes", &[entry("/plugins/notes/a")]).unwrap();
        upsert(&mut t, "svc", &entry("/plugins/svc/ui")).unwrap();
        let once = t.clone();
        upsert(&mut t, "svc", &entry("/plugins/svc/ui")).unwrap();
        assert_eq!(t, once, "the same body again changes nothing");
        let view = view(&t, &t.console["/plugins/svc/ui"]);
        assert_eq!((view.owner_kind, view.status.as_str()), (OwnerKind::Service, "UNKNOWN"));
        let err = upsert(&mut t, "notes", &entry("/plugins/notes/a")).unwrap_err();
        assert!(err.to_string().contains("declared by plugin \"notes\" in its /v1/identify"), "{err}");
        let err = upsert(&mut t, "other", &entry("/plugins/svc/ui")).unwrap_err();
        assert!(matches!(err, RegistryError::ConsolePathTaken { .. }), "{err}");
        let err = remove(&mut t, "/plugins/notes/a").unwrap_err();
        assert!(matches!(err, RegistryError::ConsoleDeclared { .. }), "{err}");
        assert!(matches!(remove(&mut t, "/nope").unwrap_err(), RegistryError::ConsoleNotFound(_)));
        assert_eq!(remove(&mut t, "/plugins/svc/ui").unwrap().owner, "svc");
        assert_eq!(listing(&t, Some(1)).entries.len(), 0);
        assert_eq!(listing(&t, Some(2)).entries.len(), 1);
    }

    #[test]
    fn a_registrant_holds_a_bounded_number_of_entries() {
        let mut t = RouteTable::default();
        for i in 0..MAX_CONSOLE_ENTRIES {
            upsert(&mut t, "svc", &entry(&format!("/plugins/svc/{i}"))).unwrap();
        }
        upsert(&mut t, "svc", &entry("/plugins/svc/0")).unwrap();
        let err = upsert(&mut t, "svc", &entry("/plugins/svc/x")).unwrap_err();
        assert!(err.to_string().contains("holds 16 console entries"), "{err}");
    }

    #[test]
    fn a_plugin_takes_over_the_paths_its_app_put_before_registering() {
        let mut t = RouteTable::default();
        upsert(&mut t, "notes", &entry("/plugins/notes/a")).unwrap();
        t.plugins = with_plugin("notes").plugins;
        declare(&mut t, "notes", &[entry("/plugins/notes/a")]).unwrap();
        assert_eq!(t.console["/plugins/notes/a"].source, ConsoleSource::Identify);
        let mut stolen = t.clone();
        stolen.console.get_mut("/plugins/notes/a").unwrap().owner = "other".into();
        let err = declare(&mut stolen, "notes", &[entry("/plugins/notes/a")]).unwrap_err();
        assert!(matches!(err, RegistryError::ConsolePathTaken { .. }), "{err}");
    }
}
