//! What auth stores and shows: tenants with their roles and grants, users, clients, refresh
//! tokens, and the names that are valid for each. Stored records never leave auth as they are:
//! the API answers with the shared wire records of [`keel_sdk::management::auth`] (the `*View`
//! types, which have no hash in them), built here from the stored ones.

use std::collections::{BTreeMap, BTreeSet};

use keel_sdk::management::auth::{RoleView, TenantView, UserView};
use keel_sdk::service::snippet;
use keel_sdk::tokens::{roles, PLATFORM_TENANT};
use serde::{Deserialize, Serialize};

use crate::error::AuthError;

/// State keys. All start with `auth/`: the store is shared by the core apps.
pub mod keys {
    pub use keel_sdk::tokens::{REVOKED_KEY, TENANTS_KEY};
    /// The signing keys.
    pub const KEYRING: &str = "auth/keys";

    /// The users of `tenant`.
    pub fn users(tenant: &str) -> String {
        format!("auth/users/{tenant}")
    }

    /// The client `id`.
    pub fn client(id: &str) -> String {
        format!("auth/clients/{id}")
    }

    /// What became of the registry's registration `tag` of client `id` ([`super::RegistrationMark`]).
    pub fn registration(id: &str, tag: &str) -> String {
        format!("auth/registrations/{id}/{tag}")
    }

    /// The refresh token whose SHA-256 is `hash`.
    pub fn refresh(hash: &str) -> String {
        format!("auth/refresh/{hash}")
    }

    /// The login ticket (session or bound) whose SHA-256 is `hash` (`crate::tickets`).
    pub fn ticket(hash: &str) -> String {
        format!("auth/tickets/{hash}")
    }

    /// The mark of a revoked refresh-token family (one login's chain of refresh tokens).
    pub fn refresh_family(family: &str) -> String {
        format!("auth/refresh-family/{family}")
    }
}

/// Every tenant, with its roles and their grants ([`keys::TENANTS_KEY`]). Keel reads the grants
/// from this document (as `keel_sdk::tokens::GrantsView`), so the field names `tenants`, `roles` and
/// `plugins` are a contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// By tenant id.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantRecord>,
}

/// One tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// Its id (a DNS label).
    pub id: String,
    /// A display name.
    #[serde(default)]
    pub name: String,
    /// Creation time (seconds since the epoch).
    #[serde(default)]
    pub created_at: u64,
    /// Its roles by name; the built-in ones are always there.
    #[serde(default)]
    pub roles: BTreeMap<String, RoleRecord>,
}

/// One role of a tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRecord {
    /// What the role is for.
    #[serde(default)]
    pub desc: String,
    /// The plugins it may call (`*`: all).
    #[serde(default)]
    pub plugins: BTreeSet<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: u64,
    /// Holders have platform scope (`crate::authorize::scope_of`); only roles of the platform
    /// tenant, set only by platform scope.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub platform: bool,
}

impl TenantRecord {
    /// A new tenant with its built-in roles (the platform tenant also has `client`, the role of
    /// client-credentials tokens, so clients can be granted plugins).
    pub fn new(id: &str, name: &str, now: u64) -> Self {
        let mut built_in: Vec<&str> = roles::BUILT_IN.to_vec();
        if id == PLATFORM_TENANT {
            built_in.push(roles::CLIENT);
        }
        let roles = built_in
            .into_iter()
            .map(|r| {
                let desc = match r {
                    roles::ADMIN => "administers the tenant and calls every plugin",
                    roles::USER => "every user of the tenant",
                    _ => "every client-credentials token (plugins and integrators)",
                };
                (r.to_owned(), RoleRecord { desc: desc.to_owned(), created_at: now, ..RoleRecord::default() })
            })
            .collect();
        Self { id: id.to_owned(), name: name.to_owned(), created_at: now, roles }
    }
}

/// The users of one tenant ([`keys::users`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersDoc {
    /// By user name.
    #[serde(default)]
    pub users: BTreeMap<String, UserRecord>,
}

/// One user.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Unique within the tenant.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role names of the tenant.
    #[serde(default)]
    pub roles: Vec<String>,
    /// A disabled user cannot log in or refresh.
    #[serde(default)]
    pub disabled: bool,
    /// Creation time.
    #[serde(default)]
    pub created_at: u64,
    /// Last change.
    #[serde(default)]
    pub updated_at: u64,
    /// Bumped when the password changes or the user is disabled: refresh tokens of an older
    /// generation stop working.
    #[serde(default)]
    pub generation: u64,
}

