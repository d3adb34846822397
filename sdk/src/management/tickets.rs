//! Auth's login tickets and permission checks (issue 16, TarsWeb's `checkTicket` and
//! `hasDevAuth`/`hasOpeAuth`/`hasAdminAuth`), as they travel on the wire:
//!
//! | method and path | who calls | accepts | answers |
//! |---|---|---|---|
//! | `POST /v1/tickets` | keel | [`NewTicket`] | `201` [`CreatedTicket`] |
//! | `POST /v1/tickets/bind` | keel | [`BindTicket`] | [`BoundTicket`] |
//! | `POST /v1/tickets/check` | keel (session tickets), the audience plugin (bound ones) | [`TicketQuery`] | [`TicketInfo`] |
//! | `POST /v1/tickets/revoke` | keel | [`TicketQuery`] | `204` |
//! | `POST /v1/permissions/check` | as for check | [`PermissionQuery`] | [`PermissionAnswer`] |
//!
//! A ticket is `kt_` and 43 base64url characters (256 random bits); auth stores only its
//! SHA-256. Who called is the Dapr caller app-id auth's sidecar sees. The types that carry a
//! password or a ticket have no `Debug`, so none can end up in a log.

use serde::{Deserialize, Serialize};

use crate::access::Scope;

/// Every ticket starts with this (so a ticket is told from a JWT or a refresh token at a glance).
pub const TICKET_PREFIX: &str = "kt_";

/// `POST /v1/tickets`: a console login.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
    /// The user's tenant (default: the platform tenant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// Who a ticket belongs to, as auth knows them at the moment of the answer (roles and scope are
/// re-read on every check, so a change applies at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    /// The user name.
    pub username: String,
    /// Their tenant.
    pub tenant: String,
    /// Their roles in it.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Their administration scope.
    pub scope: Scope,
}

/// The answer of `POST /v1/tickets`.
#[derive(Clone, Serialize, Deserialize)]
pub struct CreatedTicket {
    /// The session ticket: keel's to keep (the console cookie), never a plugin's.
    pub ticket: String,
    /// Whose it is.
    pub user: SessionUser,
    /// When it dies unless used before (each check pushes this back).
    pub idle_expires_at: u64,
    /// When it dies whatever happens.
    pub expires_at: u64,
}

/// `POST /v1/tickets/bind`: a ticket for plugin `audience` from a session ticket.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindTicket {
    /// The session ticket.
    pub ticket: String,
    /// The plugin id (its Dapr app-id) the new ticket is for.
    pub audience: String,
}

/// The answer of `POST /v1/tickets/bind`: the same ticket for the same session and plugin every
/// time, valid only while the session is.
#[derive(Clone, Serialize, Deserialize)]
pub struct BoundTicket {
    /// The bound ticket (what keel sends the plugin as `x-keel-ticket`).
    pub ticket: String,
    /// The session's absolute expiry (the bound ticket dies with the session before that if the
    /// session idles out or is revoked).
    pub expires_at: u64,
}

/// `POST /v1/tickets/check` and `POST /v1/tickets/revoke`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketQuery {
    /// The ticket.
    pub ticket: String,
}

/// The answer of `POST /v1/tickets/check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketInfo {
    /// The user name.
    pub username: String,
    /// Their tenant.
    pub tenant: String,
    /// Their roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Their administration scope.
    pub scope: Scope,
    /// The plugin a bound ticket is for; `None` for a session ticket.
    #[serde(default)]
    pub audience: Option<String>,
    /// The session's absolute expiry.
    pub expires_at: u64,
}

/// What a permission check asks about (TarsWeb's `hasDevAuth`, `hasOpeAuth`, `hasAdminAuth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Use and develop the plugin: TarsWeb's developer.
    Develop,
    /// Operate it (deploy, restart, configure): TarsWeb's operator.
    Operate,
    /// Administer it (everything, and who else may): TarsWeb's admin.
    Administer,
}

impl Action {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Develop => "develop",
            Action::Operate => "operate",
            Action::Administer => "administer",
        }
    }
}

/// `POST /v1/permissions/check`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionQuery {
    /// The ticket of the person asking.
    pub ticket: String,
    /// The plugin (or pushed service) id the action is on.
    pub target: String,
    /// The action.
    pub action: Action,
}

/// The answer of `POST /v1/permissions/check`: a refusal is `allowed: false` with a 200, the
/// reason saying which rule decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionAnswer {
    /// Whether the ticket's user may.
    pub allowed: bool,
    /// The ticket's user.
    pub username: String,
    /// Which rule decided, as a sentence.
    pub reason: String,
}
