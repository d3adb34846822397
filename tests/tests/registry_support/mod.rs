//! Helpers shared by the `registry_*` end-to-end tests: starting the registry and fake plugins
//! behind their sidecars, calling the registry's API, reading the state store, waiting.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use keel_e2e::{client, eventually, AppSpec, Platform, RunningApp};
use serde_json::{json, Value};

/// The registry's app-id.
pub const REGISTRY: &str = "plugins";

/// The poll interval the tests' registries run with (`poll_interval_ms`), unless told otherwise.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The polling lease the tests' registries run with (`lease_ms`): a stopped polling replica is
/// replaced within it (plugins-manager/README.md, "Status polling").
pub const LEASE: Duration = Duration::from_millis(2000);

/// The registry, with a short poll interval and lease unless `env` says otherwise.
pub fn registry(id: &str, env: &[(&str, &str)]) -> AppSpec {
    let mut spec = AppSpec::bin(id, "plugins-manager")
        .env("KEEL_POLL_INTERVAL_MS", POLL_INTERVAL.as_millis().to_string())
        .env("KEEL_POLL_TIMEOUT_MS", "300")
        .env("KEEL_LEASE_MS", LEASE.as_millis().to_string())
        .env("KEEL_CORE_RETRY_MAX_MS", "500");
    for (k, v) in env {
        spec = spec.env(k, *v);
    }
    spec
}

/// A fake plugin `id` configured by `env` (see `tests/src/bin/fake-plugin.rs`).
pub fn fake(id: &str, env: &[(&str, &str)]) -> AppSpec {
    let mut spec = AppSpec::bin(id, "fake-plugin");
    for (k, v) in env {
        spec = spec.env(k, *v);
    }
    spec
}

/// Starts the registry as `plugins` and waits until it has registered itself.
pub async fn start_registry(platform: &mut Platform, env: &[(&str, &str)]) {
    platform.start(registry(REGISTRY, env)).await;
    wait_registered(platform, REGISTRY, REGISTRY).await;
}

/// `http://127.0.0.1:<app port>` of registry replica `replica`.
pub fn api(platform: &Platform, replica: &str) -> String {
    platform.app_url(replica)
}

/// Sends a request and returns the status and the JSON body (`Value::Null` when not JSON).
pub async fn call(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
    let req = client().request(method, url);
    let mut res = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    }
    .unwrap_or_else(|e| panic!("{url}: {e}"));
    let bytes = res.body().limit(64 << 20).await.expect("body");
    (res.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// `POST /v1/plugins` on `replica`.
pub async fn register(platform: &Platform, replica: &str, id: &str, secret: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "id": id });
    if let Some(s) = secret {
        body["secret"] = json!(s);
    }
    call("POST", &format!("{}/v1/plugins", api(platform, replica)), Some(body)).await
}

/// `GET /v1/plugins/{id}` on `replica`.
pub async fn get_plugin(platform: &Platform, replica: &str, id: &str) -> (u16, Value) {
    call("GET", &format!("{}/v1/plugins/{id}", api(platform, replica)), None).await
}

