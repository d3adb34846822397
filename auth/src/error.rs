//! Every way an auth request can fail, and the one place that turns each into an HTTP status and
//! a body. Management errors answer the platform envelope `{"ret": <code>, "msg": "..."}`; OAuth
//! endpoint errors answer RFC 6749 §5.2 JSON (`{"error": "invalid_grant", ...}`) with the
//! envelope fields next to it. Messages never contain a password, secret, hash or token.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use keel_sdk::dapr::DaprError;
use keel_sdk::tokens::VerifyError;
use serde::Serialize;

/// RFC 6749 §5.2 (and RFC 7009 §2.2.1) error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthCode {
    /// A parameter is missing, repeated or malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The credentials or the refresh token are not valid.
    InvalidGrant,
    /// The grant type is not one auth offers.
    UnsupportedGrantType,
    /// Revocation of this token type is not supported.
    UnsupportedTokenType,
}

/// A refused or failed auth request.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    // === the caller's fault ===
    /// The request does not parse or a value is out of bounds.
    #[error("{0}")]
    Invalid(String),
    /// No valid access token.
    #[error("{0}")]
    Unauthenticated(#[source] VerifyError),
    /// Authenticated, not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Does not exist, or belongs to a tenant the caller cannot see (the same answer, so a
    /// tenant admin cannot probe other tenants).
    #[error("{0}")]
    NotFound(String),
    /// Exists already, or is in use.
    #[error("{0}")]
    Conflict(String),
    /// An OAuth endpoint refused the request.
    #[error("{description}")]
    OAuth {
        code: OAuthCode,
        description: String,
        /// The client authenticated with HTTP Basic: the 401 must challenge Basic (RFC 6749 §5.2).
        basic: bool,
    },

    // === the platform ===
    /// The sidecar or the state store failed.
    #[error("the state store failed: {0}")]
    Store(#[from] DaprError),
    /// Every attempt lost a concurrent-write race.
    #[error("{0} kept changing under this request; retry")]
    Contention(String),
    /// A bug or an impossible state; details are logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthError {
    /// An OAuth refusal.
    pub fn oauth(code: OAuthCode, description: impl Into<String>) -> Self {
        Self::OAuth { code, description: description.into(), basic: false }
    }

    /// The envelope's `ret`: one negative code per kind, stable for clients.
    pub fn code(&self) -> i32 {
        match self {
            Self::Invalid(_) => -2001,
            Self::Unauthenticated(_) => -2002,
            Self::Forbidden(_) => -2003,
            Self::NotFound(_) => -2004,
            Self::Conflict(_) => -2005,
            Self::OAuth { .. } => -2006,
            Self::Store(_) => -2301,
            Self::Contention(_) => -2302,
            Self::Internal(_) => -2500,
        }
    }

    /// True for errors the server is to blame for (logged with their detail).
    pub fn is_server_fault(&self) -> bool {
        self.status_code().is_server_error()
    }
}

#[derive(Serialize)]
struct OAuthBody<'a> {
    error: OAuthCode,
    error_description: &'a str,
    ret: i32,
    msg: &'a str,
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::OAuth { code: OAuthCode::InvalidClient, .. } => StatusCode::UNAUTHORIZED,
            Self::OAuth { .. } => StatusCode::BAD_REQUEST,
            Self::Store(_) | Self::Contention(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        match self {
            Self::OAuth { code, description, basic } => {
                if *basic {
                    res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"keel\""));
                }
                res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
                res.json(OAuthBody {
                    error: *code,
                    error_description: description,
                    ret: self.code(),
                    msg: description,
                })
            }
            Self::Unauthenticated(e) => {
                res.insert_header((header::WWW_AUTHENTICATE, e.www_authenticate()));
                res.json(keel_sdk::protocol::Envelope::error(self.code(), self.to_string()))
            }
            // Details of platform failures go to the log (see `keel_sdk::telemetry::log_failures`), not the client.
            Self::Store(_) => res.json(keel_sdk::protocol::Envelope::error(
                self.code(),
                "auth's state store is unavailable; retry later",
            )),
            Self::Internal(_) => res.json(keel_sdk::protocol::Envelope::error(
                self.code(),
                "internal error in auth; see its log",
            )),
            other => res.json(keel_sdk::protocol::Envelope::error(self.code(), other.to_string())),
        }
    }
}
