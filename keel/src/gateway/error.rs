//! The gateway's own refusals (beyond the router's [`crate::errors::RouteError`]), on the
//! platform's catalogue.

use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::HttpResponseBuilder;
use keel_sdk::protocol::errors::{Code, PlatformError};

/// A request `/api/<name>/...` that no declared endpoint serves.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Neither a pushed service nor a Keel plugin has this name.
    #[error("no service or plugin named {0:?} is registered")]
    UnknownService(String),
    /// The service declared no endpoint covering the path.
    #[error("service {service:?} declares no endpoint {path:?}")]
    Undeclared { service: String, path: String },
    /// The path is declared, not for this method.
    #[error("service {service:?} does not accept {method} on {path:?} (it accepts {})", allow.join(", "))]
    WrongMethod { service: String, method: String, path: String, allow: Vec<String> },
}

impl PlatformError for GatewayError {
    fn code(&self) -> Code {
        match self {
            Self::UnknownService(_) | Self::Undeclared { .. } => Code::NotFound,
            Self::WrongMethod { .. } => Code::MethodNotAllowed,
        }
    }

    fn plugin(&self) -> Option<&str> {
        match self {
            Self::UnknownService(s)
            | Self::Undeclared { service: s, .. }
            | Self::WrongMethod { service: s, .. } => Some(s),
        }
    }

    fn decorate(&self, res: &mut HttpResponseBuilder) {
        if let Self::WrongMethod { allow, .. } = self {
            if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                res.insert_header((ALLOW, v));
            }
        }
    }
}
