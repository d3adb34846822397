//! `state.sqlite`: data in a file relative to the working directory, surviving a restart, shared
//! safely by sidecars of separate runs; and the `keyPrefix` strategies as they land on disk.

mod common;

use common::http::{get, post, req};
use common::run::{run_file, Workspace};
use std::sync::atomic::{AtomicUsize, Ordering};

fn sqlite(name: &str, file: &str, prefix: Option<&str>) -> String {
    let mut meta = vec![("connectionString", file)];
    if let Some(p) = prefix {
        meta.push(("keyPrefix", p));
    }
    common::state_component(name, "state.sqlite", &meta)
}

fn stored_keys(db: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT key FROM state ORDER BY key").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[test]
fn data_survives_a_restart_of_the_sidecar() {
    let ws = Workspace::new();
    ws.write("resources/s.yaml", &sqlite("s", "data.db", None));
    std::fs::create_dir_all(ws.path("a")).unwrap();
    let file =
        ws.write("dapr.yaml", &run_file("resourcesPath: ./resources", &["appID: a\nappDirPath: ./a".into()]));
    let mut first = ws.run_file(&file).start();
    let port = first.ready("a").http_port;
    assert_eq!(post(port, "/v1.0/state/s", r#"[{"key":"k","value":{"kept":true}}]"#).status, 204);
    let etag = get(port, "/v1.0/state/s/k").header("etag").unwrap().to_owned();
    assert!(first.terminate().success());
    assert!(ws.path("data.db").exists(), "relative to the working directory, like daprd");

    let mut second = ws.run_file(&file).start();
    let port = second.ready("a").http_port;
    let r = get(port, "/v1.0/state/s/k");
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"kept":true}"#));
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = get(port, "/v1.0/metadata").json();
    assert_eq!(r["components"][0]["type"], "state.sqlite");
    assert_eq!(
        r["components"][0]["capabilities"],
        serde_json::json!(["ETAG", "TRANSACTIONAL", "TTL", "ACTOR"])
    );
}

#[test]
fn key_prefix_strategies_land_on_disk_as_daprd_stores_them() {
    let ws = Workspace::new();
    for (name, prefix) in [
        ("byappid", None),
        ("byname", Some("name")),
        ("bare", Some("none")),
        ("lit", Some("MyPrefix")),
        ("byns", Some("namespace")),
    ] {
        ws.write(&format!("resources/{name}.yaml"), &sqlite(name, &format!("{name}.db"), prefix));
    }
    std::fs::create_dir_all(ws.path("a")).unwrap();
    let file = ws.write(
        "dapr.yaml",
        &run_file(
            "resourcesPath: ./resources",
            &["appID: a\nappDirPath: ./a\nenv:\n  NAMESPACE: prod".into()],
        ),
    );
    let mut run = ws.run_file(&file).start();
    let port = run.ready("a").http_port;
    for store in ["byappid", "byname", "bare", "lit", "byns"] {
        assert_eq!(post(port, &format!("/v1.0/state/{store}"), r#"[{"key":"k","value":1}]"#).status, 204);
        assert_eq!(get(port, &format!("/v1.0/state/{store}/k")).text(), "1");
        let bulk = post(port, &format!("/v1.0/state/{store}/bulk"), r#"{"keys":["k"]}"#).json();
        assert_eq!(bulk[0]["key"], "k", "bulk get returns the key without its prefix");
    }
    assert_eq!(stored_keys(&ws.path("byappid.db")), vec!["a||k"]);
    assert_eq!(stored_keys(&ws.path("byname.db")), vec!["byname||k"]);
    assert_eq!(stored_keys(&ws.path("bare.db")), vec!["k"]);
    assert_eq!(stored_keys(&ws.path("lit.db")), vec!["myprefix||k"]);
    assert_eq!(stored_keys(&ws.path("byns.db")), vec!["prod.a||k"]);
}

#[test]
fn two_runs_share_one_file_with_atomic_etag_checks() {
    let ws = Workspace::new();
    // Both runs use the same components (keyPrefix name, so both apps see the same keys).
    ws.write("resources/s.yaml", &sqlite("s", &ws.path("shared.db").display().to_string(), Some("name")));
    for app in ["x", "y"] {
        std::fs::create_dir_all(ws.path(app)).unwrap();
    }
    let fx =
        ws.write("x.yaml", &run_file("resourcesPath: ./resources", &["appID: x\nappDirPath: ./x".into()]));
    let fy =
        ws.write("y.yaml", &run_file("resourcesPath: ./resources", &["appID: y\nappDirPath: ./y".into()]));
    let mut rx = ws.run_file(&fx).start();
    let mut ry = ws.run_file(&fy).start();
    let (px, py) = (rx.ready("x").http_port, ry.ready("y").http_port);

    assert_eq!(post(px, "/v1.0/state/s", r#"[{"key":"counter","value":0}]"#).status, 204);
    assert_eq!(get(py, "/v1.0/state/s/counter").text(), "0", "y sees x's write");

    // Optimistic increments from both processes at once: every success is one increment, and
    // every lost race is a 409 — never a lost update.
    let successes = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for port in [px, py, px, py] {
            let successes = &successes;
            s.spawn(move || {
                for _ in 0..10 {
                    loop {
                        let r = get(port, "/v1.0/state/s/counter");
                        let etag = r.header("etag").unwrap().to_owned();
                        let n: i64 = r.text().parse().unwrap();
                        let body = format!(r#"[{{"key":"counter","value":{},"etag":"{etag}"}}]"#, n + 1);
                        match post(port, "/v1.0/state/s", &body).status {
                            204 => {
                                successes.fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                            409 => continue,
                            other => panic!("unexpected status {other}"),
                        }
                    }
                }
            });
        }
    });
    assert_eq!(successes.load(Ordering::SeqCst), 40);
    assert_eq!(get(px, "/v1.0/state/s/counter").text(), "40");

    // A transaction from y with a stale etag changes nothing, as seen from x.
    let etag = get(px, "/v1.0/state/s/counter").header("etag").unwrap().to_owned();
    assert_eq!(post(px, "/v1.0/state/s", r#"[{"key":"counter","value":41}]"#).status, 204);
    let body = serde_json::json!({"operations": [
        {"operation": "upsert", "request": {"key": "other", "value": 1}},
        {"operation": "upsert", "request": {"key": "counter", "value": 99, "etag": etag}},
    ]});
    let r = req("POST", "/v1.0/state/s/transaction").body(body.to_string()).send(py);
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json()["message"],
        "error while executing state transaction: possible etag mismatch. error from state store"
    );
    assert_eq!(get(px, "/v1.0/state/s/other").status, 204);
    assert_eq!(get(px, "/v1.0/state/s/counter").text(), "41");
}

#[test]
fn sqlite_ttl_expires_and_etag_errors_have_no_inner_text() {
    let ws = Workspace::new();
    ws.write("resources/s.yaml", &sqlite("s", ":memory:", None));
    std::fs::create_dir_all(ws.path("a")).unwrap();
    let file =
        ws.write("dapr.yaml", &run_file("resourcesPath: ./resources", &["appID: a\nappDirPath: ./a".into()]));
    let mut run = ws.run_file(&file).start();
    let p = run.ready("a").http_port;
    assert_eq!(
        post(p, "/v1.0/state/s", r#"[{"key":"t","value":1,"metadata":{"ttlInSeconds":"1"}}]"#).status,
        204
    );
    assert!(get(p, "/v1.0/state/s/t").header("metadata.ttlexpiretime").is_some());
    common::eventually("the item to expire", || (get(p, "/v1.0/state/s/t").status == 204).then_some(()));
    post(p, "/v1.0/state/s", r#"[{"key":"k","value":1}]"#);
    let r = post(p, "/v1.0/state/s", r#"[{"key":"k","value":2,"etag":"nope"}]"#);
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"],
        "failed saving state in state store s: possible etag mismatch. error from state store"
    );
}
