//! May the person behind a ticket develop, operate or administer a plugin (TarsWeb's
//! `hasDevAuth`, `hasOpeAuth`, `hasAdminAuth`)? TarsWeb's roles and flags map onto what Keel
//! already has, conservatively (docs/console.md, "Tickets and permissions"):
//!
//! | Keel | develop | operate | administer |
//! |---|---|---|---|
//! | platform scope (super-admin, platform roles) — TarsWeb admin on `*` | yes | yes | yes |
//! | the tenant's `admin`, plugin enabled for the tenant — admin on `<app>` | yes | yes | yes |
//! | a role granted the plugin (or `*`), plugin enabled — developer on `<app>` (`*`) | yes | no | no |
//! | anyone else | no | no | no |
//!
//! Keel has no operator role: operating a plugin (restarts, configuration) changes it for the
//! whole tenant, so it needs the tenant's admin. The core services (keel, the registry, auth)
//! are administered by platform scope only; an unknown target is refused by name.

use keel_sdk::access::Scope;
use keel_sdk::management::tickets::{Action, SessionUser};
use keel_sdk::protocol::{RouteTable, CORE_APP_IDS};
use keel_sdk::tokens::{roles, ANY_PLUGIN};

use crate::model::TenantRecord;

/// The decision and the rule that made it, as a sentence.
pub fn decide(
    user: &SessionUser,
    tenant: &TenantRecord,
    table: &RouteTable,
    target: &str,
    action: Action,
) -> (bool, String) {
    let act = action.as_str();
    if user.scope == Scope::Platform {
        return (true, format!("{:?} has platform scope, which may {act} every plugin", user.username));
    }
    if CORE_APP_IDS.contains(&target) {
        return (false, format!("{target:?} is a core service: only platform scope may {act} it"));
    }
    let enabled = match (table.plugins.get(target), table.services.get(target)) {
        (Some(plugin), _) => plugin.enabled_for(&tenant.id),
        // Pushed services belong to the platform: no tenant enables them.
        (None, Some(_)) => tenant.id == keel_sdk::tokens::PLATFORM_TENANT,
        (None, None) => {
            return (false, format!("no plugin or service {target:?} is registered"));
        }
    };
    if !enabled {
        return (false, format!("{target:?} is not enabled for tenant {:?}", tenant.id));
    }
    if user.roles.iter().any(|r| r == roles::ADMIN) {
        return (
            true,
            format!("{:?} is an admin of tenant {:?}, where {target:?} is enabled", user.username, tenant.id),
        );
    }
    let granted = user.roles.iter().find(|r| {
        tenant
            .roles
            .get(r.as_str())
            .is_some_and(|role| role.plugins.contains(target) || role.plugins.contains(ANY_PLUGIN))
    });
    match (action, granted) {
        (Action::Develop, Some(role)) => (true, format!("role {role:?} is granted {target:?}")),
        (Action::Develop, None) => {
            (false, format!("none of {:?}'s roles is granted {target:?}", user.username))
        }
        (_, _) => (
            false,
            format!("to {act} {target:?} needs the admin role of tenant {:?} or platform scope", tenant.id),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RoleRecord;
    use keel_sdk::protocol::{PluginStatus, RouteEntry};
    use std::collections::BTreeSet;

    fn user(tenant: &str, roles: &[&str], scope: Scope) -> SessionUser {
        SessionUser {
            username: "ann".into(),
            tenant: tenant.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            scope,
        }
    }

    fn acme() -> TenantRecord {
        let mut t = TenantRecord::new("acme", "Acme", 0);
        let plugins = BTreeSet::from(["notes".to_owned()]);
        t.roles.insert("writers".into(), RoleRecord { plugins, ..RoleRecord::default() });
        t
    }

    fn table() -> RouteTable {
        let entry = |tenants: &[&str]| RouteEntry {
            status: PluginStatus::Active,
            version: "1.0.0".into(),
            addons: Default::default(),
            public_endpoints: vec![],
            timeout_ms: None,
            tenants: Some(tenants.iter().map(|t| (*t).to_owned()).collect()),
        };
        let mut t = RouteTable::default();
        t.plugins.insert("notes".into(), entry(&["acme"]));
        t.plugins.insert("billing".into(), entry(&[]));
        t
    }

    fn allowed(u: &SessionUser, target: &str, action: Action) -> bool {
        decide(u, &acme(), &table(), target, action).0
    }

    #[test]
    fn platform_scope_does_everything_even_on_core_services() {
        let root = user("platform", &["super-admin"], Scope::Platform);
        for a in [Action::Develop, Action::Operate, Action::Administer] {
            assert!(allowed(&root, "notes", a) && allowed(&root, "auth", a) && allowed(&root, "billing", a));
        }
    }

    #[test]
    fn a_tenant_admin_administers_what_the_tenant_enabled_and_nothing_else() {
        let admin = user("acme", &["admin"], Scope::Tenant);
        assert!(allowed(&admin, "notes", Action::Administer));
        assert!(allowed(&admin, "notes", Action::Operate));
        assert!(!allowed(&admin, "billing", Action::Develop), "not enabled for acme");
        assert!(!allowed(&admin, "auth", Action::Develop), "core");
        let (ok, reason) = decide(&admin, &acme(), &table(), "ghost", Action::Develop);
        assert!(!ok && reason.contains("no plugin or service \"ghost\""), "{reason}");
    }

    #[test]
    fn a_granted_role_develops_but_neither_operates_nor_administers() {
        let writer = user("acme", &["user", "writers"], Scope::Tenant);
        assert!(allowed(&writer, "notes", Action::Develop));
        assert!(!allowed(&writer, "notes", Action::Operate));
        assert!(!allowed(&writer, "notes", Action::Administer));
        let plain = user("acme", &["user"], Scope::Tenant);
        let (ok, reason) = decide(&plain, &acme(), &table(), "notes", Action::Develop);
        assert!(!ok && reason.contains("none of"), "{reason}");
    }
}
