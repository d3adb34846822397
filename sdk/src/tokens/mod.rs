//! Access tokens: what auth signs and how keel's public port verifies them, in memory, without
//! calling auth per request.
//!
//! # What auth issues
//!
//! JWTs signed with Ed25519 (`alg: EdDSA`, [`ALGORITHM`]) carrying a `kid`, with the claims of
//! [`AccessClaims`]: `iss`, `aud`, `sub`, `tenant`, `roles`, numeric `exp`/`iat`/`nbf`, `jti`,
//! and `client_id` on client-credentials tokens. The public keys are served by auth at
//! `GET /v1/oauth/jwks` (reached by service invocation: app `auth`, method `v1/oauth/jwks`).
//! Auth publishes revoked token ids under [`REVOKED_KEY`] and role grants under [`TENANTS_KEY`]
//! in the shared state store `statestore`.
//!
//! # How keel's public port uses it
//!
//! ```no_run
//! # async fn demo(req: actix_web::HttpRequest, plugin_id: &str) {
//! use keel_sdk::tokens::{Verifier, VerifierConfig, VerifyError};
//! // Once per process, shared by every worker (the verifier is Send + Sync and cheap to clone):
//! let verifier = Verifier::new(VerifierConfig::default()); // issuer/audience must match auth's
//! // Once, on one worker (or the main task): load everything now, then keep it fresh. The sidecar
//! // client is not Send, so the refresher runs as a local task on that thread.
//! let dapr = keel_sdk::dapr::DaprClient::from_env();
//! if let Err(error) = verifier.refresh(&dapr).await { tracing::warn!(%error, "auth not ready yet"); }
//! let _refresher = verifier.spawn_refresher(dapr.clone());
//! // Per request on the public port (for endpoints the plugin did not declare public):
//! match verifier.authenticate(req.headers(), &dapr).await {
//!     Err(e) => { /* 401, keel error envelope, header WWW-Authenticate: e.www_authenticate() */ }
//!     Ok(identity) if !verifier.can_call(&identity, plugin_id) => { /* 403 */ }
//!     Ok(identity) => {
//!         // Strip every client-sent x-keel-* and dapr-* header, then add these three:
//!         for (name, value) in identity.headers() { /* x-keel-user, x-keel-tenant, x-keel-roles */ }
//!     }
//! }
//! # }
//! ```
//!
//! - [`Verifier::authenticate`]: takes `Authorization: Bearer <jwt>`; refuses a missing or
//!   malformed token, any `alg` but `EdDSA` (so `none` and HS256-with-the-public-key fail before
//!   any key is touched), a bad signature or tampered payload, wrong `iss`/`aud`, `exp` passed,
//!   `nbf` ahead (both with [`VerifierConfig::leeway`]), a revoked `jti`, and an unknown `kid`
//!   after one rate-limited re-fetch of the JWKS. Every refusal is a [`VerifyError`] (401).
//! - [`Verifier::verify`]: the same for a bare token, synchronous and without any re-fetch.
//!   A token seen before is answered from a bounded cache keyed by the whole token (times, key
//!   presence and revocation are re-checked on every hit), so the usual cost is microseconds.
//! - [`Verifier::can_call`]: role grants ([`GrantsView::can_call`]): admins and the super-admin
//!   call every plugin, everyone may call `auth` (which checks each endpoint itself), a client
//!   calls its own plugin, others need a grant for one of their roles in their tenant.
//! - [`Verifier::refresh`] / [`Verifier::spawn_refresher`]: keys, revocations and grants every
//!   [`VerifierConfig::refresh_interval`] (default 2 s), so a revoked token is refused within
//!   about that long. When a refresh fails the last data stays in use.
//! - Auth itself feeds the same verifier directly with [`Verifier::set_jwks`],
//!   [`Verifier::set_revoked`], [`Verifier::revoke_locally`] and [`Verifier::set_grants`].

mod bearer;
mod claims;
mod error;
mod keyset;
mod published;
mod refresh;
mod verifier;

use std::time::Duration;

use crate::protocol::AUTH_APP_ID;

pub use bearer::bearer_token;
pub use claims::{
    now_secs, roles, AccessClaims, Identity, ALGORITHM, ALGORITHM_NAME, DEFAULT_AUDIENCE, DEFAULT_ISSUER,
    PLATFORM_TENANT,
};
pub use error::VerifyError;
pub use keyset::{ed25519_jwk, KeySet};
pub use published::{GrantsView, RevokedDoc, RoleGrants, TenantGrants, ANY_PLUGIN, REVOKED_KEY, TENANTS_KEY};
pub use refresh::{RefreshError, JWKS_METHOD};
pub use verifier::Verifier;

/// How a [`Verifier`] checks tokens and where it gets its data.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The only accepted `iss` (auth's `issuer`).
    pub issuer: String,
    /// The only accepted `aud` (auth's `audience`).
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf` (whole seconds).
    pub leeway: Duration,
    /// The app-id of auth, invoked for the JWKS.
    pub auth_app_id: String,
    /// The state store holding auth's published revocations and grants.
    pub state_store: String,
    /// How often keys, revocations and grants are re-read.
    pub refresh_interval: Duration,
    /// Minimum time between two JWKS re-fetches triggered by unknown `kid`s, so forged tokens
    /// cannot make keel hammer auth.
    pub refetch_min_interval: Duration,
    /// Time limit of each fetch.
    pub fetch_timeout: Duration,
    /// Most tokens remembered as verified (0 disables the cache).
    pub cache_capacity: usize,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            leeway: Duration::from_secs(5),
            auth_app_id: AUTH_APP_ID.to_owned(),
            state_store: crate::protocol::STATE_STORE.to_owned(),
            refresh_interval: refresh::DEFAULT_REFRESH_INTERVAL,
            refetch_min_interval: Duration::from_secs(5),
            fetch_timeout: Duration::from_secs(2),
            cache_capacity: 10_000,
        }
    }
}

#[cfg(test)]
mod tests;
