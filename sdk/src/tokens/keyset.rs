//! The public keys tokens are checked against, by `kid`, built from a JWKS. Only Ed25519 signing
//! keys are kept: a JWKS entry of another type or algorithm can never verify anything here.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters,
    OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::DecodingKey;

/// Length of an Ed25519 public key.
const ED25519_PUBLIC_LEN: usize = 32;

/// Verification keys by `kid`.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<&String> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("KeySet").field("kids", &kids).finish()
    }
}

impl KeySet {
    /// The usable keys of `jwks`: Ed25519 (`kty: OKP`, `crv: Ed25519`), with a `kid`, `alg`
    /// absent or `EdDSA`, `use` absent or `sig`, and a 32-byte `x`. Everything else is skipped.
    pub fn from_jwks(jwks: &JwkSet) -> Self {
        let keys = jwks
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.as_ref()?;
                let alg_ok = matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::EdDSA));
                let use_ok = matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature));
                let AlgorithmParameters::OctetKeyPair(p) = &jwk.algorithm else { return None };
                let x_ok = URL_SAFE_NO_PAD.decode(&p.x).is_ok_and(|x| x.len() == ED25519_PUBLIC_LEN);
                if !(alg_ok && use_ok && x_ok && p.curve == EllipticCurve::Ed25519) {
                    return None;
                }
                let key = DecodingKey::from_ed_components(&p.x).ok()?;
                Some((kid.clone(), key))
            })
            .collect();
        Self { keys }
    }

    /// The key named `kid`.
    pub fn get(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.get(kid)
    }

    /// True when `kid` is known.
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The known key ids.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when there is no key at all (nothing can be verified).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True when both sets hold the same key ids.
    pub fn same_kids(&self, other: &KeySet) -> bool {
        self.keys.len() == other.keys.len() && self.keys.keys().all(|k| other.keys.contains_key(k))
    }
}

/// The JWK auth publishes for an Ed25519 public key (`x`: the 32 raw bytes).
pub fn ed25519_jwk(kid: &str, public_key: &[u8; ED25519_PUBLIC_LEN]) -> Jwk {
    Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: Some(kid.to_owned()),
            ..CommonParameters::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: URL_SAFE_NO_PAD.encode(public_key),
        }),
    }
}
