//! The registry's management API (`platform.md` §3; app-id `plugins`, reached through keel as
//! `/apis/plugins/...` on its public port):
//!
//! | method and path | accepts | answers |
//! |---|---|---|
//! | `POST /v1/plugins` | [`Registration`] | `201` [`PluginView`] |
//! | `GET /v1/plugins` | [`ListQuery`] | [`Listing`] |
//! | `GET /v1/plugins/{id}` | | [`PluginView`] |
//! | `DELETE /v1/plugins/{id}` | [`UnregisterQuery`] | [`PluginView`], as it was |
//! | `GET /v1/routes` | | [`crate::protocol::RouteTable`] |
//! | `POST /v1/plugins/{id}/suspect` (keel only, [`suspect_path`]) | | `202`: probed at the next poll |
//! | `GET /v1/tenants/{tenant}/plugins` | | [`TenantPlugins`] |
//! | `POST /v1/tenants/{tenant}/plugins/{id}` | [`Enable`] (optional) | [`TenantChange`] |
//! | `DELETE /v1/tenants/{tenant}/plugins/{id}` | | [`TenantChange`] |
//!
//! Every answer comes inside the envelope ([`crate::protocol::Reply`]). A plugin's secret is
//! accepted at registration and never answered: [`PluginView`] has no field that could hold it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::protocol::{AddonTarget, PluginStatus};

/// `v1/plugins/{id}/suspect`: keel's passive health reporting that its live requests to `id`
/// failed to reach it; the registry's next poll probes it at once, and one failed probe then
/// marks it `UNREACHABLE`.
pub fn suspect_path(id: &str) -> String {
    format!("v1/plugins/{id}/suspect")
}

/// A registered plugin as the API shows it: its route entry, its record and its last status
/// check joined.
///
/// About the check fields: the registry polls `GET /v1/status` of every plugin and records the
/// outcome of the latest poll. [`last_error`](Self::last_error) is that poll's failure, absent
/// after a good answer, so an error is always as old as [`last_checked_ms`](Self::last_checked_ms)
/// — see [`PluginView::current_error`] for reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginView {
    /// The plugin's id (its Dapr app-id).
    pub id: String,
    /// Its version, as its `/v1/identify` reported at registration.
    pub version: String,
    /// The platform version it needs, when it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keel_version: Option<String>,
    /// Its current status; only `ACTIVE` plugins receive traffic.
    pub status: PluginStatus,
    /// True for the platform's own services, registered by the registry itself.
    #[serde(default)]
    pub core: bool,
    /// When it was registered (ms since the Unix epoch). Registration checks its status, so this
    /// is also a successful check.
    #[serde(default)]
    pub registered_at_ms: u64,
    /// The same, RFC 3339 in UTC with milliseconds.
    #[serde(default)]
    pub registered_at: String,
    /// When its status was last checked (ms since the epoch): the latest poll, or the
    /// registration before the first poll.
    #[serde(default)]
    pub last_checked_ms: u64,
    /// The same, RFC 3339 in UTC with milliseconds.
    #[serde(default)]
    pub last_checked_at: String,
    /// Why the latest poll failed; `null` when it answered.
    pub last_error: Option<String>,
    /// Polls in a row without a valid answer (the registry marks the plugin `UNREACHABLE` after
    /// its configured number, 3 by default).
    #[serde(default)]
    pub consecutive_failures: u32,
    /// The addon points it offers, each with its implementer.
    #[serde(default)]
    pub addons: Vec<OfferedPoint>,
    /// The points of other plugins it implements.
    #[serde(default)]
    pub implements: Vec<Implementation>,
    /// Endpoints reachable from keel's public port without a token.
    #[serde(default)]
    pub public_endpoints: Vec<String>,
    /// How long keel waits for its answers (ms), when it asked for other than keel's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// How it joined: pulled through its `/v1/identify` (`plugin`) or registered itself through
    /// the push API (`pushed`, `docs/push.md`; reached at `/api/<id>/`). Absent on the wire
    /// for `plugin`, so pull-registered plugins' answers are as they were.
    #[serde(default, skip_serializing_if = "PluginKind::is_plugin")]
    pub kind: PluginKind,
}

