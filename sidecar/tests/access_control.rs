//! Access-control policies (Configuration `spec.accessControl`), applied by the callee's sidecar
//! to calls from other sidecars, with the caller identified as daprd identifies it: by its
//! mTLS identity when the Configuration enables mTLS, not at all otherwise.

mod common;

use common::app::Echo;
use common::http::{get, req};
use common::run::{run_file, Workspace};

/// A plugin's posture: only `keel` and `plugins` may call it; `plugins` only `GET /v1/*`.
const PLUGIN_POLICY: &str = r#"apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: plugin
spec:
  mtls:
    enabled: true
  accessControl:
    defaultAction: deny
    trustDomain: public
    policies:
    - appId: keel
      defaultAction: allow
      trustDomain: public
      namespace: default
    - appId: plugins
      defaultAction: deny
      trustDomain: public
      namespace: default
      operations:
      - name: /v1/*
        httpVerb: ["GET"]
        action: allow
"#;

/// Every app of the run uses `config` (kept in the resources folder, where daprd's component
/// loader skips it).
fn fleet_with(config: &str, ids: &[&str]) -> common::Fleet {
    let apps: Vec<(&str, &str)> = ids.iter().map(|id| (*id, "")).collect();
    common::fleet("configFilePath: ./resources/config.yaml\n", &apps, &[("config.yaml", config)])
}

fn denial(target: &str, caller: &str, operation: &str, verb: &str) -> String {
    format!(
        r#"{{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: {target}, err: rpc error: code = PermissionDenied desc = access control policy has denied access to id: {caller} operation: {operation} verb: {verb}"}}"#
    )
}

#[test]
fn only_the_callers_a_policy_allows_reach_the_app_and_others_get_daprds_403() {
    // keel, plugins and two plugins, every sidecar with the plugin policy.
    let f = fleet_with(PLUGIN_POLICY, &["keel", "plugins", "echo", "greeter"]);
    let (keel, plugins, greeter) = (f.port(0), f.port(1), f.port(3));

    // keel may call anything.
    let echoed = Echo::of(&req("POST", "/v1.0/invoke/echo/method/hello").body("hi").send(keel));
    assert_eq!(echoed.0["path"], "/hello");
    assert_eq!(echoed.header("dapr-caller-app-id").as_deref(), Some("keel"));

    // A plugin may not call another plugin directly.
    let r = get(greeter, "/v1.0/invoke/echo/method/hello?x=1");
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), denial("echo", "spiffe://public/ns/default/greeter", "hello", "GET"));

    // The registry: GET under /v1/ only.
    assert_eq!(get(plugins, "/v1.0/invoke/echo/method/v1/identify").status, 200);
    let r = req("POST", "/v1.0/invoke/echo/method/v1/identify").body("x").send(plugins);
    assert_eq!(r.text(), denial("echo", "spiffe://public/ns/default/plugins", "v1/identify", "POST"));
    let r = get(plugins, "/v1.0/invoke/echo/method/admin");
    assert_eq!(r.status, 403);

    // Operations are matched on the normalised method: traversal does not get around them.
    let r = get(plugins, "/v1.0/invoke/echo/method/v1/..%2Fadmin");
    assert_eq!(r.text(), denial("echo", "spiffe://public/ns/default/plugins", "admin", "GET"));
    // Names compare case-insensitively (HTTP app protocol).
    assert_eq!(get(plugins, "/v1.0/invoke/echo/method/V1/Status").status, 200);

    // Self-invocation never goes through the policies.
    assert_eq!(get(greeter, "/v1.0/invoke/greeter/method/anything").status, 200);
}

#[test]
fn without_mtls_no_caller_is_identified_and_the_global_default_decides() {
    // daprd without mTLS reads no SPIFFE ID: keel's own policy cannot match it.
    let config = PLUGIN_POLICY.replace("    enabled: true", "    enabled: false");
    let f = fleet_with(&config, &["keel", "echo"]);
    let r = get(f.port(0), "/v1.0/invoke/echo/method/hello");
    assert_eq!(r.status, 403);
    // Go prints the missing identity as an empty URL.
    assert_eq!(r.text(), denial("echo", "", "hello", "GET"));

    let allow_all =
        config.replace("defaultAction: deny\n    trustDomain", "defaultAction: allow\n    trustDomain");
    let f = fleet_with(&allow_all, &["keel", "echo"]);
    assert_eq!(get(f.port(0), "/v1.0/invoke/echo/method/hello").status, 200);
}

#[test]
fn a_caller_without_mtls_cannot_reach_a_callee_with_it() {
    let f = fleet_with(PLUGIN_POLICY, &["echo"]);
    // Another run, from the same machine (registry), without a Configuration.
    let mut other = f.ws.single(&["-a", "keel"]).start();
    let port = other.ready("keel").http_port;
    let r = get(port, "/v1.0/invoke/echo/method/hello");
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json()["message"],
        "failed to invoke, id: echo, err: failed to invoke target echo after 3 retries. Error: rpc error: code = Unavailable desc = connection closed before server preface received"
    );
}

#[test]
fn the_trust_anchor_is_shared_through_the_registry_folder() {
    let f = fleet_with(PLUGIN_POLICY, &["echo"]);
    let anchor = f.ws.path("registry.db.trust-anchor");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&anchor).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    // A second run with the policy, as keel: same anchor, so its identity is accepted.
    let cfg = f.ws.write("keel.yaml", PLUGIN_POLICY);
    let mut keel = f.ws.single(&["-a", "keel", "--config", cfg.to_str().unwrap()]).start();
    let port = keel.ready("keel").http_port;
    assert_eq!(get(port, "/v1.0/invoke/echo/method/hello").status, 200);
}

#[test]
fn invalid_policies_stop_the_run_before_anything_starts() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("a")).unwrap();
    ws.write(
        "config.yaml",
        "spec:\n  accessControl:\n    defaultAction: deny\n    policies:\n    - appId: keel\n      defaultAction: allow\n",
    );
    let file = ws.write(
        "dapr.yaml",
        &run_file("configFilePath: ./config.yaml\n", &["appID: a\nappDirPath: ./a".into()]),
    );
    let mut run = ws.run_file(&file).start();
    let status = run.wait_exit();
    assert_eq!(status.code(), Some(64), "{}", run.stderr());
    assert!(
        run.stderr().contains("missing trustdomain for apps: [keel], missing namespace for apps: [keel]"),
        "{}",
        run.stderr()
    );

    // A configFilePath that does not exist is the run file's mistake, named as such.
    let file = ws.write(
        "dapr.yaml",
        &run_file("configFilePath: ./nope.yaml\n", &["appID: a\nappDirPath: ./a".into()]),
    );
    let mut run = ws.run_file(&file).start();
    assert_eq!(run.wait_exit().code(), Some(64));
    assert!(run.stderr().contains("common.configFilePath"), "{}", run.stderr());
}
