//! Every way an auth request can fail, and the one place that decides what each becomes on the
//! wire: [`AuthError`]'s `code()` picks its entry in the platform's catalogue
//! (`keel_sdk::protocol::errors`), which fixes the HTTP status and whose fault it is, and
//! `errors::respond` builds the answer: `x-keel-error: 1` and the body
//! `{"ret": -<status>, "msg", "code"}`. OAuth refusals carry RFC 6749 §5.2's `error` and
//! `error_description` in the same body, with `Cache-Control: no-store` (and a `Basic` challenge
//! when the client authenticated with HTTP Basic); a missing or bad bearer token gets its
//! `WWW-Authenticate: Bearer` challenge (RFC 6750 §3).
//!
//! Messages are what the caller is told and never contain a password, secret, hash or token.
//! The platform's own failures (store, sidecar, bugs) say only that something failed; their
//! cause goes to the log as the refusal's detail (`keel_sdk::telemetry::log_failures`).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use keel_sdk::dapr::DaprError;
use keel_sdk::protocol::errors::{self, Code, PlatformError};
use keel_sdk::protocol::REGISTRY_APP_ID;
use keel_sdk::tokens::VerifyError;

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
    #[error(transparent)]
    Forbidden(#[from] Denied),
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

    /// A login ticket refused: unknown, expired or revoked (401), or not the caller's (403).
    #[error(transparent)]
    Ticket(#[from] crate::tickets::Refused),
    /// A console login (`POST /v1/tickets`) with a wrong user name or password.
    #[error("wrong user name or password")]
    WrongLogin,
    /// The calling app (as its sidecar stamped it) may not use this endpoint.
    #[error("{0}")]
    CallerNotAllowed(String),

    /// Too many failed logins from this client: wait (`Retry-After`) before trying again.
    #[error("too many failed logins; retry in {} s", .retry_after.as_secs().max(1))]
    Throttled { retry_after: std::time::Duration },

    // === the platform ===
    /// The sidecar or the state store failed (the cause is logged, not sent).
    #[error("{}", store_message(.0))]
    Store(#[from] DaprError),
    /// Every attempt lost a concurrent-write race.
    #[error("{0} kept changing under this request; retry")]
    Contention(String),
    /// A bug or an impossible state; details are logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why an authenticated caller may not do what they asked (403 `ERR_FORBIDDEN`). One variant per
/// rule, so each refusal is named where the rule is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// A client-credentials token on the management API.
    #[error("client tokens cannot use the management API")]
    ClientToken,
    /// The platform's rule refused it (`keel_sdk::access`, applied by `crate::authorize`): a
    /// platform permission without platform scope, another tenant, a user or role of wider scope.
    #[error(transparent)]
    Rule(keel_sdk::access::Denied),
    /// Managing client credentials, being neither the registry nor of platform scope.
    #[error("client credentials are managed by the registry (app-id {REGISTRY_APP_ID:?}) or platform scope")]
    NotClientManager,
    /// Changing one's own password without knowing the current one.
    #[error("the current password is wrong")]
    WrongCurrentPassword,
}

/// RFC 6749 §5.2 (and RFC 7009 §2.2.1) error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

// === impl AuthError ===

impl AuthError {
    /// An OAuth refusal.
    pub fn oauth(code: OAuthCode, description: impl Into<String>) -> Self {
        Self::OAuth { code, description: description.into(), basic: false }
    }

    /// The message with the cause the caller is not told, for start-up errors and log lines.
    pub fn detailed(&self) -> String {
        match self.detail() {
            Some(detail) => format!("{self}: {detail}"),
            None => self.to_string(),
        }
    }
}

/// What the caller is told when the store fails: whether auth's own sidecar is down or the store
/// behind it, never the addresses or the store's own words.
fn store_message(e: &DaprError) -> &'static str {
    match e {
        DaprError::Connect { .. } => "auth cannot reach its Dapr sidecar; retry later",
        _ => "auth's state store is unavailable; retry later",
    }
}

impl PlatformError for AuthError {
    fn code(&self) -> Code {
        match self {
            Self::Invalid(_) => Code::BadRequest,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::Forbidden(_) => Code::Forbidden,
            Self::NotFound(_) => Code::NotFound,
            Self::Conflict(_) => Code::Conflict,
            Self::OAuth { code, .. } => code.code(),
            Self::Ticket(refused) => refused.code(),
            Self::WrongLogin => Code::Unauthenticated,
            Self::CallerNotAllowed(_) => Code::CallerNotAllowed,
            Self::Throttled { .. } => Code::RateLimited,
            Self::Store(DaprError::Connect { .. }) => Code::SidecarUnavailable,
            Self::Store(_) => Code::StoreUnavailable,
            Self::Contention(_) => Code::Contention,
            Self::Internal(_) => Code::Internal,
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            Self::Store(e) => Some(e.to_string()),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Throttled { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    fn oauth_error(&self) -> Option<&'static str> {
        match self {
            Self::OAuth { code, .. } => Some(code.as_str()),
            _ => None,
        }
    }

    fn decorate(&self, res: &mut HttpResponseBuilder) {
        match self {
            Self::OAuth { basic, .. } => {
                if *basic {
                    res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"keel\""));
                }
                res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
            }
            Self::Unauthenticated(e) => {
                res.insert_header((header::WWW_AUTHENTICATE, e.www_authenticate()));
            }
            _ => {}
        }
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        errors::respond(self)
    }
}

// === impl OAuthCode ===

impl OAuthCode {
    /// Every OAuth code.
    pub const ALL: [OAuthCode; 5] = [
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidGrant,
        Self::UnsupportedGrantType,
        Self::UnsupportedTokenType,
    ];

    /// The `error` value of RFC 6749 §5.2.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedTokenType => "unsupported_token_type",
        }
    }

    /// Its catalogue entry: 401 for `invalid_client`, 400 for the others (RFC 6749 §5.2).
    pub const fn code(self) -> Code {
        match self {
            Self::InvalidRequest => Code::OAuthInvalidRequest,
            Self::InvalidClient => Code::OAuthInvalidClient,
            Self::InvalidGrant => Code::OAuthInvalidGrant,
            Self::UnsupportedGrantType => Code::OAuthUnsupportedGrantType,
            Self::UnsupportedTokenType => Code::OAuthUnsupportedTokenType,
        }
    }
}

#[cfg(test)]
mod tests;
