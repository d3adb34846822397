//! Auth's management API (`platform.md` §6; app-id `auth`, reached through keel as
//! `/apis/auth/...` on its public port), as far as its records go:
//!
//! | method and path | accepts | answers |
//! |---|---|---|
//! | `POST /v1/oauth/token` | a form (RFC 6749) | [`TokenResponse`] |
//! | `GET /v1/me` | | [`Me`] |
//! | `PUT /v1/me/password` | [`PasswordChange`] | the envelope |
//! | `GET /v1/tenants` | | [`TenantList`] |
//! | `POST /v1/tenants` | [`NewTenant`] | `201` [`CreatedTenant`] |
//! | `GET, PATCH /v1/tenants/{id}` | [`TenantChange`] | [`TenantView`] |
//! | `GET /v1/users` | [`TenantQuery`] | [`UserList`] |
//! | `POST /v1/users` | [`TenantQuery`], [`NewUser`] | `201` [`UserView`] |
//! | `GET, PATCH /v1/users/{name}` | [`TenantQuery`], [`UserChange`] | [`UserView`] |
//! | `GET /v1/roles` | [`TenantQuery`] | [`RoleList`] |
//! | `POST /v1/roles` | [`TenantQuery`], [`NewRole`] | `201` [`RoleView`] |
//! | `GET, PATCH /v1/roles/{name}`; `PUT, DELETE /v1/roles/{name}/grants/{plugin}` | [`TenantQuery`], [`RoleChange`] | [`RoleView`] |
//! | `DELETE /v1/tenants/{id}`, `/v1/users/{name}`, `/v1/roles/{name}` | [`TenantQuery`] | the envelope |
//!
//! Every answer comes inside the envelope ([`crate::protocol::Reply`]); OAuth refusals are the
//! catalogue's [`crate::protocol::ErrorBody`] with RFC 6749's `error` and `error_description`.
//! Times are seconds since the Unix epoch. No answer has a password or a hash in it, and the
//! request bodies that carry a password have no `Debug`, so none can end up in a log.

use serde::{Deserialize, Serialize};

// === answers ===

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantView {
    /// Its id (a DNS label).
    pub id: String,
    /// A display name.
    #[serde(default)]
    pub name: String,
    /// Creation time.
    #[serde(default)]
    pub created_at: u64,
}

/// `GET /v1/tenants`: every tenant for the super-admin, their own for a tenant admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantList {
    /// The tenants, by id.
    #[serde(default)]
    pub tenants: Vec<TenantView>,
}

/// `POST /v1/tenants`: the tenant, and its first admin's name when one was created with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedTenant {
    /// The new tenant.
    #[serde(flatten)]
    pub tenant: TenantView,
    /// The user name of its first admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
}

/// A user of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// Unique within the tenant.
    pub username: String,
    /// The tenant.
    pub tenant: String,
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
}

/// `GET /v1/users`: a tenant's users, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    /// The users.
    #[serde(default)]
    pub users: Vec<UserView>,
}

/// A role of a tenant and the plugins it may call (its grants).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleView {
    /// Its name (a DNS label).
    pub name: String,
    /// The tenant.
    pub tenant: String,
    /// What it is for.
    #[serde(default)]
    pub desc: String,
    /// The plugins it may call (`*`: all).
    #[serde(default)]
    pub plugins: Vec<String>,
    /// `admin`, `user`, `client` and `super-admin`: nobody creates or deletes them.
    #[serde(default)]
    pub built_in: bool,
    /// Its holders have platform scope (`keel_sdk::access::Scope::Platform`): only roles of the
    /// platform tenant, given and changed only by platform scope. Left out when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub platform: bool,
}

/// `GET /v1/roles`: a tenant's roles, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleList {
    /// The roles.
    #[serde(default)]
    pub roles: Vec<RoleView>,
}

/// A successful `POST /v1/oauth/token` (RFC 6749 §5.1), inside the platform envelope.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token (a JWT keel verifies).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Present for users (password and refresh grants); clients have their secret instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds until the refresh token, and the login it belongs to, expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<u64>,
}

/// `GET /v1/me`: what the caller's token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// The user name, or the client id.
    pub sub: String,
    /// The tenant.
    pub tenant: String,
    /// Its roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The client id for client tokens; `null` for users.
    pub client_id: Option<String>,
    /// When the token expires.
    pub exp: u64,
}

// === requests ===

/// `?tenant=`: the tenant a user or role request acts on (default: the caller's; another only
/// for the super-admin).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantQuery {
    /// The tenant's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// The body of `POST /v1/tenants` (super-admin).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Its id (a DNS label).
    pub id: String,
    /// A display name (default: the id).
    #[serde(default)]
    pub name: String,
    /// The tenant's first admin, created with it.
    #[serde(default)]
    pub admin: Option<NewAdmin>,
}

/// The first admin of a new tenant.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    /// Their user name.
    pub username: String,
    /// Their password.
    pub password: String,
}

/// The body of `PATCH /v1/tenants/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantChange {
    /// A new display name.
    pub name: Option<String>,
}

/// The body of `POST /v1/users`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Unique within the tenant: 1 to 64 letters, digits or `. _ @ + -`.
    pub username: String,
    /// Their password.
    pub password: String,
    /// Role names of the tenant (default: `["user"]`).
    pub roles: Option<Vec<String>>,
}

/// The body of `PATCH /v1/users/{name}`: any of the fields.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    /// Replaces the roles.
    pub roles: Option<Vec<String>>,
    /// An admin's password reset.
    pub password: Option<String>,
    /// Disables or enables the user.
    pub disabled: Option<bool>,
}

/// The body of `PUT /v1/me/password`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password in use.
    pub current_password: String,
    /// The new one.
    pub new_password: String,
}

/// The body of `POST /v1/roles`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    /// Its name (a DNS label).
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub desc: String,
    /// Plugins granted from the start.
    #[serde(default)]
    pub plugins: std::collections::BTreeSet<String>,
    /// Give its holders platform scope (platform tenant only; needs platform scope).
    #[serde(default)]
    pub platform: bool,
}

/// The body of `PATCH /v1/roles/{name}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// A new description.
    pub desc: Option<String>,
    /// Replaces the grants.
    pub plugins: Option<std::collections::BTreeSet<String>>,
    /// Gives or takes platform scope (platform tenant only; needs platform scope).
    #[serde(default)]
    pub platform: Option<bool>,
}

impl std::fmt::Debug for TokenResponse {
    // The tokens are bearer credentials: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .finish_non_exhaustive()
    }
}