/// `GET /v1/routes` on `replica`.
pub async fn routes(platform: &Platform, replica: &str) -> Value {
    let (status, body) = call("GET", &format!("{}/v1/routes", api(platform, replica)), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until `id` is registered, as seen by `replica`.
pub async fn wait_registered(platform: &Platform, replica: &str, id: &str) -> Value {
    eventually(&format!("{id} registered"), Duration::from_secs(30), || async {
        let (status, body) = get_plugin(platform, replica, id).await;
        (status == 200).then_some(body)
    })
    .await
}

/// Waits until `id` has `status`, returning how long that took.
pub async fn wait_status(platform: &Platform, id: &str, status: &str, limit: Duration) -> Duration {
    wait_status_on(platform, REGISTRY, id, status, limit).await
}

/// Waits until `id` has `status` as replica `replica` reports it, returning how long that took.
pub async fn wait_status_on(
    platform: &Platform,
    replica: &str,
    id: &str,
    status: &str,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    eventually(&format!("{id} becoming {status}"), limit, || async {
        let (_, body) = get_plugin(platform, replica, id).await;
        (body["status"] == status).then_some(())
    })
    .await;
    started.elapsed()
}

/// The state keys a registration may touch, with their values and ETags: equal snapshots mean
/// the store was left as it was.
pub async fn snapshot(platform: &Platform, ids: &[&str]) -> Vec<(String, Option<(String, Option<String>)>)> {
    let dapr = platform.dapr(REGISTRY);
    let mut keys = vec!["keel-routes".to_owned()];
    keys.extend(ids.iter().map(|id| format!("keel-plugin-{id}")));
    let mut out = Vec::new();
    for key in keys {
        let item = dapr.get_state("statestore", &key).await.expect("read state");
        out.push((key, item.map(|i| (String::from_utf8_lossy(&i.value).into_owned(), i.etag))));
    }
    out
}

/// The JSON stored under `key` in the shared state store, read through the registry's sidecar.
async fn stored(platform: &Platform, key: &str) -> Option<Value> {
    platform
        .dapr(REGISTRY)
        .get_state_json::<Value>("statestore", key)
        .await
        .expect("read state")
        .map(|(v, _)| v)
}

/// A stored plugin record, raw.
pub async fn stored_record(platform: &Platform, id: &str) -> Option<Value> {
    stored(platform, &format!("keel-plugin-{id}")).await
}

/// auth's stored client credentials for plugin `id` (the only place its secret is kept, hashed).
pub async fn stored_client(platform: &Platform, id: &str) -> Option<Value> {
    // auth's private store: only auth's own sidecar reads it.
    platform
        .dapr("auth")
        .get_state_json::<Value>("auth-state", &format!("auth/clients/{id}"))
        .await
        .expect("read auth's state")
        .map(|(v, _)| v)
}

/// Kills app `id` and its sidecar at once (SIGKILL), as a machine crash would. The app is killed
/// first and by pid: the stand-in starts it in a process group of its own, which the kit's group
/// kill does not reach.
pub fn crash(platform: &mut Platform, id: &str) -> RunningApp {
    platform.kill_app_only(id);
    platform.kill(id)
}

/// Tells fake plugin `id` what `/v1/status` should report, or how (`mode`: ok, hang, error).
pub async fn fake_control(platform: &Platform, id: &str, what: &str, value: &str) {
    let url = format!("{}/fake/{what}", platform.app_url(id));
    let res = client().post(url).send_body(value.to_owned()).await.expect("fake control");
    assert!(res.status().is_success());
}

/// The `/v1/addons/identify` bodies fake plugin `id` received.
pub async fn addons_calls(platform: &Platform, id: &str) -> Vec<Value> {
    let (_, body) = call("GET", &format!("{}/fake/addons-calls", platform.app_url(id)), None).await;
    body.as_array().cloned().unwrap_or_default()
}

/// The `/v1/status` calls fake plugin `id` has had, by the app-id of the caller (a registry
/// replica's, as its sidecar stamps it).
pub async fn status_calls(platform: &Platform, id: &str) -> BTreeMap<String, u64> {
    let (status, body) = call("GET", &format!("{}/fake/status-calls", platform.app_url(id)), None).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("status calls by caller")
}

/// auth, which keeps the client credentials of plugins registered with a secret.
pub fn auth() -> AppSpec {
    AppSpec::bin("auth", "auth").env("KEEL_ADMIN_PASSWORD", "bootstrap-password-1")
}

/// keel's public port (the test started keel with `AppSpec::keel`).
pub fn public_base(p: &Platform) -> String {
    format!("http://{}", p.app("keel").spec.env_value("KEEL_PUBLIC_LISTEN").expect("public listen"))
}

/// `method <path>` on keel's public port with a bearer token and an optional JSON body: the
/// status and the JSON body (`Null` when it is not JSON).
pub async fn public_call(
    p: &Platform,
    method: &str,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let req = client()
        .request(method, format!("{}{path}", public_base(p)))
        .insert_header(("authorization", format!("Bearer {bearer}")));
    let mut res = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    }
    .expect("public port");
    let bytes = res.body().limit(1 << 20).await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A password login through keel's public port; the access token.
pub async fn login(p: &Platform, user: &str, pw: &str, tenant: Option<&str>) -> String {
    let mut form = vec![("grant_type", "password"), ("username", user), ("password", pw)];
    if let Some(t) = tenant {
        form.push(("tenant", t));
    }
    let mut res =
        client().post(format!("{}/apis/auth/v1/oauth/token", public_base(p))).send_form(&form).await.unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(res.status(), 200, "login of {user}: {body}");
    body["access_token"].as_str().unwrap().to_owned()
}
