//! `state.sqlite` on a disk that stops taking writes. With `disableWAL: "true"` (the repository's
//! own components) nothing of the file is memory-mapped, so the fault is an error per write, not
//! a SIGBUS that kills the sidecar and everything routed through it; reads go on, and writes work
//! again once the disk does.

mod common;

use common::http::{get, post};
use common::run::{alive, run_file, Workspace};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Makes paths immutable (`chattr +i`: even root cannot write them, unlike a `chmod`), and
/// mutable again when dropped, so a failing test still leaves a removable folder.
struct Immutable(Vec<PathBuf>);

impl Immutable {
    fn set(paths: &[&Path]) -> Self {
        let guard = Immutable(paths.iter().map(|p| p.to_path_buf()).collect());
        for p in &guard.0 {
            let out = Command::new("chattr").arg("+i").arg(p).output().expect("run chattr");
            assert!(
                out.status.success(),
                "chattr +i {}: {}",
                p.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        guard
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = Command::new("chattr").arg("-i").arg(p).status();
        }
    }
}

#[test]
fn a_store_whose_disk_stops_taking_writes_fails_writes_and_keeps_serving() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("store")).unwrap();
    ws.write(
        "resources/s.yaml",
        &common::state_component(
            "s",
            "state.sqlite",
            &[("connectionString", "store/data.db"), ("disableWAL", "true")],
        ),
    );
    std::fs::create_dir_all(ws.path("a")).unwrap();
    let file =
        ws.write("dapr.yaml", &run_file("resourcesPath: ./resources", &["appID: a\nappDirPath: ./a".into()]));
    let mut run = ws.run_file(&file).start();
    let port = run.ready("a").http_port;
    assert_eq!(post(port, "/v1.0/state/s", r#"[{"key":"k","value":"before"}]"#).status, 204);
    assert!(!ws.path("store/data.db-shm").exists(), "no shared-memory index to map");

    // The folder (no journal can be created) and the file itself refuse writes.
    let fault = Immutable::set(&[&ws.path("store/data.db"), &ws.path("store")]);
    for i in 0..3 {
        let r = post(port, "/v1.0/state/s", &format!(r#"[{{"key":"k","value":"during-{i}"}}]"#));
        assert_eq!(r.status, 500, "write {i}: {}", r.text());
        assert_eq!(r.json()["errorCode"], "ERR_STATE_SAVE", "{}", r.text());
    }
    let r = get(port, "/v1.0/state/s/k");
    assert_eq!((r.status, r.text().as_str()), (200, r#""before""#), "reads go on");
    assert_eq!(get(port, "/v1.0/healthz").status, 204);
    assert!(alive(run.pid() as i32), "the sidecar lives on: {}", run.stderr());

    drop(fault);
    assert_eq!(post(port, "/v1.0/state/s", r#"[{"key":"k","value":"after"}]"#).status, 204);
    assert_eq!(get(port, "/v1.0/state/s/k").text(), r#""after""#);
}

#[test]
fn a_file_left_in_wal_by_an_earlier_run_is_switched_to_a_rollback_journal() {
    let ws = Workspace::new();
    {
        let conn = rusqlite::Connection::open(ws.path("data.db")).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }
    ws.write(
        "resources/s.yaml",
        &common::state_component(
            "s",
            "state.sqlite",
            &[("connectionString", "data.db"), ("disableWAL", "true")],
        ),
    );
    std::fs::create_dir_all(ws.path("a")).unwrap();
    let file =
        ws.write("dapr.yaml", &run_file("resourcesPath: ./resources", &["appID: a\nappDirPath: ./a".into()]));
    let mut run = ws.run_file(&file).start();
    let port = run.ready("a").http_port;
    assert_eq!(post(port, "/v1.0/state/s", r#"[{"key":"k","value":1}]"#).status, 204);
    let conn = rusqlite::Connection::open(ws.path("data.db")).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete");
    assert!(run.terminate().success());
}
