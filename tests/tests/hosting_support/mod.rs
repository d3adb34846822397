//! Helpers shared by the `hosting_*` end-to-end tests: hosting behind its sidecar with a data
//! dir, a local port and a port range of its own, bundles built from the example's binary (or
//! deliberately malformed), and calls on both doors and the management API.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use keel_e2e::build::workspace_root;
use keel_e2e::{bin_path, client, eventually, free_port, AppSpec, Platform};
use serde_json::Value;

/// hosting's app-id.
pub const HOSTING: &str = "hosting";

/// How long a service may take to come up in a test (debug builds, a shared machine).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Where a started hosting can be reached besides its app port.
#[derive(Debug, Clone)]
pub struct Hosting {
    /// `http://127.0.0.1:<local port>`.
    pub local: String,
    /// Its data dir.
    pub data_dir: PathBuf,
}

/// hosting, with quick restarts and probes, and `env` on top.
pub fn spec(p: &Platform, env: &[(&str, &str)]) -> (AppSpec, Hosting) {
    let local_port = free_port();
    let range_start = free_port();
    let data_dir = p.dir().join("hosting-data");
    let mut spec = AppSpec::bin(HOSTING, "hosting")
        .env("KEEL_HOSTING__DATA_DIR", data_dir.display().to_string())
        .env("KEEL_HOSTING__LOCAL_LISTEN", format!("127.0.0.1:{local_port}"))
        .env("KEEL_HOSTING__PORT_RANGE_START", range_start.to_string())
        .env("KEEL_HOSTING__PORT_RANGE_END", range_start.saturating_add(40).to_string())
        .env("KEEL_HOSTING__RESTART_BACKOFF_MIN_MS", "100")
        .env("KEEL_HOSTING__RESTART_BACKOFF_MAX_MS", "1000")
        .env("KEEL_HOSTING__PROBE_INTERVAL_MS", "300");
    for (k, v) in env {
        spec = spec.env(k, *v);
    }
    (spec, Hosting { local: format!("http://127.0.0.1:{local_port}"), data_dir })
}

/// Starts hosting and waits until it reports `ACTIVE` (boot over).
pub async fn start(p: &mut Platform, env: &[(&str, &str)]) -> Hosting {
    let (spec, h) = spec(p, env);
    p.start(spec).await;
    wait_active(p).await;
    h
}

/// Waits until hosting's `/v1/status` says `ACTIVE`.
pub async fn wait_active(p: &Platform) {
    let url = format!("{}/v1/status", p.app_url(HOSTING));
    eventually("hosting ACTIVE", PATIENCE, || {
        let url = url.clone();
        async move {
            let (_, v) = call("GET", &url, None).await;
            (v["status"] == "ACTIVE").then_some(())
        }
    })
    .await;
}

/// Calls `url`; returns the status and the body as JSON (or as a JSON string when it is not).
pub async fn call(method: &str, url: &str, body: Option<Vec<u8>>) -> (u16, Value) {
    let (status, _, bytes) = raw(method, url, body, &[]).await;
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, v)
}

