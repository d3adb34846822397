//! Which plugins each tenant has enabled (tKeel's model, `platform.md` §9–10): a tenant's admin
//! (or platform scope) enables a plugin for the tenant, which enables the plugins it declares in
//! its `dependence` too; keel refuses a tenant's users a plugin not enabled for their tenant. The
//! set lives in each route entry's `tenants`, so it is persisted with the route table (one
//! conditional write through the Dapr state API) and pushed to keel with it. Core services
//! (`tenants: None`) and the platform tenant have every plugin, always.
//!
//! Each plugin is told through its optional `POST /v1/tenant/enable` / `/v1/tenant/disable`
//! (`keel_sdk::protocol::TenantHook`; a 404 means it keeps nothing per tenant). Enabling is
//! all-or-nothing: the plugins are told first, dependencies first; if one refuses, those already
//! told are told to disable again and nothing is written. Disabling is refused while another plugin
//! enabled for the tenant needs the plugin; the plugin's own refusal to disable is only logged, as
//! the tenant's users lose access either way.

use std::collections::{BTreeMap, BTreeSet};

use keel_sdk::management::registry::{TenantChange, TenantPlugin, TenantPlugins};
use keel_sdk::protocol::{parse_version, parse_version_req, paths, PluginId, RouteTable, TenantHook};
use keel_sdk::tokens::PLATFORM_TENANT;

use crate::error::RegistryError;
use crate::model::PluginRecord;
use crate::registry::Registry;

/// Checks a tenant id: a DNS label, as auth keeps them.
pub fn check_tenant(tenant: &str) -> Result<(), RegistryError> {
    PluginId::parse(tenant).map(|_| ()).map_err(|_| RegistryError::BadTenant(tenant.to_owned()))
}

/// Whether `id` is enabled for `tenant` without anyone enabling it (a core service, or any plugin
/// for the platform tenant).
fn always(table: &RouteTable, tenant: &str, id: &str) -> bool {
    tenant == PLATFORM_TENANT || table.plugins.get(id).is_some_and(|e| e.tenants.is_none())
}

impl Registry {
    /// Every plugin the users of `tenant` may call.
    pub async fn tenant_plugins(&self, tenant: &str) -> Result<TenantPlugins, RegistryError> {
        check_tenant(tenant)?;
        let (table, _) = self.store.table().await?;
        let plugins = table
            .plugins
            .iter()
            .filter(|(_, entry)| entry.enabled_for(tenant))
            .map(|(id, _)| TenantPlugin { id: id.clone(), always: always(&table, tenant, id) })
            .collect();
        Ok(TenantPlugins { tenant: tenant.to_owned(), plugins })
    }

    /// Enables `id` and the plugins it needs for `tenant`, telling each (dependencies first).
    pub async fn enable(
        &self,
        tenant: &str,
        id: &str,
        extra: serde_json::Value,
    ) -> Result<TenantChange, RegistryError> {
        check_tenant(tenant)?;
        PluginId::parse(id).map_err(RegistryError::InvalidId)?;
        let (table, _) = self.store.table().await?;
        let order = self.with_dependencies(&table, id).await?;
        let wanted: Vec<String> = order
            .into_iter()
            .filter(|p| table.plugins.get(p).is_some_and(|e| !e.enabled_for(tenant)))
            .collect();
        if wanted.is_empty() {
            return Ok(TenantChange { tenant: tenant.to_owned(), plugin: id.to_owned(), changed: vec![] });
        }
        let hook = TenantHook { tenant_id: tenant.to_owned(), extra };
        let mut told = Vec::with_capacity(wanted.len());
        for plugin in &wanted {
            match self.calls.tenant_hook(plugin, paths::TENANT_ENABLE, &hook).await {
                Ok(_) => told.push(plugin.as_str()),
                Err(e) => {
                    self.take_back(tenant, &told).await;
                    return Err(e);
                }
            }
        }
        let committed = self
            .store
            .commit(|t| {
                for plugin in &wanted {
                    let entry =
                        t.plugins.get_mut(plugin).ok_or_else(|| RegistryError::NotFound(plugin.clone()))?;
                    if let Some(tenants) = entry.tenants.as_mut() {
                        tenants.insert(tenant.to_owned());
                    }
                }
                Ok(vec![])
            })
            .await;
        let table = match committed {
            Ok(table) => table,
            Err(e) => {
                self.take_back(tenant, &told).await;
                return Err(e);
            }
        };
        if let Some(table) = &table {
            tracing::info!(tenant, plugin = id, enabled = ?wanted, table_version = table.version, "Plugins enabled for a tenant");
            self.calls.push_routes(table).await;
        }
        Ok(TenantChange { tenant: tenant.to_owned(), plugin: id.to_owned(), changed: wanted })
    }

