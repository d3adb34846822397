//! `state.sqlite` on a disk that stops taking writes. With `disableWAL: "true"` (the repository's
//! own components) nothing of the file is memory-mapped, so the fault is an error per write, not
//! a SIGBUS that kills the sidecar and everything routed through it; reads go on, and writes work
//! again once the disk does.

mod common;

use common::http::{get, post};
use common::run::{alive, run_file, Run, Workspace};
use keel_e2e::faults::Immutable;

/// Starts app `a`'s sidecar with sqlite store `s` on `file` (relative to the workspace) in a
/// rollback journal; returns the run and its HTTP port.
fn start_rollback_store(ws: &Workspace, file: &str) -> (Run, u16) {
    ws.write(
        "resources/s.yaml",
        &common::state_component("s", "state.sqlite", &[("connectionString", file), ("disableWAL", "true")]),
    );
    std::fs::create_dir_all(ws.path("a")).unwrap();
    let run_yaml =
        ws.write("dapr.yaml", &run_file("resourcesPath: ./resources", &["appID: a\nappDirPath: ./a".into()]));
    let mut run = ws.run_file(&run_yaml).start();
    let port = run.ready("a").http_port;
    (run, port)
}

#[test]
fn a_store_whose_disk_stops_taking_writes_fails_writes_and_keeps_serving() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("store")).unwrap();
    let (run, port) = start_rollback_store(&ws, "store/data.db");
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
    let (mut run, port) = start_rollback_store(&ws, "data.db");
    assert_eq!(post(port, "/v1.0/state/s", r#"[{"key":"k","value":1}]"#).status, 204);
    let conn = rusqlite::Connection::open(ws.path("data.db")).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete");
    assert!(run.terminate().success());
}
