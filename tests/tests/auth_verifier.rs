//! The token verifier keel's public port uses (`keel_sdk::tokens`), against the real auth behind the
//! sidecar stand-in: keys fetched by service invocation, revocations and grants read from the
//! state store on a timer, a rotated key picked up on first sight of its `kid`.

mod auth_support;

use std::time::Duration;

use actix_web::http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use auth_support::*;
use keel_e2e::Platform;
use keel_sdk::tokens::{Verifier, VerifierConfig, VerifyError};
use serde_json::json;

fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    h
}

#[actix_rt::test]
async fn keel_verifies_tokens_locally_and_refuses_revoked_ones_within_seconds() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["cli", "keel"]).await;
    let dapr = p.dapr("keel");
    let verifier =
        Verifier::new(VerifierConfig { refresh_interval: Duration::from_millis(200), ..Default::default() });
    verifier.refresh(&dapr).await.expect("keys, revocations and grants through keel's sidecar");
    let _refresher = verifier.spawn_refresher(dapr.clone());

    // Grants: a user of acme may call what their roles are granted, and nothing else.
    let admin = token(&p, "cli", "admin", ADMIN_PW, None).await;
    let t = json!({"id": "acme", "admin": {"username": "boss", "password": "acme-boss-pw"}});
    assert_eq!(call(&p, "cli", "POST", "v1/tenants", Body::Json(t), Some(&admin)).await.0, 201);
    let boss = token(&p, "cli", "boss", "acme-boss-pw", Some("acme")).await;
    let ann = json!({"username": "ann", "password": "ann-password"});
    assert_eq!(call(&p, "cli", "POST", "v1/users", Body::Json(ann), Some(&boss)).await.0, 201);
    assert_eq!(call(&p, "cli", "PUT", "v1/roles/user/grants/echo", Body::None, Some(&boss)).await.0, 200);
    let ann = token(&p, "cli", "ann", "ann-password", Some("acme")).await;
    let identity = verifier.authenticate(&bearer(&ann), &dapr).await.expect("verified locally");
    assert_eq!((identity.sub.as_str(), identity.tenant.as_str()), ("ann", "acme"));
    until("the grant reaches the verifier", 10, || async { verifier.can_call(&identity, "echo") }).await;
    assert!(!verifier.can_call(&identity, "greeter"));
    assert!(verifier.can_call(&verifier.authenticate(&bearer(&boss), &dapr).await.unwrap(), "greeter"));

    // Revocation reaches the verifier through the store within a few seconds.
    let revoke = [("token", ann.as_str())];
    assert_eq!(call(&p, "cli", "POST", "v1/oauth/revoke", Body::Form(&revoke), None).await.0, 200);
    until("keel refuses the revoked token", 5, || async {
        verifier.authenticate(&bearer(&ann), &dapr).await == Err(VerifyError::Revoked)
    })
    .await;

    // Rotation: the first token signed with the new key makes the verifier fetch the keys once.
    let (status, rotated) = call(&p, "cli", "POST", "v1/oauth/keys/rotate", Body::None, Some(&admin)).await;
    assert_eq!(status, 200, "{rotated}");
    let fresh = token(&p, "cli", "admin", ADMIN_PW, None).await;
    assert_eq!(header(&fresh)["kid"], rotated["kid"]);
    assert!(verifier.authenticate(&bearer(&fresh), &dapr).await.is_ok());
    assert!(verifier.authenticate(&bearer(&boss), &dapr).await.is_ok(), "tokens of the old key still pass");
}
