//! Taking the token out of `Authorization: Bearer <token>` (RFC 6750 §2.1).

use actix_web::http::header::{HeaderMap, AUTHORIZATION};

use super::VerifyError;

/// The bearer token of `headers`. Missing, repeated, non-`Bearer` or empty credentials are
/// [`VerifyError::Missing`] or [`VerifyError::Malformed`]; the scheme is case-insensitive.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, VerifyError> {
    let mut values = headers.get_all(AUTHORIZATION);
    let Some(value) = values.next() else { return Err(VerifyError::Missing) };
    if values.next().is_some() {
        return Err(VerifyError::Malformed("more than one Authorization header".into()));
    }
    let value = value.to_str().map_err(|_| VerifyError::Malformed("Authorization is not text".into()))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(VerifyError::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(VerifyError::Malformed("empty bearer token".into()));
    }
    Ok(token)
}
