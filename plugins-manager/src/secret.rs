//! Plugin secrets: accepted at registration, handed on to auth (which keeps them only as argon2
//! hashes, as the plugin's client credentials), never stored here and never printed.

use std::fmt;

use crate::error::RegistryError;

/// Longest secret accepted (auth would hash anything, but a megabyte "secret" is a mistake).
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

    /// The secret itself, for the one place it travels on: auth's client-credentials API.
    pub(crate) fn expose(&self) -> &str {
        &self.0
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_bounded() {
        let s = Secret::new("hunter2hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert!(s.check(8).is_ok());
        assert!(Secret::new("short").check(8).unwrap_err().to_string().contains("8 to 1024"));
        assert!(Secret::new("x".repeat(MAX_LEN + 1)).check(8).is_err());
    }
}
