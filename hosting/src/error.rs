//! hosting's one error type: every refusal it makes, grouped by who is at fault, mapped to the
//! platform's catalogue in one `match` ([`PlatformError::code`]) and answered with
//! `keel_sdk::protocol::errors::respond`.

use std::time::Duration;

use actix_web::{HttpResponse, ResponseError};
use keel_sdk::dapr::DaprError;
use keel_sdk::protocol::errors::{self, Code, PlatformError};
use keel_sdk::protocol::PluginStatus;

use crate::model::ServiceStatus;

/// Everything hosting refuses or fails with.
#[derive(Debug, thiserror::Error)]
pub enum HostingError {
    // === the caller ===
    /// A query or body that does not parse.
    #[error("{0}")]
    BadRequest(String),
    /// The request body could not be read.
    #[error("cannot read the request body: {0}")]
    BadBody(String),
    /// The bundle cannot be installed: `plugin.yaml`, its layout or its start file (the message
    /// names the field or the file).
    #[error("bundle refused: {0}")]
    BadBundle(String),
    /// An archive entry that would land outside the bundle.
    #[error("bundle refused: archive entry {entry:?} {reason}")]
    UnsafeBundle { entry: String, reason: String },
    /// Over a size limit (the message names it).
    #[error("bundle refused: {0}")]
    BundleTooLarge(String),
    /// The root is served by another service.
    #[error("root_route {root:?} is already served by {by:?}")]
    RootRouteTaken { root: String, by: String },
    /// Same app_id, same version.
    #[error(
        "{app_id:?} is installed at version {version} already; give the bundle a new version to upgrade"
    )]
    AlreadyInstalled { app_id: String, version: String },
    /// An upgrade of the same service is under way.
    #[error("{app_id:?} is being upgraded to {version} right now; wait for it to finish")]
    UpgradeInProgress { app_id: String, version: String },
    /// No such installed service.
    #[error("no hosted service {0:?} is installed")]
    NotFound(String),
    /// A restart of a service that is not `FAILED` (hosting restarts a crashed one by itself).
    #[error("hosted service {app_id:?} is {status}, not FAILED: only a FAILED service is restarted on request (hosting restarts a crashed one by itself)")]
    NotFailed { app_id: String, status: ServiceStatus },
    /// No service serves this root.
    #[error("no hosted service serves root_route {0:?}")]
    UnknownRoot(String),
    /// Not allowed (the message says what would be).
    #[error("{0}")]
    Forbidden(#[from] keel_sdk::access::Denied),
    /// A service that is not `is_open`, asked by nobody in particular.
    #[error("hosted service at root_route {0:?} needs a login: send `Authorization: Bearer <token>` (from auth's /v1/oauth/token)")]
    LoginRequired(String),

    // === the hosted service ===
    /// Starting or waiting to restart.
    #[error("hosted service {app_id:?} (root_route {root:?}) is {status}; retry shortly")]
    Starting { root: String, app_id: String, status: ServiceStatus, retry_after: Duration },
    /// Crashed too often.
    #[error(
        "hosted service {app_id:?} (root_route {root:?}) is FAILED after repeated crashes; see its logs"
    )]
    Failed { root: String, app_id: String, retry_after: Duration },
    /// Routed, but the connection was refused.
    #[error("hosted service {app_id:?} (root_route {root:?}) did not accept the connection; it is being restarted")]
    Unreachable { root: String, app_id: String, detail: String, retry_after: Duration },
    /// No answer head in time.
    #[error("hosted service {app_id:?} (root_route {root:?}) did not answer within {after:?}")]
    Timeout { root: String, app_id: String, after: Duration },

    // === the platform ===
    /// The state store failed.
    #[error("the state store failed; retry shortly")]
    Store(#[source] DaprError),
    /// Every attempt of a conditional write lost a race.
    #[error("too many concurrent changes; retry")]
    Contention,
    /// hosting is still starting (recovering its services).
    #[error("hosting is starting; retry shortly")]
    NotReady,
    /// A bug or an impossible state.
    #[error("{0}")]
    Internal(String),
}

// === impl HostingError ===

impl HostingError {
    /// An internal error from anything displayable.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self::Internal(what.to_string())
    }
}

impl From<DaprError> for HostingError {
    fn from(e: DaprError) -> Self {
        if e.is_etag_mismatch() {
            Self::Contention
        } else {
            Self::Store(e)
        }
    }
}

impl PlatformError for HostingError {
    fn code(&self) -> Code {
        match self {
            Self::BadRequest(_) => Code::BadRequest,
            Self::BadBody(_) => Code::BadBody,
            Self::BadBundle(_) => Code::BadBundle,
            Self::UnsafeBundle { .. } => Code::UnsafeBundle,
            Self::BundleTooLarge(_) => Code::BundleTooLarge,
            Self::RootRouteTaken { .. } => Code::RootRouteTaken,
            Self::AlreadyInstalled { .. } => Code::AlreadyInstalled,
            Self::UpgradeInProgress { .. } => Code::InProgress,
            Self::NotFound(_) => Code::NotFound,
            Self::NotFailed { .. } => Code::Conflict,
            Self::UnknownRoot(_) => Code::UnknownRoot,
            Self::Forbidden(d) => d.code(),
            Self::LoginRequired(_) => Code::Unauthenticated,
            Self::Starting { .. } => Code::ServiceStarting,
            Self::Failed { .. } => Code::ServiceFailed,
            Self::Unreachable { .. } => Code::ServiceUnreachable,
            Self::Timeout { .. } => Code::PluginTimeout,
            Self::Store(_) => Code::StoreUnavailable,
            Self::Contention => Code::Contention,
            Self::NotReady => Code::NotReady,
            Self::Internal(_) => Code::Internal,
        }
    }

    fn plugin(&self) -> Option<&str> {
        match self {
            Self::Starting { app_id, .. }
            | Self::Failed { app_id, .. }
            | Self::Unreachable { app_id, .. }
            | Self::Timeout { app_id, .. } => Some(app_id),
            _ => None,
        }
    }

    fn plugin_status(&self) -> Option<PluginStatus> {
        match self {
            Self::Starting { .. } | Self::Unreachable { .. } => Some(PluginStatus::Starting),
            Self::Failed { .. } => Some(PluginStatus::Failed),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Starting { retry_after, .. }
            | Self::Failed { retry_after, .. }
            | Self::Unreachable { retry_after, .. } => Some(*retry_after),
            Self::Store(_) | Self::Contention | Self::NotReady => Some(Duration::from_secs(1)),
            _ => None,
        }
    }

    fn decorate(&self, res: &mut actix_web::HttpResponseBuilder) {
        if let Self::LoginRequired(_) = self {
            res.insert_header((actix_web::http::header::WWW_AUTHENTICATE, r#"Bearer realm="keel""#));
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            Self::Store(e) => Some(e.to_string()),
            Self::Unreachable { detail, .. } => Some(detail.clone()),
            _ => None,
        }
    }
}

impl ResponseError for HostingError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        errors::respond(self)
    }
}
