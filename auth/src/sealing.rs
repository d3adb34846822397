//! Sealing secrets at rest: what auth keeps that could be used as it is (the signing keys' private
//! halves) is stored encrypted with ChaCha20-Poly1305 (an AEAD: tampering is detected), under a
//! key that never touches the state store. The key is read once at start from a Dapr secret store
//! (`secret_store`, secret `sealing_secret`, holding the base64 of 32 bytes under the same name)
//! through auth's own sidecar; `scripts/local-secrets` makes one for local runs, production points
//! the component at a real secret store. Without it auth does not start (a configuration error).
//!
//! Passwords and client secrets are not sealed: only their Argon2id hashes are kept, and refresh
//! tokens only as SHA-256, none of which can be turned back into the secret.
//!
//! A sealed value is `v1.` + base64(12-byte random nonce ‖ ciphertext ‖ tag), bound to what it is
//! (the associated data, e.g. the key's `kid`), so a sealed value moved to another record fails
//! to open.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use keel_sdk::dapr::{DaprClient, DaprError};
use rand::TryRngCore;

use crate::error::AuthError;

/// The version prefix of a sealed value.
const PREFIX: &str = "v1.";
/// Nonce length of ChaCha20-Poly1305.
const NONCE: usize = 12;

/// Seals and opens with one key. `Send + Sync`; the key is never printed.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key redacted>)")
    }
}

/// Why the sealing key could not be had at start.
#[derive(Debug, thiserror::Error)]
pub enum SealingKeyError {
    /// The secret store, the secret or its value is missing or malformed: the operator's to fix.
    #[error(
        "no usable sealing key: secret {secret:?} of Dapr secret store {store:?} {why} (it must hold \
         {secret:?}: the base64 of 32 random bytes; locally run scripts/local-secrets, see docs/auth.md)"
    )]
    Missing { store: String, secret: String, why: String },
    /// The sidecar could not be asked (down, timed out): worth retrying, not a configuration error.
    #[error("reading the sealing key: {0}")]
    Sidecar(DaprError),
}

impl Sealer {
    /// A sealer with `key`.
    pub fn new(key: &[u8; 32]) -> Self {
        Self { cipher: ChaCha20Poly1305::new(Key::from_slice(key)) }
    }

    /// A sealer from the base64 text of a 32-byte key.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let raw = STANDARD.decode(text.trim()).map_err(|_| "is not base64".to_owned())?;
        let key: [u8; 32] = raw.try_into().map_err(|r: Vec<u8>| format!("is {} bytes, not 32", r.len()))?;
        Ok(Self::new(&key))
    }

    /// Reads the key from secret `secret` of secret store `store` through `dapr`.
    pub async fn load(dapr: &DaprClient, store: &str, secret: &str) -> Result<Self, SealingKeyError> {
        let missing = |why: String| SealingKeyError::Missing {
            store: store.to_owned(),
            secret: secret.to_owned(),
            why,
        };
        let found = match dapr.get_secret(store, secret).await {
            Ok(found) => found,
            Err(e) if e.is_transport() => return Err(SealingKeyError::Sidecar(e)),
            // The sidecar's refusal (no such store, not allowed, not in the store) names nothing secret.
            Err(e) => return Err(missing(format!("cannot be read ({e})"))),
        };
        let value = found.get(secret).ok_or_else(|| missing(format!("has no key {secret:?}")))?;
        Self::from_base64(value).map_err(missing)
    }

    /// `plain` sealed, bound to `context`.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<String, AuthError> {
        let mut nonce = [0u8; NONCE];
        rand::rngs::OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|e| AuthError::Internal(format!("randomness: {e}")))?;
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: context.as_bytes() })
            .map_err(|_| AuthError::Internal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens what [`Self::seal`] made for `context`. A wrong key, another context or any change
    /// to the text fails.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, AuthError> {
        let fail = || {
            AuthError::Internal(format!(
                "sealed value of {context} does not open: tampered with, or sealed with another sealing key"
            ))
        };
        let raw = sealed.strip_prefix(PREFIX).and_then(|b| STANDARD.decode(b).ok()).ok_or_else(fail)?;
        if raw.len() < NONCE {
            return Err(fail());
        }
        let (nonce, body) = raw.split_at(NONCE);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: context.as_bytes() })
            .map_err(|_| fail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let s = Sealer::new(&[7; 32]);
        let sealed = s.seal(b"private key bytes", "kid-1").unwrap();
        assert!(sealed.starts_with("v1.") && !sealed.contains("private"));
        assert_ne!(sealed, s.seal(b"private key bytes", "kid-1").unwrap(), "fresh nonce each time");
        assert_eq!(s.open(&sealed, "kid-1").unwrap(), b"private key bytes");
        assert!(s.open(&sealed, "kid-2").is_err(), "moved to another record");
        assert!(Sealer::new(&[8; 32]).open(&sealed, "kid-1").is_err(), "another key");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(s.open(std::str::from_utf8(&tampered).unwrap(), "kid-1").is_err());
        assert!(s.open("plain text", "kid-1").is_err());
    }

    #[test]
    fn keys_must_be_base64_of_32_bytes_and_are_never_printed() {
        assert!(Sealer::from_base64(&STANDARD.encode([1u8; 32])).is_ok());
        assert_eq!(Sealer::from_base64(&STANDARD.encode([1u8; 16])).unwrap_err(), "is 16 bytes, not 32");
        assert!(Sealer::from_base64("not base64!").is_err());
        assert_eq!(format!("{:?}", Sealer::new(&[1; 32])), "Sealer(<key redacted>)");
    }
}
