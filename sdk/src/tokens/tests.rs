use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{EncodingKey, Header};
use rand::RngCore;
use serde_json::json;

use super::*;

/// A freshly generated Ed25519 key: what auth holds.
struct TestKey {
    kid: String,
    encoding: EncodingKey,
    public: [u8; 32],
}

impl TestKey {
    fn new(kid: &str) -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let signing = SigningKey::from_bytes(&seed);
        let der = signing.to_pkcs8_der().expect("pkcs8");
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            public: signing.verifying_key().to_bytes(),
        }
    }

    fn jwk(&self) -> jsonwebtoken::jwk::Jwk {
        ed25519_jwk(&self.kid, &self.public)
    }

    fn sign(&self, claims: &serde_json::Value) -> String {
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

fn claims() -> serde_json::Value {
    let now = now_secs();
    json!({
        "iss": DEFAULT_ISSUER, "aud": DEFAULT_AUDIENCE, "sub": "alice", "tenant": "acme",
        "roles": ["user", "reader"], "iat": now, "nbf": now, "exp": now + 60, "jti": "j-1"
    })
}

fn verifier_with(keys: &[&TestKey]) -> Verifier {
    let v = Verifier::new(VerifierConfig::default());
    v.set_jwks(&JwkSet { keys: keys.iter().map(|k| k.jwk()).collect() });
    v
}

fn b64(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

#[test]
fn a_valid_token_yields_the_identity_it_names() {
    let key = TestKey::new("k1");
    let v = verifier_with(&[&key]);
    let token = key.sign(&claims());
    let id = v.verify(&token).unwrap();
    assert_eq!((id.sub.as_str(), id.tenant.as_str(), id.jti.as_str()), ("alice", "acme", "j-1"));
    assert_eq!(id.roles, ["user", "reader"]);
    let headers: Vec<_> = id.headers().map(|(name, value)| (name, value.into_owned())).collect();
    assert_eq!(headers[2], (crate::protocol::headers::X_KEEL_ROLES, "user,reader".to_owned()));
    assert_eq!(headers[3], (crate::protocol::headers::X_KEEL_SCOPE, "tenant".to_owned()));
    assert_eq!(headers.len(), 4, "no client header for a person");
    // The second time it comes from the cache, with the same answer.
    assert_eq!(v.verify(&token).unwrap(), id);
}

#[test]
fn the_token_cache_stays_bounded_without_emptying_itself() {
    let key = TestKey::new("k1");
    let v = Verifier::new(VerifierConfig { cache_capacity: 16, ..Default::default() });
    v.set_jwks(&JwkSet { keys: vec![key.jwk()] });
    let token = |n: usize| {
        let mut c = claims();
        c["jti"] = format!("j-{n}").into();
        key.sign(&c)
    };
    let hot = token(0);
    // Signing is slow in debug builds: a few times the capacity is enough.
    for n in 1..80 {
        assert_eq!(v.verify(&token(n)).unwrap().jti, format!("j-{n}"));
        v.verify(&hot).unwrap();
        // Never cleared whole, never above its bound (quick_cache's is "about": per shard).
        assert!(v.cached_tokens() <= 24, "{} tokens cached", v.cached_tokens());
    }
    assert!(v.cached_tokens() >= 8, "the cache emptied itself: {}", v.cached_tokens());
    assert_eq!(v.verify(&hot).unwrap().jti, "j-0");
    let none = Verifier::new(VerifierConfig { cache_capacity: 0, ..Default::default() });
    none.set_jwks(&JwkSet { keys: vec![key.jwk()] });
    assert!(none.verify(&hot).is_ok());
    assert_eq!(none.cached_tokens(), 0);
}

#[test]
fn a_missing_or_non_bearer_authorization_is_missing() {
    let mut h = HeaderMap::new();
    assert_eq!(bearer_token(&h), Err(VerifyError::Missing));
    h.insert(AUTHORIZATION, HeaderValue::from_static("Basic YTpi"));
    assert_eq!(bearer_token(&h), Err(VerifyError::Missing));
    h.insert(AUTHORIZATION, HeaderValue::from_static("bearer   "));
    assert!(matches!(bearer_token(&h), Err(VerifyError::Malformed(_))));
    h.insert(AUTHORIZATION, HeaderValue::from_static("bEaReR abc.def.ghi"));
    assert_eq!(bearer_token(&h), Ok("abc.def.ghi"));
}

#[test]
fn malformed_tokens_are_refused_without_panicking() {
    let key = TestKey::new("k1");
    let v = verifier_with(&[&key]);
    for bad in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.e30.sig", "bm90IGpzb24.e30.sig"] {
        assert!(matches!(v.verify(bad), Err(VerifyError::Malformed(_) | VerifyError::Algorithm(_))), "{bad}");
    }
    let no_kid = format!("{}.{}.sig", b64(&json!({"alg": "EdDSA"})), b64(&claims()));
    assert!(matches!(v.verify(&no_kid), Err(VerifyError::Malformed(_))));
}

#[test]
fn alg_none_is_refused() {
    let key = TestKey::new("k1");
    let v = verifier_with(&[&key]);
    for alg in ["none", "None", "NONE"] {
        let token = format!("{}.{}.", b64(&json!({"alg": alg, "typ": "JWT", "kid": "k1"})), b64(&claims()));
        assert_eq!(v.verify(&token), Err(VerifyError::Algorithm(alg.to_owned())));
    }
    let no_alg = format!("{}.{}.", b64(&json!({"kid": "k1"})), b64(&claims()));
    assert!(matches!(v.verify(&no_alg), Err(VerifyError::Algorithm(_))));
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    let key = TestKey::new("k1");
    let v = verifier_with(&[&key]);
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k1".into());
    // Both forms an attacker might use as the "secret": the raw key and its JWK `x` text.
    let x = URL_SAFE_NO_PAD.encode(key.public);
    for secret in [key.public.as_slice(), x.as_bytes()] {
        let token = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(v.verify(&token), Err(VerifyError::Algorithm("HS256".into())));
    }
}

#[test]
fn a_tampered_payload_fails_the_signature() {
    let key = TestKey::new("k1");
    let v = verifier_with(&[&key]);
    let token = key.sign(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims();
    forged["roles"] = json!(["admin"]);
    let tampered = format!("{}.{}.{}", parts[0], b64(&forged), parts[2]);
    assert_eq!(v.verify(&tampered), Err(VerifyError::Signature));
    // A valid token must not make a tampered copy of it acceptable through the cache.
    assert!(v.verify(&token).is_ok());
    assert_eq!(v.verify(&tampered), Err(VerifyError::Signature));
}

#[test]
fn a_token_signed_by_another_key_under_a_known_kid_fails_the_signature() {
    let (key, impostor) = (TestKey::new("k1"), TestKey::new("k1"));
    let v = verifier_with(&[&key]);
    assert_eq!(v.verify(&impostor.sign(&claims())), Err(VerifyError::Signature));
}

#[test]
fn wrong_issuer_or_audience_is_refused() {
    let key = TestKey::new("k1");
    let v = verifier_with(&[&key]);
    let mut c = claims();
    c["iss"] = json!("someone-else");
    assert_eq!(v.verify(&key.sign(&c)), Err(VerifyError::Issuer));
    let mut c = claims();
    c["aud"] = json!("not-keel");
    assert_eq!(v.verify(&key.sign(&c)), Err(VerifyError::Audience));
}

#[test]
fn expired_and_not_yet_valid_tokens_are_refused_beyond_the_leeway() {
    let key = TestKey::new("k1");
    let v = verifier_with(&[&key]);
    let now = now_secs();
    let mut c = claims();
    c["exp"] = json!(now - 6);
    assert_eq!(v.verify(&key.sign(&c)), Err(VerifyError::Expired));
    let mut c = claims();
    c["nbf"] = json!(now + 60);
    assert_eq!(v.verify(&key.sign(&c)), Err(VerifyError::NotYetValid));
    // Within the 5 s leeway both pass: clocks of two hosts are never exactly equal.
    let mut c = claims();
    c["exp"] = json!(now + 3);
    c["nbf"] = json!(now + 3);
    assert!(v.verify(&key.sign(&c)).is_ok());
}

#[test]
fn time_claims_as_strings_are_refused() {
    let key = TestKey::new("k1");
    let v = verifier_with(&[&key]);
    let mut c = claims();
    c["exp"] = json!("2099-10-12T15:20:15Z");
    assert!(matches!(v.verify(&key.sign(&c)), Err(VerifyError::Malformed(_))));
    let mut c = claims();
    c.as_object_mut().unwrap().remove("nbf");
    assert!(matches!(v.verify(&key.sign(&c)), Err(VerifyError::Malformed(_))));
}

#[test]
fn an_unknown_kid_is_refused_without_keys_to_fetch() {
    let (known, unknown) = (TestKey::new("k1"), TestKey::new("k2"));
    let v = verifier_with(&[&known]);
    assert_eq!(v.verify(&unknown.sign(&claims())), Err(VerifyError::UnknownKey("k2".into())));
    let empty = Verifier::new(VerifierConfig::default());
    assert_eq!(empty.verify(&known.sign(&claims())), Err(VerifyError::UnknownKey("k1".into())));
}

#[test]
fn a_revoked_token_is_refused_even_after_it_was_cached() {
    let key = TestKey::new("k1");
    let v = verifier_with(&[&key]);
    let token = key.sign(&claims());
    assert!(v.verify(&token).is_ok());
    v.set_revoked(&RevokedDoc { jtis: [("j-1".to_owned(), now_secs() + 60)].into() });
    assert_eq!(v.verify(&token), Err(VerifyError::Revoked));
    v.set_revoked(&RevokedDoc::default());
    assert!(v.verify(&token).is_ok());
    v.revoke_locally("j-1");
    assert_eq!(v.verify(&token), Err(VerifyError::Revoked));
}

#[test]
fn a_removed_key_stops_verifying_cached_tokens() {
    let (old, new) = (TestKey::new("old"), TestKey::new("new"));
    let v = verifier_with(&[&old, &new]);
    let token = old.sign(&claims());
    assert!(v.verify(&token).is_ok());
    v.set_jwks(&JwkSet { keys: vec![new.jwk()] });
    assert_eq!(v.verify(&token), Err(VerifyError::UnknownKey("old".into())));
    assert!(v.verify(&new.sign(&claims())).is_ok());
}

#[test]
fn an_empty_jwks_keeps_the_old_keys() {
    let key = TestKey::new("k1");
    let v = verifier_with(&[&key]);
    assert_eq!(v.set_jwks(&JwkSet { keys: vec![] }), 0);
    assert!(v.verify(&key.sign(&claims())).is_ok());
}

#[test]
fn only_ed25519_signing_keys_enter_the_key_set() {
    let good = TestKey::new("good").jwk();
    let jwks: JwkSet = serde_json::from_value(json!({"keys": [
        serde_json::to_value(&good).unwrap(),
        {"kty": "RSA", "kid": "rsa", "alg": "RS256", "n": "AQAB", "e": "AQAB"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": "AAAA"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc", "x": good_x(&good)},
        {"kty": "OKP", "crv": "Ed25519", "x": good_x(&good)},
    ]}))
    .unwrap();
    let set = KeySet::from_jwks(&jwks);
    assert_eq!(set.kids().collect::<Vec<_>>(), ["good"]);
}

fn good_x(jwk: &jsonwebtoken::jwk::Jwk) -> String {
    serde_json::to_value(jwk).unwrap()["x"].as_str().unwrap().to_owned()
}

#[test]
fn refusals_say_why_without_the_token_and_ask_for_a_bearer_token() {
    let key = TestKey::new("k1");
    let v = verifier_with(&[&key]);
    let mut c = claims();
    c["exp"] = json!(1);
    let token = key.sign(&c);
    let err = v.verify(&token).unwrap_err();
    assert_eq!(err.status(), actix_web::http::StatusCode::UNAUTHORIZED);
    assert!(!err.to_string().contains(&token));
    assert!(err.www_authenticate().contains("error=\"invalid_token\""));
    assert_eq!(VerifyError::Missing.www_authenticate(), "Bearer realm=\"keel\"");
    let long_kid = "k".repeat(500);
    assert!(VerifyError::UnknownKey(error::short(&long_kid)).to_string().len() < 120);
}

fn identity(tenant: &str, roles: &[&str], client: Option<&str>) -> Identity {
    Identity {
        sub: "someone".into(),
        tenant: tenant.into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        client_id: client.map(str::to_owned),
        jti: "j".into(),
        exp: now_secs() + 60,
        scope: Identity::derived_scope(
            tenant,
            &roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            client.is_some(),
        ),
    }
}

#[test]
fn identity_headers_name_the_user_tenant_roles_scope_and_client() {
    use crate::protocol::headers::{X_KEEL_CLIENT, X_KEEL_ROLES, X_KEEL_SCOPE, X_KEEL_TENANT, X_KEEL_USER};
    let of = |who: Identity| -> Vec<(HeaderName, String)> {
        who.headers().map(|(name, value)| (name, value.into_owned())).collect()
    };
    let pair = |name: HeaderName, value: &str| (name, value.to_owned());
    assert_eq!(
        of(identity("acme", &["user"], Some("integrator-1"))),
        [
            pair(X_KEEL_USER, "someone"),
            pair(X_KEEL_TENANT, "acme"),
            pair(X_KEEL_ROLES, "user"),
            pair(X_KEEL_SCOPE, "tenant"),
            pair(X_KEEL_CLIENT, "integrator-1"),
        ]
    );
    // No roles: the header is there, empty, as `roles_header` writes it.
    assert_eq!(of(identity("acme", &[], None))[2], pair(X_KEEL_ROLES, ""));
    assert_eq!(of(identity("acme", &["a", "b", "c"], None))[2], pair(X_KEEL_ROLES, "a,b,c"));
}

#[test]
fn grants_decide_who_may_call_which_plugin() {
    let grants: GrantsView = serde_json::from_value(json!({"tenants": {
        "acme": {"name": "Acme", "roles": {
            "user": {"plugins": ["echo"]}, "ops": {"plugins": ["*"]}, "admin": {"plugins": []}}},
        "other": {"roles": {"user": {"plugins": ["greeter"]}}},
        "platform": {"roles": {"client": {"plugins": ["echo"]}}}
    }}))
    .unwrap();
    let can = |id: &Identity, p: &str| grants.can_call(id, p);
    assert!(can(&identity("acme", &["user"], None), "echo"));
    assert!(!can(&identity("acme", &["user"], None), "greeter"), "grants are per tenant");
    assert!(can(&identity("acme", &["ops"], None), "anything"));
    assert!(can(&identity("acme", &["admin"], None), "greeter"), "admins call everything");
    assert!(can(&identity("platform", &["super-admin"], None), "greeter"));
    assert!(!can(&identity("acme", &["super-admin"], None), "greeter"), "super-admin only in platform");
    assert!(can(&identity("acme", &[], None), "auth"), "auth checks its own endpoints");
    assert!(!can(&identity("nowhere", &["user"], None), "echo"));
    assert!(can(&identity("platform", &["client"], Some("mailer")), "mailer"), "a client calls itself");
    assert!(can(&identity("platform", &["client"], Some("mailer")), "echo"));
    assert!(!can(&identity("platform", &["client"], Some("mailer")), "greeter"));
    assert!(!can(&identity("platform", &["admin"], Some("mailer")), "greeter"), "clients are never admins");
}

/// A stand-in for auth behind a sidecar: serves the JWKS on the invoke path and counts fetches.
async fn fake_auth(
    jwks: Arc<std::sync::Mutex<JwkSet>>,
    hits: Arc<AtomicUsize>,
) -> (String, actix_web::dev::ServerHandle) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        let (jwks, hits) = (jwks.clone(), hits.clone());
        App::new().route(
            "/v1.0/invoke/auth/method/v1/oauth/jwks",
            web::get().to(move || {
                let (jwks, hits) = (jwks.clone(), hits.clone());
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let body = serde_json::to_value(&*jwks.lock().unwrap()).unwrap();
                    HttpResponse::Ok().json(body)
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_rt::spawn(server);
    (format!("http://{addr}"), handle)
}

#[actix_rt::test]
async fn an_unknown_kid_refetches_the_keys_once_then_fails_until_the_interval_passes() {
    let (old, rotated, bogus) = (TestKey::new("old"), TestKey::new("rotated"), TestKey::new("bogus"));
    let published = Arc::new(std::sync::Mutex::new(JwkSet { keys: vec![old.jwk()] }));
    let hits = Arc::new(AtomicUsize::new(0));
    let (url, server) = fake_auth(published.clone(), hits.clone()).await;
    let dapr = crate::dapr::DaprClient::new(crate::dapr::SidecarConfig {
        endpoint: url,
        ..crate::dapr::SidecarConfig::default()
    });
    let v =
        Verifier::new(VerifierConfig { refetch_min_interval: Duration::from_secs(60), ..Default::default() });
    assert_eq!(v.refresh_keys(&dapr).await.unwrap(), 1);
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    let bearer = |t: String| {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {t}")).unwrap());
        h
    };
    // Auth rotates: a token signed with the new key triggers one fetch and then passes.
    published.lock().unwrap().keys.push(rotated.jwk());
    assert!(v.authenticate(&bearer(rotated.sign(&claims())), &dapr).await.is_ok());
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // Known keys never fetch.
    assert!(v.authenticate(&bearer(old.sign(&claims())), &dapr).await.is_ok());
    // A kid auth never published: within the interval no further fetch, just a refusal.
    for _ in 0..5 {
        let verdict = v.authenticate(&bearer(bogus.sign(&claims())), &dapr).await;
        assert_eq!(verdict, Err(VerifyError::UnknownKey("bogus".into())));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    server.stop(false).await;
}
