//! Token signing keys: Ed25519, generated on first start and kept in auth's private state store
//! with their private halves sealed ([`crate::sealing`]: never plain PKCS#8 at rest, never in the
//! repository), published as a JWKS, rotated on request. A rotated-out key stays published until
//! every token it signed has expired, so rotation needs no downtime. Keys stored plain by older
//! versions (or in the shared store) are sealed and moved at start ([`load_or_create`]).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{EncodingKey, Header};
use keel_sdk::tokens::{ed25519_jwk, AccessClaims, ALGORITHM};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};

use crate::error::AuthError;
use crate::model::keys::KEYRING;
use crate::sealing::Sealer;
use crate::store::{retry_races, Store};

/// The signing keys ([`KEYRING`]): the current one and those rotated out but still published.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRing {
    /// The `kid` new tokens are signed with.
    pub current: String,
    /// Every key still published, the current one included.
    pub keys: Vec<KeyRecord>,
}

/// One key pair.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// The PKCS#8 DER of the private key, sealed for this `kid` ([`Sealer::seal`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub private_sealed: String,
    /// Older versions' plain base64 PKCS#8: only ever read, sealed at start and then dropped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub private_pkcs8: String,
    /// The raw public key, base64url (the JWK's `x`).
    pub public: String,
    /// Creation time.
    pub created_at: u64,
    /// When it stopped signing.
    #[serde(default)]
    pub retired_at: Option<u64>,
}

impl std::fmt::Debug for KeyRing {
    // Private keys are secrets: only ids are printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("KeyRing").field("current", &self.current).field("kids", &kids).finish()
    }
}

/// Signs access tokens with the current key.
pub struct Signer {
    /// The key's id, written into every token header.
    pub kid: String,
    key: EncodingKey,
}

impl KeyRecord {
    /// A fresh Ed25519 key pair from the operating system's randomness, its private half sealed.
    pub fn generate(now: u64, sealer: &Sealer) -> Result<Self, AuthError> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| AuthError::Internal(format!("randomness: {e}")))?;
        let signing = SigningKey::from_bytes(&seed);
        let der = signing.to_pkcs8_der().map_err(|e| AuthError::Internal(format!("encode key: {e}")))?;
        let public = signing.verifying_key().to_bytes();
        let kid = ed25519_jwk("", &public).thumbprint(ThumbprintHash::SHA256);
        Ok(Self {
            private_sealed: sealer.seal(der.as_bytes(), &kid)?,
            kid,
            private_pkcs8: String::new(),
            public: URL_SAFE_NO_PAD.encode(public),
            created_at: now,
            retired_at: None,
        })
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Result<Jwk, AuthError> {
        let raw = URL_SAFE_NO_PAD.decode(&self.public).map_err(|_| self.corrupt())?;
        let public: [u8; 32] = raw.try_into().map_err(|_| self.corrupt())?;
        Ok(ed25519_jwk(&self.kid, &public))
    }

    fn signer(&self, sealer: &Sealer) -> Result<Signer, AuthError> {
        let der = if self.private_sealed.is_empty() {
            STANDARD.decode(&self.private_pkcs8).map_err(|_| self.corrupt())?
        } else {
            sealer.open(&self.private_sealed, &self.kid)?
        };
        // Parse once here so a corrupt stored key fails at load, not at the first login.
        SigningKey::from_pkcs8_der(&der).map_err(|_| self.corrupt())?;
        Ok(Signer { kid: self.kid.clone(), key: EncodingKey::from_ed_der(&der) })
    }

    /// Seals a plain private key of an older version; true when it was plain.
    fn seal_plain(&mut self, sealer: &Sealer) -> Result<bool, AuthError> {
        if self.private_pkcs8.is_empty() {
            return Ok(false);
        }
        let der = STANDARD.decode(&self.private_pkcs8).map_err(|_| self.corrupt())?;
        self.private_sealed = sealer.seal(&der, &self.kid)?;
        self.private_pkcs8.clear();
        Ok(true)
    }

    fn corrupt(&self) -> AuthError {
        AuthError::Internal(format!("stored signing key {} is corrupt", self.kid))
    }
}

