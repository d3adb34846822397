//! The verifier: checks a token against the cached keys, claims and revocation set, entirely in
//! memory, and remembers tokens it has already checked so a client re-using its token costs a
//! hash lookup rather than a signature check. The memory is bounded (`quick_cache`, whose
//! eviction keeps the tokens clients keep re-using and lets one-off ones go first).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::Validation;
use serde::Deserialize;

use super::claims::{now_secs, AccessClaims, Identity, ALGORITHM, ALGORITHM_NAME};
use super::error::short;
use super::published::{GrantsView, RevokedDoc};
use super::{KeySet, VerifierConfig, VerifyError};

/// A token already verified: its identity, the key that signed it, and when it becomes valid.
#[derive(Debug)]
struct Cached {
    identity: Arc<Identity>,
    kid: String,
    nbf: u64,
}

pub(super) struct Inner {
    pub(super) cfg: VerifierConfig,
    validation: Validation,
    keys: RwLock<Arc<KeySet>>,
    revoked: RwLock<Arc<HashSet<String>>>,
    grants: RwLock<Arc<GrantsView>>,
    /// Tokens already verified, by their text; `None` when `cache_capacity` is 0.
    cache: Option<TokenCache>,
    /// When keys were last re-fetched because of an unknown `kid`; held while fetching, so
    /// concurrent requests with the same new `kid` wait for one fetch instead of each starting one.
    pub(super) refetch: tokio::sync::Mutex<Option<Instant>>,
    /// When the revocation set was last loaded successfully.
    pub(super) revoked_at: RwLock<Option<Instant>>,
}

/// The verified-token cache: at most `cache_capacity` tokens (quick_cache's bound is per shard,
/// so "about").
type TokenCache = quick_cache::sync::Cache<Box<str>, Arc<Cached>>;

/// Verifies access tokens from cached keys. Cheap to clone (shared state), `Send + Sync`: build
/// one per process and share it across workers.
#[derive(Clone)]
pub struct Verifier(pub(super) Arc<Inner>);

#[derive(Deserialize)]
struct RawHeader {
    alg: Option<serde_json::Value>,
    kid: Option<serde_json::Value>,
}