    /// Disables `id` for `tenant`: refused for core services and the platform tenant, and while
    /// another plugin enabled for the tenant needs it.
    pub async fn disable(&self, tenant: &str, id: &str) -> Result<TenantChange, RegistryError> {
        check_tenant(tenant)?;
        PluginId::parse(id).map_err(RegistryError::InvalidId)?;
        let (table, _) = self.store.table().await?;
        let entry = table.plugins.get(id).ok_or_else(|| RegistryError::NotFound(id.to_owned()))?;
        if always(&table, tenant, id) {
            return Err(RegistryError::AlwaysEnabled { id: id.to_owned(), tenant: tenant.to_owned() });
        }
        let unchanged = TenantChange { tenant: tenant.to_owned(), plugin: id.to_owned(), changed: vec![] };
        if !entry.enabled_for(tenant) {
            return Ok(unchanged);
        }
        let enabled: Vec<String> = table
            .plugins
            .iter()
            .filter(|(other, e)| {
                other.as_str() != id && e.tenants.as_ref().is_some_and(|t| t.contains(tenant))
            })
            .map(|(other, _)| other.clone())
            .collect();
        let records = self.store.records(&enabled).await?;
        let dependents = dependents_of(&records, id);
        if !dependents.is_empty() {
            let dependents = dependents.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>().join(", ");
            return Err(RegistryError::NeededBy { id: id.to_owned(), tenant: tenant.to_owned(), dependents });
        }
        let table = self
            .store
            .commit(|t| {
                if let Some(tenants) = t.plugins.get_mut(id).and_then(|e| e.tenants.as_mut()) {
                    tenants.remove(tenant);
                }
                Ok(vec![])
            })
            .await?;
        let Some(table) = table else { return Ok(unchanged) };
        tracing::info!(tenant, plugin = id, table_version = table.version, "Plugin disabled for a tenant");
        self.calls.push_routes(&table).await;
        self.tell_disabled(tenant, id).await;
        Ok(TenantChange { tenant: tenant.to_owned(), plugin: id.to_owned(), changed: vec![id.to_owned()] })
    }

    /// `id` and every plugin it needs, transitively, dependencies first; each must be registered
    /// and in the version range its dependant declared.
    async fn with_dependencies(&self, table: &RouteTable, id: &str) -> Result<Vec<String>, RegistryError> {
        if !table.plugins.contains_key(id) {
            return Err(RegistryError::NotFound(id.to_owned()));
        }
        let mut order = Vec::new();
        let mut seen = BTreeSet::new();
        // Depth-first, post-order; `stack` holds (plugin, whether its dependencies are pushed).
        let mut stack = vec![(id.to_owned(), false)];
        while let Some((plugin, expanded)) = stack.pop() {
            if expanded {
                order.push(plugin);
                continue;
            }
            if !seen.insert(plugin.clone()) {
                continue;
            }
            stack.push((plugin.clone(), true));
            let Some(record) = self.store.record(&plugin).await? else { continue };
            for dep in &record.identify.dependence {
                check_dependency(table, &plugin, &dep.id, &dep.version)?;
                if !seen.contains(&dep.id) {
                    stack.push((dep.id.clone(), false));
                }
            }
        }
        Ok(order)
    }

