//! App health checks (reference §3.3): unhealthy until the first successful probe, unhealthy
//! again after `threshold` failures; while unhealthy, invocations fail with daprd's error (locally
//! and from other sidecars); `/v1.0/healthz` is unaffected; probes carry no API token.

mod common;

use common::http::get;
use std::sync::atomic::Ordering;

#[test]
fn invocations_follow_the_apps_health() {
    let f = common::fleet(
        "",
        &[
            ("app1", "enableAppHealthCheck: true\nappHealthProbeInterval: 1\nappHealthProbeTimeout: 500\nappHealthThreshold: 1\nenv:\n  APP_API_TOKEN: tok"),
            ("app2", ""),
        ],
        &[],
    );
    // The echo app starts healthy: wait for a successful probe, then drive it both ways.
    let app = f.apps[0].state.clone();
    let (self_port, other_port) = (f.port(0), f.port(1));
    let call = |port: u16| get(port, "/v1.0/invoke/app1/method/x");

    common::eventually("app1 to be healthy", || (call(self_port).status == 200).then_some(()));
    assert_eq!(call(other_port).status, 200);

    app.healthy.store(false, Ordering::SeqCst);
    common::eventually("app1 to be unhealthy", || (call(self_port).status == 500).then_some(()));
    let local = call(self_port).json();
    assert_eq!(local["errorCode"], "ERR_DIRECT_INVOKE");
    assert_eq!(
        local["message"],
        "failed to invoke, id: app1, err: rpc error: code = Internal desc = app is not in a healthy state"
    );
    let remote = call(other_port).json();
    assert_eq!(
        remote["message"],
        "failed to invoke, id: app1, err: rpc error: code = Internal desc = error invoking app channel: rpc error: code = Internal desc = app is not in a healthy state"
    );
    // The sidecar itself stays healthy.
    assert_eq!(get(self_port, "/v1.0/healthz").status, 204);

    app.healthy.store(true, Ordering::SeqCst);
    common::eventually("app1 to recover", || (call(other_port).status == 200).then_some(()));

    // Probes are bare GETs on the health path: no dapr-api-token even with APP_API_TOKEN set.
    let probe = app.probe_headers.lock().unwrap().clone();
    assert!(!probe.is_empty());
    assert!(probe.iter().all(|(k, _)| k != "dapr-api-token"), "{probe:?}");
}

#[test]
fn an_app_is_unhealthy_until_its_first_successful_probe() {
    // A long interval: after the first (failing) probe nothing changes for a minute.
    let ws = common::run::Workspace::new();
    std::fs::create_dir_all(ws.path("a")).unwrap();
    let app = common::app::start();
    app.state.healthy.store(false, Ordering::SeqCst);
    let file = ws.write(
        "dapr.yaml",
        &common::run::run_file(
            "",
            &[format!("appID: a\nappDirPath: ./a\nappPort: {}\nenableAppHealthCheck: true\nappHealthProbeInterval: 60", app.port)],
        ),
    );
    let mut run = ws.run_file(&file).start();
    let port = run.ready("a").http_port;
    common::eventually("the first probe", || (app.state.probes.load(Ordering::SeqCst) >= 1).then_some(()));
    let r = get(port, "/v1.0/invoke/a/method/x");
    assert_eq!(r.status, 500);
    assert!(r.text().contains("app is not in a healthy state"));
    assert_eq!(get(port, "/v1.0/healthz").status, 204);
}
