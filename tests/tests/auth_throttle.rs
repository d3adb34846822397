//! Login abuse (issue 13 §7), end to end. Failed password grants are throttled per user and
//! client address and per address: past the free failures the client gets 429 with a growing
//! `Retry-After`, before any hash is computed, while the real user logs in from another address
//! at once. The address is keel's `x-forwarded-for`, believed only from keel's sidecar. A refresh
//! token used twice revokes its whole family (RFC 9700 §4.14.2), and only that family. Client
//! secrets are throttled like passwords.

mod auth_support;

use std::time::{Duration, Instant};

use auth_support::*;
use keel_e2e::{client, Platform};
use serde_json::Value;

const ATTACKER: &str = "203.0.113.7";
const ELSEWHERE: &str = "198.51.100.2";

/// A password grant for `user` through `via`'s sidecar, as coming from `address`. Returns the
/// status, `Retry-After` (seconds) and the body.
async fn login_from(
    p: &Platform,
    via: &str,
    address: &str,
    user: &str,
    password: &str,
) -> (u16, Option<u64>, Value) {
    let url = format!("{}/v1.0/invoke/{AUTH}/method/v1/oauth/token", p.dapr_url(via));
    let form = [("grant_type", "password"), ("username", user), ("password", password)];
    let mut res = client()
        .post(url)
        .insert_header(("x-forwarded-for", address))
        .send_form(&form)
        .await
        .expect("token request");
    let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let body = res.body().await.expect("body");
    (res.status().as_u16(), retry, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[actix_rt::test]
async fn guessing_a_password_is_slowed_down_for_that_address_but_the_real_user_logs_in_elsewhere() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["keel", "echo", "plugins"]).await;
    let bob = serde_json::json!({"username": "bob", "password": "bob-password"});
    let root = token(&p, "keel", "admin", ADMIN_PW, None).await;
    assert_eq!(call(&p, "keel", "POST", "v1/users", Body::Json(bob), Some(&root)).await.0, 201);

    // Five free failures and a sixth that starts the wait: all plain wrong-password answers.
    for i in 0..6 {
        let (status, retry, body) = login_from(&p, "keel", ATTACKER, "admin", "guess").await;
        assert_eq!((status, retry), (400, None), "failure {i}: {body}");
    }
    // Now the address waits for admin, whatever it sends, even the right password.
    let (status, retry, body) = login_from(&p, "keel", ATTACKER, "admin", ADMIN_PW).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("ERR_RATE_LIMITED")), "{body}");
    assert_eq!(retry, Some(1), "{body}");
    // The real admin from another address is not held back; nor is bob from the attacker's.
    assert_eq!(login_from(&p, "keel", ELSEWHERE, "admin", ADMIN_PW).await.0, 200);
    assert_eq!(login_from(&p, "keel", ATTACKER, "bob", "bob-password").await.0, 200);

    // Each further failure doubles the wait.
    let mut waits = Vec::new();
    for _ in 0..2 {
        let started = Instant::now();
        until("the wait to pass", 10, || async {
            login_from(&p, "keel", ATTACKER, "admin", "guess").await.0 == 400
        })
        .await;
        assert!(started.elapsed() < Duration::from_secs(9));
        let (status, retry, _) = login_from(&p, "keel", ATTACKER, "admin", "guess").await;
        assert_eq!(status, 429);
        waits.push(retry.unwrap());
    }
    assert_eq!(waits, [2, 4], "a growing delay");

    // x-forwarded-for from anyone but keel is not believed: a plugin rotating it is one client.
    for i in 0..6 {
        let (status, _, body) = login_from(&p, "echo", &format!("192.0.2.{i}"), "bob", "guess").await;
        assert_eq!(status, 400, "{body}");
    }
    let (status, _, body) = login_from(&p, "echo", "192.0.2.99", "bob", "guess").await;
    assert_eq!(status, 429, "{body}");

    // Guessing a client's secret is throttled the same way.
    let secret = serde_json::json!({"secret": "echo-client-secret"});
    assert_eq!(call(&p, "plugins", "PUT", "v1/clients/echo", Body::Json(secret), None).await.0, 201);
    let guess = [("grant_type", "client_credentials"), ("client_id", "echo"), ("client_secret", "guess")];
    for _ in 0..6 {
        assert_eq!(call(&p, "echo", "POST", "v1/oauth/token", Body::Form(&guess), None).await.0, 401);
    }
    let (status, body) = call(&p, "echo", "POST", "v1/oauth/token", Body::Form(&guess), None).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("ERR_RATE_LIMITED")), "{body}");
    let right = [
        ("grant_type", "client_credentials"),
        ("client_id", "echo"),
        ("client_secret", "echo-client-secret"),
    ];
    let (status, body) = call(&p, "keel", "POST", "v1/oauth/token", Body::Form(&right), None).await;
    assert_eq!(status, 200, "the client from elsewhere: {body}");
}

async fn refresh(p: &Platform, token: &str) -> (u16, Value) {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
    call(p, "keel", "POST", "v1/oauth/token", Body::Form(&form), None).await
}

#[actix_rt::test]
async fn a_refresh_token_used_twice_revokes_its_whole_family_and_only_that_one() {
    let mut p = Platform::new();
    start(&mut p, auth_app(&[]), &["keel"]).await;
    let (_, first) = login(&p, "keel", "admin", ADMIN_PW, None).await;
    let (_, other) = login(&p, "keel", "admin", ADMIN_PW, None).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();

    let (status, second) = refresh(&p, &r1).await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    // r1 again: the thief's (or the victim's) replay. Refused, and r2 dies with it.
    let (status, replay) = refresh(&p, &r1).await;
    assert_eq!((status, replay["error"].as_str()), (400, Some("invalid_grant")), "{replay}");
    let (status, res) = refresh(&p, &r2).await;
    assert_eq!(status, 400, "the family is revoked: {res}");
    let introspect = [("token", r2.as_str())];
    let (_, seen) = call(
        &p,
        "keel",
        "POST",
        "v1/oauth/introspect",
        Body::Form(&introspect),
        Some(second["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(seen["active"], false, "{seen}");

    // The other login's chain is untouched, and logging in again works.
    let (status, res) = refresh(&p, other["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{res}");
    let (_, fresh) = login(&p, "keel", "admin", ADMIN_PW, None).await;
    assert_eq!(refresh(&p, fresh["refresh_token"].as_str().unwrap()).await.0, 200);
    assert!(p.logs(AUTH).contains("A used refresh token was presented again"));
}
