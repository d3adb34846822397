//! Password and client-secret hashing with Argon2id. Hashing is deliberately slow and memory
//! hungry, so it runs on the blocking thread pool (never on the async workers) and at most
//! `max_concurrent_hashes` at a time, which bounds memory under a login storm.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use tokio::sync::Semaphore;

use crate::error::AuthError;

/// Hashes and checks secrets. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// A hash of a random secret: unknown users are checked against it, so "no such user" takes
    /// as long as "wrong password" and timing does not tell them apart.
    decoy: Arc<String>,
}

impl Hasher {
    /// A hasher with `params`, computing at most `concurrency` hashes at once (0: one per CPU).
    /// Computes the decoy hash, so call it where blocking for one hash is fine (at start).
    pub fn new(params: Params, concurrency: usize) -> Result<Self, AuthError> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let concurrency = match concurrency {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            n => n,
        };
        let decoy = hash_with(&argon, &generate_secret(32))?;
        Ok(Self { argon, permits: Arc::new(Semaphore::new(concurrency)), decoy: Arc::new(decoy) })
    }

    /// The PHC string of `secret`, with a fresh salt.
    pub async fn hash(&self, secret: String) -> Result<String, AuthError> {
        let argon = self.argon.clone();
        self.blocking(move || hash_with(&argon, &secret)).await?
    }

    /// True when `secret` matches `hash`. With `None` (unknown user or client) the decoy is
    /// checked instead and the answer is `false`, taking the same time as a wrong secret.
    pub async fn verify(&self, secret: String, hash: Option<String>) -> Result<bool, AuthError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| (*self.decoy).clone());
        let argon = self.argon.clone();
        let matched = self
            .blocking(move || match PasswordHash::new(&hash) {
                // The hash's own parameters are used, so hashes made under older settings still verify.
                Ok(parsed) => argon.verify_password(secret.as_bytes(), &parsed).is_ok(),
                Err(_) => false,
            })
            .await?;
        Ok(known && matched)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let _permit =
            self.permits.acquire().await.map_err(|_| AuthError::Internal("hasher closed".into()))?;
        actix_web::rt::task::spawn_blocking(f)
            .await
            .map_err(|e| AuthError::Internal(format!("hashing task: {e}")))
    }
}

fn hash_with(argon: &Argon2<'_>, secret: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    argon
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Internal(format!("hash a password: {e}")))
}

/// A random secret of `len` characters from an unambiguous alphabet (no 0/O, 1/l/I), for the
/// generated bootstrap password.
pub fn generate_secret(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// Checks a new password against the minimum length.
pub fn check_new_password(password: &str, min_len: usize) -> Result<(), AuthError> {
    if password.chars().count() < min_len {
        return Err(AuthError::Invalid(format!("password must be at least {min_len} characters long")));
    }
    if password.len() > 1024 {
        return Err(AuthError::Invalid("password must be at most 1024 bytes long".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Hasher {
        Hasher::new(Params::new(64, 1, 1, None).unwrap(), 2).unwrap()
    }

    #[actix_web::test]
    async fn a_hash_verifies_its_secret_only_and_salts_differ() {
        let h = cheap();
        let a = h.hash("pass-word-1".into()).await.unwrap();
        let b = h.hash("pass-word-1".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$") && a != b, "salted");
        assert!(h.verify("pass-word-1".into(), Some(a.clone())).await.unwrap());
        assert!(!h.verify("pass-word-2".into(), Some(a)).await.unwrap());
        assert!(!h.verify("pass-word-1".into(), Some("not a phc string".into())).await.unwrap());
    }

    #[actix_web::test]
    async fn an_unknown_user_is_checked_against_the_decoy_and_never_matches() {
        let h = cheap();
        assert!(!h.verify(String::new(), None).await.unwrap());
        assert!(!h.verify("anything".into(), None).await.unwrap());
    }

    #[test]
    fn generated_secrets_use_the_unambiguous_alphabet() {
        let s = generate_secret(200);
        assert_eq!(s.len(), 200);
        assert!(!s.contains(['0', 'O', '1', 'l', 'I']));
    }
}
