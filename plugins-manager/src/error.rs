//! Every way a registry request can fail, and the one place that names each case: `code()` maps
//! every variant onto the platform's catalogue (`keel_sdk::protocol::errors`), which decides the
//! HTTP status, whose fault it is and so the log level. Answers are the catalogue's one body,
//! `{"ret": -<status>, "msg": "...", "code": "ERR_..."}` with `x-keel-error: 1`. Messages say what
//! to fix; causes that are the platform's own business (its sidecar, its store, auth's answer, a
//! bug) go to the log as the refusal's detail, never to the caller. Variants are grouped by who
//! is at fault (the caller, the plugin being registered, a plugin it extends, the platform).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use keel_sdk::access::Denied;
use keel_sdk::dapr::DaprError;
use keel_sdk::protocol::errors::{self, Code, PlatformError};
use keel_sdk::protocol::{ConsoleError, IdError, PlatformTooOld};

/// A refused or failed registry request.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    // === the caller's fault ===
    /// The request body or query does not parse.
    #[error("malformed request: {0}")]
    BadRequest(String),
    /// The id is not a valid plugin id.
    #[error("{0}")]
    InvalidId(#[source] IdError),
    /// The id belongs to the platform.
    #[error("plugin id {0:?} is reserved for the platform's core services; choose another id")]
    ReservedId(String),
    /// The secret is missing or out of bounds.
    #[error("secret {0}")]
    BadSecret(String),
    /// No plugin with this id is registered.
    #[error("plugin {0:?} is not registered")]
    NotFound(String),
    /// The id is registered already.
    #[error("plugin {0:?} is already registered; unregister it first (DELETE /v1/plugins/{0}) to register it again")]
    AlreadyRegistered(String),
    /// A service registered by push (`docs/push.md`) has the id: one name, one registrant.
    #[error("{0:?} is the name of a service registered by push (GET /api/registry/services/{0} on the push listener); a plugin can take it once that service deregisters or is evicted")]
    PushedName(String),
    /// Another request (on any replica) is registering or unregistering the same id right now.
    #[error("plugin {0:?} is being registered or unregistered by another request right now; retry when it has finished")]
    InProgress(String),
    /// The registration outlived `reconcile_grace_ms` and was settled (taken back) meanwhile by a
    /// reconciler, so its commit could not land: nothing was registered.
    #[error("the registration of plugin {0:?} took too long and was taken back before it could commit; nothing was registered, try again")]
    Abandoned(String),
    /// Core services cannot be unregistered (the registry would register them again at boot).
    #[error("plugin {0:?} is a core service of the platform and cannot be unregistered")]
    CoreService(String),
    /// The caller's scope, tenant or grants do not allow the change ([`crate::authorize`]).
    #[error("forbidden: {0}")]
    Denied(#[source] Denied),
    /// A tenant id that is not a DNS label.
    #[error("tenant id {0:?} is invalid: use lower-case letters, digits and '-' (at most 63)")]
    BadTenant(String),
    /// Core services, and every plugin for the platform tenant, cannot be disabled.
    #[error("plugin {id:?} is always enabled for tenant {tenant:?} (core services are enabled for every tenant, and the platform tenant has every plugin)")]
    AlwaysEnabled { id: String, tenant: String },
    /// Plugins enabled for the tenant need the plugin being disabled.
    #[error("plugin {id:?} cannot be disabled for tenant {tenant:?} while {dependents} need it (their dependence); disable those first")]
    NeededBy { id: String, tenant: String, dependents: String },
    /// Other plugins implement the plugin's points.
    #[error("plugin {id:?} cannot be unregistered while other plugins implement its addon points ({implementers}); unregister those first, or use ?force=true to remove their implementations too")]
    InUse { id: String, implementers: String },
    /// A console entry that does not validate (the field named).
    #[error("console entry: {0}")]
    BadConsoleEntry(#[source] ConsoleError),
    /// Another registrant holds the console path.
    #[error("console path {path:?} is registered by {owner:?}; use a path under your own group, /plugins/<your id>/")]
    ConsolePathTaken { path: String, owner: String },
    /// The console path is declared in a registered plugin's identify.
    #[error("console path {path:?} is declared by plugin {owner:?} in its /v1/identify; it changes only when {owner:?} is registered again")]
    ConsoleDeclared { path: String, owner: String },
    /// No console entry has the path.
    #[error("no console entry has path {0:?}")]
    ConsoleNotFound(String),
    /// The registrant holds the most console entries one may.
    #[error("{owner:?} holds {max} console entries already, the most one registrant may; delete one first")]
    TooManyConsoleEntries { owner: String, max: usize },

    // === the plugin being registered (or an extended plugin) did not answer properly ===
    /// Dapr could not reach the plugin.
    #[error("plugin {id:?} is unreachable: GET /{endpoint} through the Dapr sidecar failed ({reason}); check that it runs under app-id {id:?} with a sidecar")]
    Unreachable { id: String, endpoint: &'static str, reason: String },
    /// The plugin did not answer in time.
    #[error("plugin {id:?} did not answer /{endpoint} within {after:?} ({setting}); check that it is up and not overloaded")]
    Timeout { id: String, endpoint: &'static str, after: Duration, setting: &'static str },
    /// The plugin answered with an HTTP status other than 200.
    #[error("plugin {id:?} answered /{endpoint} with HTTP {status}: {msg}")]
    PluginHttp { id: String, endpoint: &'static str, status: u16, msg: String },
    /// The plugin answered `ret != 0`.
    #[error("plugin {id:?} answered /{endpoint} with ret {ret}: {msg}")]
    PluginRefused { id: String, endpoint: &'static str, ret: i32, msg: String },
    /// The identify document does not parse or does not validate.
    #[error("plugin {id:?} sent a malformed /v1/identify: {reason}")]
    MalformedIdentify { id: String, reason: String },
    /// The status document does not parse.
    #[error("plugin {id:?} sent a malformed /v1/status: {reason}")]
    MalformedStatus { id: String, reason: String },
    /// The plugin reports another id than the app-id it was reached under.
    #[error("plugin reached as {requested:?} identifies itself as {reported:?}: plugin_id in /v1/identify must equal the Dapr app-id it runs under")]
    IdMismatch { requested: String, reported: String },
    /// The plugin needs a newer platform.
    #[error("plugin {id:?} cannot be registered: {source}")]
    PlatformTooOld {
        id: String,
        #[source]
        source: PlatformTooOld,
    },

    // === the plugin's addon implementations ===
    /// A `main_plugin` entry names a plugin that is not registered.
    #[error("main_plugin[{index}]: plugin {main:?} is not registered; register it before the plugins that implement its points")]
    MainNotRegistered { index: usize, main: String },
    /// The extended plugin's version is outside the entry's range.
    #[error("main_plugin[{index}]: plugin {main:?} is at version {actual}, outside the range {wanted:?} this plugin was written against")]
    MainVersion { index: usize, main: String, actual: String, wanted: String },
    /// The extended plugin does not offer the point.
    #[error(
        "main_plugin[{index}]: plugin {main:?} declares no addon point {point:?} (it offers: {offered})"
    )]
    PointNotDeclared { index: usize, main: String, point: String, offered: String },
    /// Another plugin implements the point already.
    #[error("point {point:?} of plugin {main:?} is already implemented by plugin {by:?}; unregister {by:?} first or drop the point from main_plugin")]
    PointTaken { main: String, point: String, by: String },
    /// A plugin that the plugin being enabled needs is not registered or out of range.
    #[error(
        "plugin {plugin:?} needs plugin {dependency:?} (its dependence), which {reason}; register it first"
    )]
    DependencyMissing { plugin: String, dependency: String, reason: String },
    /// The extended plugin's `/v1/addons/identify` refused.
    #[error("plugin {main:?} refused the implementation of its points in /v1/addons/identify: {msg}")]
    AddonsRefused { main: String, msg: String },

    // === the platform ===
    /// The registry's own sidecar cannot be reached. What failed goes to the log only.
    #[error(
        "the registry's Dapr sidecar is unavailable; its address and the failure are in the registry's log"
    )]
    Sidecar(#[source] DaprError),
    /// auth did not store the plugin's client credentials, so nothing was registered. Why goes to
    /// the log only.
    #[error("auth did not store client credentials for plugin {id:?}; nothing was registered, try again once auth is up")]
    ClientCredentials { id: String, reason: String },
    /// The state store failed. What failed goes to the log only.
    #[error("the registry's state store failed; try again later (the failure is in the registry's log)")]
    Store(#[source] DaprError),
    /// Too many concurrent changes in a row: every attempt lost the race.
    #[error("the route table kept changing under this request ({0} attempts); retry")]
    Contention(u32),
    /// A bug or an impossible state; details are logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

// === impl RegistryError ===

impl RegistryError {
    /// Wraps a state-store failure, telling an unreachable sidecar apart from a failing store.
    pub fn store(e: DaprError) -> Self {
        if matches!(e, DaprError::Connect { .. }) {
            Self::Sidecar(e)
        } else {
            Self::Store(e)
        }
    }

    /// True for failures worth retrying as they are (nothing the plugin or the caller must fix).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::Timeout { .. }
                | Self::PluginHttp { .. }
                | Self::Sidecar(_)
                | Self::ClientCredentials { .. }
                | Self::Store(_)
                | Self::Contention(_)
                | Self::InProgress(_)
                | Self::Abandoned(_)
        )
    }
}