impl KeyRing {
    /// A ring with one new key.
    pub fn generate(now: u64, sealer: &Sealer) -> Result<Self, AuthError> {
        let key = KeyRecord::generate(now, sealer)?;
        Ok(Self { current: key.kid.clone(), keys: vec![key] })
    }

    /// Retires the current key, drops retired keys older than `keep_retired_seconds`, and makes
    /// a new key current. Returns the new `kid`.
    pub fn rotate(
        &mut self,
        now: u64,
        keep_retired_seconds: u64,
        sealer: &Sealer,
    ) -> Result<String, AuthError> {
        for key in &mut self.keys {
            key.retired_at.get_or_insert(now);
        }
        self.keys.retain(|k| k.retired_at.is_none_or(|t| t.saturating_add(keep_retired_seconds) > now));
        let key = KeyRecord::generate(now, sealer)?;
        self.current = key.kid.clone();
        self.keys.push(key);
        Ok(self.current.clone())
    }

    /// The public keys to publish: the current key and retired keys that may still have live
    /// tokens (retired less than `keep_retired_seconds` ago).
    pub fn jwks(&self, now: u64, keep_retired_seconds: u64) -> Result<JwkSet, AuthError> {
        let keys = self
            .keys
            .iter()
            .filter(|k| {
                k.kid == self.current
                    || k.retired_at.is_none_or(|t| t.saturating_add(keep_retired_seconds) > now)
            })
            .map(KeyRecord::jwk)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(JwkSet { keys })
    }

    /// The signer for the current key (opened with `sealer`).
    pub fn signer(&self, sealer: &Sealer) -> Result<Signer, AuthError> {
        self.keys
            .iter()
            .find(|k| k.kid == self.current)
            .ok_or_else(|| AuthError::Internal(format!("current signing key {} is missing", self.current)))?
            .signer(sealer)
    }

    /// Seals every plain private key (older versions'); how many were plain.
    pub fn seal_plain(&mut self, sealer: &Sealer) -> Result<usize, AuthError> {
        let mut sealed = 0;
        for key in &mut self.keys {
            sealed += usize::from(key.seal_plain(sealer)?);
        }
        Ok(sealed)
    }

    /// True when a private key is stored plain.
    pub fn has_plain(&self) -> bool {
        self.keys.iter().any(|k| !k.private_pkcs8.is_empty())
    }
}

impl Signer {
    /// The JWT for `claims`, with this key's `kid` in the header.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, AuthError> {
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|e| AuthError::Internal(format!("sign a token: {e}")))
    }
}

