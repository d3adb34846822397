//! What an access token says: the JWT claims auth signs and keel verifies, the identity a
//! verified token stands for, and the names both sides agree on (algorithm, issuer, audience,
//! built-in roles, the platform tenant).

use std::borrow::Cow;

use actix_web::http::header::HeaderName;
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};

use crate::access::{Person, Scope};
use crate::protocol::headers::{X_KEEL_CLIENT, X_KEEL_ROLES, X_KEEL_SCOPE, X_KEEL_TENANT, X_KEEL_USER};

/// The one signature algorithm auth signs with and keel accepts (Ed25519). Pinned: a token
/// whose header names anything else is refused before any key is looked at.
pub const ALGORITHM: Algorithm = Algorithm::EdDSA;
/// [`ALGORITHM`] as it appears in a JWT header and a JWK.
pub const ALGORITHM_NAME: &str = "EdDSA";
/// The `iss` auth writes by default.
pub const DEFAULT_ISSUER: &str = "keel-auth";
/// The `aud` auth writes by default: the tokens are for keel's public port.
pub const DEFAULT_AUDIENCE: &str = "keel";
/// The tenant of the platform itself: the super-admin and every client (plugin or integrator)
/// belong to it.
pub const PLATFORM_TENANT: &str = "platform";

/// Role names with a fixed meaning.
pub mod roles {
    /// Platform-wide administrator (only in the platform tenant): manages every tenant, calls
    /// every plugin, rotates keys.
    pub const SUPER_ADMIN: &str = "super-admin";
    /// Administrator of one tenant: manages that tenant, calls every plugin.
    pub const ADMIN: &str = "admin";
    /// An ordinary user; calls the plugins its roles are granted.
    pub const USER: &str = "user";
    /// What a client-credentials token carries (plugins and integrators).
    pub const CLIENT: &str = "client";
    /// Roles every tenant has without creating them.
    pub const BUILT_IN: [&str; 2] = [ADMIN, USER];
}

/// The claims of an access token. Times are numbers (seconds since the epoch, RFC 7519
/// NumericDate), never strings: the 2021 original wrote strings and nothing ever expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Who issued it (auth's configured issuer).
    pub iss: String,
    /// Who it is for (keel's public port).
    pub aud: String,
    /// The user name, or the client id for client-credentials tokens.
    pub sub: String,
    /// The tenant `sub` belongs to.
    pub tenant: String,
    /// The roles `sub` held when the token was issued.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Expiry.
    pub exp: u64,
    /// Issue time.
    pub iat: u64,
    /// Not valid before.
    pub nbf: u64,
    /// The token's id; revocation lists it.
    pub jti: String,
    /// Set on client-credentials tokens: the client (plugin id or integrator id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The administration scope auth granted (`platform.md` §10). Tokens from before scopes
    /// existed have none: theirs is derived from the roles ([`Identity::derived_scope`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

/// Who a verified token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user name or client id (`sub`).
    pub sub: String,
    /// Its tenant.
    pub tenant: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// The client, for client-credentials tokens.
    pub client_id: Option<String>,
    /// The token's id.
    pub jti: String,
    /// When the token expires (seconds since the epoch).
    pub exp: u64,
    /// The administration scope auth granted.
    pub scope: Scope,
}

impl From<AccessClaims> for Identity {
    fn from(c: AccessClaims) -> Self {
        let scope =
            c.scope.unwrap_or_else(|| Identity::derived_scope(&c.tenant, &c.roles, c.client_id.is_some()));
        // A client never administers, whatever a token says.
        let scope = if c.client_id.is_some() { Scope::Tenant } else { scope };
        Self {
            sub: c.sub,
            tenant: c.tenant,
            roles: c.roles,
            client_id: c.client_id,
            jti: c.jti,
            exp: c.exp,
            scope,
        }
    }
}

impl Identity {
    /// The scope of an identity whose token carries none: platform for the super-admin of the
    /// platform tenant, tenant for everyone else.
    pub fn derived_scope(tenant: &str, roles: &[String], client: bool) -> Scope {
        let super_admin =
            !client && tenant == PLATFORM_TENANT && roles.iter().any(|r| r == roles::SUPER_ADMIN);
        if super_admin {
            Scope::Platform
        } else {
            Scope::Tenant
        }
    }

    /// The identity as the platform's authorization model sees it.
    pub fn person(&self) -> Person {
        Person {
            user: self.sub.clone(),
            tenant: self.tenant.clone(),
            scope: self.scope,
            roles: self.roles.clone(),
            client: self.client_id.clone(),
        }
    }

    /// True when the identity holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The platform-wide administrator (the built-in super-admin; see [`Identity::scope`] for
    /// everyone with platform scope).
    pub fn is_super_admin(&self) -> bool {
        self.client_id.is_none() && self.tenant == PLATFORM_TENANT && self.has_role(roles::SUPER_ADMIN)
    }

    /// May administer `tenant`: its own admin, or the super-admin.
    pub fn is_admin_of(&self, tenant: &str) -> bool {
        self.is_super_admin()
            || (self.client_id.is_none() && self.tenant == tenant && self.has_role(roles::ADMIN))
    }

    /// The value of `x-keel-roles`: the roles, comma-separated.
    pub fn roles_header(&self) -> String {
        self.roles.join(",")
    }

    /// The identity headers keel adds for the plugin, as (name, value) pairs: user, tenant,
    /// roles, scope, and the client for client-credentials tokens.
    /// Borrowed where they can be: they are written for every request keel forwards.
    pub fn headers(&self) -> impl Iterator<Item = (HeaderName, Cow<'_, str>)> + '_ {
        let roles = match self.roles.as_slice() {
            [one] => Cow::Borrowed(one.as_str()),
            _ => Cow::Owned(self.roles_header()),
        };
        [
            (X_KEEL_USER, Cow::Borrowed(self.sub.as_str())),
            (X_KEEL_TENANT, Cow::Borrowed(self.tenant.as_str())),
            (X_KEEL_ROLES, roles),
            (X_KEEL_SCOPE, Cow::Borrowed(self.scope.as_str())),
        ]
        .into_iter()
        .chain(self.client_id.as_deref().map(|c| (X_KEEL_CLIENT, Cow::Borrowed(c))))
    }
}

/// Seconds since the epoch, now.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