/// Calls `url` with `headers`; returns status, headers and body.
pub async fn raw(
    method: &str,
    url: &str,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> (u16, awc::http::header::HeaderMap, Vec<u8>) {
    let mut req = client().request(method.parse().unwrap(), url);
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let sent = match body {
        Some(b) => req.send_body(b).await,
        None => req.send().await,
    };
    let mut res = sent.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let bytes = res.body().limit(64 << 20).await.unwrap_or_default().to_vec();
    (res.status().as_u16(), res.headers().clone(), bytes)
}

/// `POST /v1/services` on the app port (no sidecar caller: local development's platform scope).
pub async fn install(p: &Platform, bundle: Vec<u8>) -> (u16, Value) {
    call("POST", &format!("{}/v1/services", p.app_url(HOSTING)), Some(bundle)).await
}

/// `DELETE /v1/services/<app_id>`.
pub async fn uninstall(p: &Platform, app_id: &str) -> (u16, Value) {
    call("DELETE", &format!("{}/v1/services/{app_id}", p.app_url(HOSTING)), None).await
}

/// `GET /v1/services`' list.
pub async fn list(p: &Platform) -> Vec<Value> {
    let (status, v) = call("GET", &format!("{}/v1/services", p.app_url(HOSTING)), None).await;
    assert_eq!(status, 200, "{v}");
    v["services"].as_array().cloned().unwrap_or_default()
}

/// `GET /v1/services/<app_id>`'s service (`Value::Null` when not installed).
pub async fn service(p: &Platform, app_id: &str) -> Value {
    let (_, v) = call("GET", &format!("{}/v1/services/{app_id}", p.app_url(HOSTING)), None).await;
    v["service"].clone()
}

/// Waits until `app_id` is `status`; returns its view.
pub async fn wait_status(p: &Platform, app_id: &str, status: &str) -> Value {
    let what = format!("{app_id} {status}");
    eventually(&what, PATIENCE, || async move {
        let v = service(p, app_id).await;
        (v["status"] == status).then_some(v)
    })
    .await
}

/// The service's output, as the API gives it.
pub async fn logs(p: &Platform, app_id: &str, query: &str) -> String {
    let (_, _, body) =
        raw("GET", &format!("{}/v1/services/{app_id}/logs?{query}", p.app_url(HOSTING)), None, &[]).await;
    String::from_utf8_lossy(&body).into_owned()
}

/// `GET <hosting's sidecar>/v1.0/invoke/hosting/method/plugin_service/<path>`: the app door,
/// through a real sidecar hop (what keel's forward will be).
pub fn app_door(p: &Platform, path: &str) -> String {
    format!(
        "{}/v1.0/invoke/{HOSTING}/method/plugin_service/{}",
        p.dapr_url(HOSTING),
        path.trim_start_matches('/')
    )
}

/// Whether `pid` (as hosting records it) runs (a zombie does not).
pub fn alive(pid: i64) -> bool {
    u32::try_from(pid).is_ok_and(keel_e2e::alive)
}

/// Whether nothing listens on `port`.
pub fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("0.0.0.0", port)).is_ok()
}

/// The `workspace/` of `app_id`'s one unpacked release.
pub fn workspace(h: &Hosting, app_id: &str) -> PathBuf {
    let releases = h.data_dir.join("services").join(app_id);
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(&releases).unwrap().flatten().map(|e| e.path().join("workspace")).collect();
    assert_eq!(dirs.len(), 1, "one release of {app_id}: {dirs:?}");
    dirs.remove(0)
}

/// PIDs of live processes whose working folder is under `dir`.
pub fn processes_in(dir: &std::path::Path) -> Vec<i64> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i64>().ok())
        .filter(|pid| alive(*pid))
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&dir)))
        .collect()
}

// === bundles ===

/// One archive entry.
pub struct Item {
    path: String,
    kind: tar::EntryType,
    data: Vec<u8>,
    mode: u32,
    link: Option<String>,
}

impl Item {
    /// A file.
    pub fn file(path: &str, data: &[u8], mode: u32) -> Self {
        Self { path: path.into(), kind: tar::EntryType::Regular, data: data.to_vec(), mode, link: None }
    }
    /// A symbolic link, written as given.
    pub fn link(path: &str, to: &str) -> Self {
        Self {
            path: path.into(),
            kind: tar::EntryType::Symlink,
            data: Vec::new(),
            mode: 0o777,
            link: Some(to.into()),
        }
    }
}