impl Verifier {
    /// A verifier with no keys yet (every token is refused until keys are loaded with
    /// [`Verifier::set_jwks`] or fetched with [`Verifier::refresh`]).
    pub fn new(cfg: VerifierConfig) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[&cfg.issuer]);
        validation.set_audience(&[&cfg.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = cfg.leeway.as_secs();
        Self(Arc::new(Inner {
            cache: (cfg.cache_capacity > 0).then(|| TokenCache::new(cfg.cache_capacity)),
            cfg,
            validation,
            keys: RwLock::default(),
            revoked: RwLock::default(),
            grants: RwLock::default(),
            refetch: tokio::sync::Mutex::new(None),
            revoked_at: RwLock::new(None),
        }))
    }

    /// The configuration.
    pub fn config(&self) -> &VerifierConfig {
        &self.0.cfg
    }

    /// Verifies `token` (the part after `Bearer `) from memory: pinned algorithm, known `kid`,
    /// signature, `iss`, `aud`, `exp`, `nbf`, not revoked.
    pub fn verify(&self, token: &str) -> Result<Arc<Identity>, VerifyError> {
        if let Some(hit) = self.cached(token) {
            return hit;
        }
        let kid = pinned_kid(token)?;
        let keys = self.keys();
        let key = keys.get(&kid).ok_or_else(|| VerifyError::UnknownKey(short(&kid)))?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &self.0.validation).map_err(map_error)?;
        let claims = data.claims;
        self.check_times(claims.exp, claims.nbf)?;
        if self.is_revoked(&claims.jti) {
            return Err(VerifyError::Revoked);
        }
        let nbf = claims.nbf;
        let identity = Arc::new(Identity::from(claims));
        self.remember(token, Cached { identity: identity.clone(), kid, nbf });
        Ok(identity)
    }

    /// True when `identity` may call plugin `plugin_id` under the current grants (see
    /// [`GrantsView::can_call`]).
    pub fn can_call(&self, identity: &Identity, plugin_id: &str) -> bool {
        read(&self.0.grants).can_call(identity, plugin_id)
    }

    /// Replaces the keys with the usable ones of `jwks` and returns how many there are. An
    /// empty result keeps the old keys (a broken answer must not lock everyone out).
    pub fn set_jwks(&self, jwks: &JwkSet) -> usize {
        let next = KeySet::from_jwks(jwks);
        if next.is_empty() {
            return 0;
        }
        let n = next.len();
        let changed = !self.keys().same_kids(&next);
        *self.0.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        if let Some(cache) = self.0.cache.as_ref().filter(|_| changed) {
            // A key that is gone must not keep verifying through remembered tokens.
            cache.clear();
        }
        n
    }

    /// The keys in use.
    pub fn keys(&self) -> Arc<KeySet> {
        read(&self.0.keys)
    }

    /// Replaces the revocation set (entries already expired are dropped).
    pub fn set_revoked(&self, doc: &RevokedDoc) {
        let now = now_secs();
        let set: HashSet<String> =
            doc.jtis.iter().filter(|(_, exp)| **exp >= now).map(|(j, _)| j.clone()).collect();
        *self.0.revoked.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
        *self.0.revoked_at.write().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Adds one revoked token id at once (auth applies its own revocations without waiting
    /// for the next refresh).
    pub fn revoke_locally(&self, jti: &str) {
        let mut guard = self.0.revoked.write().unwrap_or_else(|e| e.into_inner());
        let mut next = (**guard).clone();
        next.insert(jti.to_owned());
        *guard = Arc::new(next);
    }

    /// True when `jti` is in the revocation set.
    pub fn is_revoked(&self, jti: &str) -> bool {
        read(&self.0.revoked).contains(jti)
    }

    /// How long ago the revocation set was last loaded, `None` before the first load.
    pub fn revocations_age(&self) -> Option<Duration> {
        self.0.revoked_at.read().unwrap_or_else(|e| e.into_inner()).map(|t| t.elapsed())
    }

    /// Replaces the role grants.
    pub fn set_grants(&self, grants: GrantsView) {
        *self.0.grants.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(grants);
    }

    fn cached(&self, token: &str) -> Option<Result<Arc<Identity>, VerifyError>> {
        let cache = self.0.cache.as_ref()?;
        let hit = cache.get(token)?;
        let verdict = self
            .check_times(hit.identity.exp, hit.nbf)
            .and_then(
                |()| if self.is_revoked(&hit.identity.jti) { Err(VerifyError::Revoked) } else { Ok(()) },
            )
            .and_then(|()| {
                if self.keys().contains(&hit.kid) {
                    Ok(())
                } else {
                    Err(VerifyError::UnknownKey(short(&hit.kid)))
                }
            });
        if let Err(VerifyError::Expired) = verdict {
            // It will never verify again: make room.
            cache.remove(token);
        }
        Some(verdict.map(|()| hit.identity.clone()))
    }

    /// How many tokens are remembered.
    #[cfg(test)]
    pub(super) fn cached_tokens(&self) -> usize {
        self.0.cache.as_ref().map_or(0, TokenCache::len)
    }

    fn remember(&self, token: &str, entry: Cached) {
        if let Some(cache) = &self.0.cache {
            cache.insert(token.into(), Arc::new(entry));
        }
    }

    /// Expired when `now >= exp + leeway`; not yet valid when `now + leeway < nbf`.
    fn check_times(&self, exp: u64, nbf: u64) -> Result<(), VerifyError> {
        let now = now_secs();
        let leeway = self.0.cfg.leeway.as_secs();
        if now >= exp.saturating_add(leeway) {
            return Err(VerifyError::Expired);
        }
        if now.saturating_add(leeway) < nbf {
            return Err(VerifyError::NotYetValid);
        }
        Ok(())
    }
}

/// Reads the header without trusting it: three parts, the pinned `alg`, a string `kid`.
fn pinned_kid(token: &str) -> Result<String, VerifyError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed("not three dot-separated parts".into()));
    };
    let raw = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| VerifyError::Malformed("header is not base64url".into()))?;
    let header: RawHeader = serde_json::from_slice(&raw)
        .map_err(|_| VerifyError::Malformed("header is not a JSON object".into()))?;
    match header.alg {
        Some(serde_json::Value::String(alg)) if alg == ALGORITHM_NAME => {}
        Some(serde_json::Value::String(alg)) => return Err(VerifyError::Algorithm(short(&alg))),
        _ => return Err(VerifyError::Algorithm(String::new())),
    }
    match header.kid {
        Some(serde_json::Value::String(kid)) if !kid.is_empty() => Ok(kid),
        _ => Err(VerifyError::Malformed("header has no kid".into())),
    }
}

fn map_error(e: jsonwebtoken::errors::Error) -> VerifyError {
    match e.kind() {
        ErrorKind::InvalidSignature | ErrorKind::InvalidEddsaKey | ErrorKind::InvalidKeyFormat => {
            VerifyError::Signature
        }
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
        ErrorKind::InvalidIssuer => VerifyError::Issuer,
        ErrorKind::InvalidAudience => VerifyError::Audience,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            VerifyError::Algorithm(String::new())
        }
        ErrorKind::MissingRequiredClaim(c) => VerifyError::Malformed(format!("missing claim {c}")),
        ErrorKind::InvalidClaimFormat(c) => VerifyError::Malformed(format!("claim {c} has the wrong type")),
        ErrorKind::Json(_) => VerifyError::Malformed("claims are not the expected JSON".into()),
        _ => VerifyError::Malformed("undecodable token".into()),
    }
}

fn read<T>(lock: &RwLock<Arc<T>>) -> Arc<T> {
    lock.read().unwrap_or_else(|e| e.into_inner()).clone()
}
