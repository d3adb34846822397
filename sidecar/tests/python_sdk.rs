//! The official Dapr Python SDK as a client. Its service invocation can use HTTP
//! (`DAPR_API_METHOD_INVOCATION_PROTOCOL=HTTP`) and its wait-for-sidecar polls
//! `/v1.0/healthz/outbound`; its state calls are gRPC only (read in `dapr/clients/grpc/client.py`
//! of the pinned version), which the stand-in does not serve, so they are not exercised here.
//!
//! The SDK is installed once into `target/py-sdk-venv` with `python3 -m venv` and pip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The SDK version pinned: the Python SDK release that matches daprd 1.18.
const SDK_VERSION: &str = "1.18.3";

fn venv() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target folder").to_owned();
    let venv = target.join("py-sdk-venv");
    let python = venv.join("bin/python");
    let installed = || {
        Command::new(&python)
            .args(["-c", "import importlib.metadata as m; print(m.version('dapr'))"])
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == SDK_VERSION)
    };
    if !installed() {
        let status = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .status()
            .expect("python3 -m venv");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", &format!("dapr=={SDK_VERSION}")])
            .status()
            .expect("pip install");
        assert!(status.success(), "pip install dapr=={SDK_VERSION} failed");
        assert!(installed(), "dapr {SDK_VERSION} not importable after install");
    }
    python
}

const SCRIPT: &str = r#"
import json
from dapr.clients import DaprClient
from dapr.clients.exceptions import DaprInternalError
from dapr.clients.health import DaprHealth

DaprHealth.wait_for_sidecar()
with DaprClient() as d:
    r = d.invoke_method('app2', 'orders/42', data='{"n":1}', content_type='application/json',
                        http_verb='POST', http_querystring=(('q', 'a b'),))
    print(json.dumps({'status': r.status_code, 'content_type': r.content_type, 'body': json.loads(r.text())}))
    r = d.invoke_method('app1', 'status/201', data='x', http_verb='PUT')
    print(json.dumps({'status': r.status_code, 'text': r.text()}))
    try:
        d.invoke_method('nope', 'x', http_verb='GET')
        print(json.dumps({'error': None}))
    except DaprInternalError as e:
        print(json.dumps({'error': e.error_code, 'message': e.message}))
"#;

#[test]
fn the_python_sdk_invokes_over_http_and_waits_for_the_sidecar() {
    let python = venv();
    let f = common::fleet("", &[("app1", "env:\n  DAPR_API_TOKEN: sdk-token"), ("app2", "")], &[]);
    let out = Command::new(python)
        .args(["-c", SCRIPT])
        .env("DAPR_HTTP_PORT", f.port(0).to_string())
        // The client builds a (lazy) gRPC channel too; point it somewhere harmless.
        .env("DAPR_GRPC_PORT", "1")
        .env("DAPR_API_METHOD_INVOCATION_PROTOCOL", "HTTP")
        .env("DAPR_API_TOKEN", "sdk-token")
        .env("DAPR_HEALTH_TIMEOUT", "20")
        .output()
        .expect("run the SDK script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "script failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();

    let first = &lines[0];
    assert_eq!(first["status"], 200);
    assert_eq!(first["content_type"], "application/json");
    let echo = &first["body"];
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/orders/42");
    assert_eq!(echo["query"], "q=a+b");
    assert_eq!(echo["body"], r#"{"n":1}"#);
    let headers: Vec<(String, String)> = echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h[0].as_str().unwrap().into(), h[1].as_str().unwrap().into()))
        .collect();
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(header("dapr-caller-app-id"), Some("app1"));
    assert_eq!(header("dapr-callee-app-id"), Some("app2"));
    assert_eq!(header("dapr-api-token"), None, "the SDK's token stays with the sidecar");
    assert!(header("user-agent").is_some_and(|ua| ua.starts_with("dapr-sdk-python")));

    assert_eq!(lines[1], serde_json::json!({"status": 201, "text": "status 201"}));
    assert_eq!(lines[2]["error"], "ERR_DIRECT_INVOKE");
    assert_eq!(lines[2]["message"], "failed to invoke, id: nope, err: no host found with the given ID");
}