/// How a service joined the platform.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    /// Registered by the registry through its `/v1/identify` (`POST /v1/plugins`).
    #[default]
    Plugin,
    /// Registered itself at the push API, heartbeats.
    Pushed,
}

impl PluginKind {
    /// True for [`PluginKind::Plugin`], the default.
    pub fn is_plugin(&self) -> bool {
        *self == PluginKind::Plugin
    }
}

/// One addon point a plugin offers, with its implementer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedPoint {
    /// The point's name.
    pub point: String,
    /// What it is for.
    #[serde(default)]
    pub desc: String,
    /// Who implements it, if anyone.
    pub implemented_by: Option<AddonTarget>,
}

/// One point of another plugin that a plugin implements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Implementation {
    /// The extended plugin.
    pub plugin: String,
    /// Its point.
    pub point: String,
    /// The implementing endpoint.
    pub endpoint: String,
}

/// One page of `GET /v1/plugins`, by ascending id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Plugins matching the query, all pages together.
    pub total: usize,
    /// Position of this page's first plugin among them.
    pub offset: usize,
    /// The page size used.
    pub limit: usize,
    /// This page.
    #[serde(default)]
    pub plugins: Vec<PluginView>,
    /// Pass as [`ListQuery::after`] to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// The query of `GET /v1/plugins`: `limit` with either `offset` or the cursor `after` (the last
/// id of the previous page), optionally only the plugins in one `status`. Unknown parameters are
/// ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// Page size (the registry's `page_size` by default, at most its `max_page_size`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Plugins to skip (ids in ascending order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
    /// Start after this id (takes precedence over `offset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Only plugins in this status (a [`PluginStatus`] name, any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// The query of `DELETE /v1/plugins/{id}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnregisterQuery {
    /// Unregister even while other plugins implement its points, removing their
    /// implementations (`?force=true`). Refused with `409 ERR_IN_USE` otherwise.
    #[serde(default)]
    pub force: bool,
}

/// The body of `POST /v1/plugins`: `{"id": "...", "secret": "..."}`.
///
/// Only serialized: the registry parses this body by hand, so that no parse error can quote a
/// secret back (serde quotes offending values); its tests check that it parses what this type
/// writes. `Debug` does not show the secret.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    /// The plugin's Dapr app-id, which it must also report as `plugin_id` in `/v1/identify`.
    pub id: String,
    /// Its client secret for auth's client-credentials grant (8 to 1024 bytes); a plugin
    /// registered without one cannot obtain tokens of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The body of `POST /v1/tenants/{tenant}/plugins/{id}` (optional: an empty body is `{}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enable {
    /// Passed as is to the plugin's `POST /v1/tenant/enable` (and to its dependencies').
    #[serde(default)]
    pub extra: serde_json::Value,
}

/// The plugins a tenant's users may call, by ascending id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantPlugins {
    /// The tenant.
    pub tenant: String,
    /// Every plugin enabled for it.
    #[serde(default)]
    pub plugins: Vec<TenantPlugin>,
}

/// One plugin enabled for a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantPlugin {
    /// The plugin's id.
    pub id: String,
    /// True when it cannot be disabled: a core service, or any plugin for the platform tenant.
    #[serde(default)]
    pub always: bool,
}

/// What enabling or disabling changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantChange {
    /// The tenant.
    pub tenant: String,
    /// The plugin asked for.
    pub plugin: String,
    /// The plugins whose state changed, dependencies first: on enable the plugin and the
    /// dependencies that were not enabled yet; empty when nothing changed.
    #[serde(default)]
    pub changed: Vec<String>,
}

// === impl PluginView ===

impl PluginView {
    /// The failure of the latest check, if it failed *and* that check is the plugin's current
    /// one: a check recorded before the plugin's registration (its health was left from an
    /// earlier registration of the same id, until the next poll replaces it) is not, because the
    /// registration itself checked the status successfully since.
    pub fn current_error(&self) -> Option<&str> {
        self.last_error.as_deref().filter(|_| self.last_checked_ms >= self.registered_at_ms)
    }

    /// When the status was last checked successfully or not, whichever is later: the latest poll,
    /// or the registration when that came after it.
    pub fn last_check_ms(&self) -> u64 {
        self.last_checked_ms.max(self.registered_at_ms)
    }
}

// === impl Registration ===

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}