    /// Tells the plugins in `told` that `tenant` disabled them again (an enabling that failed).
    async fn take_back(&self, tenant: &str, told: &[&str]) {
        for plugin in told.iter().rev() {
            self.tell_disabled(tenant, plugin).await;
        }
    }

    /// `POST /v1/tenant/disable` on `id`; a failure is only logged.
    async fn tell_disabled(&self, tenant: &str, id: &str) {
        let hook = TenantHook { tenant_id: tenant.to_owned(), extra: serde_json::Value::Null };
        if let Err(error) = self.calls.tenant_hook(id, paths::TENANT_DISABLE, &hook).await {
            tracing::warn!(tenant, plugin = id, %error, "The plugin was not told that the tenant disabled it");
        }
    }
}

/// `plugin` needs `dep` in `range`: it is registered, at a version in the range.
fn check_dependency(table: &RouteTable, plugin: &str, dep: &str, range: &str) -> Result<(), RegistryError> {
    let missing = |reason: String| RegistryError::DependencyMissing {
        plugin: plugin.to_owned(),
        dependency: dep.to_owned(),
        reason,
    };
    let entry = table.plugins.get(dep).ok_or_else(|| missing("is not registered".into()))?;
    let req = parse_version_req("dependence version", range).map_err(|e| missing(e.to_string()))?;
    match parse_version("version", &entry.version) {
        Ok(v) if req.matches(&v) => Ok(()),
        _ => Err(missing(format!("is at version {}, outside the range {range:?}", entry.version))),
    }
}

/// The plugins among `records` that declare `id` in their `dependence`.
fn dependents_of(records: &BTreeMap<String, PluginRecord>, id: &str) -> Vec<String> {
    records
        .values()
        .filter(|r| r.identify.dependence.iter().any(|d| d.id == id))
        .map(|r| r.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_sdk::protocol::{Identify, PluginStatus, RouteEntry};
    use serde_json::json;

    fn entry(version: &str, tenants: Option<&[&str]>) -> RouteEntry {
        RouteEntry {
            status: PluginStatus::Active,
            version: version.into(),
            addons: BTreeMap::new(),
            public_endpoints: vec![],
            timeout_ms: None,
            tenants: tenants.map(|t| t.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn core_services_and_the_platform_tenant_are_always_enabled() {
        let mut t = RouteTable::default();
        t.plugins.insert("auth".into(), entry("1.0.0", None));
        t.plugins.insert("echo".into(), entry("1.0.0", Some(&[])));
        assert!(always(&t, "acme", "auth"));
        assert!(always(&t, PLATFORM_TENANT, "echo"));
        assert!(!always(&t, "acme", "echo"));
    }

    #[test]
    fn a_dependency_must_be_registered_in_range() {
        let mut t = RouteTable::default();
        t.plugins.insert("base".into(), entry("1.4.0", Some(&[])));
        assert!(check_dependency(&t, "app", "base", "1.2").is_ok());
        let err = check_dependency(&t, "app", "base", "2").unwrap_err().to_string();
        assert!(err.contains("is at version 1.4.0, outside the range \"2\""), "{err}");
        let err = check_dependency(&t, "app", "nope", "*").unwrap_err().to_string();
        assert!(err.contains("needs plugin \"nope\"") && err.contains("not registered"), "{err}");
    }

    #[test]
    fn dependents_are_found_by_their_dependence() {
        let record = |id: &str, deps: serde_json::Value| PluginRecord {
            id: id.into(),
            identify: serde_json::from_value::<Identify>(
                json!({"plugin_id": id, "version": "1.0.0", "dependence": deps}),
            )
            .unwrap(),
            registered_at_ms: 0,
            core: false,
            credentials: None,
        };
        let records: BTreeMap<String, PluginRecord> = [
            ("app".to_owned(), record("app", json!([{"id": "base", "version": "1"}]))),
            ("other".to_owned(), record("other", json!([]))),
        ]
        .into();
        assert_eq!(dependents_of(&records, "base"), vec!["app".to_owned()]);
        assert!(dependents_of(&records, "app").is_empty());
        assert!(check_tenant("acme").is_ok());
        assert!(check_tenant("Acme!").is_err());
    }
}
