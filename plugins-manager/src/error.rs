//! Every way a registry request can fail, and the one place that turns each into an HTTP status
//! and a `{"ret": <code>, "msg": "..."}` envelope. Messages say what to fix; variants are grouped
//! by who is at fault (the caller, the plugin being registered, a plugin it extends, the platform).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use keel_sdk::dapr::DaprError;
use keel_sdk::protocol::{Envelope, IdError, PlatformTooOld};

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
    /// Another request on this replica is registering the same id right now.
    #[error("plugin {0:?} is being registered by another request right now; retry when it has finished")]
    InProgress(String),
    /// Core services cannot be unregistered (the registry would register them again at boot).
    #[error("plugin {0:?} is a core service of the platform and cannot be unregistered")]
    CoreService(String),
    /// The caller may not change the registry.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Other plugins implement the plugin's points.
    #[error("plugin {id:?} cannot be unregistered while other plugins implement its addon points ({implementers}); unregister those first, or use ?force=true to remove their implementations too")]
    InUse { id: String, implementers: String },

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
    /// The extended plugin's `/v1/addons/identify` refused.
    #[error("plugin {main:?} refused the implementation of its points in /v1/addons/identify: {msg}")]
    AddonsRefused { main: String, msg: String },

    // === the platform ===
    /// The registry's own sidecar cannot be reached.
    #[error("the registry's Dapr sidecar is unavailable: {0}")]
    Sidecar(#[source] DaprError),
    /// auth did not store the plugin's client credentials, so nothing was registered.
    #[error("auth did not store client credentials for plugin {id:?} ({reason}); nothing was registered, try again once auth is up")]
    ClientCredentials { id: String, reason: String },
    /// The state store failed.
    #[error("the state store failed: {0}")]
    Store(#[source] DaprError),
    /// Too many concurrent changes in a row: every attempt lost the race.
    #[error("the route table kept changing under this request ({0} attempts); retry")]
    Contention(u32),
    /// A bug or an impossible state; details are logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RegistryError {
    /// The envelope's `ret`: one negative code per kind of refusal, stable for clients.
    pub fn code(&self) -> i32 {
        match self {
            Self::BadRequest(_) => -1001,
            Self::InvalidId(_) => -1002,
            Self::ReservedId(_) => -1003,
            Self::BadSecret(_) => -1004,
            Self::NotFound(_) => -1005,
            Self::AlreadyRegistered(_) => -1006,
            Self::InProgress(_) => -1007,
            Self::CoreService(_) => -1008,
            Self::InUse { .. } => -1009,
            Self::Forbidden(_) => -1010,
            Self::Unreachable { .. } => -1101,
            Self::Timeout { .. } => -1102,
            Self::PluginHttp { .. } => -1103,
            Self::PluginRefused { .. } => -1104,
            Self::MalformedIdentify { .. } => -1105,
            Self::MalformedStatus { .. } => -1106,
            Self::IdMismatch { .. } => -1107,
            Self::PlatformTooOld { .. } => -1108,
            Self::MainNotRegistered { .. } => -1201,
            Self::MainVersion { .. } => -1202,
            Self::PointNotDeclared { .. } => -1203,
            Self::PointTaken { .. } => -1204,
            Self::AddonsRefused { .. } => -1205,
            Self::Sidecar(_) => -1301,
            Self::ClientCredentials { .. } => -1304,
            Self::Store(_) => -1302,
            Self::Contention(_) => -1303,
            Self::Internal(_) => -1500,
        }
    }

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
        )
    }
}