impl PlatformError for RegistryError {
    fn code(&self) -> Code {
        match self {
            Self::BadRequest(_) => Code::BadRequest,
            Self::InvalidId(_) => Code::BadPluginId,
            Self::ReservedId(_) => Code::ReservedId,
            Self::BadSecret(_) => Code::BadSecret,
            Self::NotFound(_) => Code::UnknownPlugin,
            Self::AlreadyRegistered(_) => Code::AlreadyRegistered,
            Self::PushedName(_) => Code::Conflict,
            Self::InProgress(_) | Self::Abandoned(_) => Code::InProgress,
            Self::CoreService(_) => Code::CoreService,
            Self::Denied(denied) => denied.code(),
            Self::BadTenant(_) => Code::BadRequest,
            Self::AlwaysEnabled { .. } => Code::Conflict,
            Self::NeededBy { .. } => Code::InUse,
            Self::InUse { .. } => Code::InUse,
            Self::BadConsoleEntry(_) | Self::TooManyConsoleEntries { .. } => Code::BadConsoleEntry,
            Self::ConsolePathTaken { .. } | Self::ConsoleDeclared { .. } => Code::ConsolePathTaken,
            Self::ConsoleNotFound(_) => Code::NotFound,
            Self::Unreachable { .. } => Code::PluginUnreachable,
            Self::Timeout { .. } => Code::PluginTimeout,
            Self::PluginHttp { .. } => Code::PluginHttp,
            Self::PluginRefused { .. } => Code::PluginRefused,
            Self::MalformedIdentify { .. } => Code::MalformedIdentify,
            Self::MalformedStatus { .. } => Code::MalformedStatus,
            Self::IdMismatch { .. } => Code::IdMismatch,
            Self::PlatformTooOld { .. } => Code::PlatformTooOld,
            Self::MainNotRegistered { .. } => Code::MainNotRegistered,
            Self::MainVersion { .. } => Code::MainVersion,
            Self::PointNotDeclared { .. } => Code::PointNotDeclared,
            Self::PointTaken { .. } => Code::PointTaken,
            Self::AddonsRefused { .. } => Code::AddonsRefused,
            Self::DependencyMissing { .. } => Code::DependencyMissing,
            Self::Sidecar(_) => Code::SidecarUnavailable,
            Self::ClientCredentials { .. } => Code::DependencyUnavailable,
            Self::Store(_) => Code::StoreUnavailable,
            Self::Contention(_) => Code::Contention,
            Self::Internal(_) => Code::Internal,
        }
    }

