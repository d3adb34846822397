//! keel with its store read-only: the store's folder and files made read-only while the platform
//! runs (and keel restarted on them), then the database file alone so that reads fail too. keel's
//! sidecar is both its store client and its forwarding path: it stays up, keel keeps routing from
//! the table in use (200s), the store's writes fail with daprd's 500, and once the fault is gone
//! a new table is written and in effect again.
//!
//! Read-only the way root cannot override (these tests run as root, which chmod does not bind):
//! `chmod a-w` and `chattr +i`. Before the sqlite store left WAL mode, the same fault on its
//! `-shm` file killed every sidecar on it with SIGBUS (see sidecar/tests/state_sqlite_faults.rs).

mod router_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use keel_e2e::{client, eventually, Platform};
use router_support::*;
use serde_json::json;

/// Paths made read-only until dropped (also when the test fails: immutable files would outlive
/// the platform's temporary folder).
struct ReadOnly(Vec<PathBuf>);

impl ReadOnly {
    fn make(paths: Vec<PathBuf>) -> Self {
        // Dirty pages written back first, as they are some seconds after any write: a writable
        // mapping of a file faults on its next store only then.
        assert!(Command::new("sync").status().unwrap().success());
        for p in &paths {
            let mode = if p.is_dir() { 0o555 } else { 0o444 };
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let out = Command::new("chattr").arg("+i").args(&paths).output().expect("run chattr");
        let fault = ReadOnly(paths);
        assert!(out.status.success(), "chattr +i: {}", String::from_utf8_lossy(&out.stderr));
        fault
    }

    /// The folder and everything in it.
    fn folder(dir: &Path) -> Self {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        paths.push(dir.to_owned());
        ReadOnly::make(paths)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").args(&self.0).status();
        for p in &self.0 {
            let mode = if p.is_dir() { 0o755 } else { 0o644 };
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
        }
    }
}

/// A save through `via`'s sidecar: its status and daprd's error code.
async fn save(p: &Platform, via: &str) -> (u16, String) {
    let url = format!("{}/v1.0/state/statestore", p.dapr_url(via));
    let mut res = client().post(url).send_json(&json!([{"key": "probe", "value": 1}])).await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    (res.status().as_u16(), body["errorCode"].as_str().unwrap_or_default().to_owned())
}

/// Requests through keel to the registered plugin, all answered by it.
async fn routed(p: &Platform, n: usize) {
    for _ in 0..n {
        let (status, _, body) = send(call(p, "caller", "GET", "up/status/200")).await;
        assert_eq!(status, 200, "{body}");
    }
}

/// keel's sidecar is up and answers.
async fn keel_sidecar_up(p: &Platform) {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", p.app(KEEL).pid())).unwrap_or_default();
    assert!(stat.rsplit_once(") ").is_some_and(|(_, s)| !s.starts_with('Z')), "keel's sidecar is gone");
    let res = client().get(format!("{}/v1.0/healthz", p.dapr_url(KEEL))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 204);
}

#[actix_rt::test]
async fn keel_routes_from_its_table_while_the_store_is_read_only() {
    let mut p = Platform::new();
    let store = p.dir().join("store");
    std::fs::create_dir_all(&store).unwrap();
    p.write_component(
        "statestore.yaml",
        &format!(
            "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: statestore\nspec:\n  type: state.sqlite\n  version: v1\n  metadata:\n  - name: connectionString\n    value: \"{}\"\n  - name: keyPrefix\n    value: name\n",
            store.join("state.db").display()
        ),
    );
    p.start(keel_e2e::AppSpec::sidecar_only("caller")).await;
    seed(&p, "caller", &table(1, &[("up", "ACTIVE"), ("caller", "ACTIVE")])).await;
    p.start(upstream("up")).await;
    p.start(keel(&[])).await;
    wait_routes(&p, 1).await;
    routed(&p, 5).await;

    // The folder and every file in it read-only: reads work, writes are daprd's 500s, and keel
    // restarted on the read-only store loads its table and routes.
    let fault = ReadOnly::folder(&store);
    routed(&p, 20).await;
    assert_eq!(save(&p, KEEL).await, (500, "ERR_STATE_SAVE".to_owned()));
    assert_eq!(save(&p, "caller").await, (500, "ERR_STATE_SAVE".to_owned()));
    keel_sidecar_up(&p).await;
    let previous = p.stop(KEEL);
    p.restart(previous).await;
    wait_routes(&p, 1).await;
    routed(&p, 5).await;
    drop(fault);

    // The database file alone: a failed write leaves its rollback journal, and until the file
    // can be restored from it reads fail too. keel's re-reads fail; it keeps the table in use.
    let fault = ReadOnly::make(vec![store.join("state.db")]);
    assert_eq!(save(&p, "caller").await, (500, "ERR_STATE_SAVE".to_owned()));
    eventually("keel failing to re-read its table", Duration::from_secs(20), || async {
        p.logs(KEEL).contains("Cannot re-read the route table; keeping the one in use").then_some(())
    })
    .await;
    routed(&p, 20).await;
    keel_sidecar_up(&p).await;
    assert_eq!(routes_version(&p).await, Some(1));

    // The fault removed: the store takes writes again and keel picks up a new table from it.
    drop(fault);
    assert_eq!(save(&p, KEEL).await.0, 204);
    seed(&p, "caller", &table(2, &[("up", "ACTIVE"), ("caller", "ACTIVE")])).await;
    wait_routes(&p, 2).await;
    routed(&p, 5).await;
}
