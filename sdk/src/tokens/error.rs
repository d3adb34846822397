//! Why a token was refused. Every variant means 401 on keel's public port; the messages are
//! safe to show and to log (they never contain the token, and echo at most a short `kid`).

use actix_web::http::StatusCode;

/// A refused token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    Missing,
    /// Not a JWT (three base64url parts, a JSON header with a `kid`), or claims of the wrong
    /// shape.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The header names an algorithm other than the pinned one (`none`, `HS256`, `RS256`, ...).
    #[error("token algorithm {0:?} is not accepted")]
    Algorithm(String),
    /// Signed by a key not in the published set (even after one re-fetch).
    #[error("token signed by unknown key {0:?}")]
    UnknownKey(String),
    /// The signature does not match: forged or tampered with.
    #[error("token signature is invalid")]
    Signature,
    /// Past its `exp`.
    #[error("token has expired")]
    Expired,
    /// Before its `nbf`.
    #[error("token is not valid yet")]
    NotYetValid,
    /// Issued by someone else.
    #[error("token issuer is not accepted")]
    Issuer,
    /// Meant for someone else.
    #[error("token audience is not accepted")]
    Audience,
    /// Listed as revoked by auth.
    #[error("token has been revoked")]
    Revoked,
}

impl VerifyError {
    /// The HTTP status for this refusal: always 401.
    pub fn status(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }

    /// The `WWW-Authenticate` value to send with the 401 (RFC 6750 §3).
    pub fn www_authenticate(&self) -> String {
        match self {
            Self::Missing => "Bearer realm=\"keel\"".to_owned(),
            other => format!(
                "Bearer realm=\"keel\", error=\"invalid_token\", error_description=\"{}\"",
                other.to_string().replace(['"', '\\'], "'")
            ),
        }
    }
}

/// At most 64 characters of an attacker-supplied string, for messages.
pub(crate) fn short(s: &str) -> String {
    s.chars().take(64).collect()
}
