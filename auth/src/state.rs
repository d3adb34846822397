//! [`AuthState`], what every worker of auth shares: the configuration, the password hasher, the
//! current signer and the published keys, and auth's own token verifier (fed from the key ring
//! and the revocation document rather than over the network); and the task that keeps the keys
//! and revocations current.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use keel_sdk::tokens::{now_secs, RevokedDoc, Verifier};

use crate::error::AuthError;
use crate::keys::{KeyRing, Signer};
use crate::model::keys::{KEYRING, REVOKED_KEY};
use crate::passwords::Hasher;
use crate::sealing::Sealer;
use crate::store::Store;
use crate::throttle::Throttle;
use crate::Config;

/// The identity service's in-memory state, shared by every worker; `Send + Sync`.
pub struct AuthState {
    /// The configuration.
    pub cfg: Config,
    /// Argon2id hashing on the blocking pool.
    pub hasher: Hasher,
    /// Auth's own view of which tokens are valid.
    pub verifier: Verifier,
    /// Seals and opens the private keys at rest.
    pub sealer: Sealer,
    /// Failed-login counts (password guessing).
    pub throttle: Throttle,
    signer: RwLock<Option<Arc<Signer>>>,
    jwks: RwLock<Arc<JwkSet>>,
    /// Last reload of the key ring triggered by an unknown `kid` (another replica rotated).
    kid_reload: tokio::sync::Mutex<Option<Instant>>,
}

impl AuthState {
    /// The state for `cfg`, sealing with `sealer`; computes one decoy hash (call it at start).
    pub fn new(cfg: Config, sealer: Sealer) -> Result<Self, AuthError> {
        let params =
            cfg.argon2_params().map_err(|e| AuthError::Invalid(format!("argon2 parameters: {e}")))?;
        let hasher = Hasher::new(params, cfg.max_concurrent_hashes)?;
        let verifier = Verifier::new(cfg.verifier());
        Ok(Self {
            throttle: Throttle::new(&cfg),
            cfg,
            hasher,
            verifier,
            sealer,
            signer: RwLock::new(None),
            jwks: RwLock::new(Arc::new(JwkSet { keys: Vec::new() })),
            kid_reload: tokio::sync::Mutex::new(None),
        })
    }

    /// How long a rotated-out key stays published: until the last token it signed has expired
    /// (plus the clock leeway and a minute for keel's refresh).
    pub fn keep_retired_seconds(&self) -> u64 {
        self.cfg.access_token_ttl_seconds + self.cfg.clock_leeway_seconds + 60
    }

    /// Starts using `ring`: its current key signs (opened with the sealing key), its published
    /// keys verify.
    pub fn install_ring(&self, ring: &KeyRing) -> Result<(), AuthError> {
        let signer = Arc::new(ring.signer(&self.sealer)?);
        let jwks = ring.jwks(now_secs(), self.keep_retired_seconds())?;
        self.verifier.set_jwks(&jwks);
        *self.jwks.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(jwks);
        *self.signer.write().unwrap_or_else(|e| e.into_inner()) = Some(signer);
        Ok(())
    }

    /// The signer of the current key.
    pub fn signer(&self) -> Result<Arc<Signer>, AuthError> {
        self.signer
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| AuthError::Internal("no signing key loaded".into()))
    }

    /// The published keys.
    pub fn jwks(&self) -> Arc<JwkSet> {
        self.jwks.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Re-reads the key ring and the revocation document (changes made by other replicas).
    pub async fn reload(&self, store: &Store) -> Result<(), AuthError> {
        if let Some(ring) = store.get::<KeyRing>(KEYRING).await? {
            self.install_ring(&ring.value)?;
        }
        let revoked = store.published().get_or_default::<RevokedDoc>(REVOKED_KEY).await?;
        self.verifier.set_revoked(&revoked.value);
        Ok(())
    }

    /// Re-reads the key ring when a token names a `kid` this replica has not seen, at most once
    /// a second however many such tokens arrive.
    pub async fn reload_for_unknown_kid(&self, store: &Store) {
        let mut last = self.kid_reload.lock().await;
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(e) = self.reload(store).await {
            tracing::warn!(error = %e.detailed(), "Reloading signing keys failed");
        }
    }
}

/// Re-reads keys and revocations every `reload_interval_ms` on the current thread, until the
/// returned task is aborted. Logs the first failure and the recovery, not every round.
pub fn spawn_reloader(state: Arc<AuthState>, store: Store) -> actix_rt::task::JoinHandle<()> {
    actix_rt::spawn(async move {
        let mut failing = false;
        loop {
            actix_rt::time::sleep(Duration::from_millis(state.cfg.reload_interval_ms)).await;
            let round = async {
                state.reload(&store).await?;
                crate::directory::publish(&store).await
            };
            match round.await {
                Ok(()) if failing => {
                    tracing::info!("Reloading keys and revocations works again");
                    failing = false;
                }
                Ok(()) => {}
                Err(e) if !failing => {
                    tracing::warn!(error = %e.detailed(), "Reloading keys and revocations failed; keeping the last ones");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    })
}
