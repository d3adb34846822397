//! Workload identity on the sidecar-to-sidecar hop: the stand-in's part of what Sentry and mTLS
//! give daprd (`pkg/security`).
//!
//! daprd knows who calls it only through mTLS: with `--enable-mtls` (which `dapr run` passes
//! when the Configuration has `spec.mtls.enabled: true`), every sidecar holds an X.509 SVID from
//! Sentry naming `spiffe://<trust domain>/ns/<namespace>/<app-id>`, and the callee reads the
//! caller's SPIFFE ID from the TLS handshake. Without mTLS there is no caller identity at all:
//! access-control policies then apply their global default action to every caller
//! (`pkg/acl/acl.go`: "applying default global policy action").
//!
//! The stand-in's hop is plain HTTP on 127.0.0.1, so it plays Sentry with a local trust anchor:
//! a random key in a file next to the name registry, created on first use (mode 0600). A
//! sidecar's "SVID" is its SPIFFE ID plus an HMAC-SHA256 of that ID under the anchor; the callee
//! recomputes it and compares in constant time. Like self-hosted Sentry (whose `insecure`
//! validator signs any app-id a local process asks for), anything that can read the anchor can
//! claim any identity; it keeps out other users of the machine and anything without the file.
//!
//! Self-hosted daprd asks Sentry for no trust domain, so every workload is in `public`
//! (`pkg/sentry/server/validator/internal`): so are the stand-in's.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The trust domain Sentry gives self-hosted workloads.
pub const SELF_HOSTED_TRUST_DOMAIN: &str = "public";
/// Header carrying the caller's SPIFFE ID on the internal hop.
pub const CALLER_ID: &str = "x-dapr-standin-caller-id";
/// Header carrying the proof that goes with it.
pub const CALLER_PROOF: &str = "x-dapr-standin-caller-proof";

/// A Dapr SPIFFE ID: `spiffe://<trust domain>/ns/<namespace>/<app-id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpiffeId {
    /// The trust domain.
    pub trust_domain: String,
    /// The namespace.
    pub namespace: String,
    /// The app-id.
    pub app_id: String,
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spiffe://{}/ns/{}/{}", self.trust_domain, self.namespace, self.app_id)
    }
}

