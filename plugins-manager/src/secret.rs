//! Plugin secrets: accepted at registration, kept only as an argon2 hash, never printed.

use std::fmt;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

    /// The argon2id hash in PHC string form (salt and parameters included). Computed by the
    /// process's hashing threads, off the async workers: hashing is deliberately slow.
    pub async fn hash(self) -> Result<String, RegistryError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        hashers()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(Job { secret: self, done })
            .map_err(|_| RegistryError::Internal("the secret hashing threads are gone".into()))?;
        answer.await.map_err(|_| RegistryError::Internal("a secret hashing thread died".into()))?
    }
}

/// argon2id at 7 MiB, 5 passes, 1 lane: the OWASP password storage cheat sheet's equivalent of
/// 19 MiB × 2 passes, with a third of the memory (a registry holds one block per hashing thread).
fn params() -> Result<Params, argon2::Error> {
    Params::new(7 * 1024, 5, 1, Some(32))
}

/// Threads hashing secrets; more would only queue for the same cores.
const HASHERS: usize = 2;

struct Job {
    secret: Secret,
    done: tokio::sync::oneshot::Sender<Result<String, RegistryError>>,
}

/// The queue of the hashing threads, started on first use. Each thread allocates its argon2
/// working memory once and reuses it: hashing on the blocking pool instead, every run allocated
/// its own and the allocator kept them (gigabytes resident after a thousand registrations).
fn hashers() -> &'static Mutex<mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..HASHERS {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new().name(format!("secret-hasher-{i}")).spawn(move || {
                let mut blocks =
                    params().map(|p| vec![Block::default(); p.block_count()]).unwrap_or_default();
                loop {
                    let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(job) = job else { return };
                    let hashed = hash_with(&job.secret.0, &mut blocks)
                        .map_err(|e| RegistryError::Internal(format!("secret hashing failed: {e}")));
                    let _ = job.done.send(hashed);
                }
            });
            if let Err(error) = spawned {
                tracing::error!(%error, "Cannot start a secret hashing thread");
            }
        }
        Mutex::new(tx)
    })
}

/// One argon2id hash with a fresh 16-byte salt, in `blocks`, as a PHC string.
fn hash_with(secret: &str, blocks: &mut [Block]) -> Result<String, password_hash::Error> {
    let params = params()?;
    let salt_bytes = rand::random::<[u8; 16]>();
    let salt = SaltString::encode_b64(&salt_bytes)?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()).hash_password_into_with_memory(
        secret.as_bytes(),
        &salt_bytes,
        &mut out,
        blocks,
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[actix_web::test]
    async fn the_hash_verifies_and_never_contains_the_secret() {
        let hash = Secret::new("correct horse battery").hash().await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong", &parsed).is_err());
        let other = Secret::new("correct horse battery").hash().await.unwrap();
        assert_ne!(hash, other, "every hash has its own salt");
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
