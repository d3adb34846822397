//! Keeping the verifier's data fresh through this app's sidecar: the JWKS from auth
//! (`GET v1/oauth/jwks` by service invocation), the revocation set and the grants from the shared
//! state store. Runs on a timer and, rate-limited, when a token names an unknown `kid`; never
//! once per request.

use std::time::{Duration, Instant};

use actix_web::http::header::HeaderMap;
use actix_web::http::Method;
use jsonwebtoken::jwk::{Jwk, JwkSet};

use crate::dapr::{DaprClient, DaprError};

use super::bearer::bearer_token;
use super::claims::Identity;
use super::published::{GrantsView, RevokedDoc, REVOKED_KEY, TENANTS_KEY};
use super::{Verifier, VerifyError};

/// How long a refresher stays quiet about failures before its first success: auth starting
/// after keel is normal, not worth a warning.
pub const STARTUP_GRACE: Duration = Duration::from_secs(30);

/// The auth method that publishes the keys.
pub const JWKS_METHOD: &str = "v1/oauth/jwks";

/// Why a refresh failed; the verifier keeps what it had.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The sidecar, auth or the state store could not be reached or answered badly.
    #[error(transparent)]
    Dapr(#[from] DaprError),
    /// Auth answered the JWKS request with an error status.
    #[error("auth answered {status} to {what}")]
    Status { what: String, status: u16 },
    /// Auth published no usable key.
    #[error("auth published no usable Ed25519 signing key")]
    NoKeys,
}

impl Verifier {
    /// Verifies the bearer token of a request's `headers`. When the token names a `kid` not in
    /// the cached keys, re-fetches the JWKS once (at most once per
    /// [`super::VerifierConfig::refetch_min_interval`], whoever asks) and tries again.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        dapr: &DaprClient,
    ) -> Result<std::sync::Arc<Identity>, VerifyError> {
        let token = bearer_token(headers)?;
        match self.verify(token) {
            Err(VerifyError::UnknownKey(kid)) => {
                self.refetch_for(&kid, dapr).await;
                self.verify(token)
            }
            verdict => verdict,
        }
    }

    /// Fetches everything: keys, revocations, grants. Each part is kept when its fetch fails;
    /// the first failure is returned.
    pub async fn refresh(&self, dapr: &DaprClient) -> Result<(), RefreshError> {
        let keys = self.refresh_keys(dapr).await.map(|_| ());
        let revoked = self.refresh_revoked(dapr).await;
        let grants = self.refresh_grants(dapr).await;
        keys.and(revoked).and(grants)
    }

    /// Fetches the JWKS from auth; returns the number of usable keys.
    pub async fn refresh_keys(&self, dapr: &DaprClient) -> Result<usize, RefreshError> {
        let dapr = dapr.with_timeout(self.config().fetch_timeout);
        let answer = dapr.invoke::<()>(Method::GET, &self.config().auth_app_id, JWKS_METHOD, None).await?;
        if !answer.status.is_success() {
            return Err(RefreshError::Status { what: answer.what, status: answer.status.as_u16() });
        }
        // Entries are decoded one by one so one key of an unknown type cannot hide the others.
        let raw: RawJwks = answer.json()?;
        let jwks = JwkSet {
            keys: raw.keys.into_iter().filter_map(|k| serde_json::from_value::<Jwk>(k).ok()).collect(),
        };
        match self.set_jwks(&jwks) {
            0 => Err(RefreshError::NoKeys),
            n => Ok(n),
        }
    }

    /// Reads the revocation set from the state store.
    pub async fn refresh_revoked(&self, dapr: &DaprClient) -> Result<(), RefreshError> {
        let dapr = dapr.with_timeout(self.config().fetch_timeout);
        let doc = dapr.get_state_json::<RevokedDoc>(&self.config().state_store, REVOKED_KEY).await?;
        self.set_revoked(&doc.map(|(d, _)| d).unwrap_or_default());
        Ok(())
    }

    /// Reads the role grants from the state store.
    pub async fn refresh_grants(&self, dapr: &DaprClient) -> Result<(), RefreshError> {
        let dapr = dapr.with_timeout(self.config().fetch_timeout);
        let doc = dapr.get_state_json::<GrantsView>(&self.config().state_store, TENANTS_KEY).await?;
        self.set_grants(doc.map(|(d, _)| d).unwrap_or_default());
        Ok(())
    }

    /// Refreshes everything every [`super::VerifierConfig::refresh_interval`] on the current
    /// actix/tokio local task set (the sidecar client is not `Send`), until the returned handle
    /// is aborted. Logs the first failure and the recovery, not every failed round; until the
    /// first success (auth may start after keel) failures are quiet for [`STARTUP_GRACE`].
    pub fn spawn_refresher(&self, dapr: DaprClient) -> actix_rt::task::JoinHandle<()> {
        let verifier = self.clone();
        actix_rt::spawn(async move {
            let mut failing = false;
            let mut ever_ok = false;
            let started = Instant::now();
            loop {
                match verifier.refresh(&dapr).await {
                    Ok(()) if failing => {
                        tracing::info!("Token verifier data refreshed again");
                        failing = false;
                        ever_ok = true;
                    }
                    Ok(()) => ever_ok = true,
                    Err(error) if !ever_ok && started.elapsed() < STARTUP_GRACE => {
                        tracing::debug!(%error, "Token verifier waiting for auth to start");
                    }
                    Err(error) if !failing => {
                        tracing::warn!(%error, "Token verifier refresh failed; keeping the last data");
                        failing = true;
                    }
                    Err(error) => tracing::debug!(%error, "Token verifier refresh still failing"),
                }
                actix_rt::time::sleep(verifier.config().refresh_interval).await;
            }
        })
    }

    async fn refetch_for(&self, kid: &str, dapr: &DaprClient) {
        let mut last = self.0.refetch.lock().await;
        if self.keys().contains(kid) {
            return; // fetched by another request while this one waited
        }
        if last.is_some_and(|t: Instant| t.elapsed() < self.config().refetch_min_interval) {
            return;
        }
        *last = Some(Instant::now());
        match self.refresh_keys(dapr).await {
            Ok(n) => tracing::debug!(keys = n, "Re-fetched signing keys for an unknown kid"),
            Err(error) => tracing::warn!(%error, "Re-fetching signing keys failed"),
        }
    }
}

#[derive(serde::Deserialize)]
struct RawJwks {
    #[serde(default)]
    keys: Vec<serde_json::Value>,
}

/// Default for [`super::VerifierConfig::refresh_interval`].
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(2);
