//! What auth publishes for keel in the shared state store (store `statestore`, whose key prefix
//! is the store name, so every core app sees the same keys): the revoked access tokens and the
//! role grants. Keel re-reads both on a timer, never per request.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::claims::{roles, Identity};
use crate::protocol::AUTH_APP_ID;

/// State key of the [`RevokedDoc`].
pub const REVOKED_KEY: &str = "auth/revoked";
/// State key of auth's tenant directory; keel reads its grants through [`GrantsView`].
pub const TENANTS_KEY: &str = "auth/tenants";
/// A grant naming this plugin id allows every plugin.
pub const ANY_PLUGIN: &str = "*";

/// Revoked access tokens that have not expired yet: `jti` → `exp`. Auth drops an entry once the
/// token has expired anyway, so the document stays small.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedDoc {
    /// Revoked token ids and their expiry (seconds since the epoch).
    #[serde(default)]
    pub jtis: BTreeMap<String, u64>,
}

/// The part of auth's tenant directory ([`TENANTS_KEY`]) that decides who may call which plugin:
/// for each tenant, for each role, the plugins granted. Auth's own record has more fields
/// (names, descriptions, times); they are ignored here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantsView {
    /// By tenant id.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantGrants>,
}

/// One tenant's roles and their grants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantGrants {
    /// By role name.
    #[serde(default)]
    pub roles: BTreeMap<String, RoleGrants>,
}

/// The plugins one role may call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGrants {
    /// Plugin ids, or [`ANY_PLUGIN`].
    #[serde(default)]
    pub plugins: BTreeSet<String>,
}

impl GrantsView {
    /// May `identity` call plugin `plugin_id`? Yes for the super-admin and tenant admins (admins
    /// call everything), for auth itself, for a client calling its own plugin, and when one of
    /// the identity's roles in its tenant is granted the plugin (or [`ANY_PLUGIN`]).
    pub fn can_call(&self, identity: &Identity, plugin_id: &str) -> bool {
        // Every verified identity may call auth: it checks each of its own endpoints itself (a
        // user changes their own password, an admin manages their tenant).
        if plugin_id == AUTH_APP_ID || identity.is_admin_of(&identity.tenant) {
            return true;
        }
        if identity.client_id.as_deref() == Some(plugin_id) {
            return true;
        }
        let Some(tenant) = self.tenants.get(&identity.tenant) else { return false };
        identity.roles.iter().filter(|r| r.as_str() != roles::SUPER_ADMIN).any(|role| {
            tenant
                .roles
                .get(role)
                .is_some_and(|g| g.plugins.contains(plugin_id) || g.plugins.contains(ANY_PLUGIN))
        })
    }
}
