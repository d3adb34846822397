//! Invocation failures (reference §2.5): unknown app-ids, apps that refuse connections, apps
//! without a channel, unreachable sidecars (with daprd's built-in retries), and a caller that
//! disconnects cancelling the call upstream.

mod common;

use common::http::{connect, get, req};
use common::run::{run_file, Workspace};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[test]
fn an_unknown_app_id_is_daprds_sqlite_resolver_error() {
    let f = common::fleet("", &[("app1", "")], &[]);
    let r = get(f.port(0), "/v1.0/invoke/nope/method/x");
    assert_eq!(r.status, 500);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.text(),
        r#"{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: nope, err: no host found with the given ID"}"#
    );
}

#[test]
fn an_app_refusing_connections_is_reported_like_go_net_http() {
    let mut f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    let (p1, p2) = (f.ready[0].app_port, f.ready[1].app_port);
    f.apps[0].stop();
    f.apps[1].stop();
    let r = req("POST", "/v1.0/invoke/app1/method/foo").body("x").send(f.port(0));
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json()["message"],
        format!(
            r#"failed to invoke, id: app1, err: Post "http://127.0.0.1:{p1}/foo": dial tcp 127.0.0.1:{p1}: connect: connection refused"#
        )
    );
    let r = get(f.port(0), "/v1.0/invoke/app2/method/foo?x=1");
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json()["message"],
        format!(
            r#"failed to invoke, id: app2, err: rpc error: code = Internal desc = error invoking app channel: Get "http://127.0.0.1:{p2}/foo?x=1": dial tcp 127.0.0.1:{p2}: connect: connection refused"#
        )
    );
}

#[test]
fn a_sidecar_without_an_app_port_has_no_app_channel() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("a")).unwrap();
    std::fs::create_dir_all(ws.path("b")).unwrap();
    let file = ws.write(
        "dapr.yaml",
        &run_file("", &["appID: a\nappDirPath: ./a".into(), "appID: b\nappDirPath: ./b".into()]),
    );
    let mut run = ws.run_file(&file).start();
    let a = run.ready("a");
    assert_eq!(a.app_port, 0);
    run.ready("b");
    let r = get(a.http_port, "/v1.0/invoke/a/method/x");
    assert_eq!(
        r.json()["message"],
        "failed to invoke, id: a, err: cannot invoke local endpoint: app channel not initialized"
    );
    let r = get(a.http_port, "/v1.0/invoke/b/method/x");
    assert_eq!(
        r.json()["message"],
        "failed to invoke, id: b, err: rpc error: code = Internal desc = app channel is not initialized"
    );
}

#[test]
fn an_unreachable_sidecar_is_retried_three_times_unless_the_body_streams() {
    let f = common::fleet("", &[("app1", "")], &[]);
    // A live-looking registry row (this test's pid, fresh heartbeat) pointing at a closed port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let db = rusqlite::Connection::open(f.ws.registry()).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    db.execute(
        "INSERT INTO hosts VALUES ('ghost-row', 'ghost', 'default', ?1, ?2, ?3)",
        rusqlite::params![closed.to_string(), std::process::id(), now + 60_000],
    )
    .unwrap();
    let started = Instant::now();
    let r = req("POST", "/v1.0/invoke/ghost/method/x").body("b").send(f.port(0));
    assert!(started.elapsed() >= Duration::from_secs(3), "three 1 s retries");
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json()["message"],
        format!(
            r#"failed to invoke, id: ghost, err: failed to invoke target ghost after 3 retries. Error: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp {closed}: connect: connection refused""#
        )
    );
    let r = req("POST", "/v1.0/invoke/ghost/method/x").chunked(vec![b"b".to_vec()]).send(f.port(0));
    assert_eq!(
        r.json()["message"],
        format!(
            r#"failed to invoke, id: ghost, err: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp {closed}: connect: connection refused""#
        )
    );
}

#[test]
fn a_caller_that_disconnects_cancels_the_upstream_call() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    for (i, target) in [(0, "app1"), (1, "app2")] {
        let state = f.apps[i].state.clone();
        let mut conn = connect(f.port(0));
        req("GET", &format!("/v1.0/invoke/{target}/method/hang"))
            .header("Connection", "keep-alive")
            .write_to(&mut conn);
        common::eventually("the app to receive the call", || {
            (state.hang_started.load(Ordering::SeqCst) == 1).then_some(())
        });
        drop(conn);
        common::eventually("the app's connection to close", || {
            (state.hang_dropped.load(Ordering::SeqCst) == 1).then_some(())
        });
    }
}
