//! Helpers shared by the `auth_*` end-to-end tests: starting auth behind its sidecar, calling it
//! through a sidecar (so the caller's app-id is stamped as in production), logging in.

#![allow(dead_code)]

use std::time::Duration;

use keel_e2e::{client, eventually, AppSpec, Platform};
use serde_json::Value;

/// Auth's app-id.
pub const AUTH: &str = "auth";
/// The bootstrap super-admin's password in these tests.
pub const ADMIN_PW: &str = "e2e-Admin-pw-4c1d";

/// Auth with `KEEL_ADMIN_PASSWORD` and debug logs (so the log checks see everything), plus `env`.
pub fn auth_app(env: &[(&str, &str)]) -> AppSpec {
    let mut spec = AppSpec::bin(AUTH, "auth").env("KEEL_LOG", "debug").env("KEEL_ADMIN_PASSWORD", ADMIN_PW);
    for (k, v) in env {
        spec = spec.env(k, *v);
    }
    spec
}

/// Starts auth (`spec`) and a caller sidecar `via` (no app behind it) to call it through.
pub async fn start(platform: &mut Platform, spec: AppSpec, via: &[&str]) {
    platform.start(spec).await;
    for id in via {
        platform.start(AppSpec::sidecar_only(id)).await;
    }
}

/// A request body.
pub enum Body<'a> {
    None,
    Json(Value),
    Form(&'a [(&'a str, &'a str)]),
}

/// `method path` on auth, sent to the sidecar of `via` (which stamps `dapr-caller-app-id: via`),
/// with an optional bearer token. Returns the status and the JSON body (`Null` when not JSON).
pub async fn call(
    platform: &Platform,
    via: &str,
    method: &str,
    path: &str,
    body: Body<'_>,
    bearer: Option<&str>,
) -> (u16, Value) {
    let url =
        format!("{}/v1.0/invoke/{AUTH}/method/{}", platform.dapr_url(via), path.trim_start_matches('/'));
    let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client().request(method, &url);
    if let Some(t) = bearer {
        req = req.insert_header(("authorization", format!("Bearer {t}")));
    }
    let sent = match body {
        Body::None => req.send().await,
        Body::Json(v) => req.send_json(&v).await,
        Body::Form(pairs) => req.send_form(&pairs).await,
    };
    let mut res = sent.unwrap_or_else(|e| panic!("{url}: {e}"));
    let bytes = res.body().limit(16 << 20).await.expect("body");
    (res.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The password grant for `user` of `tenant` (platform when `None`), through `via`.
pub async fn login(
    platform: &Platform,
    via: &str,
    user: &str,
    password: &str,
    tenant: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![("grant_type", "password"), ("username", user), ("password", password)];
    if let Some(t) = tenant {
        form.push(("tenant", t));
    }
    call(platform, via, "POST", "v1/oauth/token", Body::Form(&form), None).await
}

/// The access token of a successful login; panics otherwise.
pub async fn token(
    platform: &Platform,
    via: &str,
    user: &str,
    password: &str,
    tenant: Option<&str>,
) -> String {
    let (status, body) = login(platform, via, user, password, tenant).await;
    assert_eq!(status, 200, "login of {user}: {body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// Waits (polling, never a fixed sleep) until `check` holds, up to `secs` seconds.
pub async fn until<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually(what, Duration::from_secs(secs), || {
        let fut = check();
        async move { fut.await.then_some(()) }
    })
    .await
}

/// The claims of a JWT (no verification: for reading what auth wrote).
pub fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&base64url(part)).expect("json")
}

/// The header of a JWT.
pub fn header(token: &str) -> Value {
    serde_json::from_slice(&base64url(token.split('.').next().expect("header"))).expect("json")
}

/// Unpadded base64url, decoded (the kit has no base64 crate; tokens are all this needs).
fn base64url(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => panic!("not base64url: {c}"),
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        acc = (acc << 6) | u32::from(value(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