impl SpiffeId {
    /// Parses an ID the way daprd's `spiffe.FromGRPCContext` reads a peer's: the path must start
    /// `/ns/<namespace>/<app-id>` (more segments are tolerated), neither part empty.
    pub fn parse(text: &str) -> Option<SpiffeId> {
        let rest = text.strip_prefix("spiffe://")?;
        let (trust_domain, path) = rest.split_once('/')?;
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            ["ns", ns, app, ..] if !trust_domain.is_empty() && !ns.is_empty() && !app.is_empty() => {
                Some(SpiffeId {
                    trust_domain: trust_domain.to_owned(),
                    namespace: (*ns).to_owned(),
                    app_id: (*app).to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// Why the trust anchor could not be used.
#[derive(Debug, thiserror::Error)]
#[error("trust anchor {path}: {source}")]
pub struct AnchorError {
    /// The file.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

/// The key every sidecar of the machine derives and checks identities with (Sentry's root).
pub struct TrustAnchor {
    key: Vec<u8>,
}

/// The anchor file that goes with a name registry file: `<registry>.trust-anchor`.
pub fn anchor_path(registry_path: &Path) -> PathBuf {
    let mut name = registry_path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".trust-anchor");
    registry_path.with_file_name(name)
}

// === impl TrustAnchor ===

impl TrustAnchor {
    /// Reads the anchor at `path`, creating it (random, mode 0600) if it does not exist yet.
    /// Concurrent first starts agree on one key: the file is written aside and linked into place,
    /// which fails for all but the first.
    pub fn load_or_create(path: &Path) -> Result<TrustAnchor, AnchorError> {
        let err = |source| AnchorError { path: path.to_owned(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::from_text(&text).map_err(err),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
            Err(_) => {}
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let aside = path.with_extension(format!("tmp-{}", std::process::id()));
        let written = (|| {
            let mut f = std::fs::OpenOptions::new();
            f.write(true).create_new(true);
            std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
            let mut file = f.open(&aside)?;
            file.write_all(hex(&key).as_bytes())?;
            file.sync_all()?;
            match std::fs::hard_link(&aside, path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            }
        })();
        let _ = std::fs::remove_file(&aside);
        written.map_err(err)?;
        // Whoever linked first won: read back what is in place.
        Self::from_text(&std::fs::read_to_string(path).map_err(err)?).map_err(err)
    }

    /// An anchor with a given key (tests).
    pub fn from_key(key: &[u8]) -> TrustAnchor {
        TrustAnchor { key: key.to_vec() }
    }

    fn from_text(text: &str) -> Result<TrustAnchor, std::io::Error> {
        match unhex(text.trim()) {
            Some(key) if key.len() >= 16 => Ok(TrustAnchor { key }),
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not a stand-in trust anchor (expected at least 32 hex digits); delete it to have a new one made",
            )),
        }
    }

    fn mac(&self, id: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(id.as_bytes());
        mac
    }

    /// The proof that goes with `id`.
    pub fn proof(&self, id: &SpiffeId) -> String {
        hex(&self.mac(&id.to_string()).finalize().into_bytes())
    }

    /// True when `proof` is the proof of `id_text` (constant time).
    pub fn verify(&self, id_text: &str, proof: &str) -> bool {
        let Some(bytes) = unhex(proof) else { return false };
        self.mac(id_text).verify_slice(&bytes).is_ok()
    }
}

/// A failed mutual authentication, worded as the caller's gRPC client reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The callee has mTLS on, the caller does not (a plaintext client at a TLS server).
    #[error("rpc error: code = Unavailable desc = connection closed before server preface received")]
    PlaintextClient,
    /// The caller has mTLS on, the callee does not (a TLS client at a plaintext server).
    #[error("rpc error: code = Unavailable desc = connection error: desc = \"transport: authentication handshake failed: tls: first record does not look like a TLS handshake\"")]
    PlaintextServer,
    /// The caller presented an identity the callee's trust anchor did not sign.
    #[error("rpc error: code = Unavailable desc = connection error: desc = \"transport: authentication handshake failed: remote error: tls: bad certificate\"")]
    BadCertificate,
}

/// What one sidecar knows of workload identity: nothing (mTLS off), or the anchor and its own
/// identity (mTLS on).
pub struct WorkloadIdentity {
    mtls: Option<Mtls>,
}

struct Mtls {
    anchor: TrustAnchor,
    own: SpiffeId,
    own_text: HeaderValue,
    proof: HeaderValue,
}

// === impl WorkloadIdentity ===

impl WorkloadIdentity {
    /// mTLS off: the sidecar neither presents nor learns identities.
    pub fn disabled() -> Self {
        WorkloadIdentity { mtls: None }
    }

    /// mTLS on: the sidecar is `spiffe://public/ns/<namespace>/<app_id>` under `anchor`.
    pub fn enabled(anchor: TrustAnchor, namespace: &str, app_id: &str) -> Self {
        let own = SpiffeId {
            trust_domain: SELF_HOSTED_TRUST_DOMAIN.to_owned(),
            namespace: namespace.to_owned(),
            app_id: app_id.to_owned(),
        };
        let proof = anchor.proof(&own);
        let value = |s: &str| HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""));
        let own_text = value(&own.to_string());
        WorkloadIdentity { mtls: Some(Mtls { anchor, proof: value(&proof), own_text, own }) }
    }

    /// True when mTLS is on.
    pub fn mtls_enabled(&self) -> bool {
        self.mtls.is_some()
    }

    /// This sidecar's own SPIFFE ID, when mTLS is on.
    pub fn own(&self) -> Option<&SpiffeId> {
        self.mtls.as_ref().map(|m| &m.own)
    }

    /// Caller side: adds this sidecar's credential to a call (nothing with mTLS off).
    pub fn present(&self, h: &mut HeaderMap) {
        if let Some(m) = &self.mtls {
            h.insert(HeaderName::from_static(CALLER_ID), m.own_text.clone());
            h.insert(HeaderName::from_static(CALLER_PROOF), m.proof.clone());
        }
    }

    /// Callee side: who is calling. `Ok(None)` with mTLS off (no identity, as in daprd); an
    /// error when the two sidecars do not agree on mTLS or the credential is not the anchor's.
    pub fn authenticate(&self, h: &HeaderMap) -> Result<Option<SpiffeId>, HandshakeError> {
        let id = h.get(CALLER_ID).and_then(|v| v.to_str().ok());
        let proof = h.get(CALLER_PROOF).and_then(|v| v.to_str().ok());
        let Some(m) = &self.mtls else {
            return match id.or(proof) {
                Some(_) => Err(HandshakeError::PlaintextServer),
                None => Ok(None),
            };
        };
        let (Some(id), Some(proof)) = (id, proof) else {
            return Err(HandshakeError::PlaintextClient);
        };
        match SpiffeId::parse(id) {
            Some(parsed) if m.anchor.verify(id, proof) => Ok(Some(parsed)),
            _ => Err(HandshakeError::BadCertificate),
        }
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests;
