//! auth's secrets at rest (issue 13 §5), end to end: the signing keys are sealed (never plain
//! PKCS#8) in auth's own store `auth-state`, which keel's sidecar and a plugin's cannot read, with
//! a key from the secret store `auth-secrets` that only auth's sidecar reads; an older version's
//! state (everything in the shared `statestore`, keys in plain PKCS#8) is moved and sealed at
//! start; without a sealing key auth refuses to start, exiting 64 with a message saying what to do.

mod auth_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use auth_support::*;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use keel_e2e::{bin_path, free_port, AppSpec, Platform};
use keel_sdk::dapr::{DaprError, SaveItem};
use serde_json::{json, Value};

/// The start of every base64 Ed25519 PKCS#8 document (RFC 8410): what must never be at rest.
const PKCS8_ED25519_PREFIX: &str = "MC4CAQAwBQYDK2Vw";

async fn state(p: &Platform, via: &str, store: &str, key: &str) -> Result<Option<String>, DaprError> {
    let item = p.dapr(via).get_state(store, key).await?;
    Ok(item.map(|i| String::from_utf8_lossy(&i.value).into_owned()))
}

#[actix_rt::test]
async fn signing_keys_are_sealed_in_auths_own_store_and_no_other_sidecar_reads_them_or_the_key() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["keel", "echo"]).await;
    let admin = token(&p, "keel", "admin", ADMIN_PW, None).await;

    let ring = state(&p, "auth", "auth-state", "auth/keys").await.unwrap().expect("auth/keys in auth-state");
    let ring_json: Value = serde_json::from_str(&ring).unwrap();
    let key = &ring_json["keys"][0];
    assert_eq!(key["kid"], header(&admin)["kid"]);
    assert!(key["private_sealed"].as_str().unwrap().starts_with("v1."), "{ring}");
    assert!(key.get("private_pkcs8").is_none(), "{ring}");
    assert!(!ring.contains(PKCS8_ED25519_PREFIX), "plain PKCS#8 at rest: {ring}");
    assert!(state(&p, "auth", "auth-state", "auth/users/platform").await.unwrap().is_some());

    // The shared store holds only what keel reads: the grants (and revocations), no keys, no users.
    assert_eq!(state(&p, "keel", "statestore", "auth/keys").await.unwrap(), None);
    assert_eq!(state(&p, "keel", "statestore", "auth/users/platform").await.unwrap(), None);
    let published = state(&p, "keel", "statestore", "auth/tenants").await.unwrap().expect("grants for keel");
    assert!(published.contains("\"platform\""), "{published}");

    // keel's sidecar and a plugin's: no auth-state, no auth-secrets.
    for via in ["keel", "echo"] {
        match p.dapr(via).get_state("auth-state", "auth/keys").await {
            Err(DaprError::Api { status: 400, code, .. }) => assert_eq!(code, "ERR_STATE_STORE_NOT_FOUND"),
            other => panic!("{via} read auth-state: {other:?}"),
        }
        assert!(p.dapr(via).get_secret("auth-secrets", "sealing-key").await.is_err(), "{via} read the key");
    }

    // Sealed keys open again after a restart: tokens signed before it still verify.
    let stopped = p.stop(AUTH);
    p.restart(stopped).await;
    let (status, me) = call(&p, "keel", "GET", "v1/me", Body::None, Some(&admin)).await;
    assert_eq!(status, 200, "{me}");
    let sealing_key = std::fs::read_to_string(p.dir().join("secrets/auth.json")).unwrap();
    let sealing_key: Value = serde_json::from_str(&sealing_key).unwrap();
    let sealing_key = sealing_key["sealing-key"].as_str().unwrap();
    assert!(!p.all_logs().contains(sealing_key), "the sealing key is in a log");
}

/// An older version's state: everything in `statestore` (what `KEEL_STORE=statestore` still
/// gives), then the key ring rewritten with plain PKCS#8 as before sealing existed.
#[actix_rt::test]
async fn an_older_versions_plain_keys_users_and_clients_are_moved_to_auths_store_and_sealed() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[("KEEL_STORE", "statestore")]), &["cli", "plugins"]).await;
    let root = token(&p, "cli", "admin", ADMIN_PW, None).await;
    let ann = json!({"username": "ann", "password": "ann-password"});
    assert_eq!(call(&p, "cli", "POST", "v1/users", Body::Json(ann), Some(&root)).await.0, 201);
    let secret = json!({"secret": "echo-client-secret"});
    assert_eq!(call(&p, "plugins", "PUT", "v1/clients/echo", Body::Json(secret), None).await.0, 201);
    p.stop(AUTH);

    let signing = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let der = signing.to_pkcs8_der().unwrap();
    let public = keel_e2e::base64(signing.verifying_key().as_bytes())
        .replace('+', "-")
        .replace('/', "_")
        .replace('=', "");
    let plain = json!({"current": "legacy-kid", "keys": [{
        "kid": "legacy-kid", "private_pkcs8": keel_e2e::base64(der.as_bytes()), "public": public, "created_at": 1
    }]});
    p.dapr("cli").save_state("statestore", &[SaveItem::new("auth/keys", plain)]).await.unwrap();

    p.start(auth_app(&[])).await;
    let ann = token(&p, "cli", "ann", "ann-password", None).await;
    assert_eq!(header(&ann)["kid"], "legacy-kid", "the old key still signs");
    assert_eq!(call(&p, "cli", "GET", "v1/me", Body::None, Some(&ann)).await.0, 200);
    let client = [
        ("grant_type", "client_credentials"),
        ("client_id", "echo"),
        ("client_secret", "echo-client-secret"),
    ];
    let (status, res) = call(&p, "cli", "POST", "v1/oauth/token", Body::Form(&client), None).await;
    assert_eq!(status, 200, "{res}");

    let ring = state(&p, AUTH, "auth-state", "auth/keys").await.unwrap().expect("moved");
    assert!(ring.contains("legacy-kid") && ring.contains("\"private_sealed\":\"v1."), "{ring}");
    assert!(!ring.contains(PKCS8_ED25519_PREFIX) && !ring.contains("private_pkcs8"), "{ring}");
    for key in ["auth/keys", "auth/users/platform", "auth/clients/echo"] {
        assert_eq!(state(&p, "cli", "statestore", key).await.unwrap(), None, "{key} left in statestore");
    }
    assert!(state(&p, AUTH, "auth-state", "auth/users/platform").await.unwrap().unwrap().contains("\"ann\""));
    assert!(state(&p, AUTH, "auth-state", "auth/clients/echo").await.unwrap().is_some());
}

#[actix_rt::test]
async fn without_a_sealing_key_auth_does_not_start_and_says_what_to_do() {
    let mut p = Platform::new();
    p.write_auth_secret("{\"something-else\": \"x\"}\n");
    p.start(AppSpec::sidecar_only(AUTH)).await;
    let mut child = Command::new(bin_path("auth"))
        .env("DAPR_HTTP_PORT", p.app(AUTH).dapr_port.to_string())
        .env("APP_PORT", free_port().to_string())
        .env("KEEL_ADMIN_PASSWORD", ADMIN_PW)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("auth kept running without a sealing key");
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    };
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(status.code(), Some(64), "{text}");
    assert!(text.contains("no usable sealing key"), "{text}");
    assert!(text.contains("auth-secrets") && text.contains("scripts/local-secrets"), "{text}");
}
