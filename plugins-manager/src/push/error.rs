//! The push API's refusals, on the platform's catalogue (`keel_sdk::protocol::errors`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use keel_sdk::protocol::errors::{self, Code, PlatformError};

use crate::error::RegistryError;

/// Why a push call was refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The body is not the guide's shape, or a field is out of range.
    #[error("bad registration body: {0}")]
    BadBody(String),
    /// A query that does not parse.
    #[error("malformed query: {0}")]
    BadQuery(String),
    /// A reserved name (a core service's).
    #[error("{0:?} is reserved for the platform")]
    Reserved(String),
    /// The host is not on the allow-list; nothing was stored.
    #[error("host {host:?} is not allowed: {why}")]
    HostNotAllowed { host: String, why: String },
    /// Open registration from a client that is not on this machine.
    #[error("registration without credentials is accepted from loopback clients only; {peer} is not one: send `Authorization: Bearer <token>` with a client-credentials token of a client granted register-plugins")]
    NotLoopback { peer: String },
    /// A client without the grant.
    #[error("client {0:?} may not register services: grant it register-plugins in the registry's grants")]
    NotGranted(String),
    /// A token that is not good, or not a client's.
    #[error("{0}")]
    BadToken(String),
    /// The name belongs to a Keel plugin.
    #[error("{0:?} is a registered Keel plugin")]
    TakenByPlugin(String),
    /// The name belongs to another registrant.
    #[error("service {0:?} was registered by another client")]
    TakenByOther(String),
    /// Heartbeat or deregistration from someone other than the registrant.
    #[error("service {name:?} was registered by another client; only it may {what}")]
    NotRegistrant { name: String, what: &'static str },
    /// No such service.
    #[error("no service {0:?} is registered")]
    Unknown(String),
    /// The registry's own failure (store, sidecar).
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl PlatformError for PushError {
    fn code(&self) -> Code {
        match self {
            Self::BadBody(_) => Code::BadBody,
            Self::BadQuery(_) => Code::BadRequest,
            Self::Reserved(_) => Code::ReservedId,
            Self::HostNotAllowed { .. } | Self::NotLoopback { .. } | Self::NotRegistrant { .. } => {
                Code::Forbidden
            }
            Self::BadToken(_) => Code::Unauthenticated,
            Self::NotGranted(_) => Code::CallerNotAllowed,
            Self::TakenByPlugin(_) | Self::TakenByOther(_) => Code::Conflict,
            Self::Unknown(_) => Code::NotFound,
            Self::Registry(e) => e.code(),
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            Self::Registry(e) => e.detail(),
            _ => None,
        }
    }
}

impl ResponseError for PushError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        errors::respond(self)
    }
}
