//! `state.sqlite` under a store fault: the file, its journal and its folder made read-only while
//! two sidecars (separate runs) share them. Each sidecar stays up, answers reads from the file,
//! fails writes with daprd's error bodies, starts afresh on the read-only file, and writes again
//! once the fault is removed.
//!
//! The fault is made the ways an operator can: `chmod a-w` and, since these tests run as root
//! (which chmod does not bind), `chattr +i` — the inode becomes immutable, so neither `open` for
//! writing, `write`, nor a store through a writable memory mapping succeeds. The last one is
//! what killed the sidecars while the file ran in WAL mode: the `-shm` index is mapped shared
//! and writable, and once the kernel has written its pages back (forced here with `sync`) the
//! next store into them faults, which the kernel answers with SIGBUS.

mod common;

use common::http::{get, post, req};
use common::run::{alive, run_file, Run, Workspace};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The store's folder and files, read-only until dropped (also when the test fails, or the
/// immutable files would outlive the temporary folder).
struct ReadOnly {
    paths: Vec<PathBuf>,
}

impl ReadOnly {
    /// Makes `paths` read-only.
    fn make(paths: Vec<PathBuf>) -> Self {
        // Every dirty page of the store's files on disk first, so that a writable mapping of
        // them faults on its next store, as it does some seconds after any write.
        assert!(Command::new("sync").status().unwrap().success());
        for p in &paths {
            let mode = if p.is_dir() { 0o555 } else { 0o444 };
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let out = Command::new("chattr").arg("+i").args(&paths).output().expect("run chattr");
        let fault = ReadOnly { paths };
        assert!(
            out.status.success(),
            "chattr +i (root on a filesystem with inode flags): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        fault
    }

    /// Makes the folder and every file in it read-only.
    fn folder(dir: &Path) -> Self {
        let mut paths = files(dir);
        paths.push(dir.to_owned());
        ReadOnly::make(paths)
    }
}

/// The files in `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.paths.is_empty() {
            return;
        }
        let _ = Command::new("chattr").arg("-i").args(&self.paths).status();
        for p in &self.paths {
            let mode = if p.is_dir() { 0o755 } else { 0o644 };
            let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
        }
    }
}

fn start(ws: &Workspace, app: &str) -> (Run, u16) {
    std::fs::create_dir_all(ws.path(app)).unwrap();
    let file = ws.write(
        &format!("{app}.yaml"),
        &run_file("resourcesPath: ./resources", &[format!("appID: {app}\nappDirPath: ./{app}")]),
    );
    let mut run = ws.run_file(&file).start();
    let port = run.ready(app).http_port;
    (run, port)
}

/// A save, a delete and a transaction through `port`, each answered with daprd's 500 and code.
fn writes_fail_cleanly(port: u16) {
    let r = post(port, "/v1.0/state/s", r#"[{"key":"k","value":"new"}]"#);
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(r.json()["errorCode"], "ERR_STATE_SAVE");
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("failed saving state in state store s: "), "{message}");

    let r = req("DELETE", "/v1.0/state/s/k").send(port);
    assert_eq!((r.status, r.json()["errorCode"].as_str()), (500, Some("ERR_STATE_DELETE")));
    let tx = r#"{"operations":[{"operation":"upsert","request":{"key":"t","value":1}}]}"#;
    let r = req("POST", "/v1.0/state/s/transaction").body(tx).send(port);
    assert_eq!((r.status, r.json()["errorCode"].as_str()), (500, Some("ERR_STATE_TRANSACTION")));
}