impl ResponseError for RegistryError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::InvalidId(_) | Self::BadSecret(_) => StatusCode::BAD_REQUEST,
            Self::ReservedId(_) | Self::CoreService(_) | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::AlreadyRegistered(_)
            | Self::InProgress(_)
            | Self::InUse { .. }
            | Self::PointTaken { .. } => StatusCode::CONFLICT,
            Self::Unreachable { .. }
            | Self::PluginHttp { .. }
            | Self::PluginRefused { .. }
            | Self::MalformedStatus { .. } => StatusCode::BAD_GATEWAY,
            Self::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::MalformedIdentify { .. }
            | Self::IdMismatch { .. }
            | Self::PlatformTooOld { .. }
            | Self::PointNotDeclared { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MainNotRegistered { .. } | Self::MainVersion { .. } => StatusCode::FAILED_DEPENDENCY,
            Self::AddonsRefused { .. } => StatusCode::FORBIDDEN,
            Self::Sidecar(_) | Self::Store(_) | Self::Contention(_) | Self::ClientCredentials { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // A 500 never carries internal detail; the request log records the error itself.
        let msg = match self {
            Self::Internal(_) => "internal error in the registry; see its log".to_owned(),
            other => other.to_string(),
        };
        HttpResponse::build(self.status_code()).json(Envelope::error(self.code(), msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn all() -> Vec<RegistryError> {
        let d = || DaprError::Decode { what: "x".into(), reason: "y".into() };
        vec![
            RegistryError::BadRequest("x".into()),
            RegistryError::InvalidId(IdError::Empty),
            RegistryError::ReservedId("keel".into()),
            RegistryError::BadSecret("x".into()),
            RegistryError::NotFound("x".into()),
            RegistryError::AlreadyRegistered("x".into()),
            RegistryError::InProgress("x".into()),
            RegistryError::CoreService("x".into()),
            RegistryError::InUse { id: "x".into(), implementers: "y".into() },
            RegistryError::Forbidden("x".into()),
            RegistryError::Unreachable { id: "x".into(), endpoint: "v1/identify", reason: "r".into() },
            RegistryError::Timeout {
                id: "x".into(),
                endpoint: "v1/identify",
                after: Duration::from_secs(1),
                setting: "s",
            },
            RegistryError::PluginHttp {
                id: "x".into(),
                endpoint: "v1/identify",
                status: 500,
                msg: "m".into(),
            },
            RegistryError::PluginRefused { id: "x".into(), endpoint: "v1/identify", ret: 1, msg: "m".into() },
            RegistryError::MalformedIdentify { id: "x".into(), reason: "r".into() },
            RegistryError::MalformedStatus { id: "x".into(), reason: "r".into() },
            RegistryError::IdMismatch { requested: "a".into(), reported: "b".into() },
            RegistryError::PlatformTooOld {
                id: "x".into(),
                source: PlatformTooOld {
                    needed: semver::Version::new(9, 0, 0),
                    platform: semver::Version::new(1, 0, 0),
                },
            },
            RegistryError::MainNotRegistered { index: 0, main: "m".into() },
            RegistryError::MainVersion { index: 0, main: "m".into(), actual: "1".into(), wanted: "2".into() },
            RegistryError::PointNotDeclared {
                index: 0,
                main: "m".into(),
                point: "p".into(),
                offered: "".into(),
            },
            RegistryError::PointTaken { main: "m".into(), point: "p".into(), by: "b".into() },
            RegistryError::AddonsRefused { main: "m".into(), msg: "no".into() },
            RegistryError::Sidecar(d()),
            RegistryError::Store(d()),
            RegistryError::Contention(3),
            RegistryError::Internal("secret detail".into()),
        ]
    }

    #[test]
    fn every_error_has_its_own_code_and_a_non_success_status() {
        let errors = all();
        let codes: HashSet<i32> = errors.iter().map(RegistryError::code).collect();
        assert_eq!(codes.len(), errors.len());
        for e in &errors {
            assert!(e.code() < 0);
            assert!(e.status_code().is_client_error() || e.status_code().is_server_error(), "{e}");
        }
    }

    #[actix_web::test]
    async fn internal_errors_hide_their_detail() {
        let res = RegistryError::Internal("secret detail".into()).error_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("secret detail"));
    }
}