impl std::fmt::Debug for UserRecord {
    // The hash is a secret too (offline guessing): never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("username", &self.username)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A client allowed the client-credentials grant ([`keys::client`]): a plugin registered with a
/// secret, or an integrator.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// The client id (a plugin id).
    pub id: String,
    /// Argon2id PHC string of the secret.
    pub secret_hash: String,
    /// Creation (or last replacement) time.
    pub created_at: u64,
    /// Who set it: the app-id `plugins`, or the super-admin's name.
    #[serde(default)]
    pub set_by: String,
    /// The registry's registration these credentials belong to (its attempt id), when the
    /// registry set them: a removal naming another registration leaves them alone, so cleaning up
    /// an abandoned registration can never remove a later one's credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<String>,
}

/// What became of one registration's credentials (kept under [`keys::registration`] for
/// [`REGISTRATION_MARK_TTL_SECS`]): once withdrawn, credentials of that registration are never
/// stored again, so a removal that overtook a slow `PUT` (a stalled store, a registry that gave up
/// waiting) is not undone when the `PUT` lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMark {
    /// Its credentials were stored.
    Given,
    /// Its credentials were removed, or asked to be before they came.
    Withdrawn,
}

/// How long a [`RegistrationMark`] is kept: far longer than any request can be on its way.
pub const REGISTRATION_MARK_TTL_SECS: u64 = 24 * 3600;

/// A live refresh token ([`keys::refresh`], stored under the SHA-256 of the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    /// The user's tenant.
    pub tenant: String,
    /// The user.
    pub username: String,
    /// The user's generation when the login happened.
    pub generation: u64,
    /// When the login's refresh tokens stop working.
    pub exp: u64,
    /// When this token was issued.
    pub iat: u64,
    /// The login this token descends from: every refresh token a refresh answers shares it.
    /// (Empty in older records: the token is then its own family.)
    #[serde(default)]
    pub family: String,
    /// Already exchanged for a new token: a second use means it was stolen, and revokes the
    /// family (RFC 9700 §4.14.2).
    #[serde(default)]
    pub used: bool,
}

/// A revoked refresh-token family ([`keys::refresh_family`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedFamily {
    /// When the reuse was seen.
    pub revoked_at: u64,
}

impl From<&TenantRecord> for TenantView {
    fn from(t: &TenantRecord) -> Self {
        Self { id: t.id.clone(), name: t.name.clone(), created_at: t.created_at }
    }
}

/// The API's view of `user` of `tenant`: no hash.
pub fn user_view(tenant: &str, user: &UserRecord) -> UserView {
    UserView {
        username: user.username.clone(),
        tenant: tenant.to_owned(),
        roles: user.roles.clone(),
        disabled: user.disabled,
        created_at: user.created_at,
        updated_at: user.updated_at,
    }
}

/// The API's view of role `name` of `tenant`.
pub fn role_view(tenant: &str, name: &str, role: &RoleRecord) -> RoleView {
    RoleView {
        name: name.to_owned(),
        tenant: tenant.to_owned(),
        desc: role.desc.clone(),
        plugins: role.plugins.iter().cloned().collect(),
        built_in: is_built_in_role(name),
        platform: role.platform,
    }
}

/// Roles nobody creates or deletes.
pub fn is_built_in_role(name: &str) -> bool {
    roles::BUILT_IN.contains(&name) || name == roles::CLIENT || name == roles::SUPER_ADMIN
}

/// A tenant id, role name: a DNS label, like a plugin id.
pub fn check_label(what: &str, s: &str) -> Result<(), AuthError> {
    keel_sdk::protocol::PluginId::parse(s).map(|_| ()).map_err(|_| {
        let s = snippet(s.as_bytes());
        AuthError::Invalid(format!("{what} {s:?} must be lower-case letters, digits and '-' (at most 63)"))
    })
}

/// A user name: 1 to 64 of letters, digits and `. _ @ + -` (an e-mail address fits).
pub fn check_username(s: &str) -> Result<(), AuthError> {
    let ok =
        (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@+-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AuthError::Invalid(format!(
            "user name {:?} must be 1 to 64 letters, digits or . _ @ + -",
            snippet(s.as_bytes())
        )))
    }
}

/// A plugin id a grant may name: a valid plugin id, or `*`.
pub fn check_grant_target(s: &str) -> Result<(), AuthError> {
    if s == keel_sdk::tokens::ANY_PLUGIN {
        return Ok(());
    }
    check_label("plugin id", s)
}
