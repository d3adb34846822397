//! What survives auth's restarts (graceful and killed): the signing keys, tenants, users, live
//! tokens; and the generated super-admin password, printed once on the first start only.

mod auth_support;

use auth_support::*;
use keel_e2e::{AppSpec, Platform};
use serde_json::json;

async fn kids(p: &Platform) -> Vec<String> {
    let (status, jwks) = call(p, "cli", "GET", "v1/oauth/jwks", Body::None, None).await;
    assert_eq!(status, 200, "{jwks}");
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

#[actix_rt::test]
async fn keys_users_and_tokens_survive_a_stop_and_a_kill() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["cli"]).await;
    let admin = token(&p, "cli", "admin", ADMIN_PW, None).await;
    let t = json!({"id": "acme", "admin": {"username": "boss", "password": "acme-boss-pw"}});
    assert_eq!(call(&p, "cli", "POST", "v1/tenants", Body::Json(t), Some(&admin)).await.0, 201);
    let boss = token(&p, "cli", "boss", "acme-boss-pw", Some("acme")).await;
    let before = kids(&p).await;
    assert_eq!(before.len(), 1);

    for crash in [false, true] {
        let previous = if crash { p.kill(AUTH) } else { p.stop(AUTH) };
        p.restart(previous).await;
        assert_eq!(kids(&p).await, before, "the same key after a {}", if crash { "kill" } else { "stop" });
        assert_eq!(
            call(&p, "cli", "GET", "v1/me", Body::None, Some(&boss)).await.0,
            200,
            "old token still valid"
        );
        token(&p, "cli", "boss", "acme-boss-pw", Some("acme")).await;
        token(&p, "cli", "admin", ADMIN_PW, None).await;
    }
    assert_eq!(p.logs(AUTH).matches("Generated the first token signing key").count(), 1);
}

#[actix_rt::test]
async fn a_rotated_key_outlives_a_restart_and_old_tokens_stay_valid() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["cli"]).await;
    let old = token(&p, "cli", "admin", ADMIN_PW, None).await;
    let (status, rotated) = call(&p, "cli", "POST", "v1/oauth/keys/rotate", Body::None, Some(&old)).await;
    assert_eq!(status, 200, "{rotated}");
    let previous = p.stop(AUTH);
    p.restart(previous).await;
    assert_eq!(kids(&p).await.len(), 2);
    let new = token(&p, "cli", "admin", ADMIN_PW, None).await;
    assert_eq!(header(&new)["kid"], rotated["kid"]);
    assert_eq!(call(&p, "cli", "GET", "v1/me", Body::None, Some(&old)).await.0, 200);
}

#[actix_rt::test]
async fn without_a_configured_password_one_is_generated_and_printed_once() {
    let mut p = Platform::new();
    let spec = AppSpec::bin(AUTH, "auth").env("KEEL_LOG", "debug");
    start(&mut p, spec, &["cli"]).await;
    let logs = p.logs(AUTH);
    let marker = "generated password ";
    let at = logs.find(marker).unwrap_or_else(|| panic!("no generated password in:\n{logs}")) + marker.len();
    let password: String = logs[at..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    assert_eq!(password.len(), 24, "{password}");
    token(&p, "cli", "admin", &password, None).await;

    let previous = p.stop(AUTH);
    p.restart(previous).await;
    assert_eq!(p.logs(AUTH).matches(marker).count(), 1, "printed on the first start only");
    token(&p, "cli", "admin", &password, None).await;
}
