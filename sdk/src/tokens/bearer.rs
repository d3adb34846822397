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
    // `from_utf8` rather than `HeaderValue::to_str`: the same refusal for a token that is not
    // text (a JWT is ASCII), but checked a word at a time instead of byte by byte, which on a
    // 600-byte token was 4% of keel's instructions per request (docs/benchmarks-cpu.md).
    let value = std::str::from_utf8(value.as_bytes())
        .map_err(|_| VerifyError::Malformed("Authorization is not text".into()))?;
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
