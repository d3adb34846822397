//! `/v1.0/healthz`, `/v1.0/healthz/outbound`, `/v1.0/metadata` and `/v1.0/shutdown`
//! (reference §4).

mod common;

use common::http::{get, req};
use common::run::{run_file, Workspace};
use keel_e2e::free_port;
use serde_json::json;

#[test]
fn healthz_waits_for_the_app_port_while_outbound_is_ready_at_once() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("late")).unwrap();
    let (app_port, http_port) = (free_port(), free_port());
    let file = ws.write(
        "dapr.yaml",
        &run_file(
            "",
            &[format!("appID: late\nappDirPath: ./late\nappPort: {app_port}\ndaprHTTPPort: {http_port}")],
        ),
    );
    let run = ws.run_file(&file).start();
    common::eventually("the sidecar to serve", || {
        std::net::TcpStream::connect(("127.0.0.1", http_port)).ok()
    });
    assert_eq!(get(http_port, "/v1.0/healthz/outbound").status, 204);
    let r = get(http_port, "/v1.0/healthz");
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"errorCode":"ERR_HEALTH_NOT_READY","message":"dapr is not ready: [runtime]"}"#);
    assert!(run.stdout().iter().all(|l| !l.starts_with("sidecar ready")), "no readiness line yet");

    // The app starts listening: init completes.
    let _app = std::net::TcpListener::bind(("127.0.0.1", app_port)).unwrap();
    common::eventually("healthz to turn 204", || {
        (get(http_port, "/v1.0/healthz").status == 204).then_some(())
    });
    run.wait_stdout(&format!("sidecar ready app_id=late dapr_http_port={http_port} app_port={app_port}"));
    let r = get(http_port, "/v1.0/healthz?appid=someone-else");
    assert_eq!(
        (r.status, r.text().as_str()),
        (500, r#"{"errorCode":"ERR_HEALTH_APPID_NOT_MATCH","message":"dapr app-id does not match"}"#)
    );
    assert_eq!(get(http_port, "/v1.0/healthz?appid=late").status, 204);
}

#[test]
fn metadata_describes_the_sidecar_in_daprds_shape() {
    let f = common::fleet(
        "",
        &[("app1", "enableAppHealthCheck: true\nappHealthProbeInterval: 2\nappHealthProbeTimeout: 1500")],
        &[("store.yaml", &common::state_component("statestore", "state.in-memory", &[]))],
    );
    let port = f.port(0);
    let r = get(port, "/v1.0/metadata");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.text().ends_with("}\n"), "trailing newline");
    assert_eq!(
        r.json(),
        json!({
            "id": "app1",
            "runtimeVersion": "1.18.3",
            "components": [{"name": "statestore", "type": "state.in-memory", "version": "v1",
                "capabilities": ["ETAG", "TRANSACTIONAL", "TTL", "DELETE_WITH_PREFIX", "KEYS_LIKE", "ACTOR"]}],
            "extended": {"daprRuntimeVersion": "1.18.3"},
            "appConnectionProperties": {"port": f.ready[0].app_port, "protocol": "http", "channelAddress": "127.0.0.1",
                "health": {"healthCheckPath": "/healthz", "healthProbeInterval": "2s", "healthProbeTimeout": "1.5s", "healthThreshold": 3}},
            "actorRuntime": {"runtimeStatus": "DISABLED", "hostReady": false}
        })
    );
    let r = req("PUT", "/v1.0/metadata/appCommand").body("python3 app.py").send(port);
    assert_eq!((r.status, r.body.len()), (204, 0));
    let ext = get(port, "/v1.0/metadata").json()["extended"].clone();
    assert_eq!(ext, json!({"appCommand": "python3 app.py", "daprRuntimeVersion": "1.18.3"}));
}

#[test]
fn shutdown_answers_204_then_stops_the_sidecar_and_its_app() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("a")).unwrap();
    let app_port = free_port();
    let script = format!(
        "import http.server\nhttp.server.HTTPServer(('127.0.0.1', {app_port}), http.server.BaseHTTPRequestHandler).serve_forever()\n"
    );
    ws.write("a/app.py", &script);
    let file = ws.write(
        "dapr.yaml",
        &run_file(
            "",
            &[format!("appID: a\nappDirPath: ./a\nappPort: {app_port}\ncommand: [\"python3\", \"app.py\"]")],
        ),
    );
    let mut run = ws.run_file(&file).start();
    let port = run.ready("a").http_port;
    // The run gave the app (and its sidecar) a token: shutdown needs it.
    assert_eq!(req("POST", "/v1.0/shutdown").send(port).status, 401);
    let r = req("POST", "/v1.0/shutdown").header("dapr-api-token", &run.dapr_token("a")).send(port);
    assert_eq!((r.status, r.body.len()), (204, 0));
    let status = run.wait_exit();
    assert!(status.success(), "{status}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "the API port is closed");
    assert!(std::net::TcpStream::connect(("127.0.0.1", app_port)).is_err(), "the app is stopped");
}
