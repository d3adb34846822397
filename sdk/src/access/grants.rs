//! What internal callers may do on the core services' management APIs: grants by app-id. The
//! core services hold the grants their own calls need; a plugin holds only what a platform admin
//! configures for it. Being a core app-id grants nothing by itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::protocol::{AUTH_APP_ID, KEEL_APP_ID, REGISTRY_APP_ID};

/// One thing an app may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grant {
    /// Register and unregister plugins.
    RegisterPlugins,
    /// Install and uninstall hosted bundles.
    InstallBundles,
    /// Rotate signing keys.
    RotateKeys,
    /// Manage tenants, users and roles.
    ManageTenants,
    /// Enable and disable plugins for tenants.
    EnablePlugins,
    /// Push the route table to keel.
    PushRoutes,
    /// Read keel's route table.
    ReadRoutes,
    /// Set and remove plugins' client credentials in auth.
    SetClientCredentials,
    /// Report a plugin unreachable on live traffic (keel's passive health).
    ReportHealth,
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s =
            serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        f.write_str(&s)
    }
}

/// Grants by app-id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppGrants(pub BTreeMap<String, BTreeSet<Grant>>);

impl AppGrants {
    /// What the core services' own calls need: the registry pushes routes, reads them back and
    /// sets plugins' client credentials; keel and auth read the route table, and keel reports
    /// plugins its live requests cannot reach.
    pub fn core_defaults() -> Self {
        let mut g = Self::default();
        g.add(REGISTRY_APP_ID, [Grant::PushRoutes, Grant::ReadRoutes, Grant::SetClientCredentials]);
        g.add(KEEL_APP_ID, [Grant::ReadRoutes, Grant::ReportHealth]);
        g.add(AUTH_APP_ID, [Grant::ReadRoutes]);
        g
    }

    /// Gives `app` the `grants`.
    pub fn add(&mut self, app: &str, grants: impl IntoIterator<Item = Grant>) -> &mut Self {
        self.0.entry(app.to_owned()).or_default().extend(grants);
        self
    }

    /// Whether `app` holds `grant`.
    pub fn has(&self, app: &str, grant: Grant) -> bool {
        self.0.get(app).is_some_and(|g| g.contains(&grant))
    }
}