/// The stored ring, created (with one new key) when there is none. Concurrent first starts agree
/// on one ring: the creation is a first-write, and the loser reads the winner's. A ring with plain
/// private keys is sealed in place; a ring found only in `legacy` (the shared store older versions
/// kept it in) is sealed, moved here, and deleted there.
pub async fn load_or_create(
    store: &Store,
    legacy: Option<&Store>,
    sealer: &Sealer,
    now: u64,
) -> Result<KeyRing, AuthError> {
    let ring = retry_races("the signing keys", || async move {
        if let Some(found) = store.get::<KeyRing>(KEYRING).await? {
            let mut ring = found.value;
            if ring.has_plain() {
                let sealed = ring.seal_plain(sealer)?;
                store.put_if(KEYRING, &ring, found.etag, None).await?;
                tracing::info!(sealed, "Sealed the plain signing keys at rest");
            }
            return Ok(ring);
        }
        let old = match legacy {
            Some(legacy) => legacy.get::<KeyRing>(KEYRING).await?,
            None => None,
        };
        let ring = match old {
            Some(old) => {
                let mut ring = old.value;
                ring.seal_plain(sealer)?;
                tracing::info!(kid = %ring.current, "Moved the signing keys to auth's own store, sealed");
                ring
            }
            None => {
                let ring = KeyRing::generate(now, sealer)?;
                tracing::info!(kid = %ring.current, "Generated the first token signing key");
                ring
            }
        };
        store.put_if(KEYRING, &ring, None, None).await?;
        Ok(ring)
    })
    .await?;
    // Only once the sealed copy is stored: a crash in between leaves the plain copy to move again.
    if let Some(legacy) = legacy {
        legacy.delete_if(KEYRING, None).await?;
    }
    Ok(ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_sdk::tokens::{Verifier, VerifierConfig};

    fn claims(now: u64) -> AccessClaims {
        AccessClaims {
            iss: keel_sdk::tokens::DEFAULT_ISSUER.into(),
            aud: keel_sdk::tokens::DEFAULT_AUDIENCE.into(),
            sub: "ann".into(),
            tenant: "acme".into(),
            roles: vec![],
            exp: now + 60,
            iat: now,
            nbf: now,
            jti: "j".into(),
            client_id: None,
            scope: None,
        }
    }

    fn sealer() -> Sealer {
        Sealer::new(&[3; 32])
    }

    #[test]
    fn a_new_ring_signs_tokens_its_jwks_verifies() {
        let now = keel_sdk::tokens::now_secs();
        let ring = KeyRing::generate(now, &sealer()).unwrap();
        let token = ring.signer(&sealer()).unwrap().sign(&claims(now)).unwrap();
        let v = Verifier::new(VerifierConfig::default());
        assert_eq!(v.set_jwks(&ring.jwks(now, 100).unwrap()), 1);
        assert_eq!(v.verify(&token).unwrap().sub, "ann");
        assert_eq!(ring.current.len(), 43, "kid is the base64url SHA-256 thumbprint");
    }

    #[test]
    fn rotation_keeps_retired_keys_published_until_their_tokens_expire() {
        let ring0 = KeyRing::generate(1_000, &sealer()).unwrap();
        let mut ring = ring0.clone();
        let first = ring.current.clone();
        let second = ring.rotate(1_000, 100, &sealer()).unwrap();
        assert_ne!(first, second);
        assert_eq!(ring.jwks(1_050, 100).unwrap().keys.len(), 2);
        assert_eq!(ring.jwks(1_100, 100).unwrap().keys.len(), 1, "retired key gone after its tokens expired");
        ring.rotate(1_200, 100, &sealer()).unwrap();
        assert_eq!(ring.keys.len(), 2, "the long-retired first key is dropped from the store");
        assert!(!ring.keys.iter().any(|k| k.kid == first));
    }

    #[test]
    fn private_keys_are_never_printed_nor_stored_plain() {
        let ring = KeyRing::generate(0, &sealer()).unwrap();
        let shown = format!("{ring:?}");
        assert!(shown.contains(&ring.current));
        assert!(!shown.contains(&ring.keys[0].private_sealed));
        let stored = serde_json::to_string(&ring).unwrap();
        assert!(!stored.contains("private_pkcs8"), "{stored}");
        assert!(ring.keys[0].private_sealed.starts_with("v1."));
        assert!(ring.signer(&Sealer::new(&[4; 32])).is_err(), "another sealing key opens nothing");
    }

    #[test]
    fn plain_keys_of_older_versions_are_sealed_and_keep_signing() {
        let now = keel_sdk::tokens::now_secs();
        let mut ring = KeyRing::generate(now, &sealer()).unwrap();
        let der = sealer().open(&ring.keys[0].private_sealed, &ring.current).unwrap();
        ring.keys[0].private_sealed.clear();
        ring.keys[0].private_pkcs8 = STANDARD.encode(&der);
        let plain_token = ring.signer(&sealer()).unwrap().sign(&claims(now)).unwrap();
        assert!(ring.has_plain());
        assert_eq!(ring.seal_plain(&sealer()).unwrap(), 1);
        assert!(!ring.has_plain() && ring.keys[0].private_pkcs8.is_empty());
        let v = Verifier::new(VerifierConfig::default());
        v.set_jwks(&ring.jwks(now, 100).unwrap());
        v.verify(&plain_token).unwrap();
        v.verify(&ring.signer(&sealer()).unwrap().sign(&claims(now)).unwrap()).unwrap();
    }
}
