//! Plugin secrets: accepted at registration, kept only as an argon2 hash, never printed.

use std::fmt;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;

use crate::error::RegistryError;

/// Longest secret accepted (argon2 hashes anything, but a megabyte "secret" is a mistake).
pub const MAX_LEN: usize = 1024;

/// A secret as received. Its `Debug` is redacted and it has no `Display` or `Serialize`, so it
/// cannot end up in a log line or a response by accident.
#[derive(Clone)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// Wraps a secret (tests and the registry's own callers).
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// Checks the length bounds.
    pub fn check(&self, min_len: usize) -> Result<(), RegistryError> {
        let len = self.0.chars().count();
        if len < min_len || len > MAX_LEN {
            return Err(RegistryError::BadSecret(format!(
                "must be {min_len} to {MAX_LEN} characters long (got {len})"
            )));
        }
        Ok(())
    }

    /// The argon2id hash in PHC string form (salt and parameters included), computed on the
    /// blocking pool: hashing is deliberately slow and must not stall the async workers.
    pub async fn hash(self) -> Result<String, RegistryError> {
        actix_web::web::block(move || {
            // 16 random bytes from the OS-seeded thread generator (argon2's recommended salt size).
            let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
            Argon2::default().hash_password(self.0.as_bytes(), &salt).map(|h| h.to_string())
        })
        .await
        .map_err(|e| RegistryError::Internal(format!("secret hashing task failed: {e}")))?
        .map_err(|e| RegistryError::Internal(format!("secret hashing failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHash, PasswordVerifier};

    #[actix_web::test]
    async fn the_hash_verifies_and_never_contains_the_secret() {
        let hash = Secret::new("correct horse battery").hash().await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong", &parsed).is_err());
    }

    #[test]
    fn secrets_are_redacted_and_bounded() {
        let s = Secret::new("hunter2hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(s.check(8).is_ok());
        assert!(Secret::new("short").check(8).unwrap_err().to_string().contains("8 to 1024"));
        assert!(Secret::new("x".repeat(MAX_LEN + 1)).check(8).is_err());
    }
}