    /// The plugin the refusal is about: the one asked for, or the extended plugin that is
    /// missing, out of range, lacking the point or refusing.
    fn plugin(&self) -> Option<&str> {
        match self {
            Self::ReservedId(id)
            | Self::NotFound(id)
            | Self::AlreadyRegistered(id)
            | Self::PushedName(id)
            | Self::InProgress(id)
            | Self::Abandoned(id)
            | Self::CoreService(id)
            | Self::InUse { id, .. }
            | Self::AlwaysEnabled { id, .. }
            | Self::NeededBy { id, .. }
            | Self::Unreachable { id, .. }
            | Self::Timeout { id, .. }
            | Self::PluginHttp { id, .. }
            | Self::PluginRefused { id, .. }
            | Self::MalformedIdentify { id, .. }
            | Self::MalformedStatus { id, .. }
            | Self::PlatformTooOld { id, .. }
            | Self::ClientCredentials { id, .. } => Some(id),
            Self::IdMismatch { requested, .. } => Some(requested),
            Self::MainNotRegistered { main, .. }
            | Self::MainVersion { main, .. }
            | Self::PointNotDeclared { main, .. }
            | Self::PointTaken { main, .. }
            | Self::AddonsRefused { main, .. } => Some(main),
            Self::DependencyMissing { dependency, .. } => Some(dependency),
            Self::ConsolePathTaken { owner, .. }
            | Self::ConsoleDeclared { owner, .. }
            | Self::TooManyConsoleEntries { owner, .. } => Some(owner),
            Self::BadRequest(_)
            | Self::BadConsoleEntry(_)
            | Self::ConsoleNotFound(_)
            | Self::InvalidId(_)
            | Self::BadSecret(_)
            | Self::BadTenant(_)
            | Self::Denied(_)
            | Self::Sidecar(_)
            | Self::Store(_)
            | Self::Contention(_)
            | Self::Internal(_) => None,
        }
    }

    /// The causes the caller is not told: the sidecar's or the store's failure, auth's answer.
    fn detail(&self) -> Option<String> {
        match self {
            Self::Sidecar(e) | Self::Store(e) => Some(e.to_string()),
            Self::ClientCredentials { reason, .. } => Some(reason.clone()),
            _ => None,
        }
    }
}

impl ResponseError for RegistryError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        errors::respond(self)
    }
}

#[cfg(test)]
mod tests;