/// The `.tar.gz` of `items`, paths written as given (so `..` and absolute paths can be tested).
pub fn archive(items: &[Item]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for item in items {
        let mut h = tar::Header::new_gnu();
        let name = item.path.as_bytes();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(item.kind);
        h.set_mode(item.mode);
        h.set_size(item.data.len() as u64);
        if let Some(to) = &item.link {
            h.set_link_name_literal(to.as_bytes()).unwrap();
        }
        h.set_cksum();
        b.append(&h, item.data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// A `plugin.yaml` in the seed's shape (`args` as a YAML single-quoted string: any text of one
/// line).
pub fn manifest(app_id: &str, version: &str, root: &str, args: &str, is_open: bool) -> String {
    let args = args.replace('\'', "''");
    format!(
        "service:\n  app_id: {app_id}\n  version: {version}\n  name: {app_id}\nabilities:\n  - id: web\n    name: web service\n    version: 1.0.0\n    abilityType: web_service\n    config:\n      - key: root_route\n        value: {root}\n        fieldType: Input\n        show: false\n      - key: start_file\n        value: start.sh\n      - key: is_open\n        value: {is_open}\n      - key: args\n        value: '{args}'\n"
    )
}

/// The example's start script (ours).
pub fn our_start_script() -> Vec<u8> {
    std::fs::read(workspace_root().join("examples/hosted-hello/bundles/hosted-hello/workspace/start.sh"))
        .unwrap()
}

/// The example binary.
pub fn hello_binary() -> Vec<u8> {
    std::fs::read(bin_path("hosted-hello")).unwrap()
}

/// A bundle of the example: our start script and the binary as `hello_service`.
pub fn hello_bundle(app_id: &str, version: &str, root: &str, args: &str) -> Vec<u8> {
    bundle_with_script(app_id, version, root, args, &our_start_script())
}

/// A bundle of the example with `is_open` as given.
pub fn hello_bundle_open(app_id: &str, root: &str, is_open: bool) -> Vec<u8> {
    archive(&[
        Item::file("plugin.yaml", manifest(app_id, "1.0.0", root, "keel", is_open).as_bytes(), 0o644),
        Item::file("workspace/start.sh", &our_start_script(), 0o755),
        Item::file("workspace/hello_service", &hello_binary(), 0o755),
    ])
}

/// A bundle of the example binary started by `script`.
pub fn bundle_with_script(app_id: &str, version: &str, root: &str, args: &str, script: &[u8]) -> Vec<u8> {
    archive(&[
        Item::file("plugin.yaml", manifest(app_id, version, root, args, false).as_bytes(), 0o644),
        Item::file("workspace/start.sh", script, 0o755),
        Item::file("workspace/hello_service", &hello_binary(), 0o755),
    ])
}

/// A start script whose `start` takes `secs` seconds before it backgrounds the service (which
/// then writes `pid.txt`): a service caught `STARTING`, with no PID file yet. `stop` kills the
/// PID in `pid.txt`.
pub fn slow_start_script(secs: u32) -> Vec<u8> {
    format!(
        "#!/bin/sh\ncase \"$1\" in\n  start) sleep {secs}; nohup ./hello_service \"$2\" \"$3\" </dev/null & ;;\n  stop) [ -f pid.txt ] && kill -9 \"$(cat pid.txt)\" ;;\nesac\n"
    )
    .into_bytes()
}

/// Waits until `app_id` is `STARTING` with its start script running (a process in `data_dir`).
pub async fn wait_script_running(p: &Platform, h: &Hosting, app_id: &str) {
    let what = format!("{app_id} STARTING, its start script running");
    eventually(&what, PATIENCE, || async move {
        let v = service(p, app_id).await;
        (v["status"] == "STARTING" && !processes_in(&h.data_dir).is_empty()).then_some(())
    })
    .await
}

/// The seed's shell script, taken from the seed at run time (the project keeps no copy): the
/// ```` ```shell ```` block that starts with `#!/bin/bash`.
pub fn seed_script() -> Vec<u8> {
    let name = "shared/seeds/000_13ad20e406f62f62.txt";
    let root = workspace_root();
    let seed = root.ancestors().map(|d| d.join(name)).find(|p| p.exists()).unwrap_or_else(|| {
        panic!("the seed {name} is not beside the repository (looked above {})", root.display())
    });
    let text = std::fs::read_to_string(seed).unwrap();
    let start =
        text.find("```shell\n#!/bin/bash").expect("the seed has its shell script block") + "```shell\n".len();
    let end = start + text[start..].find("\n```").expect("the block ends");
    let mut script = text[start..end].to_owned();
    script.push('\n');
    script.into_bytes()
}
