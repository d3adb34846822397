use super::*;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(HeaderName::from_static(k), HeaderValue::from_str(v).unwrap());
    }
    h
}

#[test]
fn spiffe_ids_parse_like_daprd_reads_a_peer() {
    let id = SpiffeId::parse("spiffe://public/ns/default/keel").unwrap();
    assert_eq!(id.to_string(), "spiffe://public/ns/default/keel");
    assert_eq!(id.app_id, "keel");
    assert!(SpiffeId::parse("spiffe://public/ns/default/keel/extra").is_some());
    for bad in
        ["spiffe://public/ns/default", "spiffe://public/ns//keel", "spiffe:///ns/a/b", "http://x/ns/a/b"]
    {
        assert!(SpiffeId::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn a_callee_with_mtls_learns_the_callers_verified_identity() {
    let caller = WorkloadIdentity::enabled(TrustAnchor::from_key(b"0123456789abcdef"), "default", "keel");
    let callee = WorkloadIdentity::enabled(TrustAnchor::from_key(b"0123456789abcdef"), "default", "echo");
    let mut h = HeaderMap::new();
    caller.present(&mut h);
    let id = callee.authenticate(&h).unwrap().unwrap();
    assert_eq!(id.to_string(), "spiffe://public/ns/default/keel");
}

#[test]
fn forged_or_foreign_identities_fail_the_handshake() {
    let anchor = || TrustAnchor::from_key(b"0123456789abcdef");
    let callee = WorkloadIdentity::enabled(anchor(), "default", "echo");
    let proof = anchor().proof(&SpiffeId::parse("spiffe://public/ns/default/greeter").unwrap());
    // greeter's proof does not make it keel.
    let forged = headers(&[(CALLER_ID, "spiffe://public/ns/default/keel"), (CALLER_PROOF, &proof)]);
    assert_eq!(callee.authenticate(&forged), Err(HandshakeError::BadCertificate));
    // Another anchor's identity is not this machine's.
    let stranger = WorkloadIdentity::enabled(TrustAnchor::from_key(b"another-key-here"), "default", "keel");
    let mut h = HeaderMap::new();
    stranger.present(&mut h);
    assert_eq!(callee.authenticate(&h), Err(HandshakeError::BadCertificate));
    assert_eq!(callee.authenticate(&HeaderMap::new()), Err(HandshakeError::PlaintextClient));
}

#[test]
fn without_mtls_there_is_no_identity_and_a_tls_caller_is_refused() {
    let plain = WorkloadIdentity::disabled();
    assert_eq!(plain.authenticate(&HeaderMap::new()), Ok(None));
    let mut h = HeaderMap::new();
    plain.present(&mut h);
    assert!(h.is_empty());
    let tls = WorkloadIdentity::enabled(TrustAnchor::from_key(b"0123456789abcdef"), "default", "keel");
    tls.present(&mut h);
    assert_eq!(plain.authenticate(&h), Err(HandshakeError::PlaintextServer));
}

#[test]
fn the_anchor_file_is_created_once_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = anchor_path(&dir.path().join("registry.db"));
    assert_eq!(path.file_name().unwrap(), "registry.db.trust-anchor");
    let first = TrustAnchor::load_or_create(&path).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let second = TrustAnchor::load_or_create(&path).unwrap();
    let id = SpiffeId::parse("spiffe://public/ns/default/a").unwrap();
    assert_eq!(first.proof(&id), second.proof(&id));
    std::fs::write(&path, "junk").unwrap();
    assert!(TrustAnchor::load_or_create(&path).is_err());
}
