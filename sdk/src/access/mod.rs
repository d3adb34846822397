//! Who may do what on the platform (`platform.md` §10), the rule every core service applies at
//! its own door. Two scopes of administration — [`Scope::Platform`] and [`Scope::Tenant`] — and
//! grants for internal callers: a decision is made on the *verified* scope and tenant keel vouches
//! for, or on the grants of the calling app, never on a role name or on being a core app-id.
//!
//! Who is asking ([`Principal`]) is read from headers only where they can be trusted:
//! `dapr-caller-app-id` is stamped by the caller's sidecar (an app cannot forge it); the
//! `x-keel-*` identity headers are believed only when that caller is keel, which drops whatever a
//! client sent before setting them. A request with no sidecar caller at all reached the app port
//! directly, which production prevents with `APP_API_TOKEN`; it is [`Principal::Local`] and is
//! trusted only where the service's [`Policy`] says so (local development).
//!
//! ```
//! use keel_sdk::access::{Permission, Person, Policy, Principal, Scope};
//! let ann = Principal::Person(Person::new("ann", "acme", Scope::Tenant, vec!["admin".into()]));
//! let policy = Policy::default();
//! assert!(policy.check(&ann, Permission::ManageUsers { tenant: "acme" }).is_ok());
//! assert!(policy.check(&ann, Permission::ManageUsers { tenant: "other" }).is_err());
//! assert!(policy.check(&ann, Permission::RegisterPlugins).is_err());
//! ```

mod grants;
mod principal;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::protocol::errors::{Code, PlatformError};
use crate::tokens::roles;

pub use grants::{AppGrants, Grant};
pub use principal::{Person, Principal};

/// How far a person's administration reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Their own tenant (users, roles, which plugins it has enabled) when they are its admin.
    Tenant,
    /// The whole platform: plugins, bundles, keys, tenants and every tenant's users.
    Platform,
}

impl Scope {
    /// The value of `x-keel-scope`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Tenant => "tenant",
            Scope::Platform => "platform",
        }
    }

    /// Reads `x-keel-scope`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tenant" => Some(Scope::Tenant),
            "platform" => Some(Scope::Platform),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a principal may be allowed to do. Platform permissions need platform scope (or,
/// for an app, a grant); tenant permissions name the tenant they act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission<'a> {
    // === platform scope ===
    /// Register and unregister plugins (and, through registration, implement points of keel or
    /// of a core service).
    RegisterPlugins,
    /// Install, upgrade and uninstall hosted bundles.
    InstallBundles,
    /// Rotate auth's signing keys.
    RotateKeys,
    /// Create and delete tenants.
    ManageTenants,
    /// Register or remove console entries on behalf of `owner` (an app does for itself without
    /// this; the registry decides that before asking).
    ConsoleEntriesOf { owner: &'a str },
    // === tenant scope ===
    /// Manage the users of `tenant`.
    ManageUsers { tenant: &'a str },
    /// Manage the roles of `tenant`.
    ManageRoles { tenant: &'a str },
    /// Enable and disable plugins for `tenant`.
    EnablePlugins { tenant: &'a str },
    // === internal callers (grants) ===
    /// Push the route table to keel.
    PushRoutes,
    /// Read keel's route table.
    ReadRoutes,
    /// Set or remove a plugin's client credentials in auth.
    SetClientCredentials,
    /// Report a plugin unreachable on live traffic.
    ReportHealth,
}

impl Permission<'_> {
    /// The tenant a tenant-scoped permission acts on; `None` for platform and internal ones.
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Self::ManageUsers { tenant } | Self::ManageRoles { tenant } | Self::EnablePlugins { tenant } => {
                Some(tenant)
            }
            _ => None,
        }
    }

    /// The grant an internal caller needs for this permission.
    pub fn grant(&self) -> Grant {
        match self {
            Self::RegisterPlugins | Self::ConsoleEntriesOf { .. } => Grant::RegisterPlugins,
            Self::InstallBundles => Grant::InstallBundles,
            Self::RotateKeys => Grant::RotateKeys,
            Self::ManageTenants | Self::ManageUsers { .. } | Self::ManageRoles { .. } => Grant::ManageTenants,
            Self::EnablePlugins { .. } => Grant::EnablePlugins,
            Self::PushRoutes => Grant::PushRoutes,
            Self::ReadRoutes => Grant::ReadRoutes,
            Self::SetClientCredentials => Grant::SetClientCredentials,
            Self::ReportHealth => Grant::ReportHealth,
        }
    }

    /// What it is, for a refusal's message.
    fn describe(&self) -> String {
        match self {
            Self::RegisterPlugins => "registering and unregistering plugins".into(),
            Self::InstallBundles => "installing hosted bundles".into(),
            Self::RotateKeys => "rotating the signing keys".into(),
            Self::ManageTenants => "managing tenants".into(),
            Self::ConsoleEntriesOf { owner } => {
                format!("registering console entries for {owner:?} (an app does so for itself only)")
            }
            Self::ManageUsers { tenant } => format!("managing the users of tenant {tenant:?}"),
            Self::ManageRoles { tenant } => format!("managing the roles of tenant {tenant:?}"),
            Self::EnablePlugins { tenant } => format!("enabling plugins for tenant {tenant:?}"),
            Self::PushRoutes => "pushing the route table".into(),
            Self::ReadRoutes => "reading the route table".into(),
            Self::SetClientCredentials => "setting client credentials".into(),
            Self::ReportHealth => "reporting a plugin's health".into(),
        }
    }

    /// Internal-only permissions, never a person's.
    fn is_internal(&self) -> bool {
        matches!(self, Self::PushRoutes | Self::ReadRoutes | Self::SetClientCredentials | Self::ReportHealth)
    }
}

/// Why a principal may not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// A person without platform scope asked for a platform permission.
    #[error("{what} needs platform scope; {who:?} administers tenant {tenant:?} only")]
    NeedsPlatformScope { what: String, who: String, tenant: String },
    /// A person asked to act on a tenant that is not theirs, or is not its admin.
    #[error("{what} needs the admin role of that tenant; {who:?} is not its admin")]
    NotTenantAdmin { what: String, who: String },
    /// A client-credentials token (a plugin or integrator) administers nothing.
    #[error("{what} is for people; the client {who:?} administers nothing")]
    ClientToken { what: String, who: String },
    /// An app without the grant.
    #[error("{what} needs the grant {grant}; app {app:?} does not have it")]
    NoGrant { what: String, app: String, grant: Grant },
    /// The target (a user) has a wider scope than the one acting on it.
    #[error("{who:?} may not change {target:?}, whose scope ({target_scope}) is wider than theirs")]
    HigherScope { who: String, target: String, target_scope: Scope },
    /// A request that came through no sidecar, where the service does not trust those.
    #[error("{what} needs a caller identity: call through keel (or the app's own Dapr sidecar)")]
    NoCaller { what: String },
}

