//! Helpers shared by the `router_*` end-to-end tests: keel behind its sidecar, the
//! `router-upstream` test plugin, client sidecars, the route table seeded into the state store or
//! pushed as the registry would, and calls through a caller's sidecar.

#![allow(dead_code)]

use std::time::Duration;

use keel_e2e::{client, eventually, AppSpec, Platform};
use serde_json::{json, Value};

/// keel's app-id.
pub const KEEL: &str = "keel";
/// The registry's app-id: pushes to keel are accepted only from it.
pub const REGISTRY: &str = "plugins";

/// keel with a fresh admin port and `env` (e.g. `KEEL_UPSTREAM_TIMEOUT_MS`), routes re-read every
/// 500 ms unless `env` says otherwise.
pub fn keel(env: &[(&str, &str)]) -> AppSpec {
    let mut spec = AppSpec::keel().env("KEEL_ROUTES_REFRESH_MS", "500").env("KEEL_ROUTES_RETRY_MS", "100");
    for (k, v) in env {
        spec = spec.env(k, *v);
    }
    spec
}

/// The test plugin `id` (see `tests/src/bin/router-upstream.rs`).
pub fn upstream(id: &str) -> AppSpec {
    AppSpec::bin(id, "router-upstream")
}

/// keel's admin address (from its spec's environment).
pub fn admin(platform: &Platform) -> String {
    let spec = &platform.app(KEEL).spec;
    let addr = spec.env.iter().rev().find(|(k, _)| k == "KEEL_ADMIN_LISTEN").map(|(_, v)| v.clone());
    format!("http://{}", addr.expect("keel started with router_support::keel"))
}

/// A route table: `(plugin, status)` pairs, plus raw extra fields per plugin when given.
pub fn table(version: u64, plugins: &[(&str, &str)]) -> Value {
    let mut map = serde_json::Map::new();
    for (id, status) in plugins {
        map.insert((*id).to_owned(), json!({"status": status, "version": "1.0.0"}));
    }
    json!({"version": version, "plugins": map})
}

/// Writes `table` into the state store through app `via`'s sidecar, where keel finds it at boot
/// and on its timer (the store's `keyPrefix: name` makes the key the same for every app).
pub async fn seed(platform: &Platform, via: &str, table: &Value) {
    let url = format!("{}/v1.0/state/statestore", platform.dapr_url(via));
    let res = client().post(url).send_json(&json!([{"key": "keel-routes", "value": table}])).await.unwrap();
    assert!(res.status().is_success(), "seeding the route table answered {}", res.status());
}

/// Pushes `table` to keel as the registry does (`PUT v1/routes` invoked from app `from`'s
/// sidecar); returns the status and the answer.
pub async fn push(platform: &Platform, from: &str, table: &Value) -> (u16, Value) {
    let url = format!("{}/v1.0/invoke/{KEEL}/method/v1/routes", platform.dapr_url(from));
    let mut res = client().put(url).send_json(table).await.unwrap();
    let body = res.body().await.unwrap();
    (res.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A request from app `from` through its sidecar to keel: `path` is what follows
/// `/v1.0/invoke/keel/method/` (`<plugin>/<endpoint>?query` or `addons/<point>`).
pub fn call(platform: &Platform, from: &str, method: &str, path: &str) -> awc::ClientRequest {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    client()
        .request(method, format!("{}/v1.0/invoke/{KEEL}/method/{path}", platform.dapr_url(from)))
        .no_decompress()
}

/// The same request straight to the plugin, bypassing keel, for comparisons.
pub fn direct(
    platform: &Platform,
    from: &str,
    method: &str,
    plugin: &str,
    endpoint: &str,
) -> awc::ClientRequest {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    client()
        .request(method, format!("{}/v1.0/invoke/{plugin}/method/{endpoint}", platform.dapr_url(from)))
        .no_decompress()
}

/// Sends `req` and returns status, headers and JSON body (`Null` when not JSON).
pub async fn send(req: awc::ClientRequest) -> (u16, awc::http::header::HeaderMap, Value) {
    let mut res = req.send().await.unwrap();
    let body = res.body().limit(64 << 20).await.unwrap();
    (res.status().as_u16(), res.headers().clone(), serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Asserts keel's own refusal: `status`, `x-keel-error: 1`, negative `ret`, the error `code`, and
/// a message containing `mentions`. Returns the body.
pub async fn refused(req: awc::ClientRequest, status: u16, code: &str, mentions: &str) -> Value {
    let (got, headers, body) = send(req).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(headers.get("x-keel-error").map(|v| v.as_bytes()), Some(&b"1"[..]), "{body}");
    assert!(body["ret"].as_i64().unwrap_or(0) < 0, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["msg"].as_str().unwrap_or_default().contains(mentions), "{mentions:?} not in {body}");
    body
}

/// The version of the route table keel uses, from its metrics (`None` before one is loaded).
pub async fn routes_version(platform: &Platform) -> Option<u64> {
    let mut res = client().get(format!("{}/metrics", admin(platform))).send().await.ok()?;
    let text = String::from_utf8(res.body().await.ok()?.to_vec()).ok()?;
    let loaded = text.lines().any(|l| l == "keel_routes_loaded 1");
    let version = text.lines().find_map(|l| l.strip_prefix("keel_routes_version ")?.parse().ok());
    loaded.then_some(version).flatten()
}

/// Waits until keel uses route table `version` (or a newer one).
pub async fn wait_routes(platform: &Platform, version: u64) {
    eventually(&format!("keel using route table {version}"), Duration::from_secs(30), || async {
        routes_version(platform).await.filter(|v| *v >= version)
    })
    .await;
}

/// A gauge or counter from keel's metrics, summed over the lines starting with `prefix`.
pub async fn metric(platform: &Platform, prefix: &str) -> f64 {
    let mut res = client().get(format!("{}/metrics", admin(platform))).send().await.unwrap();
    let text = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The pid of the app (not its sidecar) started as `id`: the `sidecar run` process's child.
pub fn app_pid(platform: &Platform, id: &str) -> u32 {
    let run = platform.app(id).pid();
    let mut children = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{run}/task")).unwrap().flatten() {
        let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        children.extend(list.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
    }
    assert_eq!(children.len(), 1, "expected one app process under {run}: {children:?}");
    children[0]
}

/// A field of `/proc/<pid>/status` in kB (`VmHWM`: peak resident set; `VmRSS`: resident now).
pub fn proc_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix(" kB")?.parse().ok())
        .unwrap_or_else(|| panic!("{field} not in /proc/{pid}/status"))
}