#[test]
fn a_read_only_store_fails_writes_cleanly_and_no_sidecar_dies() {
    let ws = Workspace::new();
    let db = ws.path("data/shared.db");
    std::fs::create_dir_all(ws.path("data")).unwrap();
    let component = common::state_component(
        "s",
        "state.sqlite",
        &[("connectionString", &db.display().to_string()), ("keyPrefix", "name")],
    );
    ws.write("resources/s.yaml", &component);
    let (x, px) = start(&ws, "x");
    let (mut y, py) = start(&ws, "y");
    for i in 0..50 {
        let body = format!(r#"[{{"key":"k{i}","value":{i}}},{{"key":"k","value":"old"}}]"#);
        assert_eq!(post(if i % 2 == 0 { px } else { py }, "/v1.0/state/s", &body).status, 204);
    }
    assert_eq!(get(py, "/v1.0/state/s/k").text(), r#""old""#);

    // Each of the store's files alone (the database; a WAL file and its -shm index if there
    // were any), then the folder and everything in it.
    for file in files(&ws.path("data")).into_iter().rev() {
        let fault = ReadOnly::make(vec![file.clone()]);
        for port in [px, py] {
            writes_fail_cleanly(port);
            // A write that failed on the database file left its rollback journal behind (sqlite
            // could not restore the file from it), and reads wait for that rollback.
            let r = get(port, "/v1.0/state/s/k");
            if file.extension().is_some_and(|e| e == "db") {
                assert_eq!((r.status, r.json()["errorCode"].as_str()), (500, Some("ERR_STATE_GET")));
            } else {
                assert_eq!((r.status, r.text().as_str()), (200, r#""old""#), "{}", file.display());
            }
        }
        for run in [&x, &y] {
            assert!(
                alive(run.pid() as i32),
                "sidecar died with {} read-only:\n{}",
                file.display(),
                run.stderr()
            );
        }
        drop(fault);
        assert_eq!(post(px, "/v1.0/state/s", r#"[{"key":"k","value":"old"}]"#).status, 204);
        assert_eq!(get(py, "/v1.0/state/s/k1").text(), "1", "the failed writes undone");
    }
    let fault = ReadOnly::folder(&ws.path("data"));
    for port in [px, py, px, py] {
        writes_fail_cleanly(port);
        let r = get(port, "/v1.0/state/s/k");
        assert_eq!((r.status, r.text().as_str()), (200, r#""old""#), "reads still come from the file");
    }
    let bulk = post(px, "/v1.0/state/s/bulk", r#"{"keys":["k1","k2"]}"#).json();
    assert_eq!((bulk[0]["data"].as_i64(), bulk[1]["data"].as_i64()), (Some(1), Some(2)));
    for (run, port) in [(&x, px), (&y, py)] {
        assert!(alive(run.pid() as i32), "sidecar died under the fault:\n{}", run.stderr());
        assert_eq!(get(port, "/v1.0/healthz").status, 204);
    }

    // A sidecar started while the store is read-only comes up, reads, and fails writes the same.
    assert!(y.terminate().success());
    let (y, py) = start(&ws, "y");
    assert_eq!(get(py, "/v1.0/state/s/k").text(), r#""old""#);
    writes_fail_cleanly(py);
    assert!(alive(x.pid() as i32) && alive(y.pid() as i32));

    // The fault removed, both write again and see each other's writes.
    drop(fault);
    let r = post(px, "/v1.0/state/s", r#"[{"key":"k","value":"from x"}]"#);
    assert_eq!(r.status, 204, "{:?} {}", r.text(), x.stderr());
    assert_eq!(get(py, "/v1.0/state/s/k").text(), r#""from x""#);
    assert_eq!(req("DELETE", "/v1.0/state/s/k").send(py).status, 204);
    assert_eq!(get(px, "/v1.0/state/s/k").status, 204);
}

#[test]
fn a_file_left_in_wal_mode_is_converted_to_the_rollback_journal() {
    let ws = Workspace::new();
    let db = ws.path("old.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }
    ws.write(
        "resources/s.yaml",
        &common::state_component(
            "s",
            "state.sqlite",
            &[("connectionString", &db.display().to_string()), ("disableWAL", "false")],
        ),
    );
    let (_run, port) = start(&ws, "a");
    assert_eq!(post(port, "/v1.0/state/s", r#"[{"key":"k","value":1}]"#).status, 204);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete");
    assert!(!Path::new(&format!("{}-shm", db.display())).exists(), "no memory-mapped index");
}