impl PlatformError for Denied {
    fn code(&self) -> Code {
        match self {
            Denied::NoCaller { .. } => Code::NoCaller,
            Denied::NoGrant { .. } => Code::CallerNotAllowed,
            _ => Code::Forbidden,
        }
    }
}

/// How one service decides: the grants its internal callers hold, and whether requests that came
/// through no sidecar are trusted (local development only).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Grants by app-id.
    pub grants: AppGrants,
    /// Trust [`Principal::Local`] as platform scope. On by default so a developer can call a
    /// service's app port directly; production sets `APP_API_TOKEN`, so such a request is refused
    /// before it reaches the rule.
    pub trust_local: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self { grants: AppGrants::core_defaults(), trust_local: true }
    }
}

impl Policy {
    /// May `who` do `what`?
    pub fn check(&self, who: &Principal, what: Permission<'_>) -> Result<(), Denied> {
        match who {
            Principal::Local if self.trust_local => Ok(()),
            Principal::Local => Err(Denied::NoCaller { what: what.describe() }),
            Principal::App(app) => {
                let grant = what.grant();
                if self.grants.has(app, grant) {
                    Ok(())
                } else {
                    Err(Denied::NoGrant { what: what.describe(), app: app.clone(), grant })
                }
            }
            Principal::Person(p) => person_may(p, what),
        }
    }
}

impl Policy {
    /// May `who` change `target` (a user, of scope `target_scope`)? Nobody changes a user whose
    /// scope is wider than their own (a tenant admin of the platform tenant cannot touch the
    /// super-admin). Check the permission itself with [`Policy::check`] as well.
    pub fn check_target(&self, who: &Principal, target: &str, target_scope: Scope) -> Result<(), Denied> {
        match who {
            Principal::Person(p) if p.scope < target_scope => {
                Err(Denied::HigherScope { who: p.user.clone(), target: target.to_owned(), target_scope })
            }
            _ => Ok(()),
        }
    }
}

/// The people half of the rule: platform scope does every platform and tenant permission; a
/// tenant's admin does the tenant permissions of their own tenant; nobody else does any.
fn person_may(p: &Person, what: Permission<'_>) -> Result<(), Denied> {
    if p.client.is_some() || what.is_internal() {
        return Err(Denied::ClientToken { what: what.describe(), who: p.user.clone() });
    }
    if p.scope == Scope::Platform {
        return Ok(());
    }
    match what.tenant() {
        Some(tenant) if tenant == p.tenant && p.has_role(roles::ADMIN) => Ok(()),
        Some(_) => Err(Denied::NotTenantAdmin { what: what.describe(), who: p.user.clone() }),
        None => Err(Denied::NeedsPlatformScope {
            what: what.describe(),
            who: p.user.clone(),
            tenant: p.tenant.clone(),
        }),
    }
}

#[cfg(test)]
mod tests;
